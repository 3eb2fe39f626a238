/* test_cli.c: integration tests of jobq, the command-line client, against a
 * real jobqd (tests/integration harness). The client is the binary named by
 * $JOBQ_CLI, run with a clean environment (PATH, JOBQ_URL and what a case
 * adds); its stdout and stderr are captured byte-exact in memfds. Covers run
 * (exit codes, signals, timeout, binary stdout, stderr kept apart, stdin
 * from a file and from -, env), submit/wait/get/logs, ls (table, --json,
 * --all paging, --state), cancel, an unreachable server (69), tokens (77
 * without, JOBQ_TOKEN and JOBQ_TOKEN_FILE work), usage errors (2), server
 * error messages, wait --timeout (75) and Ctrl-C cancelling the job (130),
 * https with --cacert / JOBQ_CACERT (an untrusted certificate refused
 * clearly), and 429 answers (75: a full queue, throttled authentication). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "cli-test-token-0123456789abcdef"
#define MAX_ENV 8

struct cli_run {
    pid_t pid;
    int out_fd, err_fd;
    int status;             /* exit status, 128+signal when killed */
    char *out;              /* captured stdout (NUL-terminated, out_len bytes) */
    size_t out_len;
    char *err;              /* captured stderr */
};

struct cli_env {
    char url[128];
    const char *extra[MAX_ENV];  /* NAME=value, NULL-terminated */
    const char *stdin_path;      /* file for fd 0, NULL = /dev/null */
    const char *stderr_tty;      /* pty slave for fd 2 (progress test), NULL = the memfd */
};

static const char *cli_path(void)
{
    const char *p = getenv("JOBQ_CLI");
    if (!p || !*p)
        JQ_FAIL_AT(__FILE__, __LINE__, "JOBQ_CLI is not set");
    return p;
}

static void env_for(struct cli_env *e, const struct jq_it_server *srv)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->url, sizeof(e->url), "JOBQ_URL=http://127.0.0.1:%u", srv ? (unsigned)srv->port : 1u);
}

