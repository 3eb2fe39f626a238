/* test_crash_points.c: fault tests 2 and 4 — the deterministic crash
 * points of core/fault.h (they need a build with -DJQ_FAULT_POINTS=ON and
 * skip otherwise).
 *
 * Test 2, the master dies at a point: before the submit's commit (no 201,
 * no row after restart), after it (no 201, the row exists and runs), after
 * a claim (resolved by policy after restart, never vanished, never stuck),
 * during start-up recovery (a second restart completes it), before a
 * completion's commit (resolved, not stuck).
 *
 * Test 4, a worker dies at each step of the channel protocol: after taking
 * its task, with its result half written, with the result marked DONE but
 * "result ready" not posted. JOBQ_FAULT_SKIP=1 lets each worker process
 * serve one job first, so the deaths happen mid-run, again and again (each
 * replacement inherits the point). The queue keeps working, every job ends
 * terminal, a result marked DONE is kept, nothing runs twice. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fault_util.h"

#define ECHO_JOB "{\"command\":[\"sh\",\"-c\",\"echo x >> \\\"$MARKDIR\\\"/%s; echo out-%s\"],\"env\":{\"MARKDIR\":\"%s\"}}"

struct fixture {
    struct jq_it_server srv;
    char markdir[PATH_MAX + 16];
    const char *env[3];
};

static void start_with_point(struct fixture *f, const char *point_env, const char *skip_env)
{
    static const char *const args[] = {"--workers", "2", NULL};
    jq_ft_need_fault_points();
    f->env[0] = point_env;
    f->env[1] = skip_env;
    f->env[2] = NULL;
    jq_it_start(&f->srv, args, f->env);
    snprintf(f->markdir, sizeof(f->markdir), "%s/marks", f->srv.dir);
    ASSERT_EQ(mkdir(f->markdir, 0700), 0);
}

static void job_body(const struct fixture *f, const char *name, char *buf, size_t cap)
{
    if (snprintf(buf, cap, ECHO_JOB, name, name, f->markdir) >= (int)cap)
        JQ_FAIL_AT(__FILE__, __LINE__, "job body too long");
}

static size_t runs_of(const struct fixture *f, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", f->markdir, name);
    return jq_ft_count_lines(path);
}

/* The master killed itself: it died of SIGKILL and took every process it
 * started with it; the database is sound. Then restart without the point. */
