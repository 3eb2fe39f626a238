/* watchdog.c: a worker that stops answering never holds its slot. A
 * worker enforces its job's timeout itself; if the worker is stopped
 * (SIGSTOP, a debugger), stuck in the kernel or broken, nothing would end
 * the job. The master knows when each job was posted and its timeout and
 * kill grace: a slot whose job is still not collected WATCHDOG_SLACK_MS after
 * all of that has its worker SIGKILLed; the usual worker-death path then
 * resolves the job by its on_lost policy, kills its process tree and starts
 * a replacement (service.c). Checked from the timer loop, which wakes at
 * least every WATCHDOG_SLACK_MS while a job is posted. */
#include <signal.h>

#include "log.h"
#include "service.h"

#define WATCHDOG_SLACK_MS 5000

void jq_watchdog_arm_locked(struct jq_service *svc, unsigned slot, const struct jq_job_spec *spec)
{
    svc->pool.workers[slot].overdue_at_ms = jq_now_ms() + spec->timeout_ms + spec->kill_grace_ms + WATCHDOG_SLACK_MS;
}

/* Kill the worker of slot if its job is overdue. Caller holds pool mu. */
static void check_slot_locked(struct jq_pool_worker *w, unsigned slot, int64_t now)
{
    if (w->job_id == 0 || w->pid <= 0 || w->overdue_at_ms == 0 || now < w->overdue_at_ms)
        return;
    jq_log_job(JQ_LOG_ERR, w->job_id, "worker %u (pid %d) has not ended the job %lld ms after its timeout and kill "
               "grace: killing the worker", slot, (int)w->pid, (long long)(now - w->overdue_at_ms + WATCHDOG_SLACK_MS));
    kill(w->pid, SIGKILL);
    w->overdue_at_ms = 0; /* once: its death is reaped as any worker's */
}

int64_t jq_watchdog_run(struct jq_service *svc, int64_t now)
{
    int64_t next = 0;
    pthread_mutex_lock(&svc->pool.mu);
    for (unsigned i = 0; i < svc->pool.n; i++) {
        struct jq_pool_worker *w = &svc->pool.workers[i];
        check_slot_locked(w, i, now);
        if (w->job_id == 0)
            continue;
        /* A job posted after this look is armed at least the slack ahead. */
        int64_t due = w->overdue_at_ms != 0 && w->overdue_at_ms < now + WATCHDOG_SLACK_MS ? w->overdue_at_ms
                                                                                        : now + WATCHDOG_SLACK_MS;
        next = next == 0 || due < next ? due : next;
    }
    pthread_mutex_unlock(&svc->pool.mu);
    return next;
}
