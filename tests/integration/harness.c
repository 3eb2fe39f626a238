/* harness.c: the jobqd server's life in an integration test — temp dir,
 * start on an ephemeral port, stop, restart, and the clean-up that runs
 * however a case ends.
 *
 * DESIGN: this process makes itself a child subreaper, so every process a
 * case starts (jobqd, its workers, their jobs, orphans of those) stays a
 * descendant of it until it is reaped. "Nothing left behind" is then simply
 * "no live descendant once jobqd has exited", and the failure path can kill
 * exactly what the case started by walking down from getpid(). jobqd itself
 * gets PDEATHSIG=SIGKILL, so it dies with the test even if the test is
 * SIGKILLed (its workers follow through their own PDEATHSIG).
 *
 * The one piece of mutable static state, the table of running servers, is
 * test-only: the SIGABRT handler (asserts call abort()) needs it to print
 * the log tail and clean up. abort() is called synchronously from the case,
 * never from inside malloc or stdio, so the handler may use opendir and
 * friends. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_WAIT_MS 10000
#define STOP_WAIT_MS 15000
#define LEFTOVER_WAIT_MS 3000
#define MAX_SERVERS 4

static struct jq_it_server *servers[MAX_SERVERS];

int64_t jq_it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jq_it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

const char *jq_it_spawner(void)
{
    const char *p = getenv("JQ_SPAWNER");
    if (!p || p[0] != '/')
        JQ_FAIL_AT(__FILE__, __LINE__, "JQ_SPAWNER is not set to an absolute path");
    return p;
}

void jq_it_marker(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, cap, "jqit%d-%ld", (int)getpid(), (long)(ts.tv_nsec / 1000));
}

static const char *jobqd_path(void)
{
    const char *p = getenv("JOBQD");
    if (!p || !*p)
        JQ_FAIL_AT(__FILE__, __LINE__, "JOBQD is not set (run the test through ctest)");
    return p;
}

/* ---- clean-up on every path ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void reap_all(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* SIGKILL every descendant, again and again until none is left (orphans
 * re-parent to us, the subreaper, and are reaped here). */
static void kill_descendants(void)
{
    pid_t pids[512];
    for (int round = 0; round < 200; round++) {
        size_t n = jq_it_proc_descendants(getpid(), pids, 512);
        if (n == 0)
            return;
        for (size_t i = 0; i < n && i < 512; i++)
            kill(pids[i], SIGKILL);
        jq_it_sleep_ms(10);
        reap_all();
    }
}

void jq_it_print_log_tail(const struct jq_it_server *srv)
{
    char buf[6000];
    int fd = open(srv->log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof(buf) ? size - (off_t)sizeof(buf) : 0;
    ssize_t n = pread(fd, buf, sizeof(buf), from);
    close(fd);
    fprintf(stderr, "---- tail of %s ----\n", srv->log_path);
    if (n > 0)
        fwrite(buf, 1, (size_t)n, stderr);
    fprintf(stderr, "---- end of log ----\n");
}

static void on_abort(int sig)
{
    (void)sig;
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i])
            jq_it_print_log_tail(servers[i]);
    kill_descendants();
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i])
            remove_tree(servers[i]->dir);
    signal(SIGABRT, SIG_DFL); /* abort() then ends the process */
}

static void at_exit(void)
{
    bool left = false;
    for (int i = 0; i < MAX_SERVERS; i++)
        left = left || servers[i] != NULL;
    if (!left)
        return;
    fprintf(stderr, "harness: a case returned without jq_it_finish(); cleaning up\n");
    on_abort(0);
    _exit(1);
}

static void setup_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_abort;
    sigaction(SIGABRT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(at_exit);
}

static void track(struct jq_it_server *srv, bool on)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (on && servers[i] == NULL) {
            servers[i] = srv;
            return;
        }
        if (!on && servers[i] == srv)
            servers[i] = NULL;
    }
    if (on)
        JQ_FAIL_AT(__FILE__, __LINE__, "more than %d servers in one case", MAX_SERVERS);
}

/* ---- start ---- */

static void make_dir(struct jq_it_server *srv)
{
    const char *base = getenv("JQ_TEST_TMP");
    char tmpl[PATH_MAX];
    if (!base || !*base)
        base = "/tmp";
    if (mkdir(base, 0700) != 0 && errno != EEXIST)
        JQ_FAIL_AT(__FILE__, __LINE__, "mkdir %s: %s", base, strerror(errno));
    snprintf(tmpl, sizeof(tmpl), "%s/it-XXXXXX", base);
    if (!mkdtemp(tmpl))
        JQ_FAIL_AT(__FILE__, __LINE__, "mkdtemp %s: %s", tmpl, strerror(errno));
    snprintf(srv->dir, sizeof(srv->dir), "%s", tmpl);
    snprintf(srv->db_path, sizeof(srv->db_path), "%s/jobq.db", srv->dir);
    snprintf(srv->log_path, sizeof(srv->log_path), "%s/jobqd.log", srv->dir);
    snprintf(srv->port_path, sizeof(srv->port_path), "%s/port", srv->dir);
}

