/* test_chan.c: unit tests of the channel (worker/chan.c) across real
 * processes: post -> take -> finish -> peek -> release, in a forked child
 * and in a child that re-executes this binary and attaches the inherited
 * memfd; slot states; cancel flag and eventfd; slot reset after a worker
 * was SIGKILLed inside take; attach refusing bad memfds; nothing in
 * /dev/shm. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "jq_limits.h"
#include "testlib.h"

#define CHILD_FD_ENV "JQ_TEST_CHAN_CHILD_FD"
#define CHILD_FD 3

/* ---- helpers ---- */

static struct jq_chan *make_chan(unsigned nslots, size_t spec_cap, size_t output_cap)
{
    struct jq_chan_params p = {nslots, spec_cap, output_cap};
    struct jq_chan *ch = NULL;
    ASSERT_EQ(jq_chan_create(&ch, &p), 0);
    ASSERT_TRUE(ch != NULL);
    return ch;
}

static void make_spec(struct jq_job_spec *s, const char *arg1)
{
    jq_job_spec_init(s);
    s->argv = calloc(3, sizeof(char *));
    s->argv[0] = strdup("echo");
    s->argv[1] = strdup(arg1);
    s->argc = 2;
    s->env = calloc(2, sizeof(char *));
    s->env[0] = strdup("K=v");
    s->envc = 1;
    s->stdin_data = strdup("in");
    s->stdin_len = 2;
    s->timeout_ms = 1234;
    s->kill_grace_ms = 55;
    s->max_output_bytes = 999;
    s->priority = 7;
}

/* What a worker does with a task: output "echo:<argv1>" on stdout. */
static void serve_task(struct jq_chan *ch, unsigned slot, int exit_code)
{
    struct jq_job_spec spec;
    int64_t id = 0;
    ASSERT_EQ(jq_chan_take(ch, slot, &id, &spec, NULL), 0);
    ASSERT_EQ(jq_chan_slot_state(ch, slot), JQ_SLOT_RUNNING);
    char *out, *err;
    size_t cap;
    jq_chan_output_buffers(ch, slot, &out, &err, &cap);
    struct jq_job_result res;
    jq_job_result_init(&res);
    res.out.len = (size_t)snprintf(out, cap, "echo:%s", spec.argv[1]);
    res.out.total_bytes = res.out.len;
    memcpy(err, "e", 1);
    res.err.len = res.err.total_bytes = 1;
    res.state = exit_code == 0 ? JQ_STATE_SUCCEEDED : JQ_STATE_FAILED;
    res.exit_code = exit_code;
    res.worker_pid = (int32_t)getpid();
    res.duration_ms = spec.timeout_ms; /* echo a spec field back */
    jq_chan_set_job_pgid(ch, slot, getpid());
    jq_chan_finish(ch, slot, &res);
    jq_job_spec_cleanup(&spec);
}

static pid_t fork_or_fail(void)
{
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (bounded) until pid sleeps in the kernel, e.g. in sem_wait. */
static void wait_blocked(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 400; i++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        ASSERT_TRUE(n > 0);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        if (p && p[2] == 'S')
            return;
        sleep_ms(5);
    }
    JQ_FAIL_AT(__FILE__, __LINE__, "pid %d never blocked", (int)pid);
}

static bool fd_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- cases ---- */

static void create_params(void)
{
    struct jq_chan *ch = NULL;
    struct jq_chan_params bad[] = {{0, 4096, 16}, {JQ_MAX_WORKERS + 1, 4096, 16}, {1, 0, 16}};
    for (unsigned i = 0; i < 3; i++) {
        ASSERT_EQ(jq_chan_create(&ch, &bad[i]), JQ_EINVAL);
        ASSERT_TRUE(ch == NULL);
    }
    ch = make_chan(3, JQ_MAX_SPEC_BYTES, JQ_DEFAULT_MAX_OUTPUT_BYTES);
    ASSERT_EQ(jq_chan_nslots(ch), 3);
    ASSERT_TRUE(fcntl(jq_chan_fd(ch), F_GETFD) & FD_CLOEXEC);
    for (unsigned i = 0; i < 3; i++) {
        int efd = jq_chan_cancel_fd(ch, i);
        ASSERT_TRUE(efd >= 0);
        ASSERT_TRUE(fcntl(efd, F_GETFD) & FD_CLOEXEC);
        ASSERT_TRUE(fcntl(efd, F_GETFL) & O_NONBLOCK);
        ASSERT_EQ(jq_chan_slot_state(ch, i), JQ_SLOT_EMPTY);
        ASSERT_EQ(jq_chan_slot_job(ch, i), 0);
    }
    ASSERT_NE(jq_chan_cancel_fd(ch, 0), jq_chan_cancel_fd(ch, 1));
    jq_chan_destroy(ch);
    jq_chan_destroy(NULL);
}

