/* wait.c: waiting for a job to finish — long-polls of GET /v1/jobs/{id}?wait=
 * in a loop (never a busy poll), a progress line on a terminal, Ctrl-C
 * cancelling the job — and the exit status that stands for a finished job.
 *
 * DESIGN: SIGINT/SIGTERM only set jq_cli_stop_signal (SA_RESETHAND: a second
 * Ctrl-C kills the client at once). libcurl's progress callback sees the
 * flag within about a second and aborts the long-poll; the loop then sends
 * DELETE and exits 128+signal. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

volatile sig_atomic_t jq_cli_stop_signal;

static void on_stop(int sig)
{
    jq_cli_stop_signal = sig;
}

void jq_cli_catch_stop(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: a sleep ends early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

bool jq_cli_state_terminal(const char *state)
{
    static const char *const live[] = {"queued", "running"};
    if (!state)
        return false;
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (strcmp(state, live[i]) == 0)
            return false;
    return true;
}

static void show_progress(const struct jq_cli *cli, int64_t id, const cJSON *job, int64_t elapsed_ms)
{
    if (!cli->progress)
        return;
    char dur[32];
    const char *state = jq_cli_str(job, "state");
    if (elapsed_ms < 60000)
        snprintf(dur, sizeof(dur), "%llds", (long long)(elapsed_ms / 1000));
    else
        jq_cli_fmt_duration(elapsed_ms, dur, sizeof(dur));
    fprintf(stderr, "\rwaiting for job %lld (%s, %s)\033[K", (long long)id, state ? state : "?", dur);
    fflush(stderr);
}

static void clear_progress(const struct jq_cli *cli)
{
    if (cli->progress) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

/* After a stop signal: cancel the job, say so, exit 128+signal. */
static int cancel_on_stop(struct jq_cli *cli, int64_t id)
{
    char path[64];
    struct jq_cli_resp r;
    int sig = jq_cli_stop_signal;
    clear_progress(cli);
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    jq_cli_resp_init(&r, -1);
    int rc = jq_cli_http(cli, "DELETE", path, NULL, 90, NULL, &r);
    if (rc == 0)
        jq_cli_err("interrupted: cancelled job %lld (%s)", (long long)id,
                   jq_cli_str(r.json, "state") ? jq_cli_str(r.json, "state") : "?");
    jq_cli_resp_cleanup(&r);
    return JQ_CLI_SIGBASE + (sig ? sig : SIGINT);
}

/* One long-poll of at most wait_ms; *job replaced by what it returns. */
static int poll_once(struct jq_cli *cli, int64_t id, int64_t wait_ms, cJSON **job)
{
    char path[96];
    struct jq_cli_resp r;
    snprintf(path, sizeof(path), "/v1/jobs/%lld?wait=%lld.%03lld", (long long)id, (long long)(wait_ms / 1000),
             (long long)(wait_ms % 1000));
    jq_cli_resp_init(&r, -1);
    int rc = jq_cli_http(cli, "GET", path, NULL, (long)(wait_ms / 1000) + 30, &jq_cli_stop_signal, &r);
    if (rc == 0 && !cJSON_IsObject(r.json)) {
        jq_cli_err("the server at %s sent a reply that is not a JSON object", cli->url);
        rc = JQ_CLI_ESERVER;
    }
    if (rc == 0) {
        cJSON_Delete(*job);
        *job = r.json;
        r.json = NULL;
    }
    jq_cli_resp_cleanup(&r);
    return rc;
}

int jq_cli_wait_job(struct jq_cli *cli, int64_t id, int64_t max_ms, cJSON **out)
{
    int64_t t0 = now_ms();
    int rc = 0;
    *out = NULL;
    for (;;) {
        int64_t left = max_ms < 0 ? INT64_MAX : max_ms - (now_ms() - t0), t1 = now_ms();
        if (jq_cli_stop_signal)
            return cancel_on_stop(cli, id);
        if (left <= 0 && *out)
            break;
        /* Short polls on a terminal so the progress line ticks. */
        int64_t wait_ms = cli->progress ? 1000 : 30000;
        rc = poll_once(cli, id, wait_ms < left ? wait_ms : (left > 0 ? left : 0), out);
        if (rc == JQ_CLI_INTERRUPTED || jq_cli_stop_signal)
            return cancel_on_stop(cli, id);
        if (rc)
            break;
        if (jq_cli_state_terminal(jq_cli_str(*out, "state")))
            break;
        show_progress(cli, id, *out, now_ms() - t0);
        if (now_ms() - t1 < 200) /* a server that answers early must not make this spin */
            sleep_ms(200);
    }
    clear_progress(cli);
    if (rc == 0 && !jq_cli_state_terminal(jq_cli_str(*out, "state")))
        rc = JQ_CLI_EWAIT;
    return rc;
}

int jq_cli_job_exit(const cJSON *job)
{
    const char *state = jq_cli_str(job, "state"), *error = jq_cli_str(job, "error");
    int64_t id = 0, code, sig;
    jq_cli_int(job, "id", &id);
    if (!state)
        state = "?";
    if (strcmp(state, "timed_out") == 0) {
        int64_t t = 0;
        char d[32] = "?";
        if (jq_cli_int(job, "timeout_ms", &t))
            jq_cli_fmt_duration(t, d, sizeof(d));
        jq_cli_err("job %lld timed out after %s", (long long)id, d);
        return JQ_CLI_JOB_TIMEOUT;
    }
    if (strcmp(state, "cancelled") == 0 || strcmp(state, "lost") == 0 || strcmp(state, "expired") == 0) {
        jq_cli_err("job %lld was %s%s", (long long)id, state,
                   state[0] == 'l'   ? " (its worker or the server died while it ran)"
                   : state[0] == 'e' ? " (not started by its start_by)"
                                     : "");
        return JQ_CLI_JOB_NOTRUN;
    }
    if (error) {
        jq_cli_err("job %lld could not start: %s", (long long)id, error);
        return JQ_CLI_JOB_NOTRUN;
    }
    if (jq_cli_int(job, "signal", &sig) && sig > 0 && sig < 128)
        return JQ_CLI_SIGBASE + (int)sig;
    if (jq_cli_int(job, "exit_code", &code) && code >= 0 && code <= 255)
        return (int)code;
    if (strcmp(state, "succeeded") == 0)
        return 0;
    jq_cli_err("job %lld ended in state %s without an exit code", (long long)id, state);
    return JQ_CLI_JOB_NOTRUN;
}
