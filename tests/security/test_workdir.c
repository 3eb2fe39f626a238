/* test_workdir.c: a job's private working directory (Judge0's
 * CVE-2024-28185/28189 class) — the job plants symbolic and hard links to
 * the database, a copy of /etc/passwd, a copy of the jobqd binary, a file
 * of its own user's and a directory outside, makes directories unreadable
 * and nests them deeper than the cleanup's descriptor budget; after the job
 * nothing outside changed (content, owner, mode, link count) and the
 * directory is gone; the next job of the same worker sees nothing the one
 * before left. Jobs run as nobody: needs root (skips otherwise). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iso_util.h"

#define NOBODY 65534

/* What must not change about a file outside the work directory. */
struct snapshot {
    char path[PATH_MAX];
    struct stat st;
    char content[256];
};

static void take(struct snapshot *s, const char *path)
{
    snprintf(s->path, sizeof(s->path), "%s", path);
    ASSERT_EQ(lstat(path, &s->st), 0);
    memset(s->content, 0, sizeof(s->content));
    if (S_ISDIR(s->st.st_mode))
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    ssize_t n = read(fd, s->content, sizeof(s->content) - 1);
    ASSERT_TRUE(n >= 0);
    close(fd);
}

static void assert_unchanged(const struct snapshot *before)
{
    struct snapshot now;
    take(&now, before->path);
    if (now.st.st_uid != before->st.st_uid || now.st.st_gid != before->st.st_gid ||
        now.st.st_mode != before->st.st_mode || now.st.st_nlink != before->st.st_nlink ||
        now.st.st_ino != before->st.st_ino || strcmp(now.content, before->content) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s changed: uid %u->%u mode %o->%o nlink %lu->%lu", before->path,
                   (unsigned)before->st.st_uid, (unsigned)now.st.st_uid, (unsigned)before->st.st_mode,
                   (unsigned)now.st.st_mode, (unsigned long)before->st.st_nlink, (unsigned long)now.st.st_nlink);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char cmd[2 * PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    ASSERT_EQ(system(cmd), 0);
    ASSERT_EQ(chmod(to, mode), 0);
}

/* The planting script: every link the job can make (hard links to files
 * not its own fail under protected_hardlinks: "|| true"), unreadable
 * directories, a 45-deep tree. */
static void plant_job(char *json, size_t cap, const struct iso_pub *pub, const char *db)
{
    char script[3 * PATH_MAX];
    snprintf(script, sizeof(script),
             "pwd; p=%s; "
             "ln -s %s db; ln -s $p/passwd-copy passwd; ln -s /etc/passwd etc-passwd; ln -s $p/jobqd-copy jobqd; "
             "ln -s $p/outside outdir; ln -s $p/mine.txt mine-sym; ln $p/mine.txt mine-hard; "
             "ln $p/outside/inner.txt inner-hard; ln $p/jobqd-copy jobqd-hard 2>/dev/null || true; "
             "ln $p/passwd-copy passwd-hard 2>/dev/null || true; ln -s / root; "
             "mkdir -p locked/a/b && touch locked/a/b/f && chmod 000 locked/a/b locked/a locked; "
             "d=deep; i=0; while [ $i -lt 45 ]; do d=$d/x; i=$((i+1)); done; mkdir -p $d && ln -s /etc $d/etc && "
             "chmod 000 $d; ls -l mine-hard > /dev/null && echo planted; chmod 000 .",
             pub->dir, db);
    snprintf(json, cap, "{\"command\":[\"sh\",\"-c\",\"%s\"]}", script);
}

static void links_planted(void)
{
    iso_require_root();
    struct iso_pub pub;
    char db[PATH_MAX], work[PATH_MAX], path[PATH_MAX], json[4 * PATH_MAX];
    iso_pub_make(&pub);
    iso_pub_path(&pub, "data/jobq.db", db, sizeof(db));
    iso_pub_path(&pub, "work", work, sizeof(work));
    copy_file("/etc/passwd", iso_pub_path(&pub, "passwd-copy", path, sizeof(path)), 0644);
    copy_file(getenv("JOBQD"), iso_pub_path(&pub, "jobqd-copy", path, sizeof(path)), 0755);
    iso_write_file(iso_pub_path(&pub, "mine.txt", path, sizeof(path)), "the job user's own file\n", 0640, NOBODY,
                   NOBODY);
    ASSERT_EQ(mkdir(iso_pub_path(&pub, "outside", path, sizeof(path)), 0755), 0);
    iso_write_file(iso_pub_path(&pub, "outside/inner.txt", path, sizeof(path)), "inner\n", 0600, NOBODY, NOBODY);
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", "--db", db, "--work-root", work, NULL};
    jq_it_start(&srv, args, NULL);
    const char *names[] = {"passwd-copy", "jobqd-copy", "mine.txt", "outside/inner.txt", "data/jobq.db", "outside"};
    struct snapshot before[7];
    for (size_t i = 0; i < 6; i++)
        take(&before[i], iso_pub_path(&pub, names[i], path, sizeof(path)));
    take(&before[6], "/etc/passwd");
    plant_job(json, sizeof(json), &pub, db);
    cJSON *job = iso_run(&srv, json, NULL);
    const char *out = jq_it_json_str(job, "stdout");
    if (!out || !strstr(out, "planted") || strncmp(out, work, strlen(work)) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "the job did not plant: %s\n%s", out ? out : "",
                   jq_it_json_str(job, "stderr"));
    char job_dir[PATH_MAX];
    snprintf(job_dir, sizeof(job_dir), "%.*s", (int)strcspn(out, "\n"), out);
    struct stat st;
    ASSERT_TRUE(lstat(job_dir, &st) != 0); /* removed before the result was reported */
    for (size_t i = 0; i < 7; i++)
        assert_unchanged(&before[i]);
    ASSERT_EQ(stat(work, &st), 0);
    ASSERT_EQ(st.st_mode & 07777, 0711);
    ASSERT_EQ(st.st_nlink, 2); /* nothing left in the work root */
    cJSON_Delete(job);
    jq_it_finish(&srv);
    iso_pub_remove(&pub);
}

/* A job that names a cwd runs there (as its user), and no private
 * directory is made for it. */
static void named_cwd_kept(void)
{
    iso_require_root();
    struct iso_pub pub;
    char work[PATH_MAX], private_dir[PATH_MAX], json[PATH_MAX + 128];
    iso_pub_make(&pub);
    iso_pub_path(&pub, "work", work, sizeof(work));
    ASSERT_EQ(mkdir(iso_pub_path(&pub, "private", private_dir, sizeof(private_dir)), 0700), 0);
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", "--work-root", work, NULL};
    jq_it_start(&srv, args, NULL);
    snprintf(json, sizeof(json), "{\"command\":[\"pwd\"],\"cwd\":\"%s\"}", pub.dir);
    cJSON *job = iso_run(&srv, json, NULL);
    char want[PATH_MAX + 2];
    snprintf(want, sizeof(want), "%s\n", pub.dir);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), want);
    cJSON_Delete(job);
    snprintf(json, sizeof(json), "{\"command\":[\"pwd\"],\"cwd\":\"%s\"}", private_dir);
    job = iso_run(&srv, json, NULL); /* root's 0700 directory: not nobody's to enter */
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_TRUE(strstr(jq_it_json_str(job, "error"), "Permission denied") != NULL);
    cJSON_Delete(job);
    jq_it_finish(&srv);
    iso_pub_remove(&pub);
}