/* Master and worker handles on one memfd, in one process. */
static void round_trip(void)
{
    struct jq_chan *ch = make_chan(2, JQ_MAX_SPEC_BYTES, 64), *wk = NULL;
    ASSERT_EQ(jq_chan_attach(&wk, dup(jq_chan_fd(ch))), 0);
    ASSERT_EQ(jq_chan_nslots(wk), 2);
    ASSERT_EQ(jq_chan_cancel_fd(wk, 1), -1);
    struct jq_job_spec spec, got;
    make_spec(&spec, "hello");
    ASSERT_EQ(jq_chan_post(ch, 1, 42, &spec), 0);
    ASSERT_EQ(jq_chan_slot_state(ch, 1), JQ_SLOT_TASK);
    ASSERT_EQ(jq_chan_slot_state(ch, 0), JQ_SLOT_EMPTY);
    ASSERT_EQ(jq_chan_slot_job(ch, 1), 42);
    int64_t id = 0;
    ASSERT_EQ(jq_chan_take(wk, 1, &id, &got, NULL), 0);
    ASSERT_EQ(id, 42);
    ASSERT_EQ(jq_chan_slot_state(ch, 1), JQ_SLOT_RUNNING);
    ASSERT_EQ(got.argc, 2);
    ASSERT_STREQ(got.argv[1], "hello");
    ASSERT_TRUE(got.argv[2] == NULL);
    ASSERT_STREQ(got.env[0], "K=v");
    ASSERT_EQ(got.stdin_len, 2);
    ASSERT_EQ(got.timeout_ms, 1234);
    ASSERT_EQ(got.kill_grace_ms, 55);
    ASSERT_EQ(got.max_output_bytes, 999);
    ASSERT_EQ(got.priority, 7);
    ASSERT_EQ(jq_chan_slot_job_pgid(ch, 1), 0);
    jq_chan_set_job_pgid(wk, 1, 4321);
    ASSERT_EQ(jq_chan_slot_job_pgid(ch, 1), 4321);

    char *out, *err;
    size_t cap;
    jq_chan_output_buffers(wk, 1, &out, &err, &cap);
    ASSERT_EQ(cap, 64);
    memcpy(out, "a\0b", 3);
    memset(err, 'z', 64);
    struct jq_job_result res, view;
    jq_job_result_init(&res);
    res.state = JQ_STATE_FAILED;
    res.exit_code = -1;
    res.signal = 9;
    res.core_dumped = true;
    res.kill_reason = JQ_KILL_TIMEOUT;
    res.error = strdup("why");
    res.out.len = 3;
    res.out.total_bytes = 3;
    res.err.len = 64;
    res.err.total_bytes = 1000;
    res.started_at_ms = 11;
    res.finished_at_ms = 22;
    res.duration_ms = 33;
    res.cpu_user_ms = 44;
    res.cpu_sys_ms = 55;
    res.max_rss_kb = 66;
    res.worker_pid = 77;
    ASSERT_EQ(jq_chan_peek_result(ch, 1, &id, &view), JQ_ESTATE);
    jq_chan_finish(wk, 1, &res);
    ASSERT_EQ(jq_chan_slot_state(ch, 1), JQ_SLOT_DONE);
    jq_chan_wait_result(ch); /* posted by finish: returns at once */
    id = 0;
    ASSERT_EQ(jq_chan_peek_result(ch, 1, &id, &view), 0);
    ASSERT_EQ(id, 42);
    ASSERT_EQ(view.state, JQ_STATE_FAILED);
    ASSERT_EQ(view.exit_code, -1);
    ASSERT_EQ(view.signal, 9);
    ASSERT_TRUE(view.core_dumped);
    ASSERT_EQ(view.kill_reason, JQ_KILL_TIMEOUT);
    ASSERT_STREQ(view.error, "why");
    ASSERT_EQ(view.out.len, 3);
    ASSERT_TRUE(memcmp(view.out.data, "a\0b", 3) == 0);
    ASSERT_EQ(view.out.data[3], '\0');
    ASSERT_TRUE(!view.out.truncated);
    ASSERT_EQ(view.err.len, 64);
    ASSERT_EQ(view.err.total_bytes, 1000);
    ASSERT_TRUE(view.err.truncated);
    ASSERT_EQ(view.err.data[63], 'z');
    ASSERT_EQ(view.started_at_ms, 11);
    ASSERT_EQ(view.finished_at_ms, 22);
    ASSERT_EQ(view.duration_ms, 33);
    ASSERT_EQ(view.cpu_user_ms, 44);
    ASSERT_EQ(view.cpu_sys_ms, 55);
    ASSERT_EQ(view.max_rss_kb, 66);
    ASSERT_EQ(view.worker_pid, 77);
    jq_chan_release(ch, 1);
    ASSERT_EQ(jq_chan_slot_state(ch, 1), JQ_SLOT_EMPTY);
    ASSERT_EQ(jq_chan_slot_job(ch, 1), 0);
    ASSERT_EQ(jq_chan_slot_job_pgid(ch, 1), 0);

    /* The next task starts with empty output and no error. */
    ASSERT_EQ(jq_chan_post(ch, 1, 43, &spec), 0);
    jq_job_spec_cleanup(&got);
    ASSERT_EQ(jq_chan_take(wk, 1, &id, &got, NULL), 0);
    struct jq_job_result empty;
    jq_job_result_init(&empty);
    empty.state = JQ_STATE_SUCCEEDED;
    jq_chan_finish(wk, 1, &empty);
    ASSERT_EQ(jq_chan_peek_result(ch, 1, &id, &view), 0);
    ASSERT_EQ(id, 43);
    ASSERT_TRUE(view.error == NULL && view.out.data == NULL && view.out.len == 0 && view.err.len == 0);
    jq_chan_release(ch, 1);

    jq_job_result_cleanup(&res);
    jq_job_spec_cleanup(&got);
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(wk);
    jq_chan_destroy(ch);
}

