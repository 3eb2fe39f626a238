/* jobs_cancel.c: DELETE /v1/jobs/{id} — a queued job is cancelled at once;
 * a running one is killed by its worker (through the service's hook) and the
 * answer waits, parked, until it has ended or kill_grace_ms + 5 s passed.
 * With ?purge=true a finished job is deleted instead (409 if it is not
 * finished). */
#include <string.h>

#include "api_int.h"

/* How much longer than the job's kill grace a cancel answer waits. */
#define JQ_CANCEL_WAIT_EXTRA_MS 5000

static enum MHD_Result cancel_now(struct jq_request *req, int64_t id)
{
    struct jq_api *api = req->api;
    struct jq_job job;
    int err = jq_store_get(api->store, id, false, &job);
    if (err)
        return jq_reply_store_error(req, err, id);
    int64_t grace_ms = job.spec.kill_grace_ms;
    jq_job_cleanup(&job);
    enum jq_job_state state = JQ_STATE_QUEUED;
    err = api->hooks.cancel(api->hooks.ctx, id, &state);
    if (err == JQ_ESTATE)
        return jq_reply_error(req, MHD_HTTP_CONFLICT, "job_finished", "the job has already finished");
    if (err)
        return jq_reply_store_error(req, err, id);
    if (state == JQ_STATE_CANCELLED)
        jq_queue_limit_left(api->queue_limit, 1);
    int64_t deadline = jq_mono_ms() + grace_ms + JQ_CANCEL_WAIT_EXTRA_MS;
    if (state == JQ_STATE_RUNNING && jq_longpoll_park(api->longpoll, req, id, deadline))
        return MHD_YES;
    return jq_reply_job(req, id, MHD_HTTP_ACCEPTED);
}

static enum MHD_Result purge_now(struct jq_request *req, int64_t id)
{
    enum jq_job_state state = JQ_STATE_QUEUED;
    int err = jq_store_purge_job(req->api->store, id, &state);
    if (err == JQ_ESTATE)
        return jq_reply_error(req, MHD_HTTP_CONFLICT, "job_not_finished",
                              "only a finished job can be purged; cancel it first");
    if (err)
        return jq_reply_store_error(req, err, id);
    cJSON *doc = cJSON_CreateObject();
    if (!doc || !cJSON_AddNumberToObject(doc, "id", (double)id) || !cJSON_AddBoolToObject(doc, "purged", true)) {
        cJSON_Delete(doc);
        return MHD_NO;
    }
    return jq_reply_json(req, MHD_HTTP_OK, doc);
}

enum MHD_Result jq_handle_cancel(struct jq_request *req, int64_t id)
{
    const char *purge = jq_request_arg(req, "purge");
    if (req->wait_phase != JQ_WAIT_NONE)
        return jq_reply_job(req, id, MHD_HTTP_ACCEPTED);
    if (purge && strcmp(purge, "true") != 0 && strcmp(purge, "false") != 0)
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter", "purge must be true or false");
    if (purge && strcmp(purge, "true") == 0)
        return purge_now(req, id);
    return cancel_now(req, id);
}
