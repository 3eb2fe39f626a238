/* supervisor.h: the worker pool as the master sees it — one worker process
 * per channel slot, started by fork + exec of jobqd itself (a small, fresh
 * image that holds no database handle, no socket and no thread of the
 * master), watched through SIGCHLD, replaced when it dies or retires.
 *
 * All fields are guarded by mu. Lock order: pool mu -> store (never the
 * reverse). */
#ifndef JQ_SUPERVISOR_H
#define JQ_SUPERVISOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "chan.h"
#include "config.h"

struct jq_pool_worker {
    pid_t pid;      /* 0 while no process serves the slot */
    int64_t job_id; /* job posted to the slot and not yet collected, 0 = idle */
    int64_t posted; /* jobs posted to this process: it retires after max_jobs */
    int64_t overdue_at_ms; /* epoch ms by which the posted job must be collected (watchdog.c), 0 = none */
};

struct jq_pool {
    pthread_mutex_t mu;
    struct jq_chan *chan;
    unsigned n;
    struct jq_pool_worker *workers; /* n entries, index = slot */
    const struct jq_config *cfg;
    pid_t master_pid;
    uint64_t restarts;              /* workers started after the first generation */
};

/* Make the channel and start every worker. Returns 0 or a JQ_E* code. */
JQ_MUST_CHECK int jq_pool_start(struct jq_pool *pool, const struct jq_config *cfg);
/* Start a worker for slot (resetting the slot first). Caller holds mu. */
JQ_MUST_CHECK int jq_pool_spawn_locked(struct jq_pool *pool, unsigned slot);
/* The slot served by pid, or -1. Caller holds mu. */
int jq_pool_slot_of_locked(const struct jq_pool *pool, pid_t pid);
/* The slot holding job_id, or -1. Caller holds mu. */
int jq_pool_slot_of_job_locked(const struct jq_pool *pool, int64_t job_id);
/* True if slot has a live worker that is idle and not about to retire
 * (--max-jobs-per-worker). Caller holds mu. */
bool jq_pool_slot_takes_job_locked(const struct jq_pool *pool, unsigned slot);
/* True if every slot has a live worker. */
bool jq_pool_all_up(struct jq_pool *pool);
/* SIGKILL every worker and every job process group still known. */
void jq_pool_kill_all(struct jq_pool *pool);
/* SIGKILL and reap every child of the master that is not a live worker
 * (orphans of a dead worker's job, re-parented to the subreaper master),
 * with their process groups, until none is left. Takes mu. */
void jq_pool_kill_orphans(struct jq_pool *pool);
/* Free the pool (workers must be gone). */
void jq_pool_cleanup(struct jq_pool *pool);

/* The worker side of main(): parse the hidden worker arguments and run the
 * worker loop. Returns the process exit status. */
int jq_worker_entry(int argc, char **argv);
/* True if argv asks for the worker role. */
bool jq_is_worker_invocation(int argc, char **argv);

#endif