static void exec_cli(const struct cli_env *e, const char *const *args, int out_fd, int err_fd)
{
    const char *argv[64], *envp[MAX_ENV + 8];
    size_t n = 0, m = 0;
    argv[n++] = cli_path();
    for (size_t i = 0; args[i] && n + 1 < 64; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    envp[m++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    envp[m++] = e->url;
    for (size_t i = 0; e->extra[i] && i < MAX_ENV; i++)
        envp[m++] = e->extra[i];
    envp[m] = NULL;
    int in = open(e->stdin_path ? e->stdin_path : "/dev/null", O_RDONLY);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (e->stderr_tty && (err_fd = open(e->stderr_tty, O_RDWR | O_NOCTTY)) < 0)
        _exit(126);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(126);
    execve(argv[0], (char **)argv, (char **)envp);
    _exit(127);
}

/* Start jobq in the background. */
static void cli_start(struct cli_run *r, const struct cli_env *e, const char *const *args)
{
    memset(r, 0, sizeof(*r));
    r->out_fd = memfd_create("cli-out", MFD_CLOEXEC);
    r->err_fd = memfd_create("cli-err", MFD_CLOEXEC);
    if (r->out_fd < 0 || r->err_fd < 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "memfd_create: %s", strerror(errno));
    fflush(NULL);
    r->pid = fork();
    if (r->pid < 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (r->pid == 0)
        exec_cli(e, args, r->out_fd, r->err_fd);
}

static char *read_all(int fd, size_t *len)
{
    off_t size = lseek(fd, 0, SEEK_END);
    char *buf = malloc((size_t)size + 1);
    ASSERT_TRUE(buf != NULL);
    ssize_t n = pread(fd, buf, (size_t)size, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (len)
        *len = n > 0 ? (size_t)n : 0;
    return buf;
}

/* Wait (max_ms at most, else SIGKILL and fail) and collect the output. */
static void cli_finish(struct cli_run *r, int max_ms)
{
    int64_t deadline = jq_it_now_ms() + max_ms;
    int st = 0;
    pid_t w;
    while ((w = waitpid(r->pid, &st, WNOHANG)) == 0 && jq_it_now_ms() < deadline)
        jq_it_sleep_ms(10);
    if (w != r->pid) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        JQ_FAIL_AT(__FILE__, __LINE__, "jobq did not finish within %d ms", max_ms);
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = read_all(r->out_fd, &r->out_len);
    r->err = read_all(r->err_fd, NULL);
    close(r->out_fd);
    close(r->err_fd);
    fprintf(stderr, "   jobq exit %d, stderr: %.300s\n", r->status, r->err);
}

static void cli_cleanup(struct cli_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Run jobq to completion (20 s at most). */
static void cli(struct cli_run *r, const struct cli_env *e, const char *const *args)
{
    cli_start(r, e, args);
    cli_finish(r, 20000);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect(const struct cli_run *r, int status, const char *out, const char *err_has)
{
    if (r->status != status)
        JQ_FAIL_AT(__FILE__, __LINE__, "exit %d, want %d; stderr: %s", r->status, status, r->err);
    if (out)
        ASSERT_STREQ(r->out, out);
    if (err_has && !strstr(r->err, err_has))
        JQ_FAIL_AT(__FILE__, __LINE__, "stderr lacks \"%s\": %s", err_has, r->err);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- run ---- */

static void run_exit_codes(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    cli(&r, &e, ARGS("run", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3"));
    expect(&r, 3, "hi\n", NULL);
    ASSERT_STREQ(r.err, "oops\n");
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "true"));
    expect(&r, 0, "", NULL);
    ASSERT_STREQ(r.err, "");
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "--", "no-such-command-jobq"));
    expect(&r, 125, "", "could not start");
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

static void run_signal(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    cli(&r, &e, ARGS("run", "--", jq_it_spawner(), "--print", "before", "--signal", "9"));
    expect(&r, 128 + 9, "before\n", NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "--", "sh", "-c", "kill -TERM $$"));
    expect(&r, 128 + 15, "", NULL);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

static void run_timeout(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    int64_t t0 = jq_it_now_ms();
    cli(&r, &e, ARGS("run", "--timeout", "300ms", "--kill-grace", "100", "--", jq_it_spawner(), "--sleep-ms", "20000"));
    expect(&r, 124, "", "timed out after 300ms");
    ASSERT_TRUE(jq_it_now_ms() - t0 < 10000);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "-t", "0.4s", "--", "sleep", "20"));
    expect(&r, 124, "", "timed out");
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* Every byte value on stdout arrives unchanged; stderr stays apart. */
static void run_binary_stdout(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    cli(&r, &e, ARGS("run", "--", jq_it_spawner(), "--binary", "--eprint", "to-stderr", "--binary"));
    expect(&r, 0, NULL, NULL);
    ASSERT_EQ(r.out_len, 512);
    for (size_t i = 0; i < 512; i++)
        ASSERT_EQ((unsigned char)r.out[i], i % 256);
    ASSERT_STREQ(r.err, "to-stderr\n");
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* run shows the output while the job runs (the first line is on our
 * stdout while the server still says running), then exits with its code;
 * logs -f follows a job the same way. */
static void run_streams_live(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    cli_start(&r, &e, ARGS("run", "--", "sh", "-c", "echo first; echo e1 >&2; sleep 2; echo second; exit 4"));
    char *seen = NULL;
    for (int i = 0; i < 1000; i++) {
        free(seen);
        seen = read_all(r.out_fd, NULL);
        if (strcmp(seen, "first\n") == 0)
            break;
        jq_it_sleep_ms(10);
    }
    ASSERT_STREQ(seen, "first\n");
    free(seen);
    cJSON *job = jq_it_job(&srv, 1, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "running");
    cJSON_Delete(job);
    cli_finish(&r, 20000);
    expect(&r, 4, "first\nsecond\n", NULL);
    ASSERT_STREQ(r.err, "e1\n");
    cli_cleanup(&r);
    long long id = jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"echo a; sleep 0.5; echo b >&2; echo c\"]}");
    char ids[32];
    snprintf(ids, sizeof(ids), "%lld", id);
    cli(&r, &e, ARGS("logs", "-f", ids));
    expect(&r, 0, "a\nc\n", NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("logs", "--follow", "--stderr", ids));
    expect(&r, 0, "b\n", NULL);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

static void run_stdin(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    char path[PATH_MAX + 32];
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    snprintf(path, sizeof(path), "%s/input.txt", srv.dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("line one\nline two\n", f);
    fclose(f);
    cli(&r, &e, ARGS("run", "--stdin", path, "--", "cat"));
    expect(&r, 0, "line one\nline two\n", NULL);
    cli_cleanup(&r);
    e.stdin_path = path;
    cli(&r, &e, ARGS("run", "--stdin", "-", "--", "wc", "-l"));
    expect(&r, 0, "2\n", NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "--stdin", "/nonexistent/input", "--", "cat"));
    expect(&r, 1, "", "/nonexistent/input");
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

static void run_env(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    e.extra[0] = "JQ_PASSED=from-client";
    cli(&r, &e, ARGS("run", "--env", "FOO=bar baz", "-e", "JQ_PASSED", "--", "sh", "-c", "echo \"$FOO|$JQ_PASSED|$HOME\""));
    expect(&r, 0, "bar baz|from-client|\n", NULL);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* ---- submit, wait, get, logs ---- */

static int64_t submit(const struct cli_env *e, const char *const *args)
{
    struct cli_run r;
    cli(&r, e, args);
    expect(&r, 0, NULL, NULL);
    char *end;
    long long id = strtoll(r.out, &end, 10);
    ASSERT_TRUE(id > 0 && strcmp(end, "\n") == 0);
    cli_cleanup(&r);
    return id;
}

static void submit_wait_get_logs(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    char id_s[32];
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    int64_t id = submit(&e, ARGS("submit", "--", "sh", "-c", "echo out; echo err >&2; exit 4"));
    snprintf(id_s, sizeof(id_s), "%lld", (long long)id);
    cli(&r, &e, ARGS("wait", id_s));
    expect(&r, 4, NULL, NULL);
    ASSERT_TRUE(strstr(r.out, "failed") && strstr(r.out, "exit 4"));
    cli_cleanup(&r);
    cli(&r, &e, ARGS("get", id_s));
    expect(&r, 0, NULL, NULL);
    ASSERT_TRUE(strstr(r.out, "state      failed") && strstr(r.out, "sh -c 'echo out; echo err >&2; exit 4'"));
    cli_cleanup(&r);
    cli(&r, &e, ARGS("--json", "get", id_s));
    expect(&r, 0, NULL, NULL);
    cJSON *job = cJSON_Parse(r.out);
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 4);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "out\n");
    cJSON_Delete(job);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("logs", id_s));
    expect(&r, 0, "out\n", NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("logs", "--stderr", id_s));
    expect(&r, 0, "err\n", NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("submit", "--json", "--", "true"));
    expect(&r, 0, NULL, NULL);
    job = cJSON_Parse(r.out);
    ASSERT_EQ(jq_it_json_int(job, "id", -1), id + 1);
    cJSON_Delete(job);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* --queue, --delay and --idempotency-key reach the server: the job is
 * scheduled in its queue, and a second submit under the key gets the same
 * id; an expired job makes `wait` exit 125. */
static void submit_queue_delay_key(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    int64_t id = submit(&e, ARGS("submit", "--queue", "mail", "--delay", "1m", "--idempotency-key", "k1", "--", "true"));
    ASSERT_EQ(submit(&e, ARGS("submit", "--queue", "mail", "--delay", "1m", "--idempotency-key", "k1", "--", "true")),
              id);
    cJSON *job = jq_it_job(&srv, id, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "scheduled");
    ASSERT_STREQ(jq_it_json_str(job, "queue"), "mail");
    cJSON_Delete(job);
    cli(&r, &e, ARGS("submit", "--queue", "no/slash", "--", "true"));
    expect(&r, 2, "", "--queue");
    cli_cleanup(&r);
    /* In a paused queue, so that no worker can take it before it expires. */
    struct jq_it_resp pause;
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/queues/held/pause", NULL, 0, NULL, &pause), 0);
    ASSERT_EQ(pause.status, 200);
    jq_it_resp_cleanup(&pause);
    int64_t late = jq_it_submit(&srv, "{\"command\":[\"true\"],\"queue\":\"held\","
                                       "\"start_by\":\"2001-01-01T00:00:01Z\"}");
    char id_s[32];
    snprintf(id_s, sizeof(id_s), "%lld", (long long)late);
    cli(&r, &e, ARGS("wait", id_s));
    expect(&r, 125, NULL, "expired");
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* wait --timeout on a job that outlives it: 75, the job keeps running. */
static void wait_timeout(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    char id_s[32];
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    int64_t id = submit(&e, ARGS("submit", "--timeout", "20s", "--", "sleep", "20"));
    snprintf(id_s, sizeof(id_s), "%lld", (long long)id);
    int64_t t0 = jq_it_now_ms();
    cli(&r, &e, ARGS("wait", "--timeout", "700ms", id_s));
    int64_t took = jq_it_now_ms() - t0;
    expect(&r, 75, "", "still");
    ASSERT_TRUE(took >= 600 && took < 5000);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("cancel", id_s));
    expect(&r, 0, NULL, NULL);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* ---- ls ---- */

static void ls_table_json_all(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    for (int i = 0; i < 5; i++)
        submit(&e, i == 2 ? ARGS("submit", "--", "false") : ARGS("submit", "--", "echo", "hello world"));
    for (int64_t id = 1; id <= 5; id++)
        cJSON_Delete(jq_it_wait_job(&srv, id, 10));
    cli(&r, &e, ARGS("ls"));
    expect(&r, 0, NULL, NULL);
    ASSERT_EQ(count_lines(r.out), 6);
    ASSERT_TRUE(strncmp(r.out, "ID ", 3) == 0 && strstr(r.out, "COMMAND\n"));
    ASSERT_TRUE(strstr(r.out, "succeeded  0") && strstr(r.out, "echo 'hello world'\n"));
    ASSERT_TRUE(strstr(r.out, "\n3       failed     1 "));
    cli_cleanup(&r);
    cli(&r, &e, ARGS("ls", "--limit", "2"));
    expect(&r, 0, NULL, NULL);
    ASSERT_EQ(count_lines(r.out), 3);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("ls", "--json", "--limit", "2", "--after", "1"));
    expect(&r, 0, NULL, NULL);
    cJSON *doc = cJSON_Parse(r.out);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "jobs")), 2);
    ASSERT_EQ(jq_it_json_int(doc, "next_after", -1), 3);
    cJSON_Delete(doc);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("ls", "--all", "--limit", "2"));
    expect(&r, 0, NULL, NULL);
    ASSERT_EQ(count_lines(r.out), 6);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("ls", "--all", "--json", "-n", "2"));
    expect(&r, 0, NULL, NULL);
    doc = cJSON_Parse(r.out);
    cJSON *jobs = cJSON_GetObjectItem(doc, "jobs");
    ASSERT_EQ(cJSON_GetArraySize(jobs), 5);
    ASSERT_EQ(jq_it_json_int(cJSON_GetArrayItem(jobs, 4), "id", -1), 5);
    ASSERT_TRUE(jq_it_json_is_null(doc, "next_after"));
    cJSON_Delete(doc);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("ls", "--state", "failed"));
    expect(&r, 0, NULL, NULL);
    ASSERT_EQ(count_lines(r.out), 2);
    ASSERT_TRUE(strstr(r.out, "\n3 "));
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* ---- cancel ---- */

static void cancel_running(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    char id_s[32], mark[64];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    int64_t id = submit(&e, ARGS("submit", "--", jq_it_spawner(), "--marker", mark, "--sleep-ms", "30000"));
    snprintf(id_s, sizeof(id_s), "%lld", (long long)id);
    jq_it_wait_state(&srv, id, "running", 5);
    cli(&r, &e, ARGS("cancel", id_s));
    expect(&r, 0, NULL, NULL);
    ASSERT_TRUE(strstr(r.out, "cancelled") != NULL);
    cli_cleanup(&r);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 5000));
    cli(&r, &e, ARGS("cancel", id_s));
    expect(&r, 1, "", "409");
    cli_cleanup(&r);
    cli(&r, &e, ARGS("wait", id_s));
    expect(&r, 125, NULL, "cancelled");
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* Ctrl-C while run waits: the job is cancelled, jobq exits 130. */
static void sigint_cancels(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    char mark[64];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    cli_start(&r, &e, ARGS("run", "--", jq_it_spawner(), "--marker", mark, "--children", "1", "--sleep-ms", "30000"));
    ASSERT_GE(jq_it_proc_wait_found(mark, 2, 5000), 2);
    jq_it_sleep_ms(200);
    int64_t t0 = jq_it_now_ms();
    kill(r.pid, SIGINT);
    cli_finish(&r, 10000);
    expect(&r, 130, "", "cancelled job 1");
    ASSERT_TRUE(jq_it_now_ms() - t0 < 6000);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 5000));
    cJSON *job = jq_it_job(&srv, 1, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "cancelled");
    cJSON_Delete(job);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* On a terminal, a progress line ticks while the job runs and is erased
 * before the output; off a terminal there is none (the other cases check
 * stderr byte-exact). */
