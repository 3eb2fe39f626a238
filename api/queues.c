/* queues.c: the named-queue routes — GET /v1/queues (every queue with its
 * counts and settings), GET and PATCH /v1/queues/{name} (read; set the
 * concurrency limit and/or paused), POST /v1/queues/{name}/pause and
 * /resume. Settings are durable (the store); a queue needs no creation:
 * one that has neither jobs nor settings reads as open and unlimited. */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "jq_limits.h"
#include "json_strict.h"

/* The largest concurrency limit a queue can be given. */
#define JQ_MAX_QUEUE_CONCURRENCY 100000

static cJSON *queue_json(const void *item)
{
    const struct jq_queue_info *q = item;
    cJSON *o = cJSON_CreateObject();
    cJSON *counts = cJSON_CreateObject();
    bool ok = o && counts && cJSON_AddStringToObject(o, "name", q->name) &&
              cJSON_AddBoolToObject(o, "paused", q->paused) &&
              (q->concurrency_limit > 0 ? cJSON_AddNumberToObject(o, "concurrency_limit", (double)q->concurrency_limit)
                                        : cJSON_AddNullToObject(o, "concurrency_limit")) != NULL;
    for (unsigned s = 0; ok && s < JQ_STATE_COUNT; s++)
        ok = cJSON_AddNumberToObject(counts, jq_state_name((enum jq_job_state)s), (double)q->by_state[s]) != NULL;
    if (ok && cJSON_AddItemToObject(o, "counts", counts))
        return o;
    cJSON_Delete(counts);
    cJSON_Delete(o);
    return NULL;
}

/* The queue name in list, or a fresh one (open, unlimited, no jobs). */
static struct jq_queue_info find_queue(const struct jq_queue_list *list, const char *name)
{
    struct jq_queue_info q;
    memset(&q, 0, sizeof(q));
    snprintf(q.name, sizeof(q.name), "%s", name);
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->queues[i].name, name) == 0)
            q = list->queues[i];
    return q;
}

enum MHD_Result jq_handle_queue_get(struct jq_request *req, const char *name)
{
    struct jq_queue_list list;
    int err = jq_store_queue_list(req->api->store, &list);
    if (err)
        return jq_reply_store_error(req, err, 0);
    struct jq_queue_info q = find_queue(&list, name);
    jq_queue_list_cleanup(&list);
    cJSON *doc = queue_json(&q);
    return doc ? jq_reply_json(req, MHD_HTTP_OK, doc) : MHD_NO;
}

enum MHD_Result jq_handle_queues(struct jq_request *req)
{
    struct jq_queue_list list;
    int err = jq_store_queue_list(req->api->store, &list);
    if (err)
        return jq_reply_store_error(req, err, 0);
    enum MHD_Result ret = jq_reply_items(req, "queues", list.queues, list.n, sizeof(*list.queues), queue_json);
    jq_queue_list_cleanup(&list);
    return ret;
}

/* Apply a change, wake the dispatcher (a resumed or widened queue may have
 * work), answer with the queue. */
static enum MHD_Result update_and_reply(struct jq_request *req, const char *name, int paused, int64_t limit)
{
    struct jq_api *api = req->api;
    int err = jq_store_queue_update(api->store, name, paused, limit);
    if (err)
        return jq_reply_store_error(req, err, 0);
    api->hooks.jobs_enqueued(api->hooks.ctx);
    return jq_handle_queue_get(req, name);
}

enum MHD_Result jq_handle_queue_pause(struct jq_request *req, const char *name, bool paused)
{
    return update_and_reply(req, name, paused ? 1 : 0, -1);
}

/* {"concurrency_limit": 0..JQ_MAX_QUEUE_CONCURRENCY (0 = none), "paused":
 * bool}, both optional, nothing else. Returns NULL or the problem. */
static const char *parse_patch(const cJSON *root, int *paused, int64_t *limit)
{
    *paused = -1;
    *limit = -1;
    if (!cJSON_IsObject(root))
        return "the body must be a JSON object";
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "paused") == 0 && cJSON_IsBool(e) && *paused < 0)
            *paused = cJSON_IsTrue(e) ? 1 : 0;
        else if (strcmp(e->string, "concurrency_limit") == 0 && cJSON_IsNumber(e) && *limit < 0 &&
                 e->valuedouble >= 0 && e->valuedouble <= JQ_MAX_QUEUE_CONCURRENCY &&
                 e->valuedouble == (double)(int64_t)e->valuedouble)
            *limit = (int64_t)e->valuedouble;
        else
            return "fields: paused (true/false) and concurrency_limit (an integer 0..100000, 0 = no limit), "
                   "each at most once";
    }
    return NULL;
}

enum MHD_Result jq_handle_queue_patch(struct jq_request *req, const char *name)
{
    char msg[256];
    int paused;
    int64_t limit;
    const char *body = req->body ? req->body : "";
    if (jq_json_check(body, req->body_len, msg, sizeof msg) != 0)
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed_json", msg);
    cJSON *root = cJSON_ParseWithLength(body, req->body_len);
    if (!root)
        return jq_reply_store_error(req, JQ_ENOMEM, 0);
    const char *bad = parse_patch(root, &paused, &limit);
    cJSON_Delete(root);
    if (bad)
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_field", bad);
    return update_and_reply(req, name, paused, limit);
}
