/* harness.h: what every integration test uses to drive a real jobqd.
 * The server is the binary named by $JOBQD, started on 127.0.0.1 port 0 in a
 * fresh temp dir; tests talk to it over HTTP (libcurl) only and never link
 * the server's libraries. The harness also scans /proc (processes by marker,
 * children, zombies) and /dev/shm, and cleans up on every exit path: when an
 * assert aborts a case, a SIGABRT handler prints the tail of jobqd.log,
 * SIGKILLs every process the case started (by pid, walking down from this
 * process, which is a child subreaper) and removes the temp dir. */
#ifndef JQ_IT_HARNESS_H
#define JQ_IT_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "testlib.h"

/* ---- the server (harness.c) ---- */

#define JQ_IT_MAX_ARGS 32

struct jq_it_server {
    pid_t pid;                         /* the jobqd master; 0 when not running */
    uint16_t port;                     /* bound port, read from the port file */
    char dir[PATH_MAX];                /* the case's temp dir (removed by jq_it_finish) */
    char db_path[PATH_MAX + 16];       /* <dir>/jobq.db */
    char log_path[PATH_MAX + 16];      /* <dir>/jobqd.log: jobqd's stderr (and stdout) */
    char port_path[PATH_MAX + 16];     /* <dir>/port */
    const char *args[JQ_IT_MAX_ARGS];  /* extra arguments, kept for jq_it_restart */
    const char *env[8];                /* extra NAME=value for jobqd's environment */
    char run_as[32];                   /* "<uid>:<gid>" of this test, the jobs' default user */
};

/* Make the temp dir and start jobqd with the harness's arguments (--listen
 * 127.0.0.1:0, --port-file, --db in the temp dir, --log-level debug,
 * --shutdown-grace-ms 1000, and --run-as <this test's uid:gid>
 * --allow-root-jobs, so that jobs may write into the case's 0700 temp dir;
 * the isolation tests pass --run-as nobody) followed by
 * extra_args (NULL-terminated, may be NULL; later flags win) and extra_env
 * (NULL-terminated "NAME=value", may be NULL). The strings must outlive srv.
 * Waits (10 s at most) for the port file; aborts the case on failure. */
void jq_it_start(struct jq_it_server *srv, const char *const *extra_args, const char *const *extra_env);
/* Send sig (SIGTERM or SIGINT), wait for exit (SIGKILL and fail after 15 s),
 * assert exit status 0 and that no process the server started is left. */
void jq_it_stop_with(struct jq_it_server *srv, int sig);
void jq_it_stop(struct jq_it_server *srv); /* jq_it_stop_with(srv, SIGTERM) */
/* After the master was SIGKILLed (or killed itself at a fault point): wait
 * up to timeout_ms for it to end and reap it (aborts the case if it does
 * not), then up to timeout_ms more until no process it started (workers,
 * jobs, their orphans: this process's descendants) is alive, reaping them.
 * Stores the master's wait status in *status (may be NULL). Returns how
 * many processes are still alive (0 = clean), listing them on stderr. */
size_t jq_it_wait_crash(struct jq_it_server *srv, int timeout_ms, int *status);
/* SIGKILL the master, then jq_it_wait_crash. */
size_t jq_it_kill9(struct jq_it_server *srv, int timeout_ms);
/* Live descendants of this process (reaping what has ended): everything a
 * case started and that still runs. Stores and counts at most max. */
size_t jq_it_live_descendants(pid_t *out, size_t max);
/* Start again with the same dir, database and arguments (after a stop). */
void jq_it_restart(struct jq_it_server *srv);
/* jq_it_restart that returns false (wait status in *status, may be NULL)
 * instead of aborting when jobqd exits during start-up, e.g. at a crash
 * point of its recovery. */
bool jq_it_try_restart(struct jq_it_server *srv, int *status);
/* Stop if running, then remove the temp dir. The end of every case. */
void jq_it_finish(struct jq_it_server *srv);
/* Print the last bytes of jobqd.log on stderr. */
void jq_it_print_log_tail(const struct jq_it_server *srv);

/* Run $JOBQD with args (NULL-terminated) to completion (10 s at most);
 * returns its exit status, 128+signal if killed. out/err (may be NULL) get
 * its stdout/stderr, NUL-terminated and cut to cap. */
int jq_it_run_jobqd(const char *const *args, char *out, size_t out_cap, char *err, size_t err_cap);

/* $JQ_SPAWNER (the test helper program); aborts if unset. */
const char *jq_it_spawner(void);
/* A string unique to this case run, for finding its processes in /proc. */
void jq_it_marker(char *buf, size_t cap);
/* Monotonic milliseconds. */
int64_t jq_it_now_ms(void);
/* Wall-clock (epoch) milliseconds, and one as the server prints times:
 * RFC 3339 UTC with milliseconds ("2026-11-23T07:00:00.123Z"). */
