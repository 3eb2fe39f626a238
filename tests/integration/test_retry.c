/* test_retry.c: integration tests of the crash policy and retries, on the
 * real jobqd — retry_on exit codes and "timeout", backoff visible as
 * retry_wait, a worker SIGKILLed mid-job (on_lost retry / fail), the master
 * SIGKILLed and restarted, and a graceful stop whose grace runs out. Every
 * job appends a line to its own file in the case's temp dir (passed through
 * the job's env as F), so the tests count real executions. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Submit sh -c "echo x >> $F; <script>" with F = <dir>/<tag>, plus the
 * extra JSON members in extra (starting with a comma, or ""). */
static int64_t submit_counted(const struct jq_it_server *srv, const char *tag, const char *script,
                              const char *extra)
{
    char body[PATH_MAX + 2048];
    snprintf(body, sizeof(body), "{\"command\":[\"sh\",\"-c\",\"echo x >> $F; %s\"],\"env\":{\"F\":\"%s/%s\"}%s}",
             script, srv->dir, tag, extra);
    return jq_it_submit(srv, body);
}

/* Times the job with this tag has started. */
static int runs(const struct jq_it_server *srv, const char *tag)
{
    char path[PATH_MAX + 64], line[16];
    int n = 0;
    snprintf(path, sizeof(path), "%s/%s", srv->dir, tag);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        n++;
    fclose(f);
    return n;
}

/* Poll until the job with tag has started n times (within max_ms). */
static void wait_runs(const struct jq_it_server *srv, const char *tag, int n, int max_ms)
{
    int64_t end = jq_it_now_ms() + max_ms;
    while (runs(srv, tag) < n && jq_it_now_ms() < end)
        jq_it_sleep_ms(20);
    if (runs(srv, tag) < n)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s started %d times, want %d", tag, runs(srv, tag), n);
}

/* attempts[i] of a job's JSON. */
static const cJSON *attempt_at(const cJSON *job, int i)
{
    const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(job, "attempts"), i);
    if (!a)
        JQ_FAIL_AT(__FILE__, __LINE__, "no attempts[%d] in %s", i, cJSON_PrintUnformatted(job));
    return a;
}

static void expect_history(const cJSON *job, int n, const char *const *states)
{
    const cJSON *arr = cJSON_GetObjectItem(job, "attempts");
    if (cJSON_GetArraySize(arr) != n)
        JQ_FAIL_AT(__FILE__, __LINE__, "want %d attempts: %s", n, cJSON_PrintUnformatted(job));
    for (int i = 0; i < n; i++) {
        const cJSON *a = attempt_at(job, i);
        ASSERT_EQ(jq_it_json_int(a, "attempt", -1), i + 1);
        ASSERT_STREQ(jq_it_json_str(a, "state"), states[i]);
        ASSERT_TRUE(jq_it_json_str(a, "started_at") != NULL && jq_it_json_str(a, "finished_at") != NULL);
    }
}

/* exit 3 with retry_on [3], max_attempts 3: three runs, failed, 3 attempts. */
static void exit_code_retried(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    int64_t id = submit_counted(&srv, "a", "exit 3", ",\"retry_on\":[3],\"max_attempts\":3,\"backoff_ms\":0");
    int64_t other = submit_counted(&srv, "b", "exit 4", ",\"retry_on\":[3],\"backoff_ms\":0");
    cJSON *job = jq_it_wait_job(&srv, id, 20);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 3);
    ASSERT_EQ(jq_it_json_int(job, "attempt", -1), 3);
    ASSERT_EQ(jq_it_json_int(job, "max_attempts", -1), 3);
    static const char *const failed[] = {"failed", "failed", "failed"};
    expect_history(job, 3, failed);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(jq_it_json_int(attempt_at(job, i), "exit_code", -1), 3);
        ASSERT_TRUE(jq_it_json_int(attempt_at(job, i), "worker_pid", -1) > 0);
    }
    cJSON_Delete(job);
    ASSERT_EQ(runs(&srv, "a"), 3);
    job = jq_it_wait_job(&srv, other, 20); /* exit 4 is not listed: one run */
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "attempt", -1), 1);
    cJSON_Delete(job);
    ASSERT_EQ(runs(&srv, "b"), 1);
    jq_it_finish(&srv);
}

