/* job.c: lifecycle names and the init/cleanup of the job structs. */
#include "job.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

static const char *const state_names[JQ_STATE_COUNT] = {
    "queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost", "retry_wait",
    "scheduled", "expired",
};

const char *jq_state_name(enum jq_job_state state)
{
    if ((unsigned)state >= JQ_STATE_COUNT)
        return "unknown";
    return state_names[state];
}

int jq_state_parse(const char *name, enum jq_job_state *out)
{
    for (unsigned i = 0; i < JQ_STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum jq_job_state)i;
            return 0;
        }
    }
    return JQ_EINVAL;
}

bool jq_state_is_terminal(enum jq_job_state state)
{
    return state != JQ_STATE_QUEUED && state != JQ_STATE_RUNNING && state != JQ_STATE_RETRY_WAIT &&
           state != JQ_STATE_SCHEDULED;
}

const char *jq_job_queue_name(const struct jq_job_spec *spec)
{
    return spec->queue[0] ? spec->queue : JQ_DEFAULT_QUEUE;
}

bool jq_queue_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > JQ_MAX_QUEUE_NAME_BYTES)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return false;
    }
    return true;
}

const char *jq_kill_reason_name(enum jq_kill_reason reason)
{
    switch (reason) {
    case JQ_KILL_TIMEOUT: return "timeout";
    case JQ_KILL_CANCEL: return "cancel";
    case JQ_KILL_SHUTDOWN: return "shutdown";
    default: return jq_kill_reason_is_limit(reason) ? "limit" : NULL;
    }
}

bool jq_kill_reason_is_limit(enum jq_kill_reason reason)
{
    return reason >= JQ_KILL_LIMIT_CPU && reason <= JQ_KILL_LIMIT_FSIZE;
}

const char *jq_kill_limit_name(enum jq_kill_reason reason)
{
    switch (reason) {
    case JQ_KILL_TIMEOUT: return "timeout";
    case JQ_KILL_LIMIT_CPU: return "cpu";
    case JQ_KILL_LIMIT_MEMORY: return "memory";
    case JQ_KILL_LIMIT_PROCS: return "procs";
    case JQ_KILL_LIMIT_FSIZE: return "fsize";
    default: return NULL;
    }
}

int64_t jq_job_limit_effective(int64_t wanted, int64_t ceiling)
{
    if (wanted > 0 && (ceiling <= 0 || wanted < ceiling))
        return wanted;
    return ceiling > 0 ? ceiling : 0;
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void jq_job_spec_init(struct jq_job_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
}

void jq_job_spec_cleanup(struct jq_job_spec *spec)
{
    free_strv(spec->argv, spec->argc);
    free_strv(spec->env, spec->envc);
    free(spec->cwd);
    free(spec->stdin_data);
    free(spec->callback_url);
    jq_job_spec_init(spec);
}

void jq_job_result_init(struct jq_job_result *res)
{
    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
}

void jq_job_result_cleanup(struct jq_job_result *res)
{
    free(res->error);
    free(res->out.data);
    free(res->err.data);
    jq_job_result_init(res);
}

void jq_job_attempts_free(struct jq_attempt *attempts, size_t n)
{
    for (size_t i = 0; attempts && i < n; i++)
        free(attempts[i].error);
    free(attempts);
}

const char *jq_callback_state_name(enum jq_callback_state state)
{
    switch (state) {
    case JQ_CALLBACK_DELIVERED: return "delivered";
    case JQ_CALLBACK_FAILED: return "failed";
    default: return "pending";
    }
}

static void deliveries_free(struct jq_delivery *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        free(d[i].error);
    free(d);
}

void jq_job_init(struct jq_job *job)
{
    memset(job, 0, sizeof(*job));
    jq_job_spec_init(&job->spec);
    jq_job_result_init(&job->result);
}

void jq_job_cleanup(struct jq_job *job)
{
    jq_job_spec_cleanup(&job->spec);
    jq_job_result_cleanup(&job->result);
    jq_job_attempts_free(job->attempts, job->n_attempts);
    deliveries_free(job->deliveries, job->n_deliveries);
    jq_job_init(job);
}

static int64_t clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t jq_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t jq_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}
