/* test_worker_death.c: fault test 3 — kill -9 of a worker running a long
 * job whose tree includes a daemonised grandchild (setsid, double fork, so
 * it sits outside the job's process group as a child of the worker). The
 * job's leader dies by its PDEATHSIG; the master, a subreaper, gets the
 * orphans and kills them. Within 1 s: the job is lost (or retried), its
 * whole tree is gone, the pool is full again; a job running on the other
 * worker meanwhile is unaffected. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fault_util.h"

/* The worker whose child carries marker (the job's leader), or 0. */
static pid_t worker_running(const struct jq_it_server *srv, const char *marker)
{
    pid_t workers[8], procs[64];
    size_t nw = jq_it_workers(srv, workers, 8), np = jq_it_proc_find(marker, procs, 64);
    for (size_t i = 0; i < np && i < 64; i++)
        for (size_t k = 0; k < nw && k < 8; k++)
            if (jq_it_proc_ppid(procs[i]) == workers[k])
                return workers[k];
    return 0;
}

static void worker_kill9(void)
{
    static const char *const args[] = {"--workers", "2", NULL};
    struct jq_it_server srv;
    char base[64], mark[80], other_mark[80], body[1024];
    jq_it_marker(base, sizeof(base));
    snprintf(mark, sizeof(mark), "%s-victim", base);
    snprintf(other_mark, sizeof(other_mark), "%s-other", base);
    jq_it_start(&srv, args, NULL);
    ASSERT_TRUE(jq_ft_wait_ready(&srv, 5000));
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--children\",\"1\",\"--grandchild\",\"--double-fork\","
             "\"--sleep-ms\",\"100000\"]}",
             jq_it_spawner(), mark);
    int64_t victim_job = jq_it_submit(&srv, body);
    ASSERT_EQ(jq_it_proc_wait_found(mark, 5, 5000), 5); /* leader, child, child + grandchild, daemon */
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"1500\",\"--print\",\"other-ok\"]}",
             jq_it_spawner(), other_mark);
    int64_t other_job = jq_it_submit(&srv, body);
    ASSERT_EQ(jq_it_proc_wait_found(other_mark, 1, 5000), 1);
    pid_t victim = worker_running(&srv, mark), survivor = worker_running(&srv, other_mark);
    ASSERT_TRUE(victim > 0 && survivor > 0 && victim != survivor);

    ASSERT_EQ(kill(victim, SIGKILL), 0);
    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_ft_wait_terminal(&srv, victim_job, 5);
    int64_t resolved_ms = jq_it_now_ms() - t0;
    ASSERT_TRUE(job != NULL);
    char st[32];
    snprintf(st, sizeof(st), "%s", jq_it_json_str(job, "state"));
    ASSERT_TRUE(strcmp(st, "lost") == 0 || jq_it_json_int(job, "max_attempts", 1) > 1);
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 1000));
    int64_t gone_ms = jq_it_now_ms() - t0;
    ASSERT_TRUE(jq_ft_wait_ready(&srv, 1000));
    int64_t ready_ms = jq_it_now_ms() - t0;
    pid_t workers[4];
    /* The replacement is listed once it has exec'ed (before, it looks like the master). */
    ASSERT_EQ(jq_ft_wait_workers(&srv, 2, 1000), 2);
    ASSERT_EQ(jq_it_workers(&srv, workers, 4), 2);
    ASSERT_TRUE(workers[0] != victim && workers[1] != victim);
    printf("worker_kill9: job %s after %lld ms, tree gone after %lld ms, pool ready after %lld ms\n", st,
           (long long)resolved_ms, (long long)gone_ms, (long long)ready_ms);
    ASSERT_TRUE(resolved_ms < 1000 && gone_ms < 1000 && ready_ms < 1000);

    job = jq_ft_wait_terminal(&srv, other_job, 10); /* unaffected */
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "other-ok\n");
    ASSERT_EQ(jq_it_json_int(job, "worker_pid", 0), survivor);
    cJSON_Delete(job);
    ASSERT_EQ(jq_it_proc_zombies(srv.pid), 0);
    jq_it_finish(&srv);
}

/* TEST-MATRIX D12: a worker stopped (SIGSTOP) while its job runs cannot
 * enforce the job's timeout; the master's watchdog SIGKILLs it a few
 * seconds after the timeout and kill grace, the job is lost, its tree
 * gone, and a new worker runs the next job. */
static void stopped_worker_killed(void)
{
    static const char *const args[] = {"--workers", "1", NULL};
    struct jq_it_server srv;
    char mark[64], body[1024];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, args, NULL);
    ASSERT_TRUE(jq_ft_wait_ready(&srv, 5000));
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--children\",\"1\",\"--sleep-ms\",\"100000\"],"
             "\"timeout_ms\":1500,\"kill_grace_ms\":0}", jq_it_spawner(), mark);
    int64_t id = jq_it_submit(&srv, body);
    ASSERT_EQ(jq_it_proc_wait_found(mark, 2, 5000), 2);
    pid_t stopped = worker_running(&srv, mark);
    ASSERT_TRUE(stopped > 0);
    ASSERT_EQ(kill(stopped, SIGSTOP), 0);
    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_ft_wait_terminal(&srv, id, 15);
    int64_t resolved_ms = jq_it_now_ms() - t0;
    ASSERT_TRUE(job != NULL);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "lost");
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 2000));
    ASSERT_TRUE(jq_ft_wait_workers(&srv, 1, 2000) == 1);
    pid_t now_serving;
    ASSERT_EQ(jq_it_workers(&srv, &now_serving, 1), 1);
    ASSERT_TRUE(now_serving != stopped);
    cJSON *next = jq_ft_wait_terminal(&srv, jq_it_submit(&srv, "{\"command\":[\"echo\",\"next\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(next, "stdout"), "next\n");
    cJSON_Delete(next);
    printf("stopped_worker_killed: job lost %lld ms after the worker was stopped (timeout 1500 ms)\n",
           (long long)resolved_ms);
    ASSERT_EQ(jq_it_proc_zombies(srv.pid), 0);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"worker_kill9", worker_kill9},
    {"stopped_worker_killed", stopped_worker_killed},
};

JQ_TEST_MAIN(cases)
