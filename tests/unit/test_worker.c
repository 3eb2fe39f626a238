/* test_worker.c: unit tests of the worker loop (worker/worker.c) in a
 * forked worker process, with this test process as its master: jobs run
 * and come back through the channel, output caps, cancel of a running and
 * of a not-yet-started job, SIGTERM, max_jobs, the master check, death of
 * the master (the worker kills its job's whole tree and exits), a stray
 * death signal, and a SIGKILLed worker taking its job's leader along. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "exec.h"
#include "jq_limits.h"
#include "testlib.h"
#include "worker.h"

#define SLOT 1

static const char *spawner(void)
{
    const char *p = getenv("JQ_SPAWNER");
    if (!p)
        JQ_FAIL_AT(__FILE__, __LINE__, "JQ_SPAWNER is not set");
    return p;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct jq_chan *make_chan(size_t output_cap)
{
    struct jq_chan_params p = {2, JQ_MAX_SPEC_BYTES, output_cap};
    struct jq_chan *ch = NULL;
    ASSERT_EQ(jq_exec_become_subreaper(), 0);
    ASSERT_EQ(jq_chan_create(&ch, &p), 0);
    return ch;
}

static pid_t start_worker(struct jq_chan *ch, long max_jobs, pid_t master)
{
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        struct jq_worker_opts o = {SLOT, jq_chan_cancel_fd(ch, SLOT), master, max_jobs, "/", NULL};
        _exit(jq_worker_main(ch, &o));
    }
    jq_chan_slot_set_worker(ch, SLOT, pid);
    return pid;
}

/* Exit status (or 128 + signal) of pid, waiting at most ms. */
static int wait_exit_within(pid_t pid, long ms)
{
    int st;
    for (long waited = 0; waited <= ms; waited += 5) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        ASSERT_TRUE(r >= 0);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        sleep_ms(5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    JQ_FAIL_AT(__FILE__, __LINE__, "pid %d did not exit within %ld ms", (int)pid, ms);
}

static void post(struct jq_chan *ch, int64_t id, int64_t max_output, const char *arg0, ...)
{
    struct jq_job_spec s;
    jq_job_spec_init(&s);
    s.argv = calloc(32, sizeof(char *));
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && s.argc < 31; a = va_arg(ap, const char *))
        s.argv[s.argc++] = strdup(a);
    va_end(ap);
    s.timeout_ms = 20000;
    s.kill_grace_ms = 1000;
    s.max_output_bytes = max_output;
    ASSERT_EQ(jq_chan_post(ch, SLOT, id, &s), 0);
    jq_job_spec_cleanup(&s);
}

/* Waits (bounded) for the slot's result; the view is valid until release. */
static void collect(struct jq_chan *ch, int64_t want_id, struct jq_job_result *view)
{
    int64_t id;
    for (int i = 0; i < 2000; i++) {
        if (jq_chan_peek_result(ch, SLOT, &id, view) == 0) {
            ASSERT_EQ(id, want_id);
            return;
        }
        sleep_ms(5);
    }
    JQ_FAIL_AT(__FILE__, __LINE__, "no result for job %lld", (long long)want_id);
}

static void assert_no_children(void)
{
    errno = 0;
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG | __WALL), -1);
    ASSERT_EQ(errno, ECHILD);
}

