/* job_json.c: a POST /v1/jobs body -> job specs, strictly (job_json.h).
 *
 * DESIGN: three passes. json_strict.c checks the raw bytes (syntax, UTF-8,
 * NUL, escapes, depth); cJSON then builds the tree; the code here walks it
 * once, field by field, applying the policy's defaults and bounds. A field
 * of the wrong type, or below its floor or above a fixed cap, is 400
 * invalid_field; a value above a limit the operator sets (--max-timeout,
 * --max-output) is 422 out_of_range. Duplicate keys are found with a bit per
 * known field (and by sorting env's names), never by an O(n^2) scan. */
#include "job_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_policy.h"
#include "jq_limits.h"
#include "json_strict.h"
#include "retry.h"
#include "rfc3339.h"

/* Where messages go and what prefixes them ("" or "jobs[3]."). */
struct pctx {
    const struct jq_job_policy *policy;
    char *msg;
    size_t msg_size;
    char prefix[32];
};

typedef enum jq_json_error (*field_fn)(struct pctx *c, const cJSON *item, struct jq_job_spec *spec);

__attribute__((format(printf, 3, 4))) static enum jq_json_error fail(struct pctx *c, enum jq_json_error err,
                                                                     const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->msg_size == 0)
        return err;
    n = snprintf(c->msg, c->msg_size, "%s", c->prefix);
    if (n < 0 || (size_t)n >= c->msg_size)
        return err;
    va_start(ap, fmt);
    vsnprintf(c->msg + n, c->msg_size - (size_t)n, fmt, ap);
    va_end(ap);
    return err;
}

static enum jq_json_error oom(struct pctx *c)
{
    if (c->msg_size > 0)
        snprintf(c->msg, c->msg_size, "out of memory");
    return JQ_JSON_NO_MEMORY;
}

/* Bytes of s to print so that a name in a message stays short and is not
 * cut inside a UTF-8 sequence. */
static int clip(const char *s)
{
    size_t n = strlen(s);

    if (n <= 64)
        return (int)n;
    n = 64;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/* Every double at or beyond 2^53 is an integer; below, a round trip through
 * int64_t tells. */
static bool is_integral(double d)
{
    if (!isfinite(d))
        return false;
    if (d >= 0x1p53 || d <= -0x1p53)
        return true;
    return (double)(int64_t)d == d;
}

/* An integer field in lo..hi. Above hi is out_of_range when hi is the
 * operator's limit (hi_is_policy), else invalid_field. */
static enum jq_json_error take_int(struct pctx *c, const cJSON *item, const char *name, int64_t lo, int64_t hi,
                                   bool hi_is_policy, int64_t *out)
{
    double d = item->valuedouble;

    if (!cJSON_IsNumber(item) || !is_integral(d) || d < (double)lo || (d > (double)hi && !hi_is_policy))
        return fail(c, JQ_JSON_INVALID_FIELD, "%s must be an integer between %lld and %lld", name,
                    (long long)lo, (long long)hi);
    if (d > (double)hi)
        return fail(c, JQ_JSON_OUT_OF_RANGE, "%s must be at most %lld on this server", name, (long long)hi);
    *out = (int64_t)d;
    return JQ_JSON_OK;
}

static enum jq_json_error take_timeout(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    return take_int(c, item, "timeout_ms", 1, c->policy->max_timeout_ms, true, &spec->timeout_ms);
}

static enum jq_json_error take_kill_grace(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    return take_int(c, item, "kill_grace_ms", 0, JQ_MAX_KILL_GRACE_MS, false, &spec->kill_grace_ms);
}

static enum jq_json_error take_max_output(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    return take_int(c, item, "max_output_bytes", 0, c->policy->max_output_bytes, true,
                    &spec->max_output_bytes);
}

static enum jq_json_error take_priority(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    int64_t v = 0;
    enum jq_json_error err = take_int(c, item, "priority", -1000, 1000, false, &v);

    spec->priority = (int32_t)v;
    return err;
}

static size_t count_children(const cJSON *item)
{
    size_t n = 0;

    for (const cJSON *e = item->child; e; e = e->next)
        n++;
    return n;
}

static enum jq_json_error take_command(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    size_t n, i = 0, bytes = 0;

    if (!cJSON_IsArray(item) || (n = count_children(item)) == 0 || n > JQ_MAX_ARGC)
        return fail(c, JQ_JSON_INVALID_FIELD, "command must be an array of 1 to %d strings", JQ_MAX_ARGC);
    spec->argv = calloc(n + 1, sizeof(char *));
    if (!spec->argv)
        return oom(c);
    spec->argc = n; /* entries start NULL, so cleanup works at any point */
    for (const cJSON *e = item->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e))
            return fail(c, JQ_JSON_INVALID_FIELD, "command[%zu] must be a string", i);
        bytes += strlen(e->valuestring) + 1;
        if (bytes > JQ_MAX_ARGV_BYTES)
            return fail(c, JQ_JSON_INVALID_FIELD, "command is larger than %u bytes", JQ_MAX_ARGV_BYTES);
        if (i == 0 && e->valuestring[0] == '\0')
            return fail(c, JQ_JSON_INVALID_FIELD, "command[0] must not be empty");
        spec->argv[i] = strdup(e->valuestring);
        if (!spec->argv[i])
            return oom(c);
    }
    return JQ_JSON_OK;
}

