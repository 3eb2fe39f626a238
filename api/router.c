/* router.c: method + path -> handler. Unknown paths get 404, known paths
 * with a method they do not take get 405 with an Allow header, and a path
 * id that is not a positive decimal int64 gets 400 bad_parameter. */
#include <string.h>

#include "api_int.h"
#include "route.h"

static enum MHD_Result reply_not_allowed(struct jq_request *req, enum jq_route_kind kind)
{
    struct MHD_Response *resp =
        jq_error_response("method_not_allowed", "this method is not allowed here; see the Allow header");
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, jq_route_allow_header(kind));
    return jq_reply_response(req, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

static enum MHD_Result dispatch_job_route(struct jq_request *req, const struct jq_route *r, const char *method)
{
    if (!r->id_valid)
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                              "the job id must be a positive decimal integer");
    if (r->kind == JQ_ROUTE_STDOUT || r->kind == JQ_ROUTE_STDERR)
        return jq_handle_output(req, r->id, r->kind == JQ_ROUTE_STDERR);
    if (r->kind == JQ_ROUTE_STREAM)
        return jq_handle_stream(req, r->id);
    if (strcmp(method, "DELETE") == 0)
        return jq_handle_cancel(req, r->id);
    return jq_handle_get(req, r->id);
}

static enum MHD_Result dispatch_queue_route(struct jq_request *req, const struct jq_route *r, const char *method)
{
    if (!r->name_valid)
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                              "a queue name is 1 to 64 characters of A-Z a-z 0-9 _ . -");
    if (r->kind == JQ_ROUTE_QUEUE_PAUSE || r->kind == JQ_ROUTE_QUEUE_RESUME)
        return jq_handle_queue_pause(req, r->name, r->kind == JQ_ROUTE_QUEUE_PAUSE);
    if (strcmp(method, "PATCH") == 0)
        return jq_handle_queue_patch(req, r->name);
    return jq_handle_queue_get(req, r->name);
}

static enum MHD_Result dispatch_schedule_route(struct jq_request *req, const struct jq_route *r,
                                               const char *method)
{
    if (!r->id_valid)
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                              "the schedule id must be a positive decimal integer");
    if (r->kind == JQ_ROUTE_SCHEDULE_PAUSE || r->kind == JQ_ROUTE_SCHEDULE_RESUME)
        return jq_handle_schedule_pause(req, r->id, r->kind == JQ_ROUTE_SCHEDULE_PAUSE);
    if (strcmp(method, "DELETE") == 0)
        return jq_handle_schedule_delete(req, r->id);
    return jq_handle_schedule_get(req, r->id);
}

enum MHD_Result jq_router_dispatch(struct jq_request *req, const char *method, const char *url)
{
    struct jq_route r = jq_route_match(url);
    req->route = r.kind;
    if (r.kind == JQ_ROUTE_NONE)
        return jq_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
    if (!jq_route_allows(r.kind, method))
        return reply_not_allowed(req, r.kind);
    switch (r.kind) {
    case JQ_ROUTE_HEALTHZ:
        return jq_handle_healthz(req);
    case JQ_ROUTE_READYZ:
        return jq_handle_readyz(req);
    case JQ_ROUTE_METRICS:
        return jq_handle_metrics(req);
    case JQ_ROUTE_STATS:
        return jq_handle_stats(req);
    case JQ_ROUTE_DASHBOARD:
        return jq_handle_dashboard(req);
    case JQ_ROUTE_OPENAPI:
        return jq_reply_bytes(req, MHD_HTTP_OK, "application/yaml", jq_openapi_yaml, jq_openapi_yaml_len);
    case JQ_ROUTE_QUEUES:
        return jq_handle_queues(req);
    case JQ_ROUTE_QUEUE:
    case JQ_ROUTE_QUEUE_PAUSE:
    case JQ_ROUTE_QUEUE_RESUME:
        return dispatch_queue_route(req, &r, method);
    case JQ_ROUTE_SCHEDULES:
        return strcmp(method, "POST") == 0 ? jq_handle_schedule_create(req) : jq_handle_schedules(req);
    case JQ_ROUTE_SCHEDULE:
    case JQ_ROUTE_SCHEDULE_PAUSE:
    case JQ_ROUTE_SCHEDULE_RESUME:
        return dispatch_schedule_route(req, &r, method);
    case JQ_ROUTE_JOBS:
        return strcmp(method, "POST") == 0 ? jq_handle_submit(req) : jq_handle_list(req);
    default:
        return dispatch_job_route(req, &r, method);
    }
}
