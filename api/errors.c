/* errors.c: how the API answers — JSON bodies (always ending in a newline),
 * raw bytes, and the error shape {"error":{"code","message"}} of
 * docs/api.md, including the one mapping of store errors to HTTP statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "log.h"

/* A store error as HTTP: status, stable code, message. */
struct store_error_map {
    int err;
    unsigned status;
    const char *code;
    const char *message;
};

static const struct store_error_map store_errors[] = {
    {JQ_ENOTFOUND, MHD_HTTP_NOT_FOUND, "not_found", "no such job"},
    {JQ_ETOOBIG, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large", "the job is larger than the server accepts"},
    {JQ_EFULL, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_full", "the database disk is full; try again later"},
    {JQ_ENOMEM, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", "the server is out of memory; try again later"},
    {JQ_EBUSY, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", "the server is busy; try again later"},
};

struct MHD_Response *jq_response_from_json(cJSON *doc)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    char *body = realloc(text, len + 2);
    if (!body) {
        free(text);
        return NULL;
    }
    body[len] = '\n';
    body[len + 1] = '\0';
    struct MHD_Response *resp = MHD_create_response_from_buffer(len + 1, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return resp;
}

enum MHD_Result jq_reply_response(struct jq_request *req, unsigned status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    jq_metrics_http(req->api->metrics, req->route, status);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result jq_reply_json(struct jq_request *req, unsigned status, cJSON *doc)
{
    return jq_reply_response(req, status, jq_response_from_json(doc));
}

static cJSON *error_doc(const char *code, const char *message)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *inner = cJSON_AddObjectToObject(doc, "error");
    if (!inner || !cJSON_AddStringToObject(inner, "code", code) ||
        !cJSON_AddStringToObject(inner, "message", message)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

struct MHD_Response *jq_error_response(const char *code, const char *message)
{
    return jq_response_from_json(error_doc(code, message));
}

enum MHD_Result jq_reply_error(struct jq_request *req, unsigned status, const char *code, const char *message)
{
    struct MHD_Response *resp = jq_error_response(code, message);
    if (resp && status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return jq_reply_response(req, status, resp);
}

enum MHD_Result jq_reply_store_error(struct jq_request *req, int err, int64_t id)
{
    for (size_t i = 0; i < sizeof store_errors / sizeof store_errors[0]; i++) {
        const struct store_error_map *m = &store_errors[i];
        if (m->err == err)
            return jq_reply_error(req, m->status, m->code, m->message);
    }
    jq_log_job(JQ_LOG_ERR, id, "storage failed: %s", jq_err_str(err));
    return jq_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                          "storage or system failure (see the server log)");
}

enum MHD_Result jq_reply_bytes(struct jq_request *req, unsigned status, const char *type, const void *data,
                               size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(len ? data : ""), MHD_RESPMEM_MUST_COPY);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    return jq_reply_response(req, status, resp);
}

enum MHD_Result jq_reply_items(struct jq_request *req, const char *key, const void *items, size_t n,
                               size_t item_size, jq_item_json_fn to_json)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, key);
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *one = to_json((const char *)items + i * item_size);
        if (!one || !cJSON_AddItemToArray(arr, one)) {
            cJSON_Delete(one);
            arr = NULL;
        }
    }
    if (!arr) {
        cJSON_Delete(doc);
        return MHD_NO;
    }
    return jq_reply_json(req, MHD_HTTP_OK, doc);
}
