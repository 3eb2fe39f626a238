/* store_sqlite.c: the SQLite backend's handle — open (file mode, PRAGMAs,
 * schema, prepared statements), close, the ops table, the error mapping and
 * transaction helpers the operations share, and the diagnostics of
 * store_sqlite.h. The operations themselves live in store_sqlite_write.c and
 * store_sqlite_read.c; every SQL text in store_sqlite_sql.c and
 * store_sqlite_schema.c.
 *
 * DESIGN: one connection, opened SQLITE_OPEN_FULLMUTEX, plus our own mutex
 * held for each whole operation (see store_sqlite_int.h). Durability comes
 * from journal_mode=WAL with synchronous=FULL: a commit returns after the
 * WAL is fsynced. Both are read back after being set and the open fails if
 * SQLite did not take them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_sqlite.h"
#include "store_sqlite_int.h"

/* After a checkpoint, the WAL file is truncated to at most this size. */
#define WAL_SIZE_LIMIT_BYTES (64 * 1024 * 1024)
/* SQLite's own page cache (its default is 2 MiB). The hot paths touch a few
 * pages each (a claim: the index's first leaf and the rows' B-tree path;
 * the OS caches the file anyway), so a small cache keeps the master's
 * memory low and flat (docs/benchmarks.md) at no measurable cost, also with
 * a million jobs queued. */
#define PAGE_CACHE_KIB 512

int jq_sqlite_fail(sqlite3 *db, int rc, const char *what)
{
    jq_log(JQ_LOG_ERR, "sqlite: %s failed: %s (%d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
    switch (rc & 0xff) {
    case SQLITE_FULL: return JQ_EFULL;
    case SQLITE_NOMEM: return JQ_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return JQ_ECORRUPT;
    default: return JQ_EIO;
    }
}

sqlite3_stmt *jq_sqlite_stmt(struct jq_sqlite_store *s, enum jq_sql_id id)
{
    sqlite3_stmt *stmt = s->stmt[id];
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return stmt;
}

int jq_sqlite_exec_locked(struct jq_sqlite_store *s, enum jq_sql_id id, const char *what)
{
    sqlite3_stmt *stmt = s->stmt[id];
    int rc = sqlite3_step(stmt);
    int err = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : jq_sqlite_fail(s->db, rc, what);
    sqlite3_reset(stmt);
    return err;
}

int jq_sqlite_min_locked(struct jq_sqlite_store *s, enum jq_sql_id id, const char *what, int64_t *out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, id);
    int err = 0, rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(stmt, 0);
    else
        err = jq_sqlite_fail(s->db, rc, what);
    sqlite3_reset(stmt);
    return err;
}

int jq_sqlite_due_batch(struct jq_sqlite_store *s, const struct jq_sqlite_due *due, int64_t *next_out)
{
    int64_t next = 0;
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_min_locked(s, due->next_id, due->what, &next);
    bool work = err == 0 && next != 0 && next <= due->due_at_ms;
    if (work)
        err = jq_sqlite_begin_locked(s);
    if (work && err == 0) {
        err = due->apply(s, due->ctx);
        if (err == 0)
            err = jq_sqlite_min_locked(s, due->next_id, due->what, &next);
        err = jq_sqlite_end_locked(s, err);
    }
    pthread_mutex_unlock(&s->mu);
    if (next_out)
        *next_out = err ? 0 : next;
    return err;
}

int jq_sqlite_begin_locked(struct jq_sqlite_store *s)
{
    return jq_sqlite_exec_locked(s, JQ_SQL_BEGIN, "BEGIN IMMEDIATE");
}

int jq_sqlite_commit_locked(struct jq_sqlite_store *s)
{
    int err = jq_sqlite_exec_locked(s, JQ_SQL_COMMIT, "COMMIT");
    if (err)
        jq_sqlite_rollback_locked(s);
    return err;
}

int jq_sqlite_end_locked(struct jq_sqlite_store *s, int err)
{
    if (err == 0)
        return jq_sqlite_commit_locked(s);
    jq_sqlite_rollback_locked(s);
    return err;
}

void jq_sqlite_rollback_locked(struct jq_sqlite_store *s)
{
    /* After some errors SQLite has already rolled back; ROLLBACK would fail. */
    if (!sqlite3_get_autocommit(s->db))
        (void)jq_sqlite_exec_locked(s, JQ_SQL_ROLLBACK, "ROLLBACK");
}

