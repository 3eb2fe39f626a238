/* store_sqlite_schema.c: the database schema and its forward migrations.
 *
 * DESIGN: PRAGMA user_version is the schema version; migrations[i] takes the
 * schema from version i to i + 1. At open, every pending step runs inside
 * one BEGIN IMMEDIATE transaction together with the new user_version, so a
 * crash mid-migration leaves the old schema intact. A database newer than
 * this binary is refused (running old code on a newer schema could corrupt
 * it), and so is a SQLite file that belongs to something else (its
 * application_id differs, or it has tables but no version). Never edit a
 * shipped migration: add the next one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>

#include "log.h"
#include "store_sqlite.h"
#include "store_sqlite_int.h"

/* PRAGMA application_id of a jobq database: "jobq" in ASCII. */
#define JQ_APPLICATION_ID 0x6a6f6271

/* The columns of the v1 jobs table, copied as they are by migration v2. */
#define V1_COLS                                                                             \
    "id, state, priority, created_at_ms, started_at_ms, finished_at_ms, attempt, "          \
    "cancel_requested, exit_code, signal, core_dumped, kill_reason, error, stdout_bytes, "  \
    "stdout_truncated, stderr_bytes, stderr_truncated, duration_ms, cpu_user_ms, "          \
    "cpu_sys_ms, max_rss_kb, worker_pid, spec, stdout, stderr"

/* The definitions of the jobs columns from created_at_ms to run_at_ms, the
 * same in v2 and v3 (the text of v2 is unchanged by naming them). */
#define RESULT_COLUMNS                                                                      \
    " created_at_ms INTEGER NOT NULL,"                                                      \
    " started_at_ms INTEGER NOT NULL DEFAULT 0,"                                            \
    " finished_at_ms INTEGER NOT NULL DEFAULT 0,"                                           \
    " attempt INTEGER NOT NULL DEFAULT 0,"                                                  \
    " cancel_requested INTEGER NOT NULL DEFAULT 0,"                                         \
    " exit_code INTEGER,"                                                                   \
    " signal INTEGER NOT NULL DEFAULT 0,"                                                   \
    " core_dumped INTEGER NOT NULL DEFAULT 0,"                                              \
    " kill_reason INTEGER NOT NULL DEFAULT 0,"                                              \
    " error TEXT,"                                                                          \
    " stdout_bytes INTEGER NOT NULL DEFAULT 0,"                                             \
    " stdout_truncated INTEGER NOT NULL DEFAULT 0,"                                         \
    " stderr_bytes INTEGER NOT NULL DEFAULT 0,"                                             \
    " stderr_truncated INTEGER NOT NULL DEFAULT 0,"                                         \
    " duration_ms INTEGER NOT NULL DEFAULT 0,"                                              \
    " cpu_user_ms INTEGER NOT NULL DEFAULT 0,"                                              \
    " cpu_sys_ms INTEGER NOT NULL DEFAULT 0,"                                               \
    " max_rss_kb INTEGER NOT NULL DEFAULT 0,"                                               \
    " worker_pid INTEGER NOT NULL DEFAULT 0,"                                               \
    " run_at_ms INTEGER NOT NULL DEFAULT 0,"

/* The columns of the v2 jobs table, copied as they are by migration v3. */
#define V2_COLS V1_COLS ", run_at_ms"