static bool env_name_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    }
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* n names of env: the first name that occurs twice, or NULL (also on
 * allocation failure, reported through *no_mem). */
static const char *env_duplicate(const cJSON *item, size_t n, bool *no_mem)
{
    const char **names = malloc(n * sizeof(*names));
    const char *dup = NULL;
    size_t i = 0;

    *no_mem = names == NULL;
    if (!names)
        return NULL;
    for (const cJSON *e = item->child; e; e = e->next)
        names[i++] = e->string;
    qsort(names, n, sizeof(*names), cmp_names);
    for (i = 1; i < n && !dup; i++) {
        if (strcmp(names[i - 1], names[i]) == 0)
            dup = names[i];
    }
    free(names);
    return dup;
}

/* One env member -> "NAME=value" in spec->env[i]; *bytes counts both NULs. */
static enum jq_json_error take_env_entry(struct pctx *c, const cJSON *e, struct jq_job_spec *spec, size_t i,
                                         size_t *bytes)
{
    size_t klen = strlen(e->string), vlen;

    if (!env_name_ok(e->string))
        return fail(c, JQ_JSON_INVALID_FIELD, "env name \"%.*s\" must match [A-Za-z_][A-Za-z0-9_]*",
                    clip(e->string), e->string);
    if (strcmp(e->string, "PATH") == 0)
        return fail(c, JQ_JSON_INVALID_FIELD, "env.PATH may not be set (jobs always get PATH=%s)", JQ_JOB_PATH);
    const char *why = jq_env_policy_why_denied(e->string);
    if (why)
        return fail(c, JQ_JSON_INVALID_FIELD, "env.%.*s may not be set: %s (see docs/security.md)",
                    clip(e->string), e->string, why);
    if (!cJSON_IsString(e))
        return fail(c, JQ_JSON_INVALID_FIELD, "env.%s must be a string", e->string);
    vlen = strlen(e->valuestring);
    *bytes += klen + vlen + 2;
    if (*bytes > JQ_MAX_ENV_BYTES)
        return fail(c, JQ_JSON_INVALID_FIELD, "env is larger than %u bytes", JQ_MAX_ENV_BYTES);
    spec->env[i] = malloc(klen + vlen + 2);
    if (!spec->env[i])
        return oom(c);
    memcpy(spec->env[i], e->string, klen);
    spec->env[i][klen] = '=';
    memcpy(spec->env[i] + klen + 1, e->valuestring, vlen + 1);
    return JQ_JSON_OK;
}

static enum jq_json_error take_env(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    size_t n, i = 0, bytes = 0;
    const char *dup;
    bool no_mem;

    if (!cJSON_IsObject(item))
        return fail(c, JQ_JSON_INVALID_FIELD, "env must be an object of strings");
    n = count_children(item);
    if (n > JQ_MAX_ENVC)
        return fail(c, JQ_JSON_INVALID_FIELD, "env has more than %d entries", JQ_MAX_ENVC);
    if (n == 0)
        return JQ_JSON_OK;
    dup = env_duplicate(item, n, &no_mem);
    if (no_mem)
        return oom(c);
    if (dup)
        return fail(c, JQ_JSON_INVALID_FIELD, "env has a duplicate name \"%.*s\"", clip(dup), dup);
    spec->env = calloc(n + 1, sizeof(char *));
    if (!spec->env)
        return oom(c);
    spec->envc = n;
    for (const cJSON *e = item->child; e; e = e->next, i++) {
        enum jq_json_error err = take_env_entry(c, e, spec, i, &bytes);
        if (err)
            return err;
    }
    return JQ_JSON_OK;
}

