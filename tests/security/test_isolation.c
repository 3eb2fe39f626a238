/* test_isolation.c: who a job is and what it can reach — it runs as nobody
 * with no supplementary groups and no_new_privs (a set-user-ID root binary
 * gains nothing), cannot read the database, the token file, the master's
 * environment or a worker's memory, holds only fds 0/1/2, has no network
 * when it asks for none; with --run-as-range two jobs running at once are
 * two users who cannot signal or reach each other; jobqd refuses root
 * jobs, user switches it cannot make and bad ranges. Needs root (skips
 * otherwise). */
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iso_util.h"

#define NOBODY 65534

static const char *stdout_of(const cJSON *job)
{
    const char *out = jq_it_json_str(job, "stdout");
    return out ? out : "";
}

/* Run path as nobody without no_new_privs (the control of the set-user-ID
 * check): returns its stdout in buf. */
static void run_as_nobody(const char *path, char *buf, size_t cap)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(126);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    ssize_t n = read(p[0], buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
}

static void privilege_drop(void)
{
    iso_require_root();
    struct iso_pub pub;
    char suid[PATH_MAX], control[3 * PATH_MAX + 64], job_json[PATH_MAX + 512];
    iso_pub_make(&pub);
    iso_pub_path(&pub, "suid-id", suid, sizeof(suid));
    snprintf(control, sizeof(control), "cp /usr/bin/id '%s' && chown 0:0 '%s' && chmod 4755 '%s'", suid, suid, suid);
    ASSERT_EQ(system(control), 0);
    run_as_nobody(suid, control, sizeof(control));
    bool suid_works = strstr(control, "euid=0") != NULL;
    if (!suid_works)
        printf("note: a set-user-ID binary does not raise privileges here even without no_new_privs (%s)\n",
               control);
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", NULL};
    jq_it_start(&srv, args, NULL);
    snprintf(job_json, sizeof(job_json),
             "{\"command\":[\"sh\",\"-c\",\"id -u; id -g; id -G; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; "
             "%s\"]}", suid);
    cJSON *job = iso_run(&srv, job_json, NULL);
    const char *out = stdout_of(job);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    if (strncmp(out, "65534\n65534\n65534\n", 18) != 0 || !strstr(out, "NoNewPrivs:\t1") ||
        !strstr(out, "CapEff:\t0000000000000000") || strstr(out, "euid=0") || !strstr(out, "uid=65534"))
        JQ_FAIL_AT(__FILE__, __LINE__, "job output:\n%s", out);
    cJSON_Delete(job);
    jq_it_finish(&srv);
    iso_pub_remove(&pub);
}

/* A job that tries to read each path; every attempt must be refused. */
static void assert_unreadable(const struct jq_it_server *srv, const char *const *paths, size_t n)
{
    char cmd[4096] = "", *p = cmd;
    for (size_t i = 0; i < n; i++)
        p += snprintf(p, sizeof(cmd) - (size_t)(p - cmd), "cat %s > /dev/null && echo READ:%s; ", paths[i], paths[i]);
    char json[5000];
    snprintf(json, sizeof(json), "{\"command\":[\"sh\",\"-c\",\"%s true\"]}", cmd);
    cJSON *job = iso_run(srv, json, ISO_AUTH);
    const char *err = jq_it_json_str(job, "stderr");
    if (strstr(stdout_of(job), "READ:"))
        JQ_FAIL_AT(__FILE__, __LINE__, "a job read a secret:\n%s", stdout_of(job));
    for (size_t i = 0; i < n; i++) {
        char want[PATH_MAX + 32];
        snprintf(want, sizeof(want), "%s: Permission denied", paths[i]);
        if (!err || !strstr(err, want))
            JQ_FAIL_AT(__FILE__, __LINE__, "no EACCES for %s in:\n%s", paths[i], err ? err : "");
    }
    cJSON_Delete(job);
}

