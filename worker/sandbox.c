/* sandbox.c: the job confinement settings as a worker receives them (one
 * hidden argument from the master) and the limits a job runs with. */
#include "sandbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void jq_sandbox_effective(const struct jq_sandbox *sb, const struct jq_job_limits *wanted,
                          struct jq_job_limits *out)
{
    const struct jq_job_limits *c = &sb->ceiling;
    out->cpu_s = jq_job_limit_effective(wanted->cpu_s, c->cpu_s);
    out->memory_bytes = jq_job_limit_effective(wanted->memory_bytes, c->memory_bytes);
    out->procs = jq_job_limit_effective(wanted->procs, c->procs);
    out->nofile = jq_job_limit_effective(wanted->nofile, c->nofile);
    out->fsize_bytes = jq_job_limit_effective(wanted->fsize_bytes, c->fsize_bytes);
}

void jq_sandbox_format(const struct jq_sandbox *sb, char *buf, size_t cap)
{
    const struct jq_job_limits *c = &sb->ceiling;
    snprintf(buf, cap, "%d:%lu:%lu:%" PRId64 ":%" PRId64 ":%" PRId64 ":%" PRId64 ":%" PRId64, sb->set_ids ? 1 : 0,
             (unsigned long)sb->uid, (unsigned long)sb->gid, c->cpu_s, c->memory_bytes, c->procs, c->nofile,
             c->fsize_bytes);
}

int jq_sandbox_parse(const char *s, struct jq_sandbox *out)
{
    int set_ids = 0, used = 0;
    unsigned long uid = 0, gid = 0;
    struct jq_job_limits *c = &out->ceiling;
    memset(out, 0, sizeof(*out));
    out->work_root_fd = -1;
    if (sscanf(s, "%d:%lu:%lu:%" SCNd64 ":%" SCNd64 ":%" SCNd64 ":%" SCNd64 ":%" SCNd64 "%n", &set_ids, &uid, &gid,
               &c->cpu_s, &c->memory_bytes, &c->procs, &c->nofile, &c->fsize_bytes, &used) != 8 ||
        s[used] != '\0' || (set_ids != 0 && set_ids != 1) || c->cpu_s < 0 || c->memory_bytes < 0 || c->procs < 0 ||
        c->nofile < 0 || c->fsize_bytes < 0)
        return JQ_EINVAL;
    out->set_ids = set_ids == 1;
    out->uid = (uid_t)uid;
    out->gid = (gid_t)gid;
    return 0;
}