/* Create the file (or tighten an existing one) with mode 0600 before SQLite
 * opens it: SQLite gives the -wal and -shm files the database's mode, and
 * the umask is process-wide, so it is no tool for this in a threaded master. */
static int prepare_file(const char *path)
{
    struct stat sb;
    int err = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "open(%s) failed", path);
        return JQ_EIO;
    }
    if (fstat(fd, &sb) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "fstat(%s) failed", path);
        err = JQ_EIO;
    } else if (!S_ISREG(sb.st_mode)) {
        jq_log(JQ_LOG_ERR, "sqlite: %s is not a regular file", path);
        err = JQ_EIO;
    } else if ((sb.st_mode & 077) != 0) {
        jq_log(JQ_LOG_WARN, "sqlite: %s was readable by others (mode %03o): set to 0600", path,
               (unsigned)(sb.st_mode & 0777));
        if (fchmod(fd, 0600) != 0) {
            jq_log_errno(JQ_LOG_ERR, errno, "fchmod(%s) failed", path);
            err = JQ_EIO;
        }
    }
    close(fd);
    return err;
}

/* Run a PRAGMA and return its first column as text in buf ("" if no row). */
static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *stmt = NULL;
    int err = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = jq_sqlite_fail(db, rc, sql);
        goto out;
    }
    const unsigned char *text = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
    size_t len = text ? strlen((const char *)text) : 0;
    if (len >= cap) {
        err = JQ_ETOOBIG;
        goto out;
    }
    memcpy(buf, text ? (const char *)text : "", len + 1);
out:
    sqlite3_finalize(stmt);
    return err;
}

/* The PRAGMAs jobq insists on: set, read back, compare. */
struct pragma_want {
    const char *set;
    const char *name;
    const char *want;
};

static const struct pragma_want pragmas[] = {
    {"PRAGMA journal_mode = WAL", "journal_mode", "wal"},
    {"PRAGMA synchronous = FULL", "synchronous", "2"},
    {"PRAGMA foreign_keys = ON", "foreign_keys", "1"},
    {"PRAGMA trusted_schema = OFF", "trusted_schema", "0"},
};
#define N_PRAGMAS (sizeof(pragmas) / sizeof(pragmas[0]))

/* Set one PRAGMA, read it back into got (cap bytes) and insist on the
 * expected value. */
static int pragma_require(sqlite3 *db, const struct pragma_want *p, char *got, size_t cap)
{
    char get[64];
    snprintf(get, sizeof(get), "PRAGMA %s", p->name);
    int err = pragma_text(db, p->set, got, cap);
    if (err == 0)
        err = pragma_text(db, get, got, cap);
    if (err == 0 && strcmp(got, p->want) != 0) {
        jq_log(JQ_LOG_ERR, "sqlite: %s did not take: %s is \"%s\", want \"%s\"", p->set, p->name, got,
               p->want);
        err = JQ_EIO;
    }
    return err;
}

/* Apply the PRAGMAs; on success summary holds "name=value ..." as read
 * back, for the one log line at open. */
static int configure(sqlite3 *db, char *summary, size_t cap)
{
    char got[32], sql[64];
    size_t used = 0;
    summary[0] = '\0';
    /* First: it only takes before the first table is created (an older
     * database is converted after the migration). */
    int err = pragma_text(db, "PRAGMA auto_vacuum = INCREMENTAL", got, sizeof(got));
    for (size_t i = 0; err == 0 && i < N_PRAGMAS; i++) {
        err = pragma_require(db, &pragmas[i], got, sizeof(got));
        if (err == 0 && used < cap)
            used += (size_t)snprintf(summary + used, cap - used, "%s%s=%s", i ? " " : "", pragmas[i].name, got);
    }
    if (err == 0) {
        snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %d", WAL_SIZE_LIMIT_BYTES);
        err = pragma_text(db, sql, got, sizeof(got));
    }
    if (err == 0) {
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", PAGE_CACHE_KIB);
        err = pragma_text(db, sql, got, sizeof(got));
    }
    return err;
}

/* auto_vacuum=INCREMENTAL: set before the first table exists it takes at
 * once; a database made before jobq used it is converted by one VACUUM
 * (a full rewrite: logged, once per database). */
