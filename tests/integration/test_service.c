/* test_service.c: integration tests of jobqd as a process — health
 * endpoints, the command line, graceful stop on SIGTERM/SIGINT, restart on
 * the same database, worker replacement (--max-jobs-per-worker, a worker
 * killed mid-job) and nothing left in /dev/shm. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void health(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    jq_it_get(&srv, "/healthz", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(jq_it_json_str(r.json, "status"), "ok");
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/readyz", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(jq_it_json_str(r.json, "status"), "ready");
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static void cli(void)
{
    char out[8192], err[4096];
    static const char *const help[] = {"--help", NULL}, *const version[] = {"--version", NULL};
    ASSERT_EQ(jq_it_run_jobqd(help, out, sizeof(out), err, sizeof(err)), 0);
    ASSERT_TRUE(strstr(out, "--listen") != NULL && strstr(out, "--port-file") != NULL);
    ASSERT_EQ(jq_it_run_jobqd(version, out, sizeof(out), err, sizeof(err)), 0);
    ASSERT_TRUE(strstr(out, "jobqd") != NULL);

    static const char *const bad[][3] = {
        {"--no-such-flag", NULL, NULL}, {"--workers", "0", NULL},      {"--workers", "many", NULL},
        {"--listen", "nohostport", NULL}, {"--log-level", "loud", NULL}, {"--workers", NULL, NULL},
        {"--max-output-bytes", "-1", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status = jq_it_run_jobqd(bad[i], out, sizeof(out), err, sizeof(err));
        if (status != 2 || strlen(err) == 0)
            JQ_FAIL_AT(__FILE__, __LINE__, "jobqd %s %s: exit %d, stderr '%s' (want 2 and a message)", bad[i][0],
                       bad[i][1] ? bad[i][1] : "", status, err);
    }
}

/* SIGINT stops as gracefully as SIGTERM (exit 0, nothing left). */
static void sigint_stops(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON_Delete(jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"]}"), 10));
    jq_it_stop_with(&srv, SIGINT);
    jq_it_finish(&srv);
}

static void assert_state(const struct jq_it_server *srv, int64_t id, const char *state)
{
    cJSON *job = jq_it_job(srv, id, 0);
    if (!jq_it_json_str(job, "state") || strcmp(jq_it_json_str(job, "state"), state) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "job %lld: want %s: %s", (long long)id, state, cJSON_PrintUnformatted(job));
    cJSON_Delete(job);
}

/* One worker: a finished job, a running one and three queued; SIGTERM;
 * restart on the same database. The finished job is intact, the running
 * one is resolved (not re-run, not left running), the queued ones run. */
static void restart_keeps_jobs(void)
{
    struct jq_it_server srv;
    char mark[64], body[512], want[16];
    static const char *const args[] = {"--workers", "1", "--shutdown-grace-ms", "300", NULL};
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, args, NULL);
    int64_t done = jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"echo kept; echo err >&2; exit 4\"]}");
    cJSON_Delete(jq_it_wait_job(&srv, done, 10));
    snprintf(body, sizeof(body), "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"60000\"]}",
             jq_it_spawner(), mark);
    int64_t running = jq_it_submit(&srv, body);
    jq_it_wait_state(&srv, running, "running", 5);
    ASSERT_GE(jq_it_proc_wait_found(mark, 1, 3000), 1);
    int64_t queued[3];
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"command\":[\"echo\",\"q%d\"]}", i);
        queued[i] = jq_it_submit(&srv, body);
        assert_state(&srv, queued[i], "queued");
    }
    jq_it_stop(&srv);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 100));

    jq_it_restart(&srv);
    cJSON *job = jq_it_job(&srv, done, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 4);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "kept\n");
    ASSERT_STREQ(jq_it_json_str(job, "stderr"), "err\n");
    cJSON_Delete(job);
    for (int i = 0; i < 3; i++) {
        job = jq_it_wait_job(&srv, queued[i], 10);
        snprintf(want, sizeof(want), "q%d\n", i);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
        ASSERT_STREQ(jq_it_json_str(job, "stdout"), want);
        cJSON_Delete(job);
    }
    job = jq_it_job(&srv, running, 0);
    const char *st = jq_it_json_str(job, "state");
    if (!jq_it_state_terminal(st) || strcmp(st, "succeeded") == 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "the job running at shutdown is now: %s", cJSON_PrintUnformatted(job));
    cJSON_Delete(job);
    pid_t pids[4];
    ASSERT_EQ(jq_it_proc_find(mark, pids, 4), 0); /* it did not run again */
    jq_it_finish(&srv);
}

/* --max-jobs-per-worker 2, one worker, 5 jobs: all succeed and at least 3
 * distinct workers ran them. */
