/* test_errors.c: integration tests of every documented error status and the
 * error JSON shape {"error":{"code","message"}} — 400 (malformed JSON,
 * unknown/missing/invalid field, bad parameter), 404, 405 + Allow, 413,
 * 415, 422 — and that a rejected request stores nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "jq_limits.h"

static void post_expect(const struct jq_it_server *srv, const char *body, long status, const char *code)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/jobs", body, &r);
    if (r.status != status)
        fprintf(stderr, "body was: %s\n", body);
    JQ_IT_ASSERT_ERROR(&r, status, code);
    jq_it_resp_cleanup(&r);
}

static void get_expect(const struct jq_it_server *srv, const char *path, long status, const char *code)
{
    struct jq_it_resp r;
    jq_it_get(srv, path, &r);
    if (r.status != status)
        fprintf(stderr, "path was: %s\n", path);
    JQ_IT_ASSERT_ERROR(&r, status, code);
    jq_it_resp_cleanup(&r);
}

static void assert_no_jobs(const struct jq_it_server *srv)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/v1/jobs", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "jobs")), 0);
    jq_it_resp_cleanup(&r);
}

static void malformed_json(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    static const char *const bodies[] = {
        "{bad", "", "{\"command\":[\"true\"]} trailing", "[1,", "{\"command\":['true']}", "nul",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        post_expect(&srv, bodies[i], 400, "malformed_json");
    assert_no_jobs(&srv);
    jq_it_finish(&srv);
}

static void field_errors(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    jq_it_post(&srv, "/v1/jobs", "{\"command\":[\"true\"],\"bogus_field\":1}", &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "unknown_field");
    ASSERT_TRUE(strstr(jq_it_json_str(cJSON_GetObjectItemCaseSensitive(r.json, "error"), "message"),
                       "bogus_field") != NULL);
    jq_it_resp_cleanup(&r);
    post_expect(&srv, "{}", 400, "missing_field");
    post_expect(&srv, "{\"timeout_ms\":1000}", 400, "missing_field");
    post_expect(&srv, "{\"command\":\"true\"}", 400, "invalid_field");
    post_expect(&srv, "{\"command\":[]}", 400, "invalid_field");
    post_expect(&srv, "{\"command\":[1]}", 400, "invalid_field");
    post_expect(&srv, "{\"command\":[\"true\"],\"timeout_ms\":\"5\"}", 400, "invalid_field");
    post_expect(&srv, "{\"command\":[\"true\"],\"timeout_ms\":0}", 400, "invalid_field");
    post_expect(&srv, "{\"command\":[\"true\"],\"env\":{\"PATH\":\"/x\"}}", 400, "invalid_field");
    post_expect(&srv, "{\"command\":[\"true\"],\"env\":{\"1BAD\":\"x\"}}", 400, "invalid_field");
    assert_no_jobs(&srv);
    jq_it_finish(&srv);
}

static void bad_parameter(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    get_expect(&srv, "/v1/jobs/abc", 400, "bad_parameter");
    get_expect(&srv, "/v1/jobs?limit=0", 400, "bad_parameter");
    get_expect(&srv, "/v1/jobs?limit=x", 400, "bad_parameter");
    get_expect(&srv, "/v1/jobs?limit=1001", 400, "bad_parameter");
    get_expect(&srv, "/v1/jobs?state=bogus", 400, "bad_parameter");
    get_expect(&srv, "/v1/jobs/99999999999999999999999", 400, "bad_parameter");
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    char path[64];
    snprintf(path, sizeof(path), "/v1/jobs/%lld?wait=abc", (long long)id);
    get_expect(&srv, path, 400, "bad_parameter");
    snprintf(path, sizeof(path), "/v1/jobs/%lld?wait=-1", (long long)id);
    get_expect(&srv, path, 400, "bad_parameter");
    jq_it_finish(&srv);
}

static void not_found(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    get_expect(&srv, "/v1/jobs/999999", 404, "not_found");
    get_expect(&srv, "/v1/jobs/999999/stdout", 404, "not_found");
    get_expect(&srv, "/nope", 404, "not_found");
    get_expect(&srv, "/v1/jobz", 404, "not_found");
    jq_it_finish(&srv);
}

static void method_not_allowed(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, NULL, NULL);
    ASSERT_EQ(jq_it_request(&srv, "PUT", "/v1/jobs", "{}", SIZE_MAX, NULL, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 405, "method_not_allowed");
    if (!strstr(r.allow, "GET") || !strstr(r.allow, "POST"))
        JQ_FAIL_AT(__FILE__, __LINE__, "Allow: '%s' (want GET and POST)", r.allow);
    jq_it_resp_cleanup(&r);
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    char path[64];
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    ASSERT_EQ(jq_it_request(&srv, "POST", path, "{}", SIZE_MAX, NULL, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 405, "method_not_allowed");
    if (!strstr(r.allow, "GET") || !strstr(r.allow, "DELETE"))
        JQ_FAIL_AT(__FILE__, __LINE__, "Allow: '%s' (want GET and DELETE)", r.allow);
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(jq_it_request(&srv, "DELETE", "/healthz", NULL, 0, NULL, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 405, "method_not_allowed");
    ASSERT_TRUE(strstr(r.allow, "GET") != NULL);
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

/* Over the 8 MiB cap: refused on the Content-Length alone (the body is
 * never sent), and also when curl sends a real body. */
