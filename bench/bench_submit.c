/* bench_submit.c: durable submissions — N POST /v1/jobs of one `true` job
 * over CONNS keep-alive connections kept busy at once (libcurl multi, split
 * over CLIENT_THREADS threads), every answer checked to be 201. The same
 * client measures the baseline: bench/trivial_httpd.c answers every request
 * with 201 and a small fixed JSON body. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define CLIENT_THREADS 2
#define JOB_BODY "{\"command\":[\"true\"]}"

struct client {
    char url[512];
    int n, conns;       /* requests and connections of this thread */
    double *ms;         /* n latencies */
    int done, created;  /* answered; of which 201 */
};

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static CURL *make_post(const char *url, double *t0)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, JOB_BODY);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_PRIVATE, t0);
    return h;
}

/* Record one answer; returns its easy handle. */
static CURL *finish_one(struct client *c, CURLMsg *msg)
{
    double *t0 = NULL;
    long status = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t0);
    if (msg->data.result == CURLE_OK)
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    c->ms[c->done++] = (jq_bench_now_us() - *t0) / 1000.0;
    c->created += status == 201;
    return msg->easy_handle;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    CURLM *m = curl_multi_init();
    double *t0 = calloc((size_t)c->conns, sizeof *t0);
    CURL **hs = calloc((size_t)c->conns, sizeof *hs);
    int sent = 0, running = 0;
    for (int i = 0; i < c->conns && sent < c->n; i++, sent++) {
        hs[i] = make_post(c->url, &t0[i]);
        t0[i] = jq_bench_now_us();
        curl_multi_add_handle(m, hs[i]);
    }
    while (c->done < c->n) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            CURL *h = finish_one(c, msg);
            curl_multi_remove_handle(m, h); /* the connection stays in the pool */
            if (sent++ < c->n) {
                double *start = NULL;
                curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&start);
                *start = jq_bench_now_us();
                curl_multi_add_handle(m, h);
            }
        }
        if (c->done < c->n)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (int i = 0; i < c->conns; i++)
        curl_easy_cleanup(hs[i]);
    curl_multi_cleanup(m);
    free(hs);
    free(t0);
    return NULL;
}

void jq_bench_submit(const char *base, int n, int conns)
{
    struct client cs[CLIENT_THREADS];
    pthread_t th[CLIENT_THREADS];
    double *ms = calloc((size_t)n, sizeof *ms);
    int created = 0, offset = 0;
    double t0 = jq_bench_now_us();
    for (int i = 0; i < CLIENT_THREADS; i++) {
        struct client *c = &cs[i];
        snprintf(c->url, sizeof c->url, "%s/v1/jobs", base);
        c->n = n / CLIENT_THREADS + (i < n % CLIENT_THREADS);
        c->conns = conns / CLIENT_THREADS + (i < conns % CLIENT_THREADS);
        c->ms = ms + offset;
        c->done = c->created = 0;
        offset += c->n;
        pthread_create(&th[i], NULL, client_main, c);
    }
    for (int i = 0; i < CLIENT_THREADS; i++) {
        pthread_join(th[i], NULL);
        created += cs[i].created;
    }
    double secs = (jq_bench_now_us() - t0) / 1e6;
    printf("submit: %d POSTs on %d connections (%d answered 201) in %.3f s = %.0f req/s\n", n, conns, created,
           secs, n / secs);
    jq_bench_print_percentiles("submit latency", ms, (size_t)n);
    free(ms);
}
