/* dispatch.c: queued jobs -> idle worker slots. The claim (queued ->
 * running, durable) happens before the job is posted, under the pool lock,
 * so a cancel never sees a job that is running but in no slot. */
#include <stdlib.h>

#include "fault.h"
#include "log.h"
#include "service.h"

static unsigned idle_slots_locked(const struct jq_pool *pool, unsigned *idle)
{
    unsigned n = 0;
    for (unsigned i = 0; i < pool->n; i++)
        if (jq_pool_slot_takes_job_locked(pool, i))
            idle[n++] = i;
    return n;
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

/* One round: claim as many jobs as there are idle slots. Returns the number
 * claimed. */
static size_t dispatch_round(struct jq_service *svc, unsigned *idle, struct jq_job *jobs)
{
    struct jq_pool *pool = &svc->pool;
    size_t n = 0;
    pthread_mutex_lock(&pool->mu);
    unsigned nidle = idle_slots_locked(pool, idle);
    if (nidle > 0 && jq_store_claim(svc->store, nidle, jobs, &n) != 0)
        n = 0;
    if (n > 0) {
        JQ_FAULT("dispatch.after_claim");
        jq_api_jobs_claimed(svc->api, n);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = jq_chan_post(pool->chan, idle[i], jobs[i].id, &jobs[i].spec);
        if (rc != 0) {
            fail_unpostable(svc, &jobs[i], rc);
            continue;
        }
        pool->workers[idle[i]].job_id = jobs[i].id;
        pool->workers[idle[i]].posted++;
        jq_log_job(JQ_LOG_DEBUG, jobs[i].id, "dispatched to worker %u", idle[i]);
        jq_metrics_observe(&svc->metrics.queue_wait, jq_now_ms() - jobs[i].created_at_ms);
    }
    pthread_mutex_unlock(&pool->mu);
    for (size_t i = 0; i < n; i++)
        jq_job_cleanup(&jobs[i]);
    return n;
}

void jq_dispatch(struct jq_service *svc)
{
    unsigned *idle = calloc(svc->pool.n, sizeof(*idle));
    struct jq_job *jobs = calloc(svc->pool.n, sizeof(*jobs));
    if (!idle || !jobs) {
        jq_log(JQ_LOG_ERR, "out of memory in dispatch");
        goto out;
    }
    while (!svc->stopping && dispatch_round(svc, idle, jobs) > 0)
        ;
out:
    free(idle);
    free(jobs);
}
