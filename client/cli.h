/* cli.h: the jobq command-line client's internal contract. The client talks
 * to jobqd over HTTP only (libcurl + cJSON) and links no server library.
 *
 * Convention: functions that run a command or talk to the server return a
 * process exit status from enum jq_cli_exit (0 = success) and have already
 * printed a one-line message on stderr when it is not 0. Parsing helpers
 * return 0 or -1. */
#ifndef JQ_CLI_H
#define JQ_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Exit statuses of jobq (docs/cli.md has the table). A job's own exit code
 * (0-255) is passed through by run and wait. */
enum jq_cli_exit {
    JQ_CLI_OK = 0,
    JQ_CLI_ESERVER = 1,      /* the server answered an error (4xx/5xx), or local I/O failed */
    JQ_CLI_EUSAGE = 2,       /* bad command line or configuration */
    JQ_CLI_EUNAVAIL = 69,    /* EX_UNAVAILABLE: server unreachable */
    JQ_CLI_EWAIT = 75,       /* EX_TEMPFAIL: wait --timeout elapsed, job not finished */
    JQ_CLI_ELATER = 75,      /* EX_TEMPFAIL: the server answered 429, try again later */
    JQ_CLI_ENOPERM = 77,     /* EX_NOPERM: token missing or refused (401) */
    JQ_CLI_JOB_TIMEOUT = 124,/* the job timed out (like coreutils timeout) */
    JQ_CLI_JOB_NOTRUN = 125, /* the job could not start, was lost or cancelled */
    JQ_CLI_SIGBASE = 128,    /* 128+N: the job was killed by signal N */
    JQ_CLI_INTERRUPTED = 130 /* Ctrl-C while waiting: the job was cancelled */
};

/* One invocation's connection settings; filled by jq_cli_open. */
struct jq_cli {
    char url[2048];          /* base URL without trailing '/' */
    char *auth_header;       /* "Authorization: Bearer ..." or NULL (owned) */
    void *curl;              /* CURL * (owned) */
    bool json;               /* --json: print the server's JSON */
    bool progress;           /* stderr is a terminal: show progress */
    const char *idempotency_key; /* sent as Idempotency-Key with every request, or NULL */
};

/* ---- config.c ---- */
/* Resolve the URL (url_opt, else $JOBQ_URL, else the default) and the token
 * ($JOBQ_TOKEN, else the file named by $JOBQ_TOKEN_FILE); make the curl
 * handle. Returns 0 or an exit status (message printed). */
int jq_cli_open(struct jq_cli *cli, const char *url_opt, bool json);
void jq_cli_close(struct jq_cli *cli);

/* ---- http.c ---- */
/* Where a response body goes: collected in memory, or written to a fd. */
struct jq_cli_resp {
    long status;             /* HTTP status, 0 on transport failure */
    char *body;              /* collected body, NUL-terminated (owned), or NULL */
    size_t len;
    int sink_fd;             /* >= 0: write the body there instead (2xx only) */
    cJSON *json;             /* body parsed when it is JSON (owned), or NULL */
    /* Non-NULL: a 2xx body's bytes go here as they arrive (returns n, or 0
     * to abort the transfer) instead of sink_fd or memory. */
    size_t (*sink)(void *ctx, const char *p, size_t n);
    void *sink_ctx;
    long quiet_status;       /* a status answered without printing a message (still an error) */
    void (*tick)(void *ctx); /* non-NULL: called often during the transfer (with sink_ctx) */
};
void jq_cli_resp_init(struct jq_cli_resp *r, int sink_fd);
/* Write all n bytes to fd (EINTR retried): 0 or an errno. */
int jq_cli_write_all(int fd, const char *p, size_t n);
void jq_cli_resp_cleanup(struct jq_cli_resp *r);
/* One request to <url><path>; body (JSON) may be NULL. timeout_s bounds the
 * whole transfer (0 = none). The transfer is aborted when *stop becomes
 * non-zero (stop may be NULL); that returns JQ_CLI_INTERRUPTED, silently.
 * A non-2xx answer prints the server's error message and returns its exit
 * status; a transport failure prints one naming the URL (69). */
int jq_cli_http(struct jq_cli *cli, const char *method, const char *path, const char *body, long timeout_s,
                const volatile sig_atomic_t *stop, struct jq_cli_resp *out);
/* GET that needs a JSON object back; *out is owned by the caller. */
int jq_cli_get_json(struct jq_cli *cli, const char *path, cJSON **out);
/* Print resp's body (the server's JSON) and a newline on stdout. */
int jq_cli_print_body(const struct jq_cli_resp *r);

