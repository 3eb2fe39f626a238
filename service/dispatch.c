/* dispatch.c: queued jobs -> idle worker slots, through a short list of
 * jobs claimed ahead (the ready list).
 *
 * DESIGN: a claim is a durable transaction, so while short jobs keep the
 * pool busy the master claims ahead: up to one job per worker beyond those
 * running is kept claimed (running in the store, in no slot yet) in the
 * ready list. A worker that finishes gets its next task from that list at
 * once (the collector posts it before it even commits the result, see
 * collect.c), and the list is refilled in the collector's completion
 * transaction (jq_store_complete_claim): under load a job costs no commit of
 * its own to claim. The collector claims ahead only after jobs that ran
 * less than JQ_CLAIM_AHEAD_MAX_RUN_MS (for longer jobs a commit is small
 * change, and a job claimed ahead shows `running` before it starts); else,
 * and on the main thread (new work for idle workers), a claim takes just
 * as many jobs as there are idle workers. New submissions are stored
 * through jq_dispatch_store_jobs, whose transaction also claims jobs for
 * the idle workers: a job submitted to an idle pool is stored and claimed
 * with one commit.
 * Every claim and every change of the list happens under the pool lock, so
 * a cancel always finds a running job either in a slot or in the list.
 * Crash: a job in the list is running in the store; like a job in a slot,
 * it is resolved by its on_lost policy after a restart. On shutdown the
 * list is handed back to the queue (jq_store_requeue: no attempt counted).
 * While the service stops, nothing new is posted or claimed. */
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "log.h"
#include "service.h"

int jq_dispatch_init(struct jq_service *svc)
{
    svc->ready_cap = svc->pool.n;
    svc->ready = calloc(svc->ready_cap, sizeof *svc->ready);
    return svc->ready ? 0 : JQ_ENOMEM;
}

void jq_dispatch_cleanup(struct jq_service *svc)
{
    for (size_t i = 0; i < svc->n_ready; i++)
        jq_job_cleanup(&svc->ready[i]);
    free(svc->ready);
    svc->ready = NULL;
    svc->n_ready = 0;
}

static bool dispatching(struct jq_service *svc)
{
    return atomic_load(&svc->accepting);
}

/* A job that cannot be posted (spec too big for a slot) fails at once. */
static void fail_unpostable(struct jq_service *svc, const struct jq_job *job, int rc)
{
    struct jq_job_result res;
    jq_job_result_init(&res);
    res.state = JQ_STATE_FAILED;
    res.error = (char *)"could not hand the job to a worker";
    struct jq_completion c = {job->id, &res};
    jq_log_job(JQ_LOG_ERR, job->id, "posting to the channel failed (%s)", jq_err_name(rc));
    if (jq_store_complete(svc->store, &c, 1) == 0)
        jq_api_job_finished(svc->api, job->id);
}

/* Take the head of the ready list into *job (the caller cleans it up). */
static void pop_ready_locked(struct jq_service *svc, struct jq_job *job)
{
    *job = svc->ready[0];
    memmove(svc->ready, svc->ready + 1, (svc->n_ready - 1) * sizeof *svc->ready);
    svc->n_ready--;
}

static void post_one_locked(struct jq_service *svc, unsigned slot)
{
    struct jq_pool *pool = &svc->pool;
    struct jq_job job;
    pop_ready_locked(svc, &job);
    int rc = jq_chan_post(pool->chan, slot, job.id, &job.spec);
    if (rc != 0) {
        fail_unpostable(svc, &job, rc);
    } else {
        pool->workers[slot].job_id = job.id;
        pool->workers[slot].posted++;
        jq_watchdog_arm_locked(svc, slot, &job.spec);
        jq_log_job(JQ_LOG_DEBUG, job.id, "dispatched to worker %u", slot);
        jq_metrics_observe(&svc->metrics.queue_wait, jq_now_ms() - job.created_at_ms);
    }
    jq_job_cleanup(&job);
}

