/* test_schedules.c: periodic jobs on the real jobqd — create, list, get,
 * pause, resume and delete a schedule; the errors; and the ticks: the
 * master sleeps until the next tick and makes its job then, a service that
 * was down across several ticks makes one job for them (catch-up), and no
 * restart ever makes a tick's job twice. Time passing is simulated by
 * moving a schedule's next tick in the database while jobqd is stopped
 * (the only way to test a minute-resolution clock in seconds). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* POST /v1/schedules; asserts the status; returns the body (caller frees). */
static cJSON *create(const struct jq_it_server *srv, const char *body, long status)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/schedules", body, &r);
    if (r.status != status)
        JQ_FAIL_AT(__FILE__, __LINE__, "want %ld, got %ld: %s", status, r.status, r.body);
    cJSON *doc = r.json;
    r.json = NULL;
    jq_it_resp_cleanup(&r);
    return doc;
}

static cJSON *call(const struct jq_it_server *srv, const char *method, const char *path, long status)
{
    struct jq_it_resp r;
    ASSERT_EQ(jq_it_request(srv, method, path, NULL, 0, NULL, &r), 0);
    if (r.status != status)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s %s: want %ld, got %ld: %s", method, path, status, r.status, r.body);
    cJSON *doc = r.json;
    r.json = NULL;
    jq_it_resp_cleanup(&r);
    return doc;
}

static void crud(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON *s = create(&srv, "{\"cron\":\"*/5 * * * *\",\"job\":{\"command\":[\"echo\",\"tick\"],\"queue\":\"cron\"}}",
                      201);
    ASSERT_EQ(jq_it_json_int(s, "id", 0), 1);
    ASSERT_STREQ(jq_it_json_str(s, "cron"), "*/5 * * * *");
    ASSERT_STREQ(jq_it_json_str(cJSON_GetObjectItem(s, "job"), "queue"), "cron");
    const char *next = jq_it_json_str(s, "next_run_at");
    ASSERT_TRUE(next != NULL && strstr(next, ":00.000Z") != NULL);
    ASSERT_TRUE((next[15] - '0') % 5 == 0); /* minute ...0 or ...5 */
    ASSERT_TRUE(jq_it_json_is_null(s, "last_run_at") && jq_it_json_is_null(s, "last_job_id"));
    cJSON_Delete(s);
    cJSON_Delete(create(&srv, "{\"cron\":\"0 3 * * mon\",\"job\":{\"command\":[\"true\"]},\"paused\":true}", 201));
    s = call(&srv, "GET", "/v1/schedules", 200);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(s, "schedules")), 2);
    ASSERT_TRUE(jq_it_json_is_null(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "schedules"), 1), "next_run_at"));
    cJSON_Delete(s);
    s = call(&srv, "POST", "/v1/schedules/1/pause", 200);
    ASSERT_TRUE(jq_it_json_is_true(s, "paused") && jq_it_json_is_null(s, "next_run_at"));
    cJSON_Delete(s);
    s = call(&srv, "POST", "/v1/schedules/1/resume", 200);
    ASSERT_TRUE(!jq_it_json_is_true(s, "paused") && jq_it_json_str(s, "next_run_at") != NULL);
    cJSON_Delete(s);
    cJSON_Delete(call(&srv, "DELETE", "/v1/schedules/1", 200));
    cJSON_Delete(call(&srv, "GET", "/v1/schedules/1", 404));
    cJSON_Delete(call(&srv, "DELETE", "/v1/schedules/1", 404));
    cJSON_Delete(call(&srv, "POST", "/v1/schedules/1/pause", 404));
    jq_it_finish(&srv);
}

static void expect_create_error(const struct jq_it_server *srv, const char *body, long status, const char *code,
                                const char *msg_has)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/schedules", body, &r);
    JQ_IT_ASSERT_ERROR(&r, status, code);
    if (!strstr(r.body, msg_has))
        JQ_FAIL_AT(__FILE__, __LINE__, "message lacks \"%s\": %s", msg_has, r.body);
    jq_it_resp_cleanup(&r);
}

static void bad_inputs(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--max-timeout-ms", "1000", "--default-timeout-ms", "500", NULL};
    jq_it_start(&srv, args, NULL);
    expect_create_error(&srv, "{\"cron\":\"* * *\",\"job\":{\"command\":[\"true\"]}}", 400, "invalid_field", "cron");
    expect_create_error(&srv, "{\"cron\":\"61 * * * *\",\"job\":{\"command\":[\"true\"]}}", 400, "invalid_field",
                        "minute");
    expect_create_error(&srv, "{\"cron\":\"0 0 30 feb *\",\"job\":{\"command\":[\"true\"]}}", 400, "invalid_field",
                        "no time");
    expect_create_error(&srv, "{\"cron\":\"* * * * *\"}", 400, "missing_field", "job is required");
    expect_create_error(&srv, "{\"job\":{\"command\":[\"true\"]}}", 400, "missing_field", "cron is required");
    expect_create_error(&srv, "{\"cron\":\"* * * * *\",\"job\":{}}", 400, "missing_field", "job.command");
    expect_create_error(&srv, "{\"cron\":\"* * * * *\",\"job\":{\"jobs\":[]}}", 400, "invalid_field", "batch");
    expect_create_error(&srv, "{\"cron\":\"* * * * *\",\"job\":{\"command\":[\"true\"],\"timeout_ms\":5000}}", 422,
                        "out_of_range", "job.timeout_ms");
    expect_create_error(&srv, "{\"cron\":\"* * * * *\",\"job\":{\"command\":[\"true\"]},\"every\":1}", 400,
                        "unknown_field", "every");
    expect_create_error(&srv, "{\"cron\":\"* * * * *\",\"cron\":\"* * * * *\",\"job\":{\"command\":[\"true\"]}}", 400,
                        "invalid_field", "duplicate");
    expect_create_error(&srv, "{\"cron\":5,\"job\":{\"command\":[\"true\"]}}", 400, "invalid_field", "cron");
    expect_create_error(&srv, "[", 400, "malformed_json", "");
    struct jq_it_resp r;
    jq_it_get(&srv, "/v1/schedules/0", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/v1/schedules/7/pause", &r);
    JQ_IT_ASSERT_ERROR(&r, 405, "method_not_allowed");
    jq_it_resp_cleanup(&r);
    cJSON *s = call(&srv, "GET", "/v1/schedules", 200);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(s, "schedules")), 0);
    cJSON_Delete(s);
    jq_it_finish(&srv);
}

