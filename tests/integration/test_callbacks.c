/* test_callbacks.c: completion callbacks on the real jobqd, delivered to a
 * small HTTP receiver this test runs on loopback — signed with HMAC-SHA256
 * (checked here with core's implementation), retried with backoff while
 * the receiver fails and delivered once it recovers, every attempt visible
 * in the job's JSON; a receiver that never recovers (or is not there) ends
 * the callback failed after the last attempt; a pending retry survives a
 * restart; bad URLs are refused. The receiver is on loopback, so those
 * cases start jobqd with --callback-allow-private; without it a callback
 * to a loopback address (literal, name, or IPv4-mapped) is refused by the
 * SSRF guard: one attempt recorded with the reason, the callback failed at
 * once, nothing sent. Redirects are not followed; the proxy environment
 * is ignored. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "sha256.h"

#define MAX_REQUESTS 16
#define SECRET "callback-secret-for-tests-0123456789"
#define ALLOW_PRIVATE "--callback-allow-private"

/* The receiver: answers the first `failures` requests 500 (or a redirect
 * to `redirect` when set), then 200. */
struct receiver {
    int fd;
    uint16_t port;
    int failures;
    char redirect[64];                  /* "" = no redirect */
    atomic_bool stop;
    pthread_t thread;
    pthread_mutex_t mu;
    int n;                              /* requests seen */
    char *head[MAX_REQUESTS];           /* request line and headers */
    char *body[MAX_REQUESTS];
};

