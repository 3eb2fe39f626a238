/* test_jobs.c: integration tests of running one job through a real jobqd —
 * the documented walk-through, exit codes and signals, timeouts that kill
 * the whole tree, output caps and binary output, stdin, the environment a
 * job sees, and long-polling with ?wait. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const one_worker[] = {"--workers", "1", NULL};

/* GET /v1/jobs/<id>/<stream> serves exactly the kept bytes. */
static void assert_raw(const struct jq_it_server *srv, long long id, const char *stream, const char *want)
{
    char path[64];
    struct jq_it_resp r;
    snprintf(path, sizeof(path), "/v1/jobs/%lld/%s", id, stream);
    jq_it_get(srv, path, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.content_type, "application/octet-stream");
    ASSERT_EQ(r.body_len, strlen(want));
    ASSERT_STREQ(r.body, want);
    jq_it_resp_cleanup(&r);
}

/* The example of docs/api.md, field by field, and its raw output. */
static void walkthrough(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    jq_it_post(&srv, "/v1/jobs",
               "{\"command\":[\"sh\",\"-c\",\"echo hi; echo oops >&2; exit 3\"],\"timeout_ms\":2000}", &r);
    ASSERT_EQ(r.status, 201);
    long long id = jq_it_json_int(r.json, "id", -1);
    char want[64];
    snprintf(want, sizeof(want), "/v1/jobs/%lld", id);
    ASSERT_STREQ(r.location, want);
    ASSERT_STREQ(jq_it_json_str(r.json, "state"), "queued");
    ASSERT_EQ(jq_it_json_int(r.json, "timeout_ms", -1), 2000);
    ASSERT_TRUE(jq_it_json_str(r.json, "created_at") != NULL);
    ASSERT_TRUE(jq_it_json_is_null(r.json, "finished_at"));
    jq_it_resp_cleanup(&r);

    cJSON *job = jq_it_job(&srv, id, 5);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 3);
    ASSERT_TRUE(jq_it_json_is_null(job, "signal"));
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "hi\n");
    ASSERT_STREQ(jq_it_json_str(job, "stderr"), "oops\n");
    ASSERT_EQ(jq_it_json_int(job, "stdout_bytes", -1), 3);
    ASSERT_EQ(jq_it_json_int(job, "stderr_bytes", -1), 5);
    ASSERT_TRUE(!jq_it_json_is_true(job, "stdout_truncated"));
    ASSERT_TRUE(jq_it_json_str(job, "started_at") != NULL);
    ASSERT_TRUE(jq_it_json_str(job, "finished_at") != NULL);
    ASSERT_GE(jq_it_json_int(job, "duration_ms", -1), 0);
    ASSERT_EQ(jq_it_json_int(job, "attempt", -1), 1);
    pid_t workers[8];
    size_t nw = jq_it_workers(&srv, workers, 8);
    long long wpid = jq_it_json_int(job, "worker_pid", -1);
    bool known = false;
    for (size_t i = 0; i < nw && i < 8; i++)
        known = known || workers[i] == (pid_t)wpid;
    ASSERT_TRUE(known);
    cJSON_Delete(job);

    assert_raw(&srv, id, "stdout", "hi\n");
    assert_raw(&srv, id, "stderr", "oops\n");
    jq_it_finish(&srv);
}

