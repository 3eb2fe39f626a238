/* health.c: GET /healthz (the process serves HTTP) and GET /readyz (the
 * database takes writes and every worker is up). */
#include "api_int.h"

static enum MHD_Result reply_status(struct jq_request *req, unsigned status, const char *word, const char *reason)
{
    cJSON *doc = cJSON_CreateObject();
    if (!cJSON_AddStringToObject(doc, "status", word) || (reason && !cJSON_AddStringToObject(doc, "reason", reason))) {
        cJSON_Delete(doc);
        return MHD_NO;
    }
    return jq_reply_json(req, status, doc);
}

enum MHD_Result jq_handle_healthz(struct jq_request *req)
{
    return reply_status(req, MHD_HTTP_OK, "ok", NULL);
}

enum MHD_Result jq_handle_readyz(struct jq_request *req)
{
    struct jq_api *api = req->api;
    if (!api->hooks.accepting(api->hooks.ctx))
        return reply_status(req, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready", "shutting down");
    if (!jq_store_writable(api->store))
        return reply_status(req, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready", "the database does not take writes");
    if (!api->hooks.workers_ready(api->hooks.ctx))
        return reply_status(req, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready", "not every worker is up");
    return reply_status(req, MHD_HTTP_OK, "ready", NULL);
}
