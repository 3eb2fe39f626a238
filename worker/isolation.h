/* isolation.h: what a worker keeps from one job to the next to confine
 * its jobs — its job cgroup and its private work directory — so that each
 * job does not make and remove them anew; readied before each job, checked
 * and emptied after it, made anew whenever that fails (isolation.c). */
#ifndef JQ_ISOLATION_H
#define JQ_ISOLATION_H

#include <stdbool.h>
#include "cgroup.h"
#include "err.h"
#include "job.h"
#include "sandbox.h"
#include "workdir.h"

struct jq_isolation {
    struct jq_cgroup_job cg; /* kind NONE: none made (yet) */
    struct jq_workdir wd;    /* fd -1: none made (yet) */
};

/* Nothing made yet. */
void jq_isolation_init(struct jq_isolation *iso);

/* Before a job: the cgroup (when sb has cgroups) with limits l, made as
 * cgroup_name when there is none to reuse; with private_dir, the work
 * directory. On failure *what says which ("could not make the job's cgroup"
 * or "... work directory")
 * and JQ_ESYS is returned. sb NULL: no cgroup, no directory. */
JQ_MUST_CHECK int jq_isolation_ready(struct jq_isolation *iso, const struct jq_sandbox *sb, const char *cgroup_name,
                                     const struct jq_job_limits *l, bool private_dir, const char **what);

/* After a job, every process of it dead: empty both for the next job, or
 * remove what cannot be reused. */
void jq_isolation_after_job(struct jq_isolation *iso, const struct jq_sandbox *sb);

/* Remove both (a worker's exit). */
void jq_isolation_release(struct jq_isolation *iso, const struct jq_sandbox *sb);

#endif
