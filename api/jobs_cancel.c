/* jobs_cancel.c: DELETE /v1/jobs/{id} — a queued job is cancelled at once;
 * a running one is killed by its worker (through the service's hook) and the
 * answer waits, parked, until it has ended or kill_grace_ms + 5 s passed. */
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

enum MHD_Result jq_handle_cancel(struct jq_request *req, int64_t id)
{
    if (req->wait_phase != JQ_WAIT_NONE)
        return jq_reply_job(req, id, MHD_HTTP_ACCEPTED);
    return cancel_now(req, id);
}
