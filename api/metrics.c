/* metrics.c: GET /metrics (Prometheus text exposition format 0.0.4) and
 * GET /v1/stats (the same essentials as JSON): the service's counters and
 * histograms (core/metrics.h), the jobs by state (from the store) and the
 * pool (from the service's hook). */
#include <stdio.h>
#include <stdlib.h>

#include "api_int.h"
#include "route.h"

static uint64_t load(const atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void pool_stats(struct jq_api *api, struct jq_pool_stats *ps)
{
    *ps = (struct jq_pool_stats){0, 0, 0};
    if (api->hooks.pool_stats)
        api->hooks.pool_stats(api->hooks.ctx, ps);
}

static void put_header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_histogram(FILE *f, const char *name, const char *help, const struct jq_histogram *h)
{
    put_header(f, name, "histogram", help);
    uint64_t cumulative = 0;
    for (unsigned i = 0; i < JQ_METRICS_BUCKETS; i++) {
        cumulative += load(&h->bucket[i]);
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, jq_metrics_bucket_le_ms[i] / 1000.0,
                (unsigned long long)cumulative);
    }
    cumulative += load(&h->bucket[JQ_METRICS_BUCKETS]);
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cumulative);
    fprintf(f, "%s_sum %.3f\n%s_count %llu\n", name, (double)load(&h->sum_ms) / 1000.0, name,
            (unsigned long long)cumulative);
}

static void put_jobs(FILE *f, const struct jq_metrics *m, const struct jq_store_counts *counts)
{
    put_header(f, "jobq_jobs_submitted_total", "counter", "Jobs accepted (201) since the service started.");
    fprintf(f, "jobq_jobs_submitted_total %llu\n", (unsigned long long)load(&m->jobs_submitted));
    put_header(f, "jobq_submit_commits_total", "counter",
               "Transactions (each one sync) that stored submissions; concurrent submissions share one.");
    fprintf(f, "jobq_submit_commits_total %llu\n", (unsigned long long)load(&m->submit_commits));
    put_header(f, "jobq_jobs_finished_total", "counter", "Jobs that reached a final state, by state.");
    for (unsigned s = 0; s < JQ_STATE_COUNT; s++)
        if (jq_state_is_terminal((enum jq_job_state)s))
            fprintf(f, "jobq_jobs_finished_total{state=\"%s\"} %llu\n", jq_state_name((enum jq_job_state)s),
                    (unsigned long long)load(&m->jobs_finished[s]));
    put_header(f, "jobq_retries_total", "counter", "Attempts that ended and were followed by another (retries).");
    fprintf(f, "jobq_retries_total %llu\n", (unsigned long long)load(&m->retries));
    put_header(f, "jobq_jobs", "gauge", "Jobs in the database, by state.");
    for (unsigned s = 0; s < JQ_STATE_COUNT; s++)
        fprintf(f, "jobq_jobs{state=\"%s\"} %lld\n", jq_state_name((enum jq_job_state)s),
                (long long)counts->by_state[s]);
    put_header(f, "jobq_jobs_running", "gauge", "Jobs running now.");
    fprintf(f, "jobq_jobs_running %lld\n", (long long)counts->by_state[JQ_STATE_RUNNING]);
    put_header(f, "jobq_results_unrecorded", "gauge",
               "Finished jobs whose result the store refused (full disk, I/O error), kept to be recorded again.");
    fprintf(f, "jobq_results_unrecorded %llu\n", (unsigned long long)load(&m->results_unrecorded));
}

static void put_pool_and_kills(FILE *f, const struct jq_metrics *m, const struct jq_pool_stats *ps)
{
    put_header(f, "jobq_workers", "gauge", "Worker processes configured.");
    fprintf(f, "jobq_workers %u\n", ps->workers_configured);
    put_header(f, "jobq_workers_alive", "gauge", "Worker processes alive now.");
    fprintf(f, "jobq_workers_alive %u\n", ps->workers_alive);
    put_header(f, "jobq_worker_restarts_total", "counter", "Workers started to replace one that exited.");
    fprintf(f, "jobq_worker_restarts_total %llu\n", (unsigned long long)ps->worker_restarts);
    put_header(f, "jobq_kills_total", "counter", "Jobs killed by the service, by reason.");
    for (unsigned r = 1; r < JQ_METRICS_KILL_REASONS; r++)
        fprintf(f, "jobq_kills_total{reason=\"%s\"} %llu\n", jq_kill_reason_name((enum jq_kill_reason)r),
                (unsigned long long)load(&m->kills[r]));
}

