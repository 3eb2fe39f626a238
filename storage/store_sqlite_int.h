/* store_sqlite_int.h: what the SQLite backend's files share and nothing
 * outside storage/ may see: the handle, the prepared statements, the
 * transaction helpers and the error mapping.
 *
 * Locking: every entry point takes st->mu and holds it for the whole
 * operation, so a multi-statement transaction is never interleaved with
 * another thread's statements on the same connection (SQLite's own
 * FULLMUTEX only serialises single calls). Functions named *_locked expect
 * the caller to hold st->mu. */
#ifndef JQ_STORE_SQLITE_INT_H
#define JQ_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "store.h"

/* The prepared statements, prepared once at open (texts in store_sqlite_sql.c). */
enum jq_sql_id {
    JQ_SQL_BEGIN,
    JQ_SQL_COMMIT,
    JQ_SQL_ROLLBACK,
    JQ_SQL_SAVEPOINT,
    JQ_SQL_ROLLBACK_TO,
    JQ_SQL_RELEASE,
    JQ_SQL_INSERT,
    JQ_SQL_CLAIM_SELECT,
    JQ_SQL_CLAIM_UPDATE,
    JQ_SQL_FAIL_CORRUPT,
    JQ_SQL_COMPLETE,
    JQ_SQL_GET,
    JQ_SQL_GET_OUTPUT,
    JQ_SQL_GET_STATE,
    JQ_SQL_LIST,
    JQ_SQL_LIST_OUTPUT,
    JQ_SQL_LIST_STATE,
    JQ_SQL_LIST_STATE_OUTPUT,
    JQ_SQL_LIST_QUEUE,        /* the 8 list statements in this order: +1 output, +2 state, +4 queue */
    JQ_SQL_LIST_QUEUE_OUTPUT,
    JQ_SQL_LIST_QUEUE_STATE,
    JQ_SQL_LIST_QUEUE_STATE_OUTPUT,
    JQ_SQL_CANCEL_QUEUED,
    JQ_SQL_MARK_CANCEL,
    JQ_SQL_COUNT,
    JQ_SQL_RUNNING_ONE,
    JQ_SQL_RUNNING_ALL,
    JQ_SQL_RETRY,
    JQ_SQL_REQUEUE,
    JQ_SQL_ATTEMPT_INSERT,
    JQ_SQL_ATTEMPTS_GET,
    JQ_SQL_PROMOTE,
    JQ_SQL_NEXT_RUN_AT,
    JQ_SQL_EXPIRE_SELECT,
    JQ_SQL_EXPIRE_ONE,
    JQ_SQL_NEXT_START_BY,
    JQ_SQL_QUEUE_NEXT,
    JQ_SQL_QUEUE_CANDIDATES,
    JQ_SQL_CLAIM_ONE,
    JQ_SQL_QUEUES_BLOCKED,
    JQ_SQL_RUNNING_BY_QUEUE,
    JQ_SQL_QUEUE_UPSERT,
    JQ_SQL_QUEUES_ALL,
    JQ_SQL_QUEUE_COUNTS,
    JQ_SQL_IDEM_GET,
    JQ_SQL_IDEM_INSERT,
    JQ_SQL_PURGE_JOB,
    JQ_SQL_PURGE_ATTEMPTS,
    JQ_SQL_PURGE_IDEM,
    JQ_SQL_PURGE_OLDEST,
    JQ_SQL_OLDEST_FINISHED,
    JQ_SQL_SCHED_INSERT,
    JQ_SQL_SCHED_COUNT,
    JQ_SQL_SCHED_GET,
    JQ_SQL_SCHED_LIST,
    JQ_SQL_SCHED_DELETE,
    JQ_SQL_SCHED_PAUSE,
    JQ_SQL_SCHED_DUE,
    JQ_SQL_SCHED_NEXT,
    JQ_SQL_SCHED_ADVANCE,
    JQ_SQL_JOB_TICK,
    JQ_SQL_CB_INSERT,
    JQ_SQL_CB_GET,
    JQ_SQL_CB_DELIVERIES,
    JQ_SQL_CB_NEXT,
    JQ_SQL_CB_DUE,
    JQ_SQL_CB_LEASE,
    JQ_SQL_CB_RECORD,
    JQ_SQL_CB_DELIVERY_INSERT,
    JQ_SQL_PURGE_CALLBACK,
    JQ_SQL_PURGE_DELIVERIES,
    JQ_SQL_N
};

