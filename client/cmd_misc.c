/* cmd_misc.c: the one-job commands — `jobq get` (a job's summary),
 * `jobq wait` (wait and exit like run), `jobq cancel` and `jobq logs` (the
 * raw bytes of a job's stdout or stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

#define COMMON_OPTIONS                                                                  \
    "      --url URL         the server (default $JOBQ_URL, else http://127.0.0.1:8080)\n" \
    "      --json            print the server's JSON\n"                                 \
    "  -h, --help            this help\n"

static const char get_usage[] = "usage: jobq get [OPTIONS] ID\nShow a job.\n" COMMON_OPTIONS;
static const char wait_usage[] =
    "usage: jobq wait [OPTIONS] ID\n"
    "Wait for a job to finish, print a one-line summary (the job with --json) and\n"
    "exit like `jobq run` would. Ctrl-C cancels the job (exit 130).\n"
    "  -t, --timeout D       give up after D (exit 75, the job keeps running)\n" COMMON_OPTIONS;
static const char cancel_usage[] =
    "usage: jobq cancel [OPTIONS] ID\nCancel a queued or running job (waits for it to stop).\n" COMMON_OPTIONS;
static const char logs_usage[] =
    "usage: jobq logs [OPTIONS] ID\n"
    "Print the bytes a finished job wrote to its stdout (or stderr), exactly.\n"
    "      --stderr          the job's stderr instead of its stdout\n"
    "  -f, --follow          print the output as the job produces it, until it ends\n" COMMON_OPTIONS;

static void job_path(char *buf, size_t cap, int64_t id, const char *suffix)
{
    snprintf(buf, cap, "/v1/jobs/%lld%s", (long long)id, suffix);
}

static void print_field(const char *name, const char *value)
{
    printf("%-10s %s\n", name, value && *value ? value : "-");
}

static void print_time(const cJSON *job, const char *label, const char *field)
{
    char t[64];
    jq_cli_fmt_time(jq_cli_str(job, field), t, sizeof(t));
    print_field(label, t);
}

static void print_stream(const cJSON *job, const char *stream)
{
    char field[32], line[96];
    int64_t n = 0;
    snprintf(field, sizeof(field), "%s_bytes", stream);
    if (!jq_cli_int(job, field, &n)) {
        print_field(stream, "-");
        return;
    }
    snprintf(field, sizeof(field), "%s_truncated", stream);
    snprintf(line, sizeof(line), "%lld bytes%s (jobq logs%s)", (long long)n,
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(job, field)) ? ", truncated" : "",
             strcmp(stream, "stderr") == 0 ? " --stderr" : "");
    print_field(stream, line);
}

static void print_job(const cJSON *job)
{
    char buf[64];
    int64_t v;
    char *cmd = jq_cli_fmt_command(cJSON_GetObjectItemCaseSensitive(job, "command"));
    snprintf(buf, sizeof(buf), "%lld", jq_cli_int(job, "id", &v) ? (long long)v : 0LL);
    print_field("id", buf);
    print_field("state", jq_cli_str(job, "state"));
    print_field("command", cmd);
    free(cmd);
    jq_cli_fmt_exit(job, buf, sizeof(buf));
    print_field("exit", buf);
    if (jq_cli_str(job, "kill_reason"))
        print_field("killed", jq_cli_str(job, "kill_reason"));
    if (jq_cli_str(job, "error"))
        print_field("error", jq_cli_str(job, "error"));
    print_time(job, "created", "created_at");
    print_time(job, "started", "started_at");
    print_time(job, "finished", "finished_at");
    if (jq_cli_int(job, "duration_ms", &v))
        jq_cli_fmt_duration(v, buf, sizeof(buf));
    else
        snprintf(buf, sizeof(buf), "-");
    print_field("duration", buf);
    print_stream(job, "stdout");
    print_stream(job, "stderr");
}

/* Print a job as JSON (--json) or as the summary. */
static int show_job(const struct jq_cli *cli, const cJSON *job)
{
    if (cli->json) {
        char *s = cJSON_PrintUnformatted(job);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        print_job(job);
    }
    return fflush(stdout) == 0 ? 0 : JQ_CLI_ESERVER;
}

int jq_cli_cmd_get(int argc, char **argv, const char *url, bool json)
{
    struct jq_cli_opts o = {.usage = get_usage, .want_operands = 1, .url = url, .json = json};
    struct jq_cli cli;
    char path[64];
    cJSON *job = NULL;
    int64_t id;
    int rc = jq_cli_opts_id(&o, argc, argv, &id);
    if (rc || o.help || (rc = jq_cli_open(&cli, o.url, o.json)))
        return rc;
    job_path(path, sizeof(path), id, "");
    if ((rc = jq_cli_get_json(&cli, path, &job)) == 0)
        rc = show_job(&cli, job);
    cJSON_Delete(job);
    jq_cli_close(&cli);
    return rc;
}

static int wait_option(struct jq_cli_opts *o, int c, const char *arg)
{
    if (c != 't' || jq_cli_parse_duration_ms(arg, o->ctx) != 0) {
        jq_cli_err("--timeout '%s': expected a duration like 500ms, 5s, 2m, 1h", arg ? arg : "");
        return -1;
    }
    return 0;
}

/* The one-line summary of a finished job. */
static void print_summary(const cJSON *job)
{
    char exit_s[32], dur[32] = "?";
    int64_t id = 0, ms;
    jq_cli_int(job, "id", &id);
    jq_cli_fmt_exit(job, exit_s, sizeof(exit_s));
    if (jq_cli_int(job, "duration_ms", &ms))
        jq_cli_fmt_duration(ms, dur, sizeof(dur));
    printf("job %lld %s (exit %s) in %s\n", (long long)id, jq_cli_str(job, "state"), exit_s, dur);
}