static void runs_jobs(void)
{
    struct jq_chan *ch = make_chan(1024);
    pid_t w = start_worker(ch, 0, getpid());
    struct jq_job_result v;
    post(ch, 1, 1024, spawner(), "--print", "one", "--eprint", "err", NULL);
    collect(ch, 1, &v);
    ASSERT_EQ(v.state, JQ_STATE_SUCCEEDED);
    ASSERT_STREQ(v.out.data, "one\n");
    ASSERT_STREQ(v.err.data, "err\n");
    ASSERT_EQ(v.worker_pid, w);
    ASSERT_TRUE(v.finished_at_ms >= v.started_at_ms && v.started_at_ms > 0);
    jq_chan_release(ch, SLOT);
    post(ch, 2, 1024, "sh", "-c", "pwd; exit 3", NULL);
    collect(ch, 2, &v);
    ASSERT_EQ(v.state, JQ_STATE_FAILED);
    ASSERT_EQ(v.exit_code, 3);
    ASSERT_STREQ(v.out.data, "/\n"); /* the worker's default cwd */
    jq_chan_release(ch, SLOT);
    post(ch, 3, 1024, "no-such-command-jq", NULL);
    collect(ch, 3, &v);
    ASSERT_EQ(v.exit_code, 127);
    ASSERT_STREQ(v.error, "command not found: no-such-command-jq");
    jq_chan_release(ch, SLOT);
    ASSERT_EQ(kill(w, SIGTERM), 0);
    ASSERT_EQ(wait_exit_within(w, 3000), 0);
    assert_no_children();
    jq_chan_destroy(ch);
}

static void output_caps(void)
{
    struct jq_chan *ch = make_chan(1024);
    pid_t w = start_worker(ch, 0, getpid());
    struct jq_job_result v;
    post(ch, 1, 10, spawner(), "--bytes", "100", NULL); /* the job's cap */
    collect(ch, 1, &v);
    ASSERT_EQ(v.out.len, 10);
    ASSERT_EQ(v.out.total_bytes, 100);
    ASSERT_TRUE(v.out.truncated);
    jq_chan_release(ch, SLOT);
    post(ch, 2, 1000000, spawner(), "--bytes", "5000", NULL); /* the channel's cap */
    collect(ch, 2, &v);
    ASSERT_EQ(v.out.len, 1024);
    ASSERT_EQ(v.out.total_bytes, 5000);
    jq_chan_release(ch, SLOT);
    kill(w, SIGTERM);
    ASSERT_EQ(wait_exit_within(w, 3000), 0);
    jq_chan_destroy(ch);
}

static void cancel_running(void)
{
    struct jq_chan *ch = make_chan(1024);
    pid_t w = start_worker(ch, 0, getpid());
    post(ch, 7, 1024, spawner(), "--children", "2", "--sleep-ms", "60000", NULL);
    pid_t pgid = 0;
    for (int i = 0; i < 1000 && pgid == 0; i++, sleep_ms(5))
        pgid = jq_chan_slot_job_pgid(ch, SLOT);
    ASSERT_TRUE(pgid > 0);
    ASSERT_EQ(jq_chan_slot_state(ch, SLOT), JQ_SLOT_RUNNING);
    int64_t t0 = jq_mono_ms();
    jq_chan_cancel(ch, SLOT, 7);
    struct jq_job_result v;
    collect(ch, 7, &v);
    ASSERT_TRUE(jq_mono_ms() - t0 < 2000);
    ASSERT_EQ(v.state, JQ_STATE_CANCELLED);
    ASSERT_EQ(v.kill_reason, JQ_KILL_CANCEL);
    ASSERT_EQ(kill(-pgid, 0), -1); /* the whole group is gone */
    ASSERT_EQ(errno, ESRCH);
    jq_chan_release(ch, SLOT);
    /* A stale cancel (for job 7) does not touch the next job. */
    jq_chan_cancel(ch, SLOT, 7);
    post(ch, 8, 1024, spawner(), "--sleep-ms", "200", "--print", "ok", NULL);
    collect(ch, 8, &v);
    ASSERT_EQ(v.state, JQ_STATE_SUCCEEDED);
    ASSERT_STREQ(v.out.data, "ok\n");
    jq_chan_release(ch, SLOT);
    kill(w, SIGTERM);
    ASSERT_EQ(wait_exit_within(w, 3000), 0);
    jq_chan_destroy(ch);
}

