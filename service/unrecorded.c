/* unrecorded.c: results the store could not record — a completion
 * transaction that failed (a full disk, an I/O error). The master keeps a
 * copy of each such result and records it again from its timer loop, with
 * backoff, so the job ends with its real outcome as soon as the store takes
 * writes again instead of staying `running` until a restart. A clean
 * shutdown tries once more; what is still unrecorded then is `running` on
 * disk and resolved by its on_lost policy at the next start, like any job
 * the master could not finish recording. Guarded by collect_mu. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service.h"

#define FIRST_DELAY_MS 100
#define MAX_DELAY_MS 5000

/* len bytes of src and a NUL, or NULL (len 0, or no memory: *ok false). */
static char *copy_bytes(const char *src, size_t len, bool *ok)
{
    if (!src)
        return NULL;
    char *c = malloc(len + 1);
    if (!c) {
        *ok = false;
        return NULL;
    }
    memcpy(c, src, len);
    c[len] = '\0';
    return c;
}

/* A result whose bytes are its own (the original may point into a slot). */
static bool copy_result(const struct jq_job_result *src, struct jq_job_result *dst)
{
    bool ok = true;
    *dst = *src;
    dst->out.data = src->out.len ? copy_bytes(src->out.data, src->out.len, &ok) : NULL;
    dst->err.data = src->err.len ? copy_bytes(src->err.data, src->err.len, &ok) : NULL;
    dst->error = src->error ? copy_bytes(src->error, strlen(src->error), &ok) : NULL;
    if (!ok)
        jq_job_result_cleanup(dst);
    return ok;
}

static bool grow(struct jq_unrecorded *u, size_t more)
{
    if (u->n + more <= u->cap)
        return true;
    size_t cap = (u->n + more) * 2;
    int64_t *ids = realloc(u->ids, cap * sizeof(*ids));
    if (ids)
        u->ids = ids;
    struct jq_job_result *results = ids ? realloc(u->results, cap * sizeof(*results)) : NULL;
    if (results)
        u->results = results;
    if (!ids || !results)
        return false;
    u->cap = cap;
    return true;
}

void jq_unrecorded_keep(struct jq_service *svc, const struct jq_completion *done, size_t n)
{
    struct jq_unrecorded *u = &svc->unrecorded;
    bool was_empty = u->n == 0;
    for (size_t i = 0; i < n; i++) {
        if (!grow(u, 1) || !copy_result(done[i].result, &u->results[u->n])) {
            jq_log_job(JQ_LOG_ERR, done[i].id, "out of memory: the result is dropped; the job stays running "
                                               "until a restart resolves it by its on_lost policy");
            continue;
        }
        u->ids[u->n++] = done[i].id;
    }
    atomic_store_explicit(&svc->metrics.results_unrecorded, u->n, memory_order_relaxed);
    if (was_empty && u->n > 0) {
        u->delay_ms = FIRST_DELAY_MS;
        u->next_try_ms = jq_now_ms() + u->delay_ms;
    }
}

static void forget_all(struct jq_unrecorded *u)
{
    for (size_t i = 0; i < u->n; i++)
        jq_job_result_cleanup(&u->results[i]);
    u->n = 0;
}

/* Record every kept result in one transaction. Caller holds collect_mu. */
static int record_locked(struct jq_service *svc)
{
    struct jq_unrecorded *u = &svc->unrecorded;
    struct jq_completion *done = calloc(u->n, sizeof(*done));
    if (!done)
        return JQ_ENOMEM;
    for (size_t i = 0; i < u->n; i++)
        done[i] = (struct jq_completion){u->ids[i], &u->results[i]};
    int rc = jq_store_complete(svc->store, done, u->n);
    free(done);
    if (rc != 0)
        return rc;
    jq_log(JQ_LOG_INFO, "recorded %zu result(s) the store had refused", u->n);
    for (size_t i = 0; i < u->n; i++)
        jq_collect_recorded(svc, u->ids[i], &u->results[i]);
    forget_all(u);
    atomic_store_explicit(&svc->metrics.results_unrecorded, 0, memory_order_relaxed);
    return 0;
}

int64_t jq_unrecorded_retry(struct jq_service *svc, int64_t now, bool now_or_never)
{
    struct jq_unrecorded *u = &svc->unrecorded;
    int64_t next = 0;
    pthread_mutex_lock(&svc->collect_mu);
    if (u->n > 0 && (now_or_never || now >= u->next_try_ms)) {
        int rc = record_locked(svc);
        if (rc != 0) {
            u->delay_ms = u->delay_ms * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : u->delay_ms * 2;
            u->next_try_ms = now + u->delay_ms;
            jq_log(JQ_LOG_WARN, "%zu result(s) still unrecorded (%s); next try in %lld ms", u->n, jq_err_name(rc),
                   (long long)u->delay_ms);
        }
    }
    next = u->n > 0 ? u->next_try_ms : 0;
    pthread_mutex_unlock(&svc->collect_mu);
    return next;
}

void jq_unrecorded_cleanup(struct jq_service *svc)
{
    struct jq_unrecorded *u = &svc->unrecorded;
    if (u->n > 0)
        jq_log(JQ_LOG_WARN, "%zu result(s) unrecorded at exit: their jobs are resolved by on_lost at the next start",
               u->n);
    forget_all(u);
    free(u->ids);
    free(u->results);
    memset(u, 0, sizeof(*u));
}