static int ensure_incremental_vacuum(sqlite3 *db)
{
    int64_t mode = 0;
    int err = jq_sqlite_query_int(db, "PRAGMA auto_vacuum", &mode);
    if (err || mode == 2)
        return err;
    jq_log(JQ_LOG_WARN, "sqlite: converting the database to auto_vacuum=INCREMENTAL (one VACUUM, once)");
    int rc = sqlite3_exec(db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return jq_sqlite_fail(db, rc, "VACUUM (auto_vacuum=INCREMENTAL)");
    err = jq_sqlite_query_int(db, "PRAGMA auto_vacuum", &mode);
    if (err == 0 && mode != 2) {
        jq_log(JQ_LOG_ERR, "sqlite: auto_vacuum is %lld after VACUUM, want 2", (long long)mode);
        err = JQ_EIO;
    }
    return err;
}

static int prepare_all(struct jq_sqlite_store *s)
{
    for (int i = 0; i < JQ_SQL_N; i++) {
        int rc = sqlite3_prepare_v3(s->db, jq_sqlite_sql((enum jq_sql_id)i), -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmt[i], NULL);
        if (rc != SQLITE_OK)
            return jq_sqlite_fail(s->db, rc, jq_sqlite_sql((enum jq_sql_id)i));
    }
    return 0;
}

static void sqlite_close(struct jq_store *st)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    for (int i = 0; i < JQ_SQL_N; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db) {
        int rc = sqlite3_close(s->db);
        if (rc != SQLITE_OK)
            jq_log(JQ_LOG_ERR, "sqlite: close failed: %s", sqlite3_errstr(rc));
    }
    pthread_mutex_destroy(&s->mu);
    free(s->scratch);
    free(s);
}

static const struct jq_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .enqueue = jq_sqlite_enqueue,
    .enqueue_group = jq_sqlite_enqueue_group,
    .claim = jq_sqlite_claim,
    .complete = jq_sqlite_complete,
    .complete_claim = jq_sqlite_complete_claim,
    .get = jq_sqlite_get,
    .get_state = jq_sqlite_get_state,
    .list = jq_sqlite_list,
    .cancel_queued = jq_sqlite_cancel_queued,
    .mark_cancel_requested = jq_sqlite_mark_cancel_requested,
    .recover = jq_sqlite_recover,
    .count = jq_sqlite_count,
    .writable = jq_sqlite_writable,
    .promote_due = jq_sqlite_promote_due,
    .requeue = jq_sqlite_requeue,
    .expire_due = jq_sqlite_expire_due,
    .queue_update = jq_sqlite_queue_update,
    .queue_list = jq_sqlite_queue_list,
    .enqueue_idempotent = jq_sqlite_enqueue_idempotent,
    .purge_job = jq_sqlite_purge_job,
    .purge_finished = jq_sqlite_purge_finished,
    .maintain = jq_sqlite_maintain,
    .space = jq_sqlite_space,
    .schedule_create = jq_sqlite_schedule_create,
    .schedule_get = jq_sqlite_schedule_get,
    .schedule_list = jq_sqlite_schedule_list,
    .schedule_delete = jq_sqlite_schedule_delete,
    .schedule_set_paused = jq_sqlite_schedule_set_paused,
    .schedule_due = jq_sqlite_schedule_due,
    .schedule_fire = jq_sqlite_schedule_fire,
    .callbacks_due = jq_sqlite_callbacks_due,
    .callback_record = jq_sqlite_callback_record,
};

static int open_db(struct jq_sqlite_store *s, const char *path, char *summary, size_t cap)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW |
                SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (!s->db)
            return JQ_ENOMEM;
        return jq_sqlite_fail(s->db, rc, "sqlite3_open_v2");
    }
    sqlite3_busy_timeout(s->db, JQ_SQLITE_BUSY_TIMEOUT_MS);
    int err = configure(s->db, summary, cap);
    if (err == 0)
        err = jq_sqlite_migrate(s->db);
    if (err == 0)
        err = ensure_incremental_vacuum(s->db);
    if (err == 0)
        err = prepare_all(s);
    return err;
}

