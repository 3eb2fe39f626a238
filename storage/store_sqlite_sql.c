/* store_sqlite_sql.c: the text of every statement the SQLite backend runs
 * after open, in one table, so the whole data access of jobq reads in one
 * place. They are prepared once at open (store_sqlite.c) and reused.
 *
 * State numbers are those of enum jq_job_state (0 queued, 1 running, 3
 * failed, 5 cancelled, 6 lost, 7 retry_wait, 8 scheduled, 9 expired), which
 * job.h promises never to renumber. */
#include "store_sqlite_int.h"

/* The job without its output, in the order of enum jq_sql_col. */
#define JOB_COLS                                                                       \
    "id, state, created_at_ms, started_at_ms, finished_at_ms, attempt, "               \
    "cancel_requested, exit_code, signal, core_dumped, kill_reason, error, "           \
    "stdout_bytes, stdout_truncated, stderr_bytes, stderr_truncated, duration_ms, "    \
    "cpu_user_ms, cpu_sys_ms, max_rss_kb, worker_pid, run_at_ms, queue, not_before_ms, "    \
    "start_by_ms, spec"
#define OUTPUT_COLS ", stdout, stderr"
/* A schedule, in the order store_sqlite_schedules.c reads it. */
#define SCHED_COLS "id, cron, template, paused, next_tick_ms, last_tick_ms, last_job_id, created_at_ms"
/* A page of the list: ?1 = after_id, ?2 = limit + 1 (to learn `more`),
 * ?3 = state, ?4 = queue, as the filter names them. */
#define LIST_SQL(cols, filter) "SELECT " cols " FROM jobs WHERE " filter "id > ?1 ORDER BY id LIMIT ?2"