/* retry_on ["timeout"]: the first run times out, the second succeeds. */
static void timeout_retried(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    int64_t id = submit_counted(&srv, "t", "[ $(wc -l < $F) -ge 2 ] || sleep 30",
                                ",\"retry_on\":[\"timeout\"],\"timeout_ms\":300,\"kill_grace_ms\":0,"
                                "\"backoff_ms\":0");
    cJSON *job = jq_it_wait_job(&srv, id, 20);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    static const char *const states[] = {"timed_out", "succeeded"};
    expect_history(job, 2, states);
    ASSERT_STREQ(jq_it_json_str(attempt_at(job, 0), "kill_reason"), "timeout");
    cJSON_Delete(job);
    ASSERT_EQ(runs(&srv, "t"), 2);
    jq_it_finish(&srv);
}

/* A backoff shows as retry_wait with next_attempt_at, then the job runs. */
static void backoff_visible(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    int64_t id = submit_counted(&srv, "w", "[ $(wc -l < $F) -ge 2 ] || exit 3",
                                ",\"retry_on\":[3],\"backoff_ms\":1500,\"backoff_max_ms\":1500");
    wait_runs(&srv, "w", 1, 5000);
    cJSON *job = NULL;
    for (int64_t end = jq_it_now_ms() + 5000; jq_it_now_ms() < end; jq_it_sleep_ms(20)) {
        cJSON_Delete(job);
        job = jq_it_job(&srv, id, 0);
        if (strcmp(jq_it_json_str(job, "state"), "running") != 0)
            break;
    }
    int64_t seen_at = jq_it_now_ms();
    ASSERT_STREQ(jq_it_json_str(job, "state"), "retry_wait");
    ASSERT_TRUE(jq_it_json_str(job, "next_attempt_at") != NULL);
    ASSERT_EQ(jq_it_json_int(job, "attempt", -1), 1);
    static const char *const first[] = {"failed"};
    expect_history(job, 1, first);
    cJSON_Delete(job);
    ASSERT_EQ(runs(&srv, "w"), 1);
    /* It is listed as retry_wait too. */
    struct jq_it_resp r;
    jq_it_get(&srv, "/v1/jobs?state=retry_wait", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(strstr(r.body, "\"retry_wait\"") != NULL);
    jq_it_resp_cleanup(&r);
    job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_TRUE(jq_it_json_is_null(job, "next_attempt_at"));
    ASSERT_TRUE(jq_it_now_ms() - seen_at < 3000); /* woken at run_at, not by chance */
    cJSON_Delete(job);
    ASSERT_EQ(runs(&srv, "w"), 2);
    jq_it_finish(&srv);
}

/* kill -9 the only worker while the job runs; its pid. */
static pid_t kill_worker_mid_job(const struct jq_it_server *srv, const char *tag)
{
    pid_t workers[4];
    wait_runs(srv, tag, 1, 5000);
    ASSERT_EQ(jq_it_workers(srv, workers, 4), 1);
    ASSERT_EQ(kill(workers[0], SIGKILL), 0);
    return workers[0];
}

/* on_lost retry: the job runs again (on a new worker) and succeeds. */
static void worker_killed_retry(void)
{
    struct jq_it_server srv;
    static const char *const args[] = {"--workers", "1", NULL};
    jq_it_start(&srv, args, NULL);
    int64_t id = submit_counted(&srv, "k", "[ $(wc -l < $F) -ge 2 ] || sleep 60",
                                ",\"on_lost\":\"retry\",\"backoff_ms\":100");
    pid_t killed = kill_worker_mid_job(&srv, "k");
    cJSON *job = jq_it_wait_job(&srv, id, 15);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    static const char *const states[] = {"lost", "succeeded"};
    expect_history(job, 2, states);
    ASSERT_EQ(jq_it_json_int(attempt_at(job, 0), "worker_pid", -1), killed);
    ASSERT_TRUE(jq_it_json_int(attempt_at(job, 1), "worker_pid", -1) > 0);
    ASSERT_EQ(jq_it_json_int(job, "max_attempts", -1), 3);
    cJSON_Delete(job);
    ASSERT_EQ(runs(&srv, "k"), 2);
    jq_it_finish(&srv);
}

/* on_lost fail (the default): lost, one run. */
static void worker_killed_fail(void)
{
    struct jq_it_server srv;
    static const char *const args[] = {"--workers", "1", NULL};
    jq_it_start(&srv, args, NULL);
    int64_t id = submit_counted(&srv, "f", "sleep 60", ",\"on_lost\":\"fail\"");
    kill_worker_mid_job(&srv, "f");
    cJSON *job = jq_it_wait_job(&srv, id, 15);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "lost");
    static const char *const states[] = {"lost"};
    expect_history(job, 1, states);
    cJSON_Delete(job);
    jq_it_sleep_ms(300);
    ASSERT_EQ(runs(&srv, "f"), 1);
    jq_it_finish(&srv);
}

