/* test_list.c: integration tests of batch submission (ids in order, all or
 * nothing) and of the keyset-paginated list (pages, next_after, state
 * filter, no output in list items). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* {"jobs":[{"command":["sh","-c","echo 0; exit 0"]}, ...]}; every
 * fail_every-th job (1-based) exits 1 when fail_every > 0. */
static char *batch_body(int n, int fail_every)
{
    size_t cap = 64 + (size_t)n * 96, len = 0;
    char *s = malloc(cap);
    ASSERT_TRUE(s != NULL);
    len += (size_t)snprintf(s + len, cap - len, "{\"jobs\":[");
    for (int i = 0; i < n; i++) {
        int code = fail_every > 0 && (i + 1) % fail_every == 0;
        len += (size_t)snprintf(s + len, cap - len, "%s{\"command\":[\"sh\",\"-c\",\"echo %d; exit %d\"]}",
                                i ? "," : "", i, code);
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* POST a batch; returns the ids (caller frees). */
static int64_t *submit_batch(const struct jq_it_server *srv, int n, int fail_every)
{
    struct jq_it_resp r;
    char *body = batch_body(n, fail_every);
    jq_it_post(srv, "/v1/jobs", body, &r);
    free(body);
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(r.json, "jobs");
    if (r.status != 201 || cJSON_GetArraySize(jobs) != n)
        JQ_FAIL_AT(__FILE__, __LINE__, "batch of %d: %ld %.500s", n, r.status, r.body);
    int64_t *ids = calloc((size_t)n, sizeof(int64_t));
    ASSERT_TRUE(ids != NULL);
    for (int i = 0; i < n; i++)
        ids[i] = jq_it_json_int(cJSON_GetArrayItem(jobs, i), "id", -1);
    jq_it_resp_cleanup(&r);
    return ids;
}

/* Jobs in the list, fetched with a page size of 1000 (one page here). */
static int list_count(const struct jq_it_server *srv)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/v1/jobs?limit=1000", &r);
    ASSERT_EQ(r.status, 200);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "jobs"));
    ASSERT_TRUE(jq_it_json_is_null(r.json, "next_after"));
    jq_it_resp_cleanup(&r);
    return n;
}

static void batch_order(void)
{
    struct jq_it_server srv;
    char want[32];
    jq_it_start(&srv, NULL, NULL);
    int64_t *ids = submit_batch(&srv, 20, 0);
    for (int i = 1; i < 20; i++)
        ASSERT_TRUE(ids[i] > ids[i - 1]);
    for (int i = 0; i < 20; i++) {
        cJSON *job = jq_it_wait_job(&srv, ids[i], 20);
        snprintf(want, sizeof(want), "%d\n", i);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
        ASSERT_STREQ(jq_it_json_str(job, "stdout"), want);
        cJSON_Delete(job);
    }
    free(ids);
    ASSERT_EQ(list_count(&srv), 20);
    jq_it_finish(&srv);
}

/* One bad job rejects the batch: 400/422 naming its index, nothing stored. */
static void batch_all_or_nothing(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    static const char *const args[] = {"--max-timeout-ms", "5000", "--default-timeout-ms", "1000", NULL};
    jq_it_start(&srv, args, NULL);
    cJSON_Delete(jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"]}"), 10));
    ASSERT_EQ(list_count(&srv), 1);

    jq_it_post(&srv, "/v1/jobs", "{\"jobs\":[{\"command\":[\"true\"]},{\"command\":\"true\"},{\"command\":[\"true\"]}]}",
               &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "invalid_field");
    const char *msg = jq_it_json_str(cJSON_GetObjectItemCaseSensitive(r.json, "error"), "message");
    if (!strstr(msg, "jobs[1]"))
        JQ_FAIL_AT(__FILE__, __LINE__, "message does not name jobs[1]: %s", msg);
    jq_it_resp_cleanup(&r);

    jq_it_post(&srv, "/v1/jobs", "{\"jobs\":[{\"command\":[\"true\"]},{\"command\":[\"true\"],\"timeout_ms\":9000}]}",
               &r);
    JQ_IT_ASSERT_ERROR(&r, 422, "out_of_range");
    jq_it_resp_cleanup(&r);
    ASSERT_EQ(list_count(&srv), 1);
    jq_it_finish(&srv);
}