static void put_http(FILE *f, const struct jq_metrics *m)
{
    put_header(f, "jobq_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (unsigned r = 0; r < JQ_METRICS_ROUTES && r <= JQ_ROUTE_NONE; r++) {
        for (unsigned s = 0; s < JQ_METRICS_STATUSES; s++) {
            uint64_t n = load(&m->http_requests[r][s]);
            if (n == 0)
                continue;
            char code[8];
            snprintf(code, sizeof code, s ? "%u" : "other", jq_metrics_status_codes[s]);
            fprintf(f, "jobq_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                    jq_route_pattern((enum jq_route_kind)r), code, (unsigned long long)n);
        }
    }
}

enum MHD_Result jq_handle_metrics(struct jq_request *req)
{
    struct jq_api *api = req->api;
    struct jq_store_counts counts;
    struct jq_pool_stats ps;
    int err = jq_store_count(api->store, &counts);
    if (err)
        return jq_reply_store_error(req, err, 0);
    pool_stats(api, &ps);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return MHD_NO;
    put_jobs(f, api->metrics, &counts);
    put_pool_and_kills(f, api->metrics, &ps);
    put_histogram(f, "jobq_job_queue_wait_seconds", "Time from submission to start.", &api->metrics->queue_wait);
    put_histogram(f, "jobq_job_run_seconds", "Time from start to end of a job's process.", &api->metrics->run_time);
    put_http(f, api->metrics);
    if (fclose(f) != 0) {
        free(text);
        return MHD_NO;
    }
    enum MHD_Result ret = jq_reply_bytes(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return ret;
}

static cJSON *stats_json(const struct jq_metrics *m, const struct jq_store_counts *counts,
                         const struct jq_pool_stats *ps)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *jobs = cJSON_AddObjectToObject(doc, "jobs");
    cJSON *finished = cJSON_AddObjectToObject(doc, "finished_total");
    cJSON *workers = cJSON_AddObjectToObject(doc, "workers");
    cJSON *kills = cJSON_AddObjectToObject(doc, "kills_total");
    for (unsigned s = 0; s < JQ_STATE_COUNT; s++) {
        const char *name = jq_state_name((enum jq_job_state)s);
        cJSON_AddNumberToObject(jobs, name, (double)counts->by_state[s]);
        if (jq_state_is_terminal((enum jq_job_state)s))
            cJSON_AddNumberToObject(finished, name, (double)load(&m->jobs_finished[s]));
    }
    for (unsigned r = 1; r < JQ_METRICS_KILL_REASONS; r++)
        cJSON_AddNumberToObject(kills, jq_kill_reason_name((enum jq_kill_reason)r), (double)load(&m->kills[r]));
    cJSON_AddNumberToObject(doc, "submitted_total", (double)load(&m->jobs_submitted));
    cJSON_AddNumberToObject(doc, "retries_total", (double)load(&m->retries));
    cJSON_AddNumberToObject(workers, "configured", ps->workers_configured);
    cJSON_AddNumberToObject(workers, "alive", ps->workers_alive);
    cJSON_AddNumberToObject(workers, "restarts_total", (double)ps->worker_restarts);
    return doc;
}

enum MHD_Result jq_handle_stats(struct jq_request *req)
{
    struct jq_api *api = req->api;
    struct jq_store_counts counts;
    struct jq_pool_stats ps;
    int err = jq_store_count(api->store, &counts);
    if (err)
        return jq_reply_store_error(req, err, 0);
    pool_stats(api, &ps);
    struct jq_store_space space;
    err = jq_store_space(api->store, &space);
    if (err)
        return jq_reply_store_error(req, err, 0);
    cJSON *doc = stats_json(api->metrics, &counts, &ps);
    cJSON *db = cJSON_AddObjectToObject(doc, "database");
    if (!db || !cJSON_AddNumberToObject(db, "size_bytes", (double)space.database_bytes) ||
        !cJSON_AddNumberToObject(db, "free_bytes", (double)space.free_bytes) ||
        !cJSON_AddNumberToObject(db, "wal_bytes", (double)space.wal_bytes)) {
        cJSON_Delete(doc);
        return MHD_NO;
    }
    return jq_reply_json(req, MHD_HTTP_OK, doc);
}
