/* timers.c: everything the master does at a time rather than on an event —
 * retry_wait and scheduled jobs that fall due, jobs that pass their
 * start_by — and how long the main loop may sleep until the next of them.
 *
 * DESIGN: each kind of timer lives in the database as an indexed due time;
 * after each wake-up the loop asks the store for what is due and for the
 * earliest time still pending, and sleeps in poll() until then. Nothing
 * polls at a fixed rate: with nothing pending the loop sleeps until an
 * event. */
#include <stdint.h>

#include "log.h"
#include "service.h"

/* Jobs expired per transaction: small enough that a big backlog of
 * deadlines never holds the write lock for long. */
#define EXPIRE_BATCH 256
/* When the store fails (logged), look again after this long. */
#define RETRY_AFTER_FAILURE_MS 1000

/* The earlier of two due times, 0 meaning none. */
static int64_t earliest(int64_t a, int64_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

/* Expire overdue jobs, answer their long-poll waiters. Returns the next
 * start_by still pending (0 = none), or -1 when the store failed. */
static int64_t expire_overdue(struct jq_service *svc, int64_t now)
{
    int64_t ids[EXPIRE_BATCH], next = 0;
    size_t n = EXPIRE_BATCH;
    while (n == EXPIRE_BATCH) {
        if (jq_store_expire_due(svc->store, now, ids, EXPIRE_BATCH, &n, &next) != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            jq_log_job(JQ_LOG_INFO, ids[i], "expired: not started by its start_by");
            atomic_fetch_add_explicit(&svc->metrics.jobs_finished[JQ_STATE_EXPIRED], 1, memory_order_relaxed);
            jq_api_job_finished(svc->api, ids[i]);
        }
    }
    return next;
}

int jq_timers_run(struct jq_service *svc)
{
    int64_t now = jq_now_ms(), next_run = 0;
    if (jq_store_promote_due(svc->store, now, &next_run) != 0)
        return RETRY_AFTER_FAILURE_MS;
    int64_t next_expire = expire_overdue(svc, now);
    if (next_expire < 0)
        return RETRY_AFTER_FAILURE_MS;
    int64_t next = earliest(next_run, next_expire);
    if (next == 0)
        return -1;
    int64_t wait = next - jq_now_ms();
    return wait < 1 ? 1 : wait > INT32_MAX ? INT32_MAX : (int)wait;
}