/* Walk the pages of `query` (limit 10); returns the ids seen in order. */
static int walk_pages(const struct jq_it_server *srv, const char *query, int64_t *ids, int cap, int *pages)
{
    char path[256];
    long long after = 0;
    int n = 0;
    *pages = 0;
    for (;;) {
        struct jq_it_resp r;
        snprintf(path, sizeof(path), "/v1/jobs?limit=10%s%s", query, after ? "&after=" : "");
        if (after)
            snprintf(path + strlen(path), sizeof(path) - strlen(path), "%lld", after);
        jq_it_get(srv, path, &r);
        ASSERT_EQ(r.status, 200);
        const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(r.json, "jobs"), *j;
        ASSERT_TRUE(cJSON_GetArraySize(jobs) <= 10);
        cJSON_ArrayForEach(j, jobs) {
            ASSERT_TRUE(n < cap);
            ids[n++] = jq_it_json_int(j, "id", -1);
            ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(j, "stdout") == NULL);
            ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(j, "stderr") == NULL);
            ASSERT_GE(jq_it_json_int(j, "stdout_bytes", -1), 2);
        }
        (*pages)++;
        bool last = jq_it_json_is_null(r.json, "next_after");
        if (!last) {
            ASSERT_EQ(jq_it_json_int(r.json, "next_after", -1), ids[n - 1]);
            after = jq_it_json_int(r.json, "next_after", -1);
        }
        jq_it_resp_cleanup(&r);
        if (last)
            return n;
        ASSERT_TRUE(*pages < 10);
    }
}

static void pagination(void)
{
    struct jq_it_server srv;
    int64_t seen[64], again[64];
    int pages;
    jq_it_start(&srv, NULL, NULL);
    int64_t *ids = submit_batch(&srv, 25, 0);
    for (int i = 0; i < 25; i++)
        cJSON_Delete(jq_it_wait_job(&srv, ids[i], 20));
    ASSERT_EQ(walk_pages(&srv, "", seen, 64, &pages), 25);
    ASSERT_EQ(pages, 3);
    for (int i = 0; i < 25; i++)
        ASSERT_EQ(seen[i], ids[i]); /* ascending, complete, no duplicates */
    ASSERT_EQ(walk_pages(&srv, "", again, 64, &pages), 25);
    ASSERT_EQ(memcmp(seen, again, sizeof(int64_t) * 25), 0); /* stable */
    free(ids);
    jq_it_finish(&srv);
}

static void state_filter(void)
{
    struct jq_it_server srv;
    int64_t seen[64];
    int pages;
    jq_it_start(&srv, NULL, NULL);
    int64_t *ids = submit_batch(&srv, 25, 5); /* jobs 5, 10, ... 25 fail */
    for (int i = 0; i < 25; i++)
        cJSON_Delete(jq_it_wait_job(&srv, ids[i], 20));
    ASSERT_EQ(walk_pages(&srv, "&state=failed", seen, 64, &pages), 5);
    ASSERT_EQ(pages, 1);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(seen[i], ids[5 * i + 4]);
    ASSERT_EQ(walk_pages(&srv, "&state=succeeded", seen, 64, &pages), 20);
    ASSERT_EQ(pages, 2);
    ASSERT_EQ(walk_pages(&srv, "&state=queued", seen, 64, &pages), 0);
    free(ids);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"batch_order", batch_order},
    {"batch_all_or_nothing", batch_all_or_nothing},
    {"pagination", pagination},
    {"state_filter", state_filter},
};

JQ_TEST_MAIN(cases)
