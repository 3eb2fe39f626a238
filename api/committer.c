/* committer.c: group commit of submissions. A POST /v1/jobs handler parses
 * its body, hands the jobs to the committer and suspends its connection; one
 * committer thread takes every submission waiting, stores them all in one
 * transaction with one sync (jq_store_enqueue_group), then resumes each
 * connection, and MHD calls the handler again, which answers 201 (or the
 * error of that submission alone). Each 201 is thus sent only after its own
 * commit, and concurrent submissions share the fsync.
 *
 * DESIGN: the HTTP threads never wait for a sync; while one group commits,
 * the next accumulates, so the group grows with the load and an idle server
 * commits a lone submission at once (no timer, no polling). No lost
 * wake-up: a handler queues its submission and suspends its connection under
 * mu, and the thread sees the submission only after it takes mu, so a resume
 * never precedes its suspend. The thread touches a submission only until it
 * resumes its connection. Shutdown (jq_committer_drain): new submissions are
 * refused (503), every queued one is still committed and answered. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "api_int.h"
#include "log.h"

/* Jobs in one group transaction: big enough that a busy server syncs a
 * few times per thousand jobs, small enough that the store's lock is never
 * held for long (a batch submission larger than this is still one group). */
#define JQ_GROUP_MAX_JOBS 4096
/* How long jq_committer_drain waits for resumed requests to be answered. */
#define JQ_COMMITTER_DRAIN_MS 3000

struct jq_committer {
    struct jq_api *api;
    pthread_mutex_t mu;
    pthread_cond_t work;    /* signalled: a submission queued, or stop */
    pthread_cond_t settled; /* broadcast: a group done, or woken fell to 0 */
    pthread_t thread;
    bool thread_started;
    bool closing;           /* refuse new submissions */
    bool stop;              /* the thread exits once the queue is empty */
    bool busy;              /* a group is being committed */
    struct jq_pending_submit *head, *tail;
    unsigned woken;         /* resumed requests not yet completed by MHD */
    struct jq_enqueue_req *reqs; /* the group's store requests (thread only) */
    size_t reqs_cap;
};

/* Detach the next group from the queue: at least one submission, then more
 * while the group stays under JQ_GROUP_MAX_JOBS. Caller holds mu. */
static struct jq_pending_submit *take_group_locked(struct jq_committer *c, size_t *count)
{
    struct jq_pending_submit *first = c->head, *last = first;
    size_t jobs = first->sub.n, n = 1;
    while (last->next && jobs + last->next->sub.n <= JQ_GROUP_MAX_JOBS) {
        last = last->next;
        jobs += last->sub.n;
        n++;
    }
    c->head = last->next;
    if (!c->head)
        c->tail = NULL;
    last->next = NULL;
    *count = n;
    return first;
}

static int reserve_reqs(struct jq_committer *c, size_t n)
{
    if (n <= c->reqs_cap)
        return 0;
    struct jq_enqueue_req *grown = realloc(c->reqs, n * sizeof *grown);
    if (!grown)
        return JQ_ENOMEM;
    c->reqs = grown;
    c->reqs_cap = n;
    return 0;
}

/* Through the service, which may start jobs in the same transaction. */
static int store_reqs(struct jq_api *api, struct jq_enqueue_req *reqs, size_t n)
{
    if (api->hooks.store_jobs)
        return api->hooks.store_jobs(api->hooks.ctx, reqs, n);
    return jq_store_enqueue_group(api->store, reqs, n);
}

/* Store the group; each submission gets its own outcome. Returns the jobs
 * stored. */
static size_t store_group(struct jq_committer *c, struct jq_pending_submit *group, size_t count)
{
    size_t i = 0, stored = 0;
    int err = reserve_reqs(c, count);
    for (struct jq_pending_submit *p = group; err == 0 && p; p = p->next, i++)
        c->reqs[i] = (struct jq_enqueue_req){.specs = p->sub.specs, .n = p->sub.n, .ids_out = p->ids};
    if (err == 0) /* an error here lost the whole group; else the outcomes are in reqs[i].err */
        err = store_reqs(c->api, c->reqs, count);
    i = 0;
    for (struct jq_pending_submit *p = group; p; p = p->next, i++) {
        p->err = err ? err : c->reqs[i].err;
        p->created_at_ms = err ? 0 : c->reqs[i].created_at_ms;
        stored += p->err == 0 ? p->sub.n : 0;
    }
    return stored;
}

