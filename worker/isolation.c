/* isolation.c: a worker's job cgroup and work directory, kept from job to
 * job (isolation.h).
 *
 * DESIGN: making and removing three v1 cgroups and a directory per job
 * cost more than the job `true` itself. A kept cgroup gets each job's
 * limits and reports only the limits that fired during that job
 * (cgroup_job.c); it is known empty before the next job starts. A kept
 * directory is emptied with the same no-link-following walk as a removal,
 * checked to be still the job user's, mode 0700, without ACL, and renamed
 * to a new random name (workdir.c). Whatever fails there is removed and
 * made anew for the next job, as before reuse. */
#include "isolation.h"

void jq_isolation_init(struct jq_isolation *iso)
{
    jq_cgroup_job_init(&iso->cg);
    iso->wd.fd = -1;
    iso->wd.name[0] = '\0';
}

static int ready_cgroup(struct jq_isolation *iso, const struct jq_sandbox *sb, const char *cgroup_name,
                        const struct jq_job_limits *l)
{
    static const struct jq_cgroups none; /* kind NONE */
    bool use = sb && sb->cgroups.kind != JQ_CGROUP_NONE && cgroup_name;
    if (use && iso->cg.kind != JQ_CGROUP_NONE && jq_cgroup_job_begin(&iso->cg, l) == 0)
        return 0;
    jq_cgroup_job_destroy(&iso->cg);
    return jq_cgroup_job_create(use ? &sb->cgroups : &none, cgroup_name, l, &iso->cg);
}

int jq_isolation_ready(struct jq_isolation *iso, const struct jq_sandbox *sb, const char *cgroup_name,
                       const struct jq_job_limits *l, bool private_dir, const char **what)
{
    if (ready_cgroup(iso, sb, cgroup_name, l) != 0) {
        *what = "could not make the job's cgroup";
        return JQ_ESYS;
    }
    if (private_dir && iso->wd.fd < 0 && jq_workdir_create(sb, &iso->wd) != 0) {
        *what = "could not make the job's work directory";
        return JQ_ESYS;
    }
    return 0;
}

void jq_isolation_after_job(struct jq_isolation *iso, const struct jq_sandbox *sb)
{
    if (jq_cgroup_job_end(&iso->cg) != 0)
        jq_cgroup_job_destroy(&iso->cg);
    if (iso->wd.fd >= 0 && jq_workdir_recycle(sb, &iso->wd) != 0)
        (void)jq_workdir_remove(sb->work_root_fd, &iso->wd);
}

void jq_isolation_release(struct jq_isolation *iso, const struct jq_sandbox *sb)
{
    jq_cgroup_job_destroy(&iso->cg);
    if (iso->wd.fd >= 0)
        (void)jq_workdir_remove(sb->work_root_fd, &iso->wd);
}
