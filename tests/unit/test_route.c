/* test_route.c: the router against the API contract. Every path and method
 * of docs/openapi.yaml (as embedded in the server) is a route the router
 * answers with that method, and every route the router knows, with every
 * method it allows, is in the document. Also the id rules of route.c. */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "route.h"
#include "testlib.h"

#define MAX_OPS 64

struct op {
    char path[128];
    char method[8]; /* upper case */
};

/* The (path, method) pairs under `paths:`: paths at two spaces, methods
 * at four. */
static size_t doc_ops(struct op *ops)
{
    size_t n = 0;
    bool in_paths = false;
    char path[128] = "";
    const char *p = (const char *)jq_openapi_yaml;
    while (*p) {
        size_t len = strcspn(p, "\n");
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(len < 255 ? len : 255), p);
        if (line[0] != ' ' && line[0] != '\0')
            in_paths = strcmp(line, "paths:") == 0;
        else if (in_paths && strncmp(line, "  /", 3) == 0)
            snprintf(path, sizeof path, "%.*s", (int)(strlen(line) - 3), line + 2);
        else if (in_paths && path[0])
            for (const char *const *m = (const char *const[]){"get", "post", "delete", "put", "patch", NULL}; *m; m++) {
                char want[16];
                snprintf(want, sizeof want, "    %s:", *m);
                if (strcmp(line, want) == 0 && n < MAX_OPS) {
                    snprintf(ops[n].path, sizeof ops[n].path, "%s", path);
                    snprintf(ops[n].method, sizeof ops[n].method, "%s", *m);
                    for (char *c = ops[n].method; *c; c++)
                        *c = (char)(*c - 32); /* upper case: the names are lower-case letters */
                    n++;
                }
            }
        p += len + (p[len] == '\n');
    }
    return n;
}

/* "/v1/jobs/{id}/stdout" -> "/v1/jobs/1/stdout", "/v1/queues/{name}" ->
 * "/v1/queues/default". */
static void concrete(const char *pattern, char *out, size_t cap)
{
    const char *brace = strstr(pattern, "{id}"), *name = strstr(pattern, "{name}");
    int n = brace  ? snprintf(out, cap, "%.*s1%s", (int)(brace - pattern), pattern, brace + 4)
            : name ? snprintf(out, cap, "%.*sdefault%s", (int)(name - pattern), pattern, name + 6)
                   : snprintf(out, cap, "%s", pattern);
    ASSERT_TRUE(n > 0 && (size_t)n < cap);
}

static void doc_paths_are_routes(void)
{
    struct op ops[MAX_OPS];
    size_t n = doc_ops(ops);
    ASSERT_GE(n, 10);
    for (size_t i = 0; i < n; i++) {
        char url[160];
        concrete(ops[i].path, url, sizeof url);
        struct jq_route r = jq_route_match(url);
        if (r.kind == JQ_ROUTE_NONE || !jq_route_allows(r.kind, ops[i].method))
            JQ_FAIL_AT(__FILE__, __LINE__, "documented %s %s is not routed", ops[i].method, ops[i].path);
        ASSERT_STREQ(jq_route_pattern(r.kind), ops[i].path);
    }
}

static bool documented(const struct op *ops, size_t n, const char *path, const char *method)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].path, path) == 0 && strcmp(ops[i].method, method) == 0)
            return true;
    return false;
}

static void routes_are_documented(void)
{
    struct op ops[MAX_OPS];
    size_t n = doc_ops(ops);
    static const char *const methods[] = {"GET", "POST", "DELETE", "PUT", "PATCH"};
    for (int k = 0; k < JQ_ROUTE_NONE; k++) {
        const char *pattern = jq_route_pattern((enum jq_route_kind)k);
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++)
            if (jq_route_allows((enum jq_route_kind)k, methods[m]) && !documented(ops, n, pattern, methods[m]))
                JQ_FAIL_AT(__FILE__, __LINE__, "route %s %s is not in docs/openapi.yaml", methods[m], pattern);
    }
}

static void ids(void)
{
    static const struct {
        const char *url;
        bool valid;
        long long id;
    } cases[] = {
        {"/v1/jobs/1", true, 1}, {"/v1/jobs/9223372036854775807", true, 9223372036854775807LL},
        {"/v1/jobs/9223372036854775808", false, 0}, {"/v1/jobs/0", false, 0}, {"/v1/jobs/01", false, 0},
        {"/v1/jobs/+1", false, 0}, {"/v1/jobs/-1", false, 0}, {"/v1/jobs/1x", false, 0},
        {"/v1/jobs/99999999999999999999", false, 0}, {"/v1/jobs/ 1", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jq_route r = jq_route_match(cases[i].url);
        ASSERT_EQ(r.kind, JQ_ROUTE_JOB);
        ASSERT_EQ(r.id_valid, cases[i].valid);
        if (cases[i].valid)
            ASSERT_EQ(r.id, cases[i].id);
    }
    ASSERT_EQ(jq_route_match("/v1/jobs/").kind, JQ_ROUTE_NONE);
    ASSERT_EQ(jq_route_match("/v1/jobsx").kind, JQ_ROUTE_NONE);
    ASSERT_EQ(jq_route_match("/v1/jobs/1/stdout/").kind, JQ_ROUTE_NONE);
    ASSERT_TRUE(!jq_route_allows(JQ_ROUTE_JOB, "POST"));
}

static const struct jq_test_case cases[] = {
    {"doc_paths_are_routes", doc_paths_are_routes},
    {"routes_are_documented", routes_are_documented},
    {"ids", ids},
};

JQ_TEST_MAIN(cases)
