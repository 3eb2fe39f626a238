/* test_cgroups.c: per-job cgroups — a memory hog is killed by its own
 * cgroup's limit (limit "memory") while the service lives on; each job has
 * its own procs budget even when jobs share a user; a setsid'd,
 * double-forked daemon is inside the job's cgroup and dies with the job;
 * a worker's kept cgroup lists no process after a job and reports only
 * the limits of its current job; no cgroup is left after jobqd's exit; what a SIGKILLed
 * master left is removed at the next start; a forced backend that is
 * missing stops the start. Needs root and a writable cgroup backend (v2 or
 * v1): otherwise each case prints why and exits 77. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iso_util.h"

#define MEMORY_LIMIT_BYTES 67108864LL /* 64 MiB */
#define HOG_BYTES 536870912LL         /* 512 MiB: far past the limit, nothing to the machine */

static const char *const as_nobody[] = {"--run-as", "nobody", "--workers", "2", NULL};
static const char *const as_nobody_one_worker[] = {"--run-as", "nobody", "--workers", "1", NULL};

/* Start jobqd; skip (77) unless it uses job cgroups. Copies the jobs
 * parent directory (v1: the memory hierarchy's) into parent. */
static void start_with_args(struct jq_it_server *srv, const char *const *args, char *parent, size_t cap)
{
    char line[1024];
    iso_require_root();
    jq_it_start(srv, args, NULL);
    if (!iso_job_cgroups(srv, line, sizeof(line)) || line[0] != 'v') {
        printf("SKIP: no writable cgroup backend: %s\n", line);
        jq_it_finish(srv);
        exit(77);
    }
    const char *key = line[1] == '2' ? "jobs below " : "memory ";
    const char *dir = strstr(line, key);
    ASSERT_TRUE(dir != NULL);
    dir += strlen(key);
    snprintf(parent, cap, "%.*s", (int)strcspn(dir, ","), dir);
}

static void start_with_cgroups(struct jq_it_server *srv, char *parent, size_t cap)
{
    start_with_args(srv, as_nobody, parent, cap);
}

static bool dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether the cgroup dir lists a process. */
static bool has_procs(const char *parent, const char *name)
{
    char path[PATH_MAX + 300], c = 0;
    snprintf(path, sizeof(path), "%s/%s/cgroup.procs", parent, name);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(&c, 1, 1, f) : 0;
    if (f)
        fclose(f);
    return n == 1;
}

/* Job cgroups ("w<pid>-job...") below parent; only those that list a
 * process when busy_only. */
static size_t job_cgroups_in(const char *parent, bool busy_only)
{
    size_t n = 0;
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_type == DT_DIR && e->d_name[0] == 'w' && strstr(e->d_name, "-job") != NULL &&
             (!busy_only || has_procs(parent, e->d_name));
    if (d)
        closedir(d);
    return n;
}

static void memory_limit(void)
{
    struct jq_it_server srv;
    char parent[PATH_MAX], json[PATH_MAX + 256];
    start_with_cgroups(&srv, parent, sizeof(parent));
    pid_t before[2], after[2];
    size_t n_before = iso_workers_up(&srv, before, 2);
    ASSERT_EQ(n_before, 2);
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--alloc\",\"%lld\"],\"limits\":{\"memory_bytes\":%lld}}",
             jq_it_spawner(), HOG_BYTES, MEMORY_LIMIT_BYTES);
    cJSON *job = iso_run(&srv, json, NULL);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_STREQ(jq_it_json_str(job, "kill_reason"), "limit");
    ASSERT_STREQ(jq_it_json_str(job, "limit"), "memory");
    ASSERT_EQ(jq_it_json_int(job, "signal", 0), SIGKILL); /* the OOM killer, inside the job's cgroup */
    cJSON_Delete(job);
    /* The limit is the whole job's, not an address space: a big virtual
     * reservation that stays untouched is fine, real use under it too. */
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--alloc\",\"8388608\"],\"limits\":{\"memory_bytes\":%lld}}",
             jq_it_spawner(), MEMORY_LIMIT_BYTES);
    job = iso_run(&srv, json, NULL);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "allocated 8388608\n");
    cJSON_Delete(job);
    ASSERT_EQ(jq_it_workers(&srv, after, 2), n_before);
    for (size_t i = 0; i < n_before; i++)
        ASSERT_EQ(kill(before[i], 0), 0);
    ASSERT_TRUE(iso_healthz_within(&srv, 1000));
    jq_it_finish(&srv);
}

