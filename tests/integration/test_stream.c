/* test_stream.c: integration tests of GET /v1/jobs/{id}/stream (live
 * output as Server-Sent Events) against a real jobqd: output arrives while
 * the job runs, resume from offsets and Last-Event-ID, finished jobs,
 * binary and truncated output, a worker killed mid-stream, 50 clients on
 * one job, a client that stops reading, and bad parameters. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

static const char *const one_worker[] = {"--workers", "1", NULL};

/* ---- an SSE client: events parsed as they arrive ---- */

struct sse {
    char *raw;               /* bytes not yet parsed into events */
    size_t raw_len;
    char *out, *err;         /* the decoded output of each stream */
    size_t out_len, err_len;
    char *end_json;          /* data of the end event, NULL until it came */
    char last_id[128];
    int events, comments, attempts;
    bool gap;                /* an output event did not continue where the last ended */
    /* The first output event's arrival: the job's state seen right then. */
    const struct jq_it_server *srv;
    long long job_id;
    char state_at_first[32];
    bool stop_after_first;
};

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 text onto *buf at *len. */
static void b64_append(const char *s, char **buf, size_t *len)
{
    size_t n = strlen(s);
    *buf = realloc(*buf, *len + n + 1);
    ASSERT_TRUE(*buf != NULL);
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64_value(s[i]);
        ASSERT_GE(v, 0);
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            (*buf)[(*len)++] = (char)((acc >> bits) & 0xff);
        }
    }
}

static void on_output_event(struct sse *s, bool err_stream, const char *data)
{
    cJSON *doc = cJSON_Parse(data);
    ASSERT_TRUE(doc != NULL);
    size_t *len = err_stream ? &s->err_len : &s->out_len;
    if (jq_it_json_int(doc, "offset", -1) != (long long)*len)
        s->gap = true;
    const char *b64 = jq_it_json_str(doc, "data_b64");
    ASSERT_TRUE(b64 != NULL);
    b64_append(b64, err_stream ? &s->err : &s->out, len);
    cJSON_Delete(doc);
    if (s->srv && !s->state_at_first[0]) {
        cJSON *job = jq_it_job(s->srv, s->job_id, 0);
        snprintf(s->state_at_first, sizeof s->state_at_first, "%s", jq_it_json_str(job, "state"));
        cJSON_Delete(job);
    }
}

/* One event block (without its blank line). */
static void on_block(struct sse *s, char *block)
{
    char *event = NULL, *data = NULL;
    for (char *line = strtok(block, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == ':')
            s->comments++;
        else if (strncmp(line, "id: ", 4) == 0)
            snprintf(s->last_id, sizeof s->last_id, "%s", line + 4);
        else if (strncmp(line, "event: ", 7) == 0)
            event = line + 7;
        else if (strncmp(line, "data: ", 6) == 0)
            data = line + 6;
    }
    if (!event)
        return;
    ASSERT_TRUE(data != NULL);
    s->events++;
    if (strcmp(event, "stdout") == 0 || strcmp(event, "stderr") == 0)
        on_output_event(s, event[3] == 'e', data);
    else if (strcmp(event, "end") == 0)
        s->end_json = strdup(data);
    else if (strcmp(event, "attempt") == 0)
        s->attempts++;
}

static size_t on_sse_bytes(char *p, size_t sz, size_t nm, void *ud)
{
    struct sse *s = ud;
    size_t n = sz * nm;
    s->raw = realloc(s->raw, s->raw_len + n + 1);
    ASSERT_TRUE(s->raw != NULL);
    memcpy(s->raw + s->raw_len, p, n);
    s->raw_len += n;
    s->raw[s->raw_len] = '\0';
    char *sep;
    while ((sep = strstr(s->raw, "\n\n")) != NULL) {
        *sep = '\0';
        size_t used = (size_t)(sep - s->raw) + 2;
        on_block(s, s->raw);
        memmove(s->raw, s->raw + used, s->raw_len - used + 1);
        s->raw_len -= used;
    }
    return s->stop_after_first && s->events > 0 ? 0 : n;
}

