/* test_logs.c: --log-format json gives one JSON object per line, from the
 * master and from every worker, with time, level, role, pid, msg, and job
 * when the event is about one; the token never appears in the log. A real
 * jobqd; its stderr is the harness's log file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TOKEN "log-test-token-0123456789abcdef"

struct tally {
    int lines, master, worker, with_job;
};

static void check_line(const char *line, struct tally *t)
{
    cJSON *o = cJSON_Parse(line);
    if (!cJSON_IsObject(o))
        JQ_FAIL_AT(__FILE__, __LINE__, "not a JSON object: %s", line);
    static const char *const strings[] = {"time", "level", "role", "msg"};
    for (int i = 0; i < 4; i++)
        ASSERT_TRUE(jq_it_json_str(o, strings[i]) != NULL);
    ASSERT_TRUE(jq_it_json_int(o, "pid", 0) > 0);
    const char *role = jq_it_json_str(o, "role");
    t->master += strcmp(role, "master") == 0;
    t->worker += strncmp(role, "worker", 6) == 0;
    t->with_job += jq_it_json_int(o, "job", 0) > 0;
    t->lines++;
    cJSON_Delete(o);
}

static void json_lines(void)
{
    struct jq_it_server srv;
    const char *const args[] = {"--log-format", "json", "--log-level", "debug", "--workers", "1", NULL};
    const char *const env[] = {"JOBQ_TOKEN=" TOKEN, NULL};
    jq_it_start(&srv, args, env);
    const char *auth[] = {"Authorization: Bearer " TOKEN, NULL};
    struct jq_it_resp r;
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/jobs", "{\"command\":[\"no-such-command-x\"]}", SIZE_MAX, auth, &r), 0);
    ASSERT_EQ(r.status, 201);
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(jq_it_request(&srv, "GET", "/v1/jobs/1?wait=10", NULL, 0, auth, &r), 0);
    ASSERT_STREQ(jq_it_json_str(r.json, "state"), "failed");
    jq_it_resp_cleanup(&r);
    jq_it_stop(&srv);
    FILE *f = fopen(srv.log_path, "r");
    ASSERT_TRUE(f != NULL);
    char line[4096];
    struct tally t = {0, 0, 0, 0};
    while (fgets(line, sizeof line, f)) {
        ASSERT_TRUE(strstr(line, TOKEN) == NULL);
        check_line(line, &t);
    }
    fclose(f);
    ASSERT_GE(t.master, 2);
    ASSERT_GE(t.worker, 1);
    ASSERT_GE(t.with_job, 1);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"json_lines", json_lines},
};

JQ_TEST_MAIN(cases)
