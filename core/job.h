/* job.h: the job as every layer sees it — its spec (what to run), its
 * result (what happened) and its lifecycle state. Plain C structs, no JSON,
 * no SQL, no shared memory: api/, storage/, service/ and worker/ all include
 * this header and nothing else of each other. */
#ifndef JQ_JOB_H
#define JQ_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "jq_limits.h"

/* queued -> running -> succeeded | failed | timed_out | cancelled | lost.
 * A delayed job starts as scheduled (until its run_at) and then is queued;
 * a job not started by its start_by ends expired.
 * A failed attempt that the job's retry policy retries goes running ->
 * retry_wait (waiting out its backoff) -> queued, or straight back to queued
 * when there is no delay (core/retry.h decides).
 * The numeric values are stored in the database: never renumber. */
enum jq_job_state {
    JQ_STATE_QUEUED = 0,
    JQ_STATE_RUNNING = 1,
    JQ_STATE_SUCCEEDED = 2, /* exited with code 0 */
    JQ_STATE_FAILED = 3,    /* non-zero exit, or a signal the service did not send, or exec failed */
    JQ_STATE_TIMED_OUT = 4, /* the deadline passed and the service killed it */
    JQ_STATE_CANCELLED = 5, /* a client cancelled it */
    JQ_STATE_LOST = 6,      /* the worker or master running it died */
    JQ_STATE_RETRY_WAIT = 7, /* an attempt failed; the next one starts at run_at_ms (not terminal) */
    JQ_STATE_SCHEDULED = 8,  /* submitted with a run_at in the future; queued at run_at_ms (not terminal) */
    JQ_STATE_EXPIRED = 9,    /* not started by its start_by: never ran */
};
#define JQ_STATE_COUNT 10

/* "queued", "running", ...; "unknown" for a value out of range. */
const char *jq_state_name(enum jq_job_state state);
/* Parse a state name. Returns 0, or JQ_EINVAL for an unknown name. */
int jq_state_parse(const char *name, enum jq_job_state *out);
bool jq_state_is_terminal(enum jq_job_state state);

/* The queue a job goes to when it names none. */
#define JQ_DEFAULT_QUEUE "default"
/* A queue name: 1..JQ_MAX_QUEUE_NAME_BYTES of [A-Za-z0-9_.-]. */
bool jq_queue_name_ok(const char *name);

/* Why the service killed a job (if it did). Stored: never renumber. */
enum jq_kill_reason {
    JQ_KILL_NONE = 0,
    JQ_KILL_TIMEOUT = 1, /* timeout_ms passed */
    JQ_KILL_CANCEL = 2,  /* DELETE /v1/jobs/{id} */
    JQ_KILL_SHUTDOWN = 3, /* the service stopped */
    /* A resource limit of the job (jq_job_limits) ended it; the kill_reason
     * the API shows is "limit" and its "limit" field says which. */
    JQ_KILL_LIMIT_CPU = 4,    /* RLIMIT_CPU: SIGXCPU (or SIGKILL at the hard limit) */
    JQ_KILL_LIMIT_MEMORY = 5, /* the cgroup's memory.max: the kernel's OOM killer */
    JQ_KILL_LIMIT_PROCS = 6,  /* the cgroup's pids.max was hit (the job was then killed) */
    JQ_KILL_LIMIT_FSIZE = 7   /* RLIMIT_FSIZE: SIGXFSZ */
};
const char *jq_kill_reason_name(enum jq_kill_reason reason); /* NULL for NONE; "limit" for every LIMIT_* */
/* Which limit ended the job: "timeout", "cpu", "memory", "procs", "fsize", or NULL. */
const char *jq_kill_limit_name(enum jq_kill_reason reason);
bool jq_kill_reason_is_limit(enum jq_kill_reason reason);

/* Resource limits of one job (docs/api.md "limits"). 0 = none: in a spec,
 * the server's ceiling applies; as a ceiling, there is no limit. */
