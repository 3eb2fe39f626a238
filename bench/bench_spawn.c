/* bench_spawn.c: the baselines of the end-to-end measures — the bare spawn
 * time of /bin/true, and a raw pool of W processes each doing posix_spawn +
 * pipe + read to EOF + waitpid (no HTTP, no database). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define BARE_SPAWNS 200

extern char **environ;

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

void jq_bench_spawn(int n, int w)
{
    double ms[BARE_SPAWNS];
    for (int i = 0; i < BARE_SPAWNS; i++) {
        double t0 = jq_bench_now_us();
        spawn_true();
        ms[i] = (jq_bench_now_us() - t0) / 1000.0;
    }
    jq_bench_print_percentiles("bare spawn of true (sequential)", ms, BARE_SPAWNS);
    double t0 = jq_bench_now_us();
    for (int p = 0; p < w; p++) {
        if (fork() == 0) {
            for (int i = p; i < n; i += w)
                spawn_true();
            _exit(0);
        }
    }
    while (wait(NULL) > 0)
        ;
    double secs = (jq_bench_now_us() - t0) / 1e6;
    printf("raw spawn pool: %d spawns with %d processes in %.3f s = %.0f spawns/s\n", n, w, secs, n / secs);
}