static const char *const sql_text[JQ_SQL_N] = {
    [JQ_SQL_BEGIN] = "BEGIN IMMEDIATE",
    [JQ_SQL_COMMIT] = "COMMIT",
    [JQ_SQL_ROLLBACK] = "ROLLBACK",
    /* One submission of a group commit, undone alone if it fails. */
    [JQ_SQL_SAVEPOINT] = "SAVEPOINT submission",
    [JQ_SQL_ROLLBACK_TO] = "ROLLBACK TO submission",
    [JQ_SQL_RELEASE] = "RELEASE submission",
    [JQ_SQL_INSERT] =
        "INSERT INTO jobs (state, priority, created_at_ms, spec, run_at_ms, queue, not_before_ms, start_by_ms) "
        "VALUES (CASE WHEN ?4 > ?2 THEN 8 ELSE 0 END, ?1, ?2, ?3, CASE WHEN ?4 > ?2 THEN ?4 ELSE 0 END, ?5, ?4, ?6)",
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
    /* Keyset pagination. By state: served by jobs_state (state, id); by
     * queue (and state): by jobs_queue (queue, state, id). */
    [JQ_SQL_LIST] = LIST_SQL(JOB_COLS, ""),
    [JQ_SQL_LIST_OUTPUT] = LIST_SQL(JOB_COLS OUTPUT_COLS, ""),
    [JQ_SQL_LIST_STATE] = LIST_SQL(JOB_COLS, "state = ?3 AND "),
    [JQ_SQL_LIST_STATE_OUTPUT] = LIST_SQL(JOB_COLS OUTPUT_COLS, "state = ?3 AND "),
    [JQ_SQL_LIST_QUEUE] = LIST_SQL(JOB_COLS, "queue = ?4 AND "),
    [JQ_SQL_LIST_QUEUE_OUTPUT] = LIST_SQL(JOB_COLS OUTPUT_COLS, "queue = ?4 AND "),
    [JQ_SQL_LIST_QUEUE_STATE] = LIST_SQL(JOB_COLS, "queue = ?4 AND state = ?3 AND "),
    [JQ_SQL_LIST_QUEUE_STATE_OUTPUT] = LIST_SQL(JOB_COLS OUTPUT_COLS, "queue = ?4 AND state = ?3 AND "),
    [JQ_SQL_CANCEL_QUEUED] =
        "UPDATE jobs SET state = 5, finished_at_ms = ?2, run_at_ms = 0 WHERE id = ?1 AND state IN (0, 7, 8)",
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
    /* Served by the partial index jobs_due (run_at_ms) WHERE state IN (7,
     * 8) (a range SEARCH, and min() reads its first entry). Named: without
     * ANALYZE the planner would pick jobs_state and walk every waiting row.
     * Keep the state terms literal, as the index has them: the planner uses
     * a partial index only if the query implies its WHERE. */
    [JQ_SQL_PROMOTE] =
        "UPDATE jobs INDEXED BY jobs_due SET state = 0, run_at_ms = 0 WHERE state IN (7, 8) AND run_at_ms <= ?1",
    [JQ_SQL_NEXT_RUN_AT] = "SELECT min(run_at_ms) FROM jobs INDEXED BY jobs_due WHERE state IN (7, 8)",
    /* start_by: the jobs past their deadline, then each one expired (the
     * ids go to the long-poll waiters). Served by jobs_start_by. */
    [JQ_SQL_EXPIRE_SELECT] =
        "SELECT id FROM jobs INDEXED BY jobs_start_by WHERE start_by_ms > 0 AND attempt = 0 AND state IN (0, 8) "
        "AND start_by_ms <= ?1 LIMIT ?2",
    [JQ_SQL_EXPIRE_ONE] =
        "UPDATE jobs SET state = 9, finished_at_ms = ?2, run_at_ms = 0, error = 'not started by its start_by' "
        "WHERE id = ?1 AND attempt = 0 AND state IN (0, 8)",
    [JQ_SQL_NEXT_START_BY] =
        "SELECT min(start_by_ms) FROM jobs INDEXED BY jobs_start_by "
        "WHERE start_by_ms > 0 AND attempt = 0 AND state IN (0, 8)",
    /* The claim when some queue is paused or limited: the next queue name
     * with queued jobs after ?1 (a skip through jobs_queue_claim, O(log n)),
     * then one queue's best candidates, then each chosen row. */
    [JQ_SQL_QUEUE_NEXT] =
        "SELECT queue FROM jobs INDEXED BY jobs_queue_claim WHERE state = 0 AND queue > ?1 ORDER BY queue LIMIT 1",
    [JQ_SQL_QUEUE_CANDIDATES] =
        "SELECT id, priority FROM jobs INDEXED BY jobs_queue_claim WHERE state = 0 AND queue = ?1 "
        "ORDER BY priority DESC, id LIMIT ?2",
    [JQ_SQL_CLAIM_ONE] =
        "SELECT id, created_at_ms, attempt, cancel_requested, spec FROM jobs WHERE id = ?1 AND state = 0",
    [JQ_SQL_QUEUES_BLOCKED] =
        "SELECT name, paused, concurrency_limit FROM queues WHERE paused != 0 OR concurrency_limit > 0",
    /* Running jobs are at most one per worker: served by jobs_state. */
    [JQ_SQL_RUNNING_BY_QUEUE] = "SELECT queue, count(*) FROM jobs WHERE state = 1 GROUP BY queue",
    /* ?2 / ?3 NULL = keep (or 0 for a new row). */
    [JQ_SQL_QUEUE_UPSERT] =
        "INSERT INTO queues (name, paused, concurrency_limit) VALUES (?1, coalesce(?2, 0), coalesce(?3, 0)) "
        "ON CONFLICT (name) DO UPDATE SET paused = coalesce(?2, paused), "
        "concurrency_limit = coalesce(?3, concurrency_limit)",
    [JQ_SQL_QUEUES_ALL] = "SELECT name, paused, concurrency_limit FROM queues ORDER BY name",
    /* A covering scan of jobs_queue, in queue order. */
    [JQ_SQL_IDEM_GET] = "SELECT body_sha256, first_job_id, n_jobs FROM idempotency WHERE key = ?1",
    [JQ_SQL_IDEM_INSERT] =
        "INSERT INTO idempotency (key, body_sha256, first_job_id, n_jobs, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* Retention: a job with its history and key; the oldest finished ones
     * (served by jobs_finished; the state terms only guard). */
    [JQ_SQL_PURGE_JOB] = "DELETE FROM jobs WHERE id = ?1",
    [JQ_SQL_PURGE_ATTEMPTS] = "DELETE FROM attempts WHERE job_id = ?1",
    [JQ_SQL_PURGE_IDEM] = "DELETE FROM idempotency WHERE first_job_id = ?1",
    [JQ_SQL_PURGE_OLDEST] =
        "SELECT id FROM jobs INDEXED BY jobs_finished WHERE finished_at_ms > 0 AND finished_at_ms <= ?1 "
        "AND state NOT IN (0, 1, 7, 8) ORDER BY finished_at_ms LIMIT ?2",
    [JQ_SQL_OLDEST_FINISHED] = "SELECT min(finished_at_ms) FROM jobs INDEXED BY jobs_finished WHERE finished_at_ms > 0",
    /* Periodic jobs (store_sqlite_schedules.c). */
    [JQ_SQL_SCHED_INSERT] =
        "INSERT INTO schedules (cron, template, paused, next_tick_ms, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    [JQ_SQL_SCHED_COUNT] = "SELECT count(*) FROM schedules",
    [JQ_SQL_SCHED_GET] = "SELECT " SCHED_COLS " FROM schedules WHERE id = ?1",
    [JQ_SQL_SCHED_LIST] = "SELECT " SCHED_COLS " FROM schedules ORDER BY id LIMIT ?1",
    [JQ_SQL_SCHED_DELETE] = "DELETE FROM schedules WHERE id = ?1",
    [JQ_SQL_SCHED_PAUSE] = "UPDATE schedules SET paused = ?2, next_tick_ms = ?3 WHERE id = ?1",
    /* Served by schedules_due (next_tick_ms) WHERE paused = 0. */
    [JQ_SQL_SCHED_DUE] = "SELECT " SCHED_COLS " FROM schedules INDEXED BY schedules_due "
                         "WHERE paused = 0 AND next_tick_ms <= ?1 ORDER BY next_tick_ms LIMIT ?2",
    [JQ_SQL_SCHED_NEXT] = "SELECT min(next_tick_ms) FROM schedules INDEXED BY schedules_due WHERE paused = 0",
    /* Only if the tick is still pending: a tick is handled once. */
    [JQ_SQL_SCHED_ADVANCE] =
        "UPDATE schedules SET next_tick_ms = ?3, last_tick_ms = ?2, "
        "last_job_id = CASE WHEN ?4 > 0 THEN ?4 ELSE last_job_id END "
        "WHERE id = ?1 AND paused = 0 AND next_tick_ms = ?2",
    [JQ_SQL_JOB_TICK] = "UPDATE jobs SET schedule_id = ?2, tick_ms = ?3 WHERE id = ?1",
    /* Completion callbacks (store_sqlite_callbacks.c). */
    [JQ_SQL_CB_INSERT] = "INSERT INTO callbacks (job_id, url) VALUES (?1, ?2)",
    [JQ_SQL_CB_GET] = "SELECT url, state FROM callbacks WHERE job_id = ?1",
    [JQ_SQL_CB_DELIVERIES] = "SELECT attempt, at_ms, status, error FROM deliveries WHERE job_id = ?1 ORDER BY attempt",
    /* Served by callbacks_due (due_ms) WHERE state = 0 AND due_ms > 0. */
    [JQ_SQL_CB_NEXT] = "SELECT min(due_ms) FROM callbacks INDEXED BY callbacks_due WHERE state = 0 AND due_ms > 0",
    [JQ_SQL_CB_DUE] = "SELECT job_id, url, attempts FROM callbacks INDEXED BY callbacks_due "
                      "WHERE state = 0 AND due_ms > 0 AND due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
    /* A delivery under way holds a lease: due again only if it never ends. */
    [JQ_SQL_CB_LEASE] = "UPDATE callbacks SET due_ms = ?2 WHERE job_id = ?1 AND state = 0",
    [JQ_SQL_CB_RECORD] =
        "UPDATE callbacks SET state = ?2, due_ms = ?3, attempts = ?4 WHERE job_id = ?1 AND state = 0",
    [JQ_SQL_CB_DELIVERY_INSERT] =
        "INSERT OR REPLACE INTO deliveries (job_id, attempt, at_ms, status, error) VALUES (?1, ?2, ?3, ?4, ?5)",
    [JQ_SQL_PURGE_CALLBACK] = "DELETE FROM callbacks WHERE job_id = ?1",
    [JQ_SQL_PURGE_DELIVERIES] = "DELETE FROM deliveries WHERE job_id = ?1",
    [JQ_SQL_QUEUE_COUNTS] = "SELECT queue, state, count(*) FROM jobs INDEXED BY jobs_queue GROUP BY queue, state",
};

const char *jq_sqlite_sql(enum jq_sql_id id)
{
    return sql_text[id];
}
