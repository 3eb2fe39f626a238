/* healthcheck.c: `jobqd healthcheck` — one GET /healthz over plain TCP to
 * the address the server listens on, bounded by one 3 s deadline for the
 * whole exchange (connect, send, first line of the answer). Healthy means
 * the status line says 200. Only numeric addresses are accepted, like the
 * server's --listen, so no DNS lookup can outlast the deadline. */
#include "healthcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

/* The whole probe; Docker's own --timeout (docs/docker.md) is longer. */
#define HC_TIMEOUT_MS 3000
#define HC_HOST_MAX 64
#define HC_LINE_MAX 256

struct hc_target {
    char host[HC_HOST_MAX]; /* numeric address to connect to */
    char port[8];           /* decimal */
    const char *port_file;  /* NULL = none */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline_ms)
{
    int64_t left = deadline_ms - now_ms();
    return left > 0 ? (int)left : 0;
}

/* "HOST:PORT" or "[V6]:PORT", as the server's --listen; wildcard hosts
 * become loopback. */
static int parse_listen(struct hc_target *t, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof t->port)
        return JQ_EINVAL;
    size_t len = (size_t)(colon - v);
    if (v[0] == '[' && len >= 2 && v[len - 1] == ']') {
        v++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof t->host)
        return JQ_EINVAL;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 0 || port > 65535)
        return JQ_EINVAL;
    memcpy(t->host, v, len);
    t->host[len] = '\0';
    snprintf(t->port, sizeof t->port, "%ld", port);
    if (strcmp(t->host, "0.0.0.0") == 0)
        snprintf(t->host, sizeof t->host, "127.0.0.1");
    else if (strcmp(t->host, "::") == 0)
        snprintf(t->host, sizeof t->host, "::1");
    return 0;
}

/* Port 0 means "any free port": the server wrote the real one to its port
 * file. */
static int read_port_file(struct hc_target *t)
{
    if (!t->port_file || !t->port_file[0])
        return JQ_EINVAL;
    FILE *f = fopen(t->port_file, "re");
    if (!f)
        return JQ_ESYS;
    long port = 0;
    int n = fscanf(f, "%ld", &port);
    fclose(f);
    if (n != 1 || port < 1 || port > 65535)
        return JQ_EINVAL;
    snprintf(t->port, sizeof t->port, "%ld", port);
    return 0;
}

/* Defaults, then the environment, then the command line (flags win). */
static int load_target(struct hc_target *t, int argc, char **argv, const char **why)
{
    const char *listen = getenv("JOBQ_LISTEN");
    t->port_file = getenv("JOBQ_PORT_FILE");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--listen=", 9) == 0)
            listen = a + 9;
        else if (strcmp(a, "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strncmp(a, "--port-file=", 12) == 0)
            t->port_file = a + 12;
        else if (strcmp(a, "--port-file") == 0 && i + 1 < argc)
            t->port_file = argv[++i];
        else
            return *why = "usage: jobqd healthcheck [--listen HOST:PORT] [--port-file PATH]", JQ_EINVAL;
    }
    if (parse_listen(t, listen && *listen ? listen : "127.0.0.1:8080"))
        return *why = "invalid listen address (HOST:PORT)", JQ_EINVAL;
    if (strcmp(t->port, "0") == 0 && read_port_file(t))
        return *why = "port 0 and no readable port file", JQ_EINVAL;
    return 0;
}

/* Non-blocking connect to the numeric address, waiting until the deadline. */
static int connect_by(const struct hc_target *t, int64_t deadline_ms, const char **why)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int fd = -1, err = 0;
    socklen_t len = sizeof err;
    if (getaddrinfo(t->host, t->port, &hints, &ai) != 0 || !ai) {
        *why = "not a numeric address";
        goto out;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)) {
        *why = strerror(errno);
        goto fail;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, left_ms(deadline_ms)) != 1) {
        *why = "connect timed out";
        goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        *why = strerror(err ? err : errno);
        goto fail;
    }
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    fd = -1;
out:
    if (ai)
        freeaddrinfo(ai);
    return fd;
}

/* Wait for fd to be ready for events; false at the deadline. */
static bool wait_ready(int fd, short events, int64_t deadline_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    while ((n = poll(&p, 1, left_ms(deadline_ms))) < 0 && errno == EINTR)
        ;
    return n == 1;
}

static int send_request(int fd, const struct hc_target *t, int64_t deadline_ms)
{
    char req[HC_LINE_MAX];
    bool v6 = strchr(t->host, ':') != NULL;
    int len = snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: %s%s%s:%s\r\nConnection: close\r\n\r\n",
                       v6 ? "[" : "", t->host, v6 ? "]" : "", t->port);
    for (int off = 0; off < len;) {
        if (!wait_ready(fd, POLLOUT, deadline_ms))
            return JQ_EBUSY;
        ssize_t n = send(fd, req + off, (size_t)(len - off), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return JQ_ESYS;
        off += n > 0 ? (int)n : 0;
    }
    return 0;
}

/* Read until the status line is complete; returns its status code or a
 * negative JQ_E* (JQ_EBUSY at the deadline). */
static int read_status(int fd, int64_t deadline_ms)
{
    char line[HC_LINE_MAX];
    size_t len = 0;
    while (len < sizeof line - 1) {
        if (!wait_ready(fd, POLLIN, deadline_ms))
            return JQ_EBUSY;
        ssize_t n = recv(fd, line + len, sizeof line - 1 - len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
        len += n > 0 ? (size_t)n : 0;
        line[len] = '\0';
        if (strstr(line, "\r\n"))
            break;
    }
    line[len] = '\0';
    int status = 0;
    if (sscanf(line, "HTTP/1.%*1[01] %3d", &status) != 1)
        return JQ_EINVAL;
    return status;
}

/* Connect, ask, read the status; *why explains anything but a status. */
static int probe(const struct hc_target *t, const char **why)
{
    int64_t deadline_ms = now_ms() + HC_TIMEOUT_MS;
    int fd = connect_by(t, deadline_ms, why);
    if (fd < 0)
        return JQ_ESYS;
    int status = send_request(fd, t, deadline_ms);
    if (status == 0)
        status = read_status(fd, deadline_ms);
    close(fd);
    if (status == JQ_EBUSY)
        *why = "no answer within 3 s";
    else if (status < 0)
        *why = "not an HTTP answer (is TLS on? the healthcheck speaks plain HTTP)";
    return status;
}

bool jq_healthcheck_is_invocation(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "healthcheck") == 0;
}

int jq_healthcheck_run(int argc, char **argv, FILE *out)
{
    struct hc_target t = {0};
    const char *why = "unknown error";
    if (load_target(&t, argc, argv, &why)) {
        fprintf(out, "unhealthy: %s\n", why);
        return 1;
    }
    bool v6 = strchr(t.host, ':') != NULL;
    const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
    int status = probe(&t, &why);
    if (status == 200) {
        fprintf(out, "healthy: %s%s%s:%s answered 200\n", lb, t.host, rb, t.port);
        return 0;
    }
    if (status > 0)
        fprintf(out, "unhealthy: %s%s%s:%s answered %d\n", lb, t.host, rb, t.port, status);
    else
        fprintf(out, "unhealthy: %s%s%s:%s: %s\n", lb, t.host, rb, t.port, why);
    return 1;
}
