/* jobq_bench.c: jobq's numbers and the baselines to compare them with,
 * measured in the same run (bench/run.sh runs them all and prints the
 * table). One measure per invocation:
 *   jobq_bench spawn N W             baselines: bare spawn of /bin/true; W processes spawning N in all
 *   jobq_bench throughput URL N      N `true` jobs submitted (batches of 100), all results read back
 *   jobq_bench latency URL N         N sequential `true` jobs, submit -> result via ?wait
 *   jobq_bench submit URL N CONNS    N POST /v1/jobs on CONNS keep-alive connections, all must be 201
 *   jobq_bench depth DIR DEEP SHALLOW CLAIMS
 *                                    claim rate with DEEP vs SHALLOW jobs queued (storage directly)
 *   jobq_bench memory URL PID N      master PID's RSS idle, during N jobs, after; the workers' RSS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc == 4 && strcmp(cmd, "throughput") == 0)
        jq_bench_throughput(argv[2], atoi(argv[3]));
    else if (argc == 4 && strcmp(cmd, "latency") == 0)
        jq_bench_latency(argv[2], atoi(argv[3]));
    else if (argc == 4 && strcmp(cmd, "spawn") == 0)
        jq_bench_spawn(atoi(argv[2]), atoi(argv[3]));
    else if (argc == 5 && strcmp(cmd, "submit") == 0)
        jq_bench_submit(argv[2], atoi(argv[3]), atoi(argv[4]));
    else if (argc == 6 && strcmp(cmd, "depth") == 0)
        return jq_bench_depth(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    else if (argc == 5 && strcmp(cmd, "memory") == 0)
        jq_bench_memory(argv[2], (pid_t)atoi(argv[3]), atoi(argv[4]));
    else {
        fprintf(stderr, "usage: jobq_bench spawn N W | throughput URL N | latency URL N | submit URL N CONNS |\n"
                        "       depth DIR DEEP SHALLOW CLAIMS | memory URL PID N\n");
        return 2;
    }
    return 0;
}
