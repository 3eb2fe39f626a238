/* iso_util.c: helpers of the job-isolation tests (iso_util.h). */
#include "iso_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void iso_require_root(void)
{
    if (geteuid() == 0)
        return;
    printf("SKIP: job isolation needs root (jobs switch to another user, network namespaces); "
           "this test runs as uid %lu\n", (unsigned long)geteuid());
    exit(77);
}

void iso_pub_make(struct iso_pub *p)
{
    snprintf(p->dir, sizeof(p->dir), "/tmp/jq-iso-XXXXXX");
    if (!mkdtemp(p->dir) || chmod(p->dir, 0755) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "mkdtemp/chmod %s: %s", p->dir, strerror(errno));
}

void iso_pub_remove(struct iso_pub *p)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
    ASSERT_EQ(system(cmd), 0);
}

const char *iso_pub_path(const struct iso_pub *p, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", p->dir, name);
    return buf;
}

void iso_write_file(const char *path, const char *content, mode_t mode, uid_t uid, gid_t gid)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(content);
    if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchown(fd, uid, gid) != 0 || fchmod(fd, mode) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "writing %s: %s", path, strerror(errno));
    close(fd);
}

cJSON *iso_run(const struct jq_it_server *srv, const char *job_json, const char *auth)
{
    const char *headers[] = {auth, NULL};
    struct jq_it_resp r;
    char path[64];
    ASSERT_EQ(jq_it_request(srv, "POST", "/v1/jobs", job_json, SIZE_MAX, auth ? headers : NULL, &r), 0);
    if (r.status != 201)
        JQ_FAIL_AT(__FILE__, __LINE__, "POST %s: %ld %s", job_json, r.status, r.body ? r.body : "");
    long long id = jq_it_json_int(r.json, "id", -1);
    jq_it_resp_cleanup(&r);
    snprintf(path, sizeof(path), "/v1/jobs/%lld?wait=5", id);
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ(jq_it_request(srv, "GET", path, NULL, 0, auth ? headers : NULL, &r), 0);
        ASSERT_EQ(r.status, 200);
        if (jq_it_state_terminal(jq_it_json_str(r.json, "state"))) {
            cJSON *job = r.json;
            r.json = NULL;
            jq_it_resp_cleanup(&r);
            return job;
        }
        jq_it_resp_cleanup(&r);
    }
    JQ_FAIL_AT(__FILE__, __LINE__, "job %lld did not finish within 30 s", id);
}

bool iso_healthz_within(const struct jq_it_server *srv, int max_ms)
{
    struct jq_it_resp r;
    int64_t t0 = jq_it_now_ms();
    int rc = jq_it_request(srv, "GET", "/healthz", NULL, 0, NULL, &r);
    int64_t took = jq_it_now_ms() - t0;
    bool ok = rc == 0 && r.status == 200 && took <= max_ms;
    if (!ok)
        fprintf(stderr, "/healthz: rc %d status %ld after %lld ms\n", rc, r.status, (long long)took);
    jq_it_resp_cleanup(&r);
    return ok;
}

bool iso_job_cgroups(const struct jq_it_server *srv, char *buf, size_t cap)
{
    static const char key[] = "job cgroups: ";
    char log[65536];
    FILE *f = fopen(srv->log_path, "re");
    size_t n = f ? fread(log, 1, sizeof(log) - 1, f) : 0;
    if (f)
        fclose(f);
    log[n] = '\0';
    const char *line = strstr(log, key);
    if (!line)
        return false;
    line += strlen(key);
    snprintf(buf, cap, "%.*s", (int)strcspn(line, "\n"), line);
    return true;
}

size_t iso_workers_up(const struct jq_it_server *srv, pid_t *out, size_t n)
{
    size_t seen = 0;
    for (int i = 0; i < 500 && (seen = jq_it_workers(srv, out, n)) < n; i++) /* 5 s at most */
        jq_it_sleep_ms(10);
    return seen;
}
