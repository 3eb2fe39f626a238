/* spawn.h: start one job's command (private to worker/, used by exec.c).
 * Resolves argv[0] in the job's own PATH, builds the job's environment and
 * its three pipes, and starts the command in a new session with vfork. */
#ifndef JQ_SPAWN_H
#define JQ_SPAWN_H

#include <sys/types.h>
#include "cgroup.h"
#include "err.h"
#include "job.h"
#include "sandbox.h"

/* A started command: its pid (== its process group and session id) and the
 * parent's non-blocking, close-on-exec ends of its pipes. */
struct jq_spawned {
    pid_t pid;
    int in_fd;  /* write end of the job's stdin */
    int out_fd; /* read end of the job's stdout */
    int err_fd; /* read end of the job's stderr */
};

/* Where and how confined a job starts. */
struct jq_spawn_where {
    const char *cwd;                  /* a directory the job named (entered as the job's user), or NULL */
    int cwd_fd;                       /* else this directory (the private work dir), or -1 = inherit */
    const struct jq_sandbox *sandbox; /* user and ceilings; NULL = same user, the spec's own limits */
    const struct jq_cgroup_job *cgroup; /* the job's cgroup, entered before exec (it then enforces memory and
                                           procs instead of RLIMIT_AS and RLIMIT_NPROC); NULL = none */
};

/* Start spec's command where *where says, confined (spawn.c's DESIGN): its
 * resource limits, no network if spec->no_network, the sandbox's user, its cgroup,
 * PR_SET_NO_NEW_PRIVS, core dumps off. On success returns 0 and
 * either fills *sp (the caller closes the fds and reaps the pid), or, when
 * the command could not be started (not found, not executable, bad cwd),
 * leaves no process behind and sets *why to a heap message the caller
 * frees. Returns JQ_ESYS or JQ_ENOMEM if the worker itself failed (pipe,
 * vfork, memory): then nothing is left behind either. */
JQ_MUST_CHECK int jq_spawn_start(const struct jq_job_spec *spec, const struct jq_spawn_where *where,
                                 struct jq_spawned *sp, char **why);

#endif