/* Read one request (headers, then Content-Length bytes) within 5 s. */
static void read_request(struct receiver *rv, int c)
{
    char buf[65536];
    size_t len = 0;
    int64_t end = jq_it_now_ms() + 5000;
    char *split = NULL;
    long want = -1;
    while (len < sizeof(buf) - 1 && jq_it_now_ms() < end) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(c, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (!split && (split = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "Content-Length:");
            want = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (split && (long)(len - (size_t)(split + 4 - buf)) >= want)
            break;
    }
    pthread_mutex_lock(&rv->mu);
    if (split && rv->n < MAX_REQUESTS) {
        rv->head[rv->n] = strndup(buf, (size_t)(split - buf));
        rv->body[rv->n] = strdup(split + 4);
        rv->n++;
    }
    bool failing = rv->n <= rv->failures, redirect = failing && rv->redirect[0];
    pthread_mutex_unlock(&rv->mu);
    char reply[256];
    int n = snprintf(reply, sizeof(reply), "HTTP/1.1 %d X\r\n%s%s%sContent-Length: 0\r\nConnection: close\r\n\r\n",
                     redirect ? 302 : failing ? 500 : 200, redirect ? "Location: " : "", redirect ? rv->redirect : "",
                     redirect ? "\r\n" : "");
    ssize_t w = write(c, reply, (size_t)n);
    (void)w;
}

static void *serve(void *arg)
{
    struct receiver *rv = arg;
    while (!atomic_load(&rv->stop)) {
        struct pollfd p = {rv->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(rv->fd, NULL, NULL);
        if (c < 0)
            continue;
        read_request(rv, c);
        close(c);
    }
    return NULL;
}

static void receiver_start(struct receiver *rv, int failures)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    memset(rv, 0, sizeof(*rv));
    rv->failures = failures;
    pthread_mutex_init(&rv->mu, NULL);
    rv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(rv->fd >= 0);
    ASSERT_EQ(bind(rv->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(listen(rv->fd, 16), 0);
    ASSERT_EQ(getsockname(rv->fd, (struct sockaddr *)&a, &alen), 0);
    rv->port = ntohs(a.sin_port);
    ASSERT_EQ(pthread_create(&rv->thread, NULL, serve, rv), 0);
}

static void receiver_stop(struct receiver *rv)
{
    atomic_store(&rv->stop, true);
    pthread_join(rv->thread, NULL);
    close(rv->fd);
    for (int i = 0; i < rv->n; i++) {
        free(rv->head[i]);
        free(rv->body[i]);
    }
    pthread_mutex_destroy(&rv->mu);
}

static int requests_seen(struct receiver *rv)
{
    pthread_mutex_lock(&rv->mu);
    int n = rv->n;
    pthread_mutex_unlock(&rv->mu);
    return n;
}

/* Write the secret file into the case's dir (removed with it). */
static void write_secret(const struct jq_it_server *srv, char *path, size_t cap)
{
    snprintf(path, cap, "%s/callback-secret", srv->dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs(SECRET "\n", f);
    fclose(f);
}

static void expect_signed(const char *head, const char *body)
{
    unsigned char mac[JQ_SHA256_BYTES];
    char hex[2 * JQ_SHA256_BYTES + 1], want[128];
    jq_hmac_sha256(SECRET, strlen(SECRET), body, strlen(body), mac);
    jq_hex(mac, sizeof(mac), hex);
    snprintf(want, sizeof(want), "X-Jobq-Signature: sha256=%s", hex);
    if (!strstr(head, want))
        JQ_FAIL_AT(__FILE__, __LINE__, "no valid signature (%s) in:\n%s", want, head);
}

/* Poll the job until its callback reaches state (bounded); returns it. */
static cJSON *wait_callback(const struct jq_it_server *srv, int64_t id, const char *state, int max_ms)
{
    int64_t end = jq_it_now_ms() + max_ms;
    for (;;) {
        cJSON *job = jq_it_job(srv, id, 0);
        const char *got = jq_it_json_str(cJSON_GetObjectItem(job, "callback"), "state");
        if (got && strcmp(got, state) == 0)
            return job;
        if (jq_it_now_ms() > end)
            JQ_FAIL_AT(__FILE__, __LINE__, "callback not %s within %d ms: %s", state, max_ms,
                       cJSON_PrintUnformatted(job));
        cJSON_Delete(job);
        jq_it_sleep_ms(50);
    }
}

static void delivered_after_failures(void)
{
    struct jq_it_server srv;
    struct receiver rv;
    char secret_path[PATH_MAX + 64], body[256];
    receiver_start(&rv, 2);
    jq_it_start(&srv, NULL, NULL);
    write_secret(&srv, secret_path, sizeof(secret_path));
    jq_it_stop(&srv);
    const char *args[] = {"--callback-secret-file", secret_path, "--callback-retry-ms", "100", ALLOW_PRIVATE, NULL};
    for (int i = 0; args[i]; i++)
        srv.args[i] = args[i];
    /* A proxy from the environment would fail every attempt: it is ignored. */
    srv.env[0] = "http_proxy=http://127.0.0.1:1";
    srv.env[1] = "ALL_PROXY=http://127.0.0.1:1";
    jq_it_restart(&srv);
    snprintf(body, sizeof(body), "{\"command\":[\"echo\",\"done\"],\"callback_url\":\"http://127.0.0.1:%u/hook\"}",
             (unsigned)rv.port);
    int64_t id = jq_it_submit(&srv, body);
    cJSON *job = wait_callback(&srv, id, "delivered", 15000);
    const cJSON *cb = cJSON_GetObjectItem(job, "callback");
    const cJSON *d = cJSON_GetObjectItem(cb, "deliveries");
    ASSERT_EQ(cJSON_GetArraySize(d), 3);
    static const int statuses[3] = {500, 500, 200};
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(jq_it_json_int(cJSON_GetArrayItem(d, i), "attempt", 0), i + 1);
        ASSERT_EQ(jq_it_json_int(cJSON_GetArrayItem(d, i), "status", 0), statuses[i]);
        ASSERT_TRUE(jq_it_json_str(cJSON_GetArrayItem(d, i), "at") != NULL);
    }
    ASSERT_TRUE(strstr(body, jq_it_json_str(cb, "url")) != NULL);
    cJSON_Delete(job);
    ASSERT_EQ(requests_seen(&rv), 3);
    for (int i = 0; i < 3; i++) {
        char attempt[48];
        snprintf(attempt, sizeof(attempt), "X-Jobq-Delivery-Attempt: %d", i + 1);
        ASSERT_TRUE(strncmp(rv.head[i], "POST /hook HTTP/1.1", 19) == 0);
        ASSERT_TRUE(strstr(rv.head[i], attempt) != NULL);
        expect_signed(rv.head[i], rv.body[i]);
        cJSON *sent = cJSON_Parse(rv.body[i]);
        ASSERT_EQ(jq_it_json_int(sent, "id", 0), id);
        ASSERT_STREQ(jq_it_json_str(sent, "state"), "succeeded");
        cJSON_Delete(sent);
    }
    jq_it_finish(&srv);
    receiver_stop(&rv);
}

/* The callback of job id failed after 5 attempts, each answered status. */
static void expect_failed_with(const struct jq_it_server *srv, int64_t id, int status)
{
    cJSON *job = wait_callback(srv, id, "failed", 20000);
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(job, "callback"), "deliveries");
    ASSERT_EQ(cJSON_GetArraySize(d), 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(jq_it_json_int(cJSON_GetArrayItem(d, i), "status", 0), status);
    cJSON_Delete(job);
}

/* Never recovers / not there: failed after the 5th attempt; unsigned
 * without a secret. */
static void failed_after_last_attempt(void)
{
    struct jq_it_server srv;
    struct receiver rv;
    char body[256];
    const char *args[] = {"--callback-retry-ms", "50", ALLOW_PRIVATE, NULL};
    receiver_start(&rv, 100);
    jq_it_start(&srv, args, NULL);
    snprintf(body, sizeof(body), "{\"command\":[\"false\"],\"callback_url\":\"http://127.0.0.1:%u/x\"}",
             (unsigned)rv.port);
    int64_t id = jq_it_submit(&srv, body);
    /* A port nothing listens on: the receiver's, once it is closed. */
    struct receiver gone;
    receiver_start(&gone, 0);
    uint16_t dead_port = gone.port;
    receiver_stop(&gone);
    snprintf(body, sizeof(body), "{\"command\":[\"true\"],\"callback_url\":\"http://127.0.0.1:%u/\"}",
             (unsigned)dead_port);
    int64_t dead = jq_it_submit(&srv, body);
    expect_failed_with(&srv, id, 500);
    ASSERT_EQ(requests_seen(&rv), 5);
    ASSERT_TRUE(strstr(rv.head[0], "X-Jobq-Signature") == NULL);
    cJSON *job = wait_callback(&srv, dead, "failed", 20000);
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(job, "callback"), "deliveries");
    ASSERT_EQ(cJSON_GetArraySize(d), 5);
    ASSERT_TRUE(jq_it_json_is_null(cJSON_GetArrayItem(d, 0), "status"));
    ASSERT_TRUE(jq_it_json_str(cJSON_GetArrayItem(d, 0), "error") != NULL);
    cJSON_Delete(job);
    jq_it_finish(&srv);
    receiver_stop(&rv);
}

/* A callback waiting for its retry when the server stops is retried after
 * the restart (the state and the due time are in the database). */
static void pending_survives_restart(void)
{
    struct jq_it_server srv;
    struct receiver rv;
    char body[256];
    const char *args[] = {"--callback-retry-ms", "1500", ALLOW_PRIVATE, NULL};
    receiver_start(&rv, 1);
    jq_it_start(&srv, args, NULL);
    snprintf(body, sizeof(body), "{\"command\":[\"true\"],\"callback_url\":\"http://127.0.0.1:%u/r\"}",
             (unsigned)rv.port);
    int64_t id = jq_it_submit(&srv, body);
    int64_t end = jq_it_now_ms() + 10000;
    while (requests_seen(&rv) < 1 && jq_it_now_ms() < end)
        jq_it_sleep_ms(20);
    ASSERT_EQ(requests_seen(&rv), 1);
    jq_it_stop(&srv);
    jq_it_restart(&srv);
    cJSON *job = wait_callback(&srv, id, "delivered", 15000);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(job, "callback"), "deliveries")), 2);
    cJSON_Delete(job);
    ASSERT_EQ(requests_seen(&rv), 2);
    jq_it_finish(&srv);
    receiver_stop(&rv);
}