static enum jq_json_error take_cwd(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    if (!cJSON_IsString(item) || item->valuestring[0] != '/' || strlen(item->valuestring) > JQ_MAX_CWD_BYTES)
        return fail(c, JQ_JSON_INVALID_FIELD, "cwd must be an absolute path of at most %d bytes",
                    JQ_MAX_CWD_BYTES);
    spec->cwd = strdup(item->valuestring);
    if (!spec->cwd)
        return oom(c);
    return JQ_JSON_OK;
}

static enum jq_json_error take_stdin(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    size_t len;

    if (!cJSON_IsString(item))
        return fail(c, JQ_JSON_INVALID_FIELD, "stdin must be a string");
    len = strlen(item->valuestring);
    if (len > JQ_MAX_STDIN_BYTES)
        return fail(c, JQ_JSON_INVALID_FIELD, "stdin is larger than %u bytes", JQ_MAX_STDIN_BYTES);
    if (len == 0)
        return JQ_JSON_OK; /* NULL means empty stdin */
    spec->stdin_data = malloc(len + 1);
    if (!spec->stdin_data)
        return oom(c);
    memcpy(spec->stdin_data, item->valuestring, len + 1);
    spec->stdin_len = len;
    return JQ_JSON_OK;
}

static enum jq_json_error take_max_attempts(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    int64_t v = 0;
    enum jq_json_error err = take_int(c, item, "max_attempts", 1, JQ_MAX_ATTEMPTS, false, &v);

    spec->retry.max_attempts = (int32_t)v;
    return err;
}

static enum jq_json_error take_on_lost(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    if (!cJSON_IsString(item) || (strcmp(item->valuestring, "fail") != 0 && strcmp(item->valuestring, "retry") != 0))
        return fail(c, JQ_JSON_INVALID_FIELD, "on_lost must be \"fail\" or \"retry\"");
    spec->retry.on_lost_retry = strcmp(item->valuestring, "retry") == 0;
    return JQ_JSON_OK;
}

/* One retry_on item: an exit code 1..255, "timeout" or "lost"; 0 if bad. */
static int32_t retry_on_item(const cJSON *e)
{
    if (cJSON_IsString(e))
        return strcmp(e->valuestring, "timeout") == 0 ? JQ_RETRY_ON_TIMEOUT
               : strcmp(e->valuestring, "lost") == 0  ? JQ_RETRY_ON_LOST
                                                      : 0;
    if (cJSON_IsNumber(e) && is_integral(e->valuedouble) && e->valuedouble >= 1 && e->valuedouble <= 255)
        return (int32_t)e->valuedouble;
    return 0;
}

static enum jq_json_error take_retry_on(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    struct jq_retry_policy *p = &spec->retry;
    size_t i = 0;

    if (!cJSON_IsArray(item) || count_children(item) > JQ_MAX_RETRY_ON)
        return fail(c, JQ_JSON_INVALID_FIELD, "retry_on must be an array of at most %d items", JQ_MAX_RETRY_ON);
    for (const cJSON *e = item->child; e; e = e->next, i++) {
        int32_t v = retry_on_item(e);
        if (v == 0)
            return fail(c, JQ_JSON_INVALID_FIELD,
                        "retry_on[%zu] must be an exit code between 1 and 255, \"timeout\" or \"lost\"", i);
        for (uint32_t k = 0; k < p->retry_on_n; k++)
            if (p->retry_on[k] == v)
                return fail(c, JQ_JSON_INVALID_FIELD, "retry_on[%zu] is a duplicate", i);
        p->retry_on[p->retry_on_n++] = v;
    }
    return JQ_JSON_OK;
}

static enum jq_json_error take_backoff(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    return take_int(c, item, "backoff_ms", 0, JQ_MAX_BACKOFF_MS, false, &spec->retry.backoff_ms);
}

