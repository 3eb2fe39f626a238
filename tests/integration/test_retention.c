/* test_retention.c: retention on the real jobqd — DELETE ?purge=true of a
 * finished job (and 409 / 404 / 400 around it, its idempotency key freed),
 * --retention purging finished jobs by a timer while unfinished ones stay,
 * the database (and WAL) not growing under repeated load, the sizes in
 * /v1/stats, and the flag's parsing. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void expect_status(const struct jq_it_server *srv, const char *method, const char *path, long status)
{
    struct jq_it_resp r;
    ASSERT_EQ(jq_it_request(srv, method, path, NULL, 0, NULL, &r), 0);
    if (r.status != status)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s %s: want %ld, got %ld %s", method, path, status, r.status, r.body);
    jq_it_resp_cleanup(&r);
}

static void purge_via_delete(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    char path[64];
    const char *keyed[] = {"Content-Type: application/json", "Idempotency-Key: k", NULL};
    jq_it_start(&srv, NULL, NULL);
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/jobs", "{\"command\":[\"echo\",\"x\"]}", SIZE_MAX, keyed, &r), 0);
    ASSERT_EQ(r.status, 201);
    int64_t id = jq_it_json_int(r.json, "id", 0);
    jq_it_resp_cleanup(&r);
    cJSON_Delete(jq_it_wait_job(&srv, id, 10));
    snprintf(path, sizeof(path), "/v1/jobs/%lld?purge=maybe", (long long)id);
    jq_it_delete(&srv, path, &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    snprintf(path, sizeof(path), "/v1/jobs/%lld?purge=true", (long long)id);
    jq_it_delete(&srv, path, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(jq_it_json_int(r.json, "id", 0), id);
    ASSERT_TRUE(jq_it_json_is_true(r.json, "purged"));
    jq_it_resp_cleanup(&r);
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    expect_status(&srv, "GET", path, 404);
    snprintf(path, sizeof(path), "/v1/jobs/%lld/stdout", (long long)id);
    expect_status(&srv, "GET", path, 404);
    snprintf(path, sizeof(path), "/v1/jobs/%lld?purge=true", (long long)id);
    expect_status(&srv, "DELETE", path, 404);
    /* The key went with the job: another body under it is a new job. */
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/jobs", "{\"command\":[\"true\"]}", SIZE_MAX, keyed, &r), 0);
    ASSERT_EQ(r.status, 201);
    jq_it_resp_cleanup(&r);
    /* Not finished: 409, and it stays. */
    expect_status(&srv, "POST", "/v1/queues/held/pause", 200);
    int64_t queued = jq_it_submit(&srv, "{\"command\":[\"true\"],\"queue\":\"held\"}");
    snprintf(path, sizeof(path), "/v1/jobs/%lld?purge=true", (long long)queued);
    jq_it_delete(&srv, path, &r);
    JQ_IT_ASSERT_ERROR(&r, 409, "job_not_finished");
    jq_it_resp_cleanup(&r);
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)queued);
    expect_status(&srv, "GET", path, 200);
    jq_it_finish(&srv);
}

/* Wait (bounded) until GET of job id is 404. */
static void wait_purged(const struct jq_it_server *srv, int64_t id, int max_ms)
{
    char path[48];
    struct jq_it_resp r;
    long status = 0;
    int64_t end = jq_it_now_ms() + max_ms;
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    while (status != 404 && jq_it_now_ms() < end) {
        jq_it_get(srv, path, &r);
        status = r.status;
        jq_it_resp_cleanup(&r);
        if (status != 404)
            jq_it_sleep_ms(50);
    }
    if (status != 404)
        JQ_FAIL_AT(__FILE__, __LINE__, "job %lld not purged within %d ms", (long long)id, max_ms);
}

static void retention_purges_finished(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--retention", "1s", NULL};
    char path[48];
    int64_t ids[5];
    jq_it_start(&srv, args, NULL);
    expect_status(&srv, "POST", "/v1/queues/held/pause", 200);
    int64_t held = jq_it_submit(&srv, "{\"command\":[\"true\"],\"queue\":\"held\"}");
    int64_t later = jq_it_submit(&srv, "{\"command\":[\"true\"],\"delay_ms\":60000}");
    for (int i = 0; i < 5; i++)
        ids[i] = jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"echo out; exit 3\"],\"retry_on\":[3],"
                                    "\"max_attempts\":2,\"backoff_ms\":0}");
    for (int i = 0; i < 5; i++) {
        cJSON *job = jq_it_wait_job(&srv, ids[i], 10);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
        cJSON_Delete(job);
    }
    int64_t t0 = jq_it_now_ms();
    for (int i = 0; i < 5; i++)
        wait_purged(&srv, ids[i], 10000);
    fprintf(stderr, "purged within %lld ms of the end\n", (long long)(jq_it_now_ms() - t0));
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)held);
    expect_status(&srv, "GET", path, 200);
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)later);
    expect_status(&srv, "GET", path, 200);
    jq_it_finish(&srv);
}