static const char *const migrations[JQ_STORE_SQLITE_SCHEMA_VERSION] = {
    /* v1: the jobs table. ids are never reused (AUTOINCREMENT). The big
     * BLOBs come last so that reading a row without its output never
     * touches their overflow pages. */
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 6),"
    " priority INTEGER NOT NULL,"
    " created_at_ms INTEGER NOT NULL,"
    " started_at_ms INTEGER NOT NULL DEFAULT 0,"
    " finished_at_ms INTEGER NOT NULL DEFAULT 0,"
    " attempt INTEGER NOT NULL DEFAULT 0,"
    " cancel_requested INTEGER NOT NULL DEFAULT 0,"
    " exit_code INTEGER,"
    " signal INTEGER NOT NULL DEFAULT 0,"
    " core_dumped INTEGER NOT NULL DEFAULT 0,"
    " kill_reason INTEGER NOT NULL DEFAULT 0,"
    " error TEXT,"
    " stdout_bytes INTEGER NOT NULL DEFAULT 0,"
    " stdout_truncated INTEGER NOT NULL DEFAULT 0,"
    " stderr_bytes INTEGER NOT NULL DEFAULT 0,"
    " stderr_truncated INTEGER NOT NULL DEFAULT 0,"
    " duration_ms INTEGER NOT NULL DEFAULT 0,"
    " cpu_user_ms INTEGER NOT NULL DEFAULT 0,"
    " cpu_sys_ms INTEGER NOT NULL DEFAULT 0,"
    " max_rss_kb INTEGER NOT NULL DEFAULT 0,"
    " worker_pid INTEGER NOT NULL DEFAULT 0,"
    " spec BLOB NOT NULL,"
    " stdout BLOB,"
    " stderr BLOB);"
    /* The claim: next queued job by priority DESC, id ASC, in O(log n).
     * Partial: only queued rows are in it, so it stays as small as the
     * queue and a job leaves it for good when it is claimed or cancelled.
     * The leading state column lets the plan be a SEARCH (state=?). */
    "CREATE INDEX jobs_claim ON jobs (state, priority DESC, id) WHERE state = 0;"
    /* Listing by state in id order, recovery, counts. */
    "CREATE INDEX jobs_state ON jobs (state, id);"
    "PRAGMA application_id = 1785684593;", /* JQ_APPLICATION_ID in decimal */

    /* v2: retries. A CHECK cannot be altered in place, so jobs is rebuilt
     * (SQLite's documented 12-step way; no foreign key, view or trigger
     * refers to it): state admits 7 (retry_wait), run_at_ms says when a
     * retry_wait job may run again. The AUTOINCREMENT counter moves over
     * with the rows, so ids are still never reused. */
    "CREATE TABLE jobs_v2 ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 7),"
    " priority INTEGER NOT NULL,"
    RESULT_COLUMNS
    " spec BLOB NOT NULL,"
    " stdout BLOB,"
    " stderr BLOB);"
    "INSERT INTO jobs_v2 (" V1_COLS ") SELECT " V1_COLS " FROM jobs;"
    "DELETE FROM sqlite_sequence WHERE name = 'jobs_v2';"
    "UPDATE sqlite_sequence SET name = 'jobs_v2' WHERE name = 'jobs';"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v2 RENAME TO jobs;"
    "CREATE INDEX jobs_claim ON jobs (state, priority DESC, id) WHERE state = 0;"
    "CREATE INDEX jobs_state ON jobs (state, id);"
    /* The retry_wait jobs by run_at: promotion and "when is the next one"
     * in O(log n), and only as big as the set of waiting jobs. */
    "CREATE INDEX jobs_retry ON jobs (run_at_ms) WHERE state = 7;"
    /* One row per finished attempt, written with the attempt's end. */
    "CREATE TABLE attempts ("
    " job_id INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " started_at_ms INTEGER NOT NULL,"
    " finished_at_ms INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " exit_code INTEGER,"
    " signal INTEGER NOT NULL,"
    " kill_reason INTEGER NOT NULL,"
    " worker_pid INTEGER NOT NULL,"
    " error TEXT,"
    " PRIMARY KEY (job_id, attempt)) WITHOUT ROWID;",

    /* v3: queue semantics. jobs is rebuilt once more (the CHECK admits 8
     * scheduled and 9 expired) with the job's queue, its requested run_at
     * (not_before_ms, kept for display; run_at_ms stays the timer's due
     * time) and its start_by deadline. */
    "CREATE TABLE jobs_v3 ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 9),"
    " priority INTEGER NOT NULL,"
    RESULT_COLUMNS
    " queue TEXT NOT NULL DEFAULT 'default',"
    " not_before_ms INTEGER NOT NULL DEFAULT 0,"
    " start_by_ms INTEGER NOT NULL DEFAULT 0,"
    " spec BLOB NOT NULL,"
    " stdout BLOB,"
    " stderr BLOB);"
    "INSERT INTO jobs_v3 (" V2_COLS ") SELECT " V2_COLS " FROM jobs;"
    "DELETE FROM sqlite_sequence WHERE name = 'jobs_v3';"
    "UPDATE sqlite_sequence SET name = 'jobs_v3' WHERE name = 'jobs';"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v3 RENAME TO jobs;"
    /* The claim when no queue is paused or limited: one index, global order. */
    "CREATE INDEX jobs_claim ON jobs (state, priority DESC, id) WHERE state = 0;"
    /* The claim when some are: per queue, same order, and the distinct
     * queues with queued jobs found by skipping through it. */
    "CREATE INDEX jobs_queue_claim ON jobs (queue, priority DESC, id) WHERE state = 0;"
    "CREATE INDEX jobs_state ON jobs (state, id);"
    /* Counts by queue and state (GET /v1/queues), lists by queue. */
    "CREATE INDEX jobs_queue ON jobs (queue, state, id);"
    /* The timer: retry_wait and scheduled jobs by due time. */
    "CREATE INDEX jobs_due ON jobs (run_at_ms) WHERE state IN (7, 8);"
    /* Jobs that may still expire: never started, waiting, with a deadline. */
    "CREATE INDEX jobs_start_by ON jobs (start_by_ms) WHERE start_by_ms > 0 AND attempt = 0 AND state IN (0, 8);"
    /* Retention: finished jobs by age (finished_at_ms is 0 until final). */
    "CREATE INDEX jobs_finished ON jobs (finished_at_ms) WHERE finished_at_ms > 0;"
    /* Per-queue settings; a queue without a row is running, unlimited. */
    "CREATE TABLE queues ("
    " name TEXT PRIMARY KEY,"
    " paused INTEGER NOT NULL DEFAULT 0,"
    " concurrency_limit INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    /* Idempotency keys: one row per key (the primary key makes concurrent
     * duplicates impossible), the SHA-256 of the canonical body, and the
     * jobs it created (first_job_id .. first_job_id + n_jobs - 1). */
    "CREATE TABLE idempotency ("
    " key TEXT PRIMARY KEY,"
    " body_sha256 BLOB NOT NULL,"
    " first_job_id INTEGER NOT NULL,"
    " n_jobs INTEGER NOT NULL,"
    " created_at_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX idempotency_job ON idempotency (first_job_id);",

    /* v4: periodic jobs. A schedule holds its cron expression, the job it
     * makes (as canonical JSON, parsed again at each tick) and the next
     * tick; a job made by a schedule carries (schedule_id, tick_ms), unique,
     * so one tick can never make two jobs whatever crashes in between.
     * The new columns of jobs are nullable and added in place (no rebuild);
     * they come after the output BLOBs and are never read back. */
    "CREATE TABLE schedules ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " cron TEXT NOT NULL,"
    " template TEXT NOT NULL,"
    " paused INTEGER NOT NULL DEFAULT 0,"
    " next_tick_ms INTEGER NOT NULL,"
    " last_tick_ms INTEGER NOT NULL DEFAULT 0,"
    " last_job_id INTEGER NOT NULL DEFAULT 0,"
    " created_at_ms INTEGER NOT NULL);"
    "CREATE INDEX schedules_due ON schedules (next_tick_ms) WHERE paused = 0;"
    "ALTER TABLE jobs ADD COLUMN schedule_id INTEGER;"
    "ALTER TABLE jobs ADD COLUMN tick_ms INTEGER;"
    "CREATE UNIQUE INDEX jobs_tick ON jobs (schedule_id, tick_ms) WHERE schedule_id IS NOT NULL;",

    /* v5: completion callbacks. One row per job that asked for one; it
     * becomes due (due_ms) when the job finishes -- the trigger sees every
     * way a job reaches a final state, the only moment finished_at_ms goes
     * from 0 to a time -- and each delivery attempt leaves a row. */
    "CREATE TABLE callbacks ("
    " job_id INTEGER PRIMARY KEY,"
    " url TEXT NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " due_ms INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX callbacks_due ON callbacks (due_ms) WHERE state = 0 AND due_ms > 0;"
    "CREATE TABLE deliveries ("
    " job_id INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " error TEXT,"
    " PRIMARY KEY (job_id, attempt)) WITHOUT ROWID;"
    "CREATE TRIGGER callbacks_on_finish AFTER UPDATE OF finished_at_ms ON jobs"
    " WHEN NEW.finished_at_ms > 0 AND OLD.finished_at_ms = 0 BEGIN"
    " UPDATE callbacks SET due_ms = NEW.finished_at_ms WHERE job_id = NEW.id AND state = 0 AND due_ms = 0;"
    " END;",
};