static void sse_cleanup(struct sse *s)
{
    free(s->raw);
    free(s->out);
    free(s->err);
    free(s->end_json);
    memset(s, 0, sizeof *s);
}

static CURL *stream_handle(const struct jq_it_server *srv, long long id, const char *query, struct sse *s,
                           struct curl_slist *headers)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/jobs/%lld/stream%s", (unsigned)srv->port, id,
             query ? query : "");
    CURL *c = curl_easy_init();
    ASSERT_TRUE(c != NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sse_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    if (headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    return c;
}

/* Read the whole stream; returns the HTTP status. */
static long stream_read(const struct jq_it_server *srv, long long id, const char *query, const char *header,
                        struct sse *s)
{
    struct curl_slist *h = header ? curl_slist_append(NULL, header) : NULL;
    CURL *c = stream_handle(srv, id, query, s, h);
    long status = 0;
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK && !(s->stop_after_first && cc == CURLE_WRITE_ERROR))
        fprintf(stderr, "stream transfer: %s\n", curl_easy_strerror(cc));
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return status;
}

static cJSON *end_doc(const struct sse *s)
{
    ASSERT_TRUE(s->end_json != NULL);
    cJSON *doc = cJSON_Parse(s->end_json);
    ASSERT_TRUE(doc != NULL);
    return doc;
}

static void assert_end_state(const struct sse *s, const char *state)
{
    cJSON *doc = end_doc(s);
    ASSERT_STREQ(jq_it_json_str(doc, "state"), state);
    cJSON_Delete(doc);
}

static long long submit_sh(const struct jq_it_server *srv, const char *script, const char *extra)
{
    char body[1024];
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateString("sh"));
    cJSON_AddItemToArray(arr, cJSON_CreateString("-c"));
    cJSON_AddItemToArray(arr, cJSON_CreateString(script));
    char *cmd = cJSON_PrintUnformatted(arr);
    snprintf(body, sizeof body, "{\"command\":%s,\"timeout_ms\":20000%s}", cmd, extra ? extra : "");
    free(cmd);
    cJSON_Delete(arr);
    return jq_it_submit(srv, body);
}

/* ---- cases ---- */

/* The first line arrives while the job still runs (a status query made on
 * its arrival says running), the second after the sleep, then the end. */
static void live_first_line(void)
{
    struct jq_it_server srv;
    struct sse s = {0};
    jq_it_start(&srv, one_worker, NULL);
    long long id = submit_sh(&srv, "echo first; sleep 1; echo second", NULL);
    s.srv = &srv;
    s.job_id = id;
    ASSERT_EQ(stream_read(&srv, id, NULL, NULL, &s), 200);
    ASSERT_STREQ(s.state_at_first, "running");
    ASSERT_EQ(s.out_len, strlen("first\nsecond\n"));
    ASSERT_TRUE(memcmp(s.out, "first\nsecond\n", s.out_len) == 0);
    ASSERT_TRUE(!s.gap);
    assert_end_state(&s, "succeeded");
    ASSERT_STREQ(s.last_id, "stdout:13,stderr:0");
    sse_cleanup(&s);
    jq_it_finish(&srv);
}

/* A queued job's stream waits for it, then follows it. */
static void queued_then_live(void)
{
    struct jq_it_server srv;
    struct sse s = {0};
    jq_it_start(&srv, one_worker, NULL);
    long long blocker = submit_sh(&srv, "sleep 1", NULL);
    long long id = submit_sh(&srv, "echo out; echo err >&2", NULL);
    ASSERT_EQ(stream_read(&srv, id, NULL, NULL, &s), 200);
    ASSERT_EQ(s.out_len, 4u);
    ASSERT_EQ(s.err_len, 4u);
    ASSERT_TRUE(memcmp(s.out, "out\n", 4) == 0 && memcmp(s.err, "err\n", 4) == 0);
    assert_end_state(&s, "succeeded");
    sse_cleanup(&s);
    cJSON_Delete(jq_it_wait_job(&srv, blocker, 10));
    jq_it_finish(&srv);
}