static void expect_master_crash_then_restart(struct fixture *f)
{
    int status = 0;
    ASSERT_EQ(jq_it_wait_crash(&f->srv, 3000, &status), 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    jq_ft_assert_db_ok(f->srv.db_path);
    f->srv.env[0] = NULL;
    jq_it_restart(&f->srv);
}

static size_t list_all(const struct fixture *f, int64_t *ids, size_t max)
{
    return jq_ft_list_ids(&f->srv, NULL, ids, max);
}

/* The only job, terminal; returns its state name in st (cap 32). */
static void only_job_terminal(const struct fixture *f, char *st)
{
    int64_t ids[4];
    ASSERT_EQ(list_all(f, ids, 4), 1);
    cJSON *job = jq_ft_wait_terminal(&f->srv, ids[0], 15);
    ASSERT_TRUE(job != NULL);
    snprintf(st, 32, "%s", jq_it_json_str(job, "state"));
    cJSON_Delete(job);
}

static void enqueue_before_commit(void)
{
    struct fixture f;
    char body[1024];
    long status = -1;
    start_with_point(&f, "JOBQ_FAULT_POINT=enqueue.before_commit", NULL);
    job_body(&f, "a", body, sizeof(body));
    ASSERT_EQ(jq_ft_try_submit(&f.srv, body, &status), 0);
    ASSERT_NE(status, 201);
    expect_master_crash_then_restart(&f);
    int64_t ids[4];
    ASSERT_EQ(list_all(&f, ids, 4), 0);
    ASSERT_EQ(runs_of(&f, "a"), 0);
    jq_it_finish(&f.srv);
}

static void submit_after_commit(void)
{
    struct fixture f;
    char body[1024], st[32];
    long status = -1;
    start_with_point(&f, "JOBQ_FAULT_POINT=submit.after_commit", NULL);
    job_body(&f, "a", body, sizeof(body));
    ASSERT_EQ(jq_ft_try_submit(&f.srv, body, &status), 0);
    ASSERT_NE(status, 201);
    expect_master_crash_then_restart(&f);
    only_job_terminal(&f, st); /* on disk: it exists and runs (lost if it was claimed before the crash) */
    ASSERT_TRUE(strcmp(st, "succeeded") == 0 || strcmp(st, "lost") == 0);
    ASSERT_TRUE(runs_of(&f, "a") <= 1);
    if (strcmp(st, "succeeded") == 0)
        ASSERT_EQ(runs_of(&f, "a"), 1);
    jq_it_finish(&f.srv);
}

static void dispatch_after_claim(void)
{
    struct fixture f;
    char body[1024], st[32];
    start_with_point(&f, "JOBQ_FAULT_POINT=dispatch.after_claim", NULL);
    job_body(&f, "a", body, sizeof(body));
    jq_ft_try_submit(&f.srv, body, NULL); /* the 201 races the crash */
    expect_master_crash_then_restart(&f);
    only_job_terminal(&f, st); /* lost under on_lost=fail, succeeded if retried */
    ASSERT_TRUE(strcmp(st, "lost") == 0 || strcmp(st, "succeeded") == 0);
    ASSERT_TRUE(runs_of(&f, "a") <= 1);
    jq_it_finish(&f.srv);
}

static void recover_before_commit(void)
{
    struct fixture f;
    char body[1024], st[32];
    int status = 0;
    start_with_point(&f, "JOBQ_FAULT_POINT=dispatch.after_claim", NULL);
    job_body(&f, "a", body, sizeof(body));
    jq_ft_try_submit(&f.srv, body, NULL);
    ASSERT_EQ(jq_it_wait_crash(&f.srv, 3000, NULL), 0); /* a job is left "running" on disk */
    f.srv.env[0] = "JOBQ_FAULT_POINT=recover.before_commit";
    ASSERT_TRUE(!jq_it_try_restart(&f.srv, &status)); /* dies while recovering */
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pid_t left[16];
    ASSERT_EQ(jq_it_live_descendants(left, 16), 0);
    jq_ft_assert_db_ok(f.srv.db_path);
    f.srv.env[0] = NULL;
    jq_it_restart(&f.srv); /* completes the recovery */
    only_job_terminal(&f, st);
    ASSERT_TRUE(strcmp(st, "lost") == 0 || strcmp(st, "succeeded") == 0);
    ASSERT_TRUE(runs_of(&f, "a") <= 1);
    int64_t running[2];
    ASSERT_EQ(jq_ft_list_ids(&f.srv, "running", running, 2), 0);
    jq_it_finish(&f.srv);
}

static void complete_before_commit(void)
{
    struct fixture f;
    char body[1024], st[32];
    start_with_point(&f, "JOBQ_FAULT_POINT=complete.before_commit", NULL);
    job_body(&f, "a", body, sizeof(body));
    ASSERT_TRUE(jq_ft_try_submit(&f.srv, body, NULL) > 0);
    expect_master_crash_then_restart(&f);
    only_job_terminal(&f, st); /* its result was never committed */
    ASSERT_TRUE(strcmp(st, "lost") == 0 || strcmp(st, "succeeded") == 0);
    ASSERT_EQ(runs_of(&f, "a"), 1); /* it ran once: max_attempts defaults to 1 */
    jq_it_finish(&f.srv);
}

/* ---- test 4: a worker killed at each step of the slot protocol ---- */

#define CHAN_JOBS 12

struct outcome {
    int succeeded, lost, other;
};

static struct outcome run_worker_point(const char *point_env, const char *point_name)
{
    struct fixture f;
    char body[1024], name[16], needle[96];
    int64_t ids[CHAN_JOBS];
    struct outcome o = {0, 0, 0};
    start_with_point(&f, point_env, "JOBQ_FAULT_SKIP=1");
    for (int i = 0; i < CHAN_JOBS; i++) {
        snprintf(name, sizeof(name), "j%d", i);
        job_body(&f, name, body, sizeof(body));
        ids[i] = jq_it_submit(&f.srv, body);
    }
    for (int i = 0; i < CHAN_JOBS; i++) {
        char want[32];
        snprintf(name, sizeof(name), "j%d", i);
        snprintf(want, sizeof(want), "out-%s\n", name);
        cJSON *job = jq_ft_wait_terminal(&f.srv, ids[i], 20);
        ASSERT_TRUE(job != NULL);
        const char *st = jq_it_json_str(job, "state");
        size_t runs = runs_of(&f, name);
        ASSERT_TRUE(runs <= 1); /* never twice */
        if (strcmp(st, "succeeded") == 0) {
            o.succeeded++;
            ASSERT_EQ(runs, 1);
            ASSERT_STREQ(jq_it_json_str(job, "stdout"), want);
        } else if (strcmp(st, "lost") == 0) {
            o.lost++;
        } else {
            o.other++;
            fprintf(stderr, "job %s ended %s\n", name, st);
        }
        cJSON_Delete(job);
    }
    snprintf(needle, sizeof(needle), "fault point %s", point_name);
    size_t deaths = jq_ft_log_count(&f.srv, needle);
    printf("%s: %d succeeded, %d lost, %d other; %zu worker death(s)\n", point_name, o.succeeded, o.lost, o.other,
           deaths);
    ASSERT_GE(deaths, 2);
    ASSERT_TRUE(jq_ft_wait_ready(&f.srv, 3000)); /* the pool is whole again */
    ASSERT_EQ(jq_ft_wait_workers(&f.srv, 2, 3000), 2);
    jq_it_finish(&f.srv);
    return o;
}

static void worker_after_take(void)
{
    struct outcome o = run_worker_point("JOBQ_FAULT_POINT=worker.after_take", "worker.after_take");
    ASSERT_EQ(o.other, 0);
    ASSERT_GE(o.lost, 2);
    ASSERT_GE(o.succeeded, 2);
}

static void finish_half_written(void)
{
    struct outcome o = run_worker_point("JOBQ_FAULT_POINT=chan.finish.half_written", "chan.finish.half_written");
    ASSERT_EQ(o.other, 0);
    ASSERT_GE(o.lost, 2);
    ASSERT_GE(o.succeeded, 2);
}

static void finish_before_post(void)
{
    struct outcome o = run_worker_point("JOBQ_FAULT_POINT=chan.finish.before_post", "chan.finish.before_post");
    ASSERT_EQ(o.succeeded, CHAN_JOBS); /* DONE before the death: kept, never turned into lost */
}

static const struct jq_test_case cases[] = {
    {"enqueue_before_commit", enqueue_before_commit},
    {"submit_after_commit", submit_after_commit},
    {"dispatch_after_claim", dispatch_after_claim},
    {"recover_before_commit", recover_before_commit},
    {"complete_before_commit", complete_before_commit},
    {"worker_after_take", worker_after_take},
    {"finish_half_written", finish_half_written},
    {"finish_before_post", finish_before_post},
};

JQ_TEST_MAIN(cases)
