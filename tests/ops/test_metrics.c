/* test_metrics.c: GET /metrics checked by a strict parser of the Prometheus
 * text exposition format (names, labels, escapes, values, one TYPE per
 * family before its samples, contiguous families, no duplicate series,
 * histograms cumulative with +Inf equal to _count), and its numbers and
 * those of GET /v1/stats checked against what the test made the server do.
 * A real jobqd over HTTP. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_SERIES 512
#define MAX_FAMILIES 64

struct series {
    char name[128];
    char labels[256]; /* as written between the braces, for lookups */
    double value;
};

struct exposition {
    struct series s[MAX_SERIES];
    size_t n;
    char family[MAX_FAMILIES][128];
    char type[MAX_FAMILIES][16];
    size_t nfam;
};

static bool name_ok(const char *p, size_t len, bool label)
{
    if (len == 0 || !(isalpha((unsigned char)p[0]) || p[0] == '_' || (!label && p[0] == ':')))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)p[i]) || p[i] == '_' || (!label && p[i] == ':')))
            return false;
    return true;
}

/* Labels {a="x",b="y"}: names valid, values quoted with only \\ \" \n
 * escapes. Returns the position after '}' or NULL. */
static const char *parse_labels(const char *p)
{
    p++;
    while (*p != '}') {
        const char *eq = strchr(p, '=');
        if (!eq || !name_ok(p, (size_t)(eq - p), true) || eq[1] != '"')
            return NULL;
        p = eq + 2;
        while (*p != '"') {
            if (*p == '\0' || *p == '\n')
                return NULL;
            if (*p == '\\' && !strchr("\\\"n", *++p))
                return NULL;
            p++;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

static double parse_value(const char *v)
{
    if (strcmp(v, "+Inf") == 0)
        return INFINITY;
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || (*end != '\0' && *end != ' '))
        JQ_FAIL_AT(__FILE__, __LINE__, "bad sample value '%s'", v);
    return d;
}

/* The family a sample belongs to: its name without a histogram suffix. */
static void family_of(const char *name, const char *type_of_last, char *out, size_t cap)
{
    snprintf(out, cap, "%s", name);
    if (strcmp(type_of_last, "histogram") != 0)
        return;
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(out), k = strlen(suffixes[i]);
        if (n > k && strcmp(out + n - k, suffixes[i]) == 0) {
            out[n - k] = '\0';
            return;
        }
    }
}

static void parse_comment(struct exposition *e, const char *line)
{
    char kind[8], name[128], rest[16] = "";
    if (sscanf(line, "# %7s %127s %15[^\n]", kind, name, rest) < 2)
        JQ_FAIL_AT(__FILE__, __LINE__, "bad comment '%s'", line);
    ASSERT_TRUE(name_ok(name, strlen(name), false));
    if (strcmp(kind, "TYPE") != 0)
        return;
    ASSERT_TRUE(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 || strcmp(rest, "histogram") == 0);
    for (size_t i = 0; i < e->nfam; i++)
        if (strcmp(e->family[i], name) == 0)
            JQ_FAIL_AT(__FILE__, __LINE__, "second TYPE for %s", name);
    ASSERT_TRUE(e->nfam < MAX_FAMILIES);
    snprintf(e->family[e->nfam], sizeof e->family[0], "%s", name);
    snprintf(e->type[e->nfam++], sizeof e->type[0], "%s", rest);
}

static void parse_sample(struct exposition *e, const char *line)
{
    ASSERT_TRUE(e->nfam > 0 && e->n < MAX_SERIES);
    struct series *s = &e->s[e->n];
    size_t name_len = strcspn(line, "{ ");
    ASSERT_TRUE(name_ok(line, name_len, false) && name_len < sizeof s->name);
    memcpy(s->name, line, name_len);
    s->name[name_len] = '\0';
    const char *p = line + name_len;
    if (*p == '{') {
        const char *end = parse_labels(p);
        if (!end)
            JQ_FAIL_AT(__FILE__, __LINE__, "bad labels in '%s'", line);
        snprintf(s->labels, sizeof s->labels, "%.*s", (int)(end - p - 2), p + 1);
        p = end;
    }
    ASSERT_TRUE(*p == ' ');
    s->value = parse_value(p + 1);
    char fam[128];
    family_of(s->name, e->type[e->nfam - 1], fam, sizeof fam);
    if (strcmp(fam, e->family[e->nfam - 1]) != 0) /* samples follow their own TYPE, contiguously */
        JQ_FAIL_AT(__FILE__, __LINE__, "sample %s outside its family (current %s)", s->name, e->family[e->nfam - 1]);
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->s[i].name, s->name) == 0 && strcmp(e->s[i].labels, s->labels) == 0)
            JQ_FAIL_AT(__FILE__, __LINE__, "duplicate series %s{%s}", s->name, s->labels);
    e->n++;
}

static void parse_exposition(struct exposition *e, char *text)
{
    memset(e, 0, sizeof *e);
    ASSERT_TRUE(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            parse_comment(e, line);
        else
            parse_sample(e, line);
    }
}

static double value_of(const struct exposition *e, const char *name, const char *labels)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->s[i].name, name) == 0 && strcmp(e->s[i].labels, labels) == 0)
            return e->s[i].value;
    JQ_FAIL_AT(__FILE__, __LINE__, "no series %s{%s}", name, labels);
}