/* ---- args.c ---- */
/* "500ms", "5s", "2m", "1h", "1.5s" or plain milliseconds. */
int jq_cli_parse_duration_ms(const char *s, int64_t *out_ms);
/* A decimal integer in [min, max]. */
int jq_cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* Bytes: a number with an optional k/K, m/M, g/G suffix (powers of 1024). */
int jq_cli_parse_bytes(const char *s, int64_t *out);
/* A job id (positive integer) from argv; prints a usage error otherwise. */
int jq_cli_parse_id(const char *s, int64_t *out);
/* After a usage error: print the usage line of usage (the first line) and a
 * pointer to --help on stderr; returns JQ_CLI_EUSAGE. */
int jq_cli_usage_hint(const char *usage);
/* Print "jobq: <msg>" on stderr. */
void jq_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- spec.c ---- */
/* The job options shared by run and submit; parse them and the command
 * after them (argv as given to the command, argv[0] = its name) into a job
 * spec (the POST body). Handles --help (prints usage, *out stays NULL,
 * returns 0). Returns 0 or JQ_CLI_EUSAGE / JQ_CLI_ESERVER. */
struct jq_cli_common {
    const char *url;         /* --url, or NULL */
    const char *idempotency_key; /* --idempotency-key, or NULL */
    bool json;               /* --json */
    bool help;               /* --help was given: usage printed */
};
int jq_cli_spec_parse(int argc, char **argv, const char *usage, struct jq_cli_common *common, cJSON **out);

/* ---- wait.c ---- */
/* Signal flag set by SIGINT/SIGTERM while waiting (0 = none). */
extern volatile sig_atomic_t jq_cli_stop_signal;
/* Catch SIGINT and SIGTERM into jq_cli_stop_signal (no SA_RESTART). */
void jq_cli_catch_stop(void);
/* Long-poll the job until it is terminal or max_ms passes (< 0 = forever),
 * with progress on a terminal. *out gets the last job seen (caller frees).
 * Returns 0 (terminal), JQ_CLI_EWAIT (time up, *out not terminal),
 * JQ_CLI_INTERRUPTED (a stop signal: the job was cancelled) or an error. */
int jq_cli_wait_job(struct jq_cli *cli, int64_t id, int64_t max_ms, cJSON **out);
bool jq_cli_state_terminal(const char *state);
/* The exit status that represents a finished job (run, wait). Prints a
 * line on stderr for jobs that did not run to an exit. */
int jq_cli_job_exit(const cJSON *job);

/* ---- stream.c ---- */
/* jq_cli_follow_job's answer when the server has no stream endpoint (404):
 * fall back to waiting and fetching the output. */
#define JQ_CLI_NO_STREAM (-1)
/* Follow job id's live output to out_fd / err_fd (-1: drop that stream)
 * until it ends; *job_out gets the finished job (caller frees). Resumes a
 * cut stream from the offsets reached. Returns 0, JQ_CLI_NO_STREAM,
 * JQ_CLI_INTERRUPTED (a stop signal; nothing cancelled yet) or an error
 * status (message printed). */
int jq_cli_follow_job(struct jq_cli *cli, int64_t id, int out_fd, int err_fd, cJSON **job_out);

/* ---- table.c ---- */
const char *jq_cli_str(const cJSON *obj, const char *name);      /* NULL unless a string */
bool jq_cli_int(const cJSON *obj, const char *name, int64_t *out); /* false unless a number */
/* "12ms", "3.2s", "2m05s", "1h02m". */
void jq_cli_fmt_duration(int64_t ms, char *buf, size_t cap);
/* An RFC 3339 UTC time as local "YYYY-MM-DD HH:MM:SS"; "-" for NULL. */
void jq_cli_fmt_time(const char *rfc3339, char *buf, size_t cap);
/* The command array as a shell-quoted line (caller frees), or NULL. */
char *jq_cli_fmt_command(const cJSON *command);
/* The EXIT column: the exit code, the signal name, or "-". */
void jq_cli_fmt_exit(const cJSON *job, char *buf, size_t cap);
void jq_cli_table_header(void);
void jq_cli_table_row(const cJSON *job, int width);

/* ---- commands (cmd_*.c): argv[0] is the command's name ---- */
int jq_cli_cmd_run(int argc, char **argv, const char *url, bool json);
int jq_cli_cmd_submit(int argc, char **argv, const char *url, bool json);
int jq_cli_cmd_get(int argc, char **argv, const char *url, bool json);
int jq_cli_cmd_wait(int argc, char **argv, const char *url, bool json);
int jq_cli_cmd_cancel(int argc, char **argv, const char *url, bool json);
int jq_cli_cmd_logs(int argc, char **argv, const char *url, bool json);
int jq_cli_cmd_ls(int argc, char **argv, const char *url, bool json);

#endif
