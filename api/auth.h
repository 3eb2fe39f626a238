/* auth.h: bearer-token authentication of API requests, compared in
 * constant time, with failures throttled per client address. */
#ifndef JQ_AUTH_H
#define JQ_AUTH_H

#include <microhttpd.h>
#include <stdint.h>
#include "err.h"

struct jq_auth;

enum jq_auth_verdict {
    JQ_AUTH_OK,        /* the right token */
    JQ_AUTH_DENIED,    /* missing or wrong: 401 */
    JQ_AUTH_THROTTLED  /* too many failures from this address: 429 */
};

/* token must be non-empty; it is copied. */
JQ_MUST_CHECK int jq_auth_create(struct jq_auth **out, const char *token);
void jq_auth_destroy(struct jq_auth *auth); /* NULL is a no-op */
/* Judge the request's Authorization header. *retry_after_s is set for
 * JQ_AUTH_THROTTLED. */
enum jq_auth_verdict jq_auth_check(struct jq_auth *auth, struct MHD_Connection *conn, int64_t *retry_after_s);

#endif
