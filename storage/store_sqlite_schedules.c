/* store_sqlite_schedules.c: periodic jobs — the schedules table (create,
 * read, list, delete, pause/resume), the due ones for the master's timer,
 * and the firing of one tick.
 *
 * DESIGN: firing a tick is one transaction that inserts the tick's job,
 * stamps it (schedule_id, tick_ms) under a unique index, and moves the
 * schedule's next tick on only if it still is the tick being fired. A crash
 * before the commit leaves the tick pending (it fires again after the
 * restart, once); after it, the tick is done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jq_limits.h"
#include "log.h"
#include "store_sqlite_int.h"

/* A row of SCHED_COLS into *out (template copied to the heap). */
static int read_row(sqlite3_stmt *stmt, struct jq_schedule *out)
{
    const unsigned char *cron = sqlite3_column_text(stmt, 1);
    const unsigned char *tmpl = sqlite3_column_text(stmt, 2);
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(stmt, 0);
    snprintf(out->cron, sizeof(out->cron), "%s", cron ? (const char *)cron : "");
    out->template_json = strdup(tmpl ? (const char *)tmpl : "{}");
    out->paused = sqlite3_column_int(stmt, 3) != 0;
    out->next_tick_ms = sqlite3_column_int64(stmt, 4);
    out->last_tick_ms = sqlite3_column_int64(stmt, 5);
    out->last_job_id = sqlite3_column_int64(stmt, 6);
    out->created_at_ms = sqlite3_column_int64(stmt, 7);
    return out->template_json ? 0 : JQ_ENOMEM;
}

/* Step stmt (bound) into list, at most max rows. */
static int read_rows_locked(struct jq_sqlite_store *s, sqlite3_stmt *stmt, size_t max, struct jq_schedule_list *list)
{
    int err = 0, rc = SQLITE_DONE;
    memset(list, 0, sizeof(*list));
    list->v = calloc(max ? max : 1, sizeof(*list->v));
    if (!list->v)
        return JQ_ENOMEM;
    while (err == 0 && list->n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        err = read_row(stmt, &list->v[list->n++]);
    if (err == 0 && list->n < max && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (schedules)");
    sqlite3_reset(stmt);
    if (err)
        jq_schedule_list_cleanup(list);
    return err;
}

int jq_sqlite_schedule_create(struct jq_store *st, struct jq_schedule *sch)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    int64_t count = 0;
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0)
        err = jq_sqlite_min_locked(s, JQ_SQL_SCHED_COUNT, "SELECT (schedule count)", &count);
    if (err == 0 && count >= JQ_MAX_SCHEDULES)
        err = JQ_ETOOBIG;
    if (err == 0) {
        sch->created_at_ms = jq_now_ms();
        sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_SCHED_INSERT);
        sqlite3_bind_text(stmt, 1, sch->cron, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, sch->template_json, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 3, sch->paused);
        sqlite3_bind_int64(stmt, 4, sch->next_tick_ms);
        sqlite3_bind_int64(stmt, 5, sch->created_at_ms);
        err = jq_sqlite_exec_locked(s, JQ_SQL_SCHED_INSERT, "INSERT (schedule)");
        sch->id = sqlite3_last_insert_rowid(s->db);
    }
    err = jq_sqlite_end_locked(s, err);
    pthread_mutex_unlock(&s->mu);
    return err;
}

int jq_sqlite_schedule_get(struct jq_store *st, int64_t id, struct jq_schedule *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    struct jq_schedule_list list;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_SCHED_GET);
    sqlite3_bind_int64(stmt, 1, id);
    int err = read_rows_locked(s, stmt, 1, &list);
    pthread_mutex_unlock(&s->mu);
    if (err == 0 && list.n == 0)
        err = JQ_ENOTFOUND;
    if (err == 0) {
        *out = list.v[0];
        list.n = 0; /* moved out */
    }
    jq_schedule_list_cleanup(&list);
    return err;
}

