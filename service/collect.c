/* collect.c: results from the channel into the store. A collector thread
 * sleeps on the channel's "result ready" semaphore; each wake-up collects
 * every DONE slot in one transaction (batch completion), answers the
 * long-poll waiters, frees the slots and wakes the dispatcher. The reaper
 * calls jq_collect_all() too, so a result written by a worker that died
 * before posting the semaphore is never lost. Whether a finished or lost
 * attempt is retried is the store's decision (jq_store_complete applies the
 * job's retry policy); a task no worker took is handed back as a requeue. */
#include <signal.h>
#include <stdlib.h>

#include "log.h"
#include "service.h"

/* Views point into the channel until the slots are released. */
struct batch {
    unsigned *slots;
    struct jq_job_result *views;
    struct jq_completion *done;
    size_t n;
};

static int batch_init(struct batch *b, unsigned n)
{
    b->slots = calloc(n, sizeof(*b->slots));
    b->views = calloc(n, sizeof(*b->views));
    b->done = calloc(n, sizeof(*b->done));
    b->n = 0;
    return (b->slots && b->views && b->done) ? 0 : JQ_ENOMEM;
}

static void batch_cleanup(struct batch *b)
{
    free(b->slots);
    free(b->views);
    free(b->done);
}

static void gather(struct jq_service *svc, struct batch *b)
{
    b->n = 0;
    for (unsigned i = 0; i < svc->pool.n; i++) {
        int64_t id;
        jq_job_result_init(&b->views[b->n]);
        if (jq_chan_peek_result(svc->pool.chan, i, &id, &b->views[b->n]) != 0)
            continue;
        b->slots[b->n] = i;
        b->done[b->n].id = id;
        b->done[b->n].result = &b->views[b->n];
        b->n++;
    }
}

static void release(struct jq_service *svc, const struct batch *b)
{
    pthread_mutex_lock(&svc->pool.mu);
    for (size_t i = 0; i < b->n; i++) {
        jq_chan_release(svc->pool.chan, b->slots[i]);
        svc->pool.workers[b->slots[i]].job_id = 0;
    }
    pthread_mutex_unlock(&svc->pool.mu);
}

/* Count an attempt that has been recorded: did its job end with it, or is
 * another attempt coming (the store applied the job's retry policy)? */
static void count_attempt(struct jq_service *svc, int64_t id, const struct jq_job_result *res)
{
    enum jq_job_state now = res->state;
    bool final = res->state == JQ_STATE_SUCCEEDED || res->state == JQ_STATE_CANCELLED;
    if (!final && jq_store_get_state(svc->store, id, &now) != 0)
        now = res->state; /* unknown: count it as it ended */
    jq_metrics_attempt_ended(&svc->metrics, res, jq_state_is_terminal(now));
}

/* Caller holds collect_mu. */
static void collect_batch_locked(struct jq_service *svc, struct batch *b)
{
    gather(svc, b);
    if (b->n > 0) {
        int rc = jq_store_complete(svc->store, b->done, b->n);
        if (rc)
            jq_log(JQ_LOG_ERR, "recording %zu results failed (%s); they stay running until restart", b->n,
                   jq_err_name(rc));
        release(svc, b);
        for (size_t i = 0; i < b->n; i++) {
            jq_log_job(JQ_LOG_DEBUG, b->done[i].id, "finished: %s", jq_state_name(b->views[i].state));
            count_attempt(svc, b->done[i].id, &b->views[i]);
            jq_api_job_finished(svc->api, b->done[i].id);
        }
        jq_service_wake(svc);
    }
}

static void collect_batch(struct jq_service *svc, struct batch *b)
{
    pthread_mutex_lock(&svc->collect_mu);
    collect_batch_locked(svc, b);
    pthread_mutex_unlock(&svc->collect_mu);
}