int64_t jq_it_wall_ms(void);
void jq_it_format_time(int64_t epoch_ms, char *buf, size_t cap);
void jq_it_sleep_ms(int ms);

/* ---- HTTP and JSON (http.c) ---- */

struct jq_it_resp {
    long status;
    char *body;             /* NUL-terminated (body_len bytes before the NUL) */
    size_t body_len;
    char location[512];     /* response headers, "" when absent */
    char allow[256];
    char content_type[256];
    char retry_after[64];
    cJSON *json;            /* body parsed as JSON, or NULL */
};

/* One request. headers: NULL-terminated "Name: value" lines, may be NULL.
 * body may be NULL (no body); body_len (SIZE_MAX = strlen) otherwise.
 * Returns 0 or the CURLcode of a transport failure (out->status is then 0).
 * The caller frees out with jq_it_resp_cleanup. */
int jq_it_request(const struct jq_it_server *srv, const char *method, const char *path, const char *body,
                  size_t body_len, const char *const *headers, struct jq_it_resp *out);
void jq_it_resp_cleanup(struct jq_it_resp *r);
/* jq_it_request that aborts the case on a transport failure. */
void jq_it_get(const struct jq_it_server *srv, const char *path, struct jq_it_resp *out);
void jq_it_post(const struct jq_it_server *srv, const char *path, const char *json, struct jq_it_resp *out);
void jq_it_delete(const struct jq_it_server *srv, const char *path, struct jq_it_resp *out);
/* Assert r is an error of the documented shape, {"error":{"code","message"}}
 * as application/json, with this status and code. */
void jq_it_assert_error_at(const char *file, int line, const struct jq_it_resp *r, long status, const char *code);
#define JQ_IT_ASSERT_ERROR(r, status, code) jq_it_assert_error_at(__FILE__, __LINE__, (r), (status), (code))
/* Send raw bytes on a fresh TCP connection and read the answer until the
 * server closes or 3 s pass. Returns the HTTP status of the reply, or -1. */
int jq_it_raw_status(const struct jq_it_server *srv, const char *request, size_t len);

/* POST one job (a JSON object), assert 201 + Location; returns its id. */
int64_t jq_it_submit(const struct jq_it_server *srv, const char *job_json);
/* GET /v1/jobs/<id> (wait_s > 0 adds ?wait=); asserts 200. Caller frees. */
cJSON *jq_it_job(const struct jq_it_server *srv, int64_t id, double wait_s);
/* Long-poll until the job is terminal; aborts after max_s seconds. */
cJSON *jq_it_wait_job(const struct jq_it_server *srv, int64_t id, double max_s);
/* Poll until the job is in state (e.g. "running"); aborts after max_s. */
void jq_it_wait_state(const struct jq_it_server *srv, int64_t id, const char *state, double max_s);
bool jq_it_state_terminal(const char *state);

/* Field access; NULL / fallback when absent or of another type. */
const char *jq_it_json_str(const cJSON *obj, const char *name);
long long jq_it_json_int(const cJSON *obj, const char *name, long long fallback);
bool jq_it_json_is_null(const cJSON *obj, const char *name); /* present and null */
bool jq_it_json_is_true(const cJSON *obj, const char *name);

/* ---- /proc and /dev/shm (proc.c) ---- */

/* Pids of live processes whose cmdline contains marker. Returns the count
 * (may exceed max; only max are stored). */
size_t jq_it_proc_find(const char *marker, pid_t *out, size_t max);
/* Wait (bounded) until at least min live processes have marker in their
 * cmdline (a job is "running" once claimed, a moment before it is forked).
 * Returns the count last seen. */
size_t jq_it_proc_wait_found(const char *marker, size_t min, int timeout_ms);
/* Wait (bounded) until no live process has marker in its cmdline. */
bool jq_it_proc_wait_gone(const char *marker, int timeout_ms);
/* Children of parent, or every descendant (any depth). Zombies included. */
size_t jq_it_proc_children(pid_t parent, pid_t *out, size_t max);
size_t jq_it_proc_descendants(pid_t root, pid_t *out, size_t max);
/* Zombies among root's descendants. */
size_t jq_it_proc_zombies(pid_t root);
/* The process's state letter from /proc/<pid>/stat, or 0 if it is gone. */
char jq_it_proc_state(pid_t pid);
pid_t jq_it_proc_ppid(pid_t pid);
bool jq_it_proc_cmdline_has(pid_t pid, const char *needle);
/* The worker processes of the server (children with "--worker-slot", or
 * forked and not yet re-executed). */
size_t jq_it_workers(const struct jq_it_server *srv, pid_t *out, size_t max);

/* Names in /dev/shm. */
struct jq_it_names {
    char **v;
    size_t n;
};
int jq_it_shm_snapshot(struct jq_it_names *out);
/* Print every name in after but not in before; return how many. */
size_t jq_it_names_added(const struct jq_it_names *before, const struct jq_it_names *after, const char *what);
void jq_it_names_cleanup(struct jq_it_names *names);

#endif