static enum jq_json_error take_backoff_max(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    return take_int(c, item, "backoff_max_ms", 0, JQ_MAX_BACKOFF_MAX_MS, false, &spec->retry.backoff_max_ms);
}

/* limits.<name>: 1..the server's ceiling (422 above it), or 1..a fixed cap
 * when the server sets none. */
static enum jq_json_error take_limit(struct pctx *c, const cJSON *e, const char *name, int64_t ceiling,
                                     int64_t *out)
{
    char label[40];

    snprintf(label, sizeof(label), "limits.%s", name);
    return take_int(c, e, label, 1, ceiling > 0 ? ceiling : JQ_MAX_LIMIT_VALUE, ceiling > 0, out);
}

static enum jq_json_error take_limits(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    const struct jq_job_limits *ceil = &c->policy->limits;
    struct jq_job_limits *l = &spec->limits;
    const struct {
        const char *name;
        int64_t ceiling;
        int64_t *out;
    } keys[] = {
        {"cpu_s", ceil->cpu_s, &l->cpu_s}, {"memory_bytes", ceil->memory_bytes, &l->memory_bytes},
        {"procs", ceil->procs, &l->procs}, {"nofile", ceil->nofile, &l->nofile},
        {"fsize_bytes", ceil->fsize_bytes, &l->fsize_bytes},
    };
    unsigned seen = 0;

    if (!cJSON_IsObject(item))
        return fail(c, JQ_JSON_INVALID_FIELD, "limits must be an object");
    for (const cJSON *e = item->child; e; e = e->next) {
        size_t k = 0;
        while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k].name, e->string) != 0)
            k++;
        if (k == sizeof(keys) / sizeof(keys[0]))
            return fail(c, JQ_JSON_UNKNOWN_FIELD, "limits.%.*s: unknown field (known: cpu_s, memory_bytes, "
                        "procs, nofile, fsize_bytes)", clip(e->string), e->string);
        if (seen & 1u << k)
            return fail(c, JQ_JSON_INVALID_FIELD, "limits.%s: duplicate field", keys[k].name);
        seen |= 1u << k;
        enum jq_json_error err = take_limit(c, e, keys[k].name, keys[k].ceiling, keys[k].out);
        if (err)
            return err;
    }
    return JQ_JSON_OK;
}

static enum jq_json_error take_network(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    if (!cJSON_IsBool(item))
        return fail(c, JQ_JSON_INVALID_FIELD, "network must be true or false");
    if (cJSON_IsTrue(item) && c->policy->no_network)
        return fail(c, JQ_JSON_OUT_OF_RANGE, "network must be false on this server (jobs have no network)");
    spec->no_network = !cJSON_IsTrue(item);
    return JQ_JSON_OK;
}

static enum jq_json_error take_queue(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    if (!cJSON_IsString(item) || !jq_queue_name_ok(item->valuestring))
        return fail(c, JQ_JSON_INVALID_FIELD, "queue must be 1 to %d characters of A-Z a-z 0-9 _ . -",
                    JQ_MAX_QUEUE_NAME_BYTES);
    snprintf(spec->queue, sizeof(spec->queue), "%s", item->valuestring);
    return JQ_JSON_OK;
}

static enum jq_json_error take_time(struct pctx *c, const cJSON *item, const char *name, int64_t *out)
{
    if (!cJSON_IsString(item) || !jq_rfc3339_parse(item->valuestring, out))
        return fail(c, JQ_JSON_INVALID_FIELD, "%s must be an RFC 3339 time, e.g. \"2026-11-23T07:00:00Z\"", name);
    return JQ_JSON_OK;
}

/* run_at and delay_ms both say when: the parser refuses the pair. */
static enum jq_json_error take_run_at(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    return take_time(c, item, "run_at", &spec->run_at_ms);
}

static enum jq_json_error take_delay(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    int64_t v = 0;
    enum jq_json_error err = take_int(c, item, "delay_ms", 0, JQ_MAX_DELAY_MS, false, &v);

    if (!err)
        spec->run_at_ms = v > 0 ? jq_now_ms() + v : 0;
    return err;
}

static enum jq_json_error take_start_by(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    return take_time(c, item, "start_by", &spec->start_by_ms);
}

