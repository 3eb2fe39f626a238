/* config.c: one table of options; each is a --flag and a JOBQ_* variable.
 * Defaults first, then the environment, then the command line. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "jq_limits.h"

enum opt_kind { OPT_LISTEN, OPT_PATH, OPT_UINT, OPT_INT64, OPT_LONG, OPT_LEVEL, OPT_LOG_FORMAT, OPT_BOOL, OPT_COMMANDS, OPT_DURATION, OPT_CGROUPS };

struct opt {
    const char *flag;
    const char *env;
    enum opt_kind kind;
    size_t offset;
    int64_t min, max; /* numeric kinds */
    const char *arg;
    const char *help;
};

#define F(field) offsetof(struct jq_config, field)

static const struct opt options[] = {
    {"--listen", "JOBQ_LISTEN", OPT_LISTEN, 0, 0, 0, "HOST:PORT", "address to serve HTTP on (port 0 = any free port) [127.0.0.1:8080]"},
    {"--db", "JOBQ_DB", OPT_PATH, F(db_path), 0, 0, "PATH", "SQLite database file; its directory is created [./data/jobq.db]"},
    {"--workers", "JOBQ_WORKERS", OPT_UINT, F(workers), 1, JQ_MAX_WORKERS, "N", "worker processes [online CPUs]"},
    {"--http-threads", "JOBQ_HTTP_THREADS", OPT_UINT, F(http_threads), 1, 64, "N", "HTTP threads [2]"},
    {"--http-max-connections", "JOBQ_HTTP_MAX_CONNECTIONS", OPT_UINT, F(http_max_connections), 1, 100000, "N", "connections served at once, long-polls included [1000]"},
    {"--http-max-per-client", "JOBQ_HTTP_MAX_PER_CLIENT", OPT_UINT, F(http_max_per_client), 1, 100000, "N", "connections from one client address [64]"},
    {"--http-idle-timeout-s", "JOBQ_HTTP_IDLE_TIMEOUT_S", OPT_UINT, F(http_idle_timeout_s), 1, 3600, "S", "close a connection idle this long [30]"},
    {"--http-request-deadline-s", "JOBQ_HTTP_REQUEST_DEADLINE_S", OPT_UINT, F(http_request_deadline_s), 1, 3600, "S", "a request's headers, then its body, must arrive within this [60]"},
    {"--default-timeout-ms", "JOBQ_DEFAULT_TIMEOUT_MS", OPT_INT64, F(default_timeout_ms), 1, INT32_MAX, "MS", "timeout of a job that names none [60000]"},
    {"--max-timeout-ms", "JOBQ_MAX_TIMEOUT_MS", OPT_INT64, F(max_timeout_ms), 1, INT32_MAX, "MS", "largest timeout a job may ask for [86400000]"},
    {"--kill-grace-ms", "JOBQ_KILL_GRACE_MS", OPT_INT64, F(kill_grace_ms), 0, JQ_MAX_KILL_GRACE_MS, "MS", "default SIGTERM-to-SIGKILL delay [2000]"},
    {"--max-output-bytes", "JOBQ_MAX_OUTPUT_BYTES", OPT_INT64, F(max_output_bytes), 0, JQ_CEILING_MAX_OUTPUT_BYTES, "BYTES", "output kept per stream, default and ceiling [1048576]"},
    {"--max-queued", "JOBQ_MAX_QUEUED", OPT_INT64, F(max_queued), 0, 100000000, "N", "jobs that may wait to run; more submissions get 429, 0 = no limit [100000]"},
    {"--max-jobs-per-worker", "JOBQ_MAX_JOBS_PER_WORKER", OPT_LONG, F(max_jobs_per_worker), 0, INT32_MAX, "N", "replace a worker after N jobs, 0 = never [0]"},
    {"--job-cwd", "JOBQ_JOB_CWD", OPT_PATH, F(job_cwd), 0, 0, "DIR", "run jobs that name no cwd here instead of a fresh private directory [none]"},
    {"--log-level", "JOBQ_LOG_LEVEL", OPT_LEVEL, F(log_level), 0, 0, "LEVEL", "debug, info, warn or error [info]"},
    {"--log-format", "JOBQ_LOG_FORMAT", OPT_LOG_FORMAT, F(log_format), 0, 0, "FORMAT", "text or json (one object per line) [text]"},
    {"--port-file", "JOBQ_PORT_FILE", OPT_PATH, F(port_file), 0, 0, "PATH", "write the bound port here once serving"},
    {"--shutdown-grace-ms", "JOBQ_SHUTDOWN_GRACE_MS", OPT_INT64, F(shutdown_grace_ms), 0, 600000, "MS", "on SIGTERM, time running jobs get to finish [8000]"},
    {"--token-file", "JOBQ_TOKEN_FILE", OPT_PATH, F(token_file), 0, 0, "PATH", "require this bearer token (JOBQ_TOKEN sets it directly) [none]"},
    {"--allow-unauthenticated-remote", "JOBQ_ALLOW_UNAUTHENTICATED_REMOTE", OPT_BOOL, F(allow_unauthenticated_remote), 0, 0, "", "DANGER: serve a non-loopback address without a token"},
    {"--tls-cert", "JOBQ_TLS_CERT", OPT_PATH, F(tls_cert), 0, 0, "PEM", "serve HTTPS with this certificate (needs --tls-key)"},
    {"--tls-key", "JOBQ_TLS_KEY", OPT_PATH, F(tls_key), 0, 0, "PEM", "the certificate's private key"},
    {"--allow-command", "JOBQ_ALLOW_COMMANDS", OPT_COMMANDS, 0, 0, 0, "PATH", "only listed programs may run (repeatable; ':' separates several) [any]"},
    {"--allowlist-file", "JOBQ_ALLOWLIST_FILE", OPT_PATH, F(allowlist_file), 0, 0, "FILE", "more allowed programs, one absolute path per line"},
    {"--run-as", "JOBQ_RUN_AS", OPT_PATH, F(run_as), 0, 0, "USER[:GROUP]", "user (and group) jobs run as [nobody when root, else jobqd's user]"},
    {"--run-as-range", "JOBQ_RUN_AS_RANGE", OPT_PATH, F(run_as_range), 0, 0, "FIRST-LAST", "a uid (and the gid of the same number) of its own for each worker slot's jobs; none may be an existing user's"},
    {"--allow-root-jobs", "JOBQ_ALLOW_ROOT_JOBS", OPT_BOOL, F(allow_root_jobs), 0, 0, "", "DANGER: let --run-as name root"},
    {"--limit-cpu-s", "JOBQ_LIMIT_CPU_S", OPT_INT64, F(limits.cpu_s), 0, INT32_MAX, "S", "CPU seconds per job, default and ceiling, 0 = none [0]"},
    {"--limit-memory-bytes", "JOBQ_LIMIT_MEMORY_BYTES", OPT_INT64, F(limits.memory_bytes), 0, JQ_MAX_LIMIT_VALUE, "BYTES", "memory per job (the job's whole tree with a memory cgroup, else address space per process), default and ceiling, 0 = none [0]"},
    {"--limit-procs", "JOBQ_LIMIT_PROCS", OPT_INT64, F(limits.procs), 0, INT32_MAX, "N", "processes per job (the job's tree with a pids cgroup, else RLIMIT_NPROC of the job's user), default and ceiling, 0 = none [4096]"},
    {"--limit-nofile", "JOBQ_LIMIT_NOFILE", OPT_INT64, F(limits.nofile), 0, 1048576, "N", "open files per job process, default and ceiling, 0 = none [1024]"},
    {"--limit-fsize-bytes", "JOBQ_LIMIT_FSIZE_BYTES", OPT_INT64, F(limits.fsize_bytes), 0, JQ_MAX_LIMIT_VALUE, "BYTES", "largest file a job may write, default and ceiling, 0 = none [0]"},
    {"--no-job-network", "JOBQ_NO_JOB_NETWORK", OPT_BOOL, F(no_job_network), 0, 0, "", "jobs run in an empty network namespace and may not ask for the network"},
    {"--job-cgroups", "JOBQ_JOB_CGROUPS", OPT_CGROUPS, F(job_cgroups), 0, 0, "MODE", "per-job cgroups: auto (v2, else v1, else none), v2, v1 (fail at start if missing) or off [auto]"},
    {"--work-root", "JOBQ_WORK_ROOT", OPT_PATH, F(work_root), 0, 0, "DIR", "where each job's private working directory is made [/tmp/jobq-work-<uid>]"},
    {"--callback-secret-file", "JOBQ_CALLBACK_SECRET_FILE", OPT_PATH, F(callback_secret_file), 0, 0, "PATH", "sign completion callbacks with HMAC-SHA256 under the secret in this file (>= 16 bytes) [unsigned]"},
    {"--callback-retry-ms", "JOBQ_CALLBACK_RETRY_MS", OPT_INT64, F(callback_retry_ms), 1, JQ_CALLBACK_RETRY_MAX_MS, "MS", "delay before a failed callback's 2nd attempt, doubled for each further one [1000]"},
    {"--callback-allow-private", "JOBQ_CALLBACK_ALLOW_PRIVATE", OPT_BOOL, F(callback_allow_private), 0, 0, "", "DANGER: let callbacks reach loopback, private, link-local (cloud metadata) and other non-public addresses"},
    {"--retention", "JOBQ_RETENTION", OPT_DURATION, F(retention_ms), 0, JQ_MAX_RETENTION_MS, "DURATION", "purge finished jobs (output, attempts, idempotency keys) this long after they finished: 500ms, 30s, 15m, 12h, 7d; 0 = keep forever [7d]"},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static void set_defaults(struct jq_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->port = 8080;
    snprintf(cfg->db_path, sizeof(cfg->db_path), "./data/jobq.db");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cpus < 1 ? 1 : cpus > JQ_MAX_WORKERS ? JQ_MAX_WORKERS : (unsigned)cpus;
    cfg->http_threads = 2;
    cfg->http_max_connections = 1000;
    cfg->http_max_per_client = 64;
    cfg->http_idle_timeout_s = 30;
    cfg->http_request_deadline_s = 60;
    cfg->default_timeout_ms = JQ_DEFAULT_TIMEOUT_MS;
    cfg->max_timeout_ms = JQ_DEFAULT_MAX_TIMEOUT_MS;
    cfg->kill_grace_ms = JQ_DEFAULT_KILL_GRACE_MS;
    cfg->max_output_bytes = JQ_DEFAULT_MAX_OUTPUT_BYTES;
    cfg->max_queued = JQ_DEFAULT_MAX_QUEUED;
    cfg->limits.procs = JQ_DEFAULT_LIMIT_PROCS;
    cfg->limits.nofile = JQ_DEFAULT_LIMIT_NOFILE;
    cfg->log_level = JQ_LOG_INFO;
    cfg->shutdown_grace_ms = 8000;
    cfg->retention_ms = JQ_DEFAULT_RETENTION_MS;
    cfg->callback_retry_ms = JQ_DEFAULT_CALLBACK_RETRY_MS;
}

/* "HOST:PORT" or "[V6]:PORT". */
static int parse_listen(struct jq_config *cfg, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v)
        return JQ_EINVAL;
    const char *host = v;
    size_t host_len = (size_t)(colon - v);
    if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535 || host_len == 0 ||
        host_len >= sizeof(cfg->listen_host))
        return JQ_EINVAL;
    memcpy(cfg->listen_host, host, host_len);
    cfg->listen_host[host_len] = '\0';
    cfg->port = (uint16_t)port;
    return 0;
}

