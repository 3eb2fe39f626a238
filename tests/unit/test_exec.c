/* test_exec.c: unit tests of the executor (worker/exec.c) with real
 * processes: exit codes and signals, captured output and caps, stdin,
 * timeouts and cancel that kill whole process trees (TEST-MATRIX P1-P4,
 * P7, P9, P12, D14), descriptors, environment, cwd, no zombie left (not
 * even while the job runs), and the stop descriptor (the master died).
 * The test process is a child subreaper, as a worker is. */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "jq_limits.h"
#include "testlib.h"

/* ---- helpers ---- */

struct job {
    struct jq_job_spec spec;
    struct jq_job_result res;
    char *out, *err;
    struct jq_exec_io io;
    int64_t elapsed_ms;
};

static void setup(void)
{
    ASSERT_EQ(jq_exec_become_subreaper(), 0);
    signal(SIGPIPE, SIG_IGN);
}

static const char *spawner(void)
{
    const char *p = getenv("JQ_SPAWNER");
    if (!p)
        JQ_FAIL_AT(__FILE__, __LINE__, "JQ_SPAWNER is not set");
    return p;
}

static void add_str(char ***v, size_t *n, const char *s)
{
    *v = realloc(*v, (*n + 2) * sizeof(char *));
    ASSERT_TRUE(*v);
    (*v)[(*n)++] = strdup(s);
    (*v)[*n] = NULL;
}

/* argv as a NULL-terminated list; cap bytes per stream. */
static void job_init(struct job *j, size_t cap, const char *arg0, ...)
{
    memset(j, 0, sizeof(*j));
    jq_job_spec_init(&j->spec);
    jq_job_result_init(&j->res);
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *))
        add_str(&j->spec.argv, &j->spec.argc, a);
    va_end(ap);
    j->spec.timeout_ms = 10000;
    j->spec.kill_grace_ms = 2000;
    j->spec.max_output_bytes = (int64_t)cap;
    j->out = malloc(cap + 1);
    j->err = malloc(cap + 1);
    j->io = (struct jq_exec_io){.out_buf = j->out, .out_cap = cap, .err_buf = j->err, .err_cap = cap, .cancel_fd = -1};
}

static void job_env(struct job *j, const char *entry)
{
    add_str(&j->spec.env, &j->spec.envc, entry);
}

static void job_stdin(struct job *j, const char *data, size_t len)
{
    j->spec.stdin_data = malloc(len + 1);
    memcpy(j->spec.stdin_data, data, len);
    j->spec.stdin_len = len;
}

static void assert_no_children(void)
{
    errno = 0;
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG | __WALL), -1);
    ASSERT_EQ(errno, ECHILD);
}

static void job_run(struct job *j)
{
    int64_t t0 = jq_mono_ms();
    ASSERT_EQ(jq_exec_run(&j->spec, &j->io, &j->res), 0);
    j->elapsed_ms = jq_mono_ms() - t0;
    ASSERT_TRUE(j->res.out.len <= j->io.out_cap && j->res.err.len <= j->io.err_cap);
    j->out[j->res.out.len] = '\0';
    j->err[j->res.err.len] = '\0';
    assert_no_children();
}

static void job_free(struct job *j)
{
    jq_job_spec_cleanup(&j->spec);
    jq_job_result_cleanup(&j->res);
    free(j->out);
    free(j->err);
}

/* A tag unique to this test process, for scanning /proc/<pid>/cmdline. */
static void make_marker(char *buf, size_t n, const char *prefix)
{
    static int counter;
    snprintf(buf, n, "%s%d.%d", prefix, (int)getpid(), ++counter);
}

static bool cmdline_has(const char *pid, const char *tag)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    for (char *p = buf; p < buf + n; p += strlen(p) + 1)
        if (strcmp(p, tag) == 0)
            return true;
    return false;
}

static int count_marker(const char *tag)
{
    int found = 0;
    DIR *d = opendir("/proc");
    ASSERT_TRUE(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && cmdline_has(e->d_name, tag))
            found++;
    closedir(d);
    return found;
}