int jq_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(stmt, 0);
            rc = SQLITE_OK;
        }
    }
    int err = rc == SQLITE_OK ? 0 : jq_sqlite_fail(db, rc, sql);
    sqlite3_finalize(stmt);
    return err;
}

/* Refuse databases this binary must not touch. */
static int check_owner(sqlite3 *db, int64_t version)
{
    int64_t app_id = 0, tables = 0;
    int rc = jq_sqlite_query_int(db, "PRAGMA application_id", &app_id);
    if (rc == 0 && version == 0)
        rc = jq_sqlite_query_int(db, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc)
        return rc;
    if (app_id != 0 && app_id != JQ_APPLICATION_ID) {
        jq_log(JQ_LOG_ERR, "sqlite: not a jobq database (application_id %" PRId64 ")", app_id);
        return JQ_ECORRUPT;
    }
    if (version == 0 && tables > 0) {
        jq_log(JQ_LOG_ERR, "sqlite: not a jobq database (tables but no schema version)");
        return JQ_ECORRUPT;
    }
    if (version > JQ_STORE_SQLITE_SCHEMA_VERSION) {
        jq_log(JQ_LOG_ERR,
               "sqlite: the database has schema version %" PRId64 ", newer than this jobq knows (%d); "
               "refusing to open it: run a newer jobq",
               version, JQ_STORE_SQLITE_SCHEMA_VERSION);
        return JQ_ECORRUPT;
    }
    return 0;
}

static int apply(sqlite3 *db, int64_t from)
{
    char sql[64];
    for (int64_t v = from; v < JQ_STORE_SQLITE_SCHEMA_VERSION; v++) {
        int rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return jq_sqlite_fail(db, rc, "schema migration");
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %" PRId64, v + 1);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return jq_sqlite_fail(db, rc, "setting user_version");
        jq_log(JQ_LOG_INFO, "sqlite: schema migrated to version %" PRId64, v + 1);
    }
    return 0;
}

int jq_sqlite_migrate(sqlite3 *db)
{
    int64_t version = 0;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return jq_sqlite_fail(db, rc, "BEGIN (migration)");
    int err = jq_sqlite_query_int(db, "PRAGMA user_version", &version);
    if (err == 0)
        err = check_owner(db, version);
    if (err == 0)
        err = apply(db, version);
    if (err == 0) {
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            err = jq_sqlite_fail(db, rc, "COMMIT (migration)");
    }
    if (err && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}