static void progress_on_terminal(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    char tty_out[4096];
    size_t got = 0;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_TRUE(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    e.stderr_tty = ptsname(master);
    cli(&r, &e, ARGS("run", "--", "sh", "-c", "sleep 2.5; echo done"));
    expect(&r, 0, "done\n", NULL);
    ASSERT_TRUE(fcntl(master, F_SETFL, O_NONBLOCK) == 0);
    for (ssize_t n; got + 1 < sizeof(tty_out) && (n = read(master, tty_out + got, sizeof(tty_out) - 1 - got)) > 0;)
        got += (size_t)n;
    tty_out[got] = '\0';
    fprintf(stderr, "   tty: %s\n", tty_out);
    ASSERT_TRUE(strstr(tty_out, "\rwaiting for job 1 (1s)") != NULL); /* run streams: no state to show */
    ASSERT_TRUE(strstr(tty_out, "(2s)") != NULL);
    ASSERT_TRUE(got >= 4 && strcmp(tty_out + got - 4, "\r\033[K") == 0); /* erased at the end */
    close(master);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* ---- errors ---- */

static uint16_t unused_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd); /* nobody listens there now */
    return ntohs(a.sin_port);
}

static void server_down(void)
{
    struct cli_env e;
    struct cli_run r;
    char url[64], flag_url[64];
    env_for(&e, NULL);
    uint16_t port = unused_port();
    snprintf(e.url, sizeof(e.url), "JOBQ_URL=http://127.0.0.1:%u", (unsigned)port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)port);
    cli(&r, &e, ARGS("run", "--", "true"));
    expect(&r, 69, "", url);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("ls"));
    expect(&r, 69, "", url);
    cli_cleanup(&r);
    snprintf(flag_url, sizeof(flag_url), "http://127.0.0.1:%u/", (unsigned)unused_port());
    cli(&r, &e, ARGS("--url", flag_url, "get", "1"));
    flag_url[strlen(flag_url) - 1] = '\0'; /* shown without the trailing slash */
    expect(&r, 69, "", flag_url);
    cli_cleanup(&r);
}