/* Column positions in the rows of GET*, LIST*: the job without its output,
 * then (only in the *_OUTPUT statements) stdout and stderr. */
enum jq_sql_col {
    JQ_COL_ID, JQ_COL_STATE, JQ_COL_CREATED, JQ_COL_STARTED, JQ_COL_FINISHED,
    JQ_COL_ATTEMPT, JQ_COL_CANCEL_REQ, JQ_COL_EXIT_CODE, JQ_COL_SIGNAL,
    JQ_COL_CORE, JQ_COL_KILL_REASON, JQ_COL_ERROR, JQ_COL_OUT_BYTES,
    JQ_COL_OUT_TRUNC, JQ_COL_ERR_BYTES, JQ_COL_ERR_TRUNC, JQ_COL_DURATION,
    JQ_COL_CPU_USER, JQ_COL_CPU_SYS, JQ_COL_MAX_RSS, JQ_COL_WORKER_PID,
    JQ_COL_RUN_AT, JQ_COL_QUEUE, JQ_COL_NOT_BEFORE, JQ_COL_START_BY, JQ_COL_SPEC, JQ_COL_STDOUT,
    JQ_COL_STDERR
};

/* How long a statement waits for a lock held by another connection. */
#define JQ_SQLITE_BUSY_TIMEOUT_MS 5000
/* The /readyz write probe waits less: it must answer quickly. */
#define JQ_SQLITE_PROBE_BUSY_TIMEOUT_MS 200

struct jq_sqlite_store {
    struct jq_store base; /* first: the jq_store * handed out points here */
    sqlite3 *db;
    pthread_mutex_t mu;   /* serialises every operation (see above) */
    sqlite3_stmt *stmt[JQ_SQL_N];
    unsigned char *scratch; /* spec encoding buffer, reused under mu */
    size_t scratch_cap;
    uint64_t rng;           /* backoff jitter source (splitmix64), under mu */
};

static inline struct jq_sqlite_store *jq_sqlite_of(struct jq_store *st)
{
    return (struct jq_sqlite_store *)st;
}

/* store_sqlite_sql.c: the SQL text of statement id. */
const char *jq_sqlite_sql(enum jq_sql_id id);

/* store_sqlite_schema.c: bring the schema to the current version inside one
 * transaction. Returns 0, JQ_ECORRUPT (newer or foreign database) or JQ_EIO. */
int jq_sqlite_migrate(sqlite3 *db);

/* store_sqlite_schema.c: run a query (or PRAGMA) that returns one integer. */
int jq_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *out);

/* store_sqlite.c: helpers shared by the operations. */
/* Log "<what> failed: <sqlite3_errmsg>" and map rc to a JQ_E* code. */
int jq_sqlite_fail(sqlite3 *db, int rc, const char *what);
/* A reset statement of the table, bindings cleared. */
sqlite3_stmt *jq_sqlite_stmt(struct jq_sqlite_store *s, enum jq_sql_id id);
/* Step a statement that returns no row (or whose rows are not wanted) and
 * reset it. Returns 0 or a JQ_E* code (logged, naming what). */
int jq_sqlite_exec_locked(struct jq_sqlite_store *s, enum jq_sql_id id, const char *what);
/* Step a one-row, one-column statement (a min() over a timer index): its
 * value, or 0 for NULL. */
int jq_sqlite_min_locked(struct jq_sqlite_store *s, enum jq_sql_id id, const char *what, int64_t *out);
/* The shape of every timer step (promote, expire, purge): read the
 * earliest due time (next_id, a min() over its index); nothing due (the
 * common case, one index probe) takes no write transaction; else apply the
 * work and read the next due time in one transaction. Takes mu. */
