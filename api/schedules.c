/* schedules.c: periodic jobs over HTTP — POST /v1/schedules (a cron
 * expression and a job template), GET /v1/schedules, GET and DELETE
 * /v1/schedules/{id}, POST /v1/schedules/{id}/pause and /resume. The
 * template is checked now exactly as a POST /v1/jobs body would be, stored
 * as canonical JSON, and parsed again at each tick by the master
 * (service/schedules.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "cron.h"
#include "json_strict.h"

/* cJSON_AddItemToObject does not take item on failure. */
static bool add(cJSON *o, const char *key, cJSON *item)
{
    if (item && cJSON_AddItemToObject(o, key, item))
        return true;
    cJSON_Delete(item);
    return false;
}

static cJSON *time_or_null(int64_t ms)
{
    char buf[64];
    if (ms == 0)
        return cJSON_CreateNull();
    jq_json_format_time(ms, buf, sizeof(buf));
    return cJSON_CreateString(buf);
}

static cJSON *schedule_json(const void *item)
{
    const struct jq_schedule *sch = item;
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddNumberToObject(o, "id", (double)sch->id) && cJSON_AddStringToObject(o, "cron", sch->cron) &&
        add(o, "job", cJSON_Parse(sch->template_json)) && cJSON_AddBoolToObject(o, "paused", sch->paused) &&
        add(o, "next_run_at", time_or_null(sch->paused ? 0 : sch->next_tick_ms)) &&
        add(o, "last_run_at", time_or_null(sch->last_tick_ms)) &&
        add(o, "last_job_id", sch->last_job_id ? cJSON_CreateNumber((double)sch->last_job_id) : cJSON_CreateNull()) &&
        add(o, "created_at", time_or_null(sch->created_at_ms)))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static enum MHD_Result reply_schedule(struct jq_request *req, unsigned status, const struct jq_schedule *sch)
{
    struct MHD_Response *resp = jq_response_from_json(schedule_json(sch));
    char location[64];
    snprintf(location, sizeof location, "/v1/schedules/%lld", (long long)sch->id);
    if (resp && status == MHD_HTTP_CREATED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    return jq_reply_response(req, status, resp);
}

enum MHD_Result jq_handle_schedule_get(struct jq_request *req, int64_t id)
{
    struct jq_schedule sch;
    int err = jq_store_schedule_get(req->api->store, id, &sch);
    if (err)
        return jq_reply_error(req, err == JQ_ENOTFOUND ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
                              err == JQ_ENOTFOUND ? "not_found" : "internal",
                              err == JQ_ENOTFOUND ? "no such schedule" : "storage failure (see the server log)");
    enum MHD_Result ret = reply_schedule(req, MHD_HTTP_OK, &sch);
    jq_schedule_cleanup(&sch);
    return ret;
}

enum MHD_Result jq_handle_schedules(struct jq_request *req)
{
    struct jq_schedule_list list;
    int err = jq_store_schedule_list(req->api->store, &list);
    if (err)
        return jq_reply_store_error(req, err, 0);
    enum MHD_Result ret = jq_reply_items(req, "schedules", list.v, list.n, sizeof(*list.v), schedule_json);
    jq_schedule_list_cleanup(&list);
    return ret;
}

enum MHD_Result jq_handle_schedule_delete(struct jq_request *req, int64_t id)
{
    int err = jq_store_schedule_delete(req->api->store, id);
    if (err == JQ_ENOTFOUND)
        return jq_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such schedule");
    if (err)
        return jq_reply_store_error(req, err, 0);
    cJSON *doc = cJSON_CreateObject();
    if (!doc || !cJSON_AddNumberToObject(doc, "id", (double)id) || !cJSON_AddBoolToObject(doc, "deleted", true)) {
        cJSON_Delete(doc);
        return MHD_NO;
    }
    return jq_reply_json(req, MHD_HTTP_OK, doc);
}

/* The next tick of cron text after now; false (msg set) when it never
 * comes or the text is not a cron expression. */
static bool first_tick(const char *text, int64_t now, int64_t *next, char *msg, size_t cap)
{
    struct jq_cron c;
    char why[160];
    if (jq_cron_parse(text, &c, why, sizeof(why)) != 0) {
        snprintf(msg, cap, "cron: %s", why);
        return false;
    }
    if (jq_cron_next(&c, now, next) != 0) {
        snprintf(msg, cap, "cron: \"%.160s\" matches no time in the next five years", text);
        return false;
    }
    return true;
}

enum MHD_Result jq_handle_schedule_pause(struct jq_request *req, int64_t id, bool paused)
{
    struct jq_api *api = req->api;
    struct jq_schedule sch;
    char msg[256];
    int err = jq_store_schedule_get(api->store, id, &sch);
    if (err == JQ_ENOTFOUND)
        return jq_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such schedule");
    if (err)
        return jq_reply_store_error(req, err, 0);
    int64_t next = sch.next_tick_ms;
    /* Resumed: from the next tick after now; the paused ones are skipped. */
    if (!paused && sch.paused && !first_tick(sch.cron, jq_now_ms(), &next, msg, sizeof(msg)))
        err = JQ_EINVAL;
    jq_schedule_cleanup(&sch);
    if (err == 0)
        err = jq_store_schedule_set_paused(api->store, id, paused, next);
    if (err)
        return jq_reply_store_error(req, err, 0);
    api->hooks.jobs_enqueued(api->hooks.ctx); /* the master's timer recomputes */
    return jq_handle_schedule_get(req, id);
}

/* The template: one job object that POST /v1/jobs would accept, checked
 * with this server's limits. Returns 0 or the error (message in msg). */
static enum jq_json_error check_template(struct jq_api *api, const cJSON *job, char **canonical, char *msg,
                                         size_t cap)
{
    struct jq_submission sub;
    char why[200];
    if (!cJSON_IsObject(job) || cJSON_GetObjectItemCaseSensitive(job, "jobs")) {
        snprintf(msg, cap, "job must be one job object (as POST /v1/jobs takes), not a batch");
        return JQ_JSON_INVALID_FIELD;
    }
    *canonical = cJSON_PrintUnformatted(job);
    if (!*canonical)
        return JQ_JSON_NO_MEMORY;
    enum jq_json_error err = jq_json_parse_submission(*canonical, strlen(*canonical), &api->policy, &sub, why,
                                                      sizeof(why));
    if (err == JQ_JSON_OK)
        jq_submission_cleanup(&sub);
    else
        snprintf(msg, cap, "job.%s", why);
    return err;
}

/* {"cron": "...", "job": {...}, "paused": bool}: cron and job required. */
static enum jq_json_error parse_body(const cJSON *root, const cJSON **cron, const cJSON **job, bool *paused,
                                     char *msg, size_t cap)
{
    bool seen_paused = false;
    *cron = *job = NULL;
    *paused = false;
    if (!cJSON_IsObject(root)) {
        snprintf(msg, cap, "body must be a JSON object");
        return JQ_JSON_MALFORMED;
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        const cJSON **slot = strcmp(e->string, "cron") == 0 ? cron : strcmp(e->string, "job") == 0 ? job : NULL;
        bool is_paused = strcmp(e->string, "paused") == 0;
        if (!slot && !is_paused) {
            snprintf(msg, cap, "%.64s: unknown field (cron, job, paused)", e->string);
            return JQ_JSON_UNKNOWN_FIELD;
        }
        if ((slot && *slot) || (is_paused && seen_paused)) {
            snprintf(msg, cap, "%s: duplicate field", e->string);
            return JQ_JSON_INVALID_FIELD;
        }
        seen_paused = seen_paused || is_paused;
        if ((slot && !cJSON_IsString(e) && slot == cron) || (is_paused && !cJSON_IsBool(e))) {
            snprintf(msg, cap, "%s has the wrong type", e->string);
            return JQ_JSON_INVALID_FIELD;
        }
        if (slot)
            *slot = e;
        else
            *paused = cJSON_IsTrue(e);
    }
    if (!*cron || !*job) {
        snprintf(msg, cap, "%s is required", *cron ? "job" : "cron");
        return JQ_JSON_MISSING_FIELD;
    }
    return JQ_JSON_OK;
}

static enum MHD_Result create(struct jq_request *req, const cJSON *root)
{
    struct jq_api *api = req->api;
    struct jq_schedule sch = {0};
    const cJSON *cron, *job;
    char msg[320];
    enum jq_json_error jerr = parse_body(root, &cron, &job, &sch.paused, msg, sizeof(msg));
    if (jerr == JQ_JSON_OK && !first_tick(cron->valuestring, jq_now_ms(), &sch.next_tick_ms, msg, sizeof(msg)))
        jerr = JQ_JSON_INVALID_FIELD;
    if (jerr == JQ_JSON_OK)
        jerr = check_template(api, job, &sch.template_json, msg, sizeof(msg));
    if (jerr != JQ_JSON_OK) {
        jq_schedule_cleanup(&sch);
        return jq_reply_json_error(req, jerr, msg);
    }
    snprintf(sch.cron, sizeof(sch.cron), "%s", cron->valuestring);
    int err = jq_store_schedule_create(api->store, &sch);
    enum MHD_Result ret;
    if (err == JQ_ETOOBIG)
        ret = jq_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range",
                             "this server keeps at most 1000 schedules");
    else if (err)
        ret = jq_reply_store_error(req, err, 0);
    else
        ret = reply_schedule(req, MHD_HTTP_CREATED, &sch);
    if (err == 0)
        api->hooks.jobs_enqueued(api->hooks.ctx); /* the master's timer recomputes */
    jq_schedule_cleanup(&sch);
    return ret;
}

enum MHD_Result jq_handle_schedule_create(struct jq_request *req)
{
    char msg[256];
    const char *body = req->body ? req->body : "";
    if (jq_json_check(body, req->body_len, msg, sizeof msg) != 0)
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "malformed_json", msg);
    cJSON *root = cJSON_ParseWithLength(body, req->body_len);
    if (!root)
        return jq_reply_store_error(req, JQ_ENOMEM, 0);
    enum MHD_Result ret = create(req, root);
    cJSON_Delete(root);
    return ret;
}