/* One worker, so one kept cgroup: after a job killed at its memory limit,
 * a job that fails on its own under the same limit reports no limit. */
static void limit_not_carried_over(void)
{
    struct jq_it_server srv;
    char parent[PATH_MAX], json[PATH_MAX + 256];
    start_with_args(&srv, as_nobody_one_worker, parent, sizeof(parent));
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--alloc\",\"%lld\"],\"limits\":{\"memory_bytes\":%lld}}",
             jq_it_spawner(), HOG_BYTES, MEMORY_LIMIT_BYTES);
    cJSON *job = iso_run(&srv, json, NULL);
    ASSERT_STREQ(jq_it_json_str(job, "limit"), "memory");
    cJSON_Delete(job);
    snprintf(json, sizeof(json), "{\"command\":[\"sh\",\"-c\",\"exit 3\"],\"limits\":{\"memory_bytes\":%lld}}",
             MEMORY_LIMIT_BYTES);
    job = iso_run(&srv, json, NULL);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_EQ(jq_it_json_int(job, "exit_code", -1), 3);
    ASSERT_TRUE(jq_it_json_str(job, "limit") == NULL);
    ASSERT_TRUE(jq_it_json_str(job, "kill_reason") == NULL);
    cJSON_Delete(job);
    ASSERT_EQ(job_cgroups_in(parent, false), 1); /* the one worker's, reused */
    jq_it_finish(&srv);
}

/* Two jobs of nobody at once, each forking six children under procs 10:
 * with RLIMIT_NPROC (per user) the second would be refused forks. */
static void procs_per_job(void)
{
    struct jq_it_server srv;
    char parent[PATH_MAX];
    start_with_cgroups(&srv, parent, sizeof(parent));
    int64_t a = jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"for i in 1 2 3 4 5 6; do sleep 3 & done; wait; "
                                   "echo a\"],\"limits\":{\"procs\":10}}");
    jq_it_wait_state(&srv, a, "running", 5);
    int64_t b = jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"sleep 0.3; for i in 1 2 3 4 5 6; do sleep 1 & "
                                   "done; wait; echo b\"],\"limits\":{\"procs\":10}}");
    cJSON *jb = jq_it_wait_job(&srv, b, 20), *ja = jq_it_wait_job(&srv, a, 20);
    ASSERT_STREQ(jq_it_json_str(ja, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(ja, "stdout"), "a\n");
    ASSERT_STREQ(jq_it_json_str(jb, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(jb, "stdout"), "b\n");
    const char *b_started = jq_it_json_str(jb, "started_at"), *a_finished = jq_it_json_str(ja, "finished_at");
    ASSERT_TRUE(b_started && a_finished && strcmp(b_started, a_finished) < 0); /* they overlapped (ISO 8601 times) */
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    jq_it_finish(&srv);
}

/* A daemon (fork, setsid, fork) is in the job's cgroup and dies at the
 * timeout; the job's cgroup exists while it runs and is gone after. */
static void daemon_killed_with_cgroup(void)
{
    struct jq_it_server srv;
    char parent[PATH_MAX], marker[64], json[PATH_MAX + 256];
    start_with_cgroups(&srv, parent, sizeof(parent));
    jq_it_marker(marker, sizeof(marker));
    snprintf(json, sizeof(json),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--double-fork\",\"--sleep-ms\",\"60000\"],"
             "\"timeout_ms\":1500,\"kill_grace_ms\":0}", jq_it_spawner(), marker);
    int64_t id = jq_it_submit(&srv, json);
    ASSERT_GE(jq_it_proc_wait_found(marker, 2, 5000), 2);
    ASSERT_EQ(job_cgroups_in(parent, true), 1);
    pid_t pids[8];
    size_t n = jq_it_proc_find(marker, pids, 8);
    for (size_t i = 0; i < n && i < 8; i++) {
        char path[64], cg[4096];
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pids[i]);
        FILE *f = fopen(path, "re");
        size_t len = f ? fread(cg, 1, sizeof(cg) - 1, f) : 0;
        if (f)
            fclose(f);
        cg[len] = '\0';
        if (len > 0 && !strstr(cg, "-job"))
            JQ_FAIL_AT(__FILE__, __LINE__, "process %d is not in a job cgroup:\n%s", (int)pids[i], cg);
    }
    cJSON *job = jq_it_wait_job(&srv, id, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "timed_out");
    cJSON_Delete(job);
    ASSERT_TRUE(jq_it_proc_wait_gone(marker, 3000));
    ASSERT_EQ(job_cgroups_in(parent, true), 0);
    ASSERT_TRUE(job_cgroups_in(parent, false) <= 2); /* at most one kept per worker */
    jq_it_finish(&srv);
}

