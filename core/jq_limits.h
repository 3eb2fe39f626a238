/* jq_limits.h: every fixed cap in jobq, with the reason for its value. Caps
 * that an operator may change are defaults here and flags in service/config.c. */
#ifndef JQ_LIMITS_H
#define JQ_LIMITS_H
/* (Not named limits.h: core/ is on every include path and would hide the
 * system's <limits.h>.) */

/* HTTP request body. A single job is small; a batch of a few thousand jobs
 * fits. Bigger bodies are refused with 413 before they are read. */
#define JQ_MAX_BODY_BYTES (8u * 1024 * 1024)

/* One job's argv: at most this many arguments and this many bytes in all
 * (Linux's own ARG_MAX is 2 MiB for argv + env together). */
#define JQ_MAX_ARGC 4096
#define JQ_MAX_ARGV_BYTES (256u * 1024)
/* One job's environment: entries and bytes. */
#define JQ_MAX_ENVC 1024
#define JQ_MAX_ENV_BYTES (256u * 1024)
/* cwd path length (PATH_MAX). */
#define JQ_MAX_CWD_BYTES 4096
/* Bytes fed to a job's stdin. Bigger inputs belong in a file the job reads. */
#define JQ_MAX_STDIN_BYTES (1024u * 1024)
/* The encoded spec (argv + env + cwd + stdin + framing) must fit one channel
 * task area; this is its size. */
#define JQ_MAX_SPEC_BYTES (JQ_MAX_ARGV_BYTES + JQ_MAX_ENV_BYTES + JQ_MAX_CWD_BYTES + JQ_MAX_STDIN_BYTES + 64u * 1024)

/* Jobs in one batch submission. */
#define JQ_MAX_BATCH_JOBS 10000

/* Output kept per stream: default and hard ceiling. The channel reserves the
 * configured cap per stream per worker in shared memory (touched lazily). */
#define JQ_DEFAULT_MAX_OUTPUT_BYTES (1024 * 1024)
#define JQ_CEILING_MAX_OUTPUT_BYTES (64 * 1024 * 1024)

/* Timeouts. */
#define JQ_DEFAULT_TIMEOUT_MS (60 * 1000)
#define JQ_DEFAULT_MAX_TIMEOUT_MS (24 * 3600 * 1000)
#define JQ_DEFAULT_KILL_GRACE_MS 2000
#define JQ_MAX_KILL_GRACE_MS (60 * 1000)

/* Retries (core/retry.h). Attempts in all: enough for any sane policy, small
 * enough that a job's attempt history stays a short list. retry_on holds at
 * most this many items. Backoff: the first delay and the ceiling of the
 * doubled delay (1 h and 1 day). Defaults as docs/api.md gives them. */
#define JQ_MAX_ATTEMPTS 100
#define JQ_MAX_RETRY_ON 32
#define JQ_MAX_BACKOFF_MS (3600 * 1000)
#define JQ_MAX_BACKOFF_MAX_MS (86400 * 1000)
#define JQ_DEFAULT_MAX_ATTEMPTS 1
#define JQ_DEFAULT_RETRY_MAX_ATTEMPTS 3 /* when on_lost is "retry" or retry_on is given */
#define JQ_DEFAULT_BACKOFF_MS 1000
#define JQ_DEFAULT_BACKOFF_MAX_MS (60 * 1000)

/* A job's resource limit (limits.* in a request) when the server sets no
 * ceiling for it: any positive integer up to this (2^53, what a JSON number
 * holds exactly). */
#define JQ_MAX_LIMIT_VALUE 9007199254740992LL

/* Default ceilings of every job's limits (--limit-*; 0 = none). Processes:
 * far above what a real job forks, low enough to stop a fork bomb; open
 * files: the usual soft limit. CPU, memory and file size have no default
 * ceiling: the timeout bounds a job's time, and an address-space limit
 * breaks programs that reserve much more than they use (sanitizers, JITs);
 * set them for the programs you run. */
#define JQ_DEFAULT_LIMIT_PROCS 4096
#define JQ_DEFAULT_LIMIT_NOFILE 1024

/* Queues: a name short enough for a URL path segment and a log line; the
 * furthest a job may be delayed (one year). */
#define JQ_MAX_QUEUE_NAME_BYTES 64
#define JQ_MAX_DELAY_MS (366LL * 86400 * 1000)
/* Queues shown by GET /v1/queues and considered by one claim when some
 * queue is paused or limited (each costs one index probe per claim). */
#define JQ_MAX_QUEUES 1000

/* Idempotency-Key header: long enough for a UUID or a request hash with a
 * prefix, short enough to index cheaply. */
#define JQ_MAX_IDEMPOTENCY_KEY_BYTES 255

/* Retention of finished jobs (--retention): a week by default, ten years
 * at most. Purged in transactions of this many jobs (each may carry
 * megabytes of output: a transaction stays short), at most this many
 * transactions per timer run before the main loop dispatches again. */
#define JQ_DEFAULT_RETENTION_MS (7LL * 86400 * 1000)
#define JQ_MAX_RETENTION_MS (3660LL * 86400 * 1000)
#define JQ_PURGE_BATCH_JOBS 100
#define JQ_PURGE_BATCHES_PER_RUN 10

/* Periodic jobs: the longest cron expression accepted, in bytes, and how
 * many schedules one server keeps (each costs nothing between its ticks;
 * the cap keeps GET /v1/schedules one page). */
#define JQ_MAX_CRON_BYTES 256
#define JQ_MAX_SCHEDULES 1000

/* Completion callbacks: the URL's length; attempts per job in all; the
 * delay before the 2nd (doubled for each further one, up to the ceiling);
 * how long one delivery may take; deliveries in flight at once. */
#define JQ_MAX_CALLBACK_URL_BYTES 2048
#define JQ_CALLBACK_MAX_ATTEMPTS 5
#define JQ_DEFAULT_CALLBACK_RETRY_MS 1000
#define JQ_CALLBACK_RETRY_MAX_MS (5 * 60 * 1000)
#define JQ_CALLBACK_TIMEOUT_MS 10000
#define JQ_CALLBACK_MAX_IN_FLIGHT 32

/* Long-poll: the longest ?wait= a client may ask for, in seconds. */
#define JQ_MAX_WAIT_SECONDS 3600

/* List page size. */
#define JQ_DEFAULT_LIST_LIMIT 100
#define JQ_MAX_LIST_LIMIT 1000

/* Jobs that may wait to run (queued or retry_wait) before submissions get
 * 429: deep enough for any burst a few workers can work off, shallow enough
 * that a runaway client cannot fill the disk. --max-queued changes it. */
#define JQ_DEFAULT_MAX_QUEUED 100000

/* The command allowlist (--allow-command, --allowlist-file): its paths,
 * NUL-separated, in at most this many bytes (hundreds of programs). */
#define JQ_MAX_ALLOWLIST_BYTES (64u * 1024)

/* Workers in the pool. */
#define JQ_MAX_WORKERS 256

/* API tokens: long enough to resist guessing, short enough for a header. */
#define JQ_MIN_TOKEN_BYTES 16
#define JQ_MAX_TOKEN_BYTES 1024
/* Failed authentications from one address within the window before that
 * address gets 429 for the rest of the window. */
#define JQ_AUTH_MAX_FAILURES 10
#define JQ_AUTH_WINDOW_MS (60 * 1000)

/* The minimal PATH every job gets; nothing else leaks from the service. */
#define JQ_JOB_PATH "/usr/local/bin:/usr/bin:/bin"

#endif
