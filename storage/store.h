/* store.h: durable job storage, behind a narrow interface. The SQLite
 * backend (store_sqlite.c) is the only code in jobq that speaks SQL; a
 * second backend is a second struct jq_store_ops.
 *
 * Thread safety: every function may be called from any thread of the master;
 * the backend serialises access itself. Only the master process opens the
 * store (workers never link this library).
 *
 * Durability: every function that changes a job returns only after the change
 * is committed and synced (WAL, synchronous=FULL). */
#ifndef JQ_STORE_H
#define JQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "job.h"

struct jq_store;

/* A page of jobs for listing. */
struct jq_job_list {
    struct jq_job *jobs; /* n jobs, heap; free with jq_job_list_cleanup() */
    size_t n;
    bool more;           /* another page follows */
};
void jq_job_list_cleanup(struct jq_job_list *list);

/* Listing filter: jobs with id > after_id, in ascending id order. */
struct jq_list_query {
    bool has_state;          /* filter by state */
    enum jq_job_state state;
    int64_t after_id;        /* 0 = from the start */
    size_t limit;            /* 1..JQ_MAX_LIST_LIMIT */
    bool with_output;        /* also load stdout/stderr bytes */
    const char *queue;       /* only this queue's jobs; NULL = every queue */
};

/* Counts by state, for readiness and stats. */
struct jq_store_counts {
    int64_t by_state[JQ_STATE_COUNT];
};

/* Open (create if missing) the SQLite database at path, in WAL mode with
 * synchronous=FULL; migrate the schema forward (PRAGMA user_version). The
 * parent directory must exist. Returns 0, JQ_EIO, JQ_ECORRUPT (a newer schema
 * than this binary knows) or JQ_ENOMEM. */
JQ_MUST_CHECK int jq_store_open_sqlite(struct jq_store **out, const char *path);
void jq_store_close(struct jq_store *st); /* NULL is a no-op */

/* Insert n jobs (n >= 1) in one transaction, all or nothing, as queued with
 * created_at = now. ids_out[i] receives the id of specs[i] (ascending). */
JQ_MUST_CHECK int jq_store_enqueue(struct jq_store *st, const struct jq_job_spec *specs, size_t n, int64_t *ids_out);

/* One submission of a group commit (jq_store_enqueue_group): its jobs are
 * stored all or nothing, independently of the other submissions. */
struct jq_enqueue_req {
    const struct jq_job_spec *specs; /* n >= 1 */
    size_t n;
    int64_t *ids_out;      /* room for n ids (ascending), filled on success */
    int64_t created_at_ms; /* out: the jobs' created_at, on success */
    int err;               /* out: 0 (stored and synced) or this submission's JQ_E* */
};

/* Group commit: store n submissions in one transaction with one sync. A
 * submission that fails (bad spec, full disk) is undone alone and gets its
 * own err; the others are stored. (When SQLite gives up a whole transaction
 * because of one submission, as on a full disk, the others are stored in a
 * second one.) Returns 0 when the transaction committed, or the error that
 * lost it (e.g. the commit failed): then every reqs[i].err is set to it and
 * nothing was stored. */
JQ_MUST_CHECK int jq_store_enqueue_group(struct jq_store *st, struct jq_enqueue_req *reqs, size_t n);
/* jq_store_enqueue_group, then jq_store_claim of up to max jobs (the new
 * ones or older ones, by priority), in the same transaction: work handed to
 * an idle pool costs one commit, not two. *n_out = jobs claimed. */
JQ_MUST_CHECK int jq_store_enqueue_group_claim(struct jq_store *st, struct jq_enqueue_req *reqs, size_t n,
                                               size_t max, struct jq_job *jobs_out, size_t *n_out);

/* An idempotency key and the hash of the submission's canonical body. */
#define JQ_STORE_BODY_HASH_BYTES 32
struct jq_idem {
    const char *key;                                        /* 1..JQ_MAX_IDEMPOTENCY_KEY_BYTES */
    unsigned char body_sha256[JQ_STORE_BODY_HASH_BYTES];
};