struct jq_job_limits {
    int64_t cpu_s;        /* CPU seconds (RLIMIT_CPU) */
    int64_t memory_bytes; /* cgroup memory.max, else address space (RLIMIT_AS) */
    int64_t procs;        /* cgroup pids.max, else RLIMIT_NPROC of the job's user */
    int64_t nofile;       /* open descriptors (RLIMIT_NOFILE) */
    int64_t fsize_bytes;  /* largest file the job may write (RLIMIT_FSIZE) */
};
/* The value a job runs with: the spec's when it is set and below the
 * ceiling, else the ceiling (0 = none). */
int64_t jq_job_limit_effective(int64_t wanted, int64_t ceiling);

/* retry_on items besides exit codes 1..255. */
#define JQ_RETRY_ON_TIMEOUT (-1) /* the attempt timed out */
#define JQ_RETRY_ON_LOST (-2)    /* the worker or master running it died */

/* What happens after a failed attempt (core/retry.h applies it). A zeroed
 * policy (max_attempts 0) behaves as one attempt, no retry. */
struct jq_retry_policy {
    int32_t max_attempts;   /* 1..JQ_MAX_ATTEMPTS; attempts in all, the first one included */
    bool on_lost_retry;     /* on_lost "retry" (same as JQ_RETRY_ON_LOST in retry_on); false = "fail" */
    uint32_t retry_on_n;    /* items in retry_on */
    int32_t retry_on[JQ_MAX_RETRY_ON]; /* distinct exit codes 1..255, JQ_RETRY_ON_TIMEOUT, JQ_RETRY_ON_LOST */
    int64_t backoff_ms;     /* delay before the 2nd attempt, doubled each time, 0..JQ_MAX_BACKOFF_MS */
    int64_t backoff_max_ms; /* ceiling of the doubled delay, 0..JQ_MAX_BACKOFF_MAX_MS */
};

/* What to run. Owned by whoever holds it; free with jq_job_spec_cleanup().
 * All strings are NUL-terminated and contain no NUL (the API rejects NUL). */
struct jq_job_spec {
    char **argv;              /* argc strings + NULL; argv[0] is the program (PATH-searched if it has no '/') */
    size_t argc;              /* >= 1 */
    char **env;               /* envc "NAME=value" strings + NULL; the job's whole environment besides PATH */
    size_t envc;
    char *cwd;                /* working directory, or NULL for the service's default */
    char *stdin_data;         /* bytes fed to the job's stdin, or NULL for empty stdin (EOF at once) */
    size_t stdin_len;
    int64_t timeout_ms;       /* wall-clock limit, > 0 */
    int64_t kill_grace_ms;    /* SIGTERM -> SIGKILL delay on timeout/cancel, >= 0 */
    int64_t max_output_bytes; /* cap per stream (stdout, stderr), >= 0 */
    int32_t priority;         /* higher runs first; FIFO within a priority */
    struct jq_retry_policy retry; /* what a failed attempt leads to */
    struct jq_job_limits limits;  /* resource limits (0 = the server's ceiling) */
    bool no_network;          /* run in a fresh network namespace: no interface but a down loopback */
    /* Scheduling: stored in columns of their own, never sent to a worker. */
    char queue[JQ_MAX_QUEUE_NAME_BYTES + 1]; /* named queue; "" = "default" */
    int64_t run_at_ms;        /* not before this (epoch ms); 0 = at once */
    int64_t start_by_ms;      /* expired if not started by then (epoch ms); 0 = no deadline */
    char *callback_url;       /* POSTed the job when it finishes (http/https), or NULL; heap */
};

void jq_job_spec_init(struct jq_job_spec *spec);    /* zero it */
/* spec->queue, or "default" when it names none. */
const char *jq_job_queue_name(const struct jq_job_spec *spec);
void jq_job_spec_cleanup(struct jq_job_spec *spec); /* free members; spec stays valid (empty) */

