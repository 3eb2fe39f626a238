/* store_sqlite_read.c: the read side — one job (with its attempt history),
 * its state, a page of jobs (without), counts by state. Rows become struct jq_job here. Reads run outside any
 * explicit transaction: each statement sees one consistent snapshot.
 * Without with_output the statements do not name the stdout/stderr columns,
 * so their (possibly large) BLOBs are never read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jq_limits.h"
#include "log.h"
#include "spec_codec.h"
#include "store_sqlite_int.h"

/* Copy TEXT or BLOB column col to the heap with a NUL past the end (NULL
 * when empty or NULL). */
static int column_dup(sqlite3_stmt *row, int col, char **data_out, size_t *len_out)
{
    const void *p = sqlite3_column_blob(row, col);
    size_t len = (size_t)sqlite3_column_bytes(row, col);
    *data_out = NULL;
    *len_out = 0;
    if (!p || len == 0)
        return 0;
    char *copy = malloc(len + 1);
    if (!copy)
        return JQ_ENOMEM;
    memcpy(copy, p, len);
    copy[len] = '\0';
    *data_out = copy;
    *len_out = len;
    return 0;
}

static void read_stream_meta(sqlite3_stmt *row, int col, struct jq_output *o)
{
    int64_t total = sqlite3_column_int64(row, col);
    o->total_bytes = total > 0 ? (uint64_t)total : 0;
    o->truncated = sqlite3_column_int(row, col + 1) != 0;
}

static void read_result(sqlite3_stmt *row, struct jq_job_result *r)
{
    r->state = (enum jq_job_state)sqlite3_column_int(row, JQ_COL_STATE);
    r->started_at_ms = sqlite3_column_int64(row, JQ_COL_STARTED);
    r->finished_at_ms = sqlite3_column_int64(row, JQ_COL_FINISHED);
    r->exit_code = sqlite3_column_type(row, JQ_COL_EXIT_CODE) == SQLITE_NULL
                       ? -1 : sqlite3_column_int(row, JQ_COL_EXIT_CODE);
    r->signal = sqlite3_column_int(row, JQ_COL_SIGNAL);
    r->core_dumped = sqlite3_column_int(row, JQ_COL_CORE) != 0;
    r->kill_reason = (enum jq_kill_reason)sqlite3_column_int(row, JQ_COL_KILL_REASON);
    read_stream_meta(row, JQ_COL_OUT_BYTES, &r->out);
    read_stream_meta(row, JQ_COL_ERR_BYTES, &r->err);
    r->duration_ms = sqlite3_column_int64(row, JQ_COL_DURATION);
    r->cpu_user_ms = sqlite3_column_int64(row, JQ_COL_CPU_USER);
    r->cpu_sys_ms = sqlite3_column_int64(row, JQ_COL_CPU_SYS);
    r->max_rss_kb = sqlite3_column_int64(row, JQ_COL_MAX_RSS);
    r->worker_pid = sqlite3_column_int(row, JQ_COL_WORKER_PID);
}

/* The scheduling columns (after the spec is decoded: decoding clears them). */
static void read_schedule(sqlite3_stmt *row, struct jq_job_spec *spec)
{
    const unsigned char *queue = sqlite3_column_text(row, JQ_COL_QUEUE);
    snprintf(spec->queue, sizeof(spec->queue), "%s", queue ? (const char *)queue : JQ_DEFAULT_QUEUE);
    spec->run_at_ms = sqlite3_column_int64(row, JQ_COL_NOT_BEFORE);
    spec->start_by_ms = sqlite3_column_int64(row, JQ_COL_START_BY);
}

/* The heap parts of a row: spec, error text, output. */
static int read_owned(sqlite3_stmt *row, bool with_output, struct jq_job *job)
{
    size_t len;
    const void *spec = sqlite3_column_blob(row, JQ_COL_SPEC);
    int err = jq_spec_decode(spec ? spec : "", (size_t)sqlite3_column_bytes(row, JQ_COL_SPEC), &job->spec);
    if (err == JQ_ECORRUPT)
        jq_log_job(JQ_LOG_ERR, job->id, "sqlite: the stored spec is corrupt");
    if (err == 0)
        err = column_dup(row, JQ_COL_ERROR, &job->result.error, &len);
    if (err == 0 && with_output)
        err = column_dup(row, JQ_COL_STDOUT, &job->result.out.data, &job->result.out.len);
    if (err == 0 && with_output)
        err = column_dup(row, JQ_COL_STDERR, &job->result.err.data, &job->result.err.len);
    return err;
}

