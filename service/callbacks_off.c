/* callbacks_off.c: the callback sender of a build without libcurl
 * (cmake -DJQ_CALLBACKS=OFF, as the Docker image is built). Nothing is
 * ever sent: the API refuses callback_url (422 callbacks_unavailable), so
 * no job of this build has a callback to send. */
#include "callbacks.h"

const bool jq_callbacks_built = false;

int jq_callbacks_start(struct jq_callbacks **out, struct jq_store *st, const struct jq_callbacks_config *cfg)
{
    (void)st;
    (void)cfg;
    *out = NULL;
    return 0;
}

void jq_callbacks_wake(struct jq_callbacks *cb)
{
    (void)cb;
}

bool jq_callbacks_running(const struct jq_callbacks *cb)
{
    (void)cb;
    return false;
}

void jq_callbacks_stop(struct jq_callbacks *cb)
{
    (void)cb;
}