int jq_sqlite_schedule_list(struct jq_store *st, struct jq_schedule_list *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_SCHED_LIST);
    sqlite3_bind_int64(stmt, 1, JQ_MAX_SCHEDULES);
    int err = read_rows_locked(s, stmt, JQ_MAX_SCHEDULES, out);
    pthread_mutex_unlock(&s->mu);
    return err;
}

/* Run a bound one-row change; JQ_ENOTFOUND when it changed nothing. */
static int change_one_locked(struct jq_sqlite_store *s, enum jq_sql_id id, const char *what)
{
    int err = jq_sqlite_exec_locked(s, id, what);
    return err ? err : sqlite3_changes(s->db) == 1 ? 0 : JQ_ENOTFOUND;
}

int jq_sqlite_schedule_delete(struct jq_store *st, int64_t id)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_SCHED_DELETE);
    sqlite3_bind_int64(stmt, 1, id);
    int err = change_one_locked(s, JQ_SQL_SCHED_DELETE, "DELETE (schedule)");
    pthread_mutex_unlock(&s->mu);
    return err;
}

int jq_sqlite_schedule_set_paused(struct jq_store *st, int64_t id, bool paused, int64_t next_tick_ms)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_SCHED_PAUSE);
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int(stmt, 2, paused);
    sqlite3_bind_int64(stmt, 3, next_tick_ms);
    int err = change_one_locked(s, JQ_SQL_SCHED_PAUSE, "UPDATE (schedule paused)");
    pthread_mutex_unlock(&s->mu);
    return err;
}

int jq_sqlite_schedule_due(struct jq_store *st, int64_t now_ms, size_t max, struct jq_schedule_list *out,
                           int64_t *next_tick_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    int64_t next = 0;
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_min_locked(s, JQ_SQL_SCHED_NEXT, "SELECT (next tick)", &next);
    memset(out, 0, sizeof(*out));
    if (err == 0 && next != 0 && next <= now_ms) {
        sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_SCHED_DUE);
        sqlite3_bind_int64(stmt, 1, now_ms);
        sqlite3_bind_int64(stmt, 2, (int64_t)max);
        err = read_rows_locked(s, stmt, max, out);
    }
    pthread_mutex_unlock(&s->mu);
    if (next_tick_out)
        *next_tick_out = err ? 0 : next;
    return err;
}

/* The tick's job: inserted and stamped with (schedule, tick). */
static int insert_tick_job_locked(struct jq_sqlite_store *s, int64_t sched, int64_t tick_ms,
                                  const struct jq_job_spec *spec, int64_t *job_id)
{
    int err = jq_sqlite_insert_jobs_locked(s, spec, 1, jq_now_ms(), job_id);
    if (err)
        return err;
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_JOB_TICK);
    sqlite3_bind_int64(stmt, 1, *job_id);
    sqlite3_bind_int64(stmt, 2, sched);
    sqlite3_bind_int64(stmt, 3, tick_ms);
    return jq_sqlite_exec_locked(s, JQ_SQL_JOB_TICK, "UPDATE (tick of the job)");
}

int jq_sqlite_schedule_fire(struct jq_store *st, int64_t id, int64_t tick_ms, const struct jq_job_spec *spec,
                            int64_t next_tick_ms, int64_t *job_id_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    int64_t job_id = 0;
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0 && spec)
        err = insert_tick_job_locked(s, id, tick_ms, spec, &job_id);
    if (err == 0) {
        sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_SCHED_ADVANCE);
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, tick_ms);
        sqlite3_bind_int64(stmt, 3, next_tick_ms);
        sqlite3_bind_int64(stmt, 4, job_id);
        err = change_one_locked(s, JQ_SQL_SCHED_ADVANCE, "UPDATE (schedule tick)");
    }
    err = jq_sqlite_end_locked(s, err);
    pthread_mutex_unlock(&s->mu);
    if (err == JQ_ENOTFOUND) { /* handled already, paused or deleted meanwhile */
        jq_log(JQ_LOG_DEBUG, "schedule %lld: tick %lld already handled", (long long)id, (long long)tick_ms);
        err = 0;
        job_id = 0;
    }
    *job_id_out = err ? 0 : job_id;
    return err;
}
