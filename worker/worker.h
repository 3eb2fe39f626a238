/* worker.h: a worker process's main loop — take a task from its channel
 * slot, run it with the executor, hand the result back; repeat. */
#ifndef JQ_WORKER_H
#define JQ_WORKER_H

#include <signal.h>
#include <sys/types.h>
#include "chan.h"
#include "sandbox.h"

/* The signal a worker asks for (PR_SET_PDEATHSIG) when its master dies: it
 * then kills every job process it started, reaps them and exits. */
#define JQ_WORKER_DEATHSIG SIGUSR2

struct jq_worker_opts {
    unsigned slot;            /* this worker's slot */
    int cancel_fd;            /* the slot's cancel eventfd (inherited) */
    pid_t master_pid;         /* exit at once if the parent is not this pid */
    long max_jobs;            /* exit after this many jobs; 0 = never */
    const char *default_cwd;  /* cwd for jobs that name none (when the sandbox has no work root) */
    const struct jq_sandbox *sandbox; /* how jobs are confined; NULL = not at all */
};

/* Run the loop until SIGTERM/SIGINT, the master's death, or max_jobs. Sets
 * up PDEATHSIG, the subreaper flag, signal handling and PR_SET_DUMPABLE 0
 * (a job of another user cannot ptrace it or read its /proc files) itself. Returns the
 * process exit status (0 for a normal stop). */
int jq_worker_main(struct jq_chan *ch, const struct jq_worker_opts *opts);

#endif