static void token_required(void)
{
    static const char *const env[] = {"JOBQ_TOKEN=" TOKEN, NULL};
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    char path[PATH_MAX + 32], file_env[PATH_MAX + 64];
    jq_it_start(&srv, NULL, env);
    env_for(&e, &srv);
    cli(&r, &e, ARGS("ls"));
    expect(&r, 77, "", "requires a token");
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "--", "true"));
    expect(&r, 77, "", "JOBQ_TOKEN");
    cli_cleanup(&r);
    e.extra[0] = "JOBQ_TOKEN=wrong-token-wrong-token";
    cli(&r, &e, ARGS("ls"));
    expect(&r, 77, "", "refused the token");
    cli_cleanup(&r);
    e.extra[0] = "JOBQ_TOKEN=" TOKEN;
    cli(&r, &e, ARGS("run", "--", "echo", "authorised"));
    expect(&r, 0, "authorised\n", NULL);
    cli_cleanup(&r);
    snprintf(path, sizeof(path), "%s/token", srv.dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs(TOKEN "\n", f);
    fclose(f);
    snprintf(file_env, sizeof(file_env), "JOBQ_TOKEN_FILE=%s", path);
    e.extra[0] = file_env;
    cli(&r, &e, ARGS("get", "1"));
    expect(&r, 0, NULL, NULL);
    ASSERT_TRUE(strstr(r.out, "succeeded") != NULL);
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

static void usage_errors(void)
{
    const char *const *const bad[] = {
        ARGS("frob"), ARGS("run"), ARGS("run", "--timeout", "soon", "--", "true"),
        ARGS("run", "--timeout"), ARGS("run", "--priority", "x", "--", "true"),
        ARGS("run", "--env", "=x", "--", "true"), ARGS("run", "--max-output", "12q", "--", "true"),
        ARGS("run", "--frob", "--", "true"), ARGS("get"), ARGS("get", "abc"), ARGS("get", "1", "2"),
        ARGS("wait", "--timeout", "x", "1"), ARGS("ls", "--limit", "0"), ARGS("ls", "extra"),
        ARGS("cancel", "-5"), ARGS("logs"), ARGS("--frob"),
    };
    struct cli_env e;
    struct cli_run r;
    env_for(&e, NULL);
    cli(&r, &e, (const char *const[]){NULL});
    expect(&r, 2, "", "usage: jobq");
    cli_cleanup(&r);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cli(&r, &e, bad[i]);
        expect(&r, 2, "", "usage: jobq");
        cli_cleanup(&r);
    }
    const char *const *const help[] = {
        ARGS("--help"), ARGS("run", "--help"), ARGS("submit", "-h"), ARGS("get", "--help"),
        ARGS("wait", "--help"), ARGS("ls", "--help"), ARGS("cancel", "--help"), ARGS("logs", "--help"),
    };
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) {
        cli(&r, &e, help[i]);
        expect(&r, 0, NULL, NULL);
        ASSERT_TRUE(strncmp(r.out, "usage: jobq", 11) == 0);
        cli_cleanup(&r);
    }
    cli(&r, &e, ARGS("--version"));
    expect(&r, 0, "jobq " JQ_VERSION "\n", NULL);
    cli_cleanup(&r);
}

