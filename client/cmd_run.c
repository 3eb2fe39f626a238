/* cmd_run.c: `jobq run` (submit, wait, replay the job's output byte-exact
 * on our stdout/stderr, exit with its exit status) and `jobq submit` (print
 * the new job's id). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

#define JOB_OPTIONS                                                                     \
    "  -t, --timeout D       the job's wall-clock limit: 500ms, 5s, 2m, 1h or milliseconds\n" \
    "  -e, --env K=V         set a variable in the job's environment (repeatable);\n"    \
    "                        --env K passes this shell's value of K\n"              \
    "      --stdin FILE|-    feed FILE (or this process's stdin) to the job (<= 1 MiB)\n" \
    "      --cwd DIR         the job's working directory (absolute, on the server)\n"    \
    "      --priority N      -1000..1000, higher runs first (default 0)\n"             \
    "      --queue NAME      the named queue to run in (default \"default\")\n"        \
    "      --delay D         start no sooner than D from now (the job is scheduled)\n" \
    "      --idempotency-key K  submit at most once under K: a retry gets the same job\n" \
    "      --max-output B    bytes kept per stream, e.g. 65536 or 64k\n"               \
    "      --kill-grace D    delay between SIGTERM and SIGKILL on timeout/cancel\n"     \
    "      --url URL         the server (default $JOBQ_URL, else http://127.0.0.1:8080)\n" \
    "      --json            print the server's JSON\n"                                 \
    "  -h, --help            this help\n"

static const char run_usage[] =
    "usage: jobq run [OPTIONS] [--] CMD [ARGS...]\n"
    "Run CMD on the server, wait for it, print its stdout and stderr here and exit\n"
    "with its exit status (124: timed out, 128+N: killed by signal N, 125: could not\n"
    "start, cancelled, lost or expired). Ctrl-C cancels the job (exit 130).\n" JOB_OPTIONS;

static const char submit_usage[] =
    "usage: jobq submit [OPTIONS] [--] CMD [ARGS...]\n"
    "Queue CMD on the server and print the new job's id (the job with --json).\n" JOB_OPTIONS;

/* POST the spec; *id gets the new job's id, *out (may be NULL) the answer. */
static int post_job(struct jq_cli *cli, const cJSON *spec, int64_t *id, struct jq_cli_resp *out)
{
    char *body = cJSON_PrintUnformatted(spec);
    if (!body) {
        jq_cli_err("out of memory");
        return JQ_CLI_ESERVER;
    }
    int rc = jq_cli_http(cli, "POST", "/v1/jobs", body, 90, NULL, out);
    free(body);
    if (rc == 0 && !jq_cli_int(out->json, "id", id)) {
        jq_cli_err("the server at %s did not answer with a job", cli->url);
        rc = JQ_CLI_ESERVER;
    }
    return rc;
}

/* Copy one stream of the job, raw, to fd. */
static int replay(struct jq_cli *cli, int64_t id, const char *stream, int fd)
{
    char path[96];
    struct jq_cli_resp r;
    snprintf(path, sizeof(path), "/v1/jobs/%lld/%s", (long long)id, stream);
    jq_cli_resp_init(&r, fd);
    int rc = jq_cli_http(cli, "GET", path, NULL, 0, NULL, &r);
    jq_cli_resp_cleanup(&r);
    return rc;
}

static void note_truncated(const cJSON *job, const char *stream)
{
    char flag[32], count[32];
    int64_t all = 0, kept = 0;
    snprintf(flag, sizeof(flag), "%s_truncated", stream);
    snprintf(count, sizeof(count), "%s_bytes", stream);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(job, flag)))
        return;
    jq_cli_int(job, count, &all);
    jq_cli_int(job, "max_output_bytes", &kept);
    jq_cli_err("the job's %s was cut to %lld of %lld bytes (--max-output)", stream, (long long)kept,
               (long long)all);
}