static void cancel_before_start(void)
{
    struct jq_chan *ch = make_chan(1024);
    post(ch, 9, 1024, spawner(), "--print", "never", NULL);
    jq_chan_cancel(ch, SLOT, 9);
    pid_t w = start_worker(ch, 1, getpid());
    struct jq_job_result v;
    collect(ch, 9, &v);
    ASSERT_EQ(v.state, JQ_STATE_CANCELLED);
    ASSERT_EQ(v.started_at_ms, 0);
    ASSERT_EQ(v.out.total_bytes, 0);
    jq_chan_release(ch, SLOT);
    ASSERT_EQ(wait_exit_within(w, 3000), 0); /* max_jobs 1 */
    jq_chan_destroy(ch);
}

static void max_jobs(void)
{
    struct jq_chan *ch = make_chan(64);
    pid_t w = start_worker(ch, 2, getpid());
    struct jq_job_result v;
    for (int64_t id = 1; id <= 2; id++) {
        post(ch, id, 64, "true", NULL);
        collect(ch, id, &v);
        ASSERT_EQ(v.state, JQ_STATE_SUCCEEDED);
        jq_chan_release(ch, SLOT);
    }
    ASSERT_EQ(wait_exit_within(w, 3000), 0);
    jq_chan_destroy(ch);
}

static void stop_when_idle(void)
{
    struct jq_chan *ch = make_chan(64);
    pid_t w = start_worker(ch, 0, getpid());
    sleep_ms(50);
    ASSERT_EQ(kill(w, SIGINT), 0);
    ASSERT_EQ(wait_exit_within(w, 3000), 0);
    ASSERT_EQ(jq_chan_slot_state(ch, SLOT), JQ_SLOT_EMPTY);
    jq_chan_destroy(ch);
}

static void wrong_master_exits(void)
{
    struct jq_chan *ch = make_chan(64);
    pid_t w = start_worker(ch, 0, getpid() + 100000);
    ASSERT_EQ(wait_exit_within(w, 3000), 1);
    jq_chan_destroy(ch);
}

/* Live processes (not zombies) whose cmdline contains marker. */
static int count_marker(const char *marker)
{
    int n = 0;
    DIR *d = opendir("/proc");
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[4096];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t r = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        for (size_t i = 0; i < r; i++)
            buf[i] = buf[i] ? buf[i] : ' ';
        buf[r] = '\0';
        n += strstr(buf, marker) != NULL;
    }
    closedir(d);
    return n;
}

static void make_marker(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, cap, "jqtw%d-%ld", (int)getpid(), ts.tv_nsec);
}

/* A forked "master" that starts the worker, tells us its pid, then waits. */
static pid_t start_master(struct jq_chan *ch, pid_t *worker_out)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t master = fork();
    ASSERT_TRUE(master >= 0);
    if (master == 0) {
        pid_t w = start_worker(ch, 0, getpid());
        if (write(p[1], &w, sizeof(w)) != sizeof(w))
            _exit(1);
        for (;;)
            pause();
    }
    ASSERT_EQ(read(p[0], worker_out, sizeof(*worker_out)), (long long)sizeof(*worker_out));
    close(p[0]);
    close(p[1]);
    return master;
}

static pid_t wait_pgid(struct jq_chan *ch)
{
    pid_t pgid = 0;
    for (int i = 0; i < 1000 && pgid == 0; i++, sleep_ms(5))
        pgid = jq_chan_slot_job_pgid(ch, SLOT);
    ASSERT_TRUE(pgid > 0);
    return pgid;
}

/* The master dies (SIGKILL) while a job tree runs (children, grandchild, a
 * daemonised double-forked grandchild in its own session): the worker
 * (PDEATHSIG) kills and reaps the whole tree and exits. This process, a
 * subreaper, inherits the worker. */