static void make_tmpdir(char *buf, size_t n)
{
    const char *base = getenv("JQ_TEST_TMP");
    if (!base)
        base = "/tmp";
    if (mkdir(base, 0700) != 0 && errno != EEXIST)
        JQ_FAIL_AT(__FILE__, __LINE__, "mkdir %s: %s", base, strerror(errno));
    snprintf(buf, n, "%s/jqexec-XXXXXX", base);
    ASSERT_TRUE(mkdtemp(buf) != NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    ASSERT_EQ(chmod(path, mode), 0);
}

/* ---- exit status ---- */

static void exit_zero(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--print", "hello", NULL);
    int64_t before = jq_now_ms();
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(j.res.exit_code, 0);
    ASSERT_EQ(j.res.signal, 0);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_NONE);
    ASSERT_TRUE(j.res.error == NULL);
    ASSERT_STREQ(j.out, "hello\n");
    ASSERT_EQ(j.res.out.total_bytes, 6);
    ASSERT_TRUE(!j.res.out.truncated);
    ASSERT_TRUE(j.res.out.data == NULL);
    ASSERT_GE(j.res.started_at_ms, before);
    ASSERT_GE(j.res.finished_at_ms, j.res.started_at_ms);
    ASSERT_GE(j.res.duration_ms, 0);
    ASSERT_TRUE(j.res.max_rss_kb > 0);
    job_free(&j);
}

static void exit_code(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--exit", "3", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_FAILED);
    ASSERT_EQ(j.res.exit_code, 3);
    ASSERT_EQ(j.res.signal, 0);
    ASSERT_TRUE(j.res.error == NULL);
    job_free(&j);
}

static void killed_by_signal(void)
{
    setup();
    const char *sigs[] = {"9", "15"};
    for (int i = 0; i < 2; i++) {
        struct job j;
        job_init(&j, 1024, spawner(), "--signal", sigs[i], "--exit", "0", NULL);
        job_run(&j);
        ASSERT_EQ(j.res.state, JQ_STATE_FAILED);
        ASSERT_EQ(j.res.exit_code, -1);
        ASSERT_EQ(j.res.signal, atoi(sigs[i]));
        ASSERT_EQ(j.res.kill_reason, JQ_KILL_NONE);
        job_free(&j);
    }
}

static void cpu_time_and_duration(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, "sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 0.2", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_GE(j.res.duration_ms, 200);
    ASSERT_TRUE(j.res.duration_ms <= j.elapsed_ms + 5);
    ASSERT_TRUE(j.res.cpu_user_ms + j.res.cpu_sys_ms > 0);
    job_free(&j);
}

/* ---- output ---- */

static void stdout_stderr_separate(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--print", "to out", "--eprint", "to err", "--print", "again", NULL);
    job_run(&j);
    ASSERT_STREQ(j.out, "to out\nagain\n");
    ASSERT_STREQ(j.err, "to err\n");
    ASSERT_EQ(j.res.err.total_bytes, 7);
    job_free(&j);
}

static void output_truncated(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--bytes", "5000000", "--ebytes", "3000000", "--print", "end", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(j.res.out.len, 1024);
    ASSERT_EQ(j.res.out.total_bytes, 5000004);
    ASSERT_TRUE(j.res.out.truncated);
    ASSERT_EQ(j.res.err.len, 1024);
    ASSERT_EQ(j.res.err.total_bytes, 3000000);
    ASSERT_TRUE(j.res.err.truncated);
    for (int i = 0; i < 1024; i++)
        ASSERT_EQ(j.out[i], 'x');
    job_free(&j);
}

