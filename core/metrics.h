/* metrics.h: the master's counters and histograms — lock-free atomics that
 * any thread bumps (HTTP threads, the collector, the main loop) and the API
 * reads for GET /metrics and GET /v1/stats. One struct, owned by the
 * service and passed by pointer; nothing global. */
#ifndef JQ_METRICS_H
#define JQ_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "job.h"

/* Histogram bucket upper bounds in ms (le); a +Inf bucket follows. */
#define JQ_METRICS_BUCKETS 12
extern const double jq_metrics_bucket_le_ms[JQ_METRICS_BUCKETS];

struct jq_histogram {
    atomic_uint_fast64_t bucket[JQ_METRICS_BUCKETS + 1]; /* not cumulative; last = +Inf */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_ms;
};

/* HTTP statuses counted one by one; others fall into "other". */
#define JQ_METRICS_STATUSES 18
extern const unsigned jq_metrics_status_codes[JQ_METRICS_STATUSES]; /* 0 = other */
/* Routes as api/route.h numbers them (+1 for "none"). */
#define JQ_METRICS_ROUTES 21

/* Kill reasons as enum jq_kill_reason numbers them, every LIMIT_* counted
 * as one reason, "limit" (JQ_KILL_LIMIT_CPU's index). */
#define JQ_METRICS_KILL_REASONS 5

struct jq_metrics {
    atomic_uint_fast64_t jobs_submitted;
    atomic_uint_fast64_t submit_commits; /* group commits of submissions (one sync each) */
    atomic_uint_fast64_t jobs_finished[JQ_STATE_COUNT];
    atomic_uint_fast64_t retries; /* attempts that ended and led to another */
    atomic_uint_fast64_t results_unrecorded; /* gauge: results kept because the store refused them */
    atomic_uint_fast64_t kills[JQ_METRICS_KILL_REASONS];
    atomic_uint_fast64_t http_requests[JQ_METRICS_ROUTES][JQ_METRICS_STATUSES];
    struct jq_histogram queue_wait;
    struct jq_histogram run_time;
};

void jq_metrics_init(struct jq_metrics *m);
void jq_metrics_observe(struct jq_histogram *h, int64_t ms);
/* An attempt ended with this result: kills and run time count every
 * attempt; job_final says whether the job ended with it (counted by state)
 * or another attempt follows (counted as a retry). */
void jq_metrics_attempt_ended(struct jq_metrics *m, const struct jq_job_result *res, bool job_final);
/* route: api/route.h's kind; status: the HTTP status sent. */
void jq_metrics_http(struct jq_metrics *m, unsigned route, unsigned status);
/* Index of status in jq_metrics_status_codes (0 = other). */
unsigned jq_metrics_status_index(unsigned status);

#endif
