/* store_sqlite_retry.c: the end of an attempt — its history row, the retry
 * decision of core/retry.h applied in the caller's transaction, the job back
 * to queued / retry_wait or final — plus the requeue of a task no worker
 * took, the attempt history read, and the promotion of due retry_wait jobs.
 *
 * DESIGN: the store decides, the service only reports what happened: the
 * policy is in the stored spec, and reading it, recording the attempt and
 * moving the job happen in one transaction, so a crash never leaves an
 * attempt recorded without its consequence or the other way round. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "retry.h"
#include "spec_codec.h"
#include "store_sqlite_int.h"

uint64_t jq_sqlite_random_locked(struct jq_sqlite_store *s)
{
    /* splitmix64: plenty for spreading retries apart. */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The running row of a job: what ending its attempt needs. */
struct running_row {
    int64_t id;
    int32_t attempt;
    bool cancel_requested;
    int64_t started_at_ms;
    int32_t worker_pid;
    struct jq_retry_policy policy;
};

static void read_running(sqlite3_stmt *stmt, struct running_row *row)
{
    row->id = sqlite3_column_int64(stmt, 0);
    row->attempt = sqlite3_column_int(stmt, 1);
    row->cancel_requested = sqlite3_column_int(stmt, 2) != 0;
    row->started_at_ms = sqlite3_column_int64(stmt, 3);
    row->worker_pid = sqlite3_column_int(stmt, 4);
    const void *blob = sqlite3_column_blob(stmt, 5);
    if (jq_spec_decode_policy(blob ? blob : "", (size_t)sqlite3_column_bytes(stmt, 5), &row->policy) != 0) {
        jq_log_job(JQ_LOG_ERR, row->id, "sqlite: the stored spec is corrupt; the job is not retried");
        memset(&row->policy, 0, sizeof(row->policy));
    }
}

/* *found = false when job id is not running. */
static int running_row_locked(struct jq_sqlite_store *s, int64_t id, struct running_row *row, bool *found)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_RUNNING_ONE);
    sqlite3_bind_int64(stmt, 1, id);
    int err = 0, rc = sqlite3_step(stmt);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        read_running(stmt, row);
    else if (rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (running job)");
    sqlite3_reset(stmt);
    return err;
}

static int insert_attempt_locked(struct jq_sqlite_store *s, const struct running_row *row,
                                 const struct jq_job_result *r, int64_t now)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_ATTEMPT_INSERT);
    sqlite3_bind_int64(stmt, 1, row->id);
    sqlite3_bind_int(stmt, 2, row->attempt);
    sqlite3_bind_int64(stmt, 3, r->started_at_ms > 0 ? r->started_at_ms : row->started_at_ms);
    sqlite3_bind_int64(stmt, 4, r->finished_at_ms > 0 ? r->finished_at_ms : now);
    sqlite3_bind_int(stmt, 5, (int)r->state);
    if (r->exit_code >= 0)
        sqlite3_bind_int(stmt, 6, r->exit_code);
    sqlite3_bind_int(stmt, 7, r->signal);
    sqlite3_bind_int(stmt, 8, (int)r->kill_reason);
    sqlite3_bind_int(stmt, 9, r->worker_pid > 0 ? r->worker_pid : row->worker_pid);
    if (r->error)
        sqlite3_bind_text(stmt, 10, r->error, -1, SQLITE_STATIC);
    return jq_sqlite_exec_locked(s, JQ_SQL_ATTEMPT_INSERT, "INSERT (attempt)");
}

static int retry_locked(struct jq_sqlite_store *s, int64_t id, const struct jq_retry_decision *d, int64_t now)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_RETRY);
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int(stmt, 2, (int)d->state);
    sqlite3_bind_int64(stmt, 3, d->state == JQ_STATE_RETRY_WAIT ? now + d->delay_ms : 0);
    return jq_sqlite_exec_locked(s, JQ_SQL_RETRY, "UPDATE (retry)");
}

/* Record the attempt of row, then decide and apply. */
static int end_row_locked(struct jq_sqlite_store *s, const struct running_row *row, const struct jq_job_result *r,
                          bool master_gone, int64_t now)
{
    struct jq_retry_decision d;
    int err = insert_attempt_locked(s, row, r, now);
    if (err)
        return err;
    jq_retry_decide(&row->policy, row->attempt, r->state, r->exit_code, master_gone,
                    jq_sqlite_random_locked(s), &d);
    if (!d.retry || row->cancel_requested)
        return jq_sqlite_complete_final_locked(s, row->id, r, now);
    jq_log_job(JQ_LOG_INFO, row->id, "attempt %d ended %s: retrying in %lld ms (attempt %d of %d)", row->attempt,
               jq_state_name(r->state), (long long)d.delay_ms, row->attempt + 1,
               jq_retry_max_attempts(&row->policy));
    return retry_locked(s, row->id, &d, now);
}

