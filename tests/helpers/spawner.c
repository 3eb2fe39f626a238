/* spawner.c: a test helper that misbehaves on request — prints, floods,
 * forks trees that outlive it, ignores SIGTERM, closes its stdout, lists
 * its descriptors and environment. Flags run in the order given:
 *
 *   --print TEXT     TEXT and a newline on stdout     --eprint TEXT  same on stderr
 *   --bytes N        N bytes of 'x' on stdout         --ebytes N     same on stderr
 *   --binary         the bytes 0x00..0xff on stdout   --cat          copy stdin to stdout
 *   --children N     fork N children that sleep forever
 *   --grandchild     fork a child that forks a grandchild; both sleep forever
 *   --double-fork    daemonise a grandchild (fork, setsid, fork) that sleeps
 *                    forever; the intermediate exits and is reaped
 *   --ignore-term    ignore SIGTERM (inherited by children forked later)
 *   --close-stdout   close descriptors 1 and 2
 *   --list-fds       print the open descriptor numbers, one per line
 *   --env            print the environment, one entry per line
 *   --marker TAG     no effect: TAG in argv lets a test find every process of
 *                    the tree (children do not exec, so they share this argv)
 *   --sleep-ms N     sleep N milliseconds
 *   --exit N         exit with status N now
 *   --signal N       raise signal N (continues if it is ignored)
 *   --forkbomb CAP   fork without end in every process (at most CAP in all)
 *   --alloc BYTES    allocate and touch BYTES; exit 4 if that fails
 *   --connect A:P    try a TCP connection to IPv4 address A, port P
 *
 * Exits 0 after the last flag. Standalone: no project library. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawner_hostile.h"

extern char **environ;

static void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            exit(3); /* the reader is gone */
        p += w;
        n -= (size_t)w;
    }
}

static void print_line(int fd, const char *text)
{
    write_all(fd, text, strlen(text));
    write_all(fd, "\n", 1);
}

static void write_bytes(int fd, long long n)
{
    char buf[65536];
    memset(buf, 'x', sizeof(buf));
    while (n > 0) {
        size_t chunk = n < (long long)sizeof(buf) ? (size_t)n : sizeof(buf);
        write_all(fd, buf, chunk);
        n -= (long long)chunk;
    }
}

static void write_binary(void)
{
    unsigned char buf[256];
    for (int i = 0; i < 256; i++)
        buf[i] = (unsigned char)i;
    write_all(1, buf, sizeof(buf));
}

static void cat_stdin(void)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        write_all(1, buf, (size_t)n);
    }
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

__attribute__((noreturn)) static void sleep_forever(void)
{
    for (;;)
        pause();
}

static pid_t fork_or_die(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(4);
    }
    return pid;
}

static void spawn_children(long n)
{
    for (long i = 0; i < n; i++)
        if (fork_or_die() == 0)
            sleep_forever();
}

static void spawn_grandchild(void)
{
    if (fork_or_die() == 0) {
        if (fork_or_die() == 0)
            sleep_forever();
        sleep_forever();
    }
}

static void spawn_daemon(void)
{
    pid_t mid = fork_or_die();
    if (mid == 0) {
        setsid();
        if (fork_or_die() == 0)
            sleep_forever();
        _exit(0);
    }
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static void list_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        perror("opendir");
        exit(4);
    }
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        print_line(1, e->d_name);
    }
    closedir(d);
}

static void print_env(void)
{
    for (char **e = environ; *e; e++)
        print_line(1, *e);
}

static long long num_arg(int argc, char **argv, int i)
{
    if (i >= argc) {
        fprintf(stderr, "spawner: %s needs a value\n", argv[i - 1]);
        exit(2);
    }
    return strtoll(argv[i], NULL, 10);
}

static const char *str_arg(int argc, char **argv, int i)
{
    if (i >= argc) {
        fprintf(stderr, "spawner: %s needs a value\n", argv[i - 1]);
        exit(2);
    }
    return argv[i];
}

/* Runs flag argv[i]; returns the index of the next flag. */
static int run_flag(int argc, char **argv, int i)
{
    const char *f = argv[i];
    if (!strcmp(f, "--print")) print_line(1, str_arg(argc, argv, ++i));
    else if (!strcmp(f, "--eprint")) print_line(2, str_arg(argc, argv, ++i));
    else if (!strcmp(f, "--bytes")) write_bytes(1, num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--ebytes")) write_bytes(2, num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--binary")) write_binary();
    else if (!strcmp(f, "--cat")) cat_stdin();
    else if (!strcmp(f, "--children")) spawn_children((long)num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--grandchild")) spawn_grandchild();
    else if (!strcmp(f, "--double-fork")) spawn_daemon();
    else if (!strcmp(f, "--ignore-term")) signal(SIGTERM, SIG_IGN);
    else if (!strcmp(f, "--close-stdout")) { close(1); close(2); }
    else if (!strcmp(f, "--list-fds")) list_fds();
    else if (!strcmp(f, "--env")) print_env();
    else if (!strcmp(f, "--marker")) (void)str_arg(argc, argv, ++i);
    else if (!strcmp(f, "--sleep-ms")) sleep_ms(num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--exit")) exit((int)num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--signal")) raise((int)num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--forkbomb")) hostile_forkbomb((long)num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--alloc")) hostile_alloc(num_arg(argc, argv, ++i));
    else if (!strcmp(f, "--connect")) hostile_connect(str_arg(argc, argv, ++i));
    else {
        fprintf(stderr, "spawner: unknown flag %s\n", f);
        exit(2);
    }
    return i + 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc;)
        i = run_flag(argc, argv, i);
    return 0;
}
