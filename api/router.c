/* router.c: method + path -> handler. Unknown paths get 404, known paths
 * with a method they do not take get 405 with an Allow header, and a path
 * id that is not a positive decimal int64 gets 400 bad_parameter. */
#include <stdint.h>
#include <string.h>

#include "api_int.h"

enum route_kind { ROUTE_JOBS, ROUTE_JOB, ROUTE_STDOUT, ROUTE_STDERR, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_NONE };

static const char *const route_allow[] = {
    [ROUTE_JOBS] = "GET, HEAD, POST",   [ROUTE_JOB] = "GET, HEAD, DELETE",
    [ROUTE_STDOUT] = "GET, HEAD",       [ROUTE_STDERR] = "GET, HEAD",
    [ROUTE_HEALTHZ] = "GET, HEAD",      [ROUTE_READYZ] = "GET, HEAD",
};

/* "123" -> 123. Digits only, no sign, no leading zero, 1..INT64_MAX. */
static bool parse_id(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 19 || s[0] == '0')
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

/* Which route url names; *id_text and *id_len point at the id segment. */
static enum route_kind match_route(const char *url, const char **id_text, size_t *id_len)
{
    static const char jobs[] = "/v1/jobs";
    if (strcmp(url, "/healthz") == 0)
        return ROUTE_HEALTHZ;
    if (strcmp(url, "/readyz") == 0)
        return ROUTE_READYZ;
    if (strncmp(url, jobs, sizeof jobs - 1) != 0)
        return ROUTE_NONE;
    const char *rest = url + sizeof jobs - 1;
    if (*rest == '\0')
        return ROUTE_JOBS;
    if (*rest != '/' || rest[1] == '\0')
        return ROUTE_NONE;
    *id_text = rest + 1;
    const char *slash = strchr(*id_text, '/');
    *id_len = slash ? (size_t)(slash - *id_text) : strlen(*id_text);
    if (!slash)
        return ROUTE_JOB;
    if (strcmp(slash, "/stdout") == 0)
        return ROUTE_STDOUT;
    if (strcmp(slash, "/stderr") == 0)
        return ROUTE_STDERR;
    return ROUTE_NONE;
}

static bool method_allowed(enum route_kind kind, const char *method)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return true;
    if (kind == ROUTE_JOBS)
        return strcmp(method, "POST") == 0;
    if (kind == ROUTE_JOB)
        return strcmp(method, "DELETE") == 0;
    return false;
}

static enum MHD_Result reply_not_allowed(struct jq_request *req, enum route_kind kind)
{
    struct MHD_Response *resp =
        jq_error_response("method_not_allowed", "this method is not allowed here; see the Allow header");
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, route_allow[kind]);
    return jq_reply_response(req, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

static enum MHD_Result dispatch_job_route(struct jq_request *req, enum route_kind kind, const char *method,
                                          int64_t id)
{
    if (kind == ROUTE_STDOUT || kind == ROUTE_STDERR)
        return jq_handle_output(req, id, kind == ROUTE_STDERR);
    if (strcmp(method, "DELETE") == 0)
        return jq_handle_cancel(req, id);
    return jq_handle_get(req, id);
}

enum MHD_Result jq_router_dispatch(struct jq_request *req, const char *method, const char *url)
{
    const char *id_text = NULL;
    size_t id_len = 0;
    enum route_kind kind = match_route(url, &id_text, &id_len);
    if (kind == ROUTE_NONE)
        return jq_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
    if (!method_allowed(kind, method))
        return reply_not_allowed(req, kind);
    if (kind == ROUTE_HEALTHZ)
        return jq_handle_healthz(req);
    if (kind == ROUTE_READYZ)
        return jq_handle_readyz(req);
    if (kind == ROUTE_JOBS)
        return strcmp(method, "POST") == 0 ? jq_handle_submit(req) : jq_handle_list(req);
    int64_t id = 0;
    if (!parse_id(id_text, id_len, &id))
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                              "the job id must be a positive decimal integer");
    return dispatch_job_route(req, kind, method, id);
}
