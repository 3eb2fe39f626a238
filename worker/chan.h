/* chan.h: the channel between the master and its workers — one shared
 * memory mapping (a memfd, made by the master before any worker starts, so
 * nothing ever appears in /dev/shm) holding one slot per worker.
 *
 * Each slot is owned by exactly one worker at a time and carries at most one
 * task: the master writes a task into an EMPTY slot and posts the slot's
 * "task ready" semaphore; the worker takes it, runs it, writes the result and
 * its output straight into the slot, marks it DONE and posts the shared
 * "result ready" semaphore; the master copies the result out and marks the
 * slot EMPTY again. There is no lock shared between processes, so a worker
 * killed at any instant can wedge nothing: the master reads the slot's state
 * and repairs it (see docs/architecture.md).
 *
 * Slot states: EMPTY -> TASK (master) -> RUNNING (worker) -> DONE (worker)
 * -> EMPTY (master). The layout inside the mapping is private to chan.c. */
#ifndef JQ_CHAN_H
#define JQ_CHAN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"
#include "job.h"

struct jq_chan;

enum jq_slot_state { JQ_SLOT_EMPTY = 0, JQ_SLOT_TASK = 1, JQ_SLOT_RUNNING = 2, JQ_SLOT_DONE = 3 };

struct jq_chan_params {
    unsigned nslots;          /* one per worker, 1..JQ_MAX_WORKERS */
    size_t spec_cap;          /* bytes for an encoded spec (JQ_MAX_SPEC_BYTES) */
    size_t output_cap;        /* bytes kept per stream per slot (the service's max_output_bytes) */
};

/* ---- master ---- */

/* Make the mapping (memfd, close-on-exec) and initialise every slot EMPTY.
 * Returns 0, JQ_ESYS or JQ_ENOMEM. */
JQ_MUST_CHECK int jq_chan_create(struct jq_chan **out, const struct jq_chan_params *p);
/* Unmap and close. NULL is a no-op. Usable from either side. */
void jq_chan_destroy(struct jq_chan *ch);
/* The memfd to hand to a worker process (see jq_chan_attach). */
int jq_chan_fd(const struct jq_chan *ch);
/* The eventfd the master writes to tell the worker of slot to cancel; hand it
 * to that worker process. */
int jq_chan_cancel_fd(const struct jq_chan *ch, unsigned slot);
unsigned jq_chan_nslots(const struct jq_chan *ch);

/* Before starting a (replacement) worker for slot: re-initialise its task
 * semaphore and cancel flag, drain its eventfd, set it EMPTY. Only when no
 * live process uses the slot. */
void jq_chan_slot_reset(struct jq_chan *ch, unsigned slot);
/* Record the worker pid that serves slot (for diagnostics / repair). */
void jq_chan_slot_set_worker(struct jq_chan *ch, unsigned slot, pid_t pid);

/* Put a task into slot, which must be EMPTY, and wake its worker.
 * Returns 0, JQ_ESTATE (slot not EMPTY) or JQ_ETOOBIG (spec too big). */
JQ_MUST_CHECK int jq_chan_post(struct jq_chan *ch, unsigned slot, int64_t job_id, const struct jq_job_spec *spec);

/* Ask the worker of slot to cancel job_id (ignored if the slot holds another
 * job by then). Never blocks. */
void jq_chan_cancel(struct jq_chan *ch, unsigned slot, int64_t job_id);

/* State of a slot, the job it holds (0 if EMPTY) and the job's process group
 * (0 until spawned). Lock-free reads. */
enum jq_slot_state jq_chan_slot_state(const struct jq_chan *ch, unsigned slot);
int64_t jq_chan_slot_job(const struct jq_chan *ch, unsigned slot);
pid_t jq_chan_slot_job_pgid(const struct jq_chan *ch, unsigned slot);
pid_t jq_chan_slot_worker(const struct jq_chan *ch, unsigned slot); /* last set by the master */

