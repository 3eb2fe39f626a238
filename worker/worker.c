/* worker.c: a worker process's main loop — take a task from the channel
 * slot, run it with the executor, write the result back; repeat until
 * SIGTERM/SIGINT, max_jobs, or the master's death.
 *
 * Whatever happens to a task once taken, the slot is finished with a
 * result, so the master is never left waiting on a live worker.
 *
 * DESIGN (master death): PR_SET_PDEATHSIG delivers JQ_WORKER_DEATHSIG when
 * the master dies. Idle (no task taken, so no job process and, the worker
 * reaping everything after each job, no descendant at all), the handler
 * simply _exits. Busy, it writes a byte to a self-pipe whose read end the
 * executor polls with the job's pipes: the executor SIGKILLs the job's
 * group, and the worker, a child subreaper, kills and reaps every
 * descendant (setsid'd and double-forked ones are re-parented to it) before
 * it exits. The job's own leader has PDEATHSIG=SIGKILL, so a worker that is
 * itself SIGKILLed still takes its job's leader with it. */
#include "worker.h"

#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"

/* Signal state, the only globals: set up once in jq_worker_main, read and
 * written by the handlers. worker_stop ends the loop; worker_busy is 1 while
 * a task is taken; death_pipe_w is the self-pipe's write end; watched_master
 * is the master's pid (0: unknown, any death signal counts). */
static volatile sig_atomic_t worker_stop;
static volatile sig_atomic_t worker_busy;
static volatile sig_atomic_t death_pipe_w = -1;
static struct jq_isolation worker_isolation; /* the cgroup and work directory kept from job to job */
static volatile sig_atomic_t watched_master;

static void on_stop_signal(int sig)
{
    (void)sig;
    worker_stop = 1;
}

/* Async-signal-safe only: getppid, write, _exit. */
static void on_master_death(int sig)
{
    (void)sig;
    if (watched_master > 0 && getppid() == (pid_t)watched_master)
        return; /* sent by someone else: the master is alive */
    worker_stop = 1;
    if (!worker_busy)
        _exit(0);
    int saved = errno;
    ssize_t n = write(death_pipe_w, "x", 1);
    (void)n;
    errno = saved;
}

struct job_ctx {
    struct jq_chan *ch;
    unsigned slot;
};

static bool ctx_should_cancel(void *p)
{
    const struct job_ctx *c = p;
    return jq_chan_cancel_requested(c->ch, c->slot);
}

static void ctx_on_spawn(void *p, pid_t pgid)
{
    const struct job_ctx *c = p;
    jq_chan_set_job_pgid(c->ch, c->slot, pgid);
}

static void ctx_on_output(void *p, size_t out_len, size_t err_len)
{
    const struct job_ctx *c = p;
    jq_chan_publish_output(c->ch, c->slot, out_len, err_len);
}

/* No SA_RESTART: a stop signal must interrupt sem_wait in jq_chan_take. */
static int setup_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return JQ_ESYS;
    sa.sa_handler = on_master_death;
    if (sigaction(JQ_WORKER_DEATHSIG, &sa, NULL) != 0)
        return JQ_ESYS;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return JQ_ESYS;
    sa.sa_handler = SIG_DFL; /* an inherited SIG_IGN would make wait4 fail */
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        return JQ_ESYS;
    /* The master blocks its signals for a signalfd; the mask survives exec. */
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGTERM);
    sigaddset(&unblock, SIGINT);
    sigaddset(&unblock, SIGCHLD);
    sigaddset(&unblock, JQ_WORKER_DEATHSIG);
    return sigprocmask(SIG_UNBLOCK, &unblock, NULL) == 0 ? 0 : JQ_ESYS;
}

static size_t effective_cap(int64_t wanted, size_t have)
{
    if (wanted <= 0)
        return 0;
    return (uint64_t)wanted < have ? (size_t)wanted : have;
}

/* Runs one taken task into *res (always a terminal result). seq counts
 * this worker's jobs: with the pid, the job's cgroup name is unique. */
static void run_task(struct jq_chan *ch, const struct jq_worker_opts *opts, int death_fd, int64_t job_id, long seq,
                     const struct jq_job_spec *spec, struct jq_job_result *res)
{
    struct job_ctx ctx = {ch, opts->slot};
    char cgroup_name[64]; /* used only when the kept cgroup must be made (anew) */
    snprintf(cgroup_name, sizeof(cgroup_name), "w%ld-job%lld-%ld", (long)getpid(), (long long)job_id, seq);
    struct jq_exec_io io = {.default_cwd = opts->default_cwd, .cancel_fd = opts->cancel_fd, .stop_fd = death_fd,
                            .should_cancel = ctx_should_cancel, .on_spawn = ctx_on_spawn,
                            .on_output = ctx_on_output, .ctx = &ctx, .sandbox = opts->sandbox,
                            .cgroup_name = cgroup_name, .isolation = &worker_isolation};
    size_t cap;
    jq_chan_output_buffers(ch, opts->slot, &io.out_buf, &io.err_buf, &cap);
    io.out_cap = io.err_cap = effective_cap(spec->max_output_bytes, cap);
    int rc = jq_exec_run(spec, &io, res);
    if (rc != 0) {
        free(res->error);
        jq_job_result_init(res);
        res->state = JQ_STATE_FAILED;
        res->finished_at_ms = jq_now_ms();
        if (asprintf(&res->error, "the worker could not run the job: %s", jq_err_str(rc)) < 0)
            res->error = NULL;
    }
}

