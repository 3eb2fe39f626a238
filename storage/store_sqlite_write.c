/* store_sqlite_write.c: the operations that change jobs, besides the claim:
 * enqueue (one submission, or a group of them sharing one commit), complete,
 * cancel, the cancel flag, recovery, and the write probe. Each is one
 * transaction, committed (and, with synchronous=FULL, synced) before it
 * returns. What ending an attempt means (history row, retry or
 * final) is in store_sqlite_retry.c. */
#include <stdint.h>
#include <stdlib.h>

#include "fault.h"
#include "jq_limits.h"
#include "log.h"
#include "spec_codec.h"
#include "store_sqlite_int.h"

/* Encode spec into s->scratch (grown as needed). */
static int encode_locked(struct jq_sqlite_store *s, const struct jq_job_spec *spec, size_t *len_out)
{
    size_t need = jq_spec_encoded_size(spec);
    if (need > JQ_MAX_SPEC_BYTES)
        return JQ_ETOOBIG;
    if (need > s->scratch_cap) {
        unsigned char *grown = realloc(s->scratch, need);
        if (!grown)
            return JQ_ENOMEM;
        s->scratch = grown;
        s->scratch_cap = need;
    }
    return jq_spec_encode(spec, s->scratch, s->scratch_cap, len_out);
}

static int insert_locked(struct jq_sqlite_store *s, const struct jq_job_spec *spec, int64_t now, int64_t *id_out)
{
    size_t len = 0;
    int err = encode_locked(s, spec, &len);
    if (err)
        return err;
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_INSERT);
    sqlite3_bind_int(stmt, 1, spec->priority);
    sqlite3_bind_int64(stmt, 2, now);
    sqlite3_bind_int64(stmt, 4, spec->run_at_ms);
    sqlite3_bind_text(stmt, 5, jq_job_queue_name(spec), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, spec->start_by_ms);
    int rc = sqlite3_bind_blob64(stmt, 3, s->scratch, len, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return jq_sqlite_fail(s->db, rc, "sqlite3_bind_blob64 (enqueue spec)");
    err = jq_sqlite_exec_locked(s, JQ_SQL_INSERT, "INSERT (enqueue)");
    if (err == 0)
        *id_out = sqlite3_last_insert_rowid(s->db);
    if (err == 0 && spec->callback_url)
        err = jq_sqlite_callback_insert_locked(s, *id_out, spec->callback_url);
    return err;
}

static bool strv_ok(char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!v[i])
            return false;
    return true;
}

/* The shape the codec relies on; the API has checked the contents. */
static bool spec_ok(const struct jq_job_spec *spec)
{
    return spec->argc >= 1 && spec->argv && strv_ok(spec->argv, spec->argc) &&
           (spec->envc == 0 || (spec->env && strv_ok(spec->env, spec->envc))) &&
           (spec->stdin_len == 0 || spec->stdin_data) && (!spec->queue[0] || jq_queue_name_ok(spec->queue)) &&
           spec->run_at_ms >= 0 && spec->start_by_ms >= 0;
}

int jq_sqlite_insert_jobs_locked(struct jq_sqlite_store *s, const struct jq_job_spec *specs, size_t n, int64_t now,
                                 int64_t *ids_out)
{
    int err = 0;
    for (size_t i = 0; err == 0 && i < n; i++)
        err = spec_ok(&specs[i]) ? insert_locked(s, &specs[i], now, &ids_out[i]) : JQ_EINVAL;
    return err;
}

static bool specs_ok(const struct jq_enqueue_req *req)
{
    if (req->n == 0)
        return false;
    for (size_t i = 0; i < req->n; i++)
        if (!spec_ok(&req->specs[i]))
            return false;
    return true;
}

/* reqs[i].err of a submission not decided yet (JQ_E* codes are negative). */
#define UNDECIDED 1

/* One submission inside the group's transaction, under a savepoint: if one
 * of its jobs fails, its other jobs are undone and the rest of the group
 * stays. A single job needs none: a failed INSERT changes nothing. */