static int parse_int(const char *v, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return JQ_EINVAL;
    *out = n;
    return 0;
}

/* "500ms", "30s", "15m", "12h", "7d" (or "0") into milliseconds in min..max. */
static int parse_duration(const char *v, int64_t min, int64_t max, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || n < 0 || v[0] == '-' || v[0] == '+')
        return JQ_EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) != 0 && !(n == 0 && *end == '\0'))
            continue;
        if (n > max / units[i].ms || n * units[i].ms < min)
            return JQ_EINVAL;
        *out = n * units[i].ms;
        return 0;
    }
    return JQ_EINVAL;
}

static int apply(struct jq_config *cfg, const struct opt *o, const char *v)
{
    char *field = (char *)cfg + o->offset;
    int64_t n = 0;
    switch (o->kind) {
    case OPT_LISTEN:
        return parse_listen(cfg, v);
    case OPT_PATH:
        if (strlen(v) >= PATH_MAX)
            return JQ_EINVAL;
        snprintf(field, PATH_MAX, "%s", v);
        return 0;
    case OPT_LEVEL:
        return jq_log_level_parse(v, (enum jq_log_level *)(void *)field);
    case OPT_LOG_FORMAT:
        return jq_log_format_parse(v, (enum jq_log_format *)(void *)field);
    case OPT_CGROUPS:
        return jq_cgroup_mode_parse(v, (enum jq_cgroup_mode *)(void *)field);
    case OPT_COMMANDS:
        for (const char *p = v; *p; p += *p == ':') {
            size_t len = strcspn(p, ":");
            if (len && jq_config_allowlist_add(cfg, p, len))
                return JQ_EINVAL;
            p += len;
        }
        return 0;
    case OPT_BOOL:
        if (strcmp(v, "1") != 0 && strcmp(v, "true") != 0)
            return JQ_EINVAL;
        *(bool *)(void *)field = true;
        return 0;
    case OPT_UINT:
        if (parse_int(v, o->min, o->max, &n))
            return JQ_EINVAL;
        *(unsigned *)(void *)field = (unsigned)n;
        return 0;
    case OPT_LONG:
        if (parse_int(v, o->min, o->max, &n))
            return JQ_EINVAL;
        *(long *)(void *)field = (long)n;
        return 0;
    case OPT_INT64:
        if (parse_int(v, o->min, o->max, &n))
            return JQ_EINVAL;
        *(int64_t *)(void *)field = n;
        return 0;
    case OPT_DURATION:
        if (parse_duration(v, o->min, o->max, &n))
            return JQ_EINVAL;
        *(int64_t *)(void *)field = n;
        return 0;
    }
    return JQ_EINVAL;
}