static int wait_and_report(struct jq_cli *cli, int64_t id, int64_t max_ms)
{
    cJSON *job = NULL;
    jq_cli_catch_stop();
    int rc = jq_cli_wait_job(cli, id, max_ms, &job);
    if (rc == JQ_CLI_EWAIT) {
        char d[32];
        jq_cli_fmt_duration(max_ms, d, sizeof(d));
        jq_cli_err("job %lld is still %s after %s", (long long)id, jq_cli_str(job, "state"), d);
    }
    if ((rc == 0 || rc == JQ_CLI_EWAIT) && cli->json)
        show_job(cli, job);
    else if (rc == 0)
        print_summary(job);
    if (rc == 0)
        rc = jq_cli_job_exit(job);
    cJSON_Delete(job);
    return rc;
}

int jq_cli_cmd_wait(int argc, char **argv, const char *url, bool json)
{
    static const struct option extra[] = {{"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    int64_t max_ms = -1, id;
    struct jq_cli_opts o = {.usage = wait_usage, .extra = extra, .shortopts = "ht:", .on_option = wait_option,
                            .ctx = &max_ms, .want_operands = 1, .url = url, .json = json};
    struct jq_cli cli;
    int rc = jq_cli_opts_id(&o, argc, argv, &id);
    if (rc || o.help || (rc = jq_cli_open(&cli, o.url, o.json)))
        return rc;
    rc = wait_and_report(&cli, id, max_ms);
    jq_cli_close(&cli);
    return rc;
}

int jq_cli_cmd_cancel(int argc, char **argv, const char *url, bool json)
{
    struct jq_cli_opts o = {.usage = cancel_usage, .want_operands = 1, .url = url, .json = json};
    struct jq_cli cli;
    struct jq_cli_resp r;
    char path[64];
    int64_t id;
    int rc = jq_cli_opts_id(&o, argc, argv, &id);
    if (rc || o.help || (rc = jq_cli_open(&cli, o.url, o.json)))
        return rc;
    job_path(path, sizeof(path), id, "");
    jq_cli_resp_init(&r, -1);
    rc = jq_cli_http(&cli, "DELETE", path, NULL, 90, NULL, &r);
    if (rc == 0 && cli.json)
        rc = jq_cli_print_body(&r);
    else if (rc == 0 && r.status == 202)
        printf("job %lld: cancel requested, still running\n", (long long)id);
    else if (rc == 0)
        printf("job %lld %s\n", (long long)id, jq_cli_str(r.json, "state") ? jq_cli_str(r.json, "state") : "?");
    jq_cli_resp_cleanup(&r);
    jq_cli_close(&cli);
    return rc;
}

struct logs_flags {
    bool err_stream; /* --stderr */
    bool follow;     /* -f, --follow */
};

static int logs_option(struct jq_cli_opts *o, int c, const char *arg)
{
    (void)arg;
    struct logs_flags *f = o->ctx;
    if (c == JQ_CLI_OPT_FIRST_EXTRA)
        f->err_stream = true;
    else if (c == 'f')
        f->follow = true;
    else
        return -1;
    return 0;
}

/* -f: the live stream of one of the job's streams; an older server without
 * it gets the plain download. */
static int follow_logs(struct jq_cli *cli, int64_t id, bool err_stream)
{
    cJSON *job = NULL;
    jq_cli_catch_stop();
    int rc = jq_cli_follow_job(cli, id, err_stream ? -1 : STDOUT_FILENO, err_stream ? STDOUT_FILENO : -1, &job);
    cJSON_Delete(job);
    return rc == JQ_CLI_INTERRUPTED ? JQ_CLI_SIGBASE + (int)jq_cli_stop_signal : rc;
}

int jq_cli_cmd_logs(int argc, char **argv, const char *url, bool json)
{
    static const struct option extra[] = {{"stderr", no_argument, NULL, JQ_CLI_OPT_FIRST_EXTRA},
                                          {"follow", no_argument, NULL, 'f'},
                                          {NULL, 0, NULL, 0}};
    struct logs_flags flags = {false, false};
    struct jq_cli_opts o = {.usage = logs_usage, .extra = extra, .shortopts = "hf", .on_option = logs_option,
                            .ctx = &flags, .want_operands = 1, .url = url, .json = json};
    struct jq_cli cli;
    struct jq_cli_resp r;
    char path[64];
    int64_t id;
    int rc = jq_cli_opts_id(&o, argc, argv, &id);
    if (rc || o.help || (rc = jq_cli_open(&cli, o.url, o.json)))
        return rc;
    if (flags.follow && !cli.json) {
        rc = follow_logs(&cli, id, flags.err_stream);
        if (rc != JQ_CLI_NO_STREAM) {
            jq_cli_close(&cli);
            return rc;
        }
    }
    job_path(path, sizeof(path), id, cli.json ? "" : flags.err_stream ? "/stderr" : "/stdout");
    jq_cli_resp_init(&r, cli.json ? -1 : STDOUT_FILENO);
    rc = jq_cli_http(&cli, "GET", path, NULL, 0, NULL, &r);
    if (rc == 0 && cli.json)
        rc = jq_cli_print_body(&r);
    jq_cli_resp_cleanup(&r);
    jq_cli_close(&cli);
    return rc;
}
