/* config.h: jobqd's settings — flags with environment equivalents, their
 * defaults, and validation. Parsing never exits; main() decides. */
#ifndef JQ_CONFIG_H
#define JQ_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include "log.h"

struct jq_config {
    char listen_host[64];       /* numeric address */
    uint16_t port;              /* 0 = ephemeral */
    char db_path[PATH_MAX];
    unsigned workers;
    unsigned http_threads;
    int64_t default_timeout_ms;
    int64_t max_timeout_ms;
    int64_t kill_grace_ms;
    int64_t max_output_bytes;
    long max_jobs_per_worker;   /* 0 = never replace a worker */
    char job_cwd[PATH_MAX];
    enum jq_log_level log_level;
    char port_file[PATH_MAX];   /* "" = none */
    int64_t shutdown_grace_ms;
};

enum jq_config_outcome {
    JQ_CONFIG_RUN = 0,     /* start the service */
    JQ_CONFIG_HELP = 1,    /* --help was printed */
    JQ_CONFIG_VERSION = 2, /* --version was printed */
    JQ_CONFIG_BAD = 3      /* a message was printed to err */
};

/* Fill cfg from the defaults, then the environment, then argv (flags win).
 * Help and version text go to out, problems to err. */
enum jq_config_outcome jq_config_load(struct jq_config *cfg, int argc, char **argv, FILE *out, FILE *err);

#endif