static size_t build_argv(struct jq_it_server *srv, const char **argv, size_t cap)
{
    snprintf(srv->run_as, sizeof(srv->run_as), "%lu:%lu", (unsigned long)geteuid(), (unsigned long)getegid());
    const char *base[] = {jobqd_path(), "--listen", "127.0.0.1:0", "--port-file", srv->port_path,
                          "--db", srv->db_path, "--log-level", "debug", "--shutdown-grace-ms", "1000",
                          "--run-as", srv->run_as, "--allow-root-jobs"};
    size_t n = 0, own_user = sizeof(base) / sizeof(base[0]) - 3; /* --run-as X --allow-root-jobs */
    bool range = false; /* the case names --run-as-range, which excludes --run-as */
    for (size_t i = 0; srv->args[i]; i++)
        range = range || strcmp(srv->args[i], "--run-as-range") == 0;
    for (size_t i = 0; i < (range ? own_user : sizeof(base) / sizeof(base[0])); i++)
        argv[n++] = base[i];
    for (size_t i = 0; srv->args[i] && n + 1 < cap; i++)
        argv[n++] = srv->args[i];
    argv[n] = NULL;
    return n;
}

/* In the child, between fork and exec. */
static void exec_server(const struct jq_it_server *srv, char **argv)
{
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int log = open(srv->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
        _exit(126);
    for (size_t i = 0; srv->env[i]; i++)
        putenv((char *)srv->env[i]);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
}

static int read_port(const struct jq_it_server *srv)
{
    char buf[32] = {0};
    int fd = open(srv->port_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0 || !memchr(buf, '\n', (size_t)n))
        return -1; /* not written completely yet */
    long port = strtol(buf, NULL, 10);
    return port > 0 && port < 65536 ? (int)port : -1;
}

/* Start jobqd and wait for its port file. Returns 0, or -1 if it exited
 * during start-up (its wait status in *status). Aborts on other failures. */
static int try_launch(struct jq_it_server *srv, int *status)
{
    const char *argv[JQ_IT_MAX_ARGS + 16];
    build_argv(srv, argv, sizeof(argv) / sizeof(argv[0]));
    unlink(srv->port_path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0)
        exec_server(srv, (char **)argv);
    srv->pid = pid;
    for (int64_t end = jq_it_now_ms() + START_WAIT_MS; jq_it_now_ms() < end; jq_it_sleep_ms(10)) {
        int port = read_port(srv);
        if (port > 0) {
            srv->port = (uint16_t)port;
            return 0;
        }
        if (waitpid(pid, status, WNOHANG) == pid) {
            srv->pid = 0;
            return -1;
        }
    }
    JQ_FAIL_AT(__FILE__, __LINE__, "jobqd wrote no port file within %d ms", START_WAIT_MS);
}

static void launch(struct jq_it_server *srv)
{
    int status = 0;
    if (try_launch(srv, &status) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "jobqd exited during start-up (status 0x%x)", (unsigned)status);
}

void jq_it_start(struct jq_it_server *srv, const char *const *extra_args, const char *const *extra_env)
{
    setup_once();
    memset(srv, 0, sizeof(*srv));
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        if (i + 1 >= JQ_IT_MAX_ARGS)
            JQ_FAIL_AT(__FILE__, __LINE__, "too many jobqd arguments");
        srv->args[i] = extra_args[i];
    }
    for (size_t i = 0; extra_env && extra_env[i]; i++) {
        if (i + 1 >= sizeof(srv->env) / sizeof(srv->env[0]))
            JQ_FAIL_AT(__FILE__, __LINE__, "too many environment entries");
        srv->env[i] = extra_env[i];
    }
    make_dir(srv);
    track(srv, true);
    launch(srv);
}

void jq_it_restart(struct jq_it_server *srv)
{
    if (srv->pid)
        JQ_FAIL_AT(__FILE__, __LINE__, "restart of a running server");
    launch(srv);
}

bool jq_it_try_restart(struct jq_it_server *srv, int *status)
{
    int st = 0;
    if (srv->pid)
        JQ_FAIL_AT(__FILE__, __LINE__, "restart of a running server");
    bool up = try_launch(srv, &st) == 0;
    if (status)
        *status = st;
    return up;
}

/* ---- stop ---- */

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
    for (int64_t end = jq_it_now_ms() + timeout_ms; jq_it_now_ms() < end; jq_it_sleep_ms(5)) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
    return -1;
}

