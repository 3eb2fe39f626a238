/* store.c: the backend-neutral face of storage — every jq_store_* call
 * dispatches through the handle's ops table, so api/ and service/ never know
 * which backend they talk to. Also the page cleanup shared by all backends. */
#include "store.h"

#include <stdlib.h>

void jq_job_list_cleanup(struct jq_job_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        jq_job_cleanup(&list->jobs[i]);
    free(list->jobs);
    list->jobs = NULL;
    list->n = 0;
    list->more = false;
}

void jq_schedule_cleanup(struct jq_schedule *sch)
{
    free(sch->template_json);
    sch->template_json = NULL;
}

void jq_schedule_list_cleanup(struct jq_schedule_list *list)
{
    for (size_t i = 0; list && i < list->n; i++)
        jq_schedule_cleanup(&list->v[i]);
    if (list) {
        free(list->v);
        list->v = NULL;
        list->n = 0;
    }
}

void jq_store_close(struct jq_store *st)
{
    if (st)
        st->ops->close(st);
}

int jq_store_enqueue(struct jq_store *st, const struct jq_job_spec *specs, size_t n, int64_t *ids_out)
{
    return st->ops->enqueue(st, specs, n, ids_out);
}

int jq_store_enqueue_group(struct jq_store *st, struct jq_enqueue_req *reqs, size_t n)
{
    return st->ops->enqueue_group(st, reqs, n, 0, NULL, NULL);
}

int jq_store_enqueue_group_claim(struct jq_store *st, struct jq_enqueue_req *reqs, size_t n, size_t max,
                                 struct jq_job *jobs_out, size_t *n_out)
{
    return st->ops->enqueue_group(st, reqs, n, max, jobs_out, n_out);
}

int jq_store_claim(struct jq_store *st, size_t max, struct jq_job *jobs_out, size_t *n_out)
{
    return st->ops->claim(st, max, jobs_out, n_out);
}

int jq_store_complete(struct jq_store *st, const struct jq_completion *done, size_t n)
{
    return st->ops->complete(st, done, n);
}

int jq_store_complete_claim(struct jq_store *st, const struct jq_completion *done, size_t n, size_t max,
                            struct jq_job *jobs_out, size_t *n_out)
{
    return st->ops->complete_claim(st, done, n, max, jobs_out, n_out);
}

int jq_store_get(struct jq_store *st, int64_t id, bool with_output, struct jq_job *out)
{
    return st->ops->get(st, id, with_output, out);
}

int jq_store_get_state(struct jq_store *st, int64_t id, enum jq_job_state *out)
{
    return st->ops->get_state(st, id, out);
}

int jq_store_list(struct jq_store *st, const struct jq_list_query *q, struct jq_job_list *out)
{
    return st->ops->list(st, q, out);
}

int jq_store_cancel_queued(struct jq_store *st, int64_t id, enum jq_job_state *state_out)
{
    return st->ops->cancel_queued(st, id, state_out);
}

int jq_store_mark_cancel_requested(struct jq_store *st, int64_t id)
{
    return st->ops->mark_cancel_requested(st, id);
}

int jq_store_recover(struct jq_store *st, int64_t *n_lost_out)
{
    return st->ops->recover(st, n_lost_out);
}

int jq_store_count(struct jq_store *st, struct jq_store_counts *out)
{
    return st->ops->count(st, out);
}

bool jq_store_writable(struct jq_store *st)
{
    return st->ops->writable(st);
}

int jq_store_promote_due(struct jq_store *st, int64_t now_ms, int64_t *next_run_at_out)
{
    return st->ops->promote_due(st, now_ms, next_run_at_out);
}

int jq_store_requeue(struct jq_store *st, int64_t id)
{
    return st->ops->requeue(st, id);
}

int jq_store_expire_due(struct jq_store *st, int64_t now_ms, int64_t *ids_out, size_t max, size_t *n_out,
                        int64_t *next_start_by_out)
{
    return st->ops->expire_due(st, now_ms, ids_out, max, n_out, next_start_by_out);
}

int jq_store_queue_update(struct jq_store *st, const char *name, int paused, int64_t limit)
{
    return st->ops->queue_update(st, name, paused, limit);
}

int jq_store_queue_list(struct jq_store *st, struct jq_queue_list *out)
{
    return st->ops->queue_list(st, out);
}

int jq_store_enqueue_idempotent(struct jq_store *st, const struct jq_idem *idem, const struct jq_job_spec *specs,
                                size_t n, int64_t *ids_out, bool *replayed)
{
    return st->ops->enqueue_idempotent(st, idem, specs, n, ids_out, replayed);
}

int jq_store_purge_job(struct jq_store *st, int64_t id, enum jq_job_state *state_out)
{
    return st->ops->purge_job(st, id, state_out);
}

int jq_store_purge_finished(struct jq_store *st, int64_t finished_before_ms, int64_t *ids_out, size_t max,
                            size_t *n_out, int64_t *oldest_finished_out)
{
    return st->ops->purge_finished(st, finished_before_ms, ids_out, max, n_out, oldest_finished_out);
}

int jq_store_maintain(struct jq_store *st)
{
    return st->ops->maintain(st);
}

int jq_store_space(struct jq_store *st, struct jq_store_space *out)
{
    return st->ops->space(st, out);
}

int jq_store_schedule_create(struct jq_store *st, struct jq_schedule *sch)
{
    return st->ops->schedule_create(st, sch);
}

int jq_store_schedule_get(struct jq_store *st, int64_t id, struct jq_schedule *out)
{
    return st->ops->schedule_get(st, id, out);
}

int jq_store_schedule_list(struct jq_store *st, struct jq_schedule_list *out)
{
    return st->ops->schedule_list(st, out);
}

int jq_store_schedule_delete(struct jq_store *st, int64_t id)
{
    return st->ops->schedule_delete(st, id);
}

int jq_store_schedule_set_paused(struct jq_store *st, int64_t id, bool paused, int64_t next_tick_ms)
{
    return st->ops->schedule_set_paused(st, id, paused, next_tick_ms);
}

int jq_store_schedule_due(struct jq_store *st, int64_t now_ms, size_t max, struct jq_schedule_list *out,
                          int64_t *next_tick_out)
{
    return st->ops->schedule_due(st, now_ms, max, out, next_tick_out);
}

int jq_store_schedule_fire(struct jq_store *st, int64_t id, int64_t tick_ms, const struct jq_job_spec *spec,
                           int64_t next_tick_ms, int64_t *job_id_out)
{
    return st->ops->schedule_fire(st, id, tick_ms, spec, next_tick_ms, job_id_out);
}

int jq_store_callbacks_due(struct jq_store *st, int64_t now_ms, int64_t lease_until_ms, size_t max,
                           struct jq_callback_due *out, size_t *n_out, int64_t *next_due_out)
{
    return st->ops->callbacks_due(st, now_ms, lease_until_ms, max, out, n_out, next_due_out);
}

int jq_store_callback_record(struct jq_store *st, const struct jq_callback_outcome *o)
{
    return st->ops->callback_record(st, o);
}