static void exit_zero_succeeds(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"exit 0\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 0);
    ASSERT_TRUE(jq_it_json_is_null(job, "kill_reason"));
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void exit_code_fails(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"exit 3\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 3);
    ASSERT_TRUE(jq_it_json_is_null(job, "signal"));
    ASSERT_TRUE(jq_it_json_is_null(job, "signal_name"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void killed_by_signal(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"kill -9 $$\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "signal", -1), 9);
    ASSERT_STREQ(jq_it_json_str(job, "signal_name"), "SIGKILL");
    ASSERT_TRUE(jq_it_json_is_null(job, "exit_code"));
    ASSERT_TRUE(jq_it_json_is_null(job, "kill_reason"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void command_not_found(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"/nonexistent/jq-no-such-program\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 127);
    ASSERT_TRUE(jq_it_json_str(job, "error") != NULL);
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void assert_no_zombies(const struct jq_it_server *srv)
{
    size_t z = 0;
    for (int64_t end = jq_it_now_ms() + 2000; jq_it_now_ms() < end; jq_it_sleep_ms(20))
        if ((z = jq_it_proc_zombies(srv->pid)) == 0)
            return;
    ASSERT_EQ(z, 0);
}

/* A tree that ignores SIGTERM, with children and a grandchild: timed_out
 * soon after the deadline, and no process of it left. */
static void timeout_kills_tree(void)
{
    struct jq_it_server srv;
    char mark[64], body[1024];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, NULL, NULL);
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--ignore-term\",\"--children\",\"2\",\"--grandchild\","
             "\"--sleep-ms\",\"100000\"],\"timeout_ms\":1000,\"kill_grace_ms\":300}",
             jq_it_spawner(), mark);
    int64_t t0 = jq_it_now_ms();
    int64_t id = jq_it_submit(&srv, body);
    jq_it_wait_state(&srv, id, "running", 5);
    ASSERT_GE(jq_it_proc_wait_found(mark, 4, 3000), 4); /* the job, 2 children, child + grandchild */
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    int64_t took = jq_it_now_ms() - t0;
    ASSERT_STREQ(jq_it_json_str(job, "state"), "timed_out");
    ASSERT_STREQ(jq_it_json_str(job, "kill_reason"), "timeout");
    ASSERT_GE(took, 1000);
    ASSERT_TRUE(took < 1000 + 300 + 3000);
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 2000));
    assert_no_zombies(&srv);
    jq_it_finish(&srv);
}

/* A daemonised grandchild (fork, setsid, fork) left its process group;
 * it is still part of the job and must not outlive it. */
static void timeout_kills_daemon(void)
{
    struct jq_it_server srv;
    char mark[64], body[1024];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, NULL, NULL);
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--double-fork\",\"--sleep-ms\",\"100000\"],"
             "\"timeout_ms\":500,\"kill_grace_ms\":200}",
             jq_it_spawner(), mark);
    int64_t id = jq_it_submit(&srv, body);
    ASSERT_GE(jq_it_proc_wait_found(mark, 2, 3000), 2);
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "timed_out");
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 2000));
    assert_no_zombies(&srv);
    jq_it_finish(&srv);
}

/* The shell form: sh -c 'sleep N & sleep N' (N unique to this run). */
static void timeout_shell_background(void)
{
    struct jq_it_server srv;
    char mark[64], body[512];
    unsigned n = 200000u + (unsigned)getpid() % 700000u;
    snprintf(mark, sizeof(mark), "sleep %u", n);
    jq_it_start(&srv, NULL, NULL);
    snprintf(body, sizeof(body),
             "{\"command\":[\"sh\",\"-c\",\"%s & %s\"],\"timeout_ms\":1000,\"kill_grace_ms\":500}", mark, mark);
    int64_t t0 = jq_it_now_ms();
    int64_t id = jq_it_submit(&srv, body);
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "timed_out");
    ASSERT_STREQ(jq_it_json_str(job, "kill_reason"), "timeout");
    ASSERT_TRUE(jq_it_now_ms() - t0 < 5000);
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 2000));
    assert_no_zombies(&srv);
    jq_it_finish(&srv);
}

static void output_truncated(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    char body[512], path[64];
    jq_it_start(&srv, NULL, NULL);
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--bytes\",\"100000\",\"--ebytes\",\"10\"],\"max_output_bytes\":1000}",
             jq_it_spawner());
    int64_t id = jq_it_submit(&srv, body);
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_EQ(jq_it_json_int(job, "stdout_bytes", -1), 100000);
    ASSERT_TRUE(jq_it_json_is_true(job, "stdout_truncated"));
    ASSERT_TRUE(jq_it_json_str(job, "stdout") != NULL);
    ASSERT_EQ(strlen(jq_it_json_str(job, "stdout")), 1000);
    ASSERT_EQ(jq_it_json_int(job, "stderr_bytes", -1), 10);
    ASSERT_TRUE(!jq_it_json_is_true(job, "stderr_truncated"));
    cJSON_Delete(job);
    snprintf(path, sizeof(path), "/v1/jobs/%lld/stdout", (long long)id);
    jq_it_get(&srv, path, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body_len, 1000);
    ASSERT_EQ(strspn(r.body, "x"), 1000);
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Bytes 0x00..0xff are not UTF-8: stdout is null, stdout_base64 holds them;
 * /stdout serves them raw. */
