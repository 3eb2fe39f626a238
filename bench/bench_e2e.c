/* bench_e2e.c: end to end through a running jobqd — throughput (N `true`
 * jobs submitted in batches of 100 on one keep-alive connection, then every
 * result read back with ?wait) and latency (sequential jobs, submit ->
 * result via ?wait). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "job.h"

#define BATCH_JOBS 100

static int submit_batch(CURL *h, const char *base, int n, int64_t *ids)
{
    char url[512];
    size_t cap = 64 + (size_t)n * 32;
    char *body = malloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"jobs\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s{\"command\":[\"true\"]}", i ? "," : "");
    snprintf(body + len, cap - len, "]}");
    snprintf(url, sizeof(url), "%s/v1/jobs", base);
    cJSON *j = jq_bench_request(h, url, body);
    cJSON *jobs = cJSON_GetObjectItem(j, "jobs");
    int got = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, jobs) ids[got++] = (int64_t)cJSON_GetObjectItem(it, "id")->valuedouble;
    cJSON_Delete(j);
    free(body);
    return got;
}

static const char *wait_state(CURL *h, const char *base, int64_t id, char *state, size_t cap)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/v1/jobs/%lld?wait=60", base, (long long)id);
    cJSON *j = jq_bench_request(h, url, NULL);
    snprintf(state, cap, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")));
    cJSON_Delete(j);
    return state;
}

void jq_bench_throughput(const char *base, int n)
{
    CURL *h = curl_easy_init();
    int64_t *ids = calloc((size_t)n, sizeof(*ids));
    int64_t t0 = jq_mono_ms();
    for (int done = 0; done < n; done += BATCH_JOBS)
        submit_batch(h, base, n - done < BATCH_JOBS ? n - done : BATCH_JOBS, ids + done);
    int64_t t_submitted = jq_mono_ms();
    int ok = 0;
    char state[32];
    for (int i = 0; i < n; i++)
        ok += strcmp(wait_state(h, base, ids[i], state, sizeof(state)), "succeeded") == 0;
    double secs = (double)(jq_mono_ms() - t0) / 1000.0;
    printf("throughput: %d jobs (%d succeeded) in %.3f s = %.0f jobs/s (submission took %.3f s)\n", n, ok, secs,
           n / secs, (double)(t_submitted - t0) / 1000.0);
    free(ids);
    curl_easy_cleanup(h);
}

void jq_bench_latency(const char *base, int n)
{
    CURL *h = curl_easy_init();
    double *ms = calloc((size_t)n * 3, sizeof(double)), *post_ms = ms + n, *wait_ms = ms + 2 * n;
    char url[512], state[32];
    snprintf(url, sizeof(url), "%s/v1/jobs", base);
    for (int i = 0; i < n; i++) {
        double t0 = jq_bench_now_us();
        cJSON *j = jq_bench_request(h, url, "{\"command\":[\"true\"]}");
        double t_201 = jq_bench_now_us();
        int64_t id = (int64_t)cJSON_GetObjectItem(j, "id")->valuedouble;
        cJSON_Delete(j);
        wait_state(h, base, id, state, sizeof(state));
        ms[i] = (jq_bench_now_us() - t0) / 1000.0;
        post_ms[i] = (t_201 - t0) / 1000.0;
        wait_ms[i] = ms[i] - post_ms[i];
    }
    jq_bench_print_percentiles("latency submit->result", ms, (size_t)n);
    jq_bench_print_percentiles("  of which POST -> 201", post_ms, (size_t)n);
    jq_bench_print_percentiles("  of which 201 -> result", wait_ms, (size_t)n);
    free(ms);
    curl_easy_cleanup(h);
}