static void forked_worker(void)
{
    struct jq_chan *ch = make_chan(4, JQ_MAX_SPEC_BYTES, 1024);
    pid_t pids[4];
    for (unsigned i = 0; i < 4; i++) {
        pids[i] = fork_or_fail();
        if (pids[i] == 0) {
            serve_task(ch, i, (int)i);
            _exit(0);
        }
    }
    struct jq_job_spec spec;
    char arg[16];
    for (unsigned i = 0; i < 4; i++) {
        snprintf(arg, sizeof(arg), "job%u", i);
        make_spec(&spec, arg);
        ASSERT_EQ(jq_chan_post(ch, i, 100 + i, &spec), 0);
        jq_job_spec_cleanup(&spec);
    }
    unsigned collected = 0;
    bool seen[4] = {false};
    while (collected < 4) {
        jq_chan_wait_result(ch);
        for (unsigned i = 0; i < 4; i++) {
            struct jq_job_result view;
            int64_t id;
            if (seen[i] || jq_chan_peek_result(ch, i, &id, &view) != 0)
                continue;
            char want[32];
            snprintf(want, sizeof(want), "echo:job%u", i);
            ASSERT_EQ(id, 100 + i);
            ASSERT_EQ(view.exit_code, i);
            ASSERT_STREQ(view.out.data, want);
            ASSERT_EQ(view.worker_pid, pids[i]);
            jq_chan_release(ch, i);
            seen[i] = true;
            collected++;
        }
    }
    for (unsigned i = 0; i < 4; i++)
        ASSERT_EQ(wait_exit(pids[i]), 0);
    jq_chan_destroy(ch);
}