/* http:// or https://, a host, nothing blank or control, bounded. */
static bool url_ok(const char *u)
{
    size_t scheme = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;
    if (scheme == 0 || strlen(u) > JQ_MAX_CALLBACK_URL_BYTES || u[scheme] == '\0' || u[scheme] == '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static enum jq_json_error take_callback_url(struct pctx *c, const cJSON *item, struct jq_job_spec *spec)
{
    if (c->policy->no_callbacks)
        return fail(c, JQ_JSON_UNAVAILABLE, "callback_url: this jobqd was built without completion callbacks "
                    "(cmake -DJQ_CALLBACKS=ON links libcurl)");
    if (!cJSON_IsString(item) || !url_ok(item->valuestring))
        return fail(c, JQ_JSON_INVALID_FIELD, "callback_url must be an http:// or https:// URL of at most %d bytes",
                    JQ_MAX_CALLBACK_URL_BYTES);
    spec->callback_url = strdup(item->valuestring);
    return spec->callback_url ? JQ_JSON_OK : oom(c);
}

static const struct field {
    const char *name;
    field_fn take;
} fields[] = {
    { "command", take_command },
    { "stdin", take_stdin },
    { "env", take_env },
    { "cwd", take_cwd },
    { "timeout_ms", take_timeout },
    { "kill_grace_ms", take_kill_grace },
    { "max_output_bytes", take_max_output },
    { "priority", take_priority },
    { "max_attempts", take_max_attempts },
    { "on_lost", take_on_lost },
    { "retry_on", take_retry_on },
    { "backoff_ms", take_backoff },
    { "backoff_max_ms", take_backoff_max },
    { "limits", take_limits },
    { "network", take_network },
    { "queue", take_queue },
    { "run_at", take_run_at },
    { "delay_ms", take_delay },
    { "start_by", take_start_by },
    { "callback_url", take_callback_url },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
_Static_assert(NFIELDS <= 32, "a parse records the fields it saw in 32 bits");

static int field_index(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* Whether the job named field name (a name of the table above). */
static bool seen_field(unsigned seen, const char *name)
{
    return (seen & 1u << field_index(name)) != 0;
}

static void apply_defaults(const struct jq_job_policy *policy, struct jq_job_spec *spec)
{
    spec->timeout_ms = policy->default_timeout_ms;
    spec->kill_grace_ms = policy->default_kill_grace_ms;
    spec->max_output_bytes = policy->max_output_bytes;
    spec->priority = 0;
    jq_retry_policy_default(&spec->retry);
    spec->limits = policy->limits;
    spec->no_network = policy->no_network;
}

/* max_attempts left out: 3 when the job asked for any retry, else 1. */
static void default_attempts(unsigned seen, struct jq_job_spec *spec)
{
    if (!seen_field(seen, "max_attempts") && (spec->retry.on_lost_retry || spec->retry.retry_on_n > 0))
        spec->retry.max_attempts = JQ_DEFAULT_RETRY_MAX_ATTEMPTS;
}

/* run_at xor delay_ms; a start_by before the run_at could never be met. */
static enum jq_json_error check_schedule(struct pctx *c, unsigned seen, const struct jq_job_spec *spec)
{
    if (seen_field(seen, "run_at") && seen_field(seen, "delay_ms"))
        return fail(c, JQ_JSON_INVALID_FIELD, "run_at and delay_ms: give one or the other");
    if (spec->start_by_ms > 0 && spec->run_at_ms > 0 && spec->start_by_ms <= spec->run_at_ms)
        return fail(c, JQ_JSON_INVALID_FIELD, "start_by must be later than run_at");
    return JQ_JSON_OK;
}

/* One job object -> *spec (left empty on error). */
static enum jq_json_error parse_job(struct pctx *c, const cJSON *obj, struct jq_job_spec *spec)
{
    enum jq_json_error err = JQ_JSON_OK;
    unsigned seen = 0;

    jq_job_spec_init(spec);
    apply_defaults(c->policy, spec);
    for (const cJSON *e = obj->child; e && !err; e = e->next) {
        int f = field_index(e->string);
        if (f < 0)
            err = fail(c, JQ_JSON_UNKNOWN_FIELD, "%.*s: unknown field", clip(e->string), e->string);
        else if (seen & 1u << f)
            err = fail(c, JQ_JSON_INVALID_FIELD, "%s: duplicate field", e->string);
        else
            err = fields[f].take(c, e, spec);
        if (f >= 0)
            seen |= 1u << f;
    }
    if (!err && !(seen & 1u)) /* fields[0] is command */
        err = fail(c, JQ_JSON_MISSING_FIELD, "command is required");
    if (!err)
        default_attempts(seen, spec);
    if (!err)
        err = check_schedule(c, seen, spec);
    if (err)
        jq_job_spec_cleanup(spec);
    return err;
}

/* {"jobs":[...]}: nothing but "jobs", once, an array of 1..cap objects. */
static enum jq_json_error parse_batch(struct pctx *c, const cJSON *root, struct jq_submission *out)
{
    const cJSON *jobs = NULL;
    enum jq_json_error err = JQ_JSON_OK;
    size_t n, i = 0;

    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "jobs") != 0)
            return fail(c, JQ_JSON_UNKNOWN_FIELD, "%.*s: unknown field (a batch holds only \"jobs\")",
                        clip(e->string), e->string);
        if (jobs)
            return fail(c, JQ_JSON_INVALID_FIELD, "jobs: duplicate field");
        jobs = e;
    }
    if (!cJSON_IsArray(jobs) || (n = count_children(jobs)) == 0 || n > JQ_MAX_BATCH_JOBS)
        return fail(c, JQ_JSON_INVALID_FIELD, "jobs must be an array of 1 to %d jobs", JQ_MAX_BATCH_JOBS);
    out->specs = calloc(n, sizeof(*out->specs));
    if (!out->specs)
        return oom(c);
    out->n = n;
    out->is_batch = true;
    for (const cJSON *e = jobs->child; e && !err; e = e->next, i++) {
        snprintf(c->prefix, sizeof(c->prefix), "jobs[%zu]", i);
        if (!cJSON_IsObject(e))
            err = fail(c, JQ_JSON_INVALID_FIELD, " must be an object");
        if (err)
            break;
        strcat(c->prefix, ".");
        err = parse_job(c, e, &out->specs[i]);
    }
    return err;
}

static enum jq_json_error parse_single(struct pctx *c, const cJSON *root, struct jq_submission *out)
{
    out->specs = calloc(1, sizeof(*out->specs));
    if (!out->specs)
        return oom(c);
    out->n = 1;
    return parse_job(c, root, &out->specs[0]);
}

/* Only JSON whitespace in [p, end). */
static bool only_ws(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return false;
    }
    return true;
}

