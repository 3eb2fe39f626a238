/* cgroup_job.c: one job's cgroup, made by the worker before the spawn —
 * its memory and process limits, the cgroup.procs files the job's child
 * writes itself into before it execs, which limit fired, and its removal.
 *
 * DESIGN: the job enters its cgroup before execve, in the vfork child,
 * by writing "0" (= the writing process) into each open cgroup.procs: no
 * process of the job ever runs outside it, so no fork can escape. The
 * files stay root's (or jobqd's user's), 0644 and directories 0755: the
 * job's user can read its limits but change nothing. With a memory cgroup
 * memory_bytes is the whole tree's memory (no RLIMIT_AS: an address-space
 * limit would fail allocations long before real use and hide which limit
 * fired); with a pids cgroup procs counts the job's own tasks (no
 * RLIMIT_NPROC: that counts every process of the job's user, so two jobs
 * of nobody would share one budget). Swap is not allowed in either backend
 * (memory.swap.max 0, v1 memsw equal to the memory limit). */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static void job_reset(struct jq_cgroup_job *job)
{
    memset(job, 0, sizeof(*job));
    for (int i = 0; i < JQ_CG_DIRS; i++)
        job->procs_fd[i] = -1;
    job->pids_events_fd = -1;
}

static int open_in(const char *dir, const char *file, int flags)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, flags | O_CLOEXEC);
}

static int set_limit(const char *dir, const char *file, int64_t value)
{
    char v[32];
    snprintf(v, sizeof(v), "%" PRId64, value);
    if (jq_cgroup_write(dir, file, v) == 0)
        return 0;
    jq_log_errno(JQ_LOG_ERR, errno, "cannot set %s/%s to %s", dir, file, v);
    return JQ_ESYS;
}

/* Memory: the limit, and no swap beyond it (where the kernel accounts it). */
static int set_memory(const struct jq_cgroup_job *job, int64_t bytes)
{
    const char *dir = job->dirs[JQ_CG_MEMORY];
    if (job->kind == JQ_CGROUP_V2) {
        if (set_limit(dir, "memory.max", bytes) != 0)
            return JQ_ESYS;
        (void)jq_cgroup_write(dir, "memory.swap.max", "0"); /* absent without swap accounting */
        return 0;
    }
    if (set_limit(dir, "memory.limit_in_bytes", bytes) != 0)
        return JQ_ESYS;
    int fd = open_in(dir, "memory.memsw.limit_in_bytes", O_WRONLY); /* absent without swap accounting */
    if (fd < 0)
        return 0;
    close(fd);
    return set_limit(dir, "memory.memsw.limit_in_bytes", bytes);
}

/* mkdir in each hierarchy, then the limits, then the files kept open. */
static int make_dirs(const struct jq_cgroups *cg, const char *name, const struct jq_job_limits *l,
                     struct jq_cgroup_job *job)
{
    for (int i = 0; i < JQ_CG_DIRS; i++) {
        if (!cg->dirs[i][0])
            continue;
        if (snprintf(job->dirs[i], PATH_MAX, "%s/%s", cg->dirs[i], name) >= PATH_MAX ||
            mkdir(job->dirs[i], 0755) != 0) {
            jq_log_errno(JQ_LOG_ERR, errno, "cannot make the job's cgroup %s", job->dirs[i]);
            job->dirs[i][0] = '\0';
            return JQ_ESYS;
        }
        if ((job->procs_fd[i] = open_in(job->dirs[i], "cgroup.procs", O_WRONLY)) < 0) {
            jq_log_errno(JQ_LOG_ERR, errno, "cannot open %s/cgroup.procs", job->dirs[i]);
            return JQ_ESYS;
        }
    }
    const char *pids_dir = job->dirs[job->kind == JQ_CGROUP_V2 ? JQ_CG_MEMORY : JQ_CG_PIDS];
    if (l->memory_bytes > 0 && set_memory(job, l->memory_bytes) != 0)
        return JQ_ESYS;
    if (l->procs > 0 && set_limit(pids_dir, "pids.max", l->procs) != 0)
        return JQ_ESYS;
    job->limits_memory = l->memory_bytes > 0;
    job->limits_procs = l->procs > 0;
    job->pids_events_fd = open_in(pids_dir, "pids.events", O_RDONLY);
    return 0;
}

int jq_cgroup_job_create(const struct jq_cgroups *cg, const char *name, const struct jq_job_limits *l,
                         struct jq_cgroup_job *job)
{
    job_reset(job);
    if (cg->kind == JQ_CGROUP_NONE)
        return 0;
    job->kind = cg->kind;
    int rc = make_dirs(cg, name, l, job);
    if (rc != 0)
        jq_cgroup_job_destroy(job);
    return rc;
}

void jq_cgroup_job_kill(const struct jq_cgroup_job *job)
{
    if (job->kind == JQ_CGROUP_NONE)
        return;
    const char *dir = job->dirs[job->kind == JQ_CGROUP_V2 ? JQ_CG_MEMORY : JQ_CG_PIDS];
    jq_cgroup_kill_dir(job->kind, dir, job->dirs[JQ_CG_FREEZER]);
}

int jq_cgroup_job_event_fd(const struct jq_cgroup_job *job)
{
    return job->kind == JQ_CGROUP_V2 && job->limits_procs ? job->pids_events_fd : -1;
}

/* "max N" of pids.events, read again from the start (which also re-arms
 * the v2 notification). */
static long long pids_max_events(int fd)
{
    char buf[256];
    ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    long long v = -1;
    for (const char *line = buf; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (sscanf(line, "max %lld", &v) == 1)
            return v;
    return -1;
}

bool jq_cgroup_job_hit_procs(const struct jq_cgroup_job *job)
{
    return job->kind != JQ_CGROUP_NONE && job->limits_procs && pids_max_events(job->pids_events_fd) > 0;
}

bool jq_cgroup_job_hit_memory(const struct jq_cgroup_job *job)
{
    const char *dir = job->dirs[JQ_CG_MEMORY];
    if (job->kind == JQ_CGROUP_NONE || !job->limits_memory)
        return false;
    if (job->kind == JQ_CGROUP_V2)
        return jq_cgroup_read_key(dir, "memory.events", "oom_kill") > 0;
    long long kills = jq_cgroup_read_key(dir, "memory.oom_control", "oom_kill"); /* kernels >= 4.13 */
    if (kills >= 0)
        return kills > 0;
    char failcnt[32];
    int fd = open_in(dir, "memory.failcnt", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, failcnt, sizeof(failcnt) - 1) : -1;
    if (fd >= 0)
        close(fd);
    return n > 0 && (failcnt[n] = '\0', strtoll(failcnt, NULL, 10) > 0);
}

void jq_cgroup_job_destroy(struct jq_cgroup_job *job)
{
    for (int i = 0; i < JQ_CG_DIRS; i++)
        if (job->procs_fd[i] >= 0)
            close(job->procs_fd[i]);
    if (job->pids_events_fd >= 0)
        close(job->pids_events_fd);
    for (int i = 0; i < JQ_CG_DIRS; i++)
        if (job->dirs[i][0])
            (void)jq_cgroup_rmdir(job->dirs[i]);
    job_reset(job);
}
