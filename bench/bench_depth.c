/* bench_depth.c: queue depth — the claim rate with DEEP jobs queued against
 * the rate with SHALLOW queued, through the storage library on two
 * temporary databases in DIR (each filled in big transactions). Claims take
 * one job each, as the dispatcher does for one idle worker, durable
 * (synchronous=FULL) as in the service; rounds alternate between the two
 * databases so the machine's noise hits both alike. Prints the claim
 * query's plan too. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "log.h"
#include "store.h"
#include "store_sqlite.h"

#define FILL_BATCH 50000
#define ROUNDS 10

static int fill(struct jq_store *st, int n)
{
    static char *argv[] = {"true", NULL};
    struct jq_job_spec *specs = calloc(FILL_BATCH, sizeof *specs);
    int64_t *ids = calloc(FILL_BATCH, sizeof *ids);
    int err = specs && ids ? 0 : JQ_ENOMEM;
    for (int i = 0; i < FILL_BATCH; i++) {
        jq_job_spec_init(&specs[i]);
        specs[i].argv = argv;
        specs[i].argc = 1;
        specs[i].timeout_ms = 60000;
    }
    for (int done = 0; err == 0 && done < n; done += FILL_BATCH)
        err = jq_store_enqueue(st, specs, (size_t)(n - done < FILL_BATCH ? n - done : FILL_BATCH), ids);
    free(specs);
    free(ids);
    return err;
}

static int open_filled(const char *dir, const char *name, int n, struct jq_store **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    int err = jq_store_open_sqlite(out, path);
    double t0 = jq_bench_now_us();
    if (err == 0)
        err = fill(*out, n);
    if (err == 0)
        printf("depth: filled %s with %d queued jobs in %.1f s\n", name, n, (jq_bench_now_us() - t0) / 1e6);
    return err;
}

/* claims one-job claims; returns the seconds they took. */
static double claim_round(struct jq_store *st, int claims)
{
    struct jq_job job;
    size_t got = 0;
    double t0 = jq_bench_now_us();
    for (int i = 0; i < claims; i++) {
        if (jq_store_claim(st, 1, &job, &got) != 0 || got != 1) {
            fprintf(stderr, "claim failed\n");
            exit(1);
        }
        jq_job_cleanup(&job);
    }
    return (jq_bench_now_us() - t0) / 1e6;
}

static void print_plan(struct jq_store *st)
{
    char plan[512];
    if (jq_store_sqlite_claim_plan(st, plan, sizeof plan) == 0)
        printf("depth: claim query plan: %s", plan);
}

int jq_bench_depth(const char *dir, int deep, int shallow, int claims)
{
    struct jq_store *big = NULL, *small = NULL;
    jq_log_setup(JQ_LOG_WARN, "bench");
    int err = open_filled(dir, "deep", deep + claims, &big);
    if (err == 0)
        err = open_filled(dir, "shallow", shallow + claims, &small);
    if (err) {
        fprintf(stderr, "depth: cannot build the databases (%s)\n", jq_err_name(err));
        jq_store_close(big);
        jq_store_close(small);
        return 1;
    }
    print_plan(big);
    double t_big = 0, t_small = 0;
    for (int r = 0; r < ROUNDS; r++) {
        t_small += claim_round(small, claims / ROUNDS);
        t_big += claim_round(big, claims / ROUNDS);
    }
    int n = claims / ROUNDS * ROUNDS;
    printf("depth: claim rate %d queued: %.0f claims/s; %d queued: %.0f claims/s; ratio %.2f\n", shallow,
           n / t_small, deep, n / t_big, t_small / t_big);
    jq_store_close(big);
    jq_store_close(small);
    return 0;
}