static void output_cap_zero(void)
{
    setup();
    struct job j;
    job_init(&j, 0, spawner(), "--print", "dropped", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.out.len, 0);
    ASSERT_EQ(j.res.out.total_bytes, 8);
    ASSERT_TRUE(j.res.out.truncated);
    job_free(&j);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* P4, scaled down: 256 MiB per stream through a 1 MiB cap, bounded memory. */
static void huge_output_bounded(void)
{
    setup();
    struct job j;
    job_init(&j, 1 << 20, spawner(), "--bytes", "268435456", "--ebytes", "268435456", NULL);
    j.spec.timeout_ms = 60000;
    long before = rss_kb();
    job_run(&j);
    long after = rss_kb();
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(j.res.out.total_bytes, 268435456);
    ASSERT_EQ(j.res.err.total_bytes, 268435456);
    ASSERT_EQ(j.res.out.len, 1 << 20);
    ASSERT_TRUE(j.res.out.truncated && j.res.err.truncated);
    /* The two 1 MiB buffers fill up; nothing else may grow. */
    ASSERT_TRUE(after - before < 2 * 1024 + 8 * 1024);
    job_free(&j);
}

static void binary_output(void)
{
    setup();
    struct job j;
    job_init(&j, 4096, spawner(), "--binary", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.out.len, 256);
    for (int i = 0; i < 256; i++)
        ASSERT_EQ((unsigned char)j.out[i], i);
    job_free(&j);
}

/* ---- stdin (P12) ---- */

static void stdin_cat(void)
{
    setup();
    size_t n = JQ_MAX_STDIN_BYTES;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 7 + 3);
    struct job j;
    job_init(&j, 2 * n, spawner(), "--cat", NULL);
    job_stdin(&j, data, n);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(j.res.out.len, n);
    ASSERT_TRUE(memcmp(j.out, data, n) == 0);
    free(data);
    job_free(&j);
}

static void stdin_empty_is_eof(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--cat", "--print", "eof", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_STREQ(j.out, "eof\n");
    ASSERT_TRUE(j.elapsed_ms < 5000);
    job_free(&j);
}

static void stdin_never_read(void)
{
    setup();
    size_t n = JQ_MAX_STDIN_BYTES;
    char *data = calloc(1, n);
    struct job j;
    job_init(&j, 1024, spawner(), "--sleep-ms", "100", "--print", "done", NULL);
    job_stdin(&j, data, n);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_STREQ(j.out, "done\n");
    ASSERT_TRUE(j.elapsed_ms < 5000);
    free(data);
    job_free(&j);
}

/* ---- timeouts and process trees (P1, P2, P3) ---- */

static void timeout_shell_tree(void)
{
    setup();
    char tag[64];
    make_marker(tag, sizeof(tag), "9"); /* "9<pid>.<n>": a valid sleep time */
    struct job j;
    job_init(&j, 1024, "sh", "-c", "sleep \"$0\" & sleep \"$0\"", tag, NULL);
    j.spec.timeout_ms = 1000;
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_TIMED_OUT);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_TIMEOUT);
    ASSERT_EQ(j.res.signal, SIGTERM);
    ASSERT_GE(j.elapsed_ms, 1000);
    ASSERT_TRUE(j.elapsed_ms < 1000 + 2000 + 1000);
    ASSERT_EQ(count_marker(tag), 0);
    job_free(&j);
}

static void timeout_ignores_term(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--ignore-term", "--sleep-ms", "60000", NULL);
    j.spec.timeout_ms = 500;
    j.spec.kill_grace_ms = 200;
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_TIMED_OUT);
    ASSERT_EQ(j.res.signal, SIGKILL);
    ASSERT_GE(j.elapsed_ms, 700);
    ASSERT_TRUE(j.elapsed_ms < 500 + 200 + 1000);
    job_free(&j);
}

static void timeout_zero_grace(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--sleep-ms", "60000", NULL);
    j.spec.timeout_ms = 300;
    j.spec.kill_grace_ms = 0;
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_TIMED_OUT);
    ASSERT_EQ(j.res.signal, SIGKILL);
    ASSERT_TRUE(j.elapsed_ms < 300 + 1000);
    job_free(&j);
}

/* P1: every kind of descendant, all ignoring SIGTERM; timeout 1 s. */
static void timeout_kills_tree(void)
{
    setup();
    char tag[64];
    make_marker(tag, sizeof(tag), "p1-");
    struct job j;
    job_init(&j, 1024, spawner(), "--marker", tag, "--ignore-term", "--children", "2", "--grandchild", "--double-fork",
             "--sleep-ms", "60000", NULL);
    j.spec.timeout_ms = 1000;
    j.spec.kill_grace_ms = 300;
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_TIMED_OUT);
    ASSERT_EQ(j.res.signal, SIGKILL);
    ASSERT_TRUE(j.elapsed_ms < 1000 + 2000);
    ASSERT_EQ(count_marker(tag), 0);
    job_free(&j);
}

