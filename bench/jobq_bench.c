/* jobq_bench.c: end-to-end numbers for a running jobqd, and the baselines
 * to compare them with, measured in the same run.
 *   jobq_bench throughput URL N   N `true` jobs submitted (batches of 100), all results read back
 *   jobq_bench latency URL N      N sequential `true` jobs, submit -> result via ?wait; p50/p90/p99
 *   jobq_bench spawn N W          baseline: W processes each posix_spawn + pipes + wait of /bin/true
 * Prints one line of numbers per run. */
#include <cJSON.h>
#include <curl/curl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"

extern char **environ;

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

/* One request on a reused handle (keep-alive). Returns the parsed JSON. */
static cJSON *request(CURL *h, const char *url, const char *post_body)
{
    struct body b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
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

static int64_t submit_batch(CURL *h, const char *base, int n, int64_t *ids)
{
    char url[512];
    size_t cap = 64 + (size_t)n * 32;
    char *body = malloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"jobs\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s{\"command\":[\"true\"]}", i ? "," : "");
    snprintf(body + len, cap - len, "]}");
    snprintf(url, sizeof(url), "%s/v1/jobs", base);
    cJSON *j = request(h, url, body);
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
    cJSON *j = request(h, url, NULL);
    snprintf(state, cap, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")));
    cJSON_Delete(j);
    return state;
}

static void throughput(const char *base, int n)
{
    CURL *h = curl_easy_init();
    int64_t *ids = calloc((size_t)n, sizeof(*ids));
    int64_t t0 = jq_mono_ms();
    for (int done = 0; done < n; done += 100)
        submit_batch(h, base, n - done < 100 ? n - done : 100, ids + done);
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void print_percentiles(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof(double), cmp_double);
    printf("%s: n=%d p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms\n", what, n, ms[n / 2], ms[n * 9 / 10],
           ms[n * 99 / 100], ms[n - 1]);
}

static void latency(const char *base, int n)
{
    CURL *h = curl_easy_init();
    double *ms = calloc((size_t)n, sizeof(double));
    char url[512], state[32];
    snprintf(url, sizeof(url), "%s/v1/jobs", base);
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        cJSON *j = request(h, url, "{\"command\":[\"true\"]}");
        int64_t id = (int64_t)cJSON_GetObjectItem(j, "id")->valuedouble;
        cJSON_Delete(j);
        wait_state(h, base, id, state, sizeof(state));
        ms[i] = (now_us() - t0) / 1000.0;
    }
    print_percentiles("latency submit->result", ms, n);
    free(ms);
    curl_easy_cleanup(h);
}

/* One spawn of /bin/true with its output on a pipe, read to EOF, reaped. */
static void spawn_true(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {"true", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", &fa, NULL, argv, environ) != 0)
        exit(1);
    close(fds[1]);
    char buf[64];
    while (read(fds[0], buf, sizeof(buf)) > 0)
        ;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    posix_spawn_file_actions_destroy(&fa);
}

static void spawn_pool(int n, int w)
{
    double *ms = calloc(200, sizeof(double));
    for (int i = 0; i < 200; i++) {
        double t0 = now_us();
        spawn_true();
        ms[i] = (now_us() - t0) / 1000.0;
    }
    print_percentiles("bare spawn of true (sequential)", ms, 200);
    free(ms);
    int64_t t0 = jq_mono_ms();
    for (int p = 0; p < w; p++) {
        if (fork() == 0) {
            for (int i = p; i < n; i += w)
                spawn_true();
            _exit(0);
        }
    }
    while (wait(NULL) > 0)
        ;
    double secs = (double)(jq_mono_ms() - t0) / 1000.0;
    printf("raw spawn pool: %d spawns with %d processes in %.3f s = %.0f spawns/s\n", n, w, secs, n / secs);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "throughput") == 0)
        throughput(argv[2], atoi(argv[3]));
    else if (argc == 4 && strcmp(argv[1], "latency") == 0)
        latency(argv[2], atoi(argv[3]));
    else if (argc == 4 && strcmp(argv[1], "spawn") == 0)
        spawn_pool(atoi(argv[2]), atoi(argv[3]));
    else {
        fprintf(stderr, "usage: jobq_bench throughput|latency URL N | jobq_bench spawn N W\n");
        return 2;
    }
    return 0;
}