/* The worker role when this binary is re-executed with CHILD_FD_ENV. */
static int child_main(int fd)
{
    struct jq_chan *ch = NULL;
    int rc = jq_chan_attach(&ch, fd);
    if (rc != 0) {
        fprintf(stderr, "attach failed: %d\n", rc);
        return 1;
    }
    if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
        return 2;
    serve_task(ch, 1, 5);
    jq_chan_destroy(ch);
    return 0;
}

/* No pointer in the mapping: a freshly exec'd image attaches and serves. */
static void exec_worker(void)
{
    struct jq_chan *ch = make_chan(2, JQ_MAX_SPEC_BYTES, 1024);
    pid_t pid = fork_or_fail();
    if (pid == 0) {
        if (dup2(jq_chan_fd(ch), CHILD_FD) != CHILD_FD)
            _exit(120);
        setenv(CHILD_FD_ENV, "3", 1);
        execl("/proc/self/exe", "test_chan", (char *)NULL);
        _exit(121);
    }
    struct jq_job_spec spec;
    make_spec(&spec, "exec'd");
    ASSERT_EQ(jq_chan_post(ch, 1, 7, &spec), 0);
    ASSERT_EQ(wait_exit(pid), 0);
    jq_chan_wait_result(ch);
    struct jq_job_result view;
    int64_t id;
    ASSERT_EQ(jq_chan_peek_result(ch, 1, &id, &view), 0);
    ASSERT_EQ(id, 7);
    ASSERT_EQ(view.exit_code, 5);
    ASSERT_EQ(view.duration_ms, 1234);
    ASSERT_STREQ(view.out.data, "echo:exec'd");
    ASSERT_EQ(view.worker_pid, pid);
    ASSERT_EQ(jq_chan_slot_job_pgid(ch, 1), pid);
    jq_chan_release(ch, 1);
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(ch);
}

static void post_errors(void)
{
    struct jq_chan *ch = make_chan(1, 512, 16);
    struct jq_job_spec spec;
    make_spec(&spec, "x");
    ASSERT_EQ(jq_chan_post(ch, 0, 1, &spec), 0);
    ASSERT_EQ(jq_chan_post(ch, 0, 2, &spec), JQ_ESTATE);
    ASSERT_EQ(jq_chan_slot_job(ch, 0), 1);
    jq_chan_release(ch, 0);
    free(spec.argv[1]);
    spec.argv[1] = malloc(1000);
    memset(spec.argv[1], 'a', 999);
    spec.argv[1][999] = '\0';
    ASSERT_EQ(jq_chan_post(ch, 0, 3, &spec), JQ_ETOOBIG);
    ASSERT_EQ(jq_chan_slot_state(ch, 0), JQ_SLOT_EMPTY);
    ASSERT_EQ(jq_chan_slot_job(ch, 0), 0);
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(ch);
}

static void peek_needs_done(void)
{
    struct jq_chan *ch = make_chan(1, 4096, 16);
    struct jq_job_result view;
    int64_t id;
    ASSERT_EQ(jq_chan_peek_result(ch, 0, &id, &view), JQ_ESTATE);
    struct jq_job_spec spec, got;
    make_spec(&spec, "x");
    ASSERT_EQ(jq_chan_post(ch, 0, 1, &spec), 0);
    ASSERT_EQ(jq_chan_peek_result(ch, 0, &id, &view), JQ_ESTATE);
    ASSERT_EQ(jq_chan_take(ch, 0, &id, &got, NULL), 0);
    ASSERT_EQ(jq_chan_peek_result(ch, 0, &id, &view), JQ_ESTATE);
    jq_job_spec_cleanup(&got);
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(ch);
}