/* A GET/LIST row into *job (initialised here; left empty on failure). */
static int row_to_job(sqlite3_stmt *row, bool with_output, struct jq_job *job)
{
    jq_job_init(job);
    job->id = sqlite3_column_int64(row, JQ_COL_ID);
    job->state = (enum jq_job_state)sqlite3_column_int(row, JQ_COL_STATE);
    job->created_at_ms = sqlite3_column_int64(row, JQ_COL_CREATED);
    job->attempt = sqlite3_column_int(row, JQ_COL_ATTEMPT);
    job->cancel_requested = sqlite3_column_int(row, JQ_COL_CANCEL_REQ) != 0;
    bool waits = job->state == JQ_STATE_RETRY_WAIT || job->state == JQ_STATE_SCHEDULED;
    job->run_at_ms = waits ? sqlite3_column_int64(row, JQ_COL_RUN_AT) : 0;
    read_result(row, &job->result);
    int err = read_owned(row, with_output, job);
    if (err == 0)
        read_schedule(row, &job->spec);
    if (err)
        jq_job_cleanup(job);
    return err;
}

int jq_sqlite_get(struct jq_store *st, int64_t id, bool with_output, struct jq_job *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    enum jq_sql_id sid = with_output ? JQ_SQL_GET_OUTPUT : JQ_SQL_GET;
    jq_job_init(out);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, sid);
    sqlite3_bind_int64(stmt, 1, id);
    int err, rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        err = row_to_job(stmt, with_output, out);
    else
        err = rc == SQLITE_DONE ? JQ_ENOTFOUND : jq_sqlite_fail(s->db, rc, "SELECT (get)");
    sqlite3_reset(stmt);
    if (err == 0)
        err = jq_sqlite_read_attempts_locked(s, id, out);
    if (err == 0)
        err = jq_sqlite_callback_read_locked(s, id, out);
    if (err)
        jq_job_cleanup(out);
    pthread_mutex_unlock(&s->mu);
    return err;
}

int jq_sqlite_state_locked(struct jq_sqlite_store *s, int64_t id, enum jq_job_state *out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_GET_STATE);
    sqlite3_bind_int64(stmt, 1, id);
    int err = 0, rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = (enum jq_job_state)sqlite3_column_int(stmt, 0);
    else
        err = rc == SQLITE_DONE ? JQ_ENOTFOUND : jq_sqlite_fail(s->db, rc, "SELECT (state)");
    sqlite3_reset(stmt);
    return err;
}

int jq_sqlite_get_state(struct jq_store *st, int64_t id, enum jq_job_state *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_state_locked(s, id, out);
    pthread_mutex_unlock(&s->mu);
    return err;
}

static sqlite3_stmt *list_stmt_locked(struct jq_sqlite_store *s, const struct jq_list_query *q)
{
    /* The 8 list statements: +1 output, +2 state, +4 queue (store_sqlite_int.h). */
    int sid = JQ_SQL_LIST + (q->with_output ? 1 : 0) + (q->has_state ? 2 : 0) + (q->queue ? 4 : 0);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, (enum jq_sql_id)sid);
    if (q->queue)
        sqlite3_bind_text(stmt, 4, q->queue, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 1, q->after_id);
    sqlite3_bind_int64(stmt, 2, (int64_t)q->limit + 1); /* one more row tells `more` */
    if (q->has_state)
        sqlite3_bind_int(stmt, 3, (int)q->state);
    return stmt;
}

/* Step the list statement into out->jobs (room for q->limit). */
static int list_rows_locked(struct jq_sqlite_store *s, sqlite3_stmt *stmt, const struct jq_list_query *q,
                            struct jq_job_list *out)
{
    int err = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (out->n == q->limit) {
            out->more = true;
            break;
        }
        err = row_to_job(stmt, q->with_output, &out->jobs[out->n]);
        if (err)
            return err;
        out->n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (list)");
    return err;
}

int jq_sqlite_list(struct jq_store *st, const struct jq_list_query *q, struct jq_job_list *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    memset(out, 0, sizeof(*out));
    if (q->limit < 1 || q->limit > JQ_MAX_LIST_LIMIT || q->after_id < 0 ||
        (q->has_state && (unsigned)q->state >= JQ_STATE_COUNT))
        return JQ_EINVAL;
    out->jobs = calloc(q->limit, sizeof(*out->jobs));
    if (!out->jobs)
        return JQ_ENOMEM;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = list_stmt_locked(s, q);
    int err = list_rows_locked(s, stmt, q, out);
    sqlite3_reset(stmt);
    pthread_mutex_unlock(&s->mu);
    if (err)
        jq_job_list_cleanup(out);
    return err;
}

int jq_sqlite_count(struct jq_store *st, struct jq_store_counts *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    int err = 0, rc;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_COUNT);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int state = sqlite3_column_int(stmt, 0);
        if (state >= 0 && state < JQ_STATE_COUNT)
            out->by_state[state] = sqlite3_column_int64(stmt, 1);
    }
    if (rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (count)");
    sqlite3_reset(stmt);
    pthread_mutex_unlock(&s->mu);
    return err;
}
