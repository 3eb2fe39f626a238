/* test_proc_trees.c: fault tests 9 and 10 through the real jobqd (the
 * executor-level cases live in tests/unit/test_exec.c and it_jobs).
 *
 * daemon_holds_output: the job's main process exits while a daemonised
 * grandchild (setsid, double fork) keeps its stdout open: the job completes
 * at once with its output, and the daemon is killed.
 * gib_output_flat_rss: 1 GiB on stdout and 1 GiB on stderr: kept up to the
 * cap, true byte counts, and the worker's resident memory stays flat.
 * inherited_fds: jobqd started with descriptors 5..9 open and inheritable:
 * a job still sees exactly 0, 1, 2, and no worker holds a socket.
 * stdin_eof_not_socket: a job reading a stdin it was not given gets EOF at
 * once, and its stdin is a pipe, never a socket. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_util.h"

#define GIB "1073741824"

static void daemon_holds_output(void)
{
    static const char *const args[] = {"--workers", "1", NULL};
    struct jq_it_server srv;
    char mark[64], body[512];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, args, NULL);
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--double-fork\",\"--print\",\"parent-done\"]}",
             jq_it_spawner(), mark);
    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, body), 10);
    int64_t took = jq_it_now_ms() - t0;
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "parent-done\n");
    cJSON_Delete(job);
    ASSERT_TRUE(took < 2000);
    ASSERT_TRUE(jq_it_proc_wait_gone(mark, 1000));
    jq_it_finish(&srv);
}

static void gib_output_flat_rss(void)
{
    static const char *const args[] = {"--workers", "1", NULL};
    struct jq_it_server srv;
    char body[512];
    pid_t w[2];
    jq_it_start(&srv, args, NULL);
    /* warm the worker up with a small job, then measure */
    cJSON_Delete(jq_it_wait_job(&srv, jq_it_submit(&srv, "{\"command\":[\"true\"]}"), 10));
    ASSERT_EQ(jq_it_workers(&srv, w, 2), 1);
    long before = jq_ft_vmrss_kb(w[0]);
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--bytes\",\"" GIB "\",\"--ebytes\",\"" GIB "\"],\"max_output_bytes\":65536}",
             jq_it_spawner());
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, body), 50);
    long after = jq_ft_vmrss_kb(w[0]);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_EQ(jq_it_json_int(job, "stdout_bytes", 0), 1073741824LL);
    ASSERT_EQ(jq_it_json_int(job, "stderr_bytes", 0), 1073741824LL);
    ASSERT_TRUE(jq_it_json_is_true(job, "stdout_truncated"));
    ASSERT_TRUE(jq_it_json_is_true(job, "stderr_truncated"));
    ASSERT_EQ(strlen(jq_it_json_str(job, "stdout")), 65536);
    ASSERT_EQ(jq_it_json_int(job, "worker_pid", 0), w[0]);
    cJSON_Delete(job);
    printf("gib_output_flat_rss: worker VmRSS %ld kB before, %ld kB after\n", before, after);
    ASSERT_TRUE(before > 0 && after > 0);
    ASSERT_TRUE(after - before < 4096);
    jq_it_finish(&srv);
}

/* Does any descriptor of pid point at a socket? */
static bool has_socket(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    bool found = false;
    while ((e = readdir(d)) != NULL) {
        char path[320], target[256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            found = found || strncmp(target, "socket:", 7) == 0;
        }
    }
    closedir(d);
    return found;
}

static void inherited_fds(void)
{
    static const char *const args[] = {"--workers", "2", NULL};
    struct jq_it_server srv;
    char body[512];
    int sock[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sock), 0); /* no CLOEXEC: jobqd inherits them */
    for (int fd = 5; fd <= 9; fd++)
        ASSERT_EQ(dup2(fd % 2 ? sock[0] : sock[1], fd), fd);
    close(sock[0]);
    close(sock[1]);
    jq_it_start(&srv, args, NULL);
    for (int fd = 5; fd <= 9; fd++)
        close(fd);
    snprintf(body, sizeof(body), "{\"command\":[\"%s\",\"--list-fds\"]}", jq_it_spawner());
    cJSON *job = jq_it_wait_job(&srv, jq_it_submit(&srv, body), 10);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "0\n1\n2\n");
    cJSON_Delete(job);
    pid_t w[4];
    size_t nw = jq_it_workers(&srv, w, 4);
    ASSERT_EQ(nw, 2);
    for (size_t i = 0; i < nw; i++)
        ASSERT_TRUE(!has_socket(w[i])); /* neither the listener nor the inherited ones */
    jq_it_finish(&srv);
}

static void stdin_eof_not_socket(void)
{
    struct jq_it_server srv;
    jq_it_start(&srv, NULL, NULL);
    int64_t t0 = jq_it_now_ms();
    cJSON *job = jq_it_wait_job(
        &srv, jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"readlink /proc/self/fd/0; cat; echo eof\"]}"), 10);
    ASSERT_TRUE(jq_it_now_ms() - t0 < 3000);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    const char *out = jq_it_json_str(job, "stdout");
    ASSERT_TRUE(out && strncmp(out, "pipe:", 5) == 0);
    ASSERT_TRUE(strstr(out, "\neof\n") != NULL);
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"daemon_holds_output", daemon_holds_output},
    {"gib_output_flat_rss", gib_output_flat_rss},
    {"inherited_fds", inherited_fds},
    {"stdin_eof_not_socket", stdin_eof_not_socket},
};

JQ_TEST_MAIN(cases)
