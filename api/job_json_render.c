/* job_json_render.c: a stored job -> the JSON object of docs/api.md, keys in
 * the documented order (job_json.h). Text that came from outside (argv, env,
 * error) is made valid UTF-8 before cJSON prints it; output bytes that are
 * not text go out as base64. */
#include "job_json.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "retry.h"
#include "utf8.h"

/* cJSON_AddItemToObject does not take item on failure: free it then. */
static bool add(cJSON *o, const char *key, cJSON *item)
{
    if (!item)
        return false;
    if (!cJSON_AddItemToObject(o, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

/* A number node when cJSON prints it exactly: it prints with "%1.15g", so
 * from 10^15 on it switches to an exponent and drops digits. Beyond that
 * (no real id, count or duration gets there) the digits go out as raw text. */
static bool add_int(cJSON *o, const char *key, int64_t v)
{
    char digits[24];

    if (v > -1000000000000000 && v < 1000000000000000)
        return cJSON_AddNumberToObject(o, key, (double)v) != NULL;
    snprintf(digits, sizeof(digits), "%lld", (long long)v);
    return cJSON_AddRawToObject(o, key, digits) != NULL;
}

/* An integer when known, else null. */
static bool add_int_if(cJSON *o, const char *key, bool known, int64_t v)
{
    return known ? add_int(o, key, v) : cJSON_AddNullToObject(o, key) != NULL;
}

/* len bytes of possibly ill-formed text as a valid UTF-8 JSON string. */
static cJSON *text(const char *s, size_t len)
{
    char *clean = jq_utf8_sanitize(s, len);
    cJSON *item;

    if (!clean)
        return NULL;
    item = cJSON_CreateString(clean);
    free(clean);
    return item;
}

/* A string, or null when s is NULL. */
static bool add_text(cJSON *o, const char *key, const char *s)
{
    if (!s)
        return cJSON_AddNullToObject(o, key) != NULL;
    return add(o, key, text(s, strlen(s)));
}

static bool add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[64];

    if (ms == 0)
        return cJSON_AddNullToObject(o, key) != NULL;
    jq_json_format_time(ms, buf, sizeof(buf));
    return cJSON_AddStringToObject(o, key, buf) != NULL;
}

static bool add_command(cJSON *o, const struct jq_job_spec *spec)
{
    cJSON *arr = cJSON_CreateArray();

    if (!add(o, "command", arr))
        return false;
    for (size_t i = 0; i < spec->argc && spec->argv; i++) {
        cJSON *s = text(spec->argv[i], strlen(spec->argv[i]));
        if (!s)
            return false;
        if (!cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return false;
        }
    }
    return true;
}

/* "NAME=value" strings -> {"NAME":"value"}. */
static bool add_env(cJSON *o, const struct jq_job_spec *spec)
{
    cJSON *env = cJSON_CreateObject();

    if (!add(o, "env", env))
        return false;
    for (size_t i = 0; i < spec->envc && spec->env; i++) {
        const char *entry = spec->env[i], *eq = strchr(entry, '=');
        size_t klen = eq ? (size_t)(eq - entry) : strlen(entry);
        char *name = jq_utf8_sanitize(entry, klen);
        bool ok = name && add(env, name, text(eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0));
        free(name);
        if (!ok)
            return false;
    }
    return true;
}

/* retry_on: exit codes as numbers, "timeout" / "lost" as strings. */
static bool add_retry_on(cJSON *o, const struct jq_retry_policy *p)
{
    cJSON *arr = cJSON_CreateArray();

    if (!add(o, "retry_on", arr))
        return false;
    for (uint32_t i = 0; i < p->retry_on_n && i < JQ_MAX_RETRY_ON; i++) {
        int32_t v = p->retry_on[i];
        cJSON *item = v == JQ_RETRY_ON_TIMEOUT ? cJSON_CreateString("timeout")
                      : v == JQ_RETRY_ON_LOST  ? cJSON_CreateString("lost")
                                               : cJSON_CreateNumber(v);
        if (!item || !cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            return false;
        }
    }
    return true;
}

static bool add_policy(cJSON *o, const struct jq_retry_policy *p)
{
    return add_int(o, "max_attempts", jq_retry_max_attempts(p)) &&
           cJSON_AddStringToObject(o, "on_lost", p->on_lost_retry ? "retry" : "fail") && add_retry_on(o, p) &&
           add_int(o, "backoff_ms", p->backoff_ms) && add_int(o, "backoff_max_ms", p->backoff_max_ms);
}

/* limits: each value, or null for none. */
static bool add_limits(cJSON *o, const struct jq_job_limits *l)
{
    cJSON *obj = cJSON_CreateObject();

    return add(o, "limits", obj) && add_int_if(obj, "cpu_s", l->cpu_s > 0, l->cpu_s) &&
           add_int_if(obj, "memory_bytes", l->memory_bytes > 0, l->memory_bytes) &&
           add_int_if(obj, "procs", l->procs > 0, l->procs) && add_int_if(obj, "nofile", l->nofile > 0, l->nofile) &&
           add_int_if(obj, "fsize_bytes", l->fsize_bytes > 0, l->fsize_bytes);
}

static bool add_spec(cJSON *o, const struct jq_job *job)
{
    const struct jq_job_spec *spec = &job->spec;

    return add_int(o, "id", job->id) && cJSON_AddStringToObject(o, "state", jq_state_name(job->state)) &&
           add_command(o, spec) && add_env(o, spec) && add_text(o, "cwd", spec->cwd) &&
           add_int(o, "stdin_bytes", (int64_t)spec->stdin_len) && add_int(o, "timeout_ms", spec->timeout_ms) &&
           add_int(o, "kill_grace_ms", spec->kill_grace_ms) &&
           add_int(o, "max_output_bytes", spec->max_output_bytes) && add_int(o, "priority", spec->priority) &&
           cJSON_AddStringToObject(o, "queue", jq_job_queue_name(spec)) && add_time(o, "run_at", spec->run_at_ms) &&
           add_time(o, "start_by", spec->start_by_ms) && add_policy(o, &spec->retry) && add_limits(o, &spec->limits) &&
           cJSON_AddBoolToObject(o, "network", !spec->no_network);
}

/* "SIGKILL", "SIGRTMIN+3", or NULL for a number with no name. */
static const char *signal_name(int sig, char *buf, size_t size)
{
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev)
        snprintf(buf, size, "SIG%s", abbrev);
    else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        return NULL;
    return buf;
}

/* attempt .. cancel_requested. */
static bool add_outcome(cJSON *o, const struct jq_job *job)
{
    const struct jq_job_result *r = &job->result;
    bool done = jq_state_is_terminal(job->state);
    bool exited = done && r->signal == 0 && r->exit_code >= 0;
    bool signalled = done && r->signal != 0;
    char sigbuf[32];

    return add_time(o, "created_at", job->created_at_ms) && add_time(o, "started_at", r->started_at_ms) &&
           add_time(o, "finished_at", r->finished_at_ms) && add_int(o, "attempt", job->attempt) &&
           add_time(o, "next_attempt_at", job->state == JQ_STATE_RETRY_WAIT ? job->run_at_ms : 0) &&
           add_int_if(o, "exit_code", exited, r->exit_code) && add_int_if(o, "signal", signalled, r->signal) &&
           add_text(o, "signal_name", signalled ? signal_name(r->signal, sigbuf, sizeof(sigbuf)) : NULL) &&
           cJSON_AddBoolToObject(o, "core_dumped", done && r->core_dumped) &&
           add_text(o, "kill_reason", jq_kill_reason_name(r->kill_reason)) &&
           add_text(o, "limit", jq_kill_limit_name(r->kill_reason)) && add_text(o, "error", r->error) &&
           cJSON_AddBoolToObject(o, "cancel_requested", job->cancel_requested);
}

/* "stdout": text, or null plus "stdout_base64" when the bytes are not text. */
static bool add_output_data(cJSON *o, const char *name, const struct jq_output *out)
{
    char key[32], *buf = NULL;
    size_t len = out->data ? out->len : 0;
    bool ok;

    if (jq_utf8_is_text(out->data ? out->data : "", len)) {
        buf = malloc(len + 1); /* cJSON wants a NUL-terminated string */
        if (buf) {
            memcpy(buf, out->data ? out->data : "", len);
            buf[len] = '\0';
        }
        ok = buf && cJSON_AddStringToObject(o, name, buf) != NULL;
    } else {
        size_t elen = jq_base64_encoded_len(len);
        snprintf(key, sizeof(key), "%s_base64", name);
        buf = elen ? malloc(elen + 1) : NULL;
        if (buf)
            jq_base64_encode(out->data, len, buf);
        ok = buf && cJSON_AddNullToObject(o, name) && cJSON_AddStringToObject(o, key, buf);
    }
    free(buf);
    return ok;
}

static bool add_output(cJSON *o, const char *name, const struct jq_output *out, bool done, bool with_output)
{
    char key[32];

    if (with_output && done && !add_output_data(o, name, out))
        return false;
    if (with_output && !done && !cJSON_AddNullToObject(o, name))
        return false;
    snprintf(key, sizeof(key), "%s_bytes", name);
    if (!add_int_if(o, key, done, (int64_t)out->total_bytes))
        return false;
    snprintf(key, sizeof(key), "%s_truncated", name);
    return done ? cJSON_AddBoolToObject(o, key, out->truncated) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

static bool add_usage(cJSON *o, const struct jq_job *job)
{
    const struct jq_job_result *r = &job->result;
    bool done = jq_state_is_terminal(job->state);

    return add_int_if(o, "duration_ms", done, r->duration_ms) && add_int_if(o, "cpu_user_ms", done, r->cpu_user_ms) &&
           add_int_if(o, "cpu_sys_ms", done, r->cpu_sys_ms) && add_int_if(o, "max_rss_kb", done, r->max_rss_kb) &&
           add_int_if(o, "worker_pid", done, r->worker_pid);
}

/* One finished attempt of the history. */
static cJSON *attempt_json(const struct jq_attempt *a)
{
    cJSON *o = cJSON_CreateObject();
    bool signalled = a->signal != 0;

    if (o && add_int(o, "attempt", a->attempt) && add_time(o, "started_at", a->started_at_ms) &&
        add_time(o, "finished_at", a->finished_at_ms) &&
        cJSON_AddStringToObject(o, "state", jq_state_name(a->state)) &&
        add_int_if(o, "exit_code", !signalled && a->exit_code >= 0, a->exit_code) &&
        add_int_if(o, "signal", signalled, a->signal) &&
        add_text(o, "kill_reason", jq_kill_reason_name(a->kill_reason)) &&
        add_text(o, "limit", jq_kill_limit_name(a->kill_reason)) &&
        add_int_if(o, "worker_pid", a->worker_pid > 0, a->worker_pid) && add_text(o, "error", a->error))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static bool add_attempts(cJSON *o, const struct jq_job *job)
{
    cJSON *arr = cJSON_CreateArray();

    if (!add(o, "attempts", arr))
        return false;
    for (size_t i = 0; i < job->n_attempts && job->attempts; i++) {
        cJSON *one = attempt_json(&job->attempts[i]);
        if (!one)
            return false;
        if (!cJSON_AddItemToArray(arr, one)) {
            cJSON_Delete(one);
            return false;
        }
    }
    return true;
}

static cJSON *delivery_json(const struct jq_delivery *d)
{
    cJSON *o = cJSON_CreateObject();
    if (o && add_int(o, "attempt", d->attempt) && add_time(o, "at", d->at_ms) &&
        add_int_if(o, "status", d->status > 0, d->status) && add_text(o, "error", d->error))
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* "callback": null, or {"url", "state", "deliveries": [...]}. */
static bool add_callback(cJSON *o, const struct jq_job *job)
{
    if (!job->spec.callback_url)
        return cJSON_AddNullToObject(o, "callback") != NULL;
    cJSON *cb = cJSON_CreateObject();
    if (!add(o, "callback", cb) || !add_text(cb, "url", job->spec.callback_url) ||
        !cJSON_AddStringToObject(cb, "state", jq_callback_state_name(job->callback_state)))
        return false;
    cJSON *arr = cJSON_CreateArray();
    if (!add(cb, "deliveries", arr))
        return false;
    for (size_t i = 0; i < job->n_deliveries && job->deliveries; i++) {
        cJSON *one = delivery_json(&job->deliveries[i]);
        if (!one || !cJSON_AddItemToArray(arr, one)) {
            cJSON_Delete(one);
            return false;
        }
    }
    return true;
}

cJSON *jq_json_from_job(const struct jq_job *job, bool with_output)
{
    cJSON *o = cJSON_CreateObject();
    bool done = jq_state_is_terminal(job->state);

    if (!o)
        return NULL;
    if (!add_spec(o, job) || !add_outcome(o, job) ||
        !add_output(o, "stdout", &job->result.out, done, with_output) ||
        !add_output(o, "stderr", &job->result.err, done, with_output) || !add_usage(o, job) ||
        (with_output && (!add_attempts(o, job) || !add_callback(o, job)))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void jq_json_format_time(int64_t epoch_ms, char *buf, size_t size)
{
    int64_t sec = epoch_ms / 1000, ms = epoch_ms % 1000;
    time_t t;
    struct tm tm;

    if (size == 0)
        return;
    if (ms < 0) { /* floor division for times before 1970 */
        ms += 1000;
        sec--;
    }
    t = (time_t)sec;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, size, "invalid time");
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}