static int insert_submission_locked(struct jq_sqlite_store *s, struct jq_enqueue_req *req, int64_t now)
{
    bool savepoint = req->n > 1;
    if (!specs_ok(req))
        return JQ_EINVAL;
    int err = savepoint ? jq_sqlite_exec_locked(s, JQ_SQL_SAVEPOINT, "SAVEPOINT") : 0;
    for (size_t i = 0; err == 0 && i < req->n; i++)
        err = insert_locked(s, &req->specs[i], now, &req->ids_out[i]);
    if (sqlite3_get_autocommit(s->db))
        return err ? err : JQ_EIO; /* SQLite rolled the whole transaction back */
    req->created_at_ms = now;
    if (!savepoint)
        return err;
    if (err)
        (void)jq_sqlite_exec_locked(s, JQ_SQL_ROLLBACK_TO, "ROLLBACK TO");
    int released = jq_sqlite_exec_locked(s, JQ_SQL_RELEASE, "RELEASE");
    return err ? err : released;
}

/* What a group transaction also claims (jq_store_enqueue_group_claim). */
struct group_claim {
    size_t max;
    struct jq_job *jobs;
    size_t n;
};

/* One transaction over the undecided submissions (and the claim). Returns
 * 0 when it committed, or the error that fails every undecided one.
 * *dropped: SQLite gave up the whole transaction because of one submission
 * (a full disk does that), which is now decided as failed; the ones it took
 * along are undecided again, to be tried once more without it. */
static int try_group_locked(struct jq_sqlite_store *s, struct jq_enqueue_req *reqs, size_t n,
                            struct group_claim *claim, bool *dropped)
{
    int64_t now = jq_now_ms();
    int err = jq_sqlite_begin_locked(s);
    *dropped = false;
    for (size_t i = 0; err == 0 && i < n; i++) {
        if (reqs[i].err != UNDECIDED)
            continue;
        reqs[i].err = insert_submission_locked(s, &reqs[i], now);
        if (!sqlite3_get_autocommit(s->db))
            continue;
        for (size_t k = 0; k < i; k++)
            reqs[k].err = reqs[k].err == 0 ? UNDECIDED : reqs[k].err;
        *dropped = true;
        return 0;
    }
    if (err == 0 && claim->max > 0)
        err = jq_sqlite_claim_locked(s, claim->max, claim->jobs, &claim->n, now);
    JQ_FAULT("enqueue.before_commit");
    if (err == 0)
        err = jq_sqlite_commit_locked(s);
    else
        jq_sqlite_rollback_locked(s);
    return err;
}

/* Caller holds mu. Each try decides at least one submission, so at most n
 * tries. */
static int enqueue_group_locked(struct jq_sqlite_store *s, struct jq_enqueue_req *reqs, size_t n,
                                struct group_claim *claim)
{
    bool dropped = true;
    int err = 0;
    for (size_t i = 0; i < n; i++)
        reqs[i].err = UNDECIDED;
    while (err == 0 && dropped)
        err = try_group_locked(s, reqs, n, claim, &dropped);
    for (size_t i = 0; i < n; i++)
        if (err || reqs[i].err == UNDECIDED)
            reqs[i].err = err ? err : JQ_EIO;
    return err;
}

int jq_sqlite_enqueue_group(struct jq_store *st, struct jq_enqueue_req *reqs, size_t n, size_t max,
                            struct jq_job *jobs_out, size_t *n_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    struct group_claim claim = {max, jobs_out, 0};
    if (n_out)
        *n_out = 0;
    if (n == 0)
        return 0;
    pthread_mutex_lock(&s->mu);
    int err = enqueue_group_locked(s, reqs, n, &claim);
    pthread_mutex_unlock(&s->mu);
    if (max > 0)
        err = jq_sqlite_claim_finish(jobs_out, claim.n, err, n_out);
    return err;
}

int jq_sqlite_enqueue(struct jq_store *st, const struct jq_job_spec *specs, size_t n, int64_t *ids_out)
{
    struct jq_enqueue_req req = {.specs = specs, .n = n, .ids_out = ids_out};
    if (n == 0)
        return JQ_EINVAL;
    int err = jq_sqlite_enqueue_group(st, &req, 1, 0, NULL, NULL);
    return err ? err : req.err;
}

