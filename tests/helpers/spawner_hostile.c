/* spawner_hostile.c: the spawner's hostile flags (spawner_hostile.h):
 * --forkbomb, --alloc, --connect. Standalone: no project library. */
#include "spawner_hostile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BOMB_LIFETIME_S 60

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void hostile_forkbomb(long cap)
{
    atomic_long *count = mmap(NULL, sizeof(*count), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (count == MAP_FAILED) {
        perror("mmap");
        exit(4);
    }
    atomic_store(count, 1);
    alarm(BOMB_LIFETIME_S); /* inherited by every child */
    printf("bombing\n");
    fflush(stdout);
    for (;;) {
        if (atomic_fetch_add(count, 1) >= cap) {
            atomic_fetch_sub(count, 1);
            pause_ms(50); /* at the safety cap: keep the tree, stop growing */
            continue;
        }
        pid_t pid = fork();
        if (pid < 0) {
            atomic_fetch_sub(count, 1);
            pause_ms(1); /* the limit held: try again, as a bomb does */
        }
    }
}

void hostile_alloc(long long bytes)
{
    char *p = bytes > 0 ? malloc((size_t)bytes) : NULL;
    if (!p) {
        printf("alloc failed\n");
        exit(4);
    }
    long page = sysconf(_SC_PAGESIZE);
    for (long long off = 0; off < bytes; off += page)
        p[off] = 1;
    printf("allocated %lld\n", bytes);
    free(p);
}

void hostile_connect(const char *addr_port)
{
    char host[64];
    const char *colon = strrchr(addr_port, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (!colon || (size_t)(colon - addr_port) >= sizeof(host)) {
        printf("connect failed: bad address\n");
        return;
    }
    memcpy(host, addr_port, (size_t)(colon - addr_port));
    host[colon - addr_port] = '\0';
    sa.sin_port = htons((unsigned short)atoi(colon + 1));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        printf("connect failed: %s\n", fd < 0 ? strerror(errno) : "bad address");
        return;
    }
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)), err = rc == 0 ? 0 : errno;
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        socklen_t len = sizeof(err);
        err = poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : ETIMEDOUT;
    }
    if (err == 0)
        printf("connected\n");
    else
        printf("connect failed: %s\n", strerror(err));
    close(fd);
}
