/* store_sqlite_purge.c: retention — finished jobs deleted with their
 * attempt history and idempotency key, one job on request or the oldest in
 * short batches; then the space is given back (incremental vacuum) and the
 * WAL truncated; and the size report of /v1/stats. A purged job's callback
 * goes with it (delivered or not).
 *
 * DESIGN: a batch is its own transaction of at most a few hundred rows, and
 * the store's mutex is released between batches, so a purge never holds
 * the write lock long enough to stall submissions. The database runs with
 * auto_vacuum=INCREMENTAL (store_sqlite.c sets it, converting an older file
 * once): deleted pages go to the freelist and incremental_vacuum returns a
 * bounded number of them to the file system per call. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "store_sqlite_int.h"

/* Pages handed back per maintenance call (16 MiB at 4 KiB pages). */
#define VACUUM_PAGES_PER_CALL 4096

static int delete_one_locked(struct jq_sqlite_store *s, int64_t id)
{
    static const enum jq_sql_id steps[] = {JQ_SQL_PURGE_ATTEMPTS, JQ_SQL_PURGE_IDEM, JQ_SQL_PURGE_CALLBACK,
                                           JQ_SQL_PURGE_DELIVERIES, JQ_SQL_PURGE_JOB};
    int err = 0;
    for (size_t i = 0; err == 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
        sqlite3_stmt *stmt = jq_sqlite_stmt(s, steps[i]);
        sqlite3_bind_int64(stmt, 1, id);
        err = jq_sqlite_exec_locked(s, steps[i], "DELETE (purge)");
    }
    return err;
}

int jq_sqlite_purge_job(struct jq_store *st, int64_t id, enum jq_job_state *state_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    enum jq_job_state state = JQ_STATE_QUEUED;
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0)
        err = jq_sqlite_state_locked(s, id, &state);
    if (err == 0 && !jq_state_is_terminal(state))
        err = JQ_ESTATE;
    if (err == 0)
        err = delete_one_locked(s, id);
    err = jq_sqlite_end_locked(s, err);
    pthread_mutex_unlock(&s->mu);
    if (state_out)
        *state_out = state;
    return err;
}

/* Up to max ids of jobs finished at or before `before`, oldest first. */
static int oldest_locked(struct jq_sqlite_store *s, int64_t before, int64_t *ids, size_t max, size_t *n_out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_PURGE_OLDEST);
    size_t n = 0;
    int rc = SQLITE_DONE;
    sqlite3_bind_int64(stmt, 1, before);
    sqlite3_bind_int64(stmt, 2, (int64_t)max);
    while (n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(stmt, 0);
    int err = (n < max && rc != SQLITE_DONE) ? jq_sqlite_fail(s->db, rc, "SELECT (purge)") : 0;
    sqlite3_reset(stmt);
    *n_out = n;
    return err;
}

static int purge_batch_locked(struct jq_sqlite_store *s, void *ctx)
{
    struct jq_sqlite_id_batch *p = ctx;
    int err = oldest_locked(s, p->at_ms, p->ids, p->max, &p->n);
    for (size_t i = 0; err == 0 && i < p->n; i++)
        err = delete_one_locked(s, p->ids[i]);
    return err;
}

int jq_sqlite_purge_finished(struct jq_store *st, int64_t finished_before_ms, int64_t *ids_out, size_t max,
                             size_t *n_out, int64_t *oldest_finished_out)
{
    struct jq_sqlite_id_batch p = {finished_before_ms, ids_out, max, 0};
    struct jq_sqlite_due due = {JQ_SQL_OLDEST_FINISHED, "SELECT (oldest finished)",
                                max > 0 ? finished_before_ms : 0, purge_batch_locked, &p};
    int err = jq_sqlite_due_batch(jq_sqlite_of(st), &due, oldest_finished_out);
    *n_out = err ? 0 : p.n;
    return err;
}

/* Step a PRAGMA that may return rows to its end. */
static int run_pragma_locked(struct jq_sqlite_store *s, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        rc = SQLITE_OK;
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : jq_sqlite_fail(s->db, rc, sql);
}

int jq_sqlite_maintain(struct jq_store *st)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    char sql[64];
    int log_frames = 0, done_frames = 0;
    snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", VACUUM_PAGES_PER_CALL);
    pthread_mutex_lock(&s->mu);
    int err = run_pragma_locked(s, sql);
    /* TRUNCATE: every frame copied back, the WAL file cut to zero bytes.
     * This connection is the only one, so no reader can hold it up. */
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &done_frames);
    if (err == 0 && rc != SQLITE_OK)
        err = jq_sqlite_fail(s->db, rc, "wal_checkpoint(TRUNCATE)");
    pthread_mutex_unlock(&s->mu);
    return err;
}

static int64_t file_bytes(const char *path)
{
    struct stat sb;
    return path && stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int jq_sqlite_space(struct jq_store *st, struct jq_store_space *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    int64_t pages = 0, free_pages = 0, page_size = 0;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_query_int(s->db, "PRAGMA page_count", &pages);
    if (err == 0)
        err = jq_sqlite_query_int(s->db, "PRAGMA freelist_count", &free_pages);
    if (err == 0)
        err = jq_sqlite_query_int(s->db, "PRAGMA page_size", &page_size);
    const char *db_file = sqlite3_db_filename(s->db, "main");
    char wal[4200];
    snprintf(wal, sizeof(wal), "%s-wal", db_file ? db_file : "");
    pthread_mutex_unlock(&s->mu);
    out->database_bytes = pages * page_size;
    out->free_bytes = free_pages * page_size;
    out->wal_bytes = db_file ? file_bytes(wal) : 0;
    return err;
}