int jq_sqlite_end_attempt_locked(struct jq_sqlite_store *s, int64_t id, const struct jq_job_result *r,
                                 bool master_gone, int64_t now)
{
    struct running_row row;
    bool found = false;
    int err = running_row_locked(s, id, &row, &found);
    if (err == 0 && !found)
        jq_log_job(JQ_LOG_DEBUG, id, "sqlite: result not stored: the job is no longer running");
    if (err || !found)
        return err;
    return end_row_locked(s, &row, r, master_gone, now);
}

int jq_sqlite_requeue(struct jq_store *st, int64_t id)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_REQUEUE);
    sqlite3_bind_int64(stmt, 1, id);
    /* One statement: its own transaction. */
    int err = jq_sqlite_exec_locked(s, JQ_SQL_REQUEUE, "UPDATE (requeue)");
    pthread_mutex_unlock(&s->mu);
    return err;
}

/* Every running row, read to the end before any is changed. */
static int running_rows_locked(struct jq_sqlite_store *s, struct running_row **rows_out, size_t *n_out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_RUNNING_ALL);
    struct running_row *rows = NULL;
    size_t n = 0, cap = 0;
    int err = 0, rc;
    while (err == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct running_row *grown = realloc(rows, cap * sizeof(*rows));
            if (!grown) {
                err = JQ_ENOMEM;
                break;
            }
            rows = grown;
        }
        read_running(stmt, &rows[n++]);
    }
    if (err == 0 && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (running jobs)");
    sqlite3_reset(stmt);
    *rows_out = rows;
    *n_out = n;
    return err;
}

/* Resolve every running job as lost by a master that is gone. */
int jq_sqlite_recover_locked(struct jq_sqlite_store *s, int64_t now, int64_t *n_out)
{
    struct running_row *rows = NULL;
    size_t n = 0;
    struct jq_job_result res;
    jq_job_result_init(&res);
    res.state = JQ_STATE_LOST;
    res.finished_at_ms = now;
    res.error = (char *)"the service stopped while the job ran";
    int err = running_rows_locked(s, &rows, &n);
    for (size_t i = 0; err == 0 && i < n; i++)
        err = end_row_locked(s, &rows[i], &res, true, now);
    free(rows);
    *n_out = err ? 0 : (int64_t)n;
    return err;
}

static int read_attempt_row(sqlite3_stmt *stmt, struct jq_attempt *a)
{
    memset(a, 0, sizeof(*a));
    a->attempt = sqlite3_column_int(stmt, 0);
    a->started_at_ms = sqlite3_column_int64(stmt, 1);
    a->finished_at_ms = sqlite3_column_int64(stmt, 2);
    a->state = (enum jq_job_state)sqlite3_column_int(stmt, 3);
    a->exit_code = sqlite3_column_type(stmt, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(stmt, 4);
    a->signal = sqlite3_column_int(stmt, 5);
    a->kill_reason = (enum jq_kill_reason)sqlite3_column_int(stmt, 6);
    a->worker_pid = sqlite3_column_int(stmt, 7);
    const unsigned char *error = sqlite3_column_text(stmt, 8);
    if (error && !(a->error = strdup((const char *)error)))
        return JQ_ENOMEM;
    return 0;
}

int jq_sqlite_read_attempts_locked(struct jq_sqlite_store *s, int64_t id, struct jq_job *job)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_ATTEMPTS_GET);
    size_t cap = 0;
    int err = 0, rc;
    sqlite3_bind_int64(stmt, 1, id);
    while (err == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (job->n_attempts == cap) {
            cap = cap ? cap * 2 : 4;
            struct jq_attempt *grown = realloc(job->attempts, cap * sizeof(*grown));
            if (!grown) {
                err = JQ_ENOMEM;
                break;
            }
            job->attempts = grown;
        }
        err = read_attempt_row(stmt, &job->attempts[job->n_attempts]);
        job->n_attempts++; /* counted even on failure: its error (NULL) is freed with the rest */
    }
    if (err == 0 && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (attempts)");
    sqlite3_reset(stmt);
    return err;
}

static int promote_locked(struct jq_sqlite_store *s, void *ctx)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_PROMOTE);
    sqlite3_bind_int64(stmt, 1, *(const int64_t *)ctx);
    return jq_sqlite_exec_locked(s, JQ_SQL_PROMOTE, "UPDATE (promote due jobs)");
}

int jq_sqlite_promote_due(struct jq_store *st, int64_t now_ms, int64_t *next_run_at_out)
{
    struct jq_sqlite_due due = {JQ_SQL_NEXT_RUN_AT, "SELECT (next run_at)", now_ms, promote_locked, &now_ms};
    return jq_sqlite_due_batch(jq_sqlite_of(st), &due, next_run_at_out);
}
