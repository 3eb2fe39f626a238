/* cgroup.h: per-job control groups — where they go, the limits they carry
 * (memory, processes), how a job's whole tree is killed through them and
 * which limit fired. One interface over two backends: cgroup v2 (one
 * unified hierarchy) and cgroup v1 (separate memory, pids and, if
 * writable, freezer hierarchies). The master probes and prepares a parent
 * cgroup for its jobs at start-up (cgroup_setup.c) and hands its paths to
 * the workers; a worker makes a cgroup below it and reuses it from job to
 * job, with each job's limits (cgroup_job.c).
 * docs/architecture.md shows the layout, docs/security.md the fallback. */
#ifndef JQ_CGROUP_H
#define JQ_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"
#include "job.h"

/* What --job-cgroups asks for. */
enum jq_cgroup_mode { JQ_CGROUP_AUTO = 0, JQ_CGROUP_FORCE_V2, JQ_CGROUP_FORCE_V1, JQ_CGROUP_OFF };
/* What is in use. */
enum jq_cgroup_kind { JQ_CGROUP_NONE = 0, JQ_CGROUP_V1, JQ_CGROUP_V2 };

/* The hierarchies of v1, in the order of struct jq_cgroups' dirs. */
enum { JQ_CG_MEMORY = 0, JQ_CG_PIDS = 1, JQ_CG_FREEZER = 2, JQ_CG_DIRS = 3 };

/* Where this generation's job cgroups go: the "jobs parent" of each
 * hierarchy ("" = not used). v2 uses dirs[0] only. */
struct jq_cgroups {
    enum jq_cgroup_kind kind;
    char dirs[JQ_CG_DIRS][PATH_MAX];
    /* v2 bookkeeping of the master (to undo at exit): jobqd's own cgroup
     * and the leaf it moved itself into ("" = it stayed where it was). */
    char v2_own[PATH_MAX];
    char v2_leaf[PATH_MAX];
};

/* "auto", "v2", "v1", "off" -> mode. Returns 0 or JQ_EINVAL. */
JQ_MUST_CHECK int jq_cgroup_mode_parse(const char *s, enum jq_cgroup_mode *out);
const char *jq_cgroup_kind_name(enum jq_cgroup_kind kind); /* "v2", "v1", "none" */

/* ---- the master (cgroup_setup.c) ---- */

/* Probe as mode says and make this generation's jobs parent(s) below
 * jobqd's own cgroup(s), after removing what dead earlier generations left
 * (their processes killed). Master only, before any thread or worker.
 * Sets *out (kind NONE when falling back) and a one-line account in why.
 * Returns 0, or JQ_EINVAL when a forced mode is not available (why says
 * what is missing). */
JQ_MUST_CHECK int jq_cgroup_setup(enum jq_cgroup_mode mode, struct jq_cgroups *out, char *why, size_t cap);
/* Remove the job cgroups a dead worker left (names "w<pid>-..."), killing
 * what is still in them. */
void jq_cgroup_sweep_worker(const struct jq_cgroups *cg, pid_t worker_pid);
/* At exit, every child process gone: remove this generation's cgroups and
 * undo the v2 move. */
void jq_cgroup_teardown(struct jq_cgroups *cg);

/* ---- a worker, per job (cgroup_job.c) ---- */

struct jq_cgroup_job {
    enum jq_cgroup_kind kind;
    char dirs[JQ_CG_DIRS][PATH_MAX]; /* the job's cgroup in each hierarchy ("" = none) */
    int procs_fd[JQ_CG_DIRS];        /* its cgroup.procs, open for writing, or -1 */
    int pids_events_fd;              /* pids.events, open for reading, or -1 */
    bool limits_memory;              /* memory_bytes is the cgroup's limit (no RLIMIT_AS) */
    bool limits_procs;               /* procs is the cgroup's limit (no RLIMIT_NPROC) */
    int64_t memory_bytes;            /* the limits written now (0 = none) */
    int64_t procs;
    long long memory_hits_before;    /* the counters when this job began (-1 = unknown) */
    long long procs_hits_before;
};

/* An empty slot (kind NONE, no files): what create and destroy leave. */
void jq_cgroup_job_init(struct jq_cgroup_job *job);

/* A job's cgroup named name ("w<worker pid>-job<id>-<n>") below cg's
 * parents, with the limits of l (memory_bytes, procs; 0 = none); its
 * cgroup.procs files left open for the job's child to write "0" into
 * before it execs. kind NONE in cg: job->kind NONE, returns 0. Returns 0
 * or JQ_ESYS (nothing left behind). */
JQ_MUST_CHECK int jq_cgroup_job_create(const struct jq_cgroups *cg, const char *name, const struct jq_job_limits *l,
                                       struct jq_cgroup_job *job);
/* Ready a cgroup kept from an earlier job for the next one: write the
 * limits of l that differ from the ones set, note the counters that say a
 * limit fired. Returns 0 or JQ_ESYS (then destroy it and create anew). */
JQ_MUST_CHECK int jq_cgroup_job_begin(struct jq_cgroup_job *job, const struct jq_job_limits *l);
/* After the job: kill through it and wait until it lists no process.
 * Returns 0 (ready for jq_cgroup_job_begin) or JQ_ESYS (destroy it). */
JQ_MUST_CHECK int jq_cgroup_job_end(struct jq_cgroup_job *job);
/* SIGKILL every process in the job's cgroup (v2 cgroup.kill; v1 freeze,
 * kill each, thaw, until empty). No-op for kind NONE. */
void jq_cgroup_job_kill(const struct jq_cgroup_job *job);
/* v2: a descriptor that polls POLLPRI when pids.events changes; v1: -1
 * (the kernel sends no notification there: check at a tick). */
int jq_cgroup_job_event_fd(const struct jq_cgroup_job *job);
/* True once the job's tree was refused a fork at its procs limit (since
 * this job began). */
bool jq_cgroup_job_hit_procs(const struct jq_cgroup_job *job);
/* True once the kernel's OOM killer killed a process of the job (since
 * this job began). */
bool jq_cgroup_job_hit_memory(const struct jq_cgroup_job *job);
/* Close its files and remove the cgroup (its processes must be gone;
 * waits a little for the kernel to see them go). */
void jq_cgroup_job_destroy(struct jq_cgroup_job *job);

/* ---- shared by both sides (cgroup_tree.c) ---- */

/* Kill every process in the cgroup dir (any hierarchy). v2: cgroup.kill;
 * else with freezer_dir (may be NULL) frozen around each round. */
void jq_cgroup_kill_dir(enum jq_cgroup_kind kind, const char *dir, const char *freezer_dir);
/* rmdir dir, retrying for a short while (EBUSY until its processes are
 * gone). Returns 0 or JQ_ESYS. */
int jq_cgroup_rmdir(const char *dir);
/* Wait a short while until dir/cgroup.procs lists no process (killed ones
 * leave as they exit). Returns 0 or JQ_ESYS. */
int jq_cgroup_wait_empty(const char *dir);
/* Kill and remove every cgroup directly below parent whose name starts
 * with prefix ("" = all), in each of cg's hierarchies. */
void jq_cgroup_remove_children(const struct jq_cgroups *cg, const char *prefix);
/* Write s to dir/file. Returns 0 or JQ_ESYS (errno kept). */
int jq_cgroup_write(const char *dir, const char *file, const char *s);
/* The value after "key " in dir/file (a flat keyed file), or -1. */
long long jq_cgroup_read_key(const char *dir, const char *file, const char *key);

#endif