static void payload_too_large(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    char req[512];
    jq_it_start(&srv, NULL, NULL);
    int n = snprintf(req, sizeof(req),
                     "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %u\r\n\r\n",
                     JQ_MAX_BODY_BYTES + 1);
    ASSERT_EQ(jq_it_raw_status(&srv, req, (size_t)n), 413);

    size_t len = JQ_MAX_BODY_BYTES + 1;
    char *body = malloc(len);
    ASSERT_TRUE(body != NULL);
    memset(body, ' ', len);
    memcpy(body, "{\"command\":[\"true\"]}", 20);
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/jobs", body, len, NULL, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 413, "payload_too_large");
    jq_it_resp_cleanup(&r);
    free(body);
    assert_no_jobs(&srv);
    jq_it_finish(&srv);
}

static void unsupported_media_type(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    static const char *const text[] = {"Content-Type: text/plain", NULL};
    static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    jq_it_start(&srv, NULL, NULL);
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/jobs", "{\"command\":[\"true\"]}", SIZE_MAX, text, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 415, "unsupported_media_type");
    jq_it_resp_cleanup(&r);
    assert_no_jobs(&srv);
    /* What `curl -d` sends is documented as accepted. */
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/jobs", "{\"command\":[\"true\"]}", SIZE_MAX, form, &r), 0);
    ASSERT_EQ(r.status, 201);
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static void out_of_range(void)
{
    struct jq_it_server srv;
    static const char *const args[] = {"--max-timeout-ms", "5000", "--default-timeout-ms", "1000",
                                       "--max-output-bytes", "4096", NULL};
    jq_it_start(&srv, args, NULL);
    post_expect(&srv, "{\"command\":[\"true\"],\"timeout_ms\":5001}", 422, "out_of_range");
    post_expect(&srv, "{\"command\":[\"true\"],\"max_output_bytes\":4097}", 422, "out_of_range");
    assert_no_jobs(&srv);
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"],\"timeout_ms\":5000}"), 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"malformed_json", malformed_json},
    {"field_errors", field_errors},
    {"bad_parameter", bad_parameter},
    {"not_found", not_found},
    {"method_not_allowed", method_not_allowed},
    {"payload_too_large", payload_too_large},
    {"unsupported_media_type", unsupported_media_type},
    {"out_of_range", out_of_range},
};

JQ_TEST_MAIN(cases)