/* jq_store_enqueue under an idempotency key, in one transaction: a key
 * never seen stores the jobs and the key (*replayed = false); a key seen
 * with the same hash and job count stores nothing and gives the ids of the
 * jobs it created then (*replayed = true); with another body, JQ_ESTATE.
 * Concurrent calls with one key create the jobs once. */
JQ_MUST_CHECK int jq_store_enqueue_idempotent(struct jq_store *st, const struct jq_idem *idem,
                                              const struct jq_job_spec *specs, size_t n, int64_t *ids_out,
                                              bool *replayed);

/* Claim up to max queued jobs, highest priority first, FIFO within a
 * priority: mark them running (attempt + 1, started_at = now, worker_pid =
 * 0) in one transaction. jobs_out must have room for max; each returned job
 * carries its full spec and must be cleaned up by the caller. *n_out may be
 * 0. O(log n) in the queue depth. */
JQ_MUST_CHECK int jq_store_claim(struct jq_store *st, size_t max, struct jq_job *jobs_out, size_t *n_out);

/* One finished job for jq_store_complete. */
struct jq_completion {
    int64_t id;
    const struct jq_job_result *result; /* state must be terminal */
};

/* Record n results in one transaction. A job that is no longer running (e.g.
 * resolved meanwhile) is left unchanged. Each result ends an attempt: a row
 * of the job's attempt history is written, and the job's retry policy
 * (core/retry.h) decides, in the same transaction, whether the job ends in
 * the result's state or goes back to queued / retry_wait (with run_at =
 * now + backoff; jitter from the store's own random source) for another
 * attempt. A lost result with kill_reason shutdown counts as a master stop:
 * retried without delay. A job whose cancel was requested is never retried. */
JQ_MUST_CHECK int jq_store_complete(struct jq_store *st, const struct jq_completion *done, size_t n);

/* jq_store_complete of n results (n may be 0), then jq_store_claim of up to
 * max jobs (max may be 0), in ONE transaction with one sync: a finished
 * worker's next job costs no extra commit. */
JQ_MUST_CHECK int jq_store_complete_claim(struct jq_store *st, const struct jq_completion *done, size_t n,
                                          size_t max, struct jq_job *jobs_out, size_t *n_out);

/* A running job whose task never reached a worker (it did not run): back to
 * queued, the claim's attempt uncounted, no history row. A job that is not
 * running is left unchanged. */
JQ_MUST_CHECK int jq_store_requeue(struct jq_store *st, int64_t id);

/* Load one job into *out (jq_job_init'ed here; caller cleans up), with its
 * attempt history (out->attempts; lists leave it empty). With with_output,
 * stdout/stderr bytes are loaded too. JQ_ENOTFOUND if no such id. */
JQ_MUST_CHECK int jq_store_get(struct jq_store *st, int64_t id, bool with_output, struct jq_job *out);

/* Just the state of a job. JQ_ENOTFOUND if no such id. */
JQ_MUST_CHECK int jq_store_get_state(struct jq_store *st, int64_t id, enum jq_job_state *out);

/* List a page of jobs. */
JQ_MUST_CHECK int jq_store_list(struct jq_store *st, const struct jq_list_query *q, struct jq_job_list *out);

/* Cancel a queued (or retry_wait) job: -> cancelled, finished_at = now, atomically.
 * Returns 0, JQ_ENOTFOUND, or JQ_ESTATE if it is not queued (*state_out
 * then tells what it is). state_out may be NULL. */
JQ_MUST_CHECK int jq_store_cancel_queued(struct jq_store *st, int64_t id, enum jq_job_state *state_out);

/* Mark a running job's cancel_requested flag (the worker is told separately). */
JQ_MUST_CHECK int jq_store_mark_cancel_requested(struct jq_store *st, int64_t id);

/* At start-up, before any claim: every job still running belongs to a dead
 * generation; resolve it by its policy as a lost attempt (kill_reason none)
 * in one transaction: back to queued at once if its policy retries a lost
 * attempt and attempts remain, else lost (finished_at = now). Each gets a
 * history row. *n_lost_out (may be NULL) = jobs resolved, requeued or lost. */
