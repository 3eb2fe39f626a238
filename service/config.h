/* config.h: jobqd's settings — flags with environment equivalents, their
 * defaults, and validation. Parsing never exits; main() decides. */
#ifndef JQ_CONFIG_H
#define JQ_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "cgroup.h"
#include "job.h"
#include "jq_limits.h"
#include "log.h"

struct jq_config {
    char listen_host[64];       /* numeric address */
    uint16_t port;              /* 0 = ephemeral */
    char db_path[PATH_MAX];
    unsigned workers;
    unsigned http_threads;
    unsigned http_max_connections;
    unsigned http_max_per_client;
    unsigned http_idle_timeout_s;
    unsigned http_request_deadline_s;
    int64_t default_timeout_ms;
    int64_t max_timeout_ms;
    int64_t kill_grace_ms;
    int64_t max_output_bytes;
    int64_t max_queued;         /* jobs waiting to run before POST gets 429; 0 = no limit */
    long max_jobs_per_worker;   /* 0 = never replace a worker */
    char job_cwd[PATH_MAX];
    enum jq_log_level log_level;
    enum jq_log_format log_format;
    char port_file[PATH_MAX];   /* "" = none */
    int64_t shutdown_grace_ms;
    int64_t retention_ms;       /* finished jobs are purged this long after they finished; 0 = never */
    char callback_secret_file[PATH_MAX]; /* "" = callbacks go unsigned */
    char callback_secret[JQ_MAX_TOKEN_BYTES + 1]; /* read from it at load; never logged */
    int64_t callback_retry_ms;  /* delay before a callback's 2nd attempt, doubled for each further one */
    bool callback_allow_private; /* callbacks may reach non-public addresses (no SSRF guard) */
    /* security (docs/security.md) */
    char token_file[PATH_MAX];  /* "" = none; the token is read from it at load */
    char token[JQ_MAX_TOKEN_BYTES + 1]; /* "" = no authentication; never logged */
    bool allow_unauthenticated_remote;
    char tls_cert[PATH_MAX];    /* PEM files; both or neither */
    char tls_key[PATH_MAX];
    /* the command allowlist (config_allowlist.c): paths, NUL-separated;
     * after loading, the canonical path of each listed program */
    char allowlist_file[PATH_MAX]; /* "" = none */
    char allowed_commands[JQ_MAX_ALLOWLIST_BYTES];
    size_t allowed_commands_len;   /* 0 = every command may run */
    /* job isolation (docs/security.md; checked by config_isolation.c) */
    char run_as[PATH_MAX];      /* USER[:GROUP] jobs run as; "" = nobody when root, else jobqd's own user */
    bool allow_root_jobs;
    char run_as_range[PATH_MAX]; /* "FIRST-LAST": worker slot s runs its jobs as uid and gid FIRST+s; "" = run_as */
    struct jq_job_limits limits; /* default and ceiling of every job's limits (0 = none) */
    bool no_job_network;        /* jobs run with no network and may not ask for it */
    char work_root[PATH_MAX];   /* where private work dirs are made; "" = /tmp/jobq-work-<euid> */
    enum jq_cgroup_mode job_cgroups; /* per-job cgroups: auto (default), v2, v1 or off */
    /* resolved by jq_config_check_isolation */
    bool run_set_ids;           /* jobs switch to run_uid/run_gid */
    uid_t run_uid;
    gid_t run_gid;
    unsigned run_id_count;      /* > 0 (--run-as-range): run_uid/run_gid are the range's first; slot s adds s */
    /* resolved by jq_isolation_start (worker/cgroup.h) */
    struct jq_cgroups cgroups;  /* where job cgroups go; kind NONE = rlimits only */
};

enum jq_config_outcome {
    JQ_CONFIG_RUN = 0,     /* start the service */
    JQ_CONFIG_HELP = 1,    /* --help was printed */
    JQ_CONFIG_VERSION = 2, /* --version was printed */
    JQ_CONFIG_BAD = 3      /* a message was printed to err */
};

/* Fill cfg from the defaults, then the environment, then argv (flags win).
 * Help and version text go to out, problems to err. */
enum jq_config_outcome jq_config_load(struct jq_config *cfg, int argc, char **argv, FILE *out, FILE *err);

/* config_security.c: read the token (JOBQ_TOKEN, else the token file; the
 * variable is then removed from the environment so no child inherits it)
 * and refuse what would expose the service: a non-loopback address without
 * a token (unless allowed loudly), half a TLS configuration. Also reads
 * the callbacks' secret file. */
enum jq_config_outcome jq_config_check_security(struct jq_config *cfg, FILE *err);
/* config_allowlist.c: read the allowlist file, then resolve every listed
 * program to its canonical path, refusing (a message to err) a relative
 * path, a missing or non-executable file, or one that a user other than
 * root or jobqd's could change (core/trusted_path.h). */
enum jq_config_outcome jq_config_check_allowlist(struct jq_config *cfg, FILE *err);
/* Append path to cfg's allowlist; JQ_ETOOBIG when it does not fit. */
int jq_config_allowlist_add(struct jq_config *cfg, const char *path, size_t len);
/* config_isolation.c: resolve --run-as to numbers (nobody:nogroup by
 * default when root), refuse root jobs unless --allow-root-jobs, refuse a
 * user switch jobqd cannot make (no CAP_SETUID/CAP_SETGID), and settle the
 * work root's default. */
enum jq_config_outcome jq_config_check_isolation(struct jq_config *cfg, FILE *err);
/* True for 127.0.0.0/8 and ::1. */
bool jq_config_is_loopback(const char *host);

#endif
