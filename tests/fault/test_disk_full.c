/* test_disk_full.c: fault test 6 — the database's file system fills up.
 * The test process moves into its own mount namespace (unshare, mounts
 * made private, so nothing is seen outside it), mounts a 4 MiB tmpfs and
 * starts jobqd with its database there. A filler file takes every free
 * byte: submissions get 503 storage_full (or 507), never a 201; finished
 * jobs stay readable. The filler goes: submissions succeed again, without
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

static void disk_full(void)
{
    char dir[PATH_MAX], db[PATH_MAX + 16], filler[PATH_MAX + 16];
    make_tmpfs(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/jobq.db", dir);
    snprintf(filler, sizeof(filler), "%s/filler", dir);
    const char *args[] = {"--workers", "1", "--db", db, NULL};
    struct jq_it_server srv;
    jq_it_start(&srv, args, NULL);
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
    ASSERT_EQ(umount(dir), 0);
    ASSERT_EQ(rmdir(dir), 0);
}

static const struct jq_test_case cases[] = {
    {"disk_full", disk_full},
};

JQ_TEST_MAIN(cases)
