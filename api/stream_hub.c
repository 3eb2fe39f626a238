/* stream_hub.c: the live-output streams (stream.c) waiting for news without
 * a thread each. A stream whose job has nothing new suspends its connection
 * (from libmicrohttpd's content reader, as MHD prescribes) and is resumed
 * when the job has new output or ends (jq_stream_hub_notify), or when its
 * keep-alive comment is due (one timer thread sleeping until the earliest
 * one: no periodic wake-ups).
 *
 * No lost wake-up: a stream clears its news flag (jq_stream_hub_take_news)
 * before it looks at the job, and jq_stream_hub_park suspends only if no
 * news arrived since; both run under the hub's mutex, as does notify. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "api_int.h"

struct jq_stream_hub {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled on park and stop */
    pthread_t timer;
    bool timer_started;
    bool stop;           /* the timer thread must exit */
    bool closing;        /* the API is stopping: suspend nothing new */
    struct jq_stream_waiter *head;
};

static void resume_locked(struct jq_stream_waiter *w)
{
    w->suspended = false;
    MHD_resume_connection(w->conn);
}

/* Resume every waiter whose keep-alive is due; the earliest one still
 * pending, or INT64_MAX. */
static int64_t expire_locked(struct jq_stream_hub *hub)
{
    int64_t now = jq_mono_ms(), earliest = INT64_MAX;
    for (struct jq_stream_waiter *w = hub->head; w; w = w->next) {
        if (!w->suspended)
            continue;
        if (w->keepalive_at_ms <= now)
            resume_locked(w);
        else if (w->keepalive_at_ms < earliest)
            earliest = w->keepalive_at_ms;
    }
    return earliest;
}

static void *timer_main(void *arg)
{
    struct jq_stream_hub *hub = arg;
    pthread_mutex_lock(&hub->mu);
    while (!hub->stop) {
        int64_t earliest = expire_locked(hub);
        if (earliest == INT64_MAX) {
            pthread_cond_wait(&hub->cond, &hub->mu);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(earliest / 1000), .tv_nsec = (long)(earliest % 1000) * 1000000L};
            pthread_cond_timedwait(&hub->cond, &hub->mu, &ts);
        }
    }
    pthread_mutex_unlock(&hub->mu);
    return NULL;
}

int jq_stream_hub_create(struct jq_stream_hub **out)
{
    pthread_condattr_t attr;
    struct jq_stream_hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return JQ_ENOMEM;
    pthread_mutex_init(&hub->mu, NULL);
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&hub->cond, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (rc == 0)
        rc = pthread_create(&hub->timer, NULL, timer_main, hub);
    if (rc != 0) {
        pthread_mutex_destroy(&hub->mu);
        free(hub);
        return JQ_ESYS;
    }
    hub->timer_started = true;
    *out = hub;
    return 0;
}

void jq_stream_hub_add(struct jq_stream_hub *hub, struct jq_stream_waiter *w)
{
    pthread_mutex_lock(&hub->mu);
    w->prev = NULL;
    w->next = hub->head;
    if (hub->head)
        hub->head->prev = w;
    hub->head = w;
    pthread_mutex_unlock(&hub->mu);
}

void jq_stream_hub_remove(struct jq_stream_hub *hub, struct jq_stream_waiter *w)
{
    pthread_mutex_lock(&hub->mu);
    if (w->prev)
        w->prev->next = w->next;
    else if (hub->head == w)
        hub->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    pthread_mutex_unlock(&hub->mu);
}

bool jq_stream_hub_take_news(struct jq_stream_hub *hub, struct jq_stream_waiter *w, bool *state_news, bool *closing)
{
    pthread_mutex_lock(&hub->mu);
    bool news = w->news;
    *state_news = w->state_news;
    w->news = w->state_news = false;
    *closing = hub->closing;
    pthread_mutex_unlock(&hub->mu);
    return news;
}

bool jq_stream_hub_park(struct jq_stream_hub *hub, struct jq_stream_waiter *w, int64_t keepalive_at_ms)
{
    pthread_mutex_lock(&hub->mu);
    bool park = !w->news && !hub->closing;
    if (park) {
        w->suspended = true;
        w->keepalive_at_ms = keepalive_at_ms;
        MHD_suspend_connection(w->conn);
        pthread_cond_signal(&hub->cond);
    }
    pthread_mutex_unlock(&hub->mu);
    return park;
}

void jq_stream_hub_notify(struct jq_stream_hub *hub, int64_t job_id, bool state_changed)
{
    pthread_mutex_lock(&hub->mu);
    for (struct jq_stream_waiter *w = hub->head; w; w = w->next) {
        if (w->job_id != job_id)
            continue;
        w->news = true;
        w->state_news = w->state_news || state_changed;
        if (w->suspended)
            resume_locked(w);
    }
    pthread_mutex_unlock(&hub->mu);
}

void jq_stream_hub_close(struct jq_stream_hub *hub)
{
    pthread_mutex_lock(&hub->mu);
    hub->closing = true;
    for (struct jq_stream_waiter *w = hub->head; w; w = w->next)
        if (w->suspended)
            resume_locked(w);
    pthread_mutex_unlock(&hub->mu);
}

void jq_stream_hub_destroy(struct jq_stream_hub *hub)
{
    if (!hub)
        return;
    if (hub->timer_started) {
        pthread_mutex_lock(&hub->mu);
        hub->stop = true;
        pthread_cond_signal(&hub->cond);
        pthread_mutex_unlock(&hub->mu);
        pthread_join(hub->timer, NULL);
    }
    pthread_cond_destroy(&hub->cond);
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}