static int print_result(struct jq_cli *cli, const cJSON *job, int64_t id)
{
    int rc = 0;
    if (cli->json) {
        char *s = cJSON_PrintUnformatted(job);
        rc = s && printf("%s\n", s) > 0 && fflush(stdout) == 0 ? 0 : JQ_CLI_ESERVER;
        free(s);
        return rc;
    }
    fflush(stdout);
    if ((rc = replay(cli, id, "stdout", STDOUT_FILENO)) == 0)
        rc = replay(cli, id, "stderr", STDERR_FILENO);
    note_truncated(job, "stdout");
    note_truncated(job, "stderr");
    return rc;
}

/* The output live as the job produces it. Returns 0 (*job: the finished
 * job), JQ_CLI_NO_STREAM (an older server: wait instead) or an exit status
 * (after a stop signal the job is cancelled by jq_cli_wait_job). */
static int run_live(struct jq_cli *cli, int64_t id, cJSON **job)
{
    fflush(stdout);
    int rc = jq_cli_follow_job(cli, id, STDOUT_FILENO, STDERR_FILENO, job);
    if (rc == JQ_CLI_INTERRUPTED) {
        cJSON_Delete(*job);
        return jq_cli_wait_job(cli, id, -1, job); /* sees the signal: cancels, 128+N */
    }
    if (rc == 0) {
        note_truncated(*job, "stdout");
        note_truncated(*job, "stderr");
    }
    return rc;
}

static int run_job(struct jq_cli *cli, const cJSON *spec)
{
    struct jq_cli_resp r;
    cJSON *job = NULL;
    int64_t id = 0;
    jq_cli_catch_stop();
    jq_cli_resp_init(&r, -1);
    int rc = post_job(cli, spec, &id, &r);
    jq_cli_resp_cleanup(&r);
    if (rc == 0 && !cli->json)
        rc = run_live(cli, id, &job);
    if ((rc == 0 && cli->json) || rc == JQ_CLI_NO_STREAM) {
        cJSON_Delete(job);
        rc = jq_cli_wait_job(cli, id, -1, &job);
        if (rc == 0)
            rc = print_result(cli, job, id);
    }
    if (rc == 0)
        rc = jq_cli_job_exit(job);
    cJSON_Delete(job);
    return rc;
}

int jq_cli_cmd_run(int argc, char **argv, const char *url, bool json)
{
    struct jq_cli_common common = {.url = url, .json = json};
    struct jq_cli cli;
    cJSON *spec = NULL;
    int rc = jq_cli_spec_parse(argc, argv, run_usage, &common, &spec);
    if (rc || common.help)
        return rc;
    if ((rc = jq_cli_open(&cli, common.url, common.json)) == 0) {
        cli.idempotency_key = common.idempotency_key;
        rc = run_job(&cli, spec);
        jq_cli_close(&cli);
    }
    cJSON_Delete(spec);
    return rc;
}

int jq_cli_cmd_submit(int argc, char **argv, const char *url, bool json)
{
    struct jq_cli_common common = {.url = url, .json = json};
    struct jq_cli cli;
    struct jq_cli_resp r;
    cJSON *spec = NULL;
    int64_t id = 0;
    int rc = jq_cli_spec_parse(argc, argv, submit_usage, &common, &spec);
    if (rc || common.help)
        return rc;
    jq_cli_resp_init(&r, -1);
    if ((rc = jq_cli_open(&cli, common.url, common.json)) == 0) {
        cli.idempotency_key = common.idempotency_key;
        rc = post_job(&cli, spec, &id, &r);
        jq_cli_close(&cli);
    }
    if (rc == 0 && common.json)
        rc = jq_cli_print_body(&r);
    else if (rc == 0 && (printf("%lld\n", (long long)id) < 0 || fflush(stdout) != 0))
        rc = JQ_CLI_ESERVER;
    jq_cli_resp_cleanup(&r);
    cJSON_Delete(spec);
    return rc;
}