/* Buckets cumulative and increasing in le, +Inf last and equal to _count. */
static void check_histogram(const struct exposition *e, const char *family)
{
    char bucket[160], count[160];
    snprintf(bucket, sizeof bucket, "%s_bucket", family);
    snprintf(count, sizeof count, "%s_count", family);
    double last_le = -1, last_v = 0, inf_v = -1;
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->s[i].name, bucket) != 0)
            continue;
        ASSERT_TRUE(strncmp(e->s[i].labels, "le=\"", 4) == 0);
        double le = strncmp(e->s[i].labels + 4, "+Inf", 4) == 0 ? INFINITY : strtod(e->s[i].labels + 4, NULL);
        ASSERT_TRUE(le > last_le && e->s[i].value >= last_v);
        last_le = le;
        last_v = e->s[i].value;
        if (isinf(le))
            inf_v = e->s[i].value;
    }
    ASSERT_TRUE(isinf(last_le));
    ASSERT_TRUE(inf_v == value_of(e, count, ""));
    char sum[160];
    snprintf(sum, sizeof sum, "%s_sum", family);
    ASSERT_TRUE(value_of(e, sum, "") >= 0);
}

static void scrape(const struct jq_it_server *srv, struct exposition *e)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/metrics", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(strncmp(r.content_type, "text/plain; version=0.0.4", 25) == 0);
    parse_exposition(e, r.body);
    jq_it_resp_cleanup(&r);
}

static void run_some_jobs(const struct jq_it_server *srv)
{
    cJSON_Delete(jq_it_wait_job(srv, jq_it_submit(srv, "{\"command\":[\"true\"]}"), 20));
    cJSON_Delete(jq_it_wait_job(srv, jq_it_submit(srv, "{\"command\":[\"sh\",\"-c\",\"exit 3\"]}"), 20));
    cJSON_Delete(jq_it_wait_job(srv, jq_it_submit(srv, "{\"command\":[\"sleep\",\"30\"],\"timeout_ms\":200,"
                                                       "\"kill_grace_ms\":0}"), 20));
    /* Two attempts, one job: a retry, then failed for good. */
    cJSON_Delete(jq_it_wait_job(srv, jq_it_submit(srv, "{\"command\":[\"sh\",\"-c\",\"exit 3\"],\"retry_on\":[3],"
                                                       "\"max_attempts\":2,\"backoff_ms\":0}"), 20));
    struct jq_it_resp r;
    jq_it_get(srv, "/v1/jobs/999", &r);
    jq_it_resp_cleanup(&r);
}

static void metrics_strict_and_true(void)
{
    struct jq_it_server srv;
    const char *const args[] = {"--workers", "2", NULL};
    jq_it_start(&srv, args, NULL);
    run_some_jobs(&srv);
    static struct exposition e;
    scrape(&srv, &e);
    ASSERT_EQ(value_of(&e, "jobq_jobs_submitted_total", ""), 4);
    ASSERT_EQ(value_of(&e, "jobq_jobs_finished_total", "state=\"succeeded\""), 1);
    ASSERT_EQ(value_of(&e, "jobq_jobs_finished_total", "state=\"failed\""), 2);
    ASSERT_EQ(value_of(&e, "jobq_retries_total", ""), 1);
    ASSERT_EQ(value_of(&e, "jobq_jobs_finished_total", "state=\"timed_out\""), 1);
    ASSERT_EQ(value_of(&e, "jobq_kills_total", "reason=\"timeout\""), 1);
    ASSERT_EQ(value_of(&e, "jobq_jobs", "state=\"succeeded\""), 1);
    ASSERT_EQ(value_of(&e, "jobq_workers", ""), 2);
    ASSERT_EQ(value_of(&e, "jobq_workers_alive", ""), 2);
    ASSERT_EQ(value_of(&e, "jobq_http_requests_total", "route=\"/v1/jobs\",code=\"201\""), 4);
    ASSERT_EQ(value_of(&e, "jobq_http_requests_total", "route=\"/v1/jobs/{id}\",code=\"404\""), 1);
    ASSERT_EQ(value_of(&e, "jobq_job_run_seconds_count", ""), 5); /* per attempt */
    ASSERT_EQ(value_of(&e, "jobq_job_queue_wait_seconds_count", ""), 5);
    check_histogram(&e, "jobq_job_run_seconds");
    check_histogram(&e, "jobq_job_queue_wait_seconds");
    jq_it_finish(&srv);
}

static void stats_json(void)
{
    struct jq_it_server srv;
    const char *const args[] = {"--workers", "2", NULL};
    jq_it_start(&srv, args, NULL);
    run_some_jobs(&srv);
    struct jq_it_resp r;
    jq_it_get(&srv, "/v1/stats", &r);
    ASSERT_EQ(r.status, 200);
    cJSON *jobs = cJSON_GetObjectItemCaseSensitive(r.json, "jobs");
    cJSON *finished = cJSON_GetObjectItemCaseSensitive(r.json, "finished_total");
    cJSON *workers = cJSON_GetObjectItemCaseSensitive(r.json, "workers");
    ASSERT_EQ(jq_it_json_int(jobs, "failed", -1), 2);
    ASSERT_EQ(jq_it_json_int(finished, "failed", -1), 2);
    ASSERT_EQ(jq_it_json_int(r.json, "retries_total", -1), 1);
    ASSERT_EQ(jq_it_json_int(finished, "timed_out", -1), 1);
    ASSERT_EQ(jq_it_json_int(workers, "alive", -1), 2);
    ASSERT_EQ(jq_it_json_int(r.json, "submitted_total", -1), 4);
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"metrics_strict_and_true", metrics_strict_and_true},
    {"stats_json", stats_json},
};

JQ_TEST_MAIN(cases)