/* This generation's parent exists while jobqd runs and not after. */
static void nothing_left_at_exit(void)
{
    struct jq_it_server srv;
    char parent[PATH_MAX];
    start_with_cgroups(&srv, parent, sizeof(parent));
    ASSERT_TRUE(dir_exists(parent));
    cJSON *job = iso_run(&srv, "{\"command\":[\"sh\",\"-c\",\"echo x\"]}", NULL);
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "x\n");
    cJSON_Delete(job);
    ASSERT_EQ(job_cgroups_in(parent, true), 0);
    jq_it_stop(&srv);
    ASSERT_TRUE(!dir_exists(parent));
    jq_it_finish(&srv);
}

/* kill -9 of the master leaves its cgroups; the next start removes them. */
static void leftovers_removed_at_start(void)
{
    struct jq_it_server srv;
    char parent[PATH_MAX], marker[64], json[PATH_MAX + 256];
    start_with_cgroups(&srv, parent, sizeof(parent));
    jq_it_marker(marker, sizeof(marker));
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"60000\"]}",
             jq_it_spawner(), marker);
    jq_it_submit(&srv, json);
    ASSERT_GE(jq_it_proc_wait_found(marker, 1, 5000), 1);
    ASSERT_EQ(jq_it_kill9(&srv, 5000), 0);
    ASSERT_TRUE(dir_exists(parent)); /* nobody removed it */
    jq_it_restart(&srv);
    ASSERT_TRUE(!dir_exists(parent));
    jq_it_finish(&srv);
}

/* auto chose v1, so v2 is missing: forcing it must stop the start (2). */
static void forced_backend_missing(void)
{
    struct jq_it_server srv;
    char parent[PATH_MAX], line[1024], db[PATH_MAX + 16], err[8192];
    start_with_cgroups(&srv, parent, sizeof(parent));
    ASSERT_TRUE(iso_job_cgroups(&srv, line, sizeof(line)));
    snprintf(db, sizeof(db), "%s/forced.db", srv.dir);
    const char *bad[] = {"--job-cgroups", "v3", "--db", db, NULL};
    ASSERT_EQ(jq_it_run_jobqd(bad, NULL, 0, err, sizeof(err)), 2);
    if (line[1] == '2') {
        printf("v2 is available here: the forced-v2 refusal is not exercised\n");
        jq_it_finish(&srv);
        return;
    }
    const char *args[] = {"--job-cgroups", "v2", "--run-as", "nobody", "--listen", "127.0.0.1:0", "--db", db, NULL};
    ASSERT_EQ(jq_it_run_jobqd(args, NULL, 0, err, sizeof(err)), 2);
    if (!strstr(err, "--job-cgroups v2 is not available"))
        JQ_FAIL_AT(__FILE__, __LINE__, "no reason given:\n%s", err);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"memory_limit", memory_limit},
    {"procs_per_job", procs_per_job},
    {"daemon_killed_with_cgroup", daemon_killed_with_cgroup},
    {"nothing_left_at_exit", nothing_left_at_exit},
    {"limit_not_carried_over", limit_not_carried_over},
    {"leftovers_removed_at_start", leftovers_removed_at_start},
    {"forced_backend_missing", forced_backend_missing},
};

JQ_TEST_MAIN(cases)
