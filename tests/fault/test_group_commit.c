/* test_group_commit.c: group commit of submissions (api/committer.c). The
 * test holds the database's write lock (its own SQLite connection, BEGIN
 * IMMEDIATE) while many POSTs arrive at once on their own connections, so
 * they must all wait for one commit:
 *  - no 201 is sent while the lock is held (each 201 follows its commit);
 *  - once it is released, every POST gets 201 with a distinct id, every job
 *    exists, and the jobs took a handful of transactions, not one each
 *    (jobq_submit_commits_total);
 *  - SIGTERM while they wait: every submission already handed over is still
 *    committed and answered 201, jobqd exits 0, and after a restart every
 *    acknowledged job is there. */
#include <curl/curl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_util.h"

#define POSTS 32
#define JOB_BODY "{\"command\":[\"true\"]}"

struct post {
    CURL *h;
    char *body;
    size_t len;
    long status;
    bool done;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct post *p = arg;
    size_t n = size * nmemb;
    char *grown = realloc(p->body, p->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + p->len, data, n);
    p->body = grown;
    p->len += n;
    p->body[p->len] = '\0';
    return n;
}

/* POSTS submissions in flight at once, each on its own connection. */
static CURLM *start_posts(const struct jq_it_server *srv, struct post *posts)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/jobs", (unsigned)srv->port);
    CURLM *m = curl_multi_init();
    ASSERT_TRUE(m != NULL);
    for (int i = 0; i < POSTS; i++) {
        struct post *p = &posts[i];
        memset(p, 0, sizeof *p);
        p->h = curl_easy_init();
        ASSERT_TRUE(p->h != NULL);
        curl_easy_setopt(p->h, CURLOPT_URL, url);
        curl_easy_setopt(p->h, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(p->h, CURLOPT_POSTFIELDS, JOB_BODY);
        curl_easy_setopt(p->h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(p->h, CURLOPT_WRITEDATA, p);
        curl_easy_setopt(p->h, CURLOPT_PRIVATE, p);
        curl_easy_setopt(p->h, CURLOPT_TIMEOUT_MS, 30000L);
        ASSERT_EQ(curl_multi_add_handle(m, p->h), CURLM_OK);
    }
    return m;
}

/* Drive the transfers for ms milliseconds or until all are done. Returns
 * how many are done. */
static int pump(CURLM *m, int ms)
{
    int64_t until = jq_it_now_ms() + ms;
    int running = 1;
    while (running > 0 && jq_it_now_ms() < until) {
        ASSERT_EQ(curl_multi_perform(m, &running), CURLM_OK);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            struct post *p = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&p);
            p->done = true;
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &p->status);
        }
        if (running > 0)
            ASSERT_EQ(curl_multi_poll(m, NULL, 0, 50, NULL), CURLM_OK);
    }
    return running;
}

static int count_done(const struct post *posts)
{
    int n = 0;
    for (int i = 0; i < POSTS; i++)
        n += posts[i].done;
    return n;
}

static void finish_posts(CURLM *m, struct post *posts)
{
    for (int i = 0; i < POSTS; i++) {
        curl_multi_remove_handle(m, posts[i].h);
        curl_easy_cleanup(posts[i].h);
        free(posts[i].body);
    }
    curl_multi_cleanup(m);
}

/* The database write-locked by a connection of the test's own. */
static sqlite3 *lock_db(const char *path)
{
    sqlite3 *db = NULL;
    ASSERT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_db(sqlite3 *db)
{
    ASSERT_EQ(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Every POST answered 201 with an id no other has; ids into out. */
static void expect_all_created(const struct post *posts, int64_t *ids)
{
    for (int i = 0; i < POSTS; i++) {
        ASSERT_TRUE(posts[i].done);
        ASSERT_EQ(posts[i].status, 201);
        cJSON *j = cJSON_Parse(posts[i].body);
        ids[i] = jq_it_json_int(j, "id", 0);
        cJSON_Delete(j);
        ASSERT_TRUE(ids[i] > 0);
        for (int k = 0; k < i; k++)
            ASSERT_NE(ids[k], ids[i]);
    }
}

static long long metric(const struct jq_it_server *srv, const char *name)
{
    struct jq_it_resp r;
    char key[96];
    jq_it_get(srv, "/metrics", &r);
    ASSERT_EQ(r.status, 200);
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr(r.body, key);
    ASSERT_TRUE(at != NULL);
    long long v = strtoll(at + strlen(key), NULL, 10);
    jq_it_resp_cleanup(&r);
    return v;
}

/* POSTS submissions sent while the test holds the database's write lock,
 * and seen waiting: none is answered before its commit. */
static CURLM *post_while_locked(const struct jq_it_server *srv, struct post *posts, sqlite3 **db)
{
    *db = lock_db(srv->db_path);
    CURLM *m = start_posts(srv, posts);
    pump(m, 700);
    ASSERT_EQ(count_done(posts), 0);
    return m;
}

static void concurrent_posts_share_commits(void)
{
    static const char *const args[] = {"--workers", "1", NULL};
    struct jq_it_server srv;
    struct post posts[POSTS];
    int64_t ids[POSTS];
    sqlite3 *db = NULL;
    jq_it_start(&srv, args, NULL);
    long long commits_before = metric(&srv, "jobq_submit_commits_total");
    CURLM *m = post_while_locked(&srv, posts, &db);
    unlock_db(db);
    ASSERT_EQ(pump(m, 20000), 0);
    expect_all_created(posts, ids);
    long long commits = metric(&srv, "jobq_submit_commits_total") - commits_before;
    fprintf(stderr, "%d submissions in %lld commits\n", POSTS, commits);
    ASSERT_TRUE(commits >= 1 && commits <= POSTS / 4);
    ASSERT_EQ(metric(&srv, "jobq_jobs_submitted_total"), POSTS);
    for (int i = 0; i < POSTS; i++)
        cJSON_Delete(jq_it_wait_job(&srv, ids[i], 20));
    finish_posts(m, posts);
    jq_it_finish(&srv);
}

static void shutdown_commits_queued(void)
{
    static const char *const args[] = {"--workers", "1", NULL};
    struct jq_it_server srv;
    struct post posts[POSTS];
    int64_t ids[POSTS];
    sqlite3 *db = NULL;
    jq_it_start(&srv, args, NULL);
    CURLM *m = post_while_locked(&srv, posts, &db);
    ASSERT_EQ(kill(srv.pid, SIGTERM), 0); /* while every submission waits */
    pump(m, 300);
    unlock_db(db);
    ASSERT_EQ(pump(m, 20000), 0);
    expect_all_created(posts, ids); /* handed over before the stop: committed */
    jq_it_stop(&srv);
    jq_it_restart(&srv);
    for (int i = 0; i < POSTS; i++) {
        cJSON *job = jq_ft_wait_terminal(&srv, ids[i], 20);
        ASSERT_TRUE(job != NULL);
        ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
        cJSON_Delete(job);
    }
    finish_posts(m, posts);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"concurrent_posts_share_commits", concurrent_posts_share_commits},
    {"shutdown_commits_queued", shutdown_commits_queued},
};

JQ_TEST_MAIN(cases)
