/* test_api.c: the HTTP API on its own — a real libmicrohttpd daemon on
 * 127.0.0.1 port 0 over a real SQLite store in a temp dir, driven with
 * libcurl, with the test playing the master (it claims and completes jobs
 * through the store and reports them finished). Proves what is hard to see
 * through a whole jobqd: long-polls hold no thread, a wait returns the
 * moment the job ends, stopping answers every waiter, and the routing and
 * error shapes. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "store.h"
#include "testlib.h"

struct fixture {
    char dir[256];
    char db[300];
    struct jq_store *store;
    struct jq_api *api;
    atomic_bool accepting;
    atomic_int enqueued;
};

static struct fixture fx;

static void hook_enqueued(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&fx.enqueued, 1);
}

static int hook_cancel(void *ctx, int64_t id, enum jq_job_state *state_out)
{
    (void)ctx;
    int rc = jq_store_cancel_queued(fx.store, id, state_out);
    if (rc == 0)
        *state_out = JQ_STATE_CANCELLED;
    return rc;
}

static bool hook_ready(void *ctx)
{
    (void)ctx;
    return true;
}

static bool hook_accepting(void *ctx)
{
    (void)ctx;
    return atomic_load(&fx.accepting);
}

static void start_api(unsigned threads)
{
    const char *base = getenv("JQ_TEST_TMP") ? getenv("JQ_TEST_TMP") : "/tmp";
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base);
    ASSERT_EQ(system(cmd), 0);
    snprintf(fx.dir, sizeof fx.dir, "%s/api-XXXXXX", base);
    ASSERT_TRUE(mkdtemp(fx.dir) != NULL);
    snprintf(fx.db, sizeof fx.db, "%s/jobq.db", fx.dir);
    ASSERT_EQ(jq_store_open_sqlite(&fx.store, fx.db), 0);
    atomic_store(&fx.accepting, true);
    struct jq_api_config cfg = {"127.0.0.1", 0, threads, {60000, 3600000, 2000, 1 << 20, {0, 0, 0, 0, 0}, false, false}, NULL, NULL, NULL, 0, 0, 0, 0, NULL, 0, NULL, 0};
    struct jq_api_hooks hooks = {NULL, hook_enqueued, hook_cancel, hook_ready, hook_accepting, NULL, NULL, NULL};
    ASSERT_EQ(jq_api_start(&fx.api, &cfg, fx.store, &hooks), 0);
    ASSERT_TRUE(jq_api_port(fx.api) != 0);
}

static void stop_api(void)
{
    jq_api_stop(fx.api);
    fx.api = NULL;
    jq_store_close(fx.store);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
    ASSERT_EQ(system(cmd), 0);
}

/* ---- a small HTTP client ---- */

struct reply {
    long status;
    char body[65536];
    size_t len;
    char allow[128];
    char location[128];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t k = sz * n;
    size_t room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->body[r->len] = '\0';
    return k;
}

static void copy_header(char *dst, size_t cap, const char *line, size_t k, const char *name)
{
    size_t nl = strlen(name);
    if (k <= nl || strncasecmp(line, name, nl) != 0)
        return;
    size_t v = k - nl;
    while (v && (line[nl + v - 1] == '\r' || line[nl + v - 1] == '\n'))
        v--;
    snprintf(dst, cap, "%.*s", (int)v, line + nl);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    copy_header(r->allow, sizeof r->allow, p, sz * n, "Allow: ");
    copy_header(r->location, sizeof r->location, p, sz * n, "Location: ");
    return sz * n;
}

static void http_ex(const char *method, const char *path, const char *body, struct curl_slist *hdrs,
                    struct reply *r)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)jq_api_port(fx.api), path);
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
}

static void http(const char *method, const char *path, const char *body, struct reply *r)
{
    http_ex(method, path, body, NULL, r);
}

/* The string field `name` of a JSON body ("" when absent). */
static void json_field(const char *body, const char *name, char *out, size_t cap)
{
    cJSON *doc = cJSON_Parse(body);
    cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, name);
    snprintf(out, cap, "%s", cJSON_IsString(f) ? f->valuestring : "");
    cJSON_Delete(doc);
}