/* The callback of job id failed after one attempt that named why. */
static void expect_refused(const struct jq_it_server *srv, int64_t id, const char *why)
{
    cJSON *job = wait_callback(srv, id, "failed", 10000);
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(job, "callback"), "deliveries");
    ASSERT_EQ(cJSON_GetArraySize(d), 1);
    ASSERT_TRUE(jq_it_json_is_null(cJSON_GetArrayItem(d, 0), "status"));
    const char *error = jq_it_json_str(cJSON_GetArrayItem(d, 0), "error");
    if (!error || !strstr(error, why) || !strstr(error, ALLOW_PRIVATE))
        JQ_FAIL_AT(__FILE__, __LINE__, "want a refusal naming %s: %s", why, cJSON_PrintUnformatted(job));
    cJSON_Delete(job);
}

/* Without --callback-allow-private nothing reaches the loopback receiver,
 * however the URL names it; each callback fails at its first attempt. */
static void private_refused_by_default(void)
{
    struct jq_it_server srv;
    struct receiver rv;
    static const char *const hosts[] = {"127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433"};
    int64_t ids[4];
    receiver_start(&rv, 0);
    jq_it_start(&srv, NULL, NULL);
    for (size_t i = 0; i < 4; i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"command\":[\"true\"],\"callback_url\":\"http://%s:%u/in\"}", hosts[i],
                 (unsigned)rv.port);
        ids[i] = jq_it_submit(&srv, body);
    }
    expect_refused(&srv, ids[0], "refused to connect to 127.0.0.1, a loopback address");
    expect_refused(&srv, ids[1], "a loopback address");
    expect_refused(&srv, ids[2], "a loopback address");
    expect_refused(&srv, ids[3], "refused to connect to 127.0.0.1, a loopback address");
    ASSERT_EQ(requests_seen(&rv), 0);
    jq_it_finish(&srv);
    receiver_stop(&rv);
}

