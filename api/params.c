/* params.c: the query parameters of docs/api.md (?wait=, ?limit=, ?after=,
 * ?state=), parsed strictly: a value that is not exactly what the contract
 * allows is an error, never silently clamped. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "jq_limits.h"
#include "params.h"
#include "sse.h"

const char *jq_request_arg(const struct jq_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Decimal digits only, at most 19 of them, into *out. */
static bool parse_uint(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool jq_param_wait_ms(const struct jq_request *req, int64_t *ms_out)
{
    const char *s = jq_request_arg(req, "wait");
    *ms_out = 0;
    if (!s)
        return true;
    if (!isdigit((unsigned char)s[0]) && s[0] != '.')
        return false;
    char *end = NULL;
    double seconds = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(seconds) || seconds < 0 || seconds > JQ_MAX_WAIT_SECONDS)
        return false;
    *ms_out = (int64_t)(seconds * 1000.0 + 0.5);
    return true;
}

bool jq_param_list_query(const struct jq_request *req, struct jq_list_query *q, const char **bad)
{
    int64_t v = 0;
    const char *limit = jq_request_arg(req, "limit");
    const char *after = jq_request_arg(req, "after");
    const char *state = jq_request_arg(req, "state");
    memset(q, 0, sizeof *q);
    q->limit = JQ_DEFAULT_LIST_LIMIT;
    if (limit && (!parse_uint(limit, &v) || v < 1 || v > JQ_MAX_LIST_LIMIT)) {
        *bad = "limit must be an integer between 1 and 1000";
        return false;
    }
    if (limit)
        q->limit = (size_t)v;
    if (after && !parse_uint(after, &q->after_id)) {
        *bad = "after must be a job id (a non-negative integer)";
        return false;
    }
    if (state && jq_state_parse(state, &q->state) != 0) {
        *bad = "state must be one of queued, scheduled, running, retry_wait, succeeded, failed, timed_out, "
               "cancelled, lost, expired";
        return false;
    }
    q->has_state = state != NULL;
    q->queue = jq_request_arg(req, "queue");
    if (q->queue && !jq_queue_name_ok(q->queue)) {
        *bad = "queue must be a queue name (1 to 64 characters of A-Z a-z 0-9 _ . -)";
        return false;
    }
    return true;
}

/* One ?NAME= offset: absent (0) or a non-negative integer. */
static bool offset_arg(const struct jq_request *req, const char *name, uint64_t *out)
{
    const char *s = jq_request_arg(req, name);
    int64_t v = 0;
    if (s && !parse_uint(s, &v))
        return false;
    *out = (uint64_t)v;
    return true;
}

bool jq_param_stream_pos(const struct jq_request *req, struct jq_sse_pos *pos, const char **bad)
{
    const char *last = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (!offset_arg(req, "stdout_offset", &pos->out) || !offset_arg(req, "stderr_offset", &pos->err)) {
        *bad = "stdout_offset and stderr_offset must be byte offsets (non-negative integers)";
        return false;
    }
    if (last && !jq_sse_parse_id(last, pos)) {
        *bad = "Last-Event-ID must be an event id of this stream: stdout:N,stderr:M";
        return false;
    }
    return true;
}
