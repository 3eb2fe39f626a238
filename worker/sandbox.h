/* sandbox.h: what confines a job — the user it runs as, the server's
 * ceilings on its resources, and where its private working directory is
 * made. The master decides all of it at start-up (names resolved to
 * numbers there) and hands it to each worker as one hidden argument; the
 * executor applies it to every job (spawn.c in the child, workdir.c
 * around it). docs/security.md describes the whole. */
#ifndef JQ_SANDBOX_H
#define JQ_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "cgroup.h"
#include "err.h"
#include "job.h"

struct jq_sandbox {
    bool set_ids;                /* switch the job to uid/gid, with no supplementary groups */
    uid_t uid;
    gid_t gid;
    struct jq_job_limits ceiling; /* the server's ceilings (0 = none); a job's own values are clamped to them */
    int work_root_fd;            /* directory fd where private work dirs are made, or -1 (none: the job
                                    runs in default_cwd) */
    char dir_prefix[32];         /* work dir names start with this: "m<master pid>-w<slot>-" */
    struct jq_cgroups cgroups;   /* where job cgroups go (kind NONE: rlimits only); not in the hidden
                                    argument: the worker gets the paths as arguments of their own */
};

/* The limits a job runs with: its own, clamped to the ceilings. */
void jq_sandbox_effective(const struct jq_sandbox *sb, const struct jq_job_limits *wanted,
                          struct jq_job_limits *out);

/* The hidden worker argument: "S:UID:GID:CPU:MEM:PROCS:NOFILE:FSIZE" (S is
 * 0 or 1). Format into buf (cap bytes). The cgroups are not in it. */
void jq_sandbox_format(const struct jq_sandbox *sb, char *buf, size_t cap);
/* Parse it back (work_root_fd set to -1, cgroups kind NONE). Returns 0 or JQ_EINVAL. */
JQ_MUST_CHECK int jq_sandbox_parse(const char *s, struct jq_sandbox *out);

#endif
