/* test_slow_clients.c: clients that cannot starve real ones. Attackers bound
 * to 127.0.0.2-127.0.0.9 open more connections than they may and trickle
 * headers or bodies (slowloris, slow POST) while a client on 127.0.0.1
 * keeps submitting jobs and reading results; a body slower than the request
 * deadline is cut; request-smuggling shapes and %00 are refused. A real
 * jobqd over real sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define ATTACKERS 8
#define PER_ATTACKER 24
#define PER_CLIENT_LIMIT "8"

/* A TCP connection from local address src to the server, or -1. */
static int connect_from(const struct jq_it_server *srv, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in local = {.sin_family = AF_INET};
    struct sockaddr_in remote = {.sin_family = AF_INET, .sin_port = htons(srv->port)};
    inet_pton(AF_INET, src, &local.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) != 0 ||
        connect(fd, (struct sockaddr *)&remote, sizeof remote) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* True if the server closed fd within ms. */
static bool closed_within(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char buf[512];
    if (poll(&p, 1, ms) <= 0)
        return false;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void send_str(int fd, const char *s)
{
    ssize_t n = send(fd, s, strlen(s), MSG_NOSIGNAL);
    (void)n; /* a refused attacker connection may already be gone */
}

/* Half the attackers trickle headers, half a body they never finish. */
static size_t open_attackers(const struct jq_it_server *srv, int *fds)
{
    size_t n = 0;
    for (int a = 0; a < ATTACKERS; a++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", a + 2);
        for (int i = 0; i < PER_ATTACKER; i++) {
            int fd = connect_from(srv, src);
            if (fd < 0)
                continue;
            send_str(fd, i % 2 ? "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
                               : "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"comm");
            fds[n++] = fd;
        }
    }
    return n;
}

static void real_client_served(const struct jq_it_server *srv)
{
    for (int i = 0; i < 10; i++) {
        int64_t t0 = jq_it_now_ms();
        int64_t id = jq_it_submit(srv, "{\"command\":[\"true\"]}");
        cJSON *job = jq_it_wait_job(srv, id, 10);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
        cJSON_Delete(job);
        ASSERT_TRUE(jq_it_now_ms() - t0 < 5000);
    }
}

static void slowloris_does_not_starve(void)
{
    struct jq_it_server srv;
    const char *const args[] = {"--http-max-per-client", PER_CLIENT_LIMIT, "--http-threads", "2", NULL};
    jq_it_start(&srv, args, NULL);
    static int fds[ATTACKERS * PER_ATTACKER];
    size_t n = open_attackers(&srv, fds);
    ASSERT_EQ(n, ATTACKERS * PER_ATTACKER); /* connect() itself succeeds; the server then refuses */
    size_t refused = 0;
    for (size_t i = 0; i < n; i++)
        refused += closed_within(fds[i], i < 8 ? 500 : 20);
    /* At most PER_CLIENT_LIMIT held per attacker address. */
    ASSERT_GE(refused, ATTACKERS * (PER_ATTACKER - atoi(PER_CLIENT_LIMIT)));
    real_client_served(&srv);
    for (size_t i = 0; i < n; i++)
        send_str(fds[i], "a");
    real_client_served(&srv);
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    jq_it_finish(&srv);
}

static void slow_body_cut_at_deadline(void)
{
    struct jq_it_server srv;
    const char *const args[] = {"--http-request-deadline-s", "2", NULL};
    jq_it_start(&srv, args, NULL);
    int fd = connect_from(&srv, "127.0.0.2");
    ASSERT_TRUE(fd >= 0);
    send_str(fd, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
    int64_t t0 = jq_it_now_ms();
    bool closed = false;
    while (!closed && jq_it_now_ms() - t0 < 8000) {
        send_str(fd, " ");
        closed = closed_within(fd, 400);
    }
    close(fd);
    ASSERT_TRUE(closed);
    ASSERT_GE(jq_it_now_ms() - t0, 1500);
    jq_it_finish(&srv);
}

static void smuggling_shapes_refused(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    static const struct {
        const char *raw;
        int status;
    } shapes[] = {
        {"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nTransfer-Encoding: chunked\r\n\r\n"
         "14\r\n{\"command\":[\"true\"]}\r\n0\r\n\r\n", 400},
        {"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nContent-Length: 20\r\n\r\n"
         "{\"command\":[\"true\"]}", 400},
        {"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"GET /healthz HTTP/1.1\r\n\r\n", 400},
        {"GET /v1/jobs/1%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /v1/jobs?state=queued%00x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /healthz%00/x HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int got = jq_it_raw_status(&srv, shapes[i].raw, strlen(shapes[i].raw));
        if (got != shapes[i].status)
            fprintf(stderr, "shape %zu: got %d\n", i, got);
        ASSERT_EQ(got, shapes[i].status);
    }
    struct jq_it_resp r;
    jq_it_get(&srv, "/v1/jobs", &r);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "jobs")), 0); /* nothing smuggled in */
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"slowloris_does_not_starve", slowloris_does_not_starve},
    {"slow_body_cut_at_deadline", slow_body_cut_at_deadline},
    {"smuggling_shapes_refused", smuggling_shapes_refused},
};

JQ_TEST_MAIN(cases)