/* A receiver that redirects elsewhere: each attempt fails with its 302,
 * and the redirect's target never hears of it. */
static void redirect_not_followed(void)
{
    struct jq_it_server srv;
    struct receiver rv, target;
    char body[256];
    const char *args[] = {"--callback-retry-ms", "50", ALLOW_PRIVATE, NULL};
    receiver_start(&target, 0);
    receiver_start(&rv, 100);
    snprintf(rv.redirect, sizeof(rv.redirect), "http://127.0.0.1:%u/elsewhere", (unsigned)target.port);
    jq_it_start(&srv, args, NULL);
    snprintf(body, sizeof(body), "{\"command\":[\"true\"],\"callback_url\":\"http://127.0.0.1:%u/r\"}",
             (unsigned)rv.port);
    int64_t id = jq_it_submit(&srv, body);
    expect_failed_with(&srv, id, 302);
    ASSERT_EQ(requests_seen(&rv), 5);
    ASSERT_EQ(requests_seen(&target), 0);
    jq_it_finish(&srv);
    receiver_stop(&rv);
    receiver_stop(&target);
}

static void bad_urls_refused(void)
{
    struct jq_it_server srv;
    static const char *const bad[] = {
        "{\"command\":[\"true\"],\"callback_url\":\"ftp://127.0.0.1/\"}",
        "{\"command\":[\"true\"],\"callback_url\":\"http://\"}",
        "{\"command\":[\"true\"],\"callback_url\":\"http://a b/\"}",
        "{\"command\":[\"true\"],\"callback_url\":7}",
    };
    jq_it_start(&srv, NULL, NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct jq_it_resp r;
        jq_it_post(&srv, "/v1/jobs", bad[i], &r);
        JQ_IT_ASSERT_ERROR(&r, 400, "invalid_field");
        jq_it_resp_cleanup(&r);
    }
    /* Without a callback the job says so. */
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_TRUE(jq_it_json_is_null(job, "callback"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"delivered_after_failures", delivered_after_failures},
    {"failed_after_last_attempt", failed_after_last_attempt},
    {"pending_survives_restart", pending_survives_restart},
    {"bad_urls_refused", bad_urls_refused},
    {"private_refused_by_default", private_refused_by_default},
    {"redirect_not_followed", redirect_not_followed},
};

JQ_TEST_MAIN(cases)