/* P3: the main process exits while descendants hold its stdout open. */
static void exit_kills_tree(void)
{
    setup();
    char tag[64];
    make_marker(tag, sizeof(tag), "p3-");
    struct job j;
    job_init(&j, 1024, spawner(), "--marker", tag, "--children", "2", "--grandchild", "--double-fork", "--print",
             "done", NULL);
    j.spec.timeout_ms = 30000;
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_NONE);
    ASSERT_STREQ(j.out, "done\n");
    ASSERT_TRUE(j.elapsed_ms < 5000);
    ASSERT_EQ(count_marker(tag), 0);
    job_free(&j);
}

/* P2: EOF on stdout and stderr does not mean the job is finished. */
static void closed_stdout_still_running(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, spawner(), "--print", "before", "--close-stdout", "--sleep-ms", "60000", NULL);
    j.spec.timeout_ms = 1000;
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_TIMED_OUT);
    ASSERT_GE(j.elapsed_ms, 1000);
    ASSERT_TRUE(j.elapsed_ms < 1000 + 2000 + 1000);
    ASSERT_STREQ(j.out, "before\n");
    job_free(&j);
}

/* ---- isolation (P7, P9) ---- */

static void only_stdio_fds(void)
{
    setup();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0); /* deliberately without O_CLOEXEC */
    int devnull = open("/dev/null", O_RDONLY);
    ASSERT_TRUE(devnull >= 0);
    ASSERT_EQ(dup2(devnull, 77), 77);
    struct job j;
    job_init(&j, 1024, spawner(), "--list-fds", NULL);
    job_run(&j);
    ASSERT_STREQ(j.out, "0\n1\n2\n");
    job_free(&j);
    close(fds[0]);
    close(fds[1]);
    close(devnull);
    close(77);
}

static void env_exact(void)
{
    setup();
    ASSERT_EQ(setenv("JQ_CANARY", "must-not-leak", 1), 0);
    struct job j;
    job_init(&j, 1024, spawner(), "--env", NULL);
    job_env(&j, "A=1");
    job_env(&j, "PATH=/evil");
    job_env(&j, "B=two words");
    job_run(&j);
    ASSERT_STREQ(j.out, "A=1\nB=two words\nPATH=" JQ_JOB_PATH "\n");
    job_free(&j);
}

/* The job starts with nothing ignored and nothing blocked, whatever the
 * worker ignores (SIGPIPE) or blocks. */
static void signals_default_in_job(void)
{
    setup();
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &old), 0);
    signal(SIGUSR2, SIG_IGN);
    struct job j;
    job_init(&j, 1024, "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status", NULL);
    job_run(&j);
    ASSERT_STREQ(j.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    job_free(&j);
    job_init(&j, 1024, "sh", "-c", "yes | head -c 1 >/dev/null", NULL);
    job_run(&j);
    ASSERT_STREQ(j.err, ""); /* yes died of SIGPIPE instead of reporting EPIPE */
    job_free(&j);
    ASSERT_EQ(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    signal(SIGUSR2, SIG_DFL);
}

/* ---- start failures ---- */

static void command_not_found(void)
{
    setup();
    struct job j;
    job_init(&j, 1024, "jq-definitely-not-a-command", "x", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_FAILED);
    ASSERT_EQ(j.res.exit_code, 127);
    ASSERT_STREQ(j.res.error, "command not found: jq-definitely-not-a-command");
    ASSERT_EQ(j.res.out.total_bytes, 0);
    job_free(&j);
    job_init(&j, 1024, "/nonexistent/prog", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.exit_code, 127);
    ASSERT_STREQ(j.res.error, "exec /nonexistent/prog: No such file or directory");
    job_free(&j);
}

static void not_executable(void)
{
    setup();
    char dir[512], path[600];
    make_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/plain", dir);
    write_file(path, "#!/bin/sh\nexit 0\n", 0644);
    struct job j;
    job_init(&j, 1024, path, NULL);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_FAILED);
    ASSERT_EQ(j.res.exit_code, 127);
    char want[700];
    snprintf(want, sizeof(want), "exec %s: Permission denied", path);
    if (geteuid() != 0)
        ASSERT_STREQ(j.res.error, want);
    else
        ASSERT_TRUE(j.res.error && strncmp(j.res.error, "exec ", 5) == 0);
    job_free(&j);
    unlink(path);
    rmdir(dir);
}

