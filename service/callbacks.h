/* callbacks.h: the master's completion-callback sender — one thread that
 * POSTs finished jobs' JSON to their callback_url with libcurl's multi
 * interface, signed with HMAC-SHA256, retried with backoff, every attempt
 * recorded in the store. It never touches dispatch: it only reads jobs and
 * writes callback rows. */
#ifndef JQ_CALLBACKS_H
#define JQ_CALLBACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "store.h"

struct jq_callbacks;

struct jq_callbacks_config {
    const char *secret;   /* HMAC key, or "" = send unsigned */
    size_t secret_len;
    int64_t retry_ms;     /* delay before the 2nd attempt, doubled each time */
    bool allow_private;   /* connect to private addresses too (no SSRF guard) */
};

/* Whether this build can send callbacks (cmake -DJQ_CALLBACKS; without it
 * the functions below do nothing and the API refuses callback_url). */
extern const bool jq_callbacks_built;

/* Make the sender. Its thread, and libcurl (loaded with dlopen, see
 * curl_dl.h), start at the first wake: a jobqd whose jobs never have a
 * callback never loads libcurl. Returns 0 or JQ_ENOMEM. */
JQ_MUST_CHECK int jq_callbacks_start(struct jq_callbacks **out, struct jq_store *st,
                                     const struct jq_callbacks_config *cfg);
/* A callback is due now: start the sender if need be, and let it look (any
 * thread). Callers check with the store first while it is not running
 * (jq_service_poke_callbacks). */
void jq_callbacks_wake(struct jq_callbacks *cb);
/* The sender's thread runs (libcurl loaded). */
bool jq_callbacks_running(const struct jq_callbacks *cb);
/* Stop and join; deliveries under way are dropped (their leases make them
 * due again after a restart). NULL is a no-op. */
void jq_callbacks_stop(struct jq_callbacks *cb);

#endif
