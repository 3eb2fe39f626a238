/* exec.h: run one job's command as a child process and wait for it.
 *
 * The command runs in a new session (its own process group), with stdin,
 * stdout and stderr on pipes and no other descriptor, the environment of the
 * spec plus PATH=JQ_JOB_PATH, and dies if the worker dies (PDEATHSIG).
 * Output is read with poll(2) under the caps: bytes past a cap are counted
 * and dropped. On timeout or cancel the group gets SIGTERM, then SIGKILL
 * after kill_grace_ms. When the command's main process has exited, every
 * descendant still alive (even one that left the group) is killed: the
 * calling process must be a child subreaper (jq_exec_become_subreaper). The
 * child is reaped with wait4 for its rusage; no zombie is left, and
 * descendants that end while the job still runs are reaped at once
 * (SIGCHLD is blocked in the calling thread and read from a signalfd during
 * the run: no other thread of the process may have SIGCHLD unblocked). */
#ifndef JQ_EXEC_H
#define JQ_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "err.h"
#include "job.h"
#include "isolation.h"
#include "sandbox.h"

struct jq_exec_io {
    char *out_buf;          /* stdout bytes go here, at most out_cap */
    size_t out_cap;         /* effective cap: min(spec->max_output_bytes, buffer size) */
    char *err_buf;          /* stderr bytes, at most err_cap */
    size_t err_cap;
    const char *default_cwd; /* used when spec->cwd is NULL; NULL = inherit */
    int cancel_fd;          /* -1, or a descriptor that turns readable when a cancel may be pending */
    bool (*should_cancel)(void *ctx); /* asked when cancel_fd is readable (and once before spawning) */
    void (*on_spawn)(void *ctx, pid_t pgid); /* told the job's process group once it exists; may be NULL */
    void (*on_output)(void *ctx, size_t out_len, size_t err_len); /* after reads that kept new bytes (the
                                                                     lengths kept so far); may be NULL */
    void *ctx;
    int stop_fd;            /* a descriptor > 2 that turns readable when the job must be SIGKILLed at once
                               (the worker's master died): kill_reason shutdown; 0 or -1 = none */
    const struct jq_sandbox *sandbox; /* the job's user, ceilings, work root and cgroups; NULL = none (same
                                         user, the spec's own limits, default_cwd) */
    const char *cgroup_name; /* the name of a cgroup made for this job below the sandbox's parents:
                                "w<worker pid>-..." and unique in the generation; used when the sandbox
                                has cgroups and isolation has none to reuse */
    struct jq_isolation *isolation; /* the cgroup and work directory kept from job to job (isolation.h);
                                       NULL = made for this job and removed after it */
};

/* Make the calling process a child subreaper (PR_SET_CHILD_SUBREAPER). */
JQ_MUST_CHECK int jq_exec_become_subreaper(void);

/* SIGKILL every child of the calling process and reap it, again and again
 * (orphans re-parented to a subreaper keep arriving) until none is left.
 * Used by a worker after each job and by the master at shutdown. */
void jq_exec_reap_all_children(void);

/* The same, sparing the children listed in keep (n entries): each other
 * child is SIGKILLed with its process group (unless that is the caller's)
 * and reaped by pid, again and again until no such child is left. Used by
 * the master, a subreaper, for the orphans of a dead worker's job while its
 * other workers live on. Returns how many processes it reaped. */
unsigned jq_exec_kill_orphans(const pid_t *keep, size_t n);

/* Run spec to completion. Fills *res (jq_job_result_init'ed by the caller):
 * state, exit_code, signal, core_dumped, kill_reason, out/err lengths and
 * counts (data stays NULL: the bytes are in io's buffers), times, rusage,
 * error (heap, when the command could not be started: exit_code 127, state
 * failed). A job that names no cwd runs in a fresh private directory under
 * the sandbox's work root, removed after the job (workdir.h); with the
 * sandbox's cgroups, in a cgroup of its own (cgroup.h) that limits its
 * memory and processes, kills its whole tree and is removed after it. A
 * job that reaches its procs limit there is killed at once. A job a
 * resource limit ended has kill_reason JQ_KILL_LIMIT_* (state failed). A
 * command that fails, dies or times out is a result, not an
 * error: returns 0, or JQ_ESYS/JQ_ENOMEM if the worker itself could not
 * operate (pipe, fork). */
JQ_MUST_CHECK int jq_exec_run(const struct jq_job_spec *spec, const struct jq_exec_io *io, struct jq_job_result *res);

#endif