static void assert_error(const struct reply *r, long status, const char *code)
{
    ASSERT_EQ(r->status, status);
    cJSON *doc = cJSON_Parse(r->body);
    cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
    cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
    ASSERT_TRUE(cJSON_IsString(c));
    ASSERT_STREQ(c->valuestring, code);
    ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err, "message")));
    cJSON_Delete(doc);
    ASSERT_TRUE(r->len > 0 && r->body[r->len - 1] == '\n');
}

static int64_t submit_true(void)
{
    struct reply r;
    http("POST", "/v1/jobs", "{\"command\":[\"true\"]}", &r);
    ASSERT_EQ(r.status, 201);
    return strtoll(r.location + strlen("/v1/jobs/"), NULL, 10);
}

/* Play the master: claim up to n jobs and finish them all as succeeded,
 * with stdout "out\0put". */
static size_t finish_queued(size_t n)
{
    struct jq_job *jobs = calloc(n, sizeof *jobs);
    struct jq_completion *done = calloc(n, sizeof *done);
    struct jq_job_result res;
    size_t got = 0;
    jq_job_result_init(&res);
    res.state = JQ_STATE_SUCCEEDED;
    res.exit_code = 0;
    res.out.data = (char *)"out\0put";
    res.out.len = res.out.total_bytes = 7;
    ASSERT_EQ(jq_store_claim(fx.store, n, jobs, &got), 0);
    for (size_t i = 0; i < got; i++)
        done[i] = (struct jq_completion){jobs[i].id, &res};
    if (got)
        ASSERT_EQ(jq_store_complete(fx.store, done, got), 0);
    for (size_t i = 0; i < got; i++) {
        jq_api_job_finished(fx.api, jobs[i].id);
        jq_job_cleanup(&jobs[i]);
    }
    free(jobs);
    free(done);
    return got;
}

/* ---- cases ---- */