static void secrets_unreadable(void)
{
    iso_require_root();
    struct iso_pub pub;
    char db[PATH_MAX], dbdir[PATH_MAX], token[PATH_MAX], environ_path[64], mem_path[64];
    iso_pub_make(&pub);
    iso_pub_path(&pub, "data/jobq.db", db, sizeof(db));
    iso_pub_path(&pub, "data", dbdir, sizeof(dbdir));
    iso_pub_path(&pub, "token", token, sizeof(token));
    iso_write_file(token, ISO_TOKEN "\n", 0600, 0, 0);
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", "--db", db, "--token-file", token, NULL};
    jq_it_start(&srv, args, NULL);
    pid_t workers[4];
    ASSERT_TRUE(jq_it_workers(&srv, workers, 4) >= 1);
    snprintf(environ_path, sizeof(environ_path), "/proc/%d/environ", (int)srv.pid);
    snprintf(mem_path, sizeof(mem_path), "/proc/%d/mem", (int)workers[0]);
    struct stat st;
    ASSERT_EQ(stat(dbdir, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0700);
    ASSERT_EQ(stat(db, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    const char *paths[] = {db, dbdir, token, environ_path, mem_path};
    assert_unreadable(&srv, paths, 5);
    jq_it_finish(&srv);
    iso_pub_remove(&pub);
}

static void root_jobs_refused(void)
{
    iso_require_root();
    char err[2048];
    const char *as_root[] = {"--run-as", "root", "--db", "/nonexistent/x.db", NULL};
    ASSERT_EQ(jq_it_run_jobqd(as_root, NULL, 0, err, sizeof(err)), 2);
    ASSERT_TRUE(strstr(err, "refusing to run jobs as root") != NULL);
    const char *group_root[] = {"--run-as", "nobody:root", NULL};
    ASSERT_EQ(jq_it_run_jobqd(group_root, NULL, 0, err, sizeof(err)), 2);
    const char *unknown[] = {"--run-as", "no-such-user-here", NULL};
    ASSERT_EQ(jq_it_run_jobqd(unknown, NULL, 0, err, sizeof(err)), 2);
    ASSERT_TRUE(strstr(err, "no such user") != NULL);
    /* jobqd as nobody, asked to switch to another user: no capability. */
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(126);
        execl(getenv("JOBQD"), "jobqd", "--run-as", "daemon", "--db", "/nonexistent/x.db", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    ssize_t n = read(p[0], err, sizeof(err) - 1);
    err[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 2);
    if (!strstr(err, "CAP_SETUID"))
        JQ_FAIL_AT(__FILE__, __LINE__, "message: %s", err);
}

static void only_std_fds(void)
{
    iso_require_root();
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", NULL};
    jq_it_start(&srv, args, NULL);
    char json[PATH_MAX + 64];
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--list-fds\"]}", jq_it_spawner());
    cJSON *job = iso_run(&srv, json, NULL);
    ASSERT_STREQ(stdout_of(job), "0\n1\n2\n");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

/* A TCP listener on 127.0.0.1 (any port); returns the fd, port in *port. */
static int listen_local(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ASSERT_EQ(listen(fd, 8), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static cJSON *connect_job(const struct jq_it_server *srv, int port_a, int port_b, const char *network)
{
    char json[PATH_MAX + 256];
    snprintf(json, sizeof(json),
             "{\"command\":[\"%s\",\"--connect\",\"127.0.0.1:%d\",\"--connect\",\"127.0.0.1:%d\"]%s}",
             jq_it_spawner(), port_a, port_b, network);
    return iso_run(srv, json, NULL);
}

static void no_network(void)
{
    iso_require_root();
    int port = 0, fd = listen_local(&port);
    struct jq_it_server srv;
    const char *args[] = {"--run-as", "nobody", NULL};
    jq_it_start(&srv, args, NULL);
    cJSON *open_job = connect_job(&srv, srv.port, port, "");
    ASSERT_STREQ(stdout_of(open_job), "connected\nconnected\n"); /* the control: the network is there */
    cJSON *closed = connect_job(&srv, srv.port, port, ",\"network\":false");
    const char *out = stdout_of(closed);
    if (strstr(out, "connected") || !strstr(out, "connect failed"))
        JQ_FAIL_AT(__FILE__, __LINE__, "a job without network connected:\n%s", out);
    ASSERT_TRUE(jq_it_json_is_true(closed, "network") == false);
    cJSON_Delete(open_job);
    cJSON_Delete(closed);
    jq_it_finish(&srv);
    /* --no-job-network: the default, and no job may ask for more. */
    const char *deny[] = {"--run-as", "nobody", "--no-job-network", NULL};
    jq_it_start(&srv, deny, NULL);
    cJSON *job = connect_job(&srv, srv.port, port, "");
    ASSERT_TRUE(strstr(stdout_of(job), "connected") == NULL);
    cJSON_Delete(job);
    struct jq_it_resp r;
    jq_it_post(&srv, "/v1/jobs", "{\"command\":[\"true\"],\"network\":true}", &r);
    JQ_IT_ASSERT_ERROR(&r, 422, "out_of_range");
    jq_it_resp_cleanup(&r);
    jq_it_finish(&srv);
    close(fd);
}

/* jobqd as nobody with CAP_SETUID etc. as ambient capabilities (setpriv),
 * as a systemd unit with DynamicUser and AmbientCapabilities runs it: jobs
 * switch to daemon and keep no capability at all. */
static void capabilities_dropped(void)
{
    iso_require_root();
    if (system("setpriv --help > /dev/null 2>&1") != 0) {
        printf("SKIP: setpriv (util-linux) is not installed\n");
        exit(77);
    }
    /* First a harness call: it makes this process the subreaper whose abort
     * handler kills every descendant (setpriv's credential change clears
     * the PDEATHSIG set below). */
    const char *version[] = {"--version", NULL};
    ASSERT_EQ(jq_it_run_jobqd(version, NULL, 0, NULL, 0), 0);
    struct iso_pub pub;
    char db[PATH_MAX], dir[PATH_MAX], port_file[PATH_MAX], cmd[6 * PATH_MAX];
    iso_pub_make(&pub);
    iso_pub_path(&pub, "state", dir, sizeof(dir));
    ASSERT_EQ(mkdir(dir, 0700), 0);
    ASSERT_EQ(chown(dir, NOBODY, NOBODY), 0);
    iso_pub_path(&pub, "state/jobq.db", db, sizeof(db));
    iso_pub_path(&pub, "state/port", port_file, sizeof(port_file));
    static const char caps[] = "+setuid,+setgid,+chown,+dac_override,+fowner,+kill";
    snprintf(cmd, sizeof(cmd),
             "exec setpriv --reuid=%d --regid=%d --clear-groups --inh-caps=%s --ambient-caps=%s %s "
             "--listen 127.0.0.1:0 --port-file %s --db %s --run-as daemon --workers 1 --work-root %s/work "
             "2> %s/jobqd.log",
             NOBODY, NOBODY, caps, caps, getenv("JOBQD"), port_file, db, dir, dir);
    struct jq_it_server srv;
    memset(&srv, 0, sizeof(srv));
    srv.pid = fork();
    if (srv.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && srv.port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        unsigned port = 0;
        if (f && fscanf(f, "%u", &port) == 1)
            srv.port = (uint16_t)port;
        if (f)
            fclose(f);
        jq_it_sleep_ms(50);
    }
    ASSERT_TRUE(srv.port != 0);
    cJSON *job = iso_run(&srv, "{\"command\":[\"sh\",\"-c\",\"id -u; grep -E '^Cap(Prm|Eff|Amb)' /proc/self/status\"]}",
                         NULL);
    ASSERT_STREQ(stdout_of(job), "1\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
                                 "CapAmb:\t0000000000000000\n");
    cJSON_Delete(job);
    job = iso_run(&srv, "{\"command\":[\"true\"],\"network\":false}", NULL); /* no CAP_SYS_ADMIN */
    ASSERT_STREQ(jq_it_json_str(job, "state"), "failed");
    ASSERT_TRUE(strstr(jq_it_json_str(job, "error"), "network namespace") != NULL);
    cJSON_Delete(job);
    int status = 0;
    ASSERT_EQ(kill(srv.pid, SIGTERM), 0);
    ASSERT_EQ(waitpid(srv.pid, &status, 0), srv.pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    iso_pub_remove(&pub);
}

/* The uid in /proc/<pid>/status, or -1. */
static long uid_of(pid_t pid)
{
    char path[64], line[256];
    long uid = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Uid: %ld", &uid) == 1)
            break;
    if (f)
        fclose(f);
    return uid;
}

/* --run-as-range: the two workers' jobs run at once as two users of their
 * own, so one can neither signal the other nor reach its directory through
 * /proc (which a job of the same user can). Bad ranges stop the start. */
static void user_per_worker(void)
{
    iso_require_root();
    struct jq_it_server srv;
    char marker[64], json[PATH_MAX + 512], want[128], path[64];
    const char *args[] = {"--run-as-range", "61000-61001", "--workers", "2", NULL};
    jq_it_start(&srv, args, NULL);
    jq_it_marker(marker, sizeof(marker));
    snprintf(json, sizeof(json), "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"60000\"],"
             "\"kill_grace_ms\":0}", jq_it_spawner(), marker);
    int64_t sleeper = jq_it_submit(&srv, json);
    pid_t pid;
    ASSERT_GE(jq_it_proc_wait_found(marker, 1, 5000), 1);
    ASSERT_EQ(jq_it_proc_find(marker, &pid, 1), 1);
    long uid = uid_of(pid);
    ASSERT_TRUE(uid == 61000 || uid == 61001);
    snprintf(json, sizeof(json), "{\"command\":[\"sh\",\"-c\",\"id -u; id -g; id -G; "
             "kill -0 %d 2>/dev/null && echo signalled || echo refused; "
             "ls /proc/%d/cwd/ >/dev/null 2>&1 && echo reached || echo unreachable\"]}", (int)pid, (int)pid);
    cJSON *job = iso_run(&srv, json, NULL);
    long other = 61000 + 61001 - uid;
    snprintf(want, sizeof(want), "%ld\n%ld\n%ld\nrefused\nunreachable\n", other, other, other);
    ASSERT_STREQ(stdout_of(job), want);
    cJSON_Delete(job);
    struct jq_it_resp r;
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)sleeper);
    jq_it_delete(&srv, path, &r);
    jq_it_resp_cleanup(&r);
    job = jq_it_wait_job(&srv, sleeper, 10);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "cancelled");
    cJSON_Delete(job);
    jq_it_finish(&srv);
}

static void bad_user_ranges_refused(void)
{
    iso_require_root();
    char err[2048];
    const char *const cases[][2] = {{"0-5", "expected FIRST-LAST"}, {"9-3", "expected FIRST-LAST"},
                                    {"61000", "expected FIRST-LAST"}, {"61000-61000", "one per worker"},
                                    {"65533-65534", "existing user's or group's"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[] = {"--run-as-range", cases[i][0], "--workers", "2", "--db", "/nonexistent/x.db", NULL};
        ASSERT_EQ(jq_it_run_jobqd(args, NULL, 0, err, sizeof(err)), 2);
        ASSERT_TRUE(strstr(err, cases[i][1]) != NULL);
    }
    const char *both[] = {"--run-as-range", "61000-61001", "--run-as", "nobody", "--db", "/nonexistent/x.db", NULL};
    ASSERT_EQ(jq_it_run_jobqd(both, NULL, 0, err, sizeof(err)), 2);
    ASSERT_TRUE(strstr(err, "exclude each other") != NULL);
}

static const struct jq_test_case cases[] = {
    {"capabilities_dropped", capabilities_dropped},
    {"privilege_drop", privilege_drop},
    {"secrets_unreadable", secrets_unreadable},
    {"root_jobs_refused", root_jobs_refused},
    {"only_std_fds", only_std_fds},
    {"no_network", no_network},
    {"user_per_worker", user_per_worker},
    {"bad_user_ranges_refused", bad_user_ranges_refused},
};

JQ_TEST_MAIN(cases)