/* argv[0] is looked up in JQ_JOB_PATH, never in the service's PATH. */
static void job_path_not_service_path(void)
{
    setup();
    char dir[512], path[700], name[64], newpath[2048];
    make_tmpdir(dir, sizeof(dir));
    snprintf(name, sizeof(name), "jqonlyhere%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    write_file(path, "#!/bin/sh\nexit 0\n", 0755);
    snprintf(newpath, sizeof(newpath), "%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/bin");
    ASSERT_EQ(setenv("PATH", newpath, 1), 0);
    struct job j;
    job_init(&j, 1024, name, NULL);
    job_run(&j);
    ASSERT_EQ(j.res.exit_code, 127);
    ASSERT_TRUE(j.res.error && strstr(j.res.error, "command not found"));
    job_free(&j);
    job_init(&j, 1024, "sh", "-c", "exit 0", NULL);
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    job_free(&j);
    unlink(path);
    rmdir(dir);
}

static void cwd_honoured(void)
{
    setup();
    char dir[512], real[4096];
    make_tmpdir(dir, sizeof(dir));
    ASSERT_TRUE(realpath(dir, real) != NULL);
    strcat(real, "\n");
    struct job j;
    job_init(&j, 4096, "/bin/pwd", "-P", NULL);
    j.spec.cwd = strdup(dir);
    job_run(&j);
    ASSERT_STREQ(j.out, real);
    job_free(&j);
    job_init(&j, 4096, "/bin/pwd", "-P", NULL);
    j.io.default_cwd = dir;
    job_run(&j);
    ASSERT_STREQ(j.out, real);
    job_free(&j);
    job_init(&j, 4096, "/bin/pwd", NULL);
    j.spec.cwd = strdup("/nonexistent-jq-dir");
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_FAILED);
    ASSERT_EQ(j.res.exit_code, 127);
    ASSERT_STREQ(j.res.error, "chdir /nonexistent-jq-dir: No such file or directory");
    job_free(&j);
    rmdir(dir);
}

/* ---- cancel ---- */

struct cancel_ctx {
    int efd;
    bool cancel;          /* what should_cancel answers */
    bool signal_on_spawn; /* write the eventfd once the job exists */
    int asked;
    int spawned;
};

static bool ctx_should_cancel(void *p)
{
    struct cancel_ctx *c = p;
    c->asked++;
    return c->cancel;
}

static void ctx_on_spawn(void *p, pid_t pgid)
{
    struct cancel_ctx *c = p;
    ASSERT_TRUE(pgid > 0);
    ASSERT_EQ(getpgid(pgid), pgid);
    c->spawned++;
    if (c->signal_on_spawn) {
        uint64_t one = 1;
        ASSERT_EQ(write(c->efd, &one, sizeof(one)), 8);
    }
}

static void cancel_job(struct job *j, struct cancel_ctx *c)
{
    c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_TRUE(c->efd >= 0);
    j->io.cancel_fd = c->efd;
    j->io.should_cancel = ctx_should_cancel;
    j->io.on_spawn = ctx_on_spawn;
    j->io.ctx = c;
}

/* A cancel context whose answer becomes true once the job was spawned. */
static bool spawned_should_cancel(void *p)
{
    struct cancel_ctx *c = p;
    c->asked++;
    return c->spawned > 0 && c->cancel;
}

static void cancel_running(void)
{
    setup();
    struct job j;
    struct cancel_ctx c = {.cancel = true, .signal_on_spawn = true};
    job_init(&j, 1024, spawner(), "--sleep-ms", "60000", NULL);
    j.spec.timeout_ms = 30000;
    cancel_job(&j, &c);
    j.io.should_cancel = spawned_should_cancel;
    job_run(&j);
    ASSERT_EQ(c.spawned, 1);
    ASSERT_GE(c.asked, 2);
    ASSERT_EQ(j.res.state, JQ_STATE_CANCELLED);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_CANCEL);
    ASSERT_EQ(j.res.signal, SIGTERM);
    ASSERT_TRUE(j.elapsed_ms < 2000);
    job_free(&j);
    close(c.efd);
}

