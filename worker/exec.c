/* exec.c: run one job to completion — the poll loop over the job's pipes,
 * its pidfd and the cancel descriptor; the deadline; killing and reaping
 * the whole process tree; the result.
 *
 * DESIGN: the job is finished when its main process exits, not when its
 * pipes reach EOF (a daemonised grandchild may hold them open forever). The
 * loop sleeps in poll(2) with the real time left to the next deadline as
 * its timeout; the child's exit wakes it through a pidfd. After the exit,
 * only what is already buffered in the pipes is read, the rest of the
 * group is SIGKILLed while the main process, still a zombie, keeps the
 * group id from being reused, and then every remaining child of this
 * subreaper is killed and reaped (reap.c). io->stop_fd (the worker's
 * "master died" self-pipe) short-cuts all of this: the group is SIGKILLed at
 * once, with no grace, and the same reaping follows.
 *
 * While the job runs, SIGCHLD is blocked and read from a signalfd in the
 * same poll: a descendant that left the job and ended (re-parented to us,
 * the subreaper) is reaped at once, so it is never left a zombie for as
 * long as the job's main process lives. The main process itself is only
 * ever reaped by finish_job (wait4, for its rusage).
 *
 * With a cgroup (cgroup.h), every kill of the tree is also a kill of the
 * cgroup, which reaches what left the group and the session whatever its
 * parentage; and a job whose tree is refused a fork at its pids limit is
 * killed at once (limit "procs"): v2 notifies that through pids.events
 * (POLLPRI in the same poll), v1 does not, so there it is read every
 * CGROUP_TICK_MS while the job runs. After the job, the OOM killer's count
 * says whether memory ended a job that failed.
 *
 * The caller must ignore SIGPIPE (a job that closes its stdin makes our
 * write fail with EPIPE) and must not ignore SIGCHLD (wait4 needs the
 * zombie). */
#include "exec.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "isolation.h"

#define SCRATCH_BYTES (32 * 1024) /* where bytes past a cap are read and dropped */
#define READS_PER_WAKE 16         /* fairness between streams and deadlines */
#define DRAIN_READS 64            /* after the exit: at most 64 reads per stream */
#define STDIN_CHUNK (64 * 1024)
#define NO_PIDFD_TICK_MS 20       /* only on kernels without pidfd_open (< 5.3) */
#define CGROUP_TICK_MS 100        /* v1 only: how often pids.events is read */

enum kill_phase { PHASE_RUN, PHASE_TERM_SENT, PHASE_KILL_SENT };