/* From offsets (query, then Last-Event-ID): exactly the rest. */
static void resume_offsets(void)
{
    struct jq_it_server srv;
    struct sse s = {0};
    jq_it_start(&srv, one_worker, NULL);
    long long id = submit_sh(&srv, "printf 'hello world\\n'; printf 'abcdef' >&2; sleep 0.5; printf tail", NULL);
    /* Read the first event only, while the job runs; resume from its id. */
    s.stop_after_first = true;
    stream_read(&srv, id, NULL, NULL, &s);
    ASSERT_EQ(s.events, 1);
    char header[160];
    snprintf(header, sizeof header, "Last-Event-ID: %s", s.last_id);
    size_t first_out = s.out_len, first_err = s.err_len;
    char first[64];
    ASSERT_TRUE(first_out + first_err < sizeof first);
    memcpy(first, first_out ? s.out : s.err, first_out + first_err);
    sse_cleanup(&s);
    ASSERT_EQ(stream_read(&srv, id, NULL, header, &s), 200);
    ASSERT_EQ(s.out_len + first_out, strlen("hello world\ntail"));
    ASSERT_EQ(s.err_len + first_err, 6u);
    if (first_out)
        ASSERT_TRUE(memcmp(first, "hello world\n", first_out) == 0 && memcmp(s.err, "abcdef", 6) == 0);
    assert_end_state(&s, "succeeded");
    sse_cleanup(&s);
    /* The finished job from query offsets. */
    ASSERT_EQ(stream_read(&srv, id, "?stdout_offset=6&stderr_offset=4", NULL, &s), 200);
    ASSERT_EQ(s.out_len, strlen("world\ntail"));
    ASSERT_TRUE(memcmp(s.out, "world\ntail", s.out_len) == 0);
    ASSERT_EQ(s.err_len, 2u);
    ASSERT_TRUE(memcmp(s.err, "ef", 2) == 0);
    assert_end_state(&s, "succeeded");
    sse_cleanup(&s);
    /* Past the end: nothing but the end event. */
    ASSERT_EQ(stream_read(&srv, id, "?stdout_offset=1000&stderr_offset=1000", NULL, &s), 200);
    ASSERT_EQ(s.out_len + s.err_len, 0u);
    ASSERT_EQ(s.events, 1);
    sse_cleanup(&s);
    jq_it_finish(&srv);
}

