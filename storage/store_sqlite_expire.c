/* store_sqlite_expire.c: the start_by deadline — jobs that were never
 * started by then become expired, in batches, and the earliest deadline
 * still pending tells the master when to look again (no polling). */
#include <stdint.h>

#include "store_sqlite_int.h"

/* The earliest start_by of a job that may still expire, or 0. */
static int next_start_by_locked(struct jq_sqlite_store *s, int64_t *out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_NEXT_START_BY);
    int err = 0, rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(stmt, 0);
    else
        err = jq_sqlite_fail(s->db, rc, "SELECT (next start_by)");
    sqlite3_reset(stmt);
    return err;
}

/* Up to max overdue ids, read to the end before any row changes. */
static int overdue_locked(struct jq_sqlite_store *s, int64_t now_ms, int64_t *ids, size_t max, size_t *n_out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_EXPIRE_SELECT);
    size_t n = 0;
    int err = 0, rc = SQLITE_DONE;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, max > INT32_MAX ? INT32_MAX : (int64_t)max);
    while (n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(stmt, 0);
    if (n < max && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (overdue jobs)");
    sqlite3_reset(stmt);
    *n_out = n;
    return err;
}

static int expire_ids_locked(struct jq_sqlite_store *s, const int64_t *ids, size_t n, int64_t now_ms)
{
    int err = 0;
    for (size_t i = 0; err == 0 && i < n; i++) {
        sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_EXPIRE_ONE);
        sqlite3_bind_int64(stmt, 1, ids[i]);
        sqlite3_bind_int64(stmt, 2, now_ms);
        err = jq_sqlite_exec_locked(s, JQ_SQL_EXPIRE_ONE, "UPDATE (expire)");
    }
    return err;
}

/* Nothing overdue (the common case: one index probe) needs no write
 * transaction. */
int jq_sqlite_expire_due(struct jq_store *st, int64_t now_ms, int64_t *ids_out, size_t max, size_t *n_out,
                         int64_t *next_start_by_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    int64_t next = 0;
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    int err = next_start_by_locked(s, &next);
    bool due = err == 0 && next != 0 && next <= now_ms && max > 0;
    if (due)
        err = jq_sqlite_begin_locked(s);
    if (due && err == 0) {
        err = overdue_locked(s, now_ms, ids_out, max, &n);
        if (err == 0)
            err = expire_ids_locked(s, ids_out, n, now_ms);
        if (err == 0)
            err = next_start_by_locked(s, &next);
        if (err == 0)
            err = jq_sqlite_commit_locked(s);
        else
            jq_sqlite_rollback_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    *n_out = err ? 0 : n;
    if (next_start_by_out)
        *next_start_by_out = err ? 0 : next;
    return err;
}