/* Captured output of one stream. data holds min(total_bytes, cap) bytes. */
struct jq_output {
    char *data;           /* heap, len bytes (+ a NUL past the end for convenience), or NULL when len == 0 */
    size_t len;           /* bytes kept */
    uint64_t total_bytes; /* bytes the job wrote, kept or not */
    bool truncated;       /* total_bytes > len */
};

/* What happened. Times are Unix epoch milliseconds (0 = not yet). */
struct jq_job_result {
    enum jq_job_state state; /* a terminal state */
    int exit_code;           /* exit status, or -1 if the job did not exit normally */
    int signal;              /* terminating signal number, or 0 */
    bool core_dumped;
    enum jq_kill_reason kill_reason;
    char *error;             /* NULL, or why the job could not start (e.g. "exec: No such file or directory") */
    struct jq_output out;    /* stdout */
    struct jq_output err;    /* stderr */
    int64_t started_at_ms;
    int64_t finished_at_ms;
    int64_t duration_ms;     /* wall time from spawn to reap */
    int64_t cpu_user_ms;     /* from wait4's rusage */
    int64_t cpu_sys_ms;
    int64_t max_rss_kb;
    int32_t worker_pid;      /* the worker that ran it, 0 if none */
};

void jq_job_result_init(struct jq_job_result *res); /* zero, exit_code = -1 */
void jq_job_result_cleanup(struct jq_job_result *res);

/* One finished attempt of a job, as its history shows it. */
struct jq_attempt {
    int32_t attempt;         /* 1, 2, ... */
    int64_t started_at_ms;   /* 0 = unknown */
    int64_t finished_at_ms;
    enum jq_job_state state; /* that attempt's outcome: a terminal state */
    int exit_code;           /* -1 if it did not exit normally */
    int signal;              /* 0 if none */
    enum jq_kill_reason kill_reason;
    int32_t worker_pid;      /* 0 = unknown */
    char *error;             /* heap, or NULL */
};

/* The completion callback of a job (spec.callback_url). Stored: never
 * renumber. */
enum jq_callback_state {
    JQ_CALLBACK_PENDING = 0,   /* not sent yet, or to be retried */
    JQ_CALLBACK_DELIVERED = 1, /* a 2xx answer */
    JQ_CALLBACK_FAILED = 2,    /* every attempt failed */
};
const char *jq_callback_state_name(enum jq_callback_state state);

/* One attempt to deliver a callback. */
struct jq_delivery {
    int32_t attempt;  /* 1, 2, ... */
    int64_t at_ms;    /* when the answer (or the failure) came */
    int32_t status;   /* the HTTP status, 0 when there was none */
    char *error;      /* heap: why it failed without a status, or NULL */
};

/* A job as stored: id, spec, lifecycle, and the result once terminal. */
struct jq_job {
    int64_t id;
    enum jq_job_state state;
    struct jq_job_spec spec;
    struct jq_job_result result; /* meaningful fields depend on state */
    int64_t created_at_ms;
    int32_t attempt;             /* 0 while never started, then 1, 2, ... */
    bool cancel_requested;       /* DELETE seen while running */
    int64_t run_at_ms;           /* retry_wait: when the next attempt may start; else 0 */
    struct jq_attempt *attempts; /* finished attempts, oldest first (heap; only jq_store_get fills it) */
    size_t n_attempts;
    enum jq_callback_state callback_state; /* with spec.callback_url (only jq_store_get fills it) */
    struct jq_delivery *deliveries; /* callback attempts, oldest first (heap; only jq_store_get) */
    size_t n_deliveries;
};

/* Free n attempts and their error strings (NULL is a no-op). */
void jq_job_attempts_free(struct jq_attempt *attempts, size_t n);

void jq_job_init(struct jq_job *job);
void jq_job_cleanup(struct jq_job *job);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t jq_now_ms(void);
/* Milliseconds of CLOCK_MONOTONIC, for deadlines. */
int64_t jq_mono_ms(void);

#endif