typedef int (*jq_sqlite_apply_fn)(struct jq_sqlite_store *s, void *ctx);
struct jq_sqlite_due {
    enum jq_sql_id next_id;   /* SELECT min(due time) */
    const char *what;         /* for the log */
    int64_t due_at_ms;        /* work is due when the min is at or before this */
    jq_sqlite_apply_fn apply; /* the work, inside the transaction */
    void *ctx;
};
/* The ctx of a step that works on up to max rows due at at_ms and reports
 * their ids. */
struct jq_sqlite_id_batch {
    int64_t at_ms;
    int64_t *ids;
    size_t max;
    size_t n;
};
/* *next_out (may be NULL) = the earliest due time left, 0 if none. */
int jq_sqlite_due_batch(struct jq_sqlite_store *s, const struct jq_sqlite_due *due, int64_t *next_out);
int jq_sqlite_begin_locked(struct jq_sqlite_store *s);
int jq_sqlite_commit_locked(struct jq_sqlite_store *s);
void jq_sqlite_rollback_locked(struct jq_sqlite_store *s);
/* End the transaction: commit when err is 0, else roll back. Returns the
 * outcome (err, or the commit's failure). */
int jq_sqlite_end_locked(struct jq_sqlite_store *s, int err);

/* store_sqlite_read.c: the state of job id. Returns 0 or JQ_ENOTFOUND. */
int jq_sqlite_state_locked(struct jq_sqlite_store *s, int64_t id, enum jq_job_state *out);

/* store_sqlite_write.c and store_sqlite_read.c: the operations. */
int jq_sqlite_enqueue(struct jq_store *st, const struct jq_job_spec *specs, size_t n, int64_t *ids_out);
int jq_sqlite_enqueue_group(struct jq_store *st, struct jq_enqueue_req *reqs, size_t n, size_t max,
                            struct jq_job *jobs_out, size_t *n_out);
int jq_sqlite_claim(struct jq_store *st, size_t max, struct jq_job *jobs_out, size_t *n_out);
int jq_sqlite_complete(struct jq_store *st, const struct jq_completion *done, size_t n);
int jq_sqlite_complete_claim(struct jq_store *st, const struct jq_completion *done, size_t n, size_t max,
                             struct jq_job *jobs_out, size_t *n_out);
/* store_sqlite_claim.c: claim up to max jobs inside the caller's
 * transaction; *n_out rows of jobs_out are initialised, also on failure.
 * Then, after the commit (err = its outcome), claim_finish cleans the rows
 * up on failure or drops the ones that were not claimed (corrupt specs),
 * setting *n_out. */
int jq_sqlite_claim_locked(struct jq_sqlite_store *s, size_t max, struct jq_job *jobs_out, size_t *n_out,
                           int64_t now);
int jq_sqlite_claim_finish(struct jq_job *jobs, size_t n, int err, size_t *n_out);
int jq_sqlite_cancel_queued(struct jq_store *st, int64_t id, enum jq_job_state *state_out);
int jq_sqlite_mark_cancel_requested(struct jq_store *st, int64_t id);
int jq_sqlite_recover(struct jq_store *st, int64_t *n_lost_out);
bool jq_sqlite_writable(struct jq_store *st);
int jq_sqlite_get(struct jq_store *st, int64_t id, bool with_output, struct jq_job *out);
int jq_sqlite_get_state(struct jq_store *st, int64_t id, enum jq_job_state *out);
int jq_sqlite_list(struct jq_store *st, const struct jq_list_query *q, struct jq_job_list *out);
int jq_sqlite_count(struct jq_store *st, struct jq_store_counts *out);

/* store_sqlite_retry.c: attempts, the retry decision applied, promotion. */
/* The next jitter value (caller holds mu). */
uint64_t jq_sqlite_random_locked(struct jq_sqlite_store *s);
/* End the attempt of running job id with result r by its policy (see
 * jq_store_complete); master_gone: lost because the master crashed/stopped.
 * Leaves a job that is not running unchanged. */
int jq_sqlite_end_attempt_locked(struct jq_sqlite_store *s, int64_t id, const struct jq_job_result *r,
                                 bool master_gone, int64_t now);