static void error_and_output_bounded(void)
{
    struct jq_chan *ch = make_chan(1, 4096, 16);
    struct jq_job_spec spec, got;
    make_spec(&spec, "x");
    int64_t id;
    ASSERT_EQ(jq_chan_post(ch, 0, 1, &spec), 0);
    ASSERT_EQ(jq_chan_take(ch, 0, &id, &got, NULL), 0);
    struct jq_job_result res, view;
    jq_job_result_init(&res);
    res.error = malloc(1001);
    memset(res.error, 'e', 1000);
    res.error[1000] = '\0';
    res.out.len = 5000; /* a lying length is clamped to the area */
    res.out.total_bytes = 5000;
    jq_chan_finish(ch, 0, &res);
    ASSERT_EQ(jq_chan_peek_result(ch, 0, &id, &view), 0);
    ASSERT_EQ(strlen(view.error), 255);
    ASSERT_EQ(view.out.len, 16);
    ASSERT_EQ(view.out.total_bytes, 5000);
    ASSERT_TRUE(view.out.truncated);
    jq_job_result_cleanup(&res);
    jq_job_spec_cleanup(&got);
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(ch);
}

static void cancel_flag_and_eventfd(void)
{
    struct jq_chan *ch = make_chan(2, 4096, 16), *wk = NULL;
    ASSERT_EQ(jq_chan_attach(&wk, dup(jq_chan_fd(ch))), 0);
    struct jq_job_spec spec;
    make_spec(&spec, "x");
    int efd = jq_chan_cancel_fd(ch, 1);
    ASSERT_TRUE(!fd_readable(efd));
    ASSERT_TRUE(!jq_chan_cancel_requested(wk, 1));
    ASSERT_EQ(jq_chan_post(ch, 1, 9, &spec), 0);
    jq_chan_cancel(ch, 1, 8); /* another job: flagged, but not this one */
    ASSERT_TRUE(fd_readable(efd));
    ASSERT_TRUE(!jq_chan_cancel_requested(wk, 1));
    jq_chan_cancel(ch, 1, 9);
    ASSERT_TRUE(jq_chan_cancel_requested(wk, 1));
    ASSERT_TRUE(!jq_chan_cancel_requested(wk, 0));
    ASSERT_TRUE(!fd_readable(jq_chan_cancel_fd(ch, 0)));
    uint64_t count = 0;
    ASSERT_EQ(read(efd, &count, sizeof(count)), 8);
    ASSERT_EQ(count, 2);
    ASSERT_TRUE(!fd_readable(efd));
    /* A later job in the slot is not cancelled by the old request. */
    jq_chan_release(ch, 1);
    ASSERT_EQ(jq_chan_post(ch, 1, 10, &spec), 0);
    ASSERT_TRUE(!jq_chan_cancel_requested(wk, 1));
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(wk);
    jq_chan_destroy(ch);
}

static void slot_reset(void)
{
    struct jq_chan *ch = make_chan(1, 4096, 16);
    struct jq_job_spec spec, got;
    make_spec(&spec, "x");
    ASSERT_EQ(jq_chan_post(ch, 0, 1, &spec), 0); /* task posted, never taken */
    jq_chan_cancel(ch, 0, 1);
    jq_chan_slot_set_worker(ch, 0, 999);
    jq_chan_set_job_pgid(ch, 0, 555);
    jq_chan_slot_reset(ch, 0);
    ASSERT_EQ(jq_chan_slot_state(ch, 0), JQ_SLOT_EMPTY);
    ASSERT_EQ(jq_chan_slot_job(ch, 0), 0);
    ASSERT_EQ(jq_chan_slot_job_pgid(ch, 0), 0);
    ASSERT_TRUE(!fd_readable(jq_chan_cancel_fd(ch, 0)));
    ASSERT_EQ(jq_chan_post(ch, 0, 1, &spec), 0); /* same id: the old cancel is gone */
    ASSERT_TRUE(!jq_chan_cancel_requested(ch, 0));
    int64_t id;
    ASSERT_EQ(jq_chan_take(ch, 0, &id, &got, NULL), 0);
    ASSERT_EQ(id, 1);
    jq_job_spec_cleanup(&got);
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(ch);
}

static volatile sig_atomic_t child_stop;

static void on_term(int sig)
{
    (void)sig;
    child_stop = 1;
}

/* A signal without SA_RESTART interrupts the wait; take returns EBUSY. */
static void take_interrupted_by_stop(void)
{
    struct jq_chan *ch = make_chan(1, 4096, 16);
    pid_t pid = fork_or_fail();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        struct jq_job_spec got;
        int64_t id;
        _exit(jq_chan_take(ch, 0, &id, &got, &child_stop) == JQ_EBUSY ? 0 : 1);
    }
    wait_blocked(pid);
    sleep_ms(20);
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    ASSERT_EQ(wait_exit(pid), 0);
    jq_chan_destroy(ch);
}

