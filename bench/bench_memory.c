/* bench_memory.c: memory of a running jobqd — the master's RSS idle, its
 * peak while N `true` jobs run (sampled every SAMPLE_MS by a thread of the
 * bench, not of jobqd), and after each of ROUNDS runs (flat = no growth
 * from one run to the next); then each worker's RSS and peak (VmHWM). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#define SAMPLE_MS 20
#define ROUNDS 3
#define SETTLE_MS 500

struct sampler {
    pid_t pid;
    atomic_bool stop;
    long max_rss_kb;
};

static void *sample_main(void *arg)
{
    struct sampler *s = arg;
    while (!atomic_load(&s->stop)) {
        long rss, hwm;
        jq_bench_rss_kb(s->pid, &rss, &hwm);
        if (rss > s->max_rss_kb)
            s->max_rss_kb = rss;
        usleep(SAMPLE_MS * 1000);
    }
    return NULL;
}

/* The master's children: its workers (and, for a moment, re-executing ones). */
static void print_workers(pid_t master)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)master, (int)master);
    FILE *f = fopen(path, "re");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1) {
        long rss, hwm;
        jq_bench_rss_kb((pid_t)pid, &rss, &hwm);
        printf("memory: worker pid %d RSS %ld kB, peak %ld kB\n", pid, rss, hwm);
    }
    if (f)
        fclose(f);
}

void jq_bench_memory(const char *base, pid_t master, int n)
{
    long rss, hwm;
    jq_bench_rss_kb(master, &rss, &hwm);
    printf("memory: master idle RSS %ld kB\n", rss);
    for (int r = 1; r <= ROUNDS; r++) {
        struct sampler s = {.pid = master, .max_rss_kb = 0};
        pthread_t th;
        pthread_create(&th, NULL, sample_main, &s);
        jq_bench_throughput(base, n);
        atomic_store(&s.stop, true);
        pthread_join(th, NULL);
        usleep(SETTLE_MS * 1000);
        jq_bench_rss_kb(master, &rss, &hwm);
        printf("memory: run %d: master RSS peak %ld kB, after %ld kB\n", r, s.max_rss_kb, rss);
    }
    print_workers(master);
}
