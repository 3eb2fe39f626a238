/* jobs_submit.c: POST /v1/jobs — one job or a batch, parsed strictly, then
 * handed to the committer (committer.c), which stores it all or nothing in a
 * group commit shared with concurrent submissions and wakes the dispatcher;
 * the handler runs again once it is committed and answers 201 with the
 * job(s) as stored. With an Idempotency-Key header the submission is
 * committed on its own through idempotency.c instead. */
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
    {JQ_JSON_UNAVAILABLE, MHD_HTTP_UNPROCESSABLE_CONTENT, "callbacks_unavailable"},
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
 * created_at, without re-reading any job. */
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

static enum MHD_Result reply_created(struct jq_request *req, const struct jq_submission *sub, const int64_t *ids,
                                     int64_t created_at_ms)
{
    cJSON *jobs = jobs_json(sub, ids, created_at_ms);
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

/* Back from the committer: the outcome of this submission alone. */
static enum MHD_Result reply_committed(struct jq_request *req)
{
    const struct jq_pending_submit *p = req->submit;
    if (p->err)
        return jq_reply_store_error(req, p->err, 0);
    JQ_FAULT("submit.after_commit");
    return reply_created(req, &p->sub, p->ids, p->created_at_ms);
}

static enum MHD_Result reply_shutting_down(struct jq_request *req)
{
    return jq_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                          "the server is shutting down and takes no new jobs");
}

/* Parse the body into a new req->submit, or answer the error. Returns true
 * when parsed. */
static bool parse_into_pending(struct jq_request *req, enum MHD_Result *reply)
{
    struct jq_pending_submit *p = calloc(1, sizeof *p);
    char msg[256];
    if (!p) {
        *reply = jq_reply_store_error(req, JQ_ENOMEM, 0);
        return false;
    }
    enum jq_json_error jerr = jq_json_parse_submission(req->body ? req->body : "", req->body_len,
                                                       &req->api->policy, &p->sub, msg, sizeof msg);
    if (jerr != JQ_JSON_OK) {
        free(p);
        *reply = jq_reply_json_error(req, jerr, msg);
        return false;
    }
    p->req = req;
    req->submit = p; /* freed by jq_committer_forget when the request ends */
    p->ids = calloc(p->sub.n, sizeof *p->ids);
    if (!p->ids) {
        *reply = jq_reply_store_error(req, JQ_ENOMEM, 0);
        return false;
    }
    return true;
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

/* Stored outside the committer (idempotency.c): answer 201 and wake the
 * dispatcher. */
enum MHD_Result jq_reply_submitted(struct jq_request *req, const struct jq_submission *sub, const int64_t *ids)
{
    JQ_FAULT("submit.after_commit");
    atomic_fetch_add_explicit(&req->api->metrics->jobs_submitted, sub->n, memory_order_relaxed);
    req->api->hooks.jobs_enqueued(req->api->hooks.ctx);
    return reply_created(req, sub, ids, created_at_of(req->api, ids[0]));
}

enum MHD_Result jq_handle_submit(struct jq_request *req)
{
    struct jq_api *api = req->api;
    enum MHD_Result reply = MHD_NO;
    if (req->submit)
        return reply_committed(req);
    if (!api->hooks.accepting(api->hooks.ctx))
        return reply_shutting_down(req);
    if (!content_type_ok(req))
        return jq_reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                              "send the job as Content-Type: application/json");
    if (!parse_into_pending(req, &reply))
        return reply;
    if (jq_allowlist_refuses(req, &req->submit->sub, &reply))
        return reply;
    int64_t excess = 0;
    if (!jq_queue_limit_admit(api->queue_limit, api->store, req->submit->sub.n, &excess))
        return jq_reply_queue_full(req, excess);
    const char *key = jq_idem_key_of(req);
    if (key)
        return jq_submit_idempotent(req, &req->submit->sub, key);
    if (!jq_committer_park(api->committer, req))
        return reply_shutting_down(req);
    return MHD_YES; /* answered when the committer resumes the connection */
}
