/* idempotency.c: POST /v1/jobs with an Idempotency-Key header. The first
 * request with a key stores its jobs and the key (201); a retry with the
 * same key and the same body gets the jobs it created, as they are now
 * (200, header Idempotent-Replayed: true), never a second copy; the same
 * key with another body is 422 idempotency_key_reused.
 *
 * "The same body" is judged on its canonical form: the JSON as cJSON
 * prints it back (no insignificant whitespace, numbers normalised, member
 * order as sent), hashed with SHA-256; only the hash is stored. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "job_json.h"
#include "jq_limits.h"
#include "sha256.h"

#define HEADER_NAME "Idempotency-Key"

bool jq_idem_key_ok(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > JQ_MAX_IDEMPOTENCY_KEY_BYTES)
        return false;
    for (const char *p = key; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

/* SHA-256 of the canonical form of a body that already passed the strict
 * parse. Returns 0 or JQ_ENOMEM. */
static int body_hash(const char *body, size_t len, unsigned char out[JQ_SHA256_BYTES])
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    char *canonical = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!canonical)
        return JQ_ENOMEM;
    jq_sha256(canonical, strlen(canonical), out);
    free(canonical);
    return 0;
}

/* The jobs of a replay as they are now: the job, or {"jobs":[...]}. */
static cJSON *stored_jobs(struct jq_api *api, const struct jq_submission *sub, const int64_t *ids, int *err)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < sub->n && *err == 0; i++) {
        struct jq_job job;
        *err = jq_store_get(api->store, ids[i], true, &job);
        if (*err)
            break;
        cJSON *one = jq_json_from_job(&job, true);
        jq_job_cleanup(&job);
        if (!one || !cJSON_AddItemToArray(arr, one)) {
            cJSON_Delete(one);
            *err = JQ_ENOMEM;
        }
    }
    if (!arr || *err) {
        cJSON_Delete(arr);
        return NULL;
    }
    if (!sub->is_batch) {
        cJSON *one = cJSON_DetachItemFromArray(arr, 0);
        cJSON_Delete(arr);
        return one;
    }
    cJSON *doc = cJSON_CreateObject();
    if (!doc || !cJSON_AddItemToObject(doc, "jobs", arr)) {
        cJSON_Delete(arr);
        cJSON_Delete(doc);
        *err = JQ_ENOMEM;
        return NULL;
    }
    return doc;
}

static enum MHD_Result reply_replayed(struct jq_request *req, const struct jq_submission *sub, const int64_t *ids)
{
    int err = 0;
    cJSON *doc = stored_jobs(req->api, sub, ids, &err);
    if (!doc)
        return jq_reply_store_error(req, err ? err : JQ_ENOMEM, ids[0]);
    struct MHD_Response *resp = jq_response_from_json(doc);
    if (resp)
        MHD_add_response_header(resp, "Idempotent-Replayed", "true");
    return jq_reply_response(req, MHD_HTTP_OK, resp);
}

const char *jq_idem_key_of(const struct jq_request *req)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, HEADER_NAME);
}

enum MHD_Result jq_submit_idempotent(struct jq_request *req, const struct jq_submission *sub, const char *key)
{
    struct jq_idem idem = {.key = key};
    bool replayed = false;
    if (!jq_idem_key_ok(key))
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                              "Idempotency-Key must be 1 to 255 visible ASCII characters");
    if (body_hash(req->body ? req->body : "", req->body_len, idem.body_sha256) != 0)
        return jq_reply_store_error(req, JQ_ENOMEM, 0);
    int64_t *ids = calloc(sub->n, sizeof(*ids));
    int err = ids ? jq_store_enqueue_idempotent(req->api->store, &idem, sub->specs, sub->n, ids, &replayed)
                  : JQ_ENOMEM;
    enum MHD_Result ret;
    if (err == JQ_ESTATE)
        ret = jq_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "idempotency_key_reused",
                             "this Idempotency-Key was used with a different request body");
    else if (err)
        ret = jq_reply_store_error(req, err, 0);
    else if (replayed)
        ret = reply_replayed(req, sub, ids);
    else
        ret = jq_reply_submitted(req, sub, ids);
    free(ids);
    return ret;
}