static void submit_and_get(void)
{
    start_api(2);
    struct reply r;
    char state[32];
    http("POST", "/v1/jobs", "{\"command\":[\"echo\",\"hi\"],\"timeout_ms\":2000}", &r);
    ASSERT_EQ(r.status, 201);
    ASSERT_STREQ(r.location, "/v1/jobs/1");
    json_field(r.body, "state", state, sizeof state);
    ASSERT_STREQ(state, "queued");
    ASSERT_EQ(atomic_load(&fx.enqueued), 1);
    http("GET", "/v1/jobs/1", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(strstr(r.body, "\"timeout_ms\":2000") != NULL);
    ASSERT_EQ(finish_queued(1), 1);
    http("GET", "/v1/jobs/1/stdout", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.len, 7);
    ASSERT_TRUE(memcmp(r.body, "out\0put", 7) == 0);
    http("GET", "/v1/jobs/1/stderr", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.len, 0);
    stop_api();
}

struct finisher {
    pthread_t thread;
    int delay_ms;
    size_t n;
};

static void *finisher_main(void *arg)
{
    struct finisher *f = arg;
    usleep((useconds_t)f->delay_ms * 1000);
    finish_queued(f->n);
    return NULL;
}

static void wait_returns_when_done(void)
{
    start_api(1);
    int64_t id = submit_true();
    struct finisher f = {.delay_ms = 300, .n = 1};
    pthread_create(&f.thread, NULL, finisher_main, &f);
    char path[64], state[32];
    snprintf(path, sizeof path, "/v1/jobs/%lld?wait=20", (long long)id);
    int64_t t0 = jq_mono_ms();
    struct reply r;
    http("GET", path, NULL, &r);
    int64_t took = jq_mono_ms() - t0;
    pthread_join(f.thread, NULL);
    ASSERT_EQ(r.status, 200);
    json_field(r.body, "state", state, sizeof state);
    ASSERT_STREQ(state, "succeeded");
    ASSERT_GE(took, 250);
    ASSERT_TRUE(took < 10000);
    stop_api();
}

static void wait_deadline(void)
{
    start_api(1);
    int64_t id = submit_true();
    char path[64], state[32];
    snprintf(path, sizeof path, "/v1/jobs/%lld?wait=0.5", (long long)id);
    int64_t t0 = jq_mono_ms();
    struct reply r;
    http("GET", path, NULL, &r);
    ASSERT_GE(jq_mono_ms() - t0, 450);
    ASSERT_EQ(r.status, 200);
    json_field(r.body, "state", state, sizeof state);
    ASSERT_STREQ(state, "queued");
    stop_api();
}

#define N_WAITERS 40

struct waiter {
    pthread_t thread;
    int64_t id;
    struct reply r;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%lld?wait=60", (long long)w->id);
    http("GET", path, NULL, &w->r);
    return NULL;
}

/* 40 waiters parked on a daemon with 2 threads: a thread per waiter would
 * leave the health check and the waiters themselves unanswered. */
static void many_waiters_two_threads(void)
{
    start_api(2);
    static struct waiter w[N_WAITERS];
    for (int i = 0; i < N_WAITERS; i++) {
        w[i].id = submit_true();
        pthread_create(&w[i].thread, NULL, waiter_main, &w[i]);
    }
    usleep(500 * 1000);
    struct reply r;
    http("GET", "/healthz", NULL, &r);
    ASSERT_EQ(r.status, 200);
    int64_t t0 = jq_mono_ms();
    ASSERT_EQ(finish_queued(N_WAITERS), N_WAITERS);
    for (int i = 0; i < N_WAITERS; i++) {
        char state[32];
        pthread_join(w[i].thread, NULL);
        ASSERT_EQ(w[i].r.status, 200);
        json_field(w[i].r.body, "state", state, sizeof state);
        ASSERT_STREQ(state, "succeeded");
    }
    ASSERT_TRUE(jq_mono_ms() - t0 < 20000);
    stop_api();
}

static void stop_answers_waiters(void)
{
    start_api(1);
    struct waiter one = {.id = submit_true()};
    pthread_create(&one.thread, NULL, waiter_main, &one);
    usleep(300 * 1000);
    int64_t t0 = jq_mono_ms();
    jq_api_stop(fx.api);
    pthread_join(one.thread, NULL);
    ASSERT_TRUE(jq_mono_ms() - t0 < 10000);
    ASSERT_EQ(one.r.status, 200);
    fx.api = NULL;
    jq_store_close(fx.store);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
    ASSERT_EQ(system(cmd), 0);
}

static void routing_errors(void)
{
    start_api(2);
    struct reply r;
    http("GET", "/nope", NULL, &r);
    assert_error(&r, 404, "not_found");
    http("GET", "/v1/jobs/1/other", NULL, &r);
    assert_error(&r, 404, "not_found");
    http("GET", "/v1/jobs/7", NULL, &r);
    assert_error(&r, 404, "not_found");
    http("PUT", "/v1/jobs", NULL, &r);
    assert_error(&r, 405, "method_not_allowed");
    ASSERT_STREQ(r.allow, "GET, HEAD, POST");
    http("POST", "/v1/jobs/1", "{}", &r);
    assert_error(&r, 405, "method_not_allowed");
    ASSERT_STREQ(r.allow, "GET, HEAD, DELETE");
    const char *bad_ids[] = {"/v1/jobs/abc", "/v1/jobs/0", "/v1/jobs/01", "/v1/jobs/-1",
                             "/v1/jobs/99999999999999999999", "/v1/jobs/1x"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        http("GET", bad_ids[i], NULL, &r);
        assert_error(&r, 400, "bad_parameter");
    }
    const char *bad_queries[] = {"/v1/jobs?limit=0", "/v1/jobs?limit=1001", "/v1/jobs?limit=x",
                                 "/v1/jobs?after=-1", "/v1/jobs?state=done"};
    for (size_t i = 0; i < sizeof bad_queries / sizeof bad_queries[0]; i++) {
        http("GET", bad_queries[i], NULL, &r);
        assert_error(&r, 400, "bad_parameter");
    }
    submit_true();
    const char *bad_waits[] = {"/v1/jobs/1?wait=-1", "/v1/jobs/1?wait=3601", "/v1/jobs/1?wait=x",
                               "/v1/jobs/1?wait=nan", "/v1/jobs/1?wait=1e400"};
    for (size_t i = 0; i < sizeof bad_waits / sizeof bad_waits[0]; i++) {
        http("GET", bad_waits[i], NULL, &r);
        assert_error(&r, 400, "bad_parameter");
    }
    stop_api();
}

static void submit_errors(void)
{
    start_api(2);
    struct reply r;
    http("POST", "/v1/jobs", "{\"command\":", &r);
    assert_error(&r, 400, "malformed_json");
    http("POST", "/v1/jobs", "{\"command\":[\"true\"],\"timout\":1}", &r);
    assert_error(&r, 400, "unknown_field");
    ASSERT_TRUE(strstr(r.body, "timout") != NULL);
    http("POST", "/v1/jobs", "{\"command\":[\"true\"],\"timeout_ms\":999999999}", &r);
    assert_error(&r, 422, "out_of_range");
    struct curl_slist *text = curl_slist_append(NULL, "Content-Type: text/plain");
    http_ex("POST", "/v1/jobs", "{\"command\":[\"true\"]}", text, &r);
    assert_error(&r, 415, "unsupported_media_type");
    curl_slist_free_all(text);
    struct curl_slist *json = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    http_ex("POST", "/v1/jobs", "{\"command\":[\"true\"]}", json, &r);
    ASSERT_EQ(r.status, 201);
    curl_slist_free_all(json);
    atomic_store(&fx.accepting, false);
    http("POST", "/v1/jobs", "{\"command\":[\"true\"]}", &r);
    assert_error(&r, 503, "shutting_down");
    http("GET", "/readyz", NULL, &r);
    ASSERT_EQ(r.status, 503);
    http("GET", "/v1/jobs?limit=10", NULL, &r);
    ASSERT_TRUE(strstr(r.body, "\"id\":2") == NULL); /* nothing stored by the refused calls */
    stop_api();
}

/* A Content-Length over the cap is refused before the body is read. */
static void body_over_cap(void)
{
    start_api(1);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Length: 9000000");
    h = curl_slist_append(h, "Expect:");
    struct reply r;
    http_ex("POST", "/v1/jobs", "{}", h, &r);
    curl_slist_free_all(h);
    assert_error(&r, 413, "payload_too_large");
    stop_api();
}

static void cancel_states(void)
{
    start_api(2);
    struct reply r;
    char state[32];
    int64_t a = submit_true();
    http("DELETE", "/v1/jobs/1", NULL, &r);
    ASSERT_EQ(r.status, 200);
    json_field(r.body, "state", state, sizeof state);
    ASSERT_STREQ(state, "cancelled");
    http("DELETE", "/v1/jobs/1", NULL, &r);
    assert_error(&r, 409, "job_finished");
    http("DELETE", "/v1/jobs/5", NULL, &r);
    assert_error(&r, 404, "not_found");
    ASSERT_EQ(a, 1);
    stop_api();
}

static void list_pages(void)
{
    start_api(2);
    struct reply r;
    http("POST", "/v1/jobs", "{\"jobs\":[{\"command\":[\"a\"]},{\"command\":[\"b\"]},{\"command\":[\"c\"]}]}", &r);
    ASSERT_EQ(r.status, 201);
    cJSON *doc = cJSON_Parse(r.body);
    cJSON *jobs = cJSON_GetObjectItemCaseSensitive(doc, "jobs");
    ASSERT_EQ(cJSON_GetArraySize(jobs), 3);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(jobs, i), "id")->valuedouble, i + 1);
    cJSON_Delete(doc);
    http("GET", "/v1/jobs?limit=2", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(strstr(r.body, "\"next_after\":2") != NULL);
    http("GET", "/v1/jobs?limit=2&after=2", NULL, &r);
    ASSERT_TRUE(strstr(r.body, "\"id\":3") != NULL);
    ASSERT_TRUE(strstr(r.body, "\"next_after\":null") != NULL);
    http("GET", "/v1/jobs?state=succeeded", NULL, &r);
    ASSERT_TRUE(strstr(r.body, "{\"jobs\":[],\"next_after\":null}") != NULL);
    stop_api();
}

static const struct jq_test_case cases[] = {
    {"submit_and_get", submit_and_get},
    {"wait_returns_when_done", wait_returns_when_done},
    {"wait_deadline", wait_deadline},
    {"many_waiters_two_threads", many_waiters_two_threads},
    {"stop_answers_waiters", stop_answers_waiters},
    {"routing_errors", routing_errors},
    {"submit_errors", submit_errors},
    {"body_over_cap", body_over_cap},
    {"cancel_states", cancel_states},
    {"list_pages", list_pages},
};

JQ_TEST_MAIN(cases)