static void cancel_stale_ignored(void)
{
    setup();
    struct job j;
    struct cancel_ctx c = {.cancel = false, .signal_on_spawn = true};
    job_init(&j, 1024, spawner(), "--sleep-ms", "300", "--print", "ran", NULL);
    cancel_job(&j, &c);
    job_run(&j);
    ASSERT_GE(c.asked, 2);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_NONE);
    ASSERT_STREQ(j.out, "ran\n");
    job_free(&j);
    close(c.efd);
}

static void cancel_before_start(void)
{
    setup();
    struct job j;
    struct cancel_ctx c = {.cancel = true};
    job_init(&j, 1024, spawner(), "--print", "never", NULL);
    cancel_job(&j, &c);
    job_run(&j);
    ASSERT_EQ(c.spawned, 0);
    ASSERT_EQ(j.res.state, JQ_STATE_CANCELLED);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_CANCEL);
    ASSERT_EQ(j.res.exit_code, -1);
    ASSERT_EQ(j.res.out.total_bytes, 0);
    ASSERT_EQ(j.res.started_at_ms, 0);
    job_free(&j);
    close(c.efd);
}

/* ---- reaping (D14) ---- */

static void many_jobs_no_zombies(void)
{
    setup();
    for (int i = 0; i < 200; i++) {
        struct job j;
        job_init(&j, 64, i % 2 ? "/bin/true" : "sh", "-c", "sleep 30 & exit 0", NULL);
        job_run(&j); /* asserts no child is left */
        ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
        job_free(&j);
    }
}

static void reap_all_children(void)
{
    setup();
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
            if (i == 0 && fork() == 0) { /* a grandchild that leaves the session */
                setsid();
                pid_t me = getpid();
                if (write(p[1], &me, sizeof(me)) != sizeof(me))
                    _exit(1);
                for (;;)
                    pause();
            }
            for (;;)
                pause();
        }
    }
    pid_t grandchild;
    ASSERT_EQ(read(p[0], &grandchild, sizeof(grandchild)), (long long)sizeof(grandchild));
    jq_exec_reap_all_children();
    assert_no_children();
    ASSERT_EQ(kill(grandchild, 0), -1);
    ASSERT_EQ(errno, ESRCH);
    close(p[0]);
    close(p[1]);
}

/* ---- orphans reaped while the job runs; the stop descriptor ---- */

/* Zombie children of this process, from /proc. */
static int count_zombie_children(void)
{
    int n = 0;
    DIR *d = opendir("/proc");
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t r = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[r] = '\0';
        const char *rp = strrchr(buf, ')');
        char st;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &st, &ppid) == 2 && st == 'Z' && ppid == (int)getpid())
            n++;
    }
    closedir(d);
    return n;
}

struct sampler {
    int zombies_seen; /* max zombie children seen between 400 and 900 ms */
    int stop_write_fd; /* >= 0: write a byte here after delay_ms */
    long delay_ms;
};

static void *sample_zombies(void *arg)
{
    struct sampler *sm = arg;
    for (long t = 0; t < 900; t += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        if (t >= 400) {
            int z = count_zombie_children();
            sm->zombies_seen = z > sm->zombies_seen ? z : sm->zombies_seen;
        }
    }
    return NULL;
}

static void *write_later(void *arg)
{
    struct sampler *sm = arg;
    struct timespec ts = {sm->delay_ms / 1000, (sm->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    ssize_t n = write(sm->stop_write_fd, "x", 1);
    (void)n;
    return NULL;
}

/* A thread with SIGCHLD blocked (only the executor's thread may take it). */
static pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    sigset_t chld, saved;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, &saved);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, fn, arg), 0);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return t;
}

/* Descendants that left the job and ended while its main process still
 * runs are reaped at once, not when the job ends. */
