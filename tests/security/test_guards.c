/* test_guards.c: the API's guards against what a request asks a job to be,
 * against a real jobqd: environment names that would run other code (400),
 * commands outside the operator's allowlist (403), a full queue (429 with
 * Retry-After), NUL and control bytes in the request target (400), headers
 * trickled past the request deadline (connection closed). Whatever is
 * refused is neither stored nor run. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* The number of jobs the server holds (one page is enough here). */
static int stored_jobs(const struct jq_it_server *srv)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/v1/jobs?limit=1000", &r);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "jobs"));
    jq_it_resp_cleanup(&r);
    return n;
}

/* POST body; assert the documented error and that its message has needle. */
static void expect_refused(const struct jq_it_server *srv, const char *body, long status, const char *code,
                           const char *needle)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/jobs", body, &r);
    JQ_IT_ASSERT_ERROR(&r, status, code);
    const char *msg = jq_it_json_str(cJSON_GetObjectItemCaseSensitive(r.json, "error"), "message");
    if (!msg || !strstr(msg, needle))
        JQ_FAIL_AT(__FILE__, __LINE__, "message \"%s\" does not name \"%s\"", msg ? msg : "(none)", needle);
    jq_it_resp_cleanup(&r);
}

/* Every dangerous name is refused with its name in the message; the job
 * that sets only harmless ones gets exactly them plus PATH. */
static void env_denied(void)
{
    static const char *const names[] = {
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG", "GCONV_PATH", "GLIBC_TUNABLES",
        "MALLOC_CHECK_", "BASH_ENV", "ENV", "BASH_FUNC_x", "SHELLOPTS", "PS4", "IFS", "PYTHONPATH",
        "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS", "OPENSSL_CONF",
    };
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    char body[256], needle[64];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(body, sizeof body, "{\"command\":[\"env\"],\"env\":{\"OK\":\"1\",\"%s\":\"/tmp/x\"}}", names[i]);
        snprintf(needle, sizeof needle, "env.%s may not be set", names[i]);
        expect_refused(&srv, body, 400, "invalid_field", needle);
    }
    ASSERT_EQ(stored_jobs(&srv), 0);
    cJSON *job = jq_it_wait_job(
        &srv, jq_it_submit(&srv, "{\"command\":[\"env\"],\"env\":{\"TZ\":\"UTC\",\"TMPDIR\":\"/tmp\"}}"), 10);
    const char *out = jq_it_json_str(job, "stdout");
    ASSERT_TRUE(out != NULL);
    ASSERT_EQ(strlen(out), strlen("TZ=UTC\nTMPDIR=/tmp\nPATH=/usr/local/bin:/usr/bin:/bin\n"));
    ASSERT_TRUE(strstr(out, "TZ=UTC\n") && strstr(out, "TMPDIR=/tmp\n") &&
                strstr(out, "PATH=/usr/local/bin:/usr/bin:/bin\n"));
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* POST body; assert 429 queue_full with a Retry-After of at least 1 s. */
static void expect_queue_full(const struct jq_it_server *srv, const char *body)
{
    struct jq_it_resp r;
    jq_it_post(srv, "/v1/jobs", body, &r);
    JQ_IT_ASSERT_ERROR(&r, 429, "queue_full");
    if (atoi(r.retry_after) < 1)
        JQ_FAIL_AT(__FILE__, __LINE__, "Retry-After \"%s\"", r.retry_after);
    jq_it_resp_cleanup(&r);
}

/* --max-queued 3 with the only worker busy: three jobs wait, the next one
 * (and a batch that would not fit whole) gets 429 and is not stored; once
 * the queue drains, submissions are accepted again. */
static void queue_full_429(void)
{
    static const char *const args[] = {"--workers", "1", "--max-queued", "3", NULL};
    struct jq_it_server srv;
    jq_it_start(&srv, args, NULL);
    int64_t busy = jq_it_submit(&srv, "{\"command\":[\"sleep\",\"30\"]}");
    jq_it_wait_state(&srv, busy, "running", 10);
    jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    expect_queue_full(&srv, "{\"jobs\":[{\"command\":[\"true\"]},{\"command\":[\"true\"]}]}");
    ASSERT_EQ(stored_jobs(&srv), 3); /* the batch was refused whole */
    int64_t last = jq_it_submit(&srv, "{\"command\":[\"true\"]}");
    expect_queue_full(&srv, "{\"command\":[\"true\"]}");
    ASSERT_EQ(stored_jobs(&srv), 4);
    struct jq_it_resp r;
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%lld", (long long)busy);
    jq_it_delete(&srv, path, &r); /* the busy job: the queue drains */
    ASSERT_EQ(r.status, 200);
    jq_it_resp_cleanup(&r);
    cJSON_Delete(jq_it_wait_job(&srv, last, 20));
    cJSON_Delete(jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"]}"), 20));
    jq_it_finish(&srv);
}

/* A directory of the test's own (0755) under $JQ_TEST_TMP, for the
 * allowlist's files; removed by rm_tree. */
