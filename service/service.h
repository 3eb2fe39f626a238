/* service.h: the master process — it owns the HTTP API, the store, the
 * worker pool, dispatch (queued job -> channel) and collection (result ->
 * store -> long-poll waiters). One struct, passed everywhere; only signal
 * flags are global. */
#ifndef JQ_SERVICE_H
#define JQ_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "api.h"
#include "callbacks.h"
#include "config.h"
#include "metrics.h"
#include "store.h"
#include "supervisor.h"

/* Results a failed completion transaction left unrecorded, kept to be
 * recorded again (unrecorded.c). Guarded by collect_mu. */
struct jq_unrecorded {
    int64_t *ids;
    struct jq_job_result *results; /* own copies */
    size_t n, cap;
    int64_t next_try_ms;           /* epoch ms */
    int64_t delay_ms;              /* doubles after each failed try, up to a bound */
};

struct jq_service {
    struct jq_config cfg;
    struct jq_store *store;
    struct jq_api *api;
    struct jq_pool pool;
    int signal_fd;              /* signalfd: SIGCHLD, SIGTERM, SIGINT */
    int wake_fd;                /* eventfd: "there may be work to dispatch" */
    pthread_t collector;
    bool collector_started;
    pthread_mutex_t collect_mu; /* one collector at a time (thread or reaper) */
    struct jq_unrecorded unrecorded; /* guarded by collect_mu */
    atomic_bool accepting;      /* false once shutdown began */
    atomic_bool collector_stop;
    pthread_t live_notifier;    /* live.c: tells the API's streams of new output */
    bool live_started;
    atomic_bool live_stop;
    bool stopping;              /* main thread only */
    int64_t next_purge_ms;      /* retention: no purge before this (epoch ms); main thread only */
    int start_status;           /* exit status when start-up fails: 2 for a setting that cannot be met, else 1 */
    struct jq_metrics metrics;  /* counters for /metrics and /v1/stats (any thread) */
    /* Jobs claimed ahead: running in the store, in no slot yet, in claim
     * order (dispatch.c). Guarded by pool.mu. */
    struct jq_job *ready;
    size_t n_ready, ready_cap;
    struct jq_callbacks *callbacks; /* the completion-callback sender */
};

/* Run the master until SIGTERM/SIGINT. Returns the process exit status. */
int jq_service_run(const struct jq_config *cfg);

/* Wake the main loop so it dispatches (any thread). */
void jq_service_wake(struct jq_service *svc);

/* isolation.c: at start-up, before any thread or worker: PR_SET_DUMPABLE
 * 0, the work root prepared, the job cgroups set up (cfg->cgroups), the
 * isolation in use logged. Returns 0, JQ_ESYS, or JQ_EINVAL when a forced
 * --job-cgroups backend is missing (jobqd then exits 2). */
JQ_MUST_CHECK int jq_isolation_start(struct jq_config *cfg);

/* dispatch.c: hand queued jobs to idle workers until either runs out.
 * Main thread only. */
void jq_dispatch(struct jq_service *svc);
/* The ready list: made once the pool is up (room for one job per worker),
 * freed at the end. */
JQ_MUST_CHECK int jq_dispatch_init(struct jq_service *svc);
void jq_dispatch_cleanup(struct jq_service *svc);
/* Post jobs of the ready list into idle slots; returns how many. Nothing
 * while the service stops. Caller holds pool.mu (as for all *_locked). */
size_t jq_dispatch_post_ready_locked(struct jq_service *svc);
/* How many jobs a claim may add to the ready list: with ahead, up to one
 * per worker; without, as many as there are idle workers (0 while
 * stopping). They go to jq_dispatch_tail_locked(); then add them. */
size_t jq_dispatch_room_locked(struct jq_service *svc, bool ahead);
struct jq_job *jq_dispatch_tail_locked(struct jq_service *svc);
void jq_dispatch_add_claimed_locked(struct jq_service *svc, size_t n);
/* The API's store_jobs hook (ctx = the service): store the submissions,
 * claiming in the same transaction jobs for the idle workers, and post
 * them. */
int jq_dispatch_store_jobs(void *ctx, struct jq_enqueue_req *reqs, size_t n);
/* If job id waits in the ready list: take it out and back to queued (for a
 * cancel); true if it was there. */
bool jq_dispatch_unready_locked(struct jq_service *svc, int64_t id);
/* Shutdown: every job of the ready list back to queued. Takes pool.mu. */
void jq_dispatch_requeue_ready(struct jq_service *svc);

/* timers.c: run what is due (due retries and scheduled jobs to the queue,
 * overdue jobs expired); returns the poll timeout until the next one in ms,
 * or -1 when nothing waits for a time. Main thread only. */
int jq_timers_run(struct jq_service *svc);
/* A job just became final (or the timers look): if a completion callback
 * is pending, wake the sender (starting it the first time). One index
 * probe while the sender does not run yet. Any thread. */
void jq_service_poke_callbacks(struct jq_service *svc);

/* schedules.c: make the jobs of the schedules whose tick has come.
 * Returns the next tick of any schedule (0 = none), or -1 when the store
 * failed. Main thread only. */
int64_t jq_schedules_run(struct jq_service *svc, int64_t now);
/* The defaults and limits a submitted job gets (from the config). */
struct jq_job_policy jq_service_job_policy(const struct jq_config *c);

/* collect.c: the collector thread, and collection of every DONE slot
 * (also called by the reaper). */
JQ_MUST_CHECK int jq_collect_start(struct jq_service *svc);
void jq_collect_stop(struct jq_service *svc);
void jq_collect_all(struct jq_service *svc);
/* Resolve the job of a slot whose worker died (or was killed at shutdown)
 * before it reported: kill the job's process group, record it lost with
 * reason, free the slot. Main thread. */
void jq_collect_lost(struct jq_service *svc, unsigned slot, enum jq_kill_reason reason);
/* A result the store has just recorded: count it, answer its long-polls. */
void jq_collect_recorded(struct jq_service *svc, int64_t id, const struct jq_job_result *res);

/* watchdog.c: arm the slot's deadline when a job is posted to it (caller
 * holds pool mu); from the timer loop, SIGKILL each worker whose job is
 * overdue and return when to look next (epoch ms, 0 = no job posted). */
void jq_watchdog_arm_locked(struct jq_service *svc, unsigned slot, const struct jq_job_spec *spec);
int64_t jq_watchdog_run(struct jq_service *svc, int64_t now);

/* unrecorded.c: keep copies of results whose completion transaction failed
 * (caller holds collect_mu); record them again once due (any thread but the
 * collector: takes collect_mu), or at once with now_or_never (shutdown).
 * Returns when to try next (epoch ms), 0 when nothing is left. */
void jq_unrecorded_keep(struct jq_service *svc, const struct jq_completion *done, size_t n);
int64_t jq_unrecorded_retry(struct jq_service *svc, int64_t now, bool now_or_never);
void jq_unrecorded_cleanup(struct jq_service *svc);

/* live.c: the thread that turns workers' output news into wake-ups of the
 * API's streams, and the API's hook that copies a running job's output
 * from its slot (JQ_ENOTFOUND when no slot holds the job). */
JQ_MUST_CHECK int jq_live_start(struct jq_service *svc);
void jq_live_stop(struct jq_service *svc);
int jq_live_read(void *ctx, int64_t id, bool err_stream, uint64_t offset, void *buf, size_t max, size_t *n_out);

#endif