/* A worker SIGKILLed while waiting in take leaves a slot that works after
 * jq_chan_slot_reset, for a replacement worker. */
static void killed_in_take(void)
{
    struct jq_chan *ch = make_chan(1, 4096, 64);
    pid_t pid = fork_or_fail();
    if (pid == 0) {
        struct jq_job_spec got;
        int64_t id;
        int rc = jq_chan_take(ch, 0, &id, &got, NULL);
        _exit(rc == 0 ? 3 : 4); /* never reached: killed while waiting */
    }
    wait_blocked(pid);
    sleep_ms(20);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    ASSERT_EQ(wait_exit(pid), 128 + SIGKILL);
    jq_chan_slot_reset(ch, 0);
    pid = fork_or_fail();
    if (pid == 0) {
        serve_task(ch, 0, 42);
        _exit(0);
    }
    struct jq_job_spec spec;
    make_spec(&spec, "again");
    ASSERT_EQ(jq_chan_post(ch, 0, 5, &spec), 0);
    ASSERT_EQ(wait_exit(pid), 0);
    struct jq_job_result view;
    int64_t id;
    ASSERT_EQ(jq_chan_peek_result(ch, 0, &id, &view), 0);
    ASSERT_EQ(view.exit_code, 42);
    ASSERT_STREQ(view.out.data, "echo:again");
    jq_job_spec_cleanup(&spec);
    jq_chan_destroy(ch);
}

/* The master posted a task (TASK, semaphore at 1) and the worker died
 * before taking it: after release + reset the stale post is gone, so the
 * replacement does not run the dead worker's task, and serves the next. */
static void killed_with_task_pending(void)
{
    struct jq_chan *ch = make_chan(1, 4096, 64);
    struct jq_job_spec spec;
    make_spec(&spec, "stale");
    ASSERT_EQ(jq_chan_post(ch, 0, 4, &spec), 0);
    jq_job_spec_cleanup(&spec);
    ASSERT_EQ(jq_chan_slot_state(ch, 0), JQ_SLOT_TASK);
    jq_chan_release(ch, 0); /* the master's repair: job 4 resolved by policy */
    jq_chan_slot_reset(ch, 0);
    ASSERT_EQ(jq_chan_slot_state(ch, 0), JQ_SLOT_EMPTY);
    pid_t pid = fork_or_fail();
    if (pid == 0) {
        serve_task(ch, 0, 7);
        _exit(0);
    }
    wait_blocked(pid); /* no stale wake-up: it waits for a new task */
    ASSERT_EQ(jq_chan_slot_state(ch, 0), JQ_SLOT_EMPTY);
    make_spec(&spec, "fresh");
    ASSERT_EQ(jq_chan_post(ch, 0, 5, &spec), 0);
    jq_job_spec_cleanup(&spec);
    ASSERT_EQ(wait_exit(pid), 0);
    struct jq_job_result view;
    int64_t id;
    ASSERT_EQ(jq_chan_peek_result(ch, 0, &id, &view), 0);
    ASSERT_EQ(id, 5);
    ASSERT_STREQ(view.out.data, "echo:fresh");
    jq_chan_destroy(ch);
}

