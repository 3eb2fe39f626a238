/* test_disk_full.c: fault test 6 — the database's file system fills up.
 * The test process moves into its own mount namespace (unshare, mounts
 * made private, so nothing is seen outside it), mounts a 4 MiB tmpfs and
 * starts jobqd with its database there. A filler file takes every free
 * byte: submissions get 503 storage_full (or 507), never a 201; finished
 * jobs stay readable. The filler goes: submissions succeed again, without
 * a restart. A job that finishes while the disk is full keeps its result
 * in the master: it is `running` (never lost, never failed) until the
 * filler goes, then ends `succeeded` with its whole output, again without
 * a restart. Needs root (CAP_SYS_ADMIN); skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault_util.h"

#define STDIN_BYTES (256 * 1024) /* each job carries this much: it needs new pages */

static void make_tmpfs(char *dir, size_t cap)
{
    const char *base = getenv("JQ_TEST_TMP");
    if (geteuid() != 0)
        jq_ft_skip("needs root for a private tmpfs mount");
    if (unshare(CLONE_NEWNS) != 0)
        jq_ft_skip("unshare(CLONE_NEWNS) failed");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        jq_ft_skip("cannot make the mounts private");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(dir, cap, "%s/diskfull-XXXXXX", base);
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0700") != 0) {
        rmdir(dir);
        jq_ft_skip("cannot mount a tmpfs");
    }
}

/* Writes until ENOSPC. Returns the bytes written. */
static long long fill(const char *path)
{
    static char buf[64 * 1024];
    long long total = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_TRUE(fd >= 0);
    memset(buf, 'f', sizeof(buf));
    for (size_t chunk = sizeof(buf); chunk >= 512; chunk /= 2)
        for (;;) {
            ssize_t n = write(fd, buf, chunk);
            if (n <= 0)
                break;
            total += n;
        }
    ASSERT_EQ(errno, ENOSPC);
    close(fd);
    return total;
}

static char *big_job(void)
{
    char *body = malloc(STDIN_BYTES + 256);
    ASSERT_TRUE(body != NULL);
    int n = sprintf(body, "{\"command\":[\"wc\",\"-c\"],\"stdin\":\"");
    memset(body + n, 'a', STDIN_BYTES);
    strcpy(body + n + STDIN_BYTES, "\"}");
    return body;
}

static void remove_tmpfs(const char *dir)
{
    ASSERT_EQ(umount(dir), 0);
    ASSERT_EQ(rmdir(dir), 0);
}

/* A jobqd with one worker and its database on a fresh small tmpfs (dir);
 * filler is where fill() will write. */
static void start_on_tmpfs(struct jq_it_server *srv, char *dir, char *filler)
{
    char db[PATH_MAX + 16];
    make_tmpfs(dir, PATH_MAX);
    snprintf(db, sizeof(db), "%s/jobq.db", dir);
    snprintf(filler, PATH_MAX + 16, "%s/filler", dir);
    const char *args[] = {"--workers", "1", "--db", db, NULL};
    jq_it_start(srv, args, NULL);
}

static void disk_full(void)
{
    char dir[PATH_MAX], filler[PATH_MAX + 16];
    struct jq_it_server srv;
    start_on_tmpfs(&srv, dir, filler);
    char *body = big_job();
    int64_t before = jq_it_submit(&srv, body);
    cJSON *job = jq_it_wait_job(&srv, before, 10);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "262144\n");
    cJSON_Delete(job);

    long long filled = fill(filler);
    int refused = 0;
    for (int i = 0; i < 5; i++) {
        long status = 0;
        ASSERT_EQ(jq_ft_try_submit(&srv, body, &status), 0);
        ASSERT_TRUE(status == 503 || status == 507);
        refused++;
    }
    job = jq_it_job(&srv, before, 0); /* still readable */
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    cJSON_Delete(job);
    ASSERT_EQ(unlink(filler), 0);
    int64_t after = jq_ft_try_submit(&srv, body, NULL);
    ASSERT_TRUE(after > 0); /* recovered without a restart */
    job = jq_it_wait_job(&srv, after, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    cJSON_Delete(job);
    printf("disk_full: filler %lld bytes, %d submissions refused, accepted again after the filler went\n", filled,
           refused);
    jq_it_finish(&srv);
    free(body);
    remove_tmpfs(dir);
}

/* Whether GET /metrics holds line (with its newlines). */
static bool metrics_say(const struct jq_it_server *srv, const char *line)
{
    struct jq_it_resp r;
    jq_it_get(srv, "/metrics", &r);
    bool found = r.status == 200 && r.body && strstr(r.body, line) != NULL;
    jq_it_resp_cleanup(&r);
    return found;
}

#define RESULT_BYTES 600000 /* the finishing job's output: pages the full disk cannot give */

/* The job is started, the disk fills, the job finishes: its completion
 * fails and is kept; it stays running while the disk is full and succeeds
 * once the filler goes. */
static void result_kept_until_space(void)
{
    char dir[PATH_MAX], filler[PATH_MAX + 16], json[256];
    struct jq_it_server srv;
    start_on_tmpfs(&srv, dir, filler);
    snprintf(json, sizeof(json), "{\"command\":[\"sh\",\"-c\",\"sleep 1; head -c %d /dev/zero | tr '\\\\0' x\"]}",
             RESULT_BYTES);
    int64_t id = jq_it_submit(&srv, json);
    fill(filler);
    usleep(2500 * 1000); /* the job has finished; its completion failed at least once */
    cJSON *job = jq_it_job(&srv, id, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "running");
    cJSON_Delete(job);
    ASSERT_TRUE(metrics_say(&srv, "\njobq_results_unrecorded 1\n"));
    ASSERT_EQ(unlink(filler), 0);
    job = jq_it_wait_job(&srv, id, 15);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    const char *out = jq_it_json_str(job, "stdout");
    ASSERT_TRUE(out && strlen(out) == RESULT_BYTES && strspn(out, "x") == RESULT_BYTES);
    ASSERT_EQ(jq_it_json_int(job, "attempt", 0), 1);
    cJSON_Delete(job);
    ASSERT_TRUE(metrics_say(&srv, "\njobq_results_unrecorded 0\n"));
    ASSERT_GE(jq_ft_log_count(&srv, "kept to be recorded again"), 1);
    jq_it_finish(&srv);
    remove_tmpfs(dir);
}

static const struct jq_test_case cases[] = {
    {"disk_full", disk_full},
    {"result_kept_until_space", result_kept_until_space},
};

JQ_TEST_MAIN(cases)
