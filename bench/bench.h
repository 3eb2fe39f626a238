/* bench.h: what the benchmark's files share — time, percentiles, one HTTP
 * request on a reused curl handle, a process's memory — and the measures
 * jobq_bench runs. Every measure prints lines "name: numbers" that
 * bench/run.sh turns into its table. */
#ifndef JQ_BENCH_H
#define JQ_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>
#include <curl/curl.h>

/* Monotonic microseconds. */
double jq_bench_now_us(void);
/* Sort ms[0..n) and print "what: n=.. p50=.. p90=.. p99=.. max=.." (ms). */
void jq_bench_print_percentiles(const char *what, double *ms, size_t n);
/* The p-th percentile (0..100) of sorted ms[0..n). */
double jq_bench_percentile(const double *sorted_ms, size_t n, double p);
/* One request on a reused handle (keep-alive): GET, or POST of post_body.
 * Exits on a transport failure. Returns the parsed JSON (caller frees). */
cJSON *jq_bench_request(CURL *h, const char *url, const char *post_body);

/* VmRSS and VmHWM of pid in kB (-1 when unknown). */
void jq_bench_rss_kb(pid_t pid, long *rss_kb, long *hwm_kb);

/* The measures (bench_e2e.c, bench_submit.c, bench_spawn.c, bench_depth.c,
 * bench_memory.c). */
void jq_bench_throughput(const char *base, int n);
void jq_bench_latency(const char *base, int n);
void jq_bench_submit(const char *base, int n, int conns);
void jq_bench_spawn(int n, int w);
int jq_bench_depth(const char *dir, int deep, int shallow, int claims);
void jq_bench_memory(const char *base, pid_t master, int n);

#endif
