/* store_sqlite_expire.c: the start_by deadline — jobs that were never
 * started by then become expired, in batches, and the earliest deadline
 * still pending tells the master when to look again (no polling). */
#include <stdint.h>

#include "store_sqlite_int.h"

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

static int expire_batch_locked(struct jq_sqlite_store *s, void *ctx)
{
    struct jq_sqlite_id_batch *e = ctx;
    int err = overdue_locked(s, e->at_ms, e->ids, e->max, &e->n);
    if (err == 0)
        err = expire_ids_locked(s, e->ids, e->n, e->at_ms);
    return err;
}

int jq_sqlite_expire_due(struct jq_store *st, int64_t now_ms, int64_t *ids_out, size_t max, size_t *n_out,
                         int64_t *next_start_by_out)
{
    struct jq_sqlite_id_batch e = {now_ms, ids_out, max, 0};
    struct jq_sqlite_due due = {JQ_SQL_NEXT_START_BY, "SELECT (next start_by)", max > 0 ? now_ms : 0,
                                expire_batch_locked, &e};
    int err = jq_sqlite_due_batch(jq_sqlite_of(st), &due, next_start_by_out);
    *n_out = err ? 0 : e.n;
    return err;
}
