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
 * (memory.swap.max 0, v1 memsw equal to the memory limit).
 *
 * DESIGN (reuse): a worker keeps its cgroup from job to job. Before each
 * job jq_cgroup_job_begin writes the limits that changed and notes the
 * counters (oom_kill or failcnt, pids.events max); a limit is reported only
 * when its counter grew during the job. After the job jq_cgroup_job_end
 * kills through it and waits until it lists no process; a cgroup that
 * does not empty, or whose limits cannot be set, is removed and the next
 * job gets a new one. */
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

void jq_cgroup_job_init(struct jq_cgroup_job *job)
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

/* value 0 = no limit ("max" in v2, -1 in v1). */
static int set_limit(enum jq_cgroup_kind kind, const char *dir, const char *file, int64_t value)
{
    char v[32];
    if (value > 0)
        snprintf(v, sizeof(v), "%" PRId64, value);
    else
        snprintf(v, sizeof(v), "%s", kind == JQ_CGROUP_V2 ? "max" : "-1");
    if (jq_cgroup_write(dir, file, v) == 0)
        return 0;
    jq_log_errno(JQ_LOG_ERR, errno, "cannot set %s/%s to %s", dir, file, v);
    return JQ_ESYS;
}

/* Memory: the limit, and no swap beyond it (where the kernel accounts it).
 * v1 wants memsw >= memory at every step: the larger one moves first. */
static int set_memory(struct jq_cgroup_job *job, int64_t bytes)
{
    const char *dir = job->dirs[JQ_CG_MEMORY];
    if (job->kind == JQ_CGROUP_V2) {
        if (set_limit(job->kind, dir, "memory.max", bytes) != 0)
            return JQ_ESYS;
        (void)jq_cgroup_write(dir, "memory.swap.max", "0"); /* absent without swap accounting */
        return 0;
    }
    int fd = open_in(dir, "memory.memsw.limit_in_bytes", O_WRONLY); /* absent without swap accounting */
    bool memsw = fd >= 0;
    if (fd >= 0)
        close(fd);
    bool growing = bytes <= 0 || (job->memory_bytes > 0 && bytes > job->memory_bytes);
    if (memsw && growing && set_limit(job->kind, dir, "memory.memsw.limit_in_bytes", bytes) != 0)
        return JQ_ESYS;
    if (set_limit(job->kind, dir, "memory.limit_in_bytes", bytes) != 0)
        return JQ_ESYS;
    return memsw && !growing ? set_limit(job->kind, dir, "memory.memsw.limit_in_bytes", bytes) : 0;
}

static const char *pids_dir(const struct jq_cgroup_job *job)
{
    return job->dirs[job->kind == JQ_CGROUP_V2 ? JQ_CG_MEMORY : JQ_CG_PIDS];
}

/* mkdir in each hierarchy, then the files kept open. */
static int make_dirs(const struct jq_cgroups *cg, const char *name, struct jq_cgroup_job *job)
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
    job->pids_events_fd = open_in(pids_dir(job), "pids.events", O_RDONLY);
    return 0;
}

int jq_cgroup_job_create(const struct jq_cgroups *cg, const char *name, const struct jq_job_limits *l,
                         struct jq_cgroup_job *job)
{
    jq_cgroup_job_init(job);
    if (cg->kind == JQ_CGROUP_NONE)
        return 0;
    job->kind = cg->kind;
    int rc = make_dirs(cg, name, job);
    if (rc == 0)
        rc = jq_cgroup_job_begin(job, l);
    if (rc != 0)
        jq_cgroup_job_destroy(job);
    return rc;
}

void jq_cgroup_job_kill(const struct jq_cgroup_job *job)
{
    if (job->kind == JQ_CGROUP_NONE)
        return;
    jq_cgroup_kill_dir(job->kind, pids_dir(job), job->dirs[JQ_CG_FREEZER]);
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

/* How often the kernel enforced the memory limit: v2 and v1 >= 4.13
 * oom_kill, older v1 memory.failcnt; -1 when unknown. */
static long long memory_hits(const struct jq_cgroup_job *job)
{
    const char *dir = job->dirs[JQ_CG_MEMORY];
    if (job->kind == JQ_CGROUP_V2)
        return jq_cgroup_read_key(dir, "memory.events", "oom_kill");
    long long kills = jq_cgroup_read_key(dir, "memory.oom_control", "oom_kill");
    if (kills >= 0)
        return kills;
    char failcnt[32];
    int fd = open_in(dir, "memory.failcnt", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, failcnt, sizeof(failcnt) - 1) : -1;
    if (fd >= 0)
        close(fd);
    return n > 0 ? (failcnt[n] = '\0', strtoll(failcnt, NULL, 10)) : -1;
}

int jq_cgroup_job_begin(struct jq_cgroup_job *job, const struct jq_job_limits *l)
{
    if (job->kind == JQ_CGROUP_NONE)
        return 0;
    int64_t memory = l->memory_bytes > 0 ? l->memory_bytes : 0, procs = l->procs > 0 ? l->procs : 0;
    if (memory != job->memory_bytes) {
        if (set_memory(job, memory) != 0)
            return JQ_ESYS;
        job->memory_bytes = memory;
    }
    if (procs != job->procs) {
        if (set_limit(job->kind, pids_dir(job), "pids.max", procs) != 0)
            return JQ_ESYS;
        job->procs = procs;
    }
    job->limits_memory = memory > 0;
    job->limits_procs = procs > 0;
    job->memory_hits_before = job->limits_memory ? memory_hits(job) : -1;
    job->procs_hits_before = job->limits_procs ? pids_max_events(job->pids_events_fd) : -1;
    return 0;
}

int jq_cgroup_job_end(struct jq_cgroup_job *job)
{
    if (job->kind == JQ_CGROUP_NONE)
        return 0;
    jq_cgroup_job_kill(job);
    for (int i = 0; i < JQ_CG_DIRS; i++)
        if (job->dirs[i][0] && jq_cgroup_wait_empty(job->dirs[i]) != 0)
            return JQ_ESYS;
    return 0;
}

/* A counter grew since begin (before = -1: it could not be read then). */
static bool grew(long long before, long long now)
{
    return now > (before > 0 ? before : 0);
}

bool jq_cgroup_job_hit_procs(const struct jq_cgroup_job *job)
{
    return job->kind != JQ_CGROUP_NONE && job->limits_procs &&
           grew(job->procs_hits_before, pids_max_events(job->pids_events_fd));
}

bool jq_cgroup_job_hit_memory(const struct jq_cgroup_job *job)
{
    return job->kind != JQ_CGROUP_NONE && job->limits_memory && grew(job->memory_hits_before, memory_hits(job));
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
    jq_cgroup_job_init(job);
}