/* /v1/stats: database size (main file and WAL). */
static void db_size(const struct jq_it_server *srv, long long *main_bytes, long long *wal_bytes)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/v1/stats", &r);
    ASSERT_EQ(r.status, 200);
    const cJSON *db = cJSON_GetObjectItem(r.json, "database");
    *main_bytes = jq_it_json_int(db, "size_bytes", -1);
    *wal_bytes = jq_it_json_int(db, "wal_bytes", -1);
    ASSERT_TRUE(*main_bytes > 0 && *wal_bytes >= 0 && jq_it_json_int(db, "free_bytes", -1) >= 0);
    jq_it_resp_cleanup(&r);
}

#define ROUNDS 6
#define JOBS_PER_ROUND 12

/* One round: JOBS_PER_ROUND jobs with 200 KB of output each, run, then
 * purged by retention. */
static void run_round(const struct jq_it_server *srv)
{
    int64_t last = 0;
    for (int i = 0; i < JOBS_PER_ROUND; i++)
        last = jq_it_submit(srv, "{\"command\":[\"head\",\"-c\",\"200000\",\"/dev/urandom\"]}");
    cJSON_Delete(jq_it_wait_job(srv, last, 20));
    wait_purged(srv, last, 10000);
}

/* Rounds of jobs, all purged between rounds: the main file plus the WAL
 * come back to the first rounds' size (within 1 MiB) instead of growing by
 * ~2.4 MB a round. The purge's vacuum and checkpoint follow its commit, so
 * a later round may take a moment to settle. */
static void database_stops_growing(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--retention", "1s", "--workers", "2", NULL};
    long long main_bytes, wal_bytes, bound = 0;
    jq_it_start(&srv, args, NULL);
    for (int round = 0; round < ROUNDS; round++) {
        run_round(&srv);
        db_size(&srv, &main_bytes, &wal_bytes);
        int64_t end = jq_it_now_ms() + 3000;
        while (round >= 2 && main_bytes + wal_bytes > bound && jq_it_now_ms() < end) {
            jq_it_sleep_ms(50);
            db_size(&srv, &main_bytes, &wal_bytes);
        }
        fprintf(stderr, "round %d: database %lld + wal %lld bytes\n", round, main_bytes, wal_bytes);
        if (round < 2 && main_bytes + wal_bytes + 1024 * 1024 > bound)
            bound = main_bytes + wal_bytes + 1024 * 1024;
        if (round >= 2)
            ASSERT_TRUE(main_bytes + wal_bytes <= bound);
    }
    jq_it_finish(&srv);
}

static void retention_flag(void)
{
    char err[1024];
    const char *bad[][3] = {{"--retention", "5x", NULL}, {"--retention", "-1s", NULL}, {"--retention", "7", NULL}};
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ(jq_it_run_jobqd(bad[i], NULL, 0, err, sizeof(err)), 2);
        ASSERT_TRUE(strstr(err, "--retention") != NULL);
    }
    char out[8192];
    const char *help[] = {"--help", NULL};
    ASSERT_EQ(jq_it_run_jobqd(help, out, sizeof(out), NULL, 0), 0);
    ASSERT_TRUE(strstr(out, "--retention DURATION") != NULL);
    /* 0 keeps everything: nothing is purged. */
    struct jq_it_server srv;
    const char *keep[] = {"--retention", "0", NULL};
    jq_it_start(&srv, keep, NULL);
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    cJSON_Delete(jq_it_wait_job(&srv, id, 10));
    jq_it_sleep_ms(1200);
    cJSON_Delete(jq_it_job(&srv, id, 0));
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"purge_via_delete", purge_via_delete},
    {"retention_purges_finished", retention_purges_finished},
    {"database_stops_growing", database_stops_growing},
    {"retention_flag", retention_flag},
};

JQ_TEST_MAIN(cases)