static void binary_output(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    char body[512], path[64], want[400];
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    base64(bytes, sizeof(bytes), want);
    jq_it_start(&srv, NULL, NULL);
    snprintf(body, sizeof(body), "{\"command\":[\"%s\",\"--binary\"]}", jq_it_spawner());
    int64_t id = jq_it_submit(&srv, body);
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_TRUE(jq_it_json_is_null(job, "stdout"));
    ASSERT_STREQ(jq_it_json_str(job, "stdout_base64"), want);
    ASSERT_EQ(jq_it_json_int(job, "stdout_bytes", -1), 256);
    cJSON_Delete(job);
    snprintf(path, sizeof(path), "/v1/jobs/%lld/stdout", (long long)id);
    jq_it_get(&srv, path, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body_len, 256);
    ASSERT_EQ(memcmp(r.body, bytes, 256), 0);
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static void stdin_reaches_job(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"cat\"],\"stdin\":\"hello\"}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "hello");
    ASSERT_EQ(jq_it_json_int(job, "stdin_bytes", -1), 5);
    cJSON_Delete(job);
    job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"cat\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded"); /* EOF at once, no hang */
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* The job sees its own env plus PATH, nothing of jobqd's environment. */
static void env_scrubbed(void)
{
    struct jq_it_server srv;
    static const char *const env[] = {"JQ_CANARY=secret", NULL};
    jq_it_start(&srv, NULL, env);
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"env\"],\"env\":{\"FOO\":\"bar\"}}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    const char *out = jq_it_json_str(job, "stdout");
    ASSERT_TRUE(out != NULL);
    if (strcmp(out, "FOO=bar\nPATH=/usr/local/bin:/usr/bin:/bin\n") != 0 &&
        strcmp(out, "PATH=/usr/local/bin:/usr/bin:/bin\nFOO=bar\n") != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "job environment: \"%s\"", out);
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* ?wait answers as soon as the job ends, not at the deadline. */
static void wait_returns_early(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"sleep\",\"0.3\"]}");
    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_it_job(&srv, id, 30);
    int64_t took = jq_it_now_ms() - t0;
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_TRUE(took < 5000);
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* ?wait on a long job returns at the deadline with the job still running. */
static void wait_deadline_running(void)
{
    struct jq_it_server srv;
    char mark[64], body[512];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, one_worker, NULL);
    snprintf(body, sizeof(body), "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"30000\"]}",
             jq_it_spawner(), mark);
    int64_t id = jq_it_submit(&srv, body);
    jq_it_wait_state(&srv, id, "running", 5);
    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_it_job(&srv, id, 1);
    int64_t took = jq_it_now_ms() - t0;
    ASSERT_STREQ(jq_it_json_str(job, "state"), "running");
    ASSERT_GE(took, 900);
    ASSERT_TRUE(took < 4000);
    ASSERT_TRUE(jq_it_json_is_null(job, "stdout"));
    ASSERT_TRUE(jq_it_json_is_null(job, "finished_at"));
    cJSON_Delete(job);
    jq_it_finish(&srv); /* a running job at shutdown: killed, nothing left */
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 100));
}

static const struct jq_test_case cases[] = {
    {"walkthrough", walkthrough},
    {"exit_zero_succeeds", exit_zero_succeeds},
    {"exit_code_fails", exit_code_fails},
    {"killed_by_signal", killed_by_signal},
    {"command_not_found", command_not_found},
    {"timeout_kills_tree", timeout_kills_tree},
    {"timeout_kills_daemon", timeout_kills_daemon},
    {"timeout_shell_background", timeout_shell_background},
    {"output_truncated", output_truncated},
    {"binary_output", binary_output},
    {"stdin_reaches_job", stdin_reaches_job},
    {"env_scrubbed", env_scrubbed},
    {"wait_returns_early", wait_returns_early},
    {"wait_deadline_running", wait_deadline_running},
};

JQ_TEST_MAIN(cases)