static void complain(FILE *err, const struct opt *o, const char *source, const char *v)
{
    if (o->kind == OPT_UINT || o->kind == OPT_INT64 || o->kind == OPT_LONG)
        fprintf(err, "jobqd: invalid value '%s' for %s: expected an integer from %lld to %lld\n", v, source,
                (long long)o->min, (long long)o->max);
    else
        fprintf(err, "jobqd: invalid value '%s' for %s (%s %s)\n", v, source, o->flag, o->arg);
}

static void print_help(FILE *out)
{
    fprintf(out, "Usage: jobqd [OPTION]...\n"
                 "jobq job-queue server: runs commands submitted over HTTP.\n\n");
    for (size_t i = 0; i < NOPTIONS; i++)
        fprintf(out, "  %s%s%s\n      %s (env %s)\n", options[i].flag, options[i].arg[0] ? " " : "", options[i].arg,
                options[i].help, options[i].env);
    fprintf(out, "  --help\n      print this text\n  --version\n      print the version\n");
}

static int load_env(struct jq_config *cfg, FILE *err)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *v = getenv(options[i].env);
        if (v && *v && apply(cfg, &options[i], v)) {
            complain(err, &options[i], options[i].env, v);
            return JQ_EINVAL;
        }
    }
    return 0;
}