static void log_result(int64_t job_id, const struct jq_job_result *res)
{
    jq_log_job(JQ_LOG_DEBUG, job_id, "job %s exit=%d signal=%d out=%llu err=%llu duration_ms=%lld",
               jq_state_name(res->state), res->exit_code, res->signal, (unsigned long long)res->out.total_bytes,
               (unsigned long long)res->err.total_bytes, (long long)res->duration_ms);
}

/* Takes and runs one task. Returns 0, or JQ_EBUSY to stop the loop. */
static int serve_one(struct jq_chan *ch, const struct jq_worker_opts *opts, int death_fd, long seq)
{
    struct jq_job_spec spec;
    struct jq_job_result res;
    int64_t job_id = 0;
    int rc = jq_chan_take(ch, opts->slot, &job_id, &spec, &worker_stop);
    if (rc == JQ_EBUSY)
        return rc;
    worker_busy = 1; /* from here a master death is handled by the executor */
    jq_job_result_init(&res);
    JQ_FAULT("worker.after_take");
    if (rc == 0) {
        run_task(ch, opts, death_fd, job_id, seq, &spec, &res);
    } else {
        jq_log_job(JQ_LOG_ERR, job_id, "task in slot %u unreadable: %s", opts->slot, jq_err_str(rc));
        res.state = JQ_STATE_FAILED;
        res.finished_at_ms = jq_now_ms();
        if (asprintf(&res.error, "the task could not be decoded: %s", jq_err_str(rc)) < 0)
            res.error = NULL;
    }
    res.worker_pid = (int32_t)getpid();
    jq_chan_finish(ch, opts->slot, &res);
    log_result(job_id, &res);
    jq_job_result_cleanup(&res);
    jq_job_spec_cleanup(&spec);
    worker_busy = 0;
    return 0;
}

/* The self-pipe the death handler writes to; *read_fd goes to the executor. */
static int open_death_pipe(int *read_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "pipe2() failed");
        return JQ_ESYS;
    }
    *read_fd = p[0];
    death_pipe_w = p[1];
    return 0;
}

/* Handlers first, then the death signal, then the check that the master is
 * still our parent (it may have died before the prctl). */
static int setup(const struct jq_worker_opts *opts, int *death_fd)
{
    watched_master = opts->master_pid > 0 ? opts->master_pid : 0;
    if (open_death_pipe(death_fd) != 0 || jq_exec_become_subreaper() != 0 || setup_signals() != 0) {
        jq_log(JQ_LOG_ERR, "worker setup failed");
        return 1;
    }
    if (prctl(PR_SET_DUMPABLE, 0) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "prctl(PR_SET_DUMPABLE) failed");
        return 1;
    }
    if (prctl(PR_SET_PDEATHSIG, JQ_WORKER_DEATHSIG) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "prctl(PR_SET_PDEATHSIG) failed");
        return 1;
    }
    if (opts->master_pid > 0 && getppid() != opts->master_pid) {
        jq_log(JQ_LOG_WARN, "the master (pid %d) is gone, exiting", (int)opts->master_pid);
        return 1;
    }
    if (opts->cancel_fd >= 0 && fcntl(opts->cancel_fd, F_SETFD, FD_CLOEXEC) != 0)
        jq_log_errno(JQ_LOG_WARN, errno, "fcntl(FD_CLOEXEC) on the cancel fd failed");
    return 0;
}

int jq_worker_main(struct jq_chan *ch, const struct jq_worker_opts *opts)
{
    char role[32];
    int death_fd = -1;
    snprintf(role, sizeof(role), "worker-%u", opts->slot);
    jq_log_setup(jq_log_min_level, role);
    if (setup(opts, &death_fd) != 0)
        return 1;
    long done = 0;
    jq_isolation_init(&worker_isolation);
    jq_log(JQ_LOG_DEBUG, "worker ready on slot %u", opts->slot);
    while (!worker_stop && (opts->max_jobs <= 0 || done < opts->max_jobs)) {
        if (serve_one(ch, opts, death_fd, done) != 0)
            break;
        done++;
    }
    jq_exec_reap_all_children();
    jq_isolation_release(&worker_isolation, opts->sandbox);
    jq_log(JQ_LOG_DEBUG, "worker stopping after %ld jobs", done);
    return 0;
}