size_t jq_dispatch_post_ready_locked(struct jq_service *svc)
{
    size_t posted = 0;
    for (unsigned i = 0; i < svc->pool.n && svc->n_ready > 0 && dispatching(svc); i++) {
        if (!jq_pool_slot_takes_job_locked(&svc->pool, i))
            continue;
        post_one_locked(svc, i);
        posted++;
    }
    return posted;
}

static size_t idle_slots_locked(const struct jq_pool *pool)
{
    size_t n = 0;
    for (unsigned i = 0; i < pool->n; i++)
        n += jq_pool_slot_takes_job_locked(pool, i);
    return n;
}

size_t jq_dispatch_room_locked(struct jq_service *svc, bool ahead)
{
    size_t want = ahead ? svc->ready_cap : idle_slots_locked(&svc->pool);
    return dispatching(svc) && want > svc->n_ready ? want - svc->n_ready : 0;
}

struct jq_job *jq_dispatch_tail_locked(struct jq_service *svc)
{
    return svc->ready + svc->n_ready;
}

void jq_dispatch_add_claimed_locked(struct jq_service *svc, size_t n)
{
    svc->n_ready += n;
    jq_api_jobs_claimed(svc->api, n); /* they left the queue: --max-queued */
}

/* One round: fill idle slots from the list, claiming when it ran dry.
 * Returns the number posted. */
static size_t dispatch_round(struct jq_service *svc)
{
    struct jq_pool *pool = &svc->pool;
    size_t n = 0, room;
    pthread_mutex_lock(&pool->mu);
    size_t posted = jq_dispatch_post_ready_locked(svc);
    if ((room = jq_dispatch_room_locked(svc, false)) > 0 &&
        jq_store_claim(svc->store, room, jq_dispatch_tail_locked(svc), &n) == 0 && n > 0) {
        JQ_FAULT("dispatch.after_claim");
        jq_dispatch_add_claimed_locked(svc, n);
        posted += jq_dispatch_post_ready_locked(svc);
    }
    pthread_mutex_unlock(&pool->mu);
    return posted;
}

void jq_dispatch(struct jq_service *svc)
{
    while (!svc->stopping && dispatch_round(svc) > 0)
        ;
}

/* A job with a time of its own (run_at, start_by): the main loop must
 * look at its timers again (timers.c). */
static bool any_timed(const struct jq_enqueue_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; reqs[i].err == 0 && k < reqs[i].n; k++)
            if (reqs[i].specs[k].run_at_ms > 0 || reqs[i].specs[k].start_by_ms > 0)
                return true;
    return false;
}

int jq_dispatch_store_jobs(void *ctx, struct jq_enqueue_req *reqs, size_t n)
{
    struct jq_service *svc = ctx;
    size_t claimed = 0;
    pthread_mutex_lock(&svc->pool.mu);
    int err = jq_store_enqueue_group_claim(svc->store, reqs, n, jq_dispatch_room_locked(svc, false),
                                           jq_dispatch_tail_locked(svc), &claimed);
    if (claimed > 0) {
        JQ_FAULT("dispatch.after_claim");
        jq_dispatch_add_claimed_locked(svc, claimed);
        jq_dispatch_post_ready_locked(svc);
    }
    pthread_mutex_unlock(&svc->pool.mu);
    if (err == 0 && any_timed(reqs, n))
        jq_service_wake(svc);
    return err;
}

bool jq_dispatch_unready_locked(struct jq_service *svc, int64_t id)
{
    for (size_t i = 0; i < svc->n_ready; i++) {
        if (svc->ready[i].id != id)
            continue;
        if (jq_store_requeue(svc->store, id) != 0)
            jq_log_job(JQ_LOG_ERR, id, "could not put a job claimed ahead back in the queue");
        jq_job_cleanup(&svc->ready[i]);
        memmove(svc->ready + i, svc->ready + i + 1, (svc->n_ready - i - 1) * sizeof *svc->ready);
        svc->n_ready--;
        return true;
    }
    return false;
}

void jq_dispatch_requeue_ready(struct jq_service *svc)
{
    pthread_mutex_lock(&svc->pool.mu);
    while (svc->n_ready > 0)
        (void)jq_dispatch_unready_locked(svc, svc->ready[0].id);
    pthread_mutex_unlock(&svc->pool.mu);
}