static bool has_key(const cJSON *obj, const char *key)
{
    for (const cJSON *e = obj->child; e; e = e->next) {
        if (strcmp(e->string, key) == 0)
            return true;
    }
    return false;
}

enum jq_json_error jq_json_parse_submission(const char *body, size_t len, const struct jq_job_policy *policy,
                                            struct jq_submission *out, char *msg, size_t msg_size)
{
    struct pctx c = { .policy = policy, .msg = msg, .msg_size = msg_size };
    enum jq_json_error err;
    const char *end = NULL;
    cJSON *root = NULL;

    memset(out, 0, sizeof(*out));
    if (msg_size > 0)
        msg[0] = '\0';
    if (jq_json_check(body, len, msg, msg_size) != 0)
        return JQ_JSON_MALFORMED;
    root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) /* the text is valid JSON, so cJSON ran out of memory */
        return oom(&c);
    if (!end || end < body || end > body + len || !only_ws(end, body + len)) {
        err = fail(&c, JQ_JSON_MALFORMED, "malformed JSON: unexpected data after the JSON value");
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        err = fail(&c, JQ_JSON_MALFORMED, "body must be a JSON object");
        goto out;
    }
    err = has_key(root, "jobs") ? parse_batch(&c, root, out) : parse_single(&c, root, out);
out:
    cJSON_Delete(root);
    if (err)
        jq_submission_cleanup(out);
    return err;
}

void jq_submission_cleanup(struct jq_submission *sub)
{
    for (size_t i = 0; i < sub->n; i++)
        jq_job_spec_cleanup(&sub->specs[i]);
    free(sub->specs);
    memset(sub, 0, sizeof(*sub));
}