JQ_MUST_CHECK int jq_store_recover(struct jq_store *st, int64_t *n_lost_out);

/* Move every retry_wait or scheduled job whose run_at <= now_ms to queued, in one
 * transaction (O(log n) per job: a partial index on run_at). *next_run_at_out
 * (may be NULL) = the earliest run_at still waiting, or 0 if none. */
JQ_MUST_CHECK int jq_store_promote_due(struct jq_store *st, int64_t now_ms, int64_t *next_run_at_out);

/* Expire up to max jobs never started whose start_by <= now_ms (-> expired,
 * finished_at = now), in one transaction; their ids go to ids_out (*n_out;
 * n == max: call again). *next_start_by_out (may be NULL) = the earliest
 * start_by still pending, or 0. O(log n) per job (a partial index). */
JQ_MUST_CHECK int jq_store_expire_due(struct jq_store *st, int64_t now_ms, int64_t *ids_out, size_t max,
                                      size_t *n_out, int64_t *next_start_by_out);

/* A named queue: settings and job counts. */
struct jq_queue_info {
    char name[JQ_MAX_QUEUE_NAME_BYTES + 1];
    bool paused;                  /* the claim skips it */
    int64_t concurrency_limit;    /* at most this many of its jobs running; 0 = no limit */
    int64_t by_state[JQ_STATE_COUNT];
};
struct jq_queue_list {
    struct jq_queue_info *queues; /* n, by name; heap: jq_queue_list_cleanup() */
    size_t n;
};
void jq_queue_list_cleanup(struct jq_queue_list *list);

/* Change queue name's settings (a valid queue name): paused 0/1 or -1 to
 * keep, limit >= 0 (0 = none) or -1 to keep. Durable. JQ_EINVAL on bad
 * arguments. */
JQ_MUST_CHECK int jq_store_queue_update(struct jq_store *st, const char *name, int paused, int64_t limit);
/* Every queue that has jobs or settings (at most JQ_MAX_QUEUES), by name. */
JQ_MUST_CHECK int jq_store_queue_list(struct jq_store *st, struct jq_queue_list *out);

/* Delete finished job id now, with its attempt history and idempotency
 * key. JQ_ENOTFOUND; JQ_ESTATE when it is not finished (*state_out, may be
 * NULL, tells its state). */
JQ_MUST_CHECK int jq_store_purge_job(struct jq_store *st, int64_t id, enum jq_job_state *state_out);
/* Delete up to max jobs that finished at or before finished_before_ms,
 * oldest first, in one short transaction; their ids go to ids_out (*n_out;
 * n == max: call again). *oldest_finished_out (may be NULL) = the
 * finished_at of the oldest finished job left, or 0. */
JQ_MUST_CHECK int jq_store_purge_finished(struct jq_store *st, int64_t finished_before_ms, int64_t *ids_out,
                                          size_t max, size_t *n_out, int64_t *oldest_finished_out);
/* After purges: give freed pages back to the file system (a bounded number
 * per call) and checkpoint the WAL, truncating it. */
JQ_MUST_CHECK int jq_store_maintain(struct jq_store *st);

/* The space the database takes, for /v1/stats. */
struct jq_store_space {
    int64_t database_bytes; /* the main file's pages */
    int64_t free_bytes;     /* of which free (not yet given back) */
    int64_t wal_bytes;      /* the write-ahead log file */
};
JQ_MUST_CHECK int jq_store_space(struct jq_store *st, struct jq_store_space *out);

/* A periodic job: its cron expression, the job it makes at each tick
 * (as JSON, the body of a single-job POST), and its state. */
