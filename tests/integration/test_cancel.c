/* test_cancel.c: integration tests of DELETE /v1/jobs/{id} — a queued job
 * is cancelled at once and never runs, a running job's whole tree is killed,
 * a finished job answers 409, an unknown one 404. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const char *const one_worker[] = {"--workers", "1", NULL};

static cJSON *cancel(const struct jq_it_server *srv, int64_t id, long want_status)
{
    char path[64];
    struct jq_it_resp r;
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    jq_it_delete(srv, path, &r);
    if (r.status != want_status || !cJSON_IsObject(r.json))
        JQ_FAIL_AT(__FILE__, __LINE__, "DELETE %s: want %ld, got %ld: %.500s", path, want_status, r.status,
                   r.body);
    cJSON *job = r.json;
    r.json = NULL;
    jq_it_resp_cleanup(&r);
    return job;
}

/* Start a job that sleeps with a marker; return its id once it runs. */
static int64_t start_sleeper(const struct jq_it_server *srv, const char *mark)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--children\",\"1\",\"--sleep-ms\",\"30000\"],"
             "\"kill_grace_ms\":500}",
             jq_it_spawner(), mark);
    int64_t id = jq_it_submit(srv, body);
    jq_it_wait_state(srv, id, "running", 5);
    ASSERT_GE(jq_it_proc_wait_found(mark, 2, 3000), 2);
    return id;
}

/* One worker busy: the second job waits in the queue; cancelling it is
 * immediate and it never starts. */
static void cancel_queued(void)
{
    struct jq_it_server srv;
    char mark[64];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, one_worker, NULL);
    int64_t first = start_sleeper(&srv, mark);
    int64_t second = jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"echo ran\"]}");
    cJSON *job = jq_it_job(&srv, second, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "queued");
    cJSON_Delete(job);

    job = cancel(&srv, second, 200);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "cancelled");
    cJSON_Delete(job);
    job = cancel(&srv, first, 200);
    cJSON_Delete(job);
    jq_it_sleep_ms(300); /* the worker is free now: a cancelled job must not start */
    job = jq_it_job(&srv, second, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "cancelled");
    ASSERT_TRUE(jq_it_json_is_null(job, "started_at"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* A running job: killed with its child, cancelled within a couple of
 * seconds, kill_reason cancel; the worker then runs the next job. */
static void cancel_running(void)
{
    struct jq_it_server srv;
    char mark[64];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, one_worker, NULL);
    int64_t id = start_sleeper(&srv, mark);
    int64_t t0 = jq_it_now_ms();
    cJSON *job = cancel(&srv, id, 200);
    ASSERT_TRUE(jq_it_now_ms() - t0 < 3000);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "cancelled");
    ASSERT_STREQ(jq_it_json_str(job, "kill_reason"), "cancel");
    ASSERT_TRUE(jq_it_json_str(job, "finished_at") != NULL);
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 2000));
    job = jq_it_job(&srv, id, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "cancelled");
    cJSON_Delete(job);
    job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"echo\",\"next\"]}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "next\n");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void cancel_finished_conflict(void)
{
    struct jq_it_server srv;
    char path[64];
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    cJSON_Delete(jq_it_wait_job(&srv, id, 10));
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    jq_it_delete(&srv, path, &r);
    JQ_IT_ASSERT_ERROR(&r, 409, "job_finished");
    jq_it_resp_cleanup(&r);
    cJSON *job = jq_it_job(&srv, id, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded"); /* unchanged */
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void cancel_unknown(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    jq_it_delete(&srv, "/v1/jobs/999999", &r);
    JQ_IT_ASSERT_ERROR(&r, 404, "not_found");
    jq_it_resp_cleanup(&r);
    jq_it_delete(&srv, "/v1/jobs/abc", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"cancel_queued", cancel_queued},
    {"cancel_running", cancel_running},
    {"cancel_finished_conflict", cancel_finished_conflict},
    {"cancel_unknown", cancel_unknown},
};

JQ_TEST_MAIN(cases)