static void make_dir(char *dir, size_t cap)
{
    const char *base = getenv("JQ_TEST_TMP");
    snprintf(dir, cap, "%s/guards-XXXXXX", base && *base ? base : "/tmp");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_EQ(chmod(dir, 0755), 0);
}

static void rm_tree(const char *dir)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs(text, f);
    fclose(f);
    ASSERT_EQ(chmod(path, mode), 0);
}

/* POST a job running argv0 (a JSON string's contents); expect 403 naming
 * why_has. */
static void expect_forbidden(const struct jq_it_server *srv, const char *argv0, const char *why_has)
{
    char body[PATH_MAX + 64];
    snprintf(body, sizeof body, "{\"command\":[\"%s\",\"x\"]}", argv0);
    expect_refused(srv, body, 403, "command_not_allowed", why_has);
}

static void expect_runs(const struct jq_it_server *srv, const char *argv0)
{
    char body[PATH_MAX + 64];
    snprintf(body, sizeof body, "{\"command\":[\"%s\",\"ok\"]}", argv0);
    cJSON *job = jq_it_wait_job(srv, jq_it_submit(srv, body), 10);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "ok\n");
    cJSON_Delete(job);
}

/* echo allowed by flag, true by file: bare names, the same program by
 * other paths and through a link in a trusted directory run; everything
 * else is 403 with the reason and nothing is stored. */
static void allowlist_enforced(void)
{
    char dir[PATH_MAX], file[PATH_MAX + 32], p[PATH_MAX + 32];
    make_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/allowed", dir);
    write_file(file, "# programs jobs may run\n\n  /usr/bin/true  \n", 0644);
    const char *args[] = {"--allow-command", "/bin/echo", "--allowlist-file", file, NULL};
    struct jq_it_server srv;
    jq_it_start(&srv, args, NULL);
    expect_runs(&srv, "echo");
    expect_runs(&srv, "/bin/echo");
    expect_runs(&srv, "/usr/bin/../bin/./echo");
    snprintf(p, sizeof p, "%s/echo-link", dir);
    ASSERT_EQ(symlink("/usr/bin/echo", p), 0);
    expect_runs(&srv, p); /* a link nobody else can retarget */
    cJSON_Delete(jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"]}"), 10));
    int stored = stored_jobs(&srv);

    expect_forbidden(&srv, "cat", "/usr/bin/cat is not in the command allowlist");
    expect_forbidden(&srv, "/usr/bin/../bin/cat", "is not in the command allowlist");
    expect_forbidden(&srv, "/usr/bin/echo/../cat", "/usr/bin/echo is not a directory");
    expect_forbidden(&srv, "./echo", "is a relative path");
    expect_forbidden(&srv, "bin/echo", "is a relative path");
    expect_forbidden(&srv, "no-such-program", "command not found in PATH");
    expect_forbidden(&srv, "/dev/null", "is not a regular file");
    expect_forbidden(&srv, "/usr/bin", "is not a regular file");
    snprintf(p, sizeof p, "%s/cat-link", dir);
    ASSERT_EQ(symlink("/usr/bin/cat", p), 0);
    expect_forbidden(&srv, p, "/usr/bin/cat is not in the command allowlist");
    snprintf(p, sizeof p, "%s/wide", dir);
    ASSERT_EQ(mkdir(p, 0755), 0);
    ASSERT_EQ(chmod(p, 0777), 0); /* not sticky: anyone may swap the link */
    snprintf(p, sizeof p, "%s/wide/echo-link", dir);
    ASSERT_EQ(symlink("/usr/bin/echo", p), 0);
    expect_forbidden(&srv, p, "is writable by group or others");
    if (geteuid() == 0) { /* like /tmp: a link another user made there is theirs to swap */
        snprintf(p, sizeof p, "%s/open", dir);
        ASSERT_EQ(mkdir(p, 0755), 0);
        ASSERT_EQ(chmod(p, 01777), 0);
        snprintf(p, sizeof p, "%s/open/echo-link", dir);
        ASSERT_EQ(symlink("/usr/bin/echo", p), 0);
        ASSERT_EQ(lchown(p, 12345, 12345), 0);
        expect_forbidden(&srv, p, "echo-link is owned by uid 12345");
    }
    snprintf(p, sizeof p, "%s/echo-copy", dir);
    write_file(p, "#!/bin/sh\necho owned\n", 0777);
    expect_forbidden(&srv, p, "is writable by group or others");
    expect_refused(&srv, "{\"jobs\":[{\"command\":[\"echo\"]},{\"command\":[\"sh\",\"-c\",\"echo x\"]}]}", 403,
                   "command_not_allowed", "jobs[1].command[0] \"sh\" may not run on this server");
    ASSERT_EQ(stored_jobs(&srv), stored); /* nothing refused was stored, so nothing ran */
    jq_it_finish(&srv);
    rm_tree(dir);
}

/* jobqd refuses to start (exit 2, a message naming the entry) on an
 * allowlist entry that is relative, missing, or that others could change. */