/* A finished job streams its stored output at once and ends. */
static void finished_job(void)
{
    struct jq_it_server srv;
    struct sse s = {0};
    jq_it_start(&srv, one_worker, NULL);
    long long id = submit_sh(&srv, "echo done; exit 3", NULL);
    cJSON_Delete(jq_it_wait_job(&srv, id, 10));
    int64_t t0 = jq_it_now_ms();
    ASSERT_EQ(stream_read(&srv, id, NULL, NULL, &s), 200);
    ASSERT_TRUE(jq_it_now_ms() - t0 < 10000); /* bounded, not a timing assertion of speed */
    ASSERT_EQ(s.out_len, 5u);
    cJSON *doc = end_doc(&s);
    ASSERT_STREQ(jq_it_json_str(doc, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(doc, "exit_code", -1), 3);
    ASSERT_TRUE(cJSON_GetObjectItem(doc, "stdout") == NULL); /* the end event carries no output */
    cJSON_Delete(doc);
    sse_cleanup(&s);
    jq_it_finish(&srv);
}

/* Every byte value, NUL and invalid UTF-8 included, comes through. */
static void binary_output(void)
{
    struct jq_it_server srv;
    struct sse s = {0};
    char body[256];
    jq_it_start(&srv, one_worker, NULL);
    snprintf(body, sizeof body, "{\"command\":[\"%s\",\"--binary\",\"--sleep-ms\",\"300\",\"--binary\"]}",
             jq_it_spawner());
    long long id = jq_it_submit(&srv, body);
    ASSERT_EQ(stream_read(&srv, id, NULL, NULL, &s), 200);
    ASSERT_EQ(s.out_len, 512u);
    for (size_t i = 0; i < 512; i++)
        ASSERT_EQ((unsigned char)s.out[i], i % 256);
    assert_end_state(&s, "succeeded");
    sse_cleanup(&s);
    jq_it_finish(&srv);
}

/* Output past max_output_bytes: the stream stops at the cap and the end
 * event says truncated. */
static void truncated_output(void)
{
    struct jq_it_server srv;
    struct sse s = {0};
    char body[256];
    jq_it_start(&srv, one_worker, NULL);
    snprintf(body, sizeof body, "{\"command\":[\"%s\",\"--bytes\",\"100000\"],\"max_output_bytes\":1000}",
             jq_it_spawner());
    long long id = jq_it_submit(&srv, body);
    ASSERT_EQ(stream_read(&srv, id, NULL, NULL, &s), 200);
    ASSERT_EQ(s.out_len, 1000u);
    cJSON *doc = end_doc(&s);
    ASSERT_TRUE(jq_it_json_is_true(doc, "stdout_truncated"));
    ASSERT_EQ(jq_it_json_int(doc, "stdout_bytes", -1), 100000);
    cJSON_Delete(doc);
    sse_cleanup(&s);
    jq_it_finish(&srv);
}

/* The worker is SIGKILLed while a client streams: the stream ends with
 * the job lost. */
static void worker_killed(void)
{
    struct jq_it_server srv;
    struct sse s = {0};
    jq_it_start(&srv, one_worker, NULL);
    long long id = submit_sh(&srv, "echo started; sleep 30", NULL);
    s.stop_after_first = true;
    stream_read(&srv, id, NULL, NULL, &s);
    ASSERT_EQ(s.out_len, 8u);
    char header[160];
    snprintf(header, sizeof header, "Last-Event-ID: %s", s.last_id);
    pid_t workers[4];
    ASSERT_EQ(jq_it_workers(&srv, workers, 4), 1u);
    sse_cleanup(&s);
    /* A second client follows on; the kill comes while it waits. */
    struct curl_slist *h = curl_slist_append(NULL, header);
    CURLM *m = curl_multi_init();
    CURL *c = stream_handle(&srv, id, NULL, &s, h);
    curl_multi_add_handle(m, c);
    int running = 1;
    bool killed = false;
    int64_t t0 = jq_it_now_ms();
    while (running && jq_it_now_ms() - t0 < 20000) {
        curl_multi_perform(m, &running);
        if (!killed && s.comments > 0) {
            ASSERT_EQ(kill(workers[0], SIGKILL), 0);
            killed = true;
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    ASSERT_TRUE(killed);
    ASSERT_EQ(running, 0);
    ASSERT_EQ(s.out_len, 0u);
    assert_end_state(&s, "lost");
    curl_multi_remove_handle(m, c);
    curl_easy_cleanup(c);
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
    sse_cleanup(&s);
    jq_it_finish(&srv);
}

#define MANY 50

/* 50 clients on one job all get the same bytes and the end. */
static void many_clients(void)
{
    struct jq_it_server srv;
    static struct sse s[MANY];
    CURL *c[MANY];
    jq_it_start(&srv, one_worker, NULL);
    long long id = submit_sh(&srv, "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; echo e$i >&2; sleep 0.1; done",
                             NULL);
    CURLM *m = curl_multi_init();
    for (int i = 0; i < MANY; i++) {
        memset(&s[i], 0, sizeof s[i]);
        c[i] = stream_handle(&srv, id, NULL, &s[i], NULL);
        curl_multi_add_handle(m, c[i]);
    }
    int running = 1;
    int64_t t0 = jq_it_now_ms();
    while (running && jq_it_now_ms() - t0 < 25000) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    ASSERT_EQ(running, 0);
    cJSON *job = jq_it_job(&srv, id, 0);
    const char *want = jq_it_json_str(job, "stdout"), *want_err = jq_it_json_str(job, "stderr");
    ASSERT_TRUE(want != NULL && want_err != NULL);
    for (int i = 0; i < MANY; i++) {
        ASSERT_EQ(s[i].out_len, strlen(want));
        ASSERT_TRUE(memcmp(s[i].out, want, s[i].out_len) == 0);
        ASSERT_EQ(s[i].err_len, strlen(want_err));
        ASSERT_TRUE(memcmp(s[i].err, want_err, s[i].err_len) == 0);
        ASSERT_TRUE(!s[i].gap);
        assert_end_state(&s[i], "succeeded");
        curl_multi_remove_handle(m, c[i]);
        curl_easy_cleanup(c[i]);
        sse_cleanup(&s[i]);
    }
    ASSERT_EQ(strlen(want), 71u);
    cJSON_Delete(job);
    curl_multi_cleanup(m);
    jq_it_finish(&srv);
}

/* A client that asks for a stream of a chatty job and never reads: the
 * server keeps answering others and runs the next jobs. */
static void stalled_reader(void)
{
    struct jq_it_server srv;
    static const char *const args[] = {"--workers", "2", "--max-output-bytes", "4194304", NULL};
    char body[256], req[256];
    jq_it_start(&srv, args, NULL);
    snprintf(body, sizeof body, "{\"command\":[\"%s\",\"--bytes\",\"4000000\",\"--sleep-ms\",\"3000\"]}",
             jq_it_spawner());
    long long id = jq_it_submit(&srv, body);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    int n = snprintf(req, sizeof req, "GET /v1/jobs/%lld/stream HTTP/1.1\r\nHost: x\r\n\r\n", id);
    ASSERT_EQ(write(fd, req, (size_t)n), n);
    for (int i = 0; i < 5; i++) {
        struct jq_it_resp r;
        jq_it_get(&srv, "/healthz", &r);
        ASSERT_EQ(r.status, 200);
        jq_it_resp_cleanup(&r);
        long long other = submit_sh(&srv, "echo ok", NULL);
        cJSON *job = jq_it_wait_job(&srv, other, 10);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
        cJSON_Delete(job);
    }
    cJSON *job = jq_it_wait_job(&srv, id, 20);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    cJSON_Delete(job);
    close(fd);
    jq_it_finish(&srv);
}

static void bad_requests(void)
{
    struct jq_it_server srv;
    struct jq_it_resp r;
    jq_it_start(&srv, one_worker, NULL);
    long long id = submit_sh(&srv, "true", NULL);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%lld/stream?stdout_offset=-1", id);
    jq_it_get(&srv, path, &r);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    snprintf(path, sizeof path, "/v1/jobs/%lld/stream", id);
    static const char *const bad_id[] = {"Last-Event-ID: stdout:1", NULL};
    ASSERT_EQ(jq_it_request(&srv, "GET", path, NULL, 0, bad_id, &r), 0);
    JQ_IT_ASSERT_ERROR(&r, 400, "bad_parameter");
    jq_it_resp_cleanup(&r);
    jq_it_get(&srv, "/v1/jobs/999999/stream", &r);
    JQ_IT_ASSERT_ERROR(&r, 404, "not_found");
    jq_it_resp_cleanup(&r);
    jq_it_post(&srv, path, "{}", &r);
    JQ_IT_ASSERT_ERROR(&r, 405, "method_not_allowed");
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"live_first_line", live_first_line}, {"queued_then_live", queued_then_live},
    {"resume_offsets", resume_offsets},   {"finished_job", finished_job},
    {"binary_output", binary_output},     {"truncated_output", truncated_output},
    {"worker_killed", worker_killed},     {"many_clients", many_clients},
    {"stalled_reader", stalled_reader},   {"bad_requests", bad_requests},
};

JQ_TEST_MAIN(cases)