static void worker_replaced_after_max_jobs(void)
{
    struct jq_it_server srv;
    static const char *const args[] = {"--workers", "1", "--max-jobs-per-worker", "2", NULL};
    long long pids[5];
    int distinct = 0;
    jq_it_start(&srv, args, NULL);
    for (int i = 0; i < 5; i++) {
        cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"]}"), 10);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
        pids[i] = jq_it_json_int(job, "worker_pid", -1);
        ASSERT_TRUE(pids[i] > 0);
        cJSON_Delete(job);
        bool seen = false;
        for (int k = 0; k < i; k++)
            seen = seen || pids[k] == pids[i];
        distinct += !seen;
    }
    ASSERT_GE(distinct, 3);
    pid_t w[4];
    for (int64_t end = jq_it_now_ms() + 3000; jq_it_workers(&srv, w, 4) != 1 && jq_it_now_ms() < end;)
        jq_it_sleep_ms(20);
    ASSERT_EQ(jq_it_workers(&srv, w, 4), 1);
    jq_it_finish(&srv);
}

static long readyz(const struct jq_it_server *srv)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/readyz", &r);
    long status = r.status;
    jq_it_resp_cleanup(&r);
    return status;
}

/* kill -9 the worker running a job: the job ends lost, its processes are
 * gone, a new worker takes over and runs the next job. */
static void worker_killed_mid_job(void)
{
    struct jq_it_server srv;
    char mark[64], body[512];
    static const char *const args[] = {"--workers", "1", NULL};
    pid_t workers[4];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, args, NULL);
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--children\",\"1\",\"--sleep-ms\",\"60000\"]}",
             jq_it_spawner(), mark);
    int64_t id = jq_it_submit(&srv, body);
    jq_it_wait_state(&srv, id, "running", 5);
    ASSERT_EQ(jq_it_workers(&srv, workers, 4), 1);
    pid_t victim = workers[0];
    ASSERT_GE(jq_it_proc_wait_found(mark, 2, 3000), 2);
    ASSERT_EQ(kill(victim, SIGKILL), 0);

    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_it_wait_job(&srv, id, 5);
    ASSERT_TRUE(jq_it_now_ms() - t0 < 3000);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "lost");
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 2000));
    long status = 0;
    for (int64_t end = jq_it_now_ms() + 5000; (status = readyz(&srv)) != 200 && jq_it_now_ms() < end;)
        jq_it_sleep_ms(50);
    ASSERT_EQ(status, 200);
    /* Ready as soon as the replacement is forked; it shows as a worker in
     * /proc once it has re-executed itself. */
    size_t n = 0;
    for (int64_t end = jq_it_now_ms() + 3000; (n = jq_it_workers(&srv, workers, 4)) != 1 && jq_it_now_ms() < end;)
        jq_it_sleep_ms(20);
    ASSERT_EQ(n, 1);
    ASSERT_NE(workers[0], victim);

    job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"echo\",\"after\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "after\n");
    ASSERT_EQ(jq_it_json_int(job, "worker_pid", -1), workers[0]);
    cJSON_Delete(job);
    ASSERT_EQ(jq_it_proc_zombies(srv.pid), 0);
    jq_it_finish(&srv);
}

/* A server's whole life (jobs, a timeout, a cancel) adds nothing to
 * /dev/shm. */
static void nothing_in_dev_shm(void)
{
    struct jq_it_server srv;
    struct jq_it_names before, after;
    ASSERT_EQ(jq_it_shm_snapshot(&before), 0);
    jq_it_start(&srv, NULL, NULL);
    cJSON_Delete(jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"echo\",\"x\"]}"), 10));
    cJSON_Delete(jq_it_wait_job(
        &srv, jq_it_submit(&srv, "{\"command\":[\"sleep\",\"10\"],\"timeout_ms\":200,\"kill_grace_ms\":0}"), 10));
    jq_it_finish(&srv);
    ASSERT_EQ(jq_it_shm_snapshot(&after), 0);
    ASSERT_EQ(jq_it_names_added(&before, &after, "/dev/shm"), 0);
    jq_it_names_cleanup(&before);
    jq_it_names_cleanup(&after);
}

static const struct jq_test_case cases[] = {
    {"health", health},
    {"cli", cli},
    {"sigint_stops", sigint_stops},
    {"restart_keeps_jobs", restart_keeps_jobs},
    {"worker_replaced_after_max_jobs", worker_replaced_after_max_jobs},
    {"worker_killed_mid_job", worker_killed_mid_job},
    {"nothing_in_dev_shm", nothing_in_dev_shm},
};

JQ_TEST_MAIN(cases)
