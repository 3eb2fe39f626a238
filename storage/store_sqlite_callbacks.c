/* store_sqlite_callbacks.c: completion callbacks — the callback row written
 * with its job, read back with the job (state and every delivery attempt),
 * the due ones leased to the sender, and each attempt's outcome.
 *
 * DESIGN: a callback becomes due through the callbacks_on_finish trigger
 * (store_sqlite_schema.c) in the very transaction that makes its job final,
 * so no code path that finishes a job can forget it. The sender takes due
 * callbacks with a lease (due_ms moved to the end of the delivery's time
 * limit): a delivery cut short by a crash is simply due again after the
 * restart. Delivery is therefore at least once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

int jq_sqlite_callback_insert_locked(struct jq_sqlite_store *s, int64_t job_id, const char *url)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CB_INSERT);
    sqlite3_bind_int64(stmt, 1, job_id);
    sqlite3_bind_text(stmt, 2, url, -1, SQLITE_STATIC);
    return jq_sqlite_exec_locked(s, JQ_SQL_CB_INSERT, "INSERT (callback)");
}

static int read_deliveries_locked(struct jq_sqlite_store *s, int64_t job_id, struct jq_job *job)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CB_DELIVERIES);
    int err = 0, rc;
    sqlite3_bind_int64(stmt, 1, job_id);
    while (err == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct jq_delivery *grown = realloc(job->deliveries, (job->n_deliveries + 1) * sizeof(*grown));
        if (!grown) {
            err = JQ_ENOMEM;
            break;
        }
        job->deliveries = grown;
        struct jq_delivery *d = &job->deliveries[job->n_deliveries++];
        const unsigned char *error = sqlite3_column_text(stmt, 3);
        d->attempt = sqlite3_column_int(stmt, 0);
        d->at_ms = sqlite3_column_int64(stmt, 1);
        d->status = sqlite3_column_int(stmt, 2);
        d->error = error ? strdup((const char *)error) : NULL;
        if (error && !d->error)
            err = JQ_ENOMEM;
    }
    if (err == 0 && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (deliveries)");
    sqlite3_reset(stmt);
    return err;
}

int jq_sqlite_callback_read_locked(struct jq_sqlite_store *s, int64_t job_id, struct jq_job *job)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CB_GET);
    sqlite3_bind_int64(stmt, 1, job_id);
    int err = 0, rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const unsigned char *url = sqlite3_column_text(stmt, 0);
        job->spec.callback_url = strdup(url ? (const char *)url : "");
        job->callback_state = (enum jq_callback_state)sqlite3_column_int(stmt, 1);
        if (!job->spec.callback_url)
            err = JQ_ENOMEM;
    } else if (rc != SQLITE_DONE) {
        err = jq_sqlite_fail(s->db, rc, "SELECT (callback)");
    }
    sqlite3_reset(stmt);
    if (err == 0 && rc == SQLITE_ROW)
        err = read_deliveries_locked(s, job_id, job);
    return err;
}

/* The work of jq_sqlite_callbacks_due inside its transaction. */
struct lease {
    int64_t now_ms;
    int64_t until_ms;
    struct jq_callback_due *out;
    size_t max;
    size_t n;
};

static int lease_one_locked(struct jq_sqlite_store *s, int64_t job_id, int64_t until_ms)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CB_LEASE);
    sqlite3_bind_int64(stmt, 1, job_id);
    sqlite3_bind_int64(stmt, 2, until_ms);
    return jq_sqlite_exec_locked(s, JQ_SQL_CB_LEASE, "UPDATE (callback lease)");
}

static int lease_due_locked(struct jq_sqlite_store *s, void *ctx)
{
    struct lease *l = ctx;
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CB_DUE);
    int err = 0, rc = SQLITE_DONE;
    sqlite3_bind_int64(stmt, 1, l->now_ms);
    sqlite3_bind_int64(stmt, 2, (int64_t)l->max);
    while (l->n < l->max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct jq_callback_due *d = &l->out[l->n++];
        const unsigned char *url = sqlite3_column_text(stmt, 1);
        d->job_id = sqlite3_column_int64(stmt, 0);
        snprintf(d->url, sizeof(d->url), "%s", url ? (const char *)url : "");
        d->attempts = sqlite3_column_int(stmt, 2);
    }
    if (l->n < l->max && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (due callbacks)");
    sqlite3_reset(stmt);
    for (size_t i = 0; err == 0 && i < l->n; i++)
        err = lease_one_locked(s, l->out[i].job_id, l->until_ms);
    return err;
}

int jq_sqlite_callbacks_due(struct jq_store *st, int64_t now_ms, int64_t lease_until_ms, size_t max,
                            struct jq_callback_due *out, size_t *n_out, int64_t *next_due_out)
{
    struct lease l = {now_ms, lease_until_ms, out, max, 0};
    struct jq_sqlite_due due = {JQ_SQL_CB_NEXT, "SELECT (next callback)", max > 0 ? now_ms : 0, lease_due_locked,
                                &l};
    int err = jq_sqlite_due_batch(jq_sqlite_of(st), &due, next_due_out);
    *n_out = err ? 0 : l.n;
    return err;
}

static int record_locked(struct jq_sqlite_store *s, const struct jq_callback_outcome *o)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CB_DELIVERY_INSERT);
    sqlite3_bind_int64(stmt, 1, o->job_id);
    sqlite3_bind_int(stmt, 2, o->attempt);
    sqlite3_bind_int64(stmt, 3, o->at_ms);
    sqlite3_bind_int(stmt, 4, o->status);
    if (o->error)
        sqlite3_bind_text(stmt, 5, o->error, -1, SQLITE_STATIC);
    int err = jq_sqlite_exec_locked(s, JQ_SQL_CB_DELIVERY_INSERT, "INSERT (delivery)");
    if (err)
        return err;
    enum jq_callback_state state = o->delivered ? JQ_CALLBACK_DELIVERED
                                   : o->retry_at_ms > 0 ? JQ_CALLBACK_PENDING
                                                        : JQ_CALLBACK_FAILED;
    stmt = jq_sqlite_stmt(s, JQ_SQL_CB_RECORD);
    sqlite3_bind_int64(stmt, 1, o->job_id);
    sqlite3_bind_int(stmt, 2, (int)state);
    sqlite3_bind_int64(stmt, 3, state == JQ_CALLBACK_PENDING ? o->retry_at_ms : 0);
    sqlite3_bind_int(stmt, 4, o->attempt);
    return jq_sqlite_exec_locked(s, JQ_SQL_CB_RECORD, "UPDATE (callback)");
}

int jq_sqlite_callback_record(struct jq_store *st, const struct jq_callback_outcome *o)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0)
        err = record_locked(s, o);
    err = jq_sqlite_end_locked(s, err);
    pthread_mutex_unlock(&s->mu);
    return err;
}
