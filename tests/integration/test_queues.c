/* test_queues.c: integration tests of scheduling on the real jobqd —
 * priority then FIFO, delayed jobs (scheduled, then run at their time, also
 * across a restart), start_by (expired, long-poll answered), named queues
 * with pause/resume (durable across a restart) and a concurrency limit that
 * holds while other queues keep running, the ?queue= filter, GET /v1/queues
 * and the errors of all of it. Jobs write their tag into a shared file in
 * the case's temp dir, so the tests see the real order of starts. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* RFC 3339 (UTC, milliseconds) of now + delta_ms, as the server prints it. */
static void time_in(int64_t delta_ms, char *buf, size_t cap)
{
    jq_it_format_time(jq_it_wall_ms() + delta_ms, buf, cap);
}

/* Submit sh -c "echo <tag> >> <dir>/order; sleep <sleep_s>" with extra JSON
 * members (starting with a comma, or ""). */
static int64_t submit_tagged(const struct jq_it_server *srv, const char *tag, const char *sleep_s, const char *extra)
{
    char body[PATH_MAX + 1024];
    snprintf(body, sizeof(body),
             "{\"command\":[\"sh\",\"-c\",\"echo %s >> %s/order; sleep %s\"],\"timeout_ms\":30000%s}", tag,
             srv->dir, sleep_s, extra);
    return jq_it_submit(srv, body);
}

/* The tags in start order, space-separated. */
static void start_order(const struct jq_it_server *srv, char *out, size_t cap)
{
    char path[PATH_MAX + 16], line[64];
    size_t used = 0;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/order", srv->dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f) && used + strlen(line) + 1 < cap) {
        line[strcspn(line, "\n")] = '\0';
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? " " : "", line);
    }
    if (f)
        fclose(f);
}

/* The job (now, or once terminal when wait) is in state. */
static void check_state(const struct jq_it_server *srv, int64_t id, const char *state, bool wait)
{
    cJSON *job = wait ? jq_it_wait_job(srv, id, 20) : jq_it_job(srv, id, 0);
    if (strcmp(jq_it_json_str(job, "state"), state) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "job %lld: want %s, got %s", (long long)id, state,
                   cJSON_PrintUnformatted(job));
    cJSON_Delete(job);
}

static void expect_state(const struct jq_it_server *srv, int64_t id, const char *state)
{
    check_state(srv, id, state, false);
}

static void expect_terminal(const struct jq_it_server *srv, int64_t id, const char *state)
{
    check_state(srv, id, state, true);
}

/* POST (pause/resume) or PATCH a queue; asserts 200 and returns the body. */
static cJSON *queue_call(const struct jq_it_server *srv, const char *method, const char *path, const char *body)
{
    struct jq_it_resp r;
    const char *headers[] = {"Content-Type: application/json", NULL};
    ASSERT_EQ(jq_it_request(srv, method, path, body, body ? SIZE_MAX : 0, headers, &r), 0);
    if (r.status != 200)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s %s: %ld %s", method, path, r.status, r.body);
    cJSON *doc = r.json;
    r.json = NULL;
    jq_it_resp_cleanup(&r);
    return doc;
}

/* One worker, held by a blocker: higher priority first, FIFO within. */
static void priority_then_fifo(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--workers", "1", NULL};
    char order[256];
    jq_it_start(&srv, args, NULL);
    int64_t blocker = submit_tagged(&srv, "blocker", "0.5", "");
    jq_it_wait_state(&srv, blocker, "running", 10);
    int64_t ids[5];
    ids[0] = submit_tagged(&srv, "low1", "0", ",\"priority\":-5");
    ids[1] = submit_tagged(&srv, "mid1", "0", "");
    ids[2] = submit_tagged(&srv, "high1", "0", ",\"priority\":7");
    ids[3] = submit_tagged(&srv, "mid2", "0", "");
    ids[4] = submit_tagged(&srv, "high2", "0", ",\"priority\":7");
    for (int i = 0; i < 5; i++)
        expect_terminal(&srv, ids[i], "succeeded");
    start_order(&srv, order, sizeof(order));
    ASSERT_STREQ(order, "blocker high1 high2 mid1 mid2 low1");
    jq_it_finish(&srv);
}