struct run {
    const struct jq_job_spec *spec;
    const struct jq_exec_io *io;
    struct jq_job_result *res;
    struct jq_spawned sp;
    int pidfd;
    int cancel_fd; /* -1 once not watched */
    int stop_fd;   /* -1 once not watched */
    int chld_fd;   /* signalfd for SIGCHLD, or -1 */
    size_t in_off;
    int64_t deadline_ms; /* monotonic */
    int64_t kill_at_ms;  /* monotonic, in PHASE_TERM_SENT */
    enum kill_phase phase;
    bool exited;
    size_t reported_out; /* output lengths last given to io->on_output */
    size_t reported_err;
    int64_t cpu_limit_s; /* RLIMIT_CPU the job runs with, 0 = none */
    const struct jq_cgroup_job *cg; /* the job's cgroup (kind NONE: none) */
    int64_t cg_check_at_ms; /* v1 with a procs limit: next read of pids.events; else 0 */
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Reads what fd has now (at most max_reads reads) into buf up to cap; bytes
 * past the cap are only counted. Closes fd at EOF or on error. */
static void read_stream(int *fd, char *buf, size_t cap, struct jq_output *o, int max_reads)
{
    char scratch[SCRATCH_BYTES];
    for (int i = 0; i < max_reads && *fd >= 0; i++) {
        bool keep = buf && o->len < cap;
        char *dst = keep ? buf + o->len : scratch;
        size_t room = keep ? cap - o->len : sizeof(scratch);
        ssize_t n = read(*fd, dst, room);
        if (n > 0) {
            if (keep)
                o->len += (size_t)n;
            o->total_bytes += (uint64_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            close_fd(fd); /* EOF, or an error we cannot recover from */
        }
    }
}

static void read_outputs(struct run *r, int max_reads)
{
    read_stream(&r->sp.out_fd, r->io->out_buf, r->io->out_cap, &r->res->out, max_reads);
    read_stream(&r->sp.err_fd, r->io->err_buf, r->io->err_cap, &r->res->err, max_reads);
}

/* Feeds stdin until the pipe is full; closes it when done or on EPIPE. */
static void write_stdin(struct run *r)
{
    while (r->sp.in_fd >= 0) {
        size_t left = r->spec->stdin_len - r->in_off;
        if (left == 0 || !r->spec->stdin_data) {
            close_fd(&r->sp.in_fd);
            return;
        }
        ssize_t n = write(r->sp.in_fd, r->spec->stdin_data + r->in_off, left < STDIN_CHUNK ? left : STDIN_CHUNK);
        if (n > 0)
            r->in_off += (size_t)n;
        else if (n < 0 && errno == EAGAIN)
            return;
        else if (!(n < 0 && errno == EINTR))
            close_fd(&r->sp.in_fd); /* EPIPE: the job closed its stdin */
    }
}

/* SIGKILL the job's group and everything in its cgroup. */
static void kill_tree(struct run *r)
{
    kill(-r->sp.pid, SIGKILL);
    jq_cgroup_job_kill(r->cg);
    r->phase = PHASE_KILL_SENT;
}

static void start_kill(struct run *r, enum jq_kill_reason why, int64_t now)
{
    if (r->phase != PHASE_RUN)
        return;
    r->res->kill_reason = why;
    if (r->spec->kill_grace_ms <= 0) {
        kill_tree(r);
        return;
    }
    kill(-r->sp.pid, SIGTERM);
    r->phase = PHASE_TERM_SENT;
    r->kill_at_ms = now + r->spec->kill_grace_ms;
}

static void check_deadlines(struct run *r, int64_t now)
{
    if (r->phase == PHASE_RUN && now >= r->deadline_ms)
        start_kill(r, JQ_KILL_TIMEOUT, now);
    if (r->phase == PHASE_TERM_SENT && now >= r->kill_at_ms)
        kill_tree(r);
}

/* The cgroup refused the tree a fork: the job ends now, limit "procs". */
static void check_procs_limit(struct run *r, int64_t now)
{
    if (r->cg_check_at_ms > 0)
        r->cg_check_at_ms = now + CGROUP_TICK_MS;
    if (r->phase != PHASE_RUN || !jq_cgroup_job_hit_procs(r->cg))
        return;
    r->res->kill_reason = JQ_KILL_LIMIT_PROCS;
    kill_tree(r);
}

static bool wants_cancel(const struct jq_exec_io *io)
{
    return io->should_cancel ? io->should_cancel(io->ctx) : true;
}

/* The cancel descriptor is readable: consume it, ask, maybe kill. */
static void on_cancel_fd(struct run *r, int64_t now)
{
    char buf[64];
    ssize_t n = read(r->cancel_fd, buf, sizeof(buf)); /* an eventfd's counter in one read */
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        r->cancel_fd = -1; /* closed or broken: stop watching (never ours to close) */
    if (wants_cancel(r->io)) {
        start_kill(r, JQ_KILL_CANCEL, now);
        r->cancel_fd = -1;
    }
}

/* The master died: no grace, the whole group goes now. */
static void on_stop_fd(struct run *r)
{
    r->res->kill_reason = JQ_KILL_SHUTDOWN;
    kill_tree(r);
    r->stop_fd = -1;
}

static bool fd_readable_now(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return fd > 2 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Reap every ended child that is not the job's main process. waitid with
 * WNOWAIT peeks without reaping; it stops at the main process (reaped
 * later by finish_job) or when no child has ended. */
static void reap_strays(struct run *r)
{
    struct signalfd_siginfo si;
    while (read(r->chld_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        ;
    for (int i = 0; i < 4096; i++) {
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0 ||
            info.si_pid == r->sp.pid)
            return;
        while (waitpid(info.si_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
}

/* Poll timeout: the real time left to the next deadline. */
static int poll_timeout(const struct run *r, int64_t now)
{
    int64_t left;
    if (r->phase == PHASE_RUN)
        left = r->deadline_ms - now;
    else if (r->phase == PHASE_TERM_SENT)
        left = r->kill_at_ms - now;
    else
        left = r->pidfd >= 0 ? -1 : NO_PIDFD_TICK_MS;
    if (r->phase == PHASE_RUN && r->cg_check_at_ms > 0 && r->cg_check_at_ms - now < left)
        left = r->cg_check_at_ms - now;
    if (r->phase != PHASE_KILL_SENT) {
        left = left < 0 ? 0 : left > INT_MAX ? INT_MAX : left;
        if (r->pidfd < 0 && left > NO_PIDFD_TICK_MS)
            left = NO_PIDFD_TICK_MS;
    }
    return (int)left;
}

static bool child_has_exited(const struct run *r)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    return waitid(P_PID, (id_t)r->sp.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == r->sp.pid;
}

static int add_fd(struct pollfd *pfd, int *n, int fd, short events)
{
    if (fd < 0)
        return -1;
    pfd[*n].fd = fd;
    pfd[*n].events = events;
    pfd[*n].revents = 0;
    return (*n)++;
}

static bool ready(const struct pollfd *pfd, int i)
{
    return i >= 0 && pfd[i].revents != 0;
}

/* Tell the caller how much output is kept, when that grew (live output). */
static void report_output(struct run *r)
{
    const struct jq_job_result *res = r->res;
    if (!r->io->on_output || (res->out.len == r->reported_out && res->err.len == r->reported_err))
        return;
    r->reported_out = res->out.len;
    r->reported_err = res->err.len;
    r->io->on_output(r->io->ctx, res->out.len, res->err.len);
}

/* One poll round. Returns 0, or JQ_ESYS if poll itself failed. */
static int poll_once(struct run *r)
{
    struct pollfd pfd[8];
    int n = 0;
    int i_out = add_fd(pfd, &n, r->sp.out_fd, POLLIN);
    int i_err = add_fd(pfd, &n, r->sp.err_fd, POLLIN);
    int i_in = add_fd(pfd, &n, r->sp.in_fd, POLLOUT);
    int i_cancel = add_fd(pfd, &n, r->phase == PHASE_RUN ? r->cancel_fd : -1, POLLIN);
    int i_pid = add_fd(pfd, &n, r->pidfd, POLLIN);
    int i_stop = add_fd(pfd, &n, r->stop_fd, POLLIN);
    int i_chld = add_fd(pfd, &n, r->chld_fd, POLLIN);
    int i_cg = add_fd(pfd, &n, r->phase == PHASE_RUN ? jq_cgroup_job_event_fd(r->cg) : -1, POLLPRI);
    int rc = poll(pfd, (nfds_t)n, poll_timeout(r, jq_mono_ms()));
    if (rc < 0 && errno != EINTR) {
        jq_log_errno(JQ_LOG_ERR, errno, "poll() failed");
        return JQ_ESYS;
    }
    if (ready(pfd, i_out))
        read_stream(&r->sp.out_fd, r->io->out_buf, r->io->out_cap, &r->res->out, READS_PER_WAKE);
    if (ready(pfd, i_err))
        read_stream(&r->sp.err_fd, r->io->err_buf, r->io->err_cap, &r->res->err, READS_PER_WAKE);
    if (ready(pfd, i_out) || ready(pfd, i_err))
        report_output(r);
    if (ready(pfd, i_in))
        write_stdin(r);
    int64_t now = jq_mono_ms();
    if (ready(pfd, i_cancel))
        on_cancel_fd(r, now);
    if (ready(pfd, i_stop))
        on_stop_fd(r);
    if (ready(pfd, i_chld))
        reap_strays(r);
    if (ready(pfd, i_cg) || (r->cg_check_at_ms > 0 && now >= r->cg_check_at_ms))
        check_procs_limit(r, now);
    check_deadlines(r, now);
    r->exited = r->pidfd >= 0 ? ready(pfd, i_pid) : child_has_exited(r);
    return 0;
}

static int64_t tv_ms(struct timeval tv)
{
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* A signal from the kernel's enforcement of a limit, when the service
 * itself killed nothing: SIGXCPU/SIGXFSZ, or SIGKILL at RLIMIT_CPU's hard
 * limit (one second past the soft one). */
static void note_limit(struct jq_job_result *res, int64_t cpu_limit_s)
{
    int64_t cpu_ms = res->cpu_user_ms + res->cpu_sys_ms;
    if (res->kill_reason != JQ_KILL_NONE || res->signal == 0)
        return;
    if (res->signal == SIGXCPU || (res->signal == SIGKILL && cpu_limit_s > 0 && cpu_ms >= cpu_limit_s * 1000))
        res->kill_reason = JQ_KILL_LIMIT_CPU;
    else if (res->signal == SIGXFSZ)
        res->kill_reason = JQ_KILL_LIMIT_FSIZE;
}

/* A job that failed after its cgroup's OOM killer struck, or after a fork
 * was refused at its procs limit, was ended by that limit. */
static void note_cgroup_limit(struct jq_job_result *res, const struct jq_cgroup_job *cg)
{
    if (res->kill_reason != JQ_KILL_NONE || res->state != JQ_STATE_FAILED)
        return;
    if (jq_cgroup_job_hit_memory(cg))
        res->kill_reason = JQ_KILL_LIMIT_MEMORY;
    else if (jq_cgroup_job_hit_procs(cg))
        res->kill_reason = JQ_KILL_LIMIT_PROCS;
}

static void fill_status(struct jq_job_result *res, int status, const struct rusage *ru)
{
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
        res->signal = 0;
    } else if (WIFSIGNALED(status)) {
        res->exit_code = -1;
        res->signal = WTERMSIG(status);
        res->core_dumped = WCOREDUMP(status);
    }
    if (res->kill_reason == JQ_KILL_TIMEOUT)
        res->state = JQ_STATE_TIMED_OUT;
    else if (res->kill_reason == JQ_KILL_CANCEL)
        res->state = JQ_STATE_CANCELLED;
    else if (res->kill_reason == JQ_KILL_SHUTDOWN)
        res->state = JQ_STATE_LOST;
    else
        res->state = res->exit_code == 0 ? JQ_STATE_SUCCEEDED : JQ_STATE_FAILED;
    res->cpu_user_ms = tv_ms(ru->ru_utime);
    res->cpu_sys_ms = tv_ms(ru->ru_stime);
    res->max_rss_kb = ru->ru_maxrss;
}

/* The main process has exited (or the loop failed): read what is buffered,
 * kill the rest of the tree, reap everything, close everything. */
static void finish_job(struct run *r, int64_t mono_start)
{
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    if (!r->exited)
        kill(-r->sp.pid, SIGKILL);
    read_outputs(r, DRAIN_READS);
    kill_tree(r); /* the zombie leader still holds the group id */
    while (wait4(r->sp.pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    r->res->finished_at_ms = jq_now_ms();
    r->res->duration_ms = jq_mono_ms() - mono_start;
    jq_exec_reap_all_children();
    close_fd(&r->sp.in_fd);
    close_fd(&r->sp.out_fd);
    close_fd(&r->sp.err_fd);
    close_fd(&r->pidfd);
    fill_status(r->res, status, &ru);
    note_limit(r->res, r->cpu_limit_s);
    note_cgroup_limit(r->res, r->cg);
    r->res->out.truncated = r->res->out.total_bytes > r->res->out.len;
    r->res->err.truncated = r->res->err.total_bytes > r->res->err.len;
}

/* Not started: cancelled before spawning, or the command could not run. */
static void not_started(struct jq_job_result *res, enum jq_job_state state, char *why)
{
    res->state = state;
    res->exit_code = state == JQ_STATE_FAILED ? 127 : -1;
    res->kill_reason = state == JQ_STATE_CANCELLED ? JQ_KILL_CANCEL : JQ_KILL_NONE;
    res->error = why;
    res->finished_at_ms = jq_now_ms();
    if (state == JQ_STATE_FAILED)
        res->started_at_ms = res->finished_at_ms;
}

/* jq_exec_run with SIGCHLD on r->chld_fd. */
static int run_spawned(struct run *r, const struct jq_spawn_where *where, char **why)
{
    const struct jq_job_spec *spec = r->spec;
    const struct jq_exec_io *io = r->io;
    struct jq_job_result *res = r->res;
    int rc = jq_spawn_start(spec, where, &r->sp, why);
    if (rc != 0)
        return rc;
    if (*why) {
        not_started(res, JQ_STATE_FAILED, *why);
        return 0;
    }
    int64_t mono_start = jq_mono_ms();
    res->started_at_ms = jq_now_ms();
    r->deadline_ms = mono_start + (spec->timeout_ms > 0 ? spec->timeout_ms : 0);
    if (r->cg->kind == JQ_CGROUP_V1 && r->cg->limits_procs)
        r->cg_check_at_ms = mono_start + CGROUP_TICK_MS;
    r->pidfd = (int)syscall(SYS_pidfd_open, r->sp.pid, 0);
    if (r->pidfd < 0 && errno != ENOSYS)
        jq_log_errno(JQ_LOG_WARN, errno, "pidfd_open() failed, polling for the exit");
    if (io->on_spawn)
        io->on_spawn(io->ctx, r->sp.pid);
    write_stdin(r);
    while (rc == 0 && !r->exited)
        rc = poll_once(r);
    finish_job(r, mono_start);
    return rc;
}

int jq_exec_run(const struct jq_job_spec *spec, const struct jq_exec_io *io, struct jq_job_result *res)
{
    struct run r = {.spec = spec, .io = io, .res = res, .pidfd = -1, .cancel_fd = io->cancel_fd,
                    .stop_fd = io->stop_fd > 2 ? io->stop_fd : -1};
    char *why = NULL;
    if (io->should_cancel && io->should_cancel(io->ctx)) {
        not_started(res, JQ_STATE_CANCELLED, NULL);
        return 0;
    }
    if (fd_readable_now(r.stop_fd)) {
        not_started(res, JQ_STATE_LOST, NULL);
        res->kill_reason = JQ_KILL_SHUTDOWN;
        return 0;
    }
    struct jq_job_limits limits = spec->limits;
    if (io->sandbox)
        jq_sandbox_effective(io->sandbox, &spec->limits, &limits);
    r.cpu_limit_s = limits.cpu_s;
    struct jq_isolation own, *iso = io->isolation ? io->isolation : &own;
    if (!io->isolation)
        jq_isolation_init(&own);
    bool private_dir = !spec->cwd && io->sandbox && io->sandbox->work_root_fd >= 0;
    const char *what = NULL;
    if (jq_isolation_ready(iso, io->sandbox, io->cgroup_name, &limits, private_dir, &what) != 0) {
        if (!io->isolation)
            jq_isolation_release(&own, io->sandbox);
        not_started(res, JQ_STATE_FAILED, strdup(what));
        return 0;
    }
    r.cg = &iso->cg;
    struct jq_spawn_where where = {spec->cwd ? spec->cwd : io->default_cwd, -1, io->sandbox, &iso->cg};
    if (private_dir) {
        where.cwd = NULL;
        where.cwd_fd = iso->wd.fd;
    }
    sigset_t chld, saved;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, &saved);
    r.chld_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    int rc = run_spawned(&r, &where, &why);
    close_fd(&r.chld_fd);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    /* every process of the job is gone (finish_job) */
    if (io->isolation)
        jq_isolation_after_job(iso, io->sandbox);
    else
        jq_isolation_release(&own, io->sandbox);
    return rc;
}