void jq_collect_all(struct jq_service *svc)
{
    struct batch b;
    if (batch_init(&b, svc->pool.n) == 0)
        collect_batch(svc, &b);
    else
        jq_log(JQ_LOG_ERR, "out of memory while collecting results");
    batch_cleanup(&b);
}

static void *collector_main(void *arg)
{
    struct jq_service *svc = arg;
    struct batch b;
    if (batch_init(&b, svc->pool.n) != 0) {
        jq_log(JQ_LOG_ERR, "collector: out of memory");
        batch_cleanup(&b);
        return NULL;
    }
    while (!atomic_load(&svc->collector_stop)) {
        jq_chan_wait_result(svc->pool.chan);
        collect_batch(svc, &b);
    }
    batch_cleanup(&b);
    return NULL;
}

int jq_collect_start(struct jq_service *svc)
{
    atomic_store(&svc->collector_stop, false);
    if (pthread_create(&svc->collector, NULL, collector_main, svc) != 0)
        return JQ_ESYS;
    svc->collector_started = true;
    return 0;
}

void jq_collect_stop(struct jq_service *svc)
{
    if (!svc->collector_started)
        return;
    atomic_store(&svc->collector_stop, true);
    jq_chan_wake_collector(svc->pool.chan);
    pthread_join(svc->collector, NULL);
    svc->collector_started = false;
}

/* Record the job of slot as lost. Caller holds collect_mu and pool mu.
 * Returns the job id (0 if the slot was idle). */
static int64_t mark_lost_locked(struct jq_service *svc, unsigned slot, enum jq_kill_reason reason)
{
    struct jq_pool *pool = &svc->pool;
    int64_t id = pool->workers[slot].job_id;
    pid_t pgid = jq_chan_slot_job_pgid(pool->chan, slot);
    if (id != 0) {
        if (pgid > 0)
            kill(-pgid, SIGKILL);
        struct jq_job_result res;
        jq_job_result_init(&res);
        res.state = JQ_STATE_LOST;
        res.kill_reason = reason;
        res.finished_at_ms = jq_now_ms();
        res.worker_pid = jq_chan_slot_worker(pool->chan, slot);
        res.error = (char *)(reason == JQ_KILL_SHUTDOWN ? "the service stopped while the job ran"
                                                        : "the worker running the job died");
        /* A task still in state TASK never reached the worker: it did not
         * run, so it goes back to the queue and no attempt is counted. */
        bool never_taken = jq_chan_slot_state(pool->chan, slot) == JQ_SLOT_TASK;
        struct jq_completion c = {id, &res};
        if ((never_taken ? jq_store_requeue(svc->store, id) : jq_store_complete(svc->store, &c, 1)) != 0)
            jq_log_job(JQ_LOG_ERR, id, "could not record the job as lost");
        if (never_taken) {
            jq_log_job(JQ_LOG_INFO, id, "the worker never took the job: queued again");
        } else {
            jq_log_job(JQ_LOG_WARN, id, "job lost: %s (resolved by its on_lost policy)", res.error);
            count_attempt(svc, id, &res);
        }
        jq_chan_release(pool->chan, slot);
        pool->workers[slot].job_id = 0;
    }
    return id;
}

void jq_collect_lost(struct jq_service *svc, unsigned slot, enum jq_kill_reason reason)
{
    struct batch b;
    pthread_mutex_lock(&svc->collect_mu);
    if (batch_init(&b, svc->pool.n) == 0)
        collect_batch_locked(svc, &b); /* a result written before the death wins */
    batch_cleanup(&b);
    pthread_mutex_lock(&svc->pool.mu);
    int64_t id = mark_lost_locked(svc, slot, reason);
    pthread_mutex_unlock(&svc->pool.mu);
    pthread_mutex_unlock(&svc->collect_mu);
    if (id != 0) {
        jq_api_job_finished(svc->api, id);
        jq_service_wake(svc); /* requeued or retried: dispatch, or look at run_at again */
    }
}