/* 4xx answers: the server's message on one line, exit 1. */
static void server_errors(void)
{
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, NULL, NULL);
    env_for(&e, &srv);
    cli(&r, &e, ARGS("get", "999"));
    expect(&r, 1, "", "404 not_found");
    ASSERT_EQ(count_lines(r.err), 1);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "--max-output", "100m", "--", "true"));
    expect(&r, 1, "", "out_of_range");
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "--cwd", "relative/dir", "--", "true"));
    expect(&r, 1, "", "cwd");
    cli_cleanup(&r);
    jq_it_finish(&srv);
}

/* ---- TLS and back-pressure ---- */

/* A self-signed certificate for 127.0.0.1 in a fresh dir under
 * $JQ_TEST_TMP: dir, cert and key paths out. */
static void make_cert(char *dir, size_t cap, char *cert, char *key, size_t path_cap)
{
    const char *base = getenv("JQ_TEST_TMP");
    char cmd[3 * PATH_MAX];
    snprintf(dir, cap, "%s/cli-tls-XXXXXX", base && *base ? base : "/tmp");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(cert, path_cap, "%s/cert.pem", dir);
    snprintf(key, path_cap, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '%s' -out '%s' "
             "-days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    ASSERT_EQ(system(cmd), 0);
}

/* jobq over https: refused clearly without the CA (69, names --cacert);
 * works with --cacert or JOBQ_CACERT; an unreadable --cacert is usage. */
static void https_cacert(void)
{
    char dir[PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16], ca_env[PATH_MAX + 32], cmd[PATH_MAX + 16];
    make_cert(dir, sizeof dir, cert, key, sizeof cert);
    const char *const args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, args, NULL);
    env_for(&e, &srv);
    snprintf(e.url, sizeof e.url, "JOBQ_URL=https://127.0.0.1:%u", (unsigned)srv.port);
    cli(&r, &e, ARGS("run", "--", "echo", "tls"));
    expect(&r, 69, "", "does not trust");
    ASSERT_TRUE(strstr(r.err, "--cacert") != NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("--cacert", cert, "run", "--", "echo", "tls"));
    expect(&r, 0, "tls\n", NULL);
    cli_cleanup(&r);
    snprintf(ca_env, sizeof ca_env, "JOBQ_CACERT=%s", cert);
    e.extra[0] = ca_env;
    cli(&r, &e, ARGS("run", "--", "echo", "env"));
    expect(&r, 0, "env\n", NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("--cacert", "/no/such/ca.pem", "ls"));
    expect(&r, 2, "", "cannot read the CA file /no/such/ca.pem");
    cli_cleanup(&r);
    jq_it_finish(&srv);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

/* 429 says "try again later" (75), with Retry-After, distinct from a
 * refused token (77): a full queue, then too many failed authentications. */
static void throttled_429(void)
{
    static const char *const args[] = {"--workers", "1", "--max-queued", "1", NULL};
    struct jq_it_server srv;
    struct cli_env e;
    struct cli_run r;
    jq_it_start(&srv, args, NULL);
    env_for(&e, &srv);
    int64_t busy = jq_it_submit(&srv, "{\"command\":[\"sleep\",\"30\"]}");
    jq_it_wait_state(&srv, busy, "running", 10);
    cli(&r, &e, ARGS("submit", "--", "true"));
    expect(&r, 0, NULL, NULL);
    cli_cleanup(&r);
    cli(&r, &e, ARGS("run", "--", "true"));
    expect(&r, 75, "", "its queue is full, nothing was submitted (429 queue_full); retry after ");
    cli_cleanup(&r);
    jq_it_finish(&srv);

    static const char *const env[] = {"JOBQ_TOKEN=" TOKEN, NULL};
    jq_it_start(&srv, NULL, env);
    env_for(&e, &srv);
    e.extra[0] = "JOBQ_TOKEN=wrong-token-wrong-token";
    int status = 0;
    for (int i = 0; i < 20 && status != 75; i++) { /* the server allows 10 failures a minute */
        cli(&r, &e, ARGS("ls"));
        status = r.status;
        if (status == 77)
            ASSERT_TRUE(strstr(r.err, "refused the token (401)") != NULL);
        else
            expect(&r, 75, "", "too many failed authentications (429); retry after ");
        cli_cleanup(&r);
    }
    ASSERT_EQ(status, 75);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"submit_queue_delay_key", submit_queue_delay_key},
    {"run_exit_codes", run_exit_codes},   {"run_signal", run_signal},
    {"run_timeout", run_timeout},         {"run_binary_stdout", run_binary_stdout},
    {"run_streams_live", run_streams_live},
    {"run_stdin", run_stdin},             {"run_env", run_env},
    {"submit_wait_get_logs", submit_wait_get_logs}, {"wait_timeout", wait_timeout},
    {"ls_table_json_all", ls_table_json_all}, {"cancel_running", cancel_running},
    {"sigint_cancels", sigint_cancels},   {"server_down", server_down},
    {"token_required", token_required},   {"usage_errors", usage_errors},
    {"server_errors", server_errors},     {"progress_on_terminal", progress_on_terminal},
    {"https_cacert", https_cacert},       {"throttled_429", throttled_429},
};

JQ_TEST_MAIN(cases)