static int memfd_with(const void *data, size_t len, size_t size, bool seal)
{
    int fd = memfd_create("jq-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(ftruncate(fd, (off_t)size), 0);
    if (len)
        ASSERT_EQ(pwrite(fd, data, len, 0), (long long)len);
    if (seal)
        ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
    return fd;
}

static void attach_expect(int fd, int want)
{
    struct jq_chan *ch = NULL;
    ASSERT_EQ(jq_chan_attach(&ch, fd), want);
    if (want == 0)
        jq_chan_destroy(ch); /* closes fd */
    else {
        ASSERT_TRUE(ch == NULL);
        close(fd);
    }
}

static void attach_rejects_bad_memfd(void)
{
    struct jq_chan *ch = make_chan(2, 8192, 100);
    struct stat st;
    ASSERT_EQ(fstat(jq_chan_fd(ch), &st), 0);
    size_t size = (size_t)st.st_size;
    unsigned char *copy = malloc(size);
    ASSERT_EQ(pread(jq_chan_fd(ch), copy, size, 0), (long long)size);

    attach_expect(memfd_with(copy, size, size, true), 0);   /* an exact copy is fine */
    attach_expect(memfd_with(copy, 100, 100, true), JQ_ECORRUPT);            /* too small */
    attach_expect(memfd_with(copy, size, size, false), JQ_ECORRUPT);         /* not sealed */
    attach_expect(memfd_with(copy, size, size + 4096, true), JQ_ECORRUPT);   /* wrong size */
    attach_expect(memfd_with(NULL, 0, size, true), JQ_ECORRUPT);             /* zeros */
    copy[0] ^= 0xff;
    attach_expect(memfd_with(copy, size, size, true), JQ_ECORRUPT);          /* magic */
    copy[0] ^= 0xff;
    copy[8] ^= 0x40;
    attach_expect(memfd_with(copy, size, size, true), JQ_ECORRUPT);          /* version */
    copy[8] ^= 0x40;
    copy[12] = 3;
    attach_expect(memfd_with(copy, size, size, true), JQ_ECORRUPT);          /* slot count */
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    attach_expect(p[0], JQ_ECORRUPT);
    close(p[1]);
    struct jq_chan *none = NULL;
    ASSERT_EQ(jq_chan_attach(&none, 9999), JQ_ESYS);
    free(copy);
    jq_chan_destroy(ch);
}

static int count_dev_shm(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void nothing_in_dev_shm(void)
{
    int before = count_dev_shm();
    struct jq_chan *ch = make_chan(4, JQ_MAX_SPEC_BYTES, 1024);
    pid_t pid = fork_or_fail();
    if (pid == 0) {
        serve_task(ch, 2, 0);
        _exit(0);
    }
    struct jq_job_spec spec;
    make_spec(&spec, "x");
    ASSERT_EQ(jq_chan_post(ch, 2, 1, &spec), 0);
    ASSERT_EQ(wait_exit(pid), 0);
    ASSERT_EQ(count_dev_shm(), before);
    /* The mapping is a memfd. */
    char link[64], target[256];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", jq_chan_fd(ch));
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    ASSERT_TRUE(n > 0);
    target[n] = '\0';
    ASSERT_TRUE(strncmp(target, "/memfd:", 7) == 0);
    jq_chan_destroy(ch);
    jq_job_spec_cleanup(&spec);
    ASSERT_EQ(count_dev_shm(), before);
}

static void wake_collector(void)
{
    struct jq_chan *ch = make_chan(1, 4096, 16);
    jq_chan_wake_collector(ch);
    jq_chan_wait_result(ch); /* returns: one wake pending */
    pid_t pid = fork_or_fail();
    if (pid == 0) {
        jq_chan_wait_result(ch); /* blocks until the parent wakes it */
        _exit(0);
    }
    wait_blocked(pid);
    jq_chan_wake_collector(ch);
    ASSERT_EQ(wait_exit(pid), 0);
    jq_chan_destroy(ch);
}

static const struct jq_test_case cases[] = {
    {"create_params", create_params},
    {"round_trip", round_trip},
    {"forked_worker", forked_worker},
    {"exec_worker", exec_worker},
    {"post_errors", post_errors},
    {"peek_needs_done", peek_needs_done},
    {"error_and_output_bounded", error_and_output_bounded},
    {"cancel_flag_and_eventfd", cancel_flag_and_eventfd},
    {"slot_reset", slot_reset},
    {"take_interrupted_by_stop", take_interrupted_by_stop},
    {"killed_in_take", killed_in_take},
    {"killed_with_task_pending", killed_with_task_pending},
    {"attach_rejects_bad_memfd", attach_rejects_bad_memfd},
    {"nothing_in_dev_shm", nothing_in_dev_shm},
    {"wake_collector", wake_collector},
};

int main(int argc, char **argv)
{
    const char *child_fd = getenv(CHILD_FD_ENV);
    if (child_fd)
        return child_main(atoi(child_fd));
    return jq_test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
