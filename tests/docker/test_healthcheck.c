/* test_healthcheck.c: `jobqd healthcheck`, the container's HEALTHCHECK,
 * against a real jobqd (found by --listen, by JOBQ_LISTEN with a wildcard
 * address, by a port file) and against servers that refuse, never answer,
 * answer 503 or answer something that is not HTTP. Healthy is exit 0 and
 * one "healthy" line; everything else is exit 1 within the 3 s deadline. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* A listening socket on 127.0.0.1 and a free port; the caller closes it. */
static int listen_loopback(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(listen(fd, 4), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

struct canned {
    int listen_fd;
    const char *reply;
};

/* Accept one connection, read the request, send the canned reply, close. */
static void *serve_once(void *arg)
{
    const struct canned *c = arg;
    char buf[1024];
    int fd = accept(c->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf);
    (void)n;
    n = write(fd, c->reply, strlen(c->reply));
    (void)n;
    close(fd);
    return NULL;
}

static int run_healthcheck(const char *const *args, char *out, size_t cap)
{
    char err[1024];
    int status = jq_it_run_jobqd(args, out, cap, err, sizeof err);
    fprintf(stderr, "healthcheck -> %d: %s%s", status, out, err);
    return status;
}

/* The answer is exactly one line. */
static void assert_one_line(const char *out, const char *prefix)
{
    ASSERT_TRUE(strncmp(out, prefix, strlen(prefix)) == 0);
    const char *nl = strchr(out, '\n');
    ASSERT_TRUE(nl != NULL && nl[1] == '\0');
}

static void healthy_by_flag(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    char listen[64], out[512];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)srv.port);
    const char *args[] = {"healthcheck", "--listen", listen, NULL};
    ASSERT_EQ(run_healthcheck(args, out, sizeof out), 0);
    assert_one_line(out, "healthy: ");
    ASSERT_TRUE(strstr(out, listen) != NULL);
    jq_it_finish(&srv);
}

/* JOBQ_LISTEN as in the image (0.0.0.0) is probed on 127.0.0.1. */
static void healthy_by_env_wildcard(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    char listen[64], out[512];
    snprintf(listen, sizeof listen, "0.0.0.0:%u", (unsigned)srv.port);
    setenv("JOBQ_LISTEN", listen, 1);
    const char *args[] = {"healthcheck", NULL};
    ASSERT_EQ(run_healthcheck(args, out, sizeof out), 0);
    assert_one_line(out, "healthy: 127.0.0.1:");
    /* A flag wins over the variable. */
    const char *closed[] = {"healthcheck", "--listen=127.0.0.1:1", NULL};
    ASSERT_EQ(run_healthcheck(closed, out, sizeof out), 1);
    unsetenv("JOBQ_LISTEN");
    jq_it_finish(&srv);
}

/* Port 0 ("any free port"): the real one is in the server's port file. */
static void healthy_by_port_file(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    char out[512];
    setenv("JOBQ_LISTEN", "0.0.0.0:0", 1);
    setenv("JOBQ_PORT_FILE", srv.port_path, 1);
    const char *args[] = {"healthcheck", NULL};
    ASSERT_EQ(run_healthcheck(args, out, sizeof out), 0);
    unsetenv("JOBQ_PORT_FILE");
    ASSERT_EQ(run_healthcheck(args, out, sizeof out), 1);
    assert_one_line(out, "unhealthy: ");
    unsetenv("JOBQ_LISTEN");
    jq_it_finish(&srv);
}

static void refused(void)
{
    uint16_t port;
    int fd = listen_loopback(&port);
    close(fd); /* nobody listens there now */
    char listen[64], out[512];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)port);
    const char *args[] = {"healthcheck", "--listen", listen, NULL};
    ASSERT_EQ(run_healthcheck(args, out, sizeof out), 1);
    assert_one_line(out, "unhealthy: ");
}

/* Connects (the kernel accepts into the backlog) but never answers. */
static void silent_server_times_out(void)
{
    uint16_t port;
    int fd = listen_loopback(&port);
    char listen[64], out[512];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)port);
    const char *args[] = {"healthcheck", "--listen", listen, NULL};
    int64_t t0 = jq_it_now_ms();
    ASSERT_EQ(run_healthcheck(args, out, sizeof out), 1);
    int64_t took = jq_it_now_ms() - t0;
    ASSERT_GE(took, 2800);
    ASSERT_TRUE(took < 5000);
    assert_one_line(out, "unhealthy: ");
    ASSERT_TRUE(strstr(out, "3 s") != NULL);
    close(fd);
}

static void canned_reply(const char *reply, const char *expect)
{
    uint16_t port;
    struct canned c = {.listen_fd = listen_loopback(&port), .reply = reply};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, serve_once, &c), 0);
    char listen[64], out[512];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)port);
    const char *args[] = {"healthcheck", "--listen", listen, NULL};
    ASSERT_EQ(run_healthcheck(args, out, sizeof out), 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    close(c.listen_fd);
    assert_one_line(out, "unhealthy: ");
    ASSERT_TRUE(strstr(out, expect) != NULL);
}

static void non_200_is_unhealthy(void)
{
    canned_reply("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", "answered 503");
}

static void not_http_is_unhealthy(void)
{
    canned_reply("\x16\x03\x01\x00\x02\x02\x28", "not an HTTP answer");
}

static void bad_arguments(void)
{
    char out[512];
    const char *unknown[] = {"healthcheck", "--bogus", NULL};
    ASSERT_EQ(run_healthcheck(unknown, out, sizeof out), 1);
    assert_one_line(out, "unhealthy: usage");
    const char *bad_addr[] = {"healthcheck", "--listen", "nohostport", NULL};
    ASSERT_EQ(run_healthcheck(bad_addr, out, sizeof out), 1);
    const char *name[] = {"healthcheck", "--listen", "localhost:8080", NULL};
    ASSERT_EQ(run_healthcheck(name, out, sizeof out), 1);
    assert_one_line(out, "unhealthy: ");
}

static const struct jq_test_case cases[] = {
    {"healthy_by_flag", healthy_by_flag},
    {"healthy_by_env_wildcard", healthy_by_env_wildcard},
    {"healthy_by_port_file", healthy_by_port_file},
    {"refused", refused},
    {"silent_server_times_out", silent_server_times_out},
    {"non_200_is_unhealthy", non_200_is_unhealthy},
    {"not_http_is_unhealthy", not_http_is_unhealthy},
    {"bad_arguments", bad_arguments},
};

JQ_TEST_MAIN(cases)
