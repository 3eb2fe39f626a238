/* deadline_loop.c: the one way api/ waits for deadlines — a thread that
 * sleeps on a CLOCK_MONOTONIC condition variable until the earliest
 * deadline of its owner (long-polls, header deadlines), acts on what is
 * due, and sleeps again; no periodic wake-ups. */
#include "api_int.h"

struct timespec jq_mono_timespec(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    return ts;
}

int jq_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return JQ_ESYS;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : JQ_ESYS;
}

void jq_deadline_loop(pthread_mutex_t *mu, pthread_cond_t *cond, const bool *stop, int64_t (*expire)(void *ctx),
                      void *ctx)
{
    pthread_mutex_lock(mu);
    while (!*stop) {
        int64_t earliest = expire(ctx);
        if (earliest == INT64_MAX) {
            pthread_cond_wait(cond, mu);
        } else {
            struct timespec ts = jq_mono_timespec(earliest);
            pthread_cond_timedwait(cond, mu, &ts);
        }
    }
    pthread_mutex_unlock(mu);
}

void jq_deadline_loop_stop(pthread_mutex_t *mu, pthread_cond_t *cond, bool *stop, pthread_t thread)
{
    pthread_mutex_lock(mu);
    *stop = true;
    pthread_cond_signal(cond);
    pthread_mutex_unlock(mu);
    pthread_join(thread, NULL);
}