/* Live descendants of this process, after reaping what can be reaped. */
static size_t live_descendants(pid_t *out, size_t max)
{
    pid_t all[512];
    reap_all();
    size_t n = jq_it_proc_descendants(getpid(), all, 512), live = 0;
    for (size_t i = 0; i < n && i < 512; i++) {
        char st = jq_it_proc_state(all[i]);
        if (st != 0 && st != 'Z' && st != 'X' && live < max)
            out[live++] = all[i];
    }
    return live;
}

static void print_leftovers(const pid_t *left, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char path[64], cmd[512] = {0};
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)left[i]);
        FILE *f = fopen(path, "re");
        size_t r = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t k = 0; k < r; k++)
            cmd[k] = cmd[k] ? cmd[k] : ' ';
        fprintf(stderr, "left behind: pid %d ppid %d: %s\n", (int)left[i], (int)jq_it_proc_ppid(left[i]), cmd);
    }
}

/* Waits up to timeout_ms for no live descendant; returns how many are left. */
static size_t wait_no_descendants(int timeout_ms, pid_t *left, size_t max)
{
    size_t n = 0;
    for (int64_t end = jq_it_now_ms() + timeout_ms;; jq_it_sleep_ms(10))
        if ((n = live_descendants(left, max)) == 0 || jq_it_now_ms() >= end)
            return n;
}

static void check_leftovers(void)
{
    pid_t left[64];
    size_t n = wait_no_descendants(LEFTOVER_WAIT_MS, left, 64);
    if (n == 0)
        return;
    print_leftovers(left, n < 64 ? n : 64);
    JQ_FAIL_AT(__FILE__, __LINE__, "%zu process(es) outlived jobqd", n);
}

size_t jq_it_live_descendants(pid_t *out, size_t max)
{
    return live_descendants(out, max);
}

size_t jq_it_wait_crash(struct jq_it_server *srv, int timeout_ms, int *status)
{
    int st = 0;
    pid_t left[64];
    if (!srv->pid)
        JQ_FAIL_AT(__FILE__, __LINE__, "jq_it_wait_crash: the server is not running");
    if (wait_exit(srv->pid, timeout_ms, &st) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "jobqd (pid %d) did not end within %d ms", (int)srv->pid, timeout_ms);
    srv->pid = 0;
    if (status)
        *status = st;
    size_t n = wait_no_descendants(timeout_ms, left, 64);
    print_leftovers(left, n < 64 ? n : 64);
    return n;
}

size_t jq_it_kill9(struct jq_it_server *srv, int timeout_ms)
{
    if (srv->pid)
        kill(srv->pid, SIGKILL);
    return jq_it_wait_crash(srv, timeout_ms, NULL);
}

void jq_it_stop_with(struct jq_it_server *srv, int sig)
{
    int status = 0;
    if (!srv->pid)
        return;
    pid_t pid = srv->pid;
    kill(pid, sig);
    if (wait_exit(pid, STOP_WAIT_MS, &status) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        srv->pid = 0;
        JQ_FAIL_AT(__FILE__, __LINE__, "jobqd did not stop within %d ms of signal %d", STOP_WAIT_MS, sig);
    }
    srv->pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "jobqd ended with status 0x%x after signal %d (want exit 0)",
                   (unsigned)status, sig);
    check_leftovers();
}

void jq_it_stop(struct jq_it_server *srv)
{
    jq_it_stop_with(srv, SIGTERM);
}

void jq_it_finish(struct jq_it_server *srv)
{
    jq_it_stop(srv);
    remove_tree(srv->dir);
    track(srv, false);
}

/* ---- one-shot runs (--help, bad flags) ---- */

static void copy_memfd(int fd, char *dst, size_t cap)
{
    if (!dst || cap == 0)
        return;
    ssize_t n = pread(fd, dst, cap - 1, 0);
    dst[n > 0 ? n : 0] = '\0';
}

int jq_it_run_jobqd(const char *const *args, char *out, size_t out_cap, char *err, size_t err_cap)
{
    const char *argv[JQ_IT_MAX_ARGS + 2];
    size_t n = 0;
    setup_once();
    argv[n++] = jobqd_path();
    for (size_t i = 0; args[i] && n + 1 < sizeof(argv) / sizeof(argv[0]); i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int ofd = memfd_create("jobqd-out", MFD_CLOEXEC), efd = memfd_create("jobqd-err", MFD_CLOEXEC);
    if (ofd < 0 || efd < 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "memfd_create: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(ofd, 1) < 0 || dup2(efd, 2) < 0)
            _exit(126);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || wait_exit(pid, 10000, &status) != 0) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        JQ_FAIL_AT(__FILE__, __LINE__, "jobqd %s did not finish within 10 s", argv[1] ? argv[1] : "");
    }
    copy_memfd(ofd, out, out_cap);
    copy_memfd(efd, err, err_cap);
    close(ofd);
    close(efd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int64_t jq_it_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jq_it_format_time(int64_t epoch_ms, char *buf, size_t cap)
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(epoch_ms % 1000));
}