static void dies_with_master(void)
{
    struct jq_chan *ch = make_chan(64);
    char marker[64];
    make_marker(marker, sizeof(marker));
    pid_t w, master = start_master(ch, &w);
    post(ch, 1, 64, spawner(), "--marker", marker, "--children", "2", "--grandchild", "--double-fork",
         "--sleep-ms", "60000", NULL);
    pid_t pgid = wait_pgid(ch);
    for (int i = 0; i < 400 && count_marker(marker) < 6; i++)
        sleep_ms(5);
    ASSERT_EQ(count_marker(marker), 6); /* leader, 2 children, child + grandchild, daemon */
    ASSERT_EQ(kill(master, SIGKILL), 0);
    int64_t t0 = jq_mono_ms();
    ASSERT_EQ(wait_exit_within(master, 3000), 128 + SIGKILL);
    ASSERT_EQ(wait_exit_within(w, 2000), 0);
    ASSERT_TRUE(jq_mono_ms() - t0 < 2000);
    ASSERT_EQ(count_marker(marker), 0);
    ASSERT_EQ(kill(-pgid, 0), -1);
    assert_no_children();
    jq_chan_destroy(ch);
}

/* An idle worker exits at once when its master dies. */
static void dies_with_master_idle(void)
{
    struct jq_chan *ch = make_chan(64);
    pid_t w, master = start_master(ch, &w);
    sleep_ms(50);
    ASSERT_EQ(kill(master, SIGKILL), 0);
    ASSERT_EQ(wait_exit_within(master, 3000), 128 + SIGKILL);
    ASSERT_EQ(wait_exit_within(w, 1000), 0);
    assert_no_children();
    jq_chan_destroy(ch);
}

/* The death signal from anyone else while the master lives changes nothing. */
static void stray_death_signal_ignored(void)
{
    struct jq_chan *ch = make_chan(64);
    pid_t w = start_worker(ch, 0, getpid());
    post(ch, 1, 64, spawner(), "--sleep-ms", "300", "--print", "ok", NULL);
    wait_pgid(ch);
    ASSERT_EQ(kill(w, JQ_WORKER_DEATHSIG), 0);
    struct jq_job_result v;
    collect(ch, 1, &v);
    ASSERT_EQ(v.state, JQ_STATE_SUCCEEDED);
    ASSERT_STREQ(v.out.data, "ok\n");
    jq_chan_release(ch, SLOT);
    ASSERT_EQ(kill(w, JQ_WORKER_DEATHSIG), 0); /* idle now */
    post(ch, 2, 64, "true", NULL);
    collect(ch, 2, &v);
    ASSERT_EQ(v.state, JQ_STATE_SUCCEEDED);
    jq_chan_release(ch, SLOT);
    ASSERT_EQ(kill(w, SIGTERM), 0);
    ASSERT_EQ(wait_exit_within(w, 3000), 0);
    jq_chan_destroy(ch);
}

/* A worker SIGKILLed mid-job takes the job's leader with it: the leader's
 * PDEATHSIG=SIGKILL survived its execve (a non-setuid program). The leader
 * is re-parented to this process (a subreaper). */
static void killed_worker_takes_leader(void)
{
    struct jq_chan *ch = make_chan(64);
    pid_t w = start_worker(ch, 0, getpid());
    post(ch, 1, 64, spawner(), "--sleep-ms", "60000", NULL);
    pid_t pgid = wait_pgid(ch);
    ASSERT_EQ(kill(w, SIGKILL), 0);
    ASSERT_EQ(wait_exit_within(w, 3000), 128 + SIGKILL);
    ASSERT_EQ(wait_exit_within(pgid, 2000), 128 + SIGKILL);
    assert_no_children();
    jq_chan_destroy(ch);
}

static const struct jq_test_case cases[] = {
    {"runs_jobs", runs_jobs},
    {"output_caps", output_caps},
    {"cancel_running", cancel_running},
    {"cancel_before_start", cancel_before_start},
    {"max_jobs", max_jobs},
    {"stop_when_idle", stop_when_idle},
    {"wrong_master_exits", wrong_master_exits},
    {"dies_with_master", dies_with_master},
    {"dies_with_master_idle", dies_with_master_idle},
    {"stray_death_signal_ignored", stray_death_signal_ignored},
    {"killed_worker_takes_leader", killed_worker_takes_leader},
};

JQ_TEST_MAIN(cases)