static void orphans_reaped_while_running(void)
{
    setup();
    struct sampler sm = {0, -1, 0};
    struct job j;
    job_init(&j, 64, "sh", "-c", "(sleep 0.1 &); (sleep 0.1 &); (sleep 0.2 &); sleep 1.2", NULL);
    pthread_t t = start_thread(sample_zombies, &sm);
    job_run(&j);
    pthread_join(t, NULL);
    ASSERT_EQ(j.res.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(sm.zombies_seen, 0);
    job_free(&j);
}

/* The stop descriptor turns readable mid-run: the whole tree is SIGKILLed
 * at once (no kill grace), the result is lost / shutdown. */
static void stop_fd_kills_tree(void)
{
    setup();
    char tag[64];
    int p[2];
    make_marker(tag, sizeof(tag), "stop-");
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    struct job j;
    job_init(&j, 64, spawner(), "--marker", tag, "--ignore-term", "--children", "2", "--grandchild", "--double-fork",
             "--sleep-ms", "60000", NULL);
    j.spec.kill_grace_ms = 5000;
    j.io.stop_fd = p[0];
    struct sampler sm = {0, p[1], 300};
    pthread_t t = start_thread(write_later, &sm);
    job_run(&j);
    pthread_join(t, NULL);
    ASSERT_EQ(j.res.state, JQ_STATE_LOST);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_SHUTDOWN);
    ASSERT_EQ(j.res.signal, SIGKILL);
    ASSERT_TRUE(j.elapsed_ms < 300 + 1500);
    ASSERT_EQ(count_marker(tag), 0);
    close(p[0]);
    close(p[1]);
    job_free(&j);
}

/* Already readable before the start: nothing is spawned. */
static void stop_fd_before_start(void)
{
    setup();
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    ASSERT_EQ(write(p[1], "x", 1), 1);
    struct job j;
    job_init(&j, 64, spawner(), "--print", "never", NULL);
    j.io.stop_fd = p[0];
    job_run(&j);
    ASSERT_EQ(j.res.state, JQ_STATE_LOST);
    ASSERT_EQ(j.res.kill_reason, JQ_KILL_SHUTDOWN);
    ASSERT_EQ(j.res.started_at_ms, 0);
    ASSERT_EQ(j.res.out.total_bytes, 0);
    close(p[0]);
    close(p[1]);
    job_free(&j);
}

static const struct jq_test_case cases[] = {
    {"exit_zero", exit_zero},
    {"exit_code", exit_code},
    {"killed_by_signal", killed_by_signal},
    {"cpu_time_and_duration", cpu_time_and_duration},
    {"stdout_stderr_separate", stdout_stderr_separate},
    {"output_truncated", output_truncated},
    {"output_cap_zero", output_cap_zero},
    {"huge_output_bounded", huge_output_bounded},
    {"binary_output", binary_output},
    {"stdin_cat", stdin_cat},
    {"stdin_empty_is_eof", stdin_empty_is_eof},
    {"stdin_never_read", stdin_never_read},
    {"timeout_shell_tree", timeout_shell_tree},
    {"timeout_ignores_term", timeout_ignores_term},
    {"timeout_zero_grace", timeout_zero_grace},
    {"timeout_kills_tree", timeout_kills_tree},
    {"exit_kills_tree", exit_kills_tree},
    {"closed_stdout_still_running", closed_stdout_still_running},
    {"only_stdio_fds", only_stdio_fds},
    {"env_exact", env_exact},
    {"signals_default_in_job", signals_default_in_job},
    {"command_not_found", command_not_found},
    {"not_executable", not_executable},
    {"job_path_not_service_path", job_path_not_service_path},
    {"cwd_honoured", cwd_honoured},
    {"cancel_running", cancel_running},
    {"cancel_stale_ignored", cancel_stale_ignored},
    {"cancel_before_start", cancel_before_start},
    {"many_jobs_no_zombies", many_jobs_no_zombies},
    {"reap_all_children", reap_all_children},
    {"orphans_reaped_while_running", orphans_reaped_while_running},
    {"stop_fd_kills_tree", stop_fd_kills_tree},
    {"stop_fd_before_start", stop_fd_before_start},
};

JQ_TEST_MAIN(cases)