/* Hand every submission of the group back to its HTTP thread. */
static void resume_group(struct jq_committer *c, struct jq_pending_submit *group)
{
    while (group) {
        struct jq_pending_submit *next = group->next;
        struct MHD_Connection *conn = group->req->conn;
        pthread_mutex_lock(&c->mu);
        group->phase = JQ_SUBMIT_DONE;
        c->woken++;
        pthread_mutex_unlock(&c->mu);
        MHD_resume_connection(conn); /* from here on the request is MHD's */
        group = next;
    }
}

static void commit_group(struct jq_committer *c, struct jq_pending_submit *group, size_t count)
{
    struct jq_api *api = c->api;
    size_t stored = store_group(c, group, count);
    atomic_fetch_add_explicit(&api->metrics->submit_commits, 1, memory_order_relaxed);
    if (stored > 0) {
        atomic_fetch_add_explicit(&api->metrics->jobs_submitted, stored, memory_order_relaxed);
        if (!api->hooks.store_jobs) /* else the service dispatched as it stored */
            api->hooks.jobs_enqueued(api->hooks.ctx);
    }
    resume_group(c, group);
}

static void *committer_main(void *arg)
{
    struct jq_committer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->head && !c->stop)
            pthread_cond_wait(&c->work, &c->mu);
        if (!c->head)
            break;
        size_t count = 0;
        struct jq_pending_submit *group = take_group_locked(c, &count);
        c->busy = true;
        pthread_mutex_unlock(&c->mu);
        commit_group(c, group, count);
        pthread_mutex_lock(&c->mu);
        c->busy = false;
        pthread_cond_broadcast(&c->settled);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int jq_committer_create(struct jq_committer **out, struct jq_api *api)
{
    struct jq_committer *c = calloc(1, sizeof *c);
    if (!c)
        return JQ_ENOMEM;
    c->api = api;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    int err = jq_cond_init_monotonic(&c->settled);
    if (err == 0 && pthread_create(&c->thread, NULL, committer_main, c) != 0)
        err = JQ_ESYS;
    c->thread_started = err == 0;
    if (err) {
        jq_committer_destroy(c);
        return err;
    }
    *out = c;
    return 0;
}

bool jq_committer_park(struct jq_committer *c, struct jq_request *req)
{
    struct jq_pending_submit *p = req->submit;
    pthread_mutex_lock(&c->mu);
    bool park = !c->closing;
    if (park) {
        p->phase = JQ_SUBMIT_QUEUED;
        p->next = NULL;
        if (c->tail)
            c->tail->next = p;
        else
            c->head = p;
        c->tail = p;
        MHD_suspend_connection(req->conn);
        pthread_cond_signal(&c->work);
    }
    pthread_mutex_unlock(&c->mu);
    return park;
}

void jq_committer_forget(struct jq_committer *c, struct jq_request *req)
{
    struct jq_pending_submit *p = req->submit;
    if (!p)
        return;
    if (p->phase == JQ_SUBMIT_DONE) {
        pthread_mutex_lock(&c->mu);
        if (--c->woken == 0)
            pthread_cond_broadcast(&c->settled);
        pthread_mutex_unlock(&c->mu);
    }
    jq_submission_cleanup(&p->sub);
    free(p->ids);
    free(p);
    req->submit = NULL;
}

void jq_committer_drain(struct jq_committer *c)
{
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    /* Every queued submission is committed and resumed: bounded by the
     * store's own timeouts, and MHD must not stop with a suspended one. */
    while (c->head || c->busy)
        pthread_cond_wait(&c->settled, &c->mu);
    struct timespec until = jq_mono_timespec(jq_mono_ms() + JQ_COMMITTER_DRAIN_MS);
    while (c->woken > 0 && pthread_cond_timedwait(&c->settled, &c->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&c->mu);
}

void jq_committer_destroy(struct jq_committer *c)
{
    if (!c)
        return;
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        pthread_cond_signal(&c->work);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->settled);
    pthread_mutex_destroy(&c->mu);
    free(c->reqs);
    free(c);
}