/* delay_ms: scheduled with run_at, not started before it, then runs; also
 * a run_at in the past runs at once, and the answer of the POST says so. */
static void delayed_job_runs_at_its_time(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    jq_it_post(&srv, "/v1/jobs", "{\"command\":[\"true\"],\"delay_ms\":1500}", &r);
    ASSERT_EQ(r.status, 201);
    ASSERT_STREQ(jq_it_json_str(r.json, "state"), "scheduled");
    const char *run_at_s = jq_it_json_str(r.json, "run_at");
    ASSERT_TRUE(run_at_s != NULL);
    char run_at[64];
    snprintf(run_at, sizeof(run_at), "%s", run_at_s);
    int64_t id = jq_it_json_int(r.json, "id", 0);
    jq_it_resp_cleanup(&r);
    jq_it_sleep_ms(500);
    expect_state(&srv, id, "scheduled");
    jq_it_get(&srv, "/v1/jobs?state=scheduled", &r);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "jobs")), 1);
    jq_it_resp_cleanup(&r);
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_TRUE(strcmp(jq_it_json_str(job, "started_at"), run_at) >= 0);
    ASSERT_STREQ(jq_it_json_str(job, "run_at"), run_at);
    cJSON_Delete(job);
    jq_it_post(&srv, "/v1/jobs", "{\"command\":[\"true\"],\"run_at\":\"2020-01-01T00:00:00Z\"}", &r);
    ASSERT_STREQ(jq_it_json_str(r.json, "state"), "queued");
    id = jq_it_json_int(r.json, "id", 0);
    jq_it_resp_cleanup(&r);
    expect_terminal(&srv, id, "succeeded");
    jq_it_finish(&srv);
}

/* A scheduled job survives a stop that falls before its time and runs
 * after the restart, once. */
static void delayed_job_survives_restart(void)
{
    struct jq_it_server srv;
    char extra[128], run_at[64];
    jq_it_start(&srv, NULL, NULL);
    time_in(2000, run_at, sizeof(run_at));
    snprintf(extra, sizeof(extra), ",\"run_at\":\"%s\"", run_at);
    int64_t id = submit_tagged(&srv, "later", "0", extra);
    expect_state(&srv, id, "scheduled");
    jq_it_stop(&srv);
    jq_it_restart(&srv);
    expect_state(&srv, id, "scheduled");
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_TRUE(strcmp(jq_it_json_str(job, "started_at"), run_at) >= 0);
    cJSON_Delete(job);
    char order[64];
    start_order(&srv, order, sizeof(order));
    ASSERT_STREQ(order, "later");
    jq_it_finish(&srv);
}

/* start_by passes while the only worker is busy: the job ends expired,
 * never runs, and a long-poll on it is answered; metrics count it. */
static void start_by_expires(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--workers", "1", NULL};
    char extra[128], start_by[64];
    jq_it_start(&srv, args, NULL);
    int64_t blocker = submit_tagged(&srv, "blocker", "3", "");
    jq_it_wait_state(&srv, blocker, "running", 10);
    time_in(800, start_by, sizeof(start_by));
    snprintf(extra, sizeof(extra), ",\"start_by\":\"%s\"", start_by);
    int64_t id = submit_tagged(&srv, "late", "0", extra);
    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_it_job(&srv, id, 5);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "expired");
    ASSERT_TRUE(jq_it_now_ms() - t0 < 2500);
    ASSERT_STREQ(jq_it_json_str(job, "start_by"), start_by);
    ASSERT_EQ(jq_it_json_int(job, "attempt", -1), 0);
    ASSERT_TRUE(jq_it_json_str(job, "finished_at") != NULL);
    cJSON_Delete(job);
    struct jq_it_resp r;
    jq_it_delete(&srv, "/v1/jobs/2", &r);
    JQ_IT_ASSERT_ERROR(&r, 409, "job_finished");
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/metrics", &r);
    ASSERT_TRUE(strstr(r.body, "state=\"expired\"} 1") != NULL);
    jq_it_resp_cleanup(&r);
    expect_terminal(&srv, blocker, "succeeded");
    char order[64];
    start_order(&srv, order, sizeof(order));
    ASSERT_STREQ(order, "blocker");
    jq_it_finish(&srv);
}

/* A paused queue's jobs wait while other queues run; the pause survives a
 * restart; resume runs them. */
