/* store_sqlite_sql.c: the text of every statement the SQLite backend runs
 * after open, in one table, so the whole data access of jobq reads in one
 * place. They are prepared once at open (store_sqlite.c) and reused.
 *
 * State numbers are those of enum jq_job_state (0 queued, 1 running, 3
 * failed, 5 cancelled, 6 lost, 7 retry_wait), which job.h promises never to
 * renumber. */
#include "store_sqlite_int.h"

/* The job without its output, in the order of enum jq_sql_col. */
#define JOB_COLS                                                                       \
    "id, state, created_at_ms, started_at_ms, finished_at_ms, attempt, "               \
    "cancel_requested, exit_code, signal, core_dumped, kill_reason, error, "           \
    "stdout_bytes, stdout_truncated, stderr_bytes, stderr_truncated, duration_ms, "    \
    "cpu_user_ms, cpu_sys_ms, max_rss_kb, worker_pid, run_at_ms, spec"
#define OUTPUT_COLS ", stdout, stderr"

static const char *const sql_text[JQ_SQL_N] = {
    [JQ_SQL_BEGIN] = "BEGIN IMMEDIATE",
    [JQ_SQL_COMMIT] = "COMMIT",
    [JQ_SQL_ROLLBACK] = "ROLLBACK",
    /* One submission of a group commit, undone alone if it fails. */
    [JQ_SQL_SAVEPOINT] = "SAVEPOINT submission",
    [JQ_SQL_ROLLBACK_TO] = "ROLLBACK TO submission",
    [JQ_SQL_RELEASE] = "RELEASE submission",
    [JQ_SQL_INSERT] =
        "INSERT INTO jobs (state, priority, created_at_ms, spec) VALUES (0, ?1, ?2, ?3)",
    /* Served by the partial index jobs_claim (state, priority DESC, id)
     * WHERE state = 0: a SEARCH, no sort. Keep "state = 0" a literal: the
     * planner uses a partial index only if the query implies its WHERE. */
    [JQ_SQL_CLAIM_SELECT] =
        "SELECT id, created_at_ms, attempt, cancel_requested, spec FROM jobs "
        "WHERE state = 0 ORDER BY priority DESC, id ASC LIMIT ?1",
    [JQ_SQL_CLAIM_UPDATE] =
        "UPDATE jobs SET state = 1, attempt = attempt + 1, started_at_ms = ?2, worker_pid = 0 "
        "WHERE id = ?1 AND state = 0",
    [JQ_SQL_FAIL_CORRUPT] =
        "UPDATE jobs SET state = 3, finished_at_ms = ?2, "
        "error = 'the stored job spec is corrupt' WHERE id = ?1 AND state = 0",
    /* started_at is kept when the result does not know it (?4 = 0). */
    [JQ_SQL_COMPLETE] =
        "UPDATE jobs SET state = ?2, finished_at_ms = ?3, "
        "started_at_ms = CASE WHEN ?4 > 0 THEN ?4 ELSE started_at_ms END, "
        "exit_code = ?5, signal = ?6, core_dumped = ?7, kill_reason = ?8, error = ?9, "
        "stdout = ?10, stdout_bytes = ?11, stdout_truncated = ?12, "
        "stderr = ?13, stderr_bytes = ?14, stderr_truncated = ?15, duration_ms = ?16, "
        "cpu_user_ms = ?17, cpu_sys_ms = ?18, max_rss_kb = ?19, worker_pid = ?20 "
        "WHERE id = ?1 AND state = 1",
    [JQ_SQL_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    [JQ_SQL_GET_OUTPUT] = "SELECT " JOB_COLS OUTPUT_COLS " FROM jobs WHERE id = ?1",
    [JQ_SQL_GET_STATE] = "SELECT state FROM jobs WHERE id = ?1",
    /* Keyset pagination: ?1 = after_id, ?2 = limit + 1 (to learn `more`). */
    [JQ_SQL_LIST] = "SELECT " JOB_COLS " FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2",
    [JQ_SQL_LIST_OUTPUT] =
        "SELECT " JOB_COLS OUTPUT_COLS " FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2",
    /* Served by jobs_state (state, id). */
    [JQ_SQL_LIST_STATE] =
        "SELECT " JOB_COLS " FROM jobs WHERE state = ?3 AND id > ?1 ORDER BY id LIMIT ?2",
    [JQ_SQL_LIST_STATE_OUTPUT] = "SELECT " JOB_COLS OUTPUT_COLS
                                 " FROM jobs WHERE state = ?3 AND id > ?1 ORDER BY id LIMIT ?2",
    [JQ_SQL_CANCEL_QUEUED] =
        "UPDATE jobs SET state = 5, finished_at_ms = ?2, run_at_ms = 0 WHERE id = ?1 AND state IN (0, 7)",
    [JQ_SQL_MARK_CANCEL] = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1 AND state = 1",
    [JQ_SQL_COUNT] = "SELECT state, count(*) FROM jobs GROUP BY state",
    /* What ending an attempt needs to know (the policy is in the spec). */
    [JQ_SQL_RUNNING_ONE] =
        "SELECT id, attempt, cancel_requested, started_at_ms, worker_pid, spec FROM jobs "
        "WHERE id = ?1 AND state = 1",
    /* Served by jobs_state (state, id). */
    [JQ_SQL_RUNNING_ALL] =
        "SELECT id, attempt, cancel_requested, started_at_ms, worker_pid, spec FROM jobs WHERE state = 1",
    /* Another attempt follows: ?2 = 0 (queued) or 7 (retry_wait at ?3). The
     * last attempt's result lives on in its attempts row. */
    [JQ_SQL_RETRY] =
        "UPDATE jobs SET state = ?2, run_at_ms = ?3, started_at_ms = 0, finished_at_ms = 0, "
        "exit_code = NULL, signal = 0, core_dumped = 0, kill_reason = 0, error = NULL, "
        "stdout = NULL, stdout_bytes = 0, stdout_truncated = 0, stderr = NULL, stderr_bytes = 0, "
        "stderr_truncated = 0, duration_ms = 0, cpu_user_ms = 0, cpu_sys_ms = 0, max_rss_kb = 0, "
        "worker_pid = 0 WHERE id = ?1 AND state = 1",
    /* The task never reached a worker: undo the claim. */
    [JQ_SQL_REQUEUE] =
        "UPDATE jobs SET state = 0, attempt = max(attempt - 1, 0), started_at_ms = 0, worker_pid = 0 "
        "WHERE id = ?1 AND state = 1",
    [JQ_SQL_ATTEMPT_INSERT] =
        "INSERT OR REPLACE INTO attempts (job_id, attempt, started_at_ms, finished_at_ms, state, exit_code, "
        "signal, kill_reason, worker_pid, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [JQ_SQL_ATTEMPTS_GET] =
        "SELECT attempt, started_at_ms, finished_at_ms, state, exit_code, signal, kill_reason, worker_pid, "
        "error FROM attempts WHERE job_id = ?1 ORDER BY attempt",
    /* Served by the partial index jobs_retry (run_at_ms) WHERE state = 7
     * (a range SEARCH, and min() reads its first entry). Named: without
     * ANALYZE the planner would pick jobs_state and walk every waiting row.
     * Keep "state = 7" a literal for the same reason as the claim. */
    [JQ_SQL_PROMOTE] =
        "UPDATE jobs INDEXED BY jobs_retry SET state = 0, run_at_ms = 0 WHERE state = 7 AND run_at_ms <= ?1",
    [JQ_SQL_NEXT_RUN_AT] = "SELECT min(run_at_ms) FROM jobs INDEXED BY jobs_retry WHERE state = 7",
};

const char *jq_sqlite_sql(enum jq_sql_id id)
{
    return sql_text[id];
}
