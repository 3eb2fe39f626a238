/* live.c: running jobs' output for the API's streams, while they run.
 *
 * DESIGN: workers write output straight into their slot's areas and publish
 * the lengths (chan.c). A notifier thread sleeps on the channel's "output
 * ready" semaphore; each wake-up takes the news of every slot and tells the
 * API which jobs have new output (jq_api_job_output), which resumes their
 * suspended streams. Then it rests JQ_LIVE_NOTIFY_INTERVAL_MS: a job that
 * prints a byte at a time costs the master at most one round per interval,
 * whatever the number of slots (a worker posts at most once per round, and
 * news published during the rest is picked up by the next round). The
 * streams copy the bytes themselves, from the slot (jq_live_read, under the
 * pool lock, so the slot cannot be released and reused during the copy) or,
 * once the job is collected, from the store. Nothing is pushed to a client:
 * a slow reader only falls behind in its own offsets. */
#include <time.h>

#include "log.h"
#include "service.h"

/* The notifier's rest between rounds (rate limit of wake-ups). */
#define JQ_LIVE_NOTIFY_INTERVAL_MS 5

static void rest_ms(long ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void notify_round(struct jq_service *svc)
{
    struct jq_chan *ch = svc->pool.chan;
    for (unsigned i = 0; i < svc->pool.n; i++) {
        if (!jq_chan_take_output_news(ch, i))
            continue;
        int64_t id = jq_chan_slot_job(ch, i); /* a stale id only costs a spurious wake-up */
        if (id != 0)
            jq_api_job_output(svc->api, id);
    }
}

static void *notifier_main(void *arg)
{
    struct jq_service *svc = arg;
    while (!atomic_load(&svc->live_stop)) {
        jq_chan_wait_output(svc->pool.chan);
        if (atomic_load(&svc->live_stop))
            break;
        notify_round(svc);
        rest_ms(JQ_LIVE_NOTIFY_INTERVAL_MS);
    }
    return NULL;
}

int jq_live_start(struct jq_service *svc)
{
    atomic_store(&svc->live_stop, false);
    if (pthread_create(&svc->live_notifier, NULL, notifier_main, svc) != 0)
        return JQ_ESYS;
    svc->live_started = true;
    return 0;
}

void jq_live_stop(struct jq_service *svc)
{
    if (!svc->live_started)
        return;
    atomic_store(&svc->live_stop, true);
    jq_chan_wake_output_waiter(svc->pool.chan);
    pthread_join(svc->live_notifier, NULL);
    svc->live_started = false;
}

int jq_live_read(void *ctx, int64_t id, bool err_stream, uint64_t offset, void *buf, size_t max, size_t *n_out)
{
    struct jq_service *svc = ctx;
    int rc = JQ_ENOTFOUND;
    *n_out = 0;
    pthread_mutex_lock(&svc->pool.mu);
    int slot = jq_pool_slot_of_job_locked(&svc->pool, id);
    if (slot >= 0 && jq_chan_read_output(svc->pool.chan, (unsigned)slot, id, err_stream, offset, buf, max,
                                         n_out) == 0)
        rc = 0;
    pthread_mutex_unlock(&svc->pool.mu);
    return rc;
}
