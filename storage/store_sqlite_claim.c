/* store_sqlite_claim.c: the claim — up to max queued jobs, highest priority
 * first and FIFO within a priority, become running in one transaction (its
 * own, or the one that also records results: jq_store_complete_claim).
 *
 * DESIGN: the SELECT (served by the jobs_claim index, so O(log n) plus the
 * rows taken) is read to the end before any row is updated: updating rows
 * under a live cursor over the index being changed is not something to rely
 * on. A queued row whose spec no longer decodes would otherwise block the
 * head of the queue forever; it is marked failed in the same transaction and
 * not returned. When some queue is paused or limited, which jobs to take is
 * decided per queue (store_sqlite_queues.c) and each chosen row is read by
 * id. */
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "spec_codec.h"
#include "store_sqlite_int.h"

/* Read one queued row into *job. A corrupt spec is not an error here: the
 * job comes back with state FAILED for mark_claimed() to resolve. */
static int read_queued_row(sqlite3_stmt *stmt, struct jq_job *job)
{
    jq_job_init(job);
    job->id = sqlite3_column_int64(stmt, 0);
    job->created_at_ms = sqlite3_column_int64(stmt, 1);
    job->attempt = sqlite3_column_int(stmt, 2);
    job->cancel_requested = sqlite3_column_int(stmt, 3) != 0;
    const void *blob = sqlite3_column_blob(stmt, 4);
    size_t len = (size_t)sqlite3_column_bytes(stmt, 4);
    int err = jq_spec_decode(blob ? blob : "", len, &job->spec);
    job->state = JQ_STATE_RUNNING;
    if (err == JQ_ECORRUPT) {
        jq_log_job(JQ_LOG_ERR, job->id, "sqlite: the stored spec is corrupt; the job is marked failed");
        job->state = JQ_STATE_FAILED;
        err = 0;
    }
    return err;
}

/* Step the claim SELECT to its end; *n_out rows of jobs are initialised
 * (to be cleaned up by the caller) even on failure. */
static int select_queued_locked(struct jq_sqlite_store *s, size_t max, struct jq_job *jobs, size_t *n_out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CLAIM_SELECT);
    size_t n = 0;
    int err = 0, rc = SQLITE_DONE;
    sqlite3_bind_int64(stmt, 1, max > INT32_MAX ? INT32_MAX : (int64_t)max);
    while (err == 0 && n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        err = read_queued_row(stmt, &jobs[n++]);
    if (err == 0 && n < max && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (claim)");
    sqlite3_reset(stmt);
    *n_out = n;
    return err;
}

/* Read the chosen queued rows by id (a row no longer queued is skipped). */
static int select_ids_locked(struct jq_sqlite_store *s, const int64_t *ids, size_t n_ids, struct jq_job *jobs,
                             size_t *n_out)
{
    size_t n = 0;
    int err = 0;
    for (size_t i = 0; err == 0 && i < n_ids; i++) {
        sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_CLAIM_ONE);
        sqlite3_bind_int64(stmt, 1, ids[i]);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            err = read_queued_row(stmt, &jobs[n++]);
        else if (rc != SQLITE_DONE)
            err = jq_sqlite_fail(s->db, rc, "SELECT (claim one)");
        sqlite3_reset(stmt);
    }
    *n_out = n;
    return err;
}

/* The queued jobs to claim, by the queues' gates or, when no queue is
 * paused or limited, straight from the head of the queue. */
static int choose_locked(struct jq_sqlite_store *s, size_t max, struct jq_job *jobs, size_t *n_out)
{
    bool gated = false;
    size_t n_ids = 0;
    int64_t *ids = calloc(max, sizeof(*ids));
    int err = ids ? jq_sqlite_gated_claim_ids_locked(s, max, ids, &n_ids, &gated) : JQ_ENOMEM;
    *n_out = 0;
    if (err == 0)
        err = gated ? select_ids_locked(s, ids, n_ids, jobs, n_out) : select_queued_locked(s, max, jobs, n_out);
    free(ids);
    return err;
}

static int mark_one_locked(struct jq_sqlite_store *s, struct jq_job *job, int64_t now)
{
    bool corrupt = job->state == JQ_STATE_FAILED;
    enum jq_sql_id id = corrupt ? JQ_SQL_FAIL_CORRUPT : JQ_SQL_CLAIM_UPDATE;
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, id);
    sqlite3_bind_int64(stmt, 1, job->id);
    sqlite3_bind_int64(stmt, 2, now);
    int err = jq_sqlite_exec_locked(s, id, corrupt ? "UPDATE (fail corrupt job)" : "UPDATE (claim)");
    if (err == 0 && !corrupt) {
        job->attempt++;
        job->result.started_at_ms = now;
        job->result.worker_pid = 0;
    }
    return err;
}

/* Move the claimed jobs to the front; drop the ones marked failed. */
static size_t compact(struct jq_job *jobs, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].state != JQ_STATE_RUNNING) {
            jq_job_cleanup(&jobs[i]);
            continue;
        }
        if (kept != i) {
            jobs[kept] = jobs[i];
            jq_job_init(&jobs[i]);
        }
        kept++;
    }
    return kept;
}

int jq_sqlite_claim_locked(struct jq_sqlite_store *s, size_t max, struct jq_job *jobs_out, size_t *n_out,
                           int64_t now)
{
    size_t n = 0;
    int err = choose_locked(s, max, jobs_out, &n);
    for (size_t i = 0; err == 0 && i < n; i++)
        err = mark_one_locked(s, &jobs_out[i], now);
    *n_out = n;
    return err;
}

int jq_sqlite_claim_finish(struct jq_job *jobs, size_t n, int err, size_t *n_out)
{
    if (err) {
        for (size_t i = 0; i < n; i++)
            jq_job_cleanup(&jobs[i]);
        return err;
    }
    *n_out = compact(jobs, n);
    return 0;
}

int jq_sqlite_claim(struct jq_store *st, size_t max, struct jq_job *jobs_out, size_t *n_out)
{
    return jq_sqlite_complete_claim(st, NULL, 0, max, jobs_out, n_out);
}