static const struct opt *find_flag(const char *arg, const char **inline_value)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        size_t n = strlen(options[i].flag);
        if (strncmp(arg, options[i].flag, n) != 0)
            continue;
        if (arg[n] == '\0') {
            *inline_value = NULL;
            return &options[i];
        }
        if (arg[n] == '=') {
            *inline_value = arg + n + 1;
            return &options[i];
        }
    }
    return NULL;
}

static enum jq_config_outcome check(const struct jq_config *cfg, FILE *err)
{
    if (cfg->default_timeout_ms > cfg->max_timeout_ms) {
        fprintf(err, "jobqd: --default-timeout-ms (%lld) is above --max-timeout-ms (%lld)\n",
                (long long)cfg->default_timeout_ms, (long long)cfg->max_timeout_ms);
        return JQ_CONFIG_BAD;
    }
    if ((cfg->job_cwd[0] && cfg->job_cwd[0] != '/') || cfg->db_path[0] == '\0') {
        fprintf(err, "jobqd: --job-cwd must be an absolute path and --db must not be empty\n");
        return JQ_CONFIG_BAD;
    }
    return JQ_CONFIG_RUN;
}

enum jq_config_outcome jq_config_load(struct jq_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    set_defaults(cfg);
    if (load_env(cfg, err))
        return JQ_CONFIG_BAD;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(out);
            return JQ_CONFIG_HELP;
        }
        if (strcmp(arg, "--version") == 0) {
            fprintf(out, "jobqd %s\n", JQ_VERSION);
            return JQ_CONFIG_VERSION;
        }
        const struct opt *o = find_flag(arg, &value);
        if (!o) {
            fprintf(err, "jobqd: unknown option '%s' (see jobqd --help)\n", arg);
            return JQ_CONFIG_BAD;
        }
        if (!value && o->kind == OPT_BOOL)
            value = "1";
        if (!value && ++i >= argc) {
            fprintf(err, "jobqd: option %s needs a value (%s)\n", o->flag, o->arg);
            return JQ_CONFIG_BAD;
        }
        if (!value)
            value = argv[i];
        if (apply(cfg, o, value)) {
            complain(err, o, o->flag, value);
            return JQ_CONFIG_BAD;
        }
    }
    enum jq_config_outcome outcome = check(cfg, err);
    if (outcome == JQ_CONFIG_RUN)
        outcome = jq_config_check_security(cfg, err);
    if (outcome == JQ_CONFIG_RUN)
        outcome = jq_config_check_isolation(cfg, err);
    return outcome == JQ_CONFIG_RUN ? jq_config_check_allowlist(cfg, err) : outcome;
}