/* Block until some worker posts a result or jq_chan_wake_collector() is
 * called. Returns 0; never fails (EINTR is retried). */
void jq_chan_wait_result(struct jq_chan *ch);
/* Unblock jq_chan_wait_result() once (shutdown, or a result found by repair). */
void jq_chan_wake_collector(struct jq_chan *ch);

/* Live output. Block until some worker published new output (or
 * jq_chan_wake_output_waiter() was called); then jq_chan_take_output_news()
 * tells, slot by slot, whether there is news (and clears it). */
void jq_chan_wait_output(struct jq_chan *ch);
void jq_chan_wake_output_waiter(struct jq_chan *ch);
bool jq_chan_take_output_news(struct jq_chan *ch, unsigned slot);
/* Copy up to max bytes of job_id's stdout (or stderr) from offset, as far as
 * the worker has published it (all of it once DONE). *n_out = 0 when there
 * is nothing past offset yet. Returns 0, or JQ_ESTATE if the slot does not
 * hold job_id. The caller must keep the slot from being released meanwhile
 * (the pool lock): the area is append-only only while the job holds it. */
JQ_MUST_CHECK int jq_chan_read_output(const struct jq_chan *ch, unsigned slot, int64_t job_id, bool err_stream,
                                      uint64_t offset, void *buf, size_t max, size_t *n_out);

/* If slot is DONE, fill *view with its result and *job_id_out with its job.
 * The view's output data and error string point INTO the mapping: valid
 * until jq_chan_release(); do not clean the view up. Returns 0, or
 * JQ_ESTATE if the slot is not DONE. */
JQ_MUST_CHECK int jq_chan_peek_result(struct jq_chan *ch, unsigned slot, int64_t *job_id_out, struct jq_job_result *view);
/* Mark a DONE (or, after its worker died, TASK/RUNNING) slot EMPTY. */
void jq_chan_release(struct jq_chan *ch, unsigned slot);

/* ---- worker ---- */

/* Map the channel from an inherited memfd and check its header (magic,
 * version, sizes). Returns 0, JQ_ECORRUPT or JQ_ESYS. */
JQ_MUST_CHECK int jq_chan_attach(struct jq_chan **out, int fd);

/* Wait on slot's task semaphore until a task is there (state TASK), mark it
 * RUNNING and decode the spec into *spec (caller cleans up). Returns 0, or
 * JQ_EBUSY if *stop became non-zero while waiting (a signal interrupts the
 * wait), or JQ_ECORRUPT. */
JQ_MUST_CHECK int jq_chan_take(struct jq_chan *ch, unsigned slot, int64_t *job_id_out, struct jq_job_spec *spec,
                               const volatile sig_atomic_t *stop);

/* Where the worker writes the running job's output: cap bytes each, in the
 * mapping. */
void jq_chan_output_buffers(struct jq_chan *ch, unsigned slot, char **out_buf, char **err_buf, size_t *cap);
/* Publish how many bytes of each stream are in the output buffers (release
 * order: the bytes before the lengths) and, unless the master has not yet
 * looked at the previous news, post "output ready". Cheap: one atomic
 * exchange per call, at most one sem_post per look of the master. */
void jq_chan_publish_output(struct jq_chan *ch, unsigned slot, size_t out_len, size_t err_len);
/* Publish the running job's process group (for the master's repair). */
void jq_chan_set_job_pgid(struct jq_chan *ch, unsigned slot, pid_t pgid);
/* True if the master asked to cancel the job in slot. */
bool jq_chan_cancel_requested(const struct jq_chan *ch, unsigned slot);

/* Store the result (res->out.data / res->err.data are ignored: the bytes are
 * already in the output buffers; res->error is copied, truncated to a small
 * bound), mark the slot DONE, post "result ready". */
void jq_chan_finish(struct jq_chan *ch, unsigned slot, const struct jq_job_result *res);

#endif
