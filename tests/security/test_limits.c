/* test_limits.c: a job's resource limits — CPU time and file size end it
 * with "limit" named in its result (and counted in /metrics), a memory hog
 * fails while the master and workers live on, a fork bomb is contained
 * (the service answers /healthz within 1 s throughout, the job is killed —
 * at once with limit "procs" where a pids cgroup holds it, at its timeout
 * under RLIMIT_NPROC — nothing is left), and requests cannot ask for more than the server's
 * ceilings. Jobs run as nobody, so this needs root (skips otherwise). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iso_util.h"

#define BOMB_PROCS 32        /* the job's limits.procs */
#define BOMB_SAFETY_CAP 400  /* the spawner's own cap, far above: a broken limit shows, the machine survives */

static const char *const as_nobody[] = {"--run-as", "nobody", NULL};

static void assert_limit(const cJSON *job, const char *limit, int signal)
{
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_STREQ(jq_it_json_str(job, "kill_reason"), "limit");
    ASSERT_STREQ(jq_it_json_str(job, "limit"), limit);
    ASSERT_EQ(jq_it_json_int(job, "signal", 0), signal);
}

/* The value of the /metrics line that starts with prefix, or -1. */
static long long metric(const struct jq_it_server *srv, const char *prefix)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/metrics", &r);
    const char *line = r.body ? strstr(r.body, prefix) : NULL;
    long long v = line ? strtoll(line + strlen(prefix), NULL, 10) : -1;
    jq_it_resp_cleanup(&r);
    return v;
}

static void cpu_and_fsize(void)
{
    iso_require_root();
    struct jq_it_server srv;
    jq_it_start(&srv, as_nobody, NULL);
    cJSON *job = iso_run(&srv, "{\"command\":[\"sh\",\"-c\",\"while :; do :; done\"],\"limits\":{\"cpu_s\":1},"
                               "\"timeout_ms\":20000}", NULL);
    assert_limit(job, "cpu", SIGXCPU);
    ASSERT_GE(jq_it_json_int(job, "cpu_user_ms", 0) + jq_it_json_int(job, "cpu_sys_ms", 0), 500); /* rusage is coarser than the limit */
    cJSON_Delete(job);
    job = iso_run(&srv, "{\"command\":[\"sh\",\"-c\",\"exec head -c 100000 /dev/zero > big\"],"
                        "\"limits\":{\"fsize_bytes\":4096}}", NULL);
    assert_limit(job, "fsize", SIGXFSZ);
    cJSON_Delete(job);
    ASSERT_EQ(metric(&srv, "jobq_kills_total{reason=\"limit\"} "), 2);
    jq_it_finish(&srv);
}

static void memory_hog(void)
{
    iso_require_root();
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", "--limit-memory-bytes", "268435456", "--workers", "2", NULL};
    jq_it_start(&srv, args, NULL);
    pid_t before[2];
    size_t n_before = iso_workers_up(&srv, before, 2);
    ASSERT_EQ(n_before, 2);
    char json[PATH_MAX + 128];
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--alloc\",\"2147483648\"]}", jq_it_spawner());
    cJSON *job = iso_run(&srv, json, NULL);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    const char *limit = jq_it_json_str(job, "limit");
    if (!(limit && strcmp(limit, "memory") == 0)) /* rlimits: the allocation fails inside the job */
        ASSERT_STREQ(jq_it_json_str(job, "stdout"), "alloc failed\n");
    cJSON_Delete(job);
    /* Under the ceiling it works: the limit is the job's, not the machine's. */
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--alloc\",\"16777216\"]}", jq_it_spawner());
    job = iso_run(&srv, json, NULL);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "allocated 16777216\n");
    cJSON_Delete(job);
    pid_t after[4];
    ASSERT_EQ(jq_it_workers(&srv, after, 4), n_before);
    for (size_t i = 0; i < n_before; i++)
        ASSERT_EQ(kill(before[i], 0), 0);
    ASSERT_TRUE(iso_healthz_within(&srv, 1000));
    jq_it_finish(&srv);
}