/* kill -9 the master with two running jobs; after restart the on_lost=retry
 * one runs again at once and succeeds, the on_lost=fail one is lost. */
static void master_killed(void)
{
    struct jq_it_server srv;
    static const char *const args[] = {"--workers", "2", NULL};
    jq_it_start(&srv, args, NULL);
    int64_t retry = submit_counted(&srv, "r", "[ $(wc -l < $F) -ge 2 ] || sleep 60",
                                   ",\"on_lost\":\"retry\",\"backoff_ms\":3600000");
    int64_t fail = submit_counted(&srv, "l", "sleep 60", "");
    wait_runs(&srv, "r", 1, 5000);
    wait_runs(&srv, "l", 1, 5000);
    ASSERT_EQ(jq_it_kill9(&srv, 3000), 0);
    jq_it_restart(&srv);
    cJSON *job = jq_it_wait_job(&srv, retry, 15); /* no backoff after a master crash */
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    static const char *const states[] = {"lost", "succeeded"};
    expect_history(job, 2, states);
    cJSON_Delete(job);
    job = jq_it_wait_job(&srv, fail, 5);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "lost");
    static const char *const lost[] = {"lost"};
    expect_history(job, 1, lost);
    cJSON_Delete(job);
    ASSERT_EQ(runs(&srv, "r"), 2);
    ASSERT_EQ(runs(&srv, "l"), 1);
    jq_it_finish(&srv);
}

static bool log_has(const struct jq_it_server *srv, const char *needle)
{
    static char buf[1 << 20];
    FILE *f = fopen(srv->log_path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

/* SIGTERM with --shutdown-grace-ms 500 and two jobs that outlive it: both
 * are resolved at shutdown (kill_reason shutdown), nothing is left running
 * for the next start to recover; the retry one runs again after restart. */
static void graceful_stop(void)
{
    struct jq_it_server srv;
    static const char *const args[] = {"--workers", "2", "--shutdown-grace-ms", "500", NULL};
    jq_it_start(&srv, args, NULL);
    int64_t retry = submit_counted(&srv, "r", "[ $(wc -l < $F) -ge 2 ] || sleep 60",
                                   ",\"on_lost\":\"retry\",\"backoff_ms\":3600000");
    int64_t fail = submit_counted(&srv, "l", "sleep 60", "");
    wait_runs(&srv, "r", 1, 5000);
    wait_runs(&srv, "l", 1, 5000);
    int64_t t0 = jq_it_now_ms();
    jq_it_stop(&srv); /* asserts exit 0 and no process left */
    ASSERT_TRUE(jq_it_now_ms() - t0 < 5000);
    jq_it_restart(&srv);
    cJSON *job = jq_it_wait_job(&srv, retry, 15);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    static const char *const states[] = {"lost", "succeeded"};
    expect_history(job, 2, states);
    ASSERT_STREQ(jq_it_json_str(attempt_at(job, 0), "kill_reason"), "shutdown");
    cJSON_Delete(job);
    job = jq_it_wait_job(&srv, fail, 5);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "lost");
    ASSERT_STREQ(jq_it_json_str(job, "kill_reason"), "shutdown");
    cJSON_Delete(job);
    /* Recovery found nothing running: the stop had resolved every job. */
    ASSERT_TRUE(!log_has(&srv, "were running when the service last stopped"));
    ASSERT_EQ(runs(&srv, "r"), 2);
    ASSERT_EQ(runs(&srv, "l"), 1);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"exit_code_retried", exit_code_retried},
    {"timeout_retried", timeout_retried},
    {"backoff_visible", backoff_visible},
    {"worker_killed_retry", worker_killed_retry},
    {"worker_killed_fail", worker_killed_fail},
    {"master_killed", master_killed},
    {"graceful_stop", graceful_stop},
};

JQ_TEST_MAIN(cases)
