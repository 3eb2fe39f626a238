/* test_dispatch.c: jobs claimed ahead (service/dispatch.c). With two
 * workers, a batch [long A, short B, long C, D]: A and B start; B ends in
 * a moment, so the collector claims ahead: C goes to B's worker and D waits
 * in the ready list, `running` in the store with no process. Such a job
 *  - is cancelled like a queued one (200 cancelled, never runs), not
 *    answered 409 as if it had finished;
 *  - goes back to the queue when the service stops, without an attempt
 *    counted or a lost attempt recorded, and runs once after a restart.
 * And a result too big to copy out keeps its slot until it is committed. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const char *const two_workers[] = {"--workers", "2", NULL};

/* Submit the batch; return D's id once C runs (D is then claimed ahead). */
static int64_t submit_with_one_ahead(const struct jq_it_server *srv, const char *mark)
{
    char body[1024];
    struct jq_it_resp r;
    snprintf(body, sizeof body,
             "{\"jobs\":[{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"30000\"],\"kill_grace_ms\":100},"
             "{\"command\":[\"true\"]},"
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"30000\"],\"kill_grace_ms\":100},"
             "{\"command\":[\"sh\",\"-c\",\"echo ran\"]}]}",
             jq_it_spawner(), mark, jq_it_spawner(), mark);
    jq_it_post(srv, "/v1/jobs", body, &r);
    ASSERT_EQ(r.status, 201);
    cJSON *jobs = cJSON_GetObjectItem(r.json, "jobs");
    ASSERT_EQ(cJSON_GetArraySize(jobs), 4);
    int64_t d = jq_it_json_int(cJSON_GetArrayItem(jobs, 3), "id", 0);
    jq_it_resp_cleanup(&r);
    ASSERT_GE(jq_it_proc_wait_found(mark, 2, 5000), 2); /* A and C run */
    jq_it_wait_state(srv, d, "running", 5);              /* D: claimed, in no worker */
    return d;
}

static void claimed_ahead_cancel(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    char mark[64], path[64];
    jq_it_marker(mark, sizeof mark);
    jq_it_start(&srv, two_workers, NULL);
    int64_t d = submit_with_one_ahead(&srv, mark);
    snprintf(path, sizeof path, "/v1/jobs/%lld", (long long)d);
    jq_it_delete(&srv, path, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(jq_it_json_str(r.json, "state"), "cancelled");
    jq_it_resp_cleanup(&r);
    jq_it_sleep_ms(300); /* nothing may start it now */
    cJSON *job = jq_it_job(&srv, d, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "cancelled");
    ASSERT_TRUE(jq_it_json_is_null(job, "exit_code"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void claimed_ahead_requeued_at_stop(void)
{
    struct jq_it_server srv;
    char mark[64];
    jq_it_marker(mark, sizeof mark);
    jq_it_start(&srv, two_workers, NULL);
    int64_t d = submit_with_one_ahead(&srv, mark);
    jq_it_stop(&srv);
    jq_it_restart(&srv);
    cJSON *job = jq_it_wait_job(&srv, d, 20);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_EQ(jq_it_json_int(job, "attempt", 0), 1);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(job, "attempts")), 1);
    ASSERT_STREQ(jq_it_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(job, "attempts"), 0), "state"),
                 "succeeded");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* A result too big to copy out of its slot (200 kB of stdout, over the
 * collector's 64 KiB) is stored straight from the slot, which is freed only
 * after the commit: it is stored whole, and the jobs queued behind it on
 * the one worker still run (with short and with long jobs before them). */
static void big_result_then_next(void)
{
    static const char *const one_worker[] = {"--workers", "1", NULL};
    struct jq_it_server srv;
    struct jq_it_resp r;
    char body[1024];
    jq_it_start(&srv, one_worker, NULL);
    snprintf(body, sizeof body,
             "{\"jobs\":[{\"command\":[\"%s\",\"--bytes\",\"200000\"]},{\"command\":[\"true\"]},"
             "{\"command\":[\"%s\",\"--sleep-ms\",\"150\",\"--bytes\",\"100000\"]},{\"command\":[\"true\"]}]}",
             jq_it_spawner(), jq_it_spawner());
    jq_it_post(&srv, "/v1/jobs", body, &r);
    ASSERT_EQ(r.status, 201);
    cJSON *jobs = cJSON_GetObjectItem(r.json, "jobs");
    for (int i = 0; i < 4; i++) {
        cJSON *job = jq_it_wait_job(&srv, jq_it_json_int(cJSON_GetArrayItem(jobs, i), "id", 0), 20);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
        if (i == 0 || i == 2) {
            const char *out = jq_it_json_str(job, "stdout");
            ASSERT_TRUE(out != NULL);
            ASSERT_EQ(strlen(out), i == 0 ? 200000 : 100000);
        }
        cJSON_Delete(job);
    }
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"big_result_then_next", big_result_then_next},
    {"claimed_ahead_cancel", claimed_ahead_cancel},
    {"claimed_ahead_requeued_at_stop", claimed_ahead_requeued_at_stop},
};

JQ_TEST_MAIN(cases)