static bool completion_ok(const struct jq_completion *c)
{
    const struct jq_job_result *r = c->result;
    return r && (unsigned)r->state < JQ_STATE_COUNT && jq_state_is_terminal(r->state) &&
           (r->out.data || r->out.len == 0) && (r->err.data || r->err.len == 0);
}

static int64_t clamp_u64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Bind one stream: its bytes (not copied: the caller keeps them alive for
 * the call), total count and truncation flag at columns col, col+1, col+2.
 * Returns the SQLite code of the blob bind (the only one that can fail: a
 * blob over SQLITE_MAX_LENGTH). */
static int bind_output(sqlite3_stmt *stmt, int col, const struct jq_output *o)
{
    int rc = SQLITE_OK;
    if (o->len > 0)
        rc = sqlite3_bind_blob64(stmt, col, o->data, o->len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, col + 1, clamp_u64(o->total_bytes));
    sqlite3_bind_int(stmt, col + 2, o->truncated);
    return rc;
}

int jq_sqlite_complete_final_locked(struct jq_sqlite_store *s, int64_t id, const struct jq_job_result *r,
                                    int64_t now)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_COMPLETE);
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int(stmt, 2, (int)r->state);
    sqlite3_bind_int64(stmt, 3, r->finished_at_ms > 0 ? r->finished_at_ms : now);
    sqlite3_bind_int64(stmt, 4, r->started_at_ms);
    if (r->exit_code >= 0) /* -1 = did not exit normally: stored as NULL */
        sqlite3_bind_int(stmt, 5, r->exit_code);
    sqlite3_bind_int(stmt, 6, r->signal);
    sqlite3_bind_int(stmt, 7, r->core_dumped);
    sqlite3_bind_int(stmt, 8, (int)r->kill_reason);
    int rc = r->error ? sqlite3_bind_text(stmt, 9, r->error, -1, SQLITE_STATIC) : SQLITE_OK;
    if (rc == SQLITE_OK)
        rc = bind_output(stmt, 10, &r->out);
    if (rc == SQLITE_OK)
        rc = bind_output(stmt, 13, &r->err);
    if (rc != SQLITE_OK)
        return jq_sqlite_fail(s->db, rc, "sqlite3_bind (complete)");
    sqlite3_bind_int64(stmt, 16, r->duration_ms);
    sqlite3_bind_int64(stmt, 17, r->cpu_user_ms);
    sqlite3_bind_int64(stmt, 18, r->cpu_sys_ms);
    sqlite3_bind_int64(stmt, 19, r->max_rss_kb);
    sqlite3_bind_int(stmt, 20, r->worker_pid);
    return jq_sqlite_exec_locked(s, JQ_SQL_COMPLETE, "UPDATE (complete)");
}

/* A lost attempt with kill_reason shutdown: the master stopped, not the job. */
static int complete_one_locked(struct jq_sqlite_store *s, const struct jq_completion *c, int64_t now)
{
    const struct jq_job_result *r = c->result;
    bool master_gone = r->state == JQ_STATE_LOST && r->kill_reason == JQ_KILL_SHUTDOWN;
    return jq_sqlite_end_attempt_locked(s, c->id, r, master_gone, now);
}

static bool completions_ok(const struct jq_completion *done, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!completion_ok(&done[i]))
            return false;
    return true;
}

/* The results, then the claim, in one transaction; caller holds mu. */
static int complete_claim_locked(struct jq_sqlite_store *s, const struct jq_completion *done, size_t n,
                                 size_t max, struct jq_job *jobs_out, size_t *n_claimed)
{
    int64_t now = jq_now_ms();
    int err = jq_sqlite_begin_locked(s);
    for (size_t i = 0; err == 0 && i < n; i++)
        err = complete_one_locked(s, &done[i], now);
    if (n > 0)
        JQ_FAULT("complete.before_commit");
    if (err == 0 && max > 0)
        err = jq_sqlite_claim_locked(s, max, jobs_out, n_claimed, now);
    if (err == 0)
        err = jq_sqlite_commit_locked(s);
    else
        jq_sqlite_rollback_locked(s);
    /* The output blobs were bound SQLITE_STATIC: drop them now. */
    sqlite3_clear_bindings(s->stmt[JQ_SQL_COMPLETE]);
    sqlite3_clear_bindings(s->stmt[JQ_SQL_ATTEMPT_INSERT]);
    return err;
}

