/* timers.c: everything the master does at a time rather than on an event —
 * retry_wait and scheduled jobs that fall due, jobs that pass their
 * start_by, finished jobs past their retention, schedules whose tick has
 * come (schedules.c), results the store refused to be recorded again
 * (unrecorded.c), workers whose job overran its deadline (watchdog.c) — and
 * how long the main loop may sleep until the next
 * of them.
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

/* Purges run at most this often: each ends with a WAL checkpoint, so they
 * are gathered rather than run for every job that crosses the line. A
 * tenth of the retention, between 100 ms and a minute. */
static int64_t purge_interval_ms(int64_t retention_ms)
{
    int64_t tenth = retention_ms / 10;
    return tenth < 100 ? 100 : tenth > 60000 ? 60000 : tenth;
}

/* Purge what finished more than the retention ago, a bounded number of
 * batches per run. Returns when to purge next (0 = nothing finished), or -1
 * when the store failed. */
static int64_t purge_old(struct jq_service *svc, int64_t now)
{
    int64_t retention = svc->cfg.retention_ms, oldest = 0, ids[JQ_PURGE_BATCH_JOBS];
    size_t n = JQ_PURGE_BATCH_JOBS, total = 0;
    if (retention == 0)
        return 0;
    if (now < svc->next_purge_ms)
        return svc->next_purge_ms;
    for (int b = 0; b < JQ_PURGE_BATCHES_PER_RUN && n == JQ_PURGE_BATCH_JOBS; b++) {
        if (jq_store_purge_finished(svc->store, now - retention, ids, JQ_PURGE_BATCH_JOBS, &n, &oldest) != 0)
            return -1;
        total += n;
    }
    if (total > 0) {
        jq_log(JQ_LOG_INFO, "retention: purged %zu finished job(s)", total);
        if (jq_store_maintain(svc->store) != 0)
            return -1;
    }
    svc->next_purge_ms = now + purge_interval_ms(retention);
    if (n == JQ_PURGE_BATCH_JOBS) /* more to purge: after the next dispatch */
        return svc->next_purge_ms = now;
    if (oldest == 0)
        return 0;
    return oldest + retention > svc->next_purge_ms ? oldest + retention : svc->next_purge_ms;
}

void jq_service_poke_callbacks(struct jq_service *svc)
{
    int64_t next = 0, now = jq_now_ms();
    size_t n = 0;
    /* Any pending callback, due now or later, needs the sender: once
     * running, it keeps its own retry timer. */
    if (jq_callbacks_running(svc->callbacks) ||
        (jq_store_callbacks_due(svc->store, now, 0, 0, NULL, &n, &next) == 0 && next != 0))
        jq_callbacks_wake(svc->callbacks);
}

int jq_timers_run(struct jq_service *svc)
{
    int64_t now = jq_now_ms(), next_run = 0;
    int64_t next_check = earliest(jq_unrecorded_retry(svc, now, false), jq_watchdog_run(svc, now));
    jq_service_poke_callbacks(svc);
    if (jq_store_promote_due(svc->store, now, &next_run) != 0)
        return RETRY_AFTER_FAILURE_MS;
    int64_t next_tick = jq_schedules_run(svc, now);
    int64_t next_expire = next_tick < 0 ? -1 : expire_overdue(svc, now);
    int64_t next_purge = next_expire < 0 ? -1 : purge_old(svc, now);
    if (next_tick < 0 || next_expire < 0 || next_purge < 0)
        return RETRY_AFTER_FAILURE_MS;
    int64_t next = earliest(earliest(earliest(next_run, next_expire), earliest(next_purge, next_tick)), next_check);
    if (next == 0)
        return -1;
    int64_t wait = next - jq_now_ms();
    return wait < 1 ? 1 : wait > INT32_MAX ? INT32_MAX : (int)wait;
}
