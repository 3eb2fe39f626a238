/* workdir.h: a job's private working directory — made fresh under the work
 * root before the job starts, owned by the job's user, and removed with
 * everything in it once every process of the job is gone, without ever
 * following a link the job planted (workdir.c's DESIGN). A worker keeps
 * one, emptied and renamed between its jobs (jq_workdir_recycle). */
#ifndef JQ_WORKDIR_H
#define JQ_WORKDIR_H

#include <stddef.h>
#include "err.h"
#include "sandbox.h"

/* Master, at start-up: make the work root (mode 0711, owned by jobqd's
 * user) or check the one there: a real directory (not a link) of jobqd's
 * user; it is set to 0711. On failure a message goes to msg and JQ_EINVAL
 * or JQ_ESYS is returned. */
JQ_MUST_CHECK int jq_workdir_root_prepare(const char *path, char *msg, size_t msg_size);

/* Worker: open the prepared root as a directory fd (close-on-exec, no link
 * followed, jobqd's user's, writable by no one else). Returns 0 or
 * JQ_ESYS. */
JQ_MUST_CHECK int jq_workdir_root_open(const char *path, int *fd_out);

/* One job's directory: its name in the root and an open fd on it. */
struct jq_workdir {
    int fd;        /* -1 when there is none */
    char name[64]; /* the sandbox's dir_prefix and 16 hex digits */
};

/* Make a fresh directory (mode 0700) in the root, owned by the sandbox's
 * user when it switches users. Returns 0 or JQ_ESYS (logged). */
JQ_MUST_CHECK int jq_workdir_create(const struct jq_sandbox *sb, struct jq_workdir *wd);

/* Ready the directory of a finished job for the next job of this worker:
 * empty it in place (walking as jq_workdir_remove does) and give it a new
 * random name. Call only when no process of the job is left. Returns 0, or
 * JQ_ESYS when it is not empty, not the job user's with mode 0700, has an
 * extended attribute (an ACL), or cannot be renamed: then remove it and
 * create a new one. */
JQ_MUST_CHECK int jq_workdir_recycle(const struct jq_sandbox *sb, struct jq_workdir *wd);

/* Remove the directory and everything in it. Call only when no process of
 * the job is left. Symbolic links are removed, never followed; a hard link
 * loses only its name here; nothing is chmod'ed or chown'ed except, when
 * jobqd is not root, a directory the job made unsearchable (never a file);
 * another filesystem is never entered. Closes wd->fd. Returns 0, or JQ_ESYS
 * when something could not be removed (logged). */
int jq_workdir_remove(int root_fd, struct jq_workdir *wd);

/* Remove, as above, every directory of the root whose name starts with
 * prefix — a new worker sweeps what its dead predecessor left — or, with
 * prefix "", whose name is "m<pid>-..." with no process <pid> alive: what
 * a dead master's workers left (the master sweeps at start-up). */
void jq_workdir_sweep(int root_fd, const char *prefix);

#endif