static void allowlist_checked_at_start(void)
{
    char dir[PATH_MAX], bad[PATH_MAX + 32], file[PATH_MAX + 32], err[4096];
    make_dir(dir, sizeof dir);
    snprintf(bad, sizeof bad, "%s/writable", dir);
    write_file(bad, "#!/bin/sh\n", 0775);
    snprintf(file, sizeof file, "%s/list", dir);
    write_file(file, "/usr/bin/true\n", 0666);
    static const struct {
        const char *flag, *value, *msg;
    } cases[] = {
        {"--allow-command", "echo", "takes absolute paths, not \"echo\""},
        {"--allow-command", "/no/such/program", "refusing to allow /no/such/program"},
        {"--allow-command", "/etc/passwd", "is not executable"},
        {"--allow-command", NULL, "is writable by group or others"},
        {"--allowlist-file", NULL, "refusing the allowlist file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *value = cases[i].value ? cases[i].value : i == 3 ? bad : file;
        const char *args[] = {"--listen", "127.0.0.1:0", cases[i].flag, value, NULL};
        ASSERT_EQ(jq_it_run_jobqd(args, NULL, 0, err, sizeof err), 2);
        if (!strstr(err, cases[i].msg))
            JQ_FAIL_AT(__FILE__, __LINE__, "%s %s: \"%s\" lacks \"%s\"", cases[i].flag, value, err, cases[i].msg);
    }
    if (geteuid() == 0) { /* only root can give a file away */
        ASSERT_EQ(chmod(bad, 0755), 0);
        ASSERT_EQ(chown(bad, 12345, 12345), 0);
        const char *args[] = {"--listen", "127.0.0.1:0", "--allow-command", bad, NULL};
        ASSERT_EQ(jq_it_run_jobqd(args, NULL, 0, err, sizeof err), 2);
        ASSERT_TRUE(strstr(err, "is owned by uid 12345") != NULL);
    }
    rm_tree(dir);
}

/* Raw NUL and other control bytes anywhere in the request target: 400
 * before routing (a NUL used to cut the path short: "/healthz\0x" was
 * served as /healthz); the same targets without them still work. */
static void ctl_in_target_400(void)
{
    static const struct {
        const char *raw;
        size_t len;
        int status;
    } shapes[] = {
#define SHAPE(s, status) {s, sizeof(s) - 1, status}
        SHAPE("GET /healthz\0 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("GET /healthz\0x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("GET /hea\0lthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("GET /v1/jobs?limit=1\0x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("POST /v1/jobs\0/x HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"command\":[\"true\"]}", 400),
        SHAPE("GET /healthz\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("GET /health\tz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("GET /v1/jobs\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("GET /v1/jobs?state=\x1bqueued HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        SHAPE("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200),
        SHAPE("GET /v1/jobs?limit=%31 HTTP/1.1\r\nHost: x\r\n\r\n", 200),
#undef SHAPE
    };
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int got = jq_it_raw_status(&srv, shapes[i].raw, shapes[i].len);
        if (got != shapes[i].status)
            JQ_FAIL_AT(__FILE__, __LINE__, "shape %zu: got %d, want %d", i, got, shapes[i].status);
    }
    ASSERT_EQ(stored_jobs(&srv), 0);
    jq_it_finish(&srv);
}

/* True once the server has closed fd (end of file or reset). */
static bool peer_closed(int fd, int wait_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char buf[256];
    if (poll(&p, 1, wait_ms) <= 0)
        return false;
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* --http-request-deadline-s 2: a client sending one header byte a second
 * (never idle, so the idle timeout never fires) is cut once its headers
 * are 2 s late; a long-poll of 4 s, past the headers, is not. */
static void header_deadline_cuts_trickle(void)
{
    static const char *const args[] = {"--http-request-deadline-s", "2", "--workers", "1", NULL};
    struct jq_it_server srv;
    jq_it_start(&srv, args, NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
    const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    ASSERT_EQ(send(fd, head, sizeof head - 1, MSG_NOSIGNAL), (long)(sizeof head - 1));
    int64_t start = jq_it_now_ms();
    bool closed = false;
    for (int i = 0; i < 8 && !closed; i++) { /* at most 8 bytes, 8 s */
        closed = peer_closed(fd, 1000) || send(fd, "a", 1, MSG_NOSIGNAL) != 1;
    }
    int64_t took = jq_it_now_ms() - start;
    close(fd);
    if (!closed || took < 1500)
        JQ_FAIL_AT(__FILE__, __LINE__, "trickling client %s after %lld ms", closed ? "cut" : "still open",
                   (long long)took);
    int64_t id = jq_it_submit(&srv, "{\"command\":[\"sleep\",\"30\"]}");
    cJSON *job = jq_it_job(&srv, id, 4); /* asserts 200 */
    ASSERT_STREQ(jq_it_json_str(job, "state"), "running");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"env_denied", env_denied},
    {"queue_full_429", queue_full_429},
    {"allowlist_enforced", allowlist_enforced},
    {"allowlist_checked_at_start", allowlist_checked_at_start},
    {"ctl_in_target_400", ctl_in_target_400},
    {"header_deadline_cuts_trickle", header_deadline_cuts_trickle},
};

JQ_TEST_MAIN(cases)