struct jq_schedule {
    int64_t id;
    char cron[JQ_MAX_CRON_BYTES + 1];
    char *template_json;   /* heap: jq_schedule_cleanup() */
    bool paused;
    int64_t next_tick_ms;  /* the next tick (epoch ms) */
    int64_t last_tick_ms;  /* 0 = never ticked */
    int64_t last_job_id;   /* the job of the last tick, 0 = none */
    int64_t created_at_ms;
};
void jq_schedule_cleanup(struct jq_schedule *sch);
struct jq_schedule_list {
    struct jq_schedule *v; /* n, by id; heap: jq_schedule_list_cleanup() */
    size_t n;
};
void jq_schedule_list_cleanup(struct jq_schedule_list *list);

/* Store a new schedule (cron, template_json, paused, next_tick_ms given);
 * fills id and created_at_ms. JQ_ETOOBIG past JQ_MAX_SCHEDULES. */
JQ_MUST_CHECK int jq_store_schedule_create(struct jq_store *st, struct jq_schedule *sch);
/* Load one (caller cleans up). JQ_ENOTFOUND. */
JQ_MUST_CHECK int jq_store_schedule_get(struct jq_store *st, int64_t id, struct jq_schedule *out);
/* Every schedule, by id. */
JQ_MUST_CHECK int jq_store_schedule_list(struct jq_store *st, struct jq_schedule_list *out);
/* Delete one (the jobs it made stay). JQ_ENOTFOUND. */
JQ_MUST_CHECK int jq_store_schedule_delete(struct jq_store *st, int64_t id);
/* Pause or resume; next_tick_ms becomes the next tick. JQ_ENOTFOUND. */
JQ_MUST_CHECK int jq_store_schedule_set_paused(struct jq_store *st, int64_t id, bool paused, int64_t next_tick_ms);
/* Up to max running schedules whose next tick is at or before now_ms,
 * earliest first; *next_tick_out (may be NULL) = the earliest next tick of
 * any running schedule, 0 if none. Reads only. */
JQ_MUST_CHECK int jq_store_schedule_due(struct jq_store *st, int64_t now_ms, size_t max, struct jq_schedule_list *out,
                                        int64_t *next_tick_out);
/* In one transaction: if schedule id is running and its next tick is still
 * tick_ms, enqueue spec (NULL: no job this tick) as the tick's job and move
 * the next tick to next_tick_ms; *job_id_out = the job, or 0 when the tick
 * had already been handled (nothing changes then) or spec was NULL. A tick
 * never makes two jobs: (schedule, tick) is unique among jobs. */
JQ_MUST_CHECK int jq_store_schedule_fire(struct jq_store *st, int64_t id, int64_t tick_ms,
                                         const struct jq_job_spec *spec, int64_t next_tick_ms, int64_t *job_id_out);

/* A callback due for delivery. */
struct jq_callback_due {
    int64_t job_id;
    char url[JQ_MAX_CALLBACK_URL_BYTES + 1];
    int32_t attempts; /* made so far */
};
/* Up to max callbacks of finished jobs due at or before now_ms, earliest
 * first; each gets a lease (due again at lease_until_ms, should its
 * delivery never be recorded: a crash). *next_due_out (may be NULL) = the
 * earliest due time of any pending callback (leases included) afterwards,
 * 0 if none. */
JQ_MUST_CHECK int jq_store_callbacks_due(struct jq_store *st, int64_t now_ms, int64_t lease_until_ms, size_t max,
                                         struct jq_callback_due *out, size_t *n_out, int64_t *next_due_out);
/* The outcome of one delivery attempt. */
struct jq_callback_outcome {
    int64_t job_id;
    int32_t attempt;        /* 1, 2, ... */
    int64_t at_ms;
    int32_t status;         /* HTTP status, 0 = none */
    const char *error;      /* or NULL */
    bool delivered;         /* a 2xx */
    int64_t retry_at_ms;    /* when not delivered: the next attempt, 0 = no more (failed) */
};
/* Record it: the delivery row and the callback's state, in one
 * transaction. A callback no longer pending is left as it is. */
JQ_MUST_CHECK int jq_store_callback_record(struct jq_store *st, const struct jq_callback_outcome *o);

