/* fault_util.c: helpers shared by the fault tests (see fault_util.h). */
#include "fault_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

void jq_ft_skip(const char *why)
{
    printf("SKIPPED: %s\n", why);
    fflush(stdout);
    exit(JQ_FT_SKIP);
}

void jq_ft_need_fault_points(void)
{
#ifndef JQ_FAULT_POINTS
    jq_ft_skip("jobqd was built without -DJQ_FAULT_POINTS=ON");
#endif
}

int64_t jq_ft_try_submit(const struct jq_it_server *srv, const char *json, long *status)
{
    struct jq_it_resp r;
    int64_t id = 0;
    int rc = jq_it_request(srv, "POST", "/v1/jobs", json, SIZE_MAX, NULL, &r);
    if (status)
        *status = rc == 0 ? r.status : 0;
    if (rc == 0 && r.status == 201 && r.json)
        id = jq_it_json_int(r.json, "id", 0);
    jq_it_resp_cleanup(&r);
    return id;
}

cJSON *jq_ft_get_job(const struct jq_it_server *srv, int64_t id, double wait_s)
{
    char path[96];
    struct jq_it_resp r;
    if (wait_s > 0)
        snprintf(path, sizeof(path), "/v1/jobs/%lld?wait=%.1f", (long long)id, wait_s);
    else
        snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    if (jq_it_request(srv, "GET", path, NULL, 0, NULL, &r) != 0 || r.status != 200 || !r.json) {
        jq_it_resp_cleanup(&r);
        return NULL;
    }
    cJSON *job = r.json;
    r.json = NULL;
    jq_it_resp_cleanup(&r);
    return job;
}

cJSON *jq_ft_wait_terminal(const struct jq_it_server *srv, int64_t id, double max_s)
{
    int64_t end = jq_it_now_ms() + (int64_t)(max_s * 1000);
    for (;;) {
        cJSON *job = jq_ft_get_job(srv, id, 2);
        if (!job)
            return NULL;
        const char *st = jq_it_json_str(job, "state");
        if (st && jq_it_state_terminal(st))
            return job;
        if (jq_it_now_ms() >= end)
            JQ_FAIL_AT(__FILE__, __LINE__, "job %lld still %s after %.0f s", (long long)id, st ? st : "?", max_s);
        cJSON_Delete(job);
    }
}

size_t jq_ft_list_ids(const struct jq_it_server *srv, const char *state, int64_t *out, size_t max)
{
    size_t n = 0;
    long long after = 0;
    for (;;) {
        char path[128];
        struct jq_it_resp r;
        snprintf(path, sizeof(path), "/v1/jobs?limit=1000&after=%lld%s%s", after, state ? "&state=" : "",
                 state ? state : "");
        jq_it_get(srv, path, &r);
        ASSERT_EQ(r.status, 200);
        const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(r.json, "jobs");
        ASSERT_TRUE(cJSON_IsArray(jobs));
        const cJSON *j;
        cJSON_ArrayForEach(j, jobs)
        {
            if (n < max)
                out[n] = jq_it_json_int(j, "id", 0);
            n++;
        }
        after = jq_it_json_int(r.json, "next_after", 0);
        jq_it_resp_cleanup(&r);
        if (after <= 0)
            return n;
    }
}

void jq_ft_wait_drained(const struct jq_it_server *srv, int timeout_ms)
{
    int64_t ids[1];
    for (int64_t end = jq_it_now_ms() + timeout_ms;; jq_it_sleep_ms(50)) {
        if (jq_ft_list_ids(srv, "queued", ids, 1) == 0 && jq_ft_list_ids(srv, "running", ids, 1) == 0)
            return;
        if (jq_it_now_ms() >= end)
            JQ_FAIL_AT(__FILE__, __LINE__, "jobs still queued or running after %d ms", timeout_ms);
    }
}

bool jq_ft_wait_ready(const struct jq_it_server *srv, int timeout_ms)
{
    for (int64_t end = jq_it_now_ms() + timeout_ms;; jq_it_sleep_ms(10)) {
        struct jq_it_resp r;
        int rc = jq_it_request(srv, "GET", "/readyz", NULL, 0, NULL, &r);
        long st = rc == 0 ? r.status : 0;
        jq_it_resp_cleanup(&r);
        if (st == 200)
            return true;
        if (jq_it_now_ms() >= end)
            return false;
    }
}

static int on_row(void *arg, int ncol, char **vals, char **names)
{
    (void)names;
    char *res = arg;
    if (ncol > 0 && vals[0] && res[0] == '\0')
        snprintf(res, 256, "%s", vals[0]);
    else if (ncol > 0 && vals[0])
        snprintf(res, 256, "%s", "more than one problem");
    return 0;
}

void jq_ft_assert_db_ok(const char *db_path)
{
    sqlite3 *db = NULL;
    char result[256] = {0}, *err = NULL;
    int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK)
        JQ_FAIL_AT(__FILE__, __LINE__, "open %s: %s", db_path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, "PRAGMA integrity_check", on_row, result, &err);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "integrity_check: %s\n", err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
    }
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK);
    ASSERT_STREQ(result, "ok");
}

long jq_ft_db_count_state(const char *db_path, int state)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1;
    ASSERT_EQ(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM jobs WHERE state = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int(st, 1, state);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

size_t jq_ft_count_lines(const char *path)
{
    FILE *f = fopen(path, "re");
    size_t n = 0;
    int c;
    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

long jq_ft_vmrss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

size_t jq_ft_worker_count(const struct jq_it_server *srv)
{
    pid_t w[300];
    return jq_it_workers(srv, w, 300);
}

size_t jq_ft_wait_workers(const struct jq_it_server *srv, size_t want, int64_t within_ms)
{
    size_t n = jq_ft_worker_count(srv);
    for (int64_t end = jq_it_now_ms() + within_ms; n != want && jq_it_now_ms() < end; jq_it_sleep_ms(20))
        n = jq_ft_worker_count(srv);
    return n;
}

size_t jq_ft_log_count(const struct jq_it_server *srv, const char *needle)
{
    FILE *f = fopen(srv->log_path, "re");
    char line[4096];
    size_t n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}