static void fork_bomb(void)
{
    iso_require_root();
    struct jq_it_server srv;
    jq_it_start(&srv, as_nobody, NULL);
    char marker[64], json[PATH_MAX + 256];
    jq_it_marker(marker, sizeof(marker));
    snprintf(json, sizeof(json),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--forkbomb\",\"%d\"],\"timeout_ms\":3000,"
             "\"kill_grace_ms\":0,\"limits\":{\"procs\":%d}}",
             jq_it_spawner(), marker, BOMB_SAFETY_CAP, BOMB_PROCS);
    int64_t id = jq_it_submit(&srv, json);
    size_t most = 0;
    int64_t end = jq_it_now_ms() + 4000;
    while (jq_it_now_ms() < end) { /* the bomb's whole life and a bit */
        size_t n = jq_it_proc_find(marker, NULL, 0);
        most = n > most ? n : most;
        ASSERT_TRUE(iso_healthz_within(&srv, 1000));
        jq_it_sleep_ms(100);
    }
    printf("fork bomb: at most %zu processes seen (limit %d)\n", most, BOMB_PROCS);
    ASSERT_TRUE(most >= 2);
    ASSERT_TRUE(most <= BOMB_PROCS);
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    char cgroups[512] = "";
    if (iso_job_cgroups(&srv, cgroups, sizeof(cgroups)) && cgroups[0] == 'v') {
        assert_limit(job, "procs", SIGKILL); /* the pids cgroup refused a fork: killed at once */
    } else {
        ASSERT_STREQ(jq_it_json_str(job, "state"), "timed_out"); /* RLIMIT_NPROC: forks fail until the timeout */
        ASSERT_STREQ(jq_it_json_str(job, "limit"), "timeout");
    }
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(marker, 3000));
    job = iso_run(&srv, "{\"command\":[\"sh\",\"-c\",\"echo next\"]}", NULL);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "next\n");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void expect_error(const struct jq_it_server *srv, const char *body, long status, const char *code,
                         const char *names)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/jobs", body, &r);
    JQ_IT_ASSERT_ERROR(&r, status, code);
    if (!strstr(r.body, names))
        JQ_FAIL_AT(__FILE__, __LINE__, "%s: the error does not name %s: %s", body, names, r.body);
    jq_it_resp_cleanup(&r);
}

/* No root needed: this is the API. */
static void limits_validated(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--limit-cpu-s", "10", "--limit-nofile", "64", NULL};
    jq_it_start(&srv, args, NULL);
    expect_error(&srv, "{\"command\":[\"true\"],\"limits\":{\"cpu_s\":11}}", 422, "out_of_range", "limits.cpu_s");
    expect_error(&srv, "{\"command\":[\"true\"],\"limits\":{\"nofile\":65}}", 422, "out_of_range", "limits.nofile");
    expect_error(&srv, "{\"command\":[\"true\"],\"limits\":{\"cpu\":1}}", 400, "unknown_field", "limits.cpu");
    expect_error(&srv, "{\"command\":[\"true\"],\"limits\":{\"procs\":0}}", 400, "invalid_field", "limits.procs");
    expect_error(&srv, "{\"command\":[\"true\"],\"limits\":{\"memory_bytes\":1.5}}", 400, "invalid_field",
                 "limits.memory_bytes");
    expect_error(&srv, "{\"command\":[\"true\"],\"limits\":[]}", 400, "invalid_field", "limits");
    expect_error(&srv, "{\"command\":[\"true\"],\"network\":\"no\"}", 400, "invalid_field", "network");
    /* Defaults are the ceilings; a lower value is kept. */
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"true\"],\"limits\":{\"cpu_s\":3,\"fsize_bytes\":1000}}");
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    const cJSON *limits = cJSON_GetObjectItemCaseSensitive(job, "limits");
    ASSERT_EQ(jq_it_json_int(limits, "cpu_s", -1), 3);
    ASSERT_EQ(jq_it_json_int(limits, "nofile", -1), 64);
    ASSERT_EQ(jq_it_json_int(limits, "fsize_bytes", -1), 1000);
    ASSERT_TRUE(jq_it_json_is_null(limits, "memory_bytes"));
    ASSERT_TRUE(jq_it_json_is_true(job, "network"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"cpu_and_fsize", cpu_and_fsize},
    {"memory_hog", memory_hog},
    {"fork_bomb", fork_bomb},
    {"limits_validated", limits_validated},
};

JQ_TEST_MAIN(cases)
