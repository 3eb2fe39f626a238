/* isolation.c: the master's share of job isolation at start-up — make
 * itself undumpable, prepare the work root and the job cgroups (or fall
 * back to rlimits), and say in the log which user jobs run as and how
 * their limits are enforced (docs/security.md). */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "workdir.h"

/* "none" or the number, for the log line. */
static const char *limit_text(int64_t v, char *buf, size_t cap)
{
    if (v <= 0)
        return "none";
    snprintf(buf, cap, "%lld", (long long)v);
    return buf;
}

static void log_isolation(const struct jq_config *cfg)
{
    char c[24], m[24], p[24], n[24], f[24];
    const struct jq_job_limits *l = &cfg->limits;
    jq_log(JQ_LOG_INFO, "jobs run as uid %lu gid %lu%s%s, no supplementary groups%s, no_new_privs; in %s %s",
           (unsigned long)cfg->run_uid, (unsigned long)cfg->run_gid,
           cfg->run_id_count > 0 ? " plus the worker's slot (one user per worker)" : "",
           cfg->run_set_ids ? "" : " (jobqd's own user: no switch)", cfg->run_set_ids ? "" : " unless inherited",
           cfg->job_cwd[0] ? "the shared directory" : "private directories under",
           cfg->job_cwd[0] ? cfg->job_cwd : cfg->work_root);
    bool cg = cfg->cgroups.kind != JQ_CGROUP_NONE;
    jq_log(JQ_LOG_INFO, "job limits (ceilings): cpu_s=%s (RLIMIT_CPU) memory_bytes=%s (%s) procs=%s (%s) nofile=%s "
           "fsize_bytes=%s core=0 (rlimits); network %s",
           limit_text(l->cpu_s, c, sizeof c), limit_text(l->memory_bytes, m, sizeof m),
           cg ? "the job's memory cgroup" : "RLIMIT_AS, per process", limit_text(l->procs, p, sizeof p),
           cg ? "the job's pids cgroup" : "RLIMIT_NPROC, per user", limit_text(l->nofile, n, sizeof n),
           limit_text(l->fsize_bytes, f, sizeof f), cfg->no_job_network ? "off for every job" : "per job");
}

/* Make or check the root, then sweep what dead masters' workers left. */
static int prepare_work_root(const char *path)
{
    char msg[PATH_MAX + 128];
    int fd = -1;
    if (jq_workdir_root_prepare(path, msg, sizeof(msg)) != 0) {
        jq_log(JQ_LOG_ERR, "%s", msg);
        return JQ_ESYS;
    }
    if (jq_workdir_root_open(path, &fd) != 0)
        return JQ_ESYS;
    jq_workdir_sweep(fd, "");
    close(fd);
    return 0;
}

/* Job cgroups as --job-cgroups asks; a forced backend that is missing
 * stops the start (JQ_EINVAL). */
static int prepare_cgroups(struct jq_config *cfg)
{
    char why[2 * PATH_MAX + 256];
    int rc = jq_cgroup_setup(cfg->job_cgroups, &cfg->cgroups, why, sizeof(why));
    if (rc != 0)
        jq_log(JQ_LOG_ERR, "--job-cgroups %s is not available: %s", cfg->job_cgroups == JQ_CGROUP_FORCE_V2 ? "v2" : "v1",
               why);
    else
        jq_log(JQ_LOG_INFO, "job cgroups: %s", why);
    return rc;
}

int jq_isolation_start(struct jq_config *cfg)
{
    /* Not even a job of the same user may ptrace the master or read its
     * memory and environment through /proc. */
    if (prctl(PR_SET_DUMPABLE, 0) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "prctl(PR_SET_DUMPABLE) failed");
        return JQ_ESYS;
    }
    if (!cfg->job_cwd[0] && prepare_work_root(cfg->work_root) != 0)
        return JQ_ESYS;
    if (prepare_cgroups(cfg) != 0)
        return JQ_EINVAL;
    log_isolation(cfg);
    return 0;
}