/* One worker runs both jobs, so the second gets the first's directory,
 * emptied and renamed: it sees nothing the first left, under a new name,
 * still nobody's with mode 0700. */
static void next_job_sees_nothing(void)
{
    iso_require_root();
    struct iso_pub pub;
    char work[PATH_MAX], first[PATH_MAX];
    iso_pub_make(&pub);
    iso_pub_path(&pub, "work", work, sizeof(work));
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", "--work-root", work, "--workers", "1", NULL};
    jq_it_start(&srv, args, NULL);
    cJSON *job = iso_run(&srv, "{\"command\":[\"sh\",\"-c\",\"pwd; echo secret > left.txt; mkdir -p sub/deeper; "
                               "echo s > sub/deeper/f; ln -s /etc/passwd link; mkfifo pipe; chmod 000 sub\"]}", NULL);
    const char *out = jq_it_json_str(job, "stdout");
    ASSERT_TRUE(out && strncmp(out, work, strlen(work)) == 0);
    snprintf(first, sizeof(first), "%.*s", (int)strcspn(out, "\n"), out);
    cJSON_Delete(job);
    struct stat st;
    ASSERT_TRUE(lstat(first, &st) != 0); /* not under the name the first job knew */
    job = iso_run(&srv, "{\"command\":[\"sh\",\"-c\",\"pwd; ls -A; stat -c '%a %u' .\"]}", NULL);
    out = jq_it_json_str(job, "stdout");
    char want[PATH_MAX + 64];
    ASSERT_TRUE(out && strncmp(out, work, strlen(work)) == 0 && strncmp(out, first, strlen(first) + 1) != 0);
    snprintf(want, sizeof(want), "%.*s\n700 65534\n", (int)strcspn(out, "\n"), out);
    ASSERT_STREQ(out, want); /* nothing listed */
    cJSON_Delete(job);
    jq_it_finish(&srv);
    iso_pub_remove(&pub);
}

static const struct jq_test_case cases[] = {
    {"links_planted", links_planted},
    {"next_job_sees_nothing", next_job_sees_nothing},
    {"named_cwd_kept", named_cwd_kept},
};

JQ_TEST_MAIN(cases)