/* While jobqd is stopped: move schedule id's next tick (the time passes). */
static void set_next_tick(const struct jq_it_server *srv, int64_t id, int64_t tick_ms)
{
    sqlite3 *db = NULL;
    char sql[160];
    snprintf(sql, sizeof(sql), "UPDATE schedules SET next_tick_ms = %lld WHERE id = %lld", (long long)tick_ms,
             (long long)id);
    ASSERT_EQ(sqlite3_open(srv->db_path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_changes(db), 1);
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

static int count_jobs(const struct jq_it_server *srv)
{
    cJSON *list = call(srv, "GET", "/v1/jobs", 200);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(list, "jobs"));
    cJSON_Delete(list);
    return n;
}

/* Poll (bounded) until schedule id has made a job; returns it. */
static int64_t wait_tick_job(const struct jq_it_server *srv, int64_t id, int max_ms)
{
    char path[48];
    int64_t job = 0, end = jq_it_now_ms() + max_ms;
    snprintf(path, sizeof(path), "/v1/schedules/%lld", (long long)id);
    while (job == 0 && jq_it_now_ms() < end) {
        cJSON *s = call(srv, "GET", path, 200);
        job = jq_it_json_int(s, "last_job_id", 0);
        cJSON_Delete(s);
        if (job == 0)
            jq_it_sleep_ms(50);
    }
    if (job == 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "schedule %lld made no job within %d ms", (long long)id, max_ms);
    return job;
}

/* Down across three ticks: one job after the restart, for the first
 * missed tick; the next tick is in the future; more restarts make no
 * second job for it. */
static void catch_up_once_across_restarts(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON_Delete(create(&srv, "{\"cron\":\"* * * * *\",\"job\":{\"command\":[\"echo\",\"tick\"]}}", 201));
    jq_it_stop(&srv);
    int64_t missed = (jq_it_wall_ms() / 60000 - 3) * 60000;
    set_next_tick(&srv, 1, missed);
    jq_it_restart(&srv);
    int64_t job = wait_tick_job(&srv, 1, 10000);
    cJSON *done = jq_it_wait_job(&srv, job, 10);
    ASSERT_STREQ(jq_it_json_str(done, "stdout"), "tick\n");
    cJSON_Delete(done);
    cJSON *s = call(&srv, "GET", "/v1/schedules/1", 200);
    char want[64];
    jq_it_format_time(missed, want, sizeof(want));
    ASSERT_STREQ(jq_it_json_str(s, "last_run_at"), want);
    ASSERT_TRUE(strcmp(jq_it_json_str(s, "next_run_at"), want) > 0);
    cJSON_Delete(s);
    ASSERT_EQ(count_jobs(&srv), 1);
    for (int i = 0; i < 2; i++) {
        jq_it_stop(&srv);
        jq_it_restart(&srv);
        jq_it_sleep_ms(300);
        ASSERT_EQ(count_jobs(&srv), 1);
    }
    jq_it_finish(&srv);
}

/* The master sleeps until the next tick: a tick 1.5 s ahead makes its job
 * then, not before. */
static void tick_fires_on_time(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON_Delete(create(&srv, "{\"cron\":\"* * * * *\",\"job\":{\"command\":[\"true\"]}}", 201));
    jq_it_stop(&srv);
    int64_t tick = jq_it_wall_ms() + 1500;
    set_next_tick(&srv, 1, tick);
    jq_it_restart(&srv);
    jq_it_sleep_ms(500);
    ASSERT_EQ(count_jobs(&srv), 0);
    int64_t job = wait_tick_job(&srv, 1, 10000);
    cJSON *j = jq_it_job(&srv, job, 0);
    char at[64];
    jq_it_format_time(tick, at, sizeof(at));
    ASSERT_TRUE(strcmp(jq_it_json_str(j, "created_at"), at) >= 0);
    cJSON_Delete(j);
    ASSERT_EQ(count_jobs(&srv), 1);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"crud", crud},
    {"bad_inputs", bad_inputs},
    {"catch_up_once_across_restarts", catch_up_once_across_restarts},
    {"tick_fires_on_time", tick_fires_on_time},
};

JQ_TEST_MAIN(cases)
