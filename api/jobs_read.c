/* jobs_read.c: reading jobs — GET /v1/jobs/{id} (with ?wait= long-poll),
 * the job list with keyset pagination, and the raw stdout/stderr bytes. */
#include <stdlib.h>

#include "api_int.h"
#include "job_json.h"
#include "params.h"

enum MHD_Result jq_reply_job(struct jq_request *req, int64_t id, unsigned status_if_running)
{
    struct jq_job job;
    int err = jq_store_get(req->api->store, id, true, &job);
    if (err)
        return jq_reply_store_error(req, err, id);
    unsigned status = jq_state_is_terminal(job.state) ? MHD_HTTP_OK : status_if_running;
    cJSON *doc = jq_json_from_job(&job, true);
    jq_job_cleanup(&job);
    return doc ? jq_reply_json(req, status, doc) : MHD_NO;
}

enum MHD_Result jq_handle_get(struct jq_request *req, int64_t id)
{
    if (req->wait_phase == JQ_WAIT_NONE) {
        int64_t wait_ms = 0;
        if (!jq_param_wait_ms(req, &wait_ms))
            return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                                  "wait must be a number of seconds between 0 and 3600");
        if (wait_ms > 0 && jq_longpoll_park(req->api->longpoll, req, id, jq_mono_ms() + wait_ms))
            return MHD_YES;
    }
    return jq_reply_job(req, id, MHD_HTTP_OK);
}

static cJSON *list_json(const struct jq_job_list *list)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "jobs");
    for (size_t i = 0; arr && i < list->n; i++) {
        cJSON *one = jq_json_from_job(&list->jobs[i], false);
        if (!one || !cJSON_AddItemToArray(arr, one)) {
            cJSON_Delete(one);
            arr = NULL;
        }
    }
    cJSON *next = list->more && list->n ? cJSON_CreateNumber((double)list->jobs[list->n - 1].id) : cJSON_CreateNull();
    if (!arr || !next || !cJSON_AddItemToObject(doc, "next_after", next)) {
        cJSON_Delete(next);
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

enum MHD_Result jq_handle_list(struct jq_request *req)
{
    struct jq_list_query q;
    const char *bad = NULL;
    if (!jq_param_list_query(req, &q, &bad))
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad);
    struct jq_job_list list = {0};
    int err = jq_store_list(req->api->store, &q, &list);
    if (err)
        return jq_reply_store_error(req, err, 0);
    cJSON *doc = list_json(&list);
    jq_job_list_cleanup(&list);
    return doc ? jq_reply_json(req, MHD_HTTP_OK, doc) : MHD_NO;
}

enum MHD_Result jq_handle_output(struct jq_request *req, int64_t id, bool stderr_stream)
{
    struct jq_job job;
    int err = jq_store_get(req->api->store, id, true, &job);
    if (err)
        return jq_reply_store_error(req, err, id);
    const struct jq_output *o = stderr_stream ? &job.result.err : &job.result.out;
    enum MHD_Result ret = jq_reply_bytes(req, MHD_HTTP_OK, "application/octet-stream", o->data, o->len);
    jq_job_cleanup(&job);
    return ret;
}
