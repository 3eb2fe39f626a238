/* queue_limit.c: back-pressure for POST /v1/jobs (--max-queued). A
 * submission is admitted only while the jobs waiting to run (queued,
 * retry_wait, any state that is neither running nor final) plus its own
 * jobs stay within the limit; otherwise 429 with a Retry-After estimate.
 *
 * DESIGN: no COUNT per request. The estimate is the pending count of the
 * last recount (jq_store_count), plus every job admitted since, minus every
 * job claimed by the dispatcher (jq_api_jobs_claimed) or cancelled while
 * queued since. A submission that fits it is admitted with two atomic
 * operations. Only one that does not fit counts the store again — at most
 * once per JQ_QUEUE_RECOUNT_MS, under a mutex, so a flood of refused
 * submissions costs at most ten counts a second — and is judged on the
 * fresh number. The recount's snapshots are taken so that any race leaves
 * the estimate high, never low. What the estimate does not see until the
 * next recount: a retry moving a running job back to the queue (at most one
 * per running job) and jobs leaving the queue by other means (it then errs
 * high). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_int.h"

/* The slow path counts the store at most this often; in between it trusts
 * the last count (plus what it admitted since). */
#define JQ_QUEUE_RECOUNT_MS 100
/* Retry-After stays within these bounds (seconds). */
#define JQ_RETRY_AFTER_MIN_S 1
#define JQ_RETRY_AFTER_MAX_S 3600

struct jq_queue_limit {
    uint64_t max_pending;             /* --max-queued; 0 = no limit */
    pthread_mutex_t mu;               /* one recount at a time */
    atomic_int_fast64_t base_pending; /* pending at the last recount */
    atomic_int_fast64_t since;        /* jobs admitted since that recount */
    atomic_int_fast64_t left;         /* jobs claimed or cancelled since */
    int64_t counted_at_ms;            /* monotonic; under mu */
};

static int64_t pending_of(const struct jq_store_counts *c)
{
    int64_t n = 0;
    for (unsigned s = 0; s < JQ_STATE_COUNT; s++)
        if (s != JQ_STATE_RUNNING && !jq_state_is_terminal((enum jq_job_state)s))
            n += c->by_state[s];
    return n;
}

/* Under mu: count the store again (unless counted very recently). */
static void recount_locked(struct jq_queue_limit *ql, struct jq_store *st)
{
    int64_t now = jq_mono_ms();
    if (ql->counted_at_ms && now - ql->counted_at_ms < JQ_QUEUE_RECOUNT_MS)
        return;
    /* Admissions seen before the count and departures seen after it are
     * both in the count: forgetting them can only leave the estimate high. */
    int64_t admitted = atomic_load(&ql->since);
    struct jq_store_counts counts;
    if (jq_store_count(st, &counts) != 0)
        return; /* keep the old estimate */
    int64_t departed = atomic_load(&ql->left);
    atomic_store(&ql->base_pending, pending_of(&counts));
    atomic_fetch_sub(&ql->since, admitted);
    atomic_fetch_sub(&ql->left, departed);
    ql->counted_at_ms = now;
}

int jq_queue_limit_create(struct jq_queue_limit **out, uint64_t max_pending, struct jq_store *st)
{
    struct jq_queue_limit *ql = calloc(1, sizeof *ql);
    if (!ql)
        return JQ_ENOMEM;
    ql->max_pending = max_pending;
    pthread_mutex_init(&ql->mu, NULL);
    if (max_pending) {
        recount_locked(ql, st);
        ql->counted_at_ms = 0; /* the first refusal may count again at once */
    }
    *out = ql;
    return 0;
}

void jq_queue_limit_destroy(struct jq_queue_limit *ql)
{
    if (!ql)
        return;
    pthread_mutex_destroy(&ql->mu);
    free(ql);
}

static int64_t estimate(const struct jq_queue_limit *ql)
{
    return atomic_load(&ql->base_pending) + atomic_load(&ql->since) - atomic_load(&ql->left);
}

static bool fits(const struct jq_queue_limit *ql, uint64_t n, int64_t *excess)
{
    *excess = estimate(ql) + (int64_t)n - (int64_t)ql->max_pending;
    return *excess <= 0;
}

bool jq_queue_limit_admit(struct jq_queue_limit *ql, struct jq_store *st, uint64_t n, int64_t *excess_out)
{
    *excess_out = 0;
    if (!ql->max_pending)
        return true;
    atomic_fetch_add(&ql->since, (int64_t)n);
    if (estimate(ql) <= (int64_t)ql->max_pending)
        return true; /* the fast path */
    atomic_fetch_sub(&ql->since, (int64_t)n);
    pthread_mutex_lock(&ql->mu);
    recount_locked(ql, st);
    bool ok = fits(ql, n, excess_out);
    if (ok)
        atomic_fetch_add(&ql->since, (int64_t)n);
    pthread_mutex_unlock(&ql->mu);
    return ok;
}

void jq_queue_limit_left(struct jq_queue_limit *ql, uint64_t n)
{
    if (ql && ql->max_pending)
        atomic_fetch_add(&ql->left, (int64_t)n);
}

static int64_t retry_after_s(int64_t excess, const struct jq_metrics *m, unsigned workers)
{
    uint64_t runs = atomic_load_explicit(&m->run_time.count, memory_order_relaxed);
    uint64_t sum_ms = atomic_load_explicit(&m->run_time.sum_ms, memory_order_relaxed);
    double mean_ms = runs ? (double)sum_ms / (double)runs : 1000.0;
    if (mean_ms < 1)
        mean_ms = 1;
    /* excess jobs must start before this one fits; workers start one each
     * per mean run time. */
    double s = (double)excess * mean_ms / (double)(workers ? workers : 1) / 1000.0;
    int64_t secs = (int64_t)s + (s > (double)(int64_t)s);
    return secs < JQ_RETRY_AFTER_MIN_S ? JQ_RETRY_AFTER_MIN_S : secs > JQ_RETRY_AFTER_MAX_S ? JQ_RETRY_AFTER_MAX_S : secs;
}

enum MHD_Result jq_reply_queue_full(struct jq_request *req, int64_t excess)
{
    struct jq_api *api = req->api;
    struct jq_pool_stats ps = {0, 0, 0};
    if (api->hooks.pool_stats)
        api->hooks.pool_stats(api->hooks.ctx, &ps);
    char msg[160], secs[24];
    snprintf(msg, sizeof msg, "the queue is full: at most %llu jobs may wait to run (--max-queued); try again later",
             (unsigned long long)api->queue_limit->max_pending);
    snprintf(secs, sizeof secs, "%lld",
             (long long)retry_after_s(excess, api->metrics, ps.workers_alive));
    struct MHD_Response *resp = jq_error_response("queue_full", msg);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    return jq_reply_response(req, MHD_HTTP_TOO_MANY_REQUESTS, resp);
}
