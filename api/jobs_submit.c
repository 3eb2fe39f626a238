/* jobs_submit.c: POST /v1/jobs — one job or a batch, parsed strictly,
 * committed in one transaction (all or nothing), the dispatcher woken, then
 * 201 with the job(s) as stored. With an Idempotency-Key header the commit
 * goes through idempotency.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"
#include "fault.h"
#include "job_json.h"

static const struct {
    enum jq_json_error err;
    unsigned status;
    const char *code;
} json_errors[] = {
    {JQ_JSON_MALFORMED, MHD_HTTP_BAD_REQUEST, "malformed_json"},
    {JQ_JSON_INVALID_FIELD, MHD_HTTP_BAD_REQUEST, "invalid_field"},
    {JQ_JSON_UNKNOWN_FIELD, MHD_HTTP_BAD_REQUEST, "unknown_field"},
    {JQ_JSON_MISSING_FIELD, MHD_HTTP_BAD_REQUEST, "missing_field"},
    {JQ_JSON_OUT_OF_RANGE, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range"},
    {JQ_JSON_NO_MEMORY, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded"},
};

enum MHD_Result jq_reply_json_error(struct jq_request *req, enum jq_json_error err, const char *msg)
{
    for (size_t i = 0; i < sizeof json_errors / sizeof json_errors[0]; i++)
        if (json_errors[i].err == err)
            return jq_reply_error(req, json_errors[i].status, json_errors[i].code, msg);
    return jq_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", msg);
}

/* No type, JSON, or what `curl -d` sends; parameters (charset) ignored. */
static bool content_type_ok(const struct jq_request *req)
{
    const char *type = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!type)
        return true;
    size_t len = strcspn(type, "; \t");
    static const char *const accepted[] = {"application/json", "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < 2; i++)
        if (len == strlen(accepted[i]) && strncasecmp(type, accepted[i], len) == 0)
            return true;
    return false;
}

/* The stored jobs as JSON: built from the specs, the ids and the batch's
 * created_at (read back once), without re-reading every job. */
static cJSON *jobs_json(const struct jq_submission *sub, const int64_t *ids, int64_t created_at_ms)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < sub->n; i++) {
        struct jq_job job;
        jq_job_init(&job);
        job.id = ids[i];
        job.spec = sub->specs[i]; /* borrowed: not cleaned up here */
        job.created_at_ms = created_at_ms;
        /* As the store decided: a run_at in the future is scheduled. */
        job.state = job.spec.run_at_ms > created_at_ms ? JQ_STATE_SCHEDULED : JQ_STATE_QUEUED;
        job.run_at_ms = job.state == JQ_STATE_SCHEDULED ? job.spec.run_at_ms : 0;
        cJSON *one = jq_json_from_job(&job, true);
        if (!one || !cJSON_AddItemToArray(arr, one)) {
            cJSON_Delete(one);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    return arr;
}

static int64_t created_at_of(struct jq_api *api, int64_t id)
{
    struct jq_job job;
    int64_t created = jq_now_ms();
    if (jq_store_get(api->store, id, false, &job) == 0) {
        created = job.created_at_ms;
        jq_job_cleanup(&job);
    }
    return created;
}

static enum MHD_Result reply_created(struct jq_request *req, const struct jq_submission *sub, const int64_t *ids)
{
    cJSON *jobs = jobs_json(sub, ids, created_at_of(req->api, ids[0]));
    if (!jobs)
        return MHD_NO;
    if (sub->is_batch) {
        cJSON *doc = cJSON_CreateObject();
        if (!doc || !cJSON_AddItemToObject(doc, "jobs", jobs)) {
            cJSON_Delete(jobs);
            cJSON_Delete(doc);
            return MHD_NO;
        }
        return jq_reply_json(req, MHD_HTTP_CREATED, doc);
    }
    cJSON *job = cJSON_DetachItemFromArray(jobs, 0);
    cJSON_Delete(jobs);
    struct MHD_Response *resp = jq_response_from_json(job);
    char location[48];
    snprintf(location, sizeof location, "/v1/jobs/%lld", (long long)ids[0]);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    return jq_reply_response(req, MHD_HTTP_CREATED, resp);
}

enum MHD_Result jq_reply_submitted(struct jq_request *req, const struct jq_submission *sub, const int64_t *ids)
{
    JQ_FAULT("submit.after_commit");
    atomic_fetch_add_explicit(&req->api->metrics->jobs_submitted, sub->n, memory_order_relaxed);
    req->api->hooks.jobs_enqueued(req->api->hooks.ctx);
    return reply_created(req, sub, ids);
}

static enum MHD_Result store_and_reply(struct jq_request *req, const struct jq_submission *sub)
{
    int64_t *ids = calloc(sub->n, sizeof *ids);
    if (!ids)
        return jq_reply_store_error(req, JQ_ENOMEM, 0);
    int err = jq_store_enqueue(req->api->store, sub->specs, sub->n, ids);
    enum MHD_Result ret = err ? jq_reply_store_error(req, err, 0) : jq_reply_submitted(req, sub, ids);
    free(ids);
    return ret;
}

enum MHD_Result jq_handle_submit(struct jq_request *req)
{
    struct jq_api *api = req->api;
    if (!api->hooks.accepting(api->hooks.ctx))
        return jq_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                              "the server is shutting down and takes no new jobs");
    if (!content_type_ok(req))
        return jq_reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                              "send the job as Content-Type: application/json");
    struct jq_submission sub;
    char msg[256];
    enum jq_json_error jerr =
        jq_json_parse_submission(req->body ? req->body : "", req->body_len, &api->policy, &sub, msg, sizeof msg);
    if (jerr != JQ_JSON_OK)
        return jq_reply_json_error(req, jerr, msg);
    const char *key = jq_idem_key_of(req);
    enum MHD_Result ret = key ? jq_submit_idempotent(req, &sub, key) : store_and_reply(req, &sub);
    jq_submission_cleanup(&sub);
    return ret;
}