/* Counts by state. */
JQ_MUST_CHECK int jq_store_count(struct jq_store *st, struct jq_store_counts *out);

/* A write probe for /readyz: true if a write transaction can commit now. */
bool jq_store_writable(struct jq_store *st);

/* The backend's operations; jq_store_* dispatch through this table. */
struct jq_store_ops {
    const char *name;
    void (*close)(struct jq_store *st);
    int (*enqueue)(struct jq_store *st, const struct jq_job_spec *specs, size_t n, int64_t *ids_out);
    int (*enqueue_group)(struct jq_store *st, struct jq_enqueue_req *reqs, size_t n, size_t max,
                         struct jq_job *jobs_out, size_t *n_out);
    int (*claim)(struct jq_store *st, size_t max, struct jq_job *jobs_out, size_t *n_out);
    int (*complete)(struct jq_store *st, const struct jq_completion *done, size_t n);
    int (*complete_claim)(struct jq_store *st, const struct jq_completion *done, size_t n, size_t max,
                          struct jq_job *jobs_out, size_t *n_out);
    int (*get)(struct jq_store *st, int64_t id, bool with_output, struct jq_job *out);
    int (*get_state)(struct jq_store *st, int64_t id, enum jq_job_state *out);
    int (*list)(struct jq_store *st, const struct jq_list_query *q, struct jq_job_list *out);
    int (*cancel_queued)(struct jq_store *st, int64_t id, enum jq_job_state *state_out);
    int (*mark_cancel_requested)(struct jq_store *st, int64_t id);
    int (*recover)(struct jq_store *st, int64_t *n_lost_out);
    int (*count)(struct jq_store *st, struct jq_store_counts *out);
    bool (*writable)(struct jq_store *st);
    int (*promote_due)(struct jq_store *st, int64_t now_ms, int64_t *next_run_at_out);
    int (*requeue)(struct jq_store *st, int64_t id);
    int (*expire_due)(struct jq_store *st, int64_t now_ms, int64_t *ids_out, size_t max, size_t *n_out,
                      int64_t *next_start_by_out);
    int (*queue_update)(struct jq_store *st, const char *name, int paused, int64_t limit);
    int (*queue_list)(struct jq_store *st, struct jq_queue_list *out);
    int (*enqueue_idempotent)(struct jq_store *st, const struct jq_idem *idem, const struct jq_job_spec *specs,
                              size_t n, int64_t *ids_out, bool *replayed);
    int (*purge_job)(struct jq_store *st, int64_t id, enum jq_job_state *state_out);
    int (*purge_finished)(struct jq_store *st, int64_t finished_before_ms, int64_t *ids_out, size_t max,
                          size_t *n_out, int64_t *oldest_finished_out);
    int (*maintain)(struct jq_store *st);
    int (*space)(struct jq_store *st, struct jq_store_space *out);
    int (*schedule_create)(struct jq_store *st, struct jq_schedule *sch);
    int (*schedule_get)(struct jq_store *st, int64_t id, struct jq_schedule *out);
    int (*schedule_list)(struct jq_store *st, struct jq_schedule_list *out);
    int (*schedule_delete)(struct jq_store *st, int64_t id);
    int (*schedule_set_paused)(struct jq_store *st, int64_t id, bool paused, int64_t next_tick_ms);
    int (*schedule_due)(struct jq_store *st, int64_t now_ms, size_t max, struct jq_schedule_list *out,
                        int64_t *next_tick_out);
    int (*schedule_fire)(struct jq_store *st, int64_t id, int64_t tick_ms, const struct jq_job_spec *spec,
                         int64_t next_tick_ms, int64_t *job_id_out);
    int (*callbacks_due)(struct jq_store *st, int64_t now_ms, int64_t lease_until_ms, size_t max,
                         struct jq_callback_due *out, size_t *n_out, int64_t *next_due_out);
    int (*callback_record)(struct jq_store *st, const struct jq_callback_outcome *o);
};

/* Every backend's handle starts with this. */
struct jq_store {
    const struct jq_store_ops *ops;
};

#endif
