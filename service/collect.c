/* collect.c: results from the channel into the store. A collector thread
 * sleeps on the channel's "result ready" semaphore; each wake-up collects
 * every DONE slot: small results are copied out and their slots get their
 * workers' next jobs from the ready list (dispatch.c) at once; then one
 * transaction records every result and claims the next jobs ahead (batch
 * completion + claim); then the long-poll waiters are answered and, if a
 * worker is left without a job or a result may be retried, the main loop
 * woken. The reaper calls jq_collect_all() too, so a result written by a
 * worker that died before posting the semaphore is never lost. Whether a finished or lost
 * attempt is retried is the store's decision (jq_store_complete applies the
 * job's retry policy); a task no worker took is handed back as a requeue. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "callbacks.h"
#include "log.h"
#include "service.h"

/* A result whose output is at most this big is copied out of its slot, so
 * the slot takes its worker's next task before the result is committed (the
 * worker does not wait for the sync); a bigger one is stored straight from
 * the slot (no copy), which is freed after the commit. */
#define JQ_COLLECT_COPY_MAX_BYTES (64 * 1024)

/* Claim ahead (dispatch.c) only after jobs shorter than this: for them a
 * commit per claim is a large part of the cost. */
#define JQ_CLAIM_AHEAD_MAX_RUN_MS 100

/* Views point into the channel until their slots are released, or into
 * owned[i] for a copied result. */
struct batch {
    unsigned *slots;
    struct jq_job_result *views;
    struct jq_completion *done;
    char **owned;  /* the copy of result i (output and error), or NULL */
    size_t n;
};

static int batch_init(struct batch *b, unsigned n)
{
    b->slots = calloc(n, sizeof(*b->slots));
    b->views = calloc(n, sizeof(*b->views));
    b->done = calloc(n, sizeof(*b->done));
    b->owned = calloc(n, sizeof(*b->owned));
    b->n = 0;
    return (b->slots && b->views && b->done && b->owned) ? 0 : JQ_ENOMEM;
}

static void batch_cleanup(struct batch *b)
{
    free(b->slots);
    free(b->views);
    free(b->done);
    free(b->owned);
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
        b->owned[b->n] = NULL;
        b->n++;
    }
}

/* Copy len bytes to *at (if any) and advance it; the new address. */
static char *put(char **at, const char *data, size_t len)
{
    char *start = *at;
    if (len > 0)
        memcpy(start, data, len);
    start[len] = '\0';
    *at += len + 1;
    return start;
}

/* Move a small result's bytes out of its slot into one allocation. */
static void copy_out(struct jq_job_result *v, char **owned)
{
    size_t error_len = v->error ? strlen(v->error) : 0;
    if (v->out.len + v->err.len > JQ_COLLECT_COPY_MAX_BYTES)
        return;
    char *at = malloc(v->out.len + v->err.len + error_len + 3);
    if (!at)
        return; /* then it is stored from the slot */
    *owned = at;
    v->out.data = v->out.len ? put(&at, v->out.data, v->out.len) : NULL;
    v->err.data = v->err.len ? put(&at, v->err.data, v->err.len) : NULL;
    v->error = v->error ? put(&at, v->error, error_len) : NULL;
}

/* Free the slots of the results in state owned (copied) or not; caller
 * holds pool mu. */
static void release_locked(struct jq_service *svc, const struct batch *b, bool copied)
{
    for (size_t i = 0; i < b->n; i++) {
        if ((b->owned[i] != NULL) != copied)
            continue;
        jq_chan_release(svc->pool.chan, b->slots[i]);
        svc->pool.workers[b->slots[i]].job_id = 0;
    }
}

static bool short_jobs(const struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->views[i].duration_ms > JQ_CLAIM_AHEAD_MAX_RUN_MS)
            return false;
    return true;
}

/* Whether the main thread has work after this batch: a result that may be
 * retried (its retry_wait needs the main loop's timer), a slot freed only
 * after the commit (no claim was made for it), or a failed transaction. A
 * claim that took fewer jobs than it had room for found the queue empty;
 * later submissions are dispatched as they are stored. */
static bool main_loop_needed(const struct batch *b, int rc)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->views[i].state != JQ_STATE_SUCCEEDED || !b->owned[i])
            return true;
    return rc != 0;
}

/* Free what can be freed, give the freed workers their next jobs, then
 * record the results and refill the ready list in one transaction; results
 * it could not record are kept to be recorded again (unrecorded.c).
 * Returns 0 or the store's error. */
static int store_batch(struct jq_service *svc, struct batch *b)
{
    size_t claimed = 0;
    for (size_t i = 0; i < b->n; i++)
        copy_out(&b->views[i], &b->owned[i]);
    pthread_mutex_lock(&svc->pool.mu);
    release_locked(svc, b, true);
    jq_dispatch_post_ready_locked(svc);
    int rc = jq_store_complete_claim(svc->store, b->done, b->n, jq_dispatch_room_locked(svc, short_jobs(b)),
                                     jq_dispatch_tail_locked(svc), &claimed);
    if (rc) {
        jq_log(JQ_LOG_ERR, "recording %zu results failed (%s); kept to be recorded again", b->n, jq_err_name(rc));
        jq_unrecorded_keep(svc, b->done, b->n); /* before their slots are released */
    }
    jq_dispatch_add_claimed_locked(svc, claimed);
    release_locked(svc, b, false);
    jq_dispatch_post_ready_locked(svc);
    pthread_mutex_unlock(&svc->pool.mu);
    return rc;
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
    if (b->n == 0)
        return;
    int rc = store_batch(svc, b);
    for (size_t i = 0; i < b->n; i++) {
        if (rc == 0)
            jq_collect_recorded(svc, b->done[i].id, &b->views[i]);
        free(b->owned[i]);
        b->owned[i] = NULL;
    }
    jq_service_poke_callbacks(svc); /* a finished job's callback may be due */
    if (main_loop_needed(b, rc))
        jq_service_wake(svc); /* after a failure: its timers try the kept results again */
}

void jq_collect_recorded(struct jq_service *svc, int64_t id, const struct jq_job_result *res)
{
    jq_log_job(JQ_LOG_DEBUG, id, "finished: %s", jq_state_name(res->state));
    count_attempt(svc, id, res);
    jq_api_job_finished(svc->api, id);
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
        if (never_taken && jq_store_requeue(svc->store, id) != 0)
            jq_log_job(JQ_LOG_ERR, id, "could not queue the job again; it is resolved by on_lost at the next start");
        if (!never_taken && jq_store_complete(svc->store, &c, 1) != 0) {
            jq_log_job(JQ_LOG_ERR, id, "could not record the job as lost: kept to be recorded again");
            jq_unrecorded_keep(svc, &c, 1);
        }
        if (never_taken) {
            jq_log_job(JQ_LOG_INFO, id, "the worker never took the job: queued again");
        } else {
            jq_log_job(JQ_LOG_WARN, id, "job lost: %s (resolved by its on_lost policy)", res.error);
            count_attempt(svc, id, &res);
            jq_service_poke_callbacks(svc);
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
