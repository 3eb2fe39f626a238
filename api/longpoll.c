/* longpoll.c: requests parked until their job ends (GET ?wait=, DELETE of a
 * running job) without holding a thread each. A parked request's connection
 * is suspended in libmicrohttpd; it is resumed when the collector reports
 * the job finished or when its deadline passes, and MHD then calls the
 * handler again, which answers with the job as stored.
 *
 * No lost wake-up: park reads the job's state and suspends under the same
 * mutex that jq_longpoll_job_finished takes, and the collector calls that
 * only after the job's result is committed. Lock order: lp->mu, then the
 * store. One timer thread sleeps until the earliest deadline (no periodic
 * wake-ups). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "api_int.h"
#include "log.h"

struct jq_longpoll {
    struct jq_api *api;
    pthread_mutex_t mu;
    pthread_cond_t cond;  /* CLOCK_MONOTONIC; signalled on park and stop */
    pthread_t timer;
    bool timer_started;
    bool stop;            /* the timer thread must exit */
    bool closing;         /* the API is stopping: park nothing new */
    struct jq_request *head;
    int64_t timer_at_ms;  /* the deadline the timer sleeps until (INT64_MAX: none) */
    unsigned woken;       /* resumed requests not yet completed by MHD */
    pthread_cond_t drained; /* signalled when woken drops to 0 while closing */
};

/* How long jq_longpoll_resume_all waits for woken requests to be answered. */
#define JQ_LONGPOLL_DRAIN_MS 3000

static void unlink_locked(struct jq_longpoll *lp, struct jq_request *req)
{
    if (req->wait_prev)
        req->wait_prev->wait_next = req->wait_next;
    else
        lp->head = req->wait_next;
    if (req->wait_next)
        req->wait_next->wait_prev = req->wait_prev;
    req->wait_prev = req->wait_next = NULL;
}

static void resume_locked(struct jq_longpoll *lp, struct jq_request *req)
{
    unlink_locked(lp, req);
    req->wait_phase = JQ_WAIT_RESUMED;
    lp->woken++;
    MHD_resume_connection(req->conn);
}


/* Resume every expired waiter; the earliest deadline still pending, or
 * INT64_MAX. */
static int64_t expire_locked(struct jq_longpoll *lp)
{
    int64_t now = jq_mono_ms();
    int64_t earliest = INT64_MAX;
    struct jq_request *req = lp->head;
    while (req) {
        struct jq_request *next = req->wait_next;
        if (req->wait_deadline_ms <= now)
            resume_locked(lp, req);
        else if (req->wait_deadline_ms < earliest)
            earliest = req->wait_deadline_ms;
        req = next;
    }
    return earliest;
}

static int64_t expire(void *lp)
{
    return expire_locked(lp);
}

static void *timer_main(void *arg)
{
    struct jq_longpoll *lp = arg;
    jq_deadline_loop(&lp->mu, &lp->cond, &lp->stop, expire, lp);
    return NULL;
}

int jq_longpoll_create(struct jq_longpoll **out, struct jq_api *api)
{
    struct jq_longpoll *lp = calloc(1, sizeof *lp);
    if (!lp)
        return JQ_ENOMEM;
    lp->api = api;
    lp->timer_at_ms = INT64_MAX;
    pthread_mutex_init(&lp->mu, NULL);
    int err = jq_cond_init_monotonic(&lp->cond);
    if (err == 0)
        err = jq_cond_init_monotonic(&lp->drained);
    if (err == 0 && pthread_create(&lp->timer, NULL, timer_main, lp) != 0)
        err = JQ_ESYS;
    lp->timer_started = err == 0;
    if (err) {
        jq_longpoll_destroy(lp);
        return err;
    }
    *out = lp;
    return 0;
}

bool jq_longpoll_park(struct jq_longpoll *lp, struct jq_request *req, int64_t id, int64_t deadline_ms)
{
    enum jq_job_state state;
    pthread_mutex_lock(&lp->mu);
    bool park = !lp->closing && jq_store_get_state(lp->api->store, id, &state) == 0 &&
                !jq_state_is_terminal(state) && deadline_ms > jq_mono_ms();
    if (park) {
        req->wait_phase = JQ_WAIT_SUSPENDED;
        req->wait_job_id = id;
        req->wait_deadline_ms = deadline_ms;
        req->wait_prev = NULL;
        req->wait_next = lp->head;
        if (lp->head)
            lp->head->wait_prev = req;
        lp->head = req;
        MHD_suspend_connection(req->conn);
        if (deadline_ms < lp->timer_at_ms) /* else the timer wakes in time anyway */
            pthread_cond_signal(&lp->cond);
    }
    pthread_mutex_unlock(&lp->mu);
    return park;
}

void jq_longpoll_job_finished(struct jq_longpoll *lp, int64_t id)
{
    pthread_mutex_lock(&lp->mu);
    struct jq_request *req = lp->head;
    while (req) {
        struct jq_request *next = req->wait_next;
        if (req->wait_job_id == id)
            resume_locked(lp, req);
        req = next;
    }
    pthread_mutex_unlock(&lp->mu);
}

void jq_longpoll_resume_all(struct jq_longpoll *lp)
{
    pthread_mutex_lock(&lp->mu);
    lp->closing = true;
    while (lp->head)
        resume_locked(lp, lp->head);
    struct timespec until = jq_mono_timespec(jq_mono_ms() + JQ_LONGPOLL_DRAIN_MS);
    while (lp->woken > 0 && pthread_cond_timedwait(&lp->drained, &lp->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&lp->mu);
}

void jq_longpoll_forget(struct jq_longpoll *lp, struct jq_request *req)
{
    if (req->wait_phase == JQ_WAIT_NONE)
        return;
    pthread_mutex_lock(&lp->mu);
    if (req->wait_phase == JQ_WAIT_SUSPENDED) {
        jq_log_job(JQ_LOG_WARN, req->wait_job_id, "a parked request ended while suspended");
        unlink_locked(lp, req);
    } else if (--lp->woken == 0 && lp->closing) {
        pthread_cond_signal(&lp->drained);
    }
    req->wait_phase = JQ_WAIT_NONE;
    pthread_mutex_unlock(&lp->mu);
}

void jq_longpoll_destroy(struct jq_longpoll *lp)
{
    if (!lp)
        return;
    if (lp->timer_started)
        jq_deadline_loop_stop(&lp->mu, &lp->cond, &lp->stop, lp->timer);
    pthread_cond_destroy(&lp->cond);
    pthread_cond_destroy(&lp->drained);
    pthread_mutex_destroy(&lp->mu);
    free(lp);
}
