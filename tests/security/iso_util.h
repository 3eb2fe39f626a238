/* iso_util.h: what the job-isolation tests share — they need root (jobs
 * switch to nobody), a directory jobs can reach (the case's temp dir is
 * 0700), and a way to run one job and get its finished JSON. */
#ifndef JQ_ISO_UTIL_H
#define JQ_ISO_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "harness.h"

#define ISO_TOKEN "iso-test-token-0123456789abcdef"
#define ISO_AUTH "Authorization: Bearer " ISO_TOKEN

/* Not root: print why and exit 77 (CTest's SKIP_RETURN_CODE). */
void iso_require_root(void);

/* A fresh directory under /tmp, mode 0755, that jobs (as nobody) can
 * reach; removed by iso_pub_remove (and left in /tmp if a case aborts). */
struct iso_pub {
    char dir[PATH_MAX];
};
void iso_pub_make(struct iso_pub *p);
void iso_pub_remove(struct iso_pub *p);
/* p->dir + "/" + name into buf. */
const char *iso_pub_path(const struct iso_pub *p, const char *name, char *buf, size_t cap);
/* Write content to path with this mode and owner. */
void iso_write_file(const char *path, const char *content, mode_t mode, uid_t uid, gid_t gid);

/* Submit job_json (auth: a header line or NULL), wait for the end (30 s at
 * most); returns the finished job, the caller frees it. */
cJSON *iso_run(const struct jq_it_server *srv, const char *job_json, const char *auth);

/* /healthz answered 200 within max_ms (measured). */
bool iso_healthz_within(const struct jq_it_server *srv, int max_ms);

/* Wait (5 s at most) until n workers run (a worker just forked has not
 * exec'd yet and is not seen); stores their pids; returns how many. */
size_t iso_workers_up(const struct jq_it_server *srv, pid_t *out, size_t n);

/* What jobqd's start-up log says of job cgroups ("v1: memory DIR, pids
 * DIR, freezer DIR", "v2: jobs below DIR, ..." or "none (why)") into buf;
 * false if it said nothing. */
bool iso_job_cgroups(const struct jq_it_server *srv, char *buf, size_t cap);

#endif