static void pause_resume_survives_restart(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    cJSON *q = queue_call(&srv, "POST", "/v1/queues/slow/pause", NULL);
    ASSERT_TRUE(jq_it_json_is_true(q, "paused"));
    ASSERT_STREQ(jq_it_json_str(q, "name"), "slow");
    cJSON_Delete(q);
    int64_t held = submit_tagged(&srv, "held", "0", ",\"queue\":\"slow\",\"priority\":100");
    int64_t free_job = submit_tagged(&srv, "free", "0", "");
    expect_terminal(&srv, free_job, "succeeded");
    jq_it_sleep_ms(300);
    expect_state(&srv, held, "queued");
    jq_it_stop(&srv);
    jq_it_restart(&srv);
    int64_t other = submit_tagged(&srv, "other", "0", ",\"queue\":\"fast\"");
    expect_terminal(&srv, other, "succeeded");
    expect_state(&srv, held, "queued");
    struct jq_it_resp r;
    jq_it_get(&srv, "/v1/queues", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(strstr(r.body, "{\"name\":\"slow\",\"paused\":true,\"concurrency_limit\":null,"
                               "\"counts\":{\"queued\":1,") != NULL);
    ASSERT_TRUE(strstr(r.body, "{\"name\":\"default\",\"paused\":false") != NULL);
    jq_it_resp_cleanup(&r);
    q = queue_call(&srv, "POST", "/v1/queues/slow/resume", NULL);
    ASSERT_TRUE(!jq_it_json_is_true(q, "paused"));
    cJSON_Delete(q);
    expect_terminal(&srv, held, "succeeded");
    jq_it_finish(&srv);
}

/* Count of lines of the order file that equal tag. */
static int started(const struct jq_it_server *srv, const char *tag)
{
    char order[1024], *save = NULL;
    int n = 0;
    start_order(srv, order, sizeof(order));
    for (char *w = strtok_r(order, " ", &save); w; w = strtok_r(NULL, " ", &save))
        n += strcmp(w, tag) == 0;
    return n;
}

/* Limit 1 on queue "one" with 3 workers: its jobs run one at a time while
 * the default queue's job runs beside them. */
static void concurrency_limit_holds(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--workers", "3", NULL};
    jq_it_start(&srv, args, NULL);
    cJSON *q = queue_call(&srv, "PATCH", "/v1/queues/one", "{\"concurrency_limit\":1}");
    ASSERT_EQ(jq_it_json_int(q, "concurrency_limit", -1), 1);
    cJSON_Delete(q);
    int64_t a = submit_tagged(&srv, "one", "0.6", ",\"queue\":\"one\"");
    int64_t b = submit_tagged(&srv, "one", "0.6", ",\"queue\":\"one\"");
    int64_t c = submit_tagged(&srv, "dflt", "0.6", "");
    jq_it_wait_state(&srv, c, "running", 10);
    jq_it_wait_state(&srv, a, "running", 10);
    jq_it_sleep_ms(300);
    expect_state(&srv, b, "queued");
    ASSERT_EQ(started(&srv, "one"), 1);
    expect_terminal(&srv, a, "succeeded");
    expect_terminal(&srv, b, "succeeded");
    expect_terminal(&srv, c, "succeeded");
    cJSON *ja = jq_it_job(&srv, a, 0), *jb = jq_it_job(&srv, b, 0);
    ASSERT_TRUE(strcmp(jq_it_json_str(jb, "started_at"), jq_it_json_str(ja, "finished_at")) >= 0);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    /* Lifting the limit lets two run at once. */
    q = queue_call(&srv, "PATCH", "/v1/queues/one", "{\"concurrency_limit\":0}");
    ASSERT_TRUE(jq_it_json_is_null(q, "concurrency_limit"));
    cJSON_Delete(q);
    a = submit_tagged(&srv, "two", "1", ",\"queue\":\"one\"");
    b = submit_tagged(&srv, "two", "1", ",\"queue\":\"one\"");
    jq_it_wait_state(&srv, a, "running", 10);
    jq_it_wait_state(&srv, b, "running", 10);
    expect_terminal(&srv, a, "succeeded");
    expect_terminal(&srv, b, "succeeded");
    jq_it_finish(&srv);
}

/* ?queue= lists one queue's jobs; the job JSON names its queue. */
static void list_by_queue(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    int64_t a = jq_it_submit(&srv, "{\"command\":[\"true\"],\"queue\":\"mail\"}");
    jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    int64_t c = jq_it_submit(&srv, "{\"command\":[\"true\"],\"queue\":\"mail\"}");
    expect_terminal(&srv, c, "succeeded");
    jq_it_get(&srv, "/v1/jobs?queue=mail", &r);
    ASSERT_EQ(r.status, 200);
    const cJSON *jobs = cJSON_GetObjectItem(r.json, "jobs");
    ASSERT_EQ(cJSON_GetArraySize(jobs), 2);
    ASSERT_EQ(jq_it_json_int(cJSON_GetArrayItem(jobs, 0), "id", 0), a);
    ASSERT_STREQ(jq_it_json_str(cJSON_GetArrayItem(jobs, 1), "queue"), "mail");
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/v1/jobs?queue=mail&state=succeeded&limit=1", &r);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "jobs")), 1);
    ASSERT_EQ(jq_it_json_int(r.json, "next_after", 0), a);
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/v1/queues/mail", &r);
    ASSERT_EQ(jq_it_json_int(cJSON_GetObjectItem(r.json, "counts"), "succeeded", -1), 2);
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static void expect_post_error(const struct jq_it_server *srv, const char *body, long status, const char *code)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/jobs", body, &r);
    JQ_IT_ASSERT_ERROR(&r, status, code);
    jq_it_resp_cleanup(&r);
}

static void bad_inputs(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    const char *headers[] = {"Content-Type: application/json", NULL};
    jq_it_start(&srv, NULL, NULL);
    expect_post_error(&srv, "{\"command\":[\"true\"],\"queue\":\"a b\"}", 400, "invalid_field");
    expect_post_error(&srv, "{\"command\":[\"true\"],\"queue\":\"\"}", 400, "invalid_field");
    expect_post_error(&srv, "{\"command\":[\"true\"],\"run_at\":\"tomorrow\"}", 400, "invalid_field");
    expect_post_error(&srv, "{\"command\":[\"true\"],\"run_at\":\"2026-02-30T00:00:00Z\"}", 400, "invalid_field");
    expect_post_error(&srv, "{\"command\":[\"true\"],\"run_at\":\"2030-01-01T00:00:00Z\",\"delay_ms\":5}", 400,
                      "invalid_field");
    expect_post_error(&srv, "{\"command\":[\"true\"],\"delay_ms\":-1}", 400, "invalid_field");
    expect_post_error(&srv,
                      "{\"command\":[\"true\"],\"run_at\":\"2030-01-01T00:00:00Z\","
                      "\"start_by\":\"2029-01-01T00:00:00+01:00\"}",
                      400, "invalid_field");
    jq_it_get(&srv, "/v1/jobs?queue=a%20b", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/v1/queues/a%20b", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(jq_it_request(&srv, "PATCH", "/v1/queues/x", "{\"concurrency_limit\":-1}", SIZE_MAX, headers, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 400, "invalid_field");
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(jq_it_request(&srv, "PATCH", "/v1/queues/x", "{\"limit\":1}", SIZE_MAX, headers, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 400, "invalid_field");
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(jq_it_request(&srv, "PATCH", "/v1/queues/x", "{", SIZE_MAX, headers, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 400, "malformed_json");
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/v1/queues/x/pause", &r);
    JQ_IT_ASSERT_ERROR(&r, 405, "method_not_allowed");
    ASSERT_STREQ(r.allow, "POST");
    jq_it_resp_cleanup(&r);
    /* Nothing was stored, and the queue x was never given settings. */
    jq_it_get(&srv, "/v1/queues", &r);
    ASSERT_STREQ(r.body, "{\"queues\":[]}\n");
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"priority_then_fifo", priority_then_fifo},
    {"delayed_job_runs_at_its_time", delayed_job_runs_at_its_time},
    {"delayed_job_survives_restart", delayed_job_survives_restart},
    {"start_by_expires", start_by_expires},
    {"pause_resume_survives_restart", pause_resume_survives_restart},
    {"concurrency_limit_holds", concurrency_limit_holds},
    {"list_by_queue", list_by_queue},
    {"bad_inputs", bad_inputs},
};

JQ_TEST_MAIN(cases)
