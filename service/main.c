/* main.c: jobqd's entry point — the master by default, a worker when the
 * master re-executes itself with the hidden worker arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "config.h"
#include "healthcheck.h"
#include "log.h"
#include "service.h"
#include "supervisor.h"

/* Connections, long-polls and job pipes are descriptors: use all we may. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    enum jq_log_format format = JQ_LOG_TEXT;
    if (jq_is_worker_invocation(argc, argv)) {
        /* The master exported its format; workers inherit its environment. */
        if (getenv("JOBQ_LOG_FORMAT") && jq_log_format_parse(getenv("JOBQ_LOG_FORMAT"), &format) == 0)
            jq_log_set_format(format);
        return jq_worker_entry(argc, argv);
    }
    if (jq_healthcheck_is_invocation(argc, argv))
        return jq_healthcheck_run(argc - 1, argv + 1, stdout);
    struct jq_config cfg;
    switch (jq_config_load(&cfg, argc, argv, stdout, stderr)) {
    case JQ_CONFIG_HELP:
    case JQ_CONFIG_VERSION:
        return 0;
    case JQ_CONFIG_BAD:
        return 2;
    case JQ_CONFIG_RUN:
        break;
    }
    jq_log_setup(cfg.log_level, "master");
    jq_log_set_format(cfg.log_format);
    setenv("JOBQ_LOG_FORMAT", cfg.log_format == JQ_LOG_JSON ? "json" : "text", 1);
    raise_fd_limit();
    return jq_service_run(&cfg);
}