int jq_store_open_sqlite(struct jq_store **out, const char *path)
{
    char summary[160];
    *out = NULL;
    struct jq_sqlite_store *s = calloc(1, sizeof(*s));
    if (!s)
        return JQ_ENOMEM;
    s->base.ops = &sqlite_ops;
    s->rng = (uint64_t)jq_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)s;
    int rc = pthread_mutex_init(&s->mu, NULL);
    if (rc != 0) {
        jq_log_errno(JQ_LOG_ERR, rc, "pthread_mutex_init() failed");
        free(s);
        return JQ_ESYS;
    }
    int err = prepare_file(path);
    if (err == 0)
        err = open_db(s, path, summary, sizeof(summary));
    if (err) {
        sqlite_close(&s->base);
        return err;
    }
    jq_log(JQ_LOG_INFO, "sqlite %s: opened %s (%s, schema version %d)", sqlite3_libversion(), path, summary,
           JQ_STORE_SQLITE_SCHEMA_VERSION);
    *out = &s->base;
    return 0;
}

/* ---- diagnostics (store_sqlite.h) ---- */

/* The handle as a SQLite store, or NULL if another backend made it. */
static struct jq_sqlite_store *sqlite_handle(struct jq_store *st)
{
    return st && st->ops == &sqlite_ops ? jq_sqlite_of(st) : NULL;
}

/* The statements whose plans the diagnostics show, by name. */
static const struct {
    const char *name;
    enum jq_sql_id id;
} planned[] = {
    {"claim", JQ_SQL_CLAIM_SELECT},         {"queue_next", JQ_SQL_QUEUE_NEXT},
    {"queue_candidates", JQ_SQL_QUEUE_CANDIDATES}, {"promote", JQ_SQL_PROMOTE},
    {"next_run_at", JQ_SQL_NEXT_RUN_AT},    {"expire", JQ_SQL_EXPIRE_SELECT},
    {"next_start_by", JQ_SQL_NEXT_START_BY}, {"queue_counts", JQ_SQL_QUEUE_COUNTS},
};

int jq_store_sqlite_claim_plan(struct jq_store *st, char *buf, size_t cap)
{
    return jq_store_sqlite_plan(st, "claim", buf, cap);
}

int jq_store_sqlite_plan(struct jq_store *st, const char *name, char *buf, size_t cap)
{
    struct jq_sqlite_store *s = sqlite_handle(st);
    int which = -1;
    for (size_t i = 0; i < sizeof(planned) / sizeof(planned[0]); i++)
        if (strcmp(planned[i].name, name) == 0)
            which = (int)i;
    if (which < 0)
        return JQ_EINVAL;
    sqlite3_stmt *stmt = NULL;
    size_t used = 0;
    int err = 0;
    if (!s)
        return JQ_EINVAL;
    if (cap == 0)
        return JQ_ETOOBIG;
    buf[0] = '\0';
    pthread_mutex_lock(&s->mu);
    char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", jq_sqlite_sql(planned[which].id));
    int rc = sql ? sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) : SQLITE_NOMEM;
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(stmt, 3);
        size_t len = detail ? strlen(detail) : 0;
        if (used + len + 2 > cap) {
            err = JQ_ETOOBIG;
            goto out;
        }
        memcpy(buf + used, detail ? detail : "", len);
        used += len;
        buf[used++] = '\n';
        buf[used] = '\0';
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "EXPLAIN QUERY PLAN");
out:
    sqlite3_finalize(stmt);
    sqlite3_free(sql);
    pthread_mutex_unlock(&s->mu);
    return err;
}

static bool pragma_name_ok(const char *name)
{
    if (!name[0] || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return false;
    return true;
}

int jq_store_sqlite_pragma(struct jq_store *st, const char *name, char *buf, size_t cap)
{
    struct jq_sqlite_store *s = sqlite_handle(st);
    char sql[80];
    if (!s || !pragma_name_ok(name))
        return JQ_EINVAL;
    snprintf(sql, sizeof(sql), "PRAGMA %s", name);
    pthread_mutex_lock(&s->mu);
    int err = pragma_text(s->db, sql, buf, cap);
    pthread_mutex_unlock(&s->mu);
    return err;
}

int jq_store_sqlite_set_max_pages(struct jq_store *st, int64_t max_pages, int64_t *pages_out)
{
    struct jq_sqlite_store *s = sqlite_handle(st);
    char sql[64], got[32];
    if (!s)
        return JQ_EINVAL;
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)max_pages);
    pthread_mutex_lock(&s->mu);
    int err = pragma_text(s->db, sql, got, sizeof(got));
    pthread_mutex_unlock(&s->mu);
    if (err == 0 && pages_out)
        *pages_out = strtoll(got, NULL, 10);
    return err;
}
