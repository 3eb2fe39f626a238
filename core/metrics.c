/* metrics.c: bumping the counters and histograms of metrics.h. Relaxed
 * atomics: a scrape may see one counter a moment ahead of another, never a
 * torn value. */
#include "metrics.h"

#include <string.h>

const double jq_metrics_bucket_le_ms[JQ_METRICS_BUCKETS] = {1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000, 30000, 300000};

const unsigned jq_metrics_status_codes[JQ_METRICS_STATUSES] = {0,   200, 201, 202, 400, 401, 403, 404, 405,
                                                               409, 413, 414, 415, 422, 429, 431, 500, 503};

void jq_metrics_init(struct jq_metrics *m)
{
    memset(m, 0, sizeof *m); /* all-zero bits are a valid zero for these atomics */
}

static void add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void jq_metrics_observe(struct jq_histogram *h, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    unsigned i = 0;
    while (i < JQ_METRICS_BUCKETS && (double)ms > jq_metrics_bucket_le_ms[i])
        i++;
    add(&h->bucket[i], 1);
    add(&h->count, 1);
    add(&h->sum_ms, (uint64_t)ms);
}

void jq_metrics_attempt_ended(struct jq_metrics *m, const struct jq_job_result *res, bool job_final)
{
    if (!job_final)
        add(&m->retries, 1);
    else if ((unsigned)res->state < JQ_STATE_COUNT)
        add(&m->jobs_finished[res->state], 1);
    unsigned reason = jq_kill_reason_is_limit(res->kill_reason) ? JQ_KILL_LIMIT_CPU : (unsigned)res->kill_reason;
    if (reason != JQ_KILL_NONE && reason < JQ_METRICS_KILL_REASONS)
        add(&m->kills[reason], 1);
    if (res->started_at_ms > 0)
        jq_metrics_observe(&m->run_time, res->duration_ms);
}

unsigned jq_metrics_status_index(unsigned status)
{
    for (unsigned i = 1; i < JQ_METRICS_STATUSES; i++)
        if (jq_metrics_status_codes[i] == status)
            return i;
    return 0;
}

void jq_metrics_http(struct jq_metrics *m, unsigned route, unsigned status)
{
    if (route >= JQ_METRICS_ROUTES)
        route = JQ_METRICS_ROUTES - 1;
    add(&m->http_requests[route][jq_metrics_status_index(status)], 1);
}
