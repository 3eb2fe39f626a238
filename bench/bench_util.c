/* bench_util.c: time, percentiles, /proc memory and the one-request HTTP
 * helper the measures share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double jq_bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double jq_bench_percentile(const double *sorted_ms, size_t n, double p)
{
    size_t i = (size_t)((double)n * p / 100.0);
    return n == 0 ? 0 : sorted_ms[i < n ? i : n - 1];
}

void jq_bench_print_percentiles(const char *what, double *ms, size_t n)
{
    qsort(ms, n, sizeof(double), cmp_double);
    printf("%s: n=%zu p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms\n", what, n,
           jq_bench_percentile(ms, n, 50), jq_bench_percentile(ms, n, 90), jq_bench_percentile(ms, n, 99),
           n ? ms[n - 1] : 0);
}

struct body {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct body *b = ud;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, p, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

cJSON *jq_bench_request(CURL *h, const char *url, const char *post_body)
{
    struct body b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (post_body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body);
    if (curl_easy_perform(h) != CURLE_OK || !b.data) {
        fprintf(stderr, "request to %s failed\n", url);
        exit(1);
    }
    cJSON *j = cJSON_Parse(b.data);
    free(b.data);
    return j;
}

void jq_bench_rss_kb(pid_t pid, long *rss_kb, long *hwm_kb)
{
    char path[64], line[256];
    *rss_kb = *hwm_kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}