int jq_sqlite_complete_claim(struct jq_store *st, const struct jq_completion *done, size_t n, size_t max,
                             struct jq_job *jobs_out, size_t *n_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    size_t claimed = 0;
    if (n_out)
        *n_out = 0;
    if (!completions_ok(done, n))
        return JQ_EINVAL;
    if (n == 0 && max == 0)
        return 0;
    pthread_mutex_lock(&s->mu);
    int err = complete_claim_locked(s, done, n, max, jobs_out, &claimed);
    pthread_mutex_unlock(&s->mu);
    if (max > 0)
        err = jq_sqlite_claim_finish(jobs_out, claimed, err, n_out);
    return err;
}

int jq_sqlite_complete(struct jq_store *st, const struct jq_completion *done, size_t n)
{
    return jq_sqlite_complete_claim(st, done, n, 0, NULL, NULL);
}

/* Run the one-row UPDATE id (bound ?1 = job id, ?2 = now); when it changed
 * nothing, tell why: JQ_ENOTFOUND, or JQ_ESTATE with the state. */
static int update_if_state_locked(struct jq_sqlite_store *s, enum jq_sql_id id, int64_t job_id,
                                  const char *what, enum jq_job_state *state_out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, id);
    sqlite3_bind_int64(stmt, 1, job_id);
    if (sqlite3_bind_parameter_count(stmt) >= 2)
        sqlite3_bind_int64(stmt, 2, jq_now_ms());
    int err = jq_sqlite_exec_locked(s, id, what);
    if (err || sqlite3_changes(s->db) == 1)
        return err;
    enum jq_job_state state;
    err = jq_sqlite_state_locked(s, job_id, &state);
    if (err == 0) {
        err = JQ_ESTATE;
        if (state_out)
            *state_out = state;
    }
    return err;
}

int jq_sqlite_cancel_queued(struct jq_store *st, int64_t id, enum jq_job_state *state_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0)
        err = update_if_state_locked(s, JQ_SQL_CANCEL_QUEUED, id, "UPDATE (cancel)", state_out);
    if (err == 0 || err == JQ_ESTATE || err == JQ_ENOTFOUND) {
        int done = jq_sqlite_commit_locked(s);
        err = done ? done : err;
    } else {
        jq_sqlite_rollback_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    if (err == 0 && state_out)
        *state_out = JQ_STATE_CANCELLED;
    return err;
}

int jq_sqlite_mark_cancel_requested(struct jq_store *st, int64_t id)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    int err = update_if_state_locked(s, JQ_SQL_MARK_CANCEL, id, "UPDATE (cancel_requested)", NULL);
    pthread_mutex_unlock(&s->mu);
    return err;
}

int jq_sqlite_recover(struct jq_store *st, int64_t *n_lost_out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    int64_t n = 0;
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0)
        err = jq_sqlite_recover_locked(s, jq_now_ms(), &n);
    JQ_FAULT("recover.before_commit");
    if (err == 0)
        err = jq_sqlite_commit_locked(s);
    else
        jq_sqlite_rollback_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (n_lost_out)
        *n_lost_out = err ? 0 : n;
    return err;
}

bool jq_sqlite_writable(struct jq_store *st)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    pthread_mutex_lock(&s->mu);
    sqlite3_busy_timeout(s->db, JQ_SQLITE_PROBE_BUSY_TIMEOUT_MS);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0)
        err = jq_sqlite_exec_locked(s, JQ_SQL_ROLLBACK, "ROLLBACK (write probe)");
    sqlite3_busy_timeout(s->db, JQ_SQLITE_BUSY_TIMEOUT_MS);
    pthread_mutex_unlock(&s->mu);
    return err == 0;
}