int jq_sqlite_requeue(struct jq_store *st, int64_t id);
/* Resolve every running job as lost with the master gone; *n_out = jobs. */
int jq_sqlite_recover_locked(struct jq_sqlite_store *s, int64_t now, int64_t *n_out);
/* The attempt history of job id into *job. */
int jq_sqlite_read_attempts_locked(struct jq_sqlite_store *s, int64_t id, struct jq_job *job);
int jq_sqlite_promote_due(struct jq_store *st, int64_t now_ms, int64_t *next_run_at_out);
/* store_sqlite_expire.c */
int jq_sqlite_expire_due(struct jq_store *st, int64_t now_ms, int64_t *ids_out, size_t max, size_t *n_out,
                         int64_t *next_start_by_out);
/* store_sqlite_queues.c: the ids to claim (at most max, best first) when
 * some queue is paused or limited (*gated_out = true); else *gated_out =
 * false and nothing is chosen. Caller holds mu, inside the claim's
 * transaction. */
int jq_sqlite_gated_claim_ids_locked(struct jq_sqlite_store *s, size_t max, int64_t *ids_out, size_t *n_out,
                                     bool *gated_out);
int jq_sqlite_queue_update(struct jq_store *st, const char *name, int paused, int64_t limit);
int jq_sqlite_queue_list(struct jq_store *st, struct jq_queue_list *out);
/* store_sqlite_callbacks.c */
int jq_sqlite_callback_insert_locked(struct jq_sqlite_store *s, int64_t job_id, const char *url);
int jq_sqlite_callback_read_locked(struct jq_sqlite_store *s, int64_t job_id, struct jq_job *job);
int jq_sqlite_callbacks_due(struct jq_store *st, int64_t now_ms, int64_t lease_until_ms, size_t max,
                            struct jq_callback_due *out, size_t *n_out, int64_t *next_due_out);
int jq_sqlite_callback_record(struct jq_store *st, const struct jq_callback_outcome *o);
/* store_sqlite_schedules.c */
int jq_sqlite_schedule_create(struct jq_store *st, struct jq_schedule *sch);
int jq_sqlite_schedule_get(struct jq_store *st, int64_t id, struct jq_schedule *out);
int jq_sqlite_schedule_list(struct jq_store *st, struct jq_schedule_list *out);
int jq_sqlite_schedule_delete(struct jq_store *st, int64_t id);
int jq_sqlite_schedule_set_paused(struct jq_store *st, int64_t id, bool paused, int64_t next_tick_ms);
int jq_sqlite_schedule_due(struct jq_store *st, int64_t now_ms, size_t max, struct jq_schedule_list *out,
                           int64_t *next_tick_out);
int jq_sqlite_schedule_fire(struct jq_store *st, int64_t id, int64_t tick_ms, const struct jq_job_spec *spec,
                            int64_t next_tick_ms, int64_t *job_id_out);
/* store_sqlite_purge.c */
int jq_sqlite_purge_job(struct jq_store *st, int64_t id, enum jq_job_state *state_out);
int jq_sqlite_purge_finished(struct jq_store *st, int64_t finished_before_ms, int64_t *ids_out, size_t max,
                             size_t *n_out, int64_t *oldest_finished_out);
int jq_sqlite_maintain(struct jq_store *st);
int jq_sqlite_space(struct jq_store *st, struct jq_store_space *out);
/* store_sqlite_idem.c */
int jq_sqlite_enqueue_idempotent(struct jq_store *st, const struct jq_idem *idem, const struct jq_job_spec *specs,
                                 size_t n, int64_t *ids_out, bool *replayed);
/* store_sqlite_write.c: insert n jobs (checked) in the caller's transaction. */
int jq_sqlite_insert_jobs_locked(struct jq_sqlite_store *s, const struct jq_job_spec *specs, size_t n, int64_t now,
                                 int64_t *ids_out);
/* store_sqlite_write.c: the final UPDATE of a job (the existing completion). */
int jq_sqlite_complete_final_locked(struct jq_sqlite_store *s, int64_t id, const struct jq_job_result *r,
                                    int64_t now);

#endif
