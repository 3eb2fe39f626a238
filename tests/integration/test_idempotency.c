/* test_idempotency.c: the Idempotency-Key header of POST /v1/jobs on the
 * real jobqd — a retry with the same key and body gets the original job
 * (200, not a second job), another body under the key is 422, batches
 * replay whole, keys survive a restart, concurrent duplicates create one
 * job, and bad keys are refused. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "harness.h"

/* POST body with "Idempotency-Key: key"; the caller frees r. */
static void post_keyed(const struct jq_it_server *srv, const char *key, const char *body, struct jq_it_resp *r)
{
    char header[512];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
    const char *headers[] = {"Content-Type: application/json", header, NULL};
    ASSERT_EQ(jq_it_request(srv, "POST", "/v1/jobs", body, SIZE_MAX, headers, r), 0);
}

/* POST with the key; assert the status; return the (first) job's id. */
static int64_t post_expect(const struct jq_it_server *srv, const char *key, const char *body, long status)
{
    struct jq_it_resp r;
    post_keyed(srv, key, body, &r);
    if (r.status != status)
        JQ_FAIL_AT(__FILE__, __LINE__, "want %ld, got %ld: %s", status, r.status, r.body);
    const cJSON *jobs = cJSON_GetObjectItem(r.json, "jobs");
    int64_t id = jq_it_json_int(jobs ? cJSON_GetArrayItem(jobs, 0) : r.json, "id", 0);
    jq_it_resp_cleanup(&r);
    return id;
}

static int jobs_stored(const struct jq_it_server *srv)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/v1/jobs", &r);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "jobs"));
    jq_it_resp_cleanup(&r);
    return n;
}

static void same_body_replays(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    int64_t id = post_expect(&srv, "k-1", "{\"command\":[\"echo\",\"once\"]}", 201);
    /* The same body in another spelling is the same body. */
    post_keyed(&srv, "k-1", " { \"command\" : [ \"echo\", \"once\" ] } ", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(jq_it_json_int(r.json, "id", 0), id);
    jq_it_resp_cleanup(&r);
    cJSON_Delete(jq_it_wait_job(&srv, id, 10));
    /* A replay after the end shows the job as it is now. */
    post_keyed(&srv, "k-1", "{\"command\":[\"echo\",\"once\"]}", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(jq_it_json_str(r.json, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(r.json, "stdout"), "once\n");
    jq_it_resp_cleanup(&r);
    /* Without a key, or under another key, it is a new job. */
    ASSERT_NE(post_expect(&srv, "k-2", "{\"command\":[\"echo\",\"once\"]}", 201), id);
    ASSERT_EQ(jobs_stored(&srv), 2);
    jq_it_finish(&srv);
}

static void other_body_refused(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    post_expect(&srv, "k", "{\"command\":[\"true\"]}", 201);
    post_keyed(&srv, "k", "{\"command\":[\"true\"],\"priority\":1}", &r);
    JQ_IT_ASSERT_ERROR(&r, 422, "idempotency_key_reused");
    jq_it_resp_cleanup(&r);
    /* A batch is another body too. */
    post_keyed(&srv, "k", "{\"jobs\":[{\"command\":[\"true\"]}]}", &r);
    JQ_IT_ASSERT_ERROR(&r, 422, "idempotency_key_reused");
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(jobs_stored(&srv), 1);
    jq_it_finish(&srv);
}

static void batch_replays_and_survives_restart(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    const char *batch = "{\"jobs\":[{\"command\":[\"echo\",\"a\"]},{\"command\":[\"echo\",\"b\"]}]}";
    jq_it_start(&srv, NULL, NULL);
    int64_t first = post_expect(&srv, "batch-7", batch, 201);
    int64_t single = post_expect(&srv, "single-7", "{\"command\":[\"echo\",\"c\"],\"delay_ms\":60000}", 201);
    jq_it_stop(&srv);
    jq_it_restart(&srv);
    post_keyed(&srv, "batch-7", batch, &r);
    ASSERT_EQ(r.status, 200);
    const cJSON *jobs = cJSON_GetObjectItem(r.json, "jobs");
    ASSERT_EQ(cJSON_GetArraySize(jobs), 2);
    ASSERT_EQ(jq_it_json_int(cJSON_GetArrayItem(jobs, 0), "id", 0), first);
    ASSERT_EQ(jq_it_json_int(cJSON_GetArrayItem(jobs, 1), "id", 0), first + 1);
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(post_expect(&srv, "single-7", "{\"command\":[\"echo\",\"c\"],\"delay_ms\":60000}", 200), single);
    ASSERT_EQ(jobs_stored(&srv), 3);
    jq_it_finish(&srv);
}

#define RACERS 8

struct racer {
    const struct jq_it_server *srv;
    long status;
    int64_t id;
};

static void *race(void *p)
{
    struct racer *a = p;
    struct jq_it_resp r;
    post_keyed(a->srv, "race", "{\"command\":[\"true\"]}", &r);
    a->status = r.status;
    a->id = jq_it_json_int(r.json, "id", 0);
    jq_it_resp_cleanup(&r);
    return NULL;
}

/* Eight clients send the same keyed POST at once: one job, one 201. */
static void concurrent_duplicates_make_one_job(void)
{
    struct jq_it_server srv;
    const char *args[] = {"--http-threads", "4", NULL};
    struct racer racers[RACERS];
    pthread_t threads[RACERS];
    int created = 0;
    curl_global_init(CURL_GLOBAL_ALL);
    jq_it_start(&srv, args, NULL);
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (struct racer){&srv, 0, 0};
        ASSERT_EQ(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        ASSERT_EQ(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < RACERS; i++) {
        ASSERT_TRUE(racers[i].status == 201 || racers[i].status == 200);
        created += racers[i].status == 201;
        ASSERT_EQ(racers[i].id, racers[0].id);
    }
    ASSERT_EQ(created, 1);
    ASSERT_EQ(jobs_stored(&srv), 1);
    jq_it_finish(&srv);
}

static void bad_keys_refused(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    char long_key[300];
    memset(long_key, 'k', 256);
    long_key[256] = '\0';
    jq_it_start(&srv, NULL, NULL);
    post_keyed(&srv, long_key, "{\"command\":[\"true\"]}", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    post_keyed(&srv, "a\tb", "{\"command\":[\"true\"]}", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    /* A body that is refused stores no key: the key is still free. */
    post_keyed(&srv, "k", "{\"command\":[]}", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "invalid_field");
    jq_it_resp_cleanup(&r);
    long_key[255] = '\0';
    post_expect(&srv, long_key, "{\"command\":[\"true\"]}", 201);
    post_expect(&srv, "k", "{\"command\":[\"true\"],\"priority\":2}", 201);
    ASSERT_EQ(jobs_stored(&srv), 2);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"same_body_replays", same_body_replays},
    {"other_body_refused", other_body_refused},
    {"batch_replays_and_survives_restart", batch_replays_and_survives_restart},
    {"concurrent_duplicates_make_one_job", concurrent_duplicates_make_one_job},
    {"bad_keys_refused", bad_keys_refused},
};

JQ_TEST_MAIN(cases)
