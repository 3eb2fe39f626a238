/* test_store.c: unit tests of storage/ against a real SQLite database in a
 * temp dir: schema and PRAGMAs, enqueue / claim / complete / get / list /
 * cancel / recover / count, the claim's query plan, the file mode, threads
 * and a deep queue; retries: the v1 -> v2 migration, attempt history, the
 * policy applied by complete and recover, retry_wait promotion, requeue. Each case makes its own temp dir and removes it, also
 * when an assert aborts the case. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "jq_limits.h"
#include "spec_v1_fixture.h"
#include "store.h"
#include "store_sqlite.h"
#include "testlib.h"

/* ---- fixture: a temp dir with the database; paths made up front so the
 * abort handler can remove them with async-signal-safe calls only. ---- */

static char tmp_dir[PATH_MAX];
static char db_path[PATH_MAX + 16];
static char wal_path[PATH_MAX + 32];
static char shm_path[PATH_MAX + 32];

static void remove_tmp(void)
{
    if (!tmp_dir[0])
        return;
    unlink(db_path);
    unlink(wal_path);
    unlink(shm_path);
    rmdir(tmp_dir);
    tmp_dir[0] = '\0';
}

static void on_abort(int sig)
{
    (void)sig;
    remove_tmp(); /* abort() then ends the process */
}

static void setup(void)
{
    const char *base = getenv("JQ_TEST_TMP");
    if (!base || !base[0])
        base = "/tmp";
    if (mkdir(base, 0700) != 0)
        ASSERT_EQ(errno, EEXIST);
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/store-XXXXXX", base);
    ASSERT_TRUE(mkdtemp(tmp_dir) != NULL);
    snprintf(db_path, sizeof(db_path), "%s/jobs.db", tmp_dir);
    snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
    snprintf(shm_path, sizeof(shm_path), "%s-shm", db_path);
    signal(SIGABRT, on_abort);
}

static struct jq_store *open_store(void)
{
    struct jq_store *st = NULL;
    ASSERT_EQ(jq_store_open_sqlite(&st, db_path), 0);
    ASSERT_TRUE(st != NULL);
    return st;
}

static struct jq_store *fresh_store(void)
{
    setup();
    return open_store();
}

static void finish(struct jq_store *st)
{
    jq_store_close(st);
    remove_tmp();
}

/* ---- a batch of simple specs: argv = {"/bin/echo", "job-<i>"} ---- */

#define TAG_BYTES 32

struct batch {
    struct jq_job_spec *specs;
    char **argv; /* 3 slots per job */
    char *tags;  /* TAG_BYTES per job */
    int64_t *ids;
    size_t n;
};

static void batch_make(struct batch *b, size_t n)
{
    b->n = n;
    b->specs = calloc(n, sizeof(*b->specs));
    b->argv = calloc(n * 3, sizeof(*b->argv));
    b->tags = calloc(n, TAG_BYTES);
    b->ids = calloc(n, sizeof(*b->ids));
    ASSERT_TRUE(b->specs && b->argv && b->tags && b->ids);
    for (size_t i = 0; i < n; i++) {
        char **argv = &b->argv[i * 3];
        snprintf(&b->tags[i * TAG_BYTES], TAG_BYTES, "job-%zu", i);
        argv[0] = "/bin/echo";
        argv[1] = &b->tags[i * TAG_BYTES];
        jq_job_spec_init(&b->specs[i]);
        b->specs[i].argv = argv;
        b->specs[i].argc = 2;
        b->specs[i].timeout_ms = 1000;
        b->specs[i].max_output_bytes = 4096;
    }
}

static void batch_free(struct batch *b)
{
    free(b->specs);
    free(b->argv);
    free(b->tags);
    free(b->ids);
}

static const char *tag_of(const struct batch *b, size_t i)
{
    return &b->tags[i * TAG_BYTES];
}

static struct jq_job get_job(struct jq_store *st, int64_t id, bool with_output)
{
    struct jq_job job;
    ASSERT_EQ(jq_store_get(st, id, with_output, &job), 0);
    ASSERT_EQ(job.id, id);
    return job;
}

static enum jq_job_state state_of(struct jq_store *st, int64_t id)
{
    enum jq_job_state state;
    ASSERT_EQ(jq_store_get_state(st, id, &state), 0);
    return state;
}

/* Claim up to max jobs, check each is running, free them, return ids. */
static size_t claim_ids(struct jq_store *st, size_t max, int64_t *ids)
{
    struct jq_job jobs[64];
    size_t n = 99;
    ASSERT_TRUE(max <= 64);
    ASSERT_EQ(jq_store_claim(st, max, jobs, &n), 0);
    ASSERT_TRUE(n <= max);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(jobs[i].state, JQ_STATE_RUNNING);
        ids[i] = jobs[i].id;
        jq_job_cleanup(&jobs[i]);
    }
    return n;
}

static void read_file_at(const char *path, off_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(pread(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

static void write_file_at(const char *path, off_t off, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(pwrite(fd, buf, len, off), (ssize_t)len);
    ASSERT_EQ(fsync(fd), 0);
    close(fd);
}

static void expect_pragma(struct jq_store *st, const char *name, const char *want)
{
    char buf[64];
    ASSERT_EQ(jq_store_sqlite_pragma(st, name, buf, sizeof(buf)), 0);
    ASSERT_STREQ(buf, want);
}

static void expect_user_version(struct jq_store *st)
{
    char want[16];
    snprintf(want, sizeof(want), "%d", JQ_STORE_SQLITE_SCHEMA_VERSION);
    expect_pragma(st, "user_version", want);
}

/* ---- schema, PRAGMAs, file ---- */

static void test_open_creates_schema(void)
{
    struct jq_store *st = fresh_store();
    expect_user_version(st);
    expect_pragma(st, "application_id", "1785684593");
    expect_pragma(st, "integrity_check", "ok");
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    for (int i = 0; i < JQ_STATE_COUNT; i++)
        ASSERT_EQ(c.by_state[i], 0);
    ASSERT_TRUE(jq_store_writable(st));
    ASSERT_EQ(jq_store_sqlite_pragma(st, "user_version; DROP TABLE jobs", (char[8]){0}, 8), JQ_EINVAL);
    finish(st);
}

static void test_wal_synchronous_full(void)
{
    struct jq_store *st = fresh_store();
    expect_pragma(st, "journal_mode", "wal");
    expect_pragma(st, "synchronous", "2");
    expect_pragma(st, "foreign_keys", "1");
    finish(st);
}

static void test_reopen_keeps_data(void)
{
    struct batch b;
    batch_make(&b, 3);
    b.specs[1].priority = 7;
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), 0);
    int64_t claimed;
    ASSERT_EQ(claim_ids(st, 1, &claimed), 1);
    ASSERT_EQ(claimed, b.ids[1]);
    jq_store_close(st);
    ASSERT_EQ(access(wal_path, F_OK), -1); /* a clean close checkpoints the WAL away */

    st = open_store();
    expect_user_version(st);
    for (size_t i = 0; i < 3; i++) {
        struct jq_job job = get_job(st, b.ids[i], false);
        ASSERT_EQ(job.state, i == 1 ? JQ_STATE_RUNNING : JQ_STATE_QUEUED);
        ASSERT_STREQ(job.spec.argv[1], tag_of(&b, i));
        ASSERT_EQ(job.spec.priority, i == 1 ? 7 : 0);
        jq_job_cleanup(&job);
    }
    int64_t more[2];
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 2, more), 0);
    ASSERT_TRUE(more[0] > b.ids[2]); /* ids keep rising across opens */
    finish(st);
    batch_free(&b);
}

/* user_version is the big-endian 32-bit integer at offset 60 of the file. */
static void set_user_version(uint32_t v)
{
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                           (unsigned char)v};
    write_file_at(db_path, 60, be, sizeof(be));
}

static void test_newer_version_refused(void)
{
    struct batch b;
    batch_make(&b, 1);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 1, b.ids), 0);
    jq_store_close(st);
    ASSERT_EQ(access(wal_path, F_OK), -1);

    set_user_version(JQ_STORE_SQLITE_SCHEMA_VERSION + 1);
    struct jq_store not_null;
    st = &not_null; /* must be reset to NULL on failure */
    ASSERT_EQ(jq_store_open_sqlite(&st, db_path), JQ_ECORRUPT);
    ASSERT_TRUE(st == NULL);
    unsigned char be[4];
    read_file_at(db_path, 60, be, sizeof(be));
    ASSERT_EQ(be[3], JQ_STORE_SQLITE_SCHEMA_VERSION + 1); /* refused without touching it */

    set_user_version(JQ_STORE_SQLITE_SCHEMA_VERSION);
    st = open_store();
    struct jq_job job = get_job(st, b.ids[0], false);
    ASSERT_STREQ(job.spec.argv[1], "job-0");
    jq_job_cleanup(&job);
    finish(st);
    batch_free(&b);
}

static void test_garbage_file_refused(void)
{
    char junk[4096];
    setup();
    memset(junk, 'x', sizeof(junk));
    write_file_at(db_path, 0, junk, sizeof(junk));
    struct jq_store *st = NULL;
    ASSERT_EQ(jq_store_open_sqlite(&st, db_path), JQ_ECORRUPT);
    ASSERT_TRUE(st == NULL);
    remove_tmp();
}

static void expect_mode(const char *path, unsigned mode)
{
    struct stat sb;
    ASSERT_EQ(stat(path, &sb), 0);
    ASSERT_EQ(sb.st_mode & 0777, mode);
}

static void test_db_file_mode(void)
{
    struct batch b;
    batch_make(&b, 1);
    mode_t old = umask(0); /* the store must not rely on the caller's umask */
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 1, b.ids), 0);
    expect_mode(db_path, 0600);
    expect_mode(wal_path, 0600);
    expect_mode(shm_path, 0600);
    jq_store_close(st);

    ASSERT_EQ(chmod(db_path, 0644), 0); /* an existing file that others can read */
    st = open_store();
    expect_mode(db_path, 0600);
    expect_mode(wal_path, 0600);
    umask(old);
    finish(st);
    batch_free(&b);
}

static void test_claim_plan_uses_index(void)
{
    char plan[512];
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_sqlite_claim_plan(st, plan, sizeof(plan)), 0);
    fprintf(stderr, "claim plan: %s", plan);
    ASSERT_TRUE(strstr(plan, "USING INDEX") || strstr(plan, "USING COVERING INDEX"));
    ASSERT_TRUE(strstr(plan, "jobs_claim") != NULL);
    ASSERT_TRUE(strstr(plan, "SCAN jobs") == NULL);
    ASSERT_TRUE(strstr(plan, "TEMP B-TREE") == NULL);
    ASSERT_EQ(jq_store_sqlite_claim_plan(st, plan, 4), JQ_ETOOBIG);
    finish(st);
}

/* ---- enqueue ---- */

static void test_enqueue_batch_ids(void)
{
    struct batch b;
    batch_make(&b, 50);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 0, b.ids), JQ_EINVAL);
    ASSERT_EQ(jq_store_enqueue(st, b.specs, b.n, b.ids), 0);
    int64_t before = jq_now_ms();
    for (size_t i = 0; i < b.n; i++) {
        if (i > 0)
            ASSERT_TRUE(b.ids[i] > b.ids[i - 1]);
        struct jq_job job = get_job(st, b.ids[i], false);
        ASSERT_EQ(job.state, JQ_STATE_QUEUED);
        ASSERT_STREQ(job.spec.argv[1], tag_of(&b, i));
        ASSERT_EQ(job.attempt, 0);
        ASSERT_TRUE(job.created_at_ms > 0 && job.created_at_ms <= before);
        jq_job_cleanup(&job);
    }
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED], 50);
    finish(st);
    batch_free(&b);
}

/* The second spec is too big to store: the first must not stay behind. */
static void test_enqueue_all_or_nothing(void)
{
    struct batch b;
    batch_make(&b, 3);
    size_t big_len = JQ_MAX_SPEC_BYTES + 1;
    char *big = calloc(1, big_len);
    ASSERT_TRUE(big != NULL);
    b.specs[1].stdin_data = big;
    b.specs[1].stdin_len = big_len;
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), JQ_ETOOBIG);
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED], 0);
    struct jq_job_list page;
    struct jq_list_query q = {.limit = 10};
    ASSERT_EQ(jq_store_list(st, &q, &page), 0);
    ASSERT_EQ(page.n, 0);
    jq_job_list_cleanup(&page);

    b.specs[1].stdin_data = NULL;
    b.specs[1].stdin_len = 0;
    b.specs[2].argc = 0; /* invalid: refused before anything is written */
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), JQ_EINVAL);
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED], 0);
    b.specs[2].argc = 2;
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), 0);
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED], 3);
    finish(st);
    free(big);
    batch_free(&b);
}

/* A database that cannot grow (as on a full disk): JQ_EFULL, nothing half
 * written, old jobs readable, and writes work again once there is room. */
static void test_enqueue_full_disk(void)
{
    struct batch b;
    batch_make(&b, 200);
    static char input[4000];
    memset(input, 'i', sizeof(input));
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 1, b.ids), 0);
    int64_t first = b.ids[0], pages = 0;
    ASSERT_EQ(jq_store_sqlite_set_max_pages(st, 1, &pages), 0); /* = the size now */
    ASSERT_TRUE(pages > 0 && pages < 50);
    /* Room for a few of the 200 rows: the batch fails part-way through. */
    ASSERT_EQ(jq_store_sqlite_set_max_pages(st, pages + 8, &pages), 0);
    for (size_t i = 0; i < b.n; i++) {
        b.specs[i].stdin_data = input;
        b.specs[i].stdin_len = sizeof(input);
    }
    ASSERT_EQ(jq_store_enqueue(st, b.specs, b.n, b.ids), JQ_EFULL);
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED], 1);
    struct jq_job job = get_job(st, first, false);
    jq_job_cleanup(&job);

    ASSERT_EQ(jq_store_sqlite_set_max_pages(st, 1000000, &pages), 0);
    ASSERT_EQ(pages, 1000000);
    ASSERT_EQ(jq_store_enqueue(st, b.specs, b.n, b.ids), 0);
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED], 201);
    expect_pragma(st, "integrity_check", "ok");
    finish(st);
    batch_free(&b);
}

/* ---- group commit ---- */

static struct jq_enqueue_req group_req(struct batch *b, size_t first, size_t n)
{
    return (struct jq_enqueue_req){.specs = &b->specs[first], .n = n, .ids_out = &b->ids[first], .err = -1};
}

static int64_t queued_count(struct jq_store *st)
{
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    return c.by_state[JQ_STATE_QUEUED];
}

/* Four submissions in one transaction: the two bad ones fail alone, each
 * with its own error; the good ones are stored, with one created_at. */
static void test_enqueue_group_isolates_failures(void)
{
    struct batch b;
    batch_make(&b, 5);
    size_t big_len = JQ_MAX_SPEC_BYTES + 1;
    char *big = calloc(1, big_len);
    ASSERT_TRUE(big != NULL);
    b.specs[2].stdin_data = big; /* submission 1: too big */
    b.specs[2].stdin_len = big_len;
    b.specs[3].argc = 0;         /* submission 2: invalid */
    struct jq_enqueue_req reqs[4] = {group_req(&b, 0, 2), group_req(&b, 2, 1), group_req(&b, 3, 1),
                                     group_req(&b, 4, 1)};
    struct jq_store *st = fresh_store();
    int64_t before = jq_now_ms();
    ASSERT_EQ(jq_store_enqueue_group(st, reqs, 4), 0);
    ASSERT_EQ(reqs[0].err, 0);
    ASSERT_EQ(reqs[1].err, JQ_ETOOBIG);
    ASSERT_EQ(reqs[2].err, JQ_EINVAL);
    ASSERT_EQ(reqs[3].err, 0);
    ASSERT_EQ(queued_count(st), 3);
    ASSERT_TRUE(b.ids[0] < b.ids[1] && b.ids[1] < b.ids[4]);
    ASSERT_EQ(reqs[0].created_at_ms, reqs[3].created_at_ms);
    ASSERT_TRUE(reqs[0].created_at_ms >= before);
    const size_t stored[] = {0, 1, 4};
    for (size_t i = 0; i < 3; i++) {
        struct jq_job job = get_job(st, b.ids[stored[i]], false);
        ASSERT_STREQ(job.spec.argv[1], tag_of(&b, stored[i]));
        ASSERT_EQ(job.created_at_ms, reqs[0].created_at_ms);
        jq_job_cleanup(&job);
    }
    finish(st);
    free(big);
    batch_free(&b);
}

/* The disk fills up in the middle of a group (SQLite then gives up the
 * whole transaction): the submission that does not fit fails alone, the
 * others are stored, nothing is half-stored. */
static void test_enqueue_group_full_disk(void)
{
    struct batch b;
    batch_make(&b, 102);
    static char input[4000];
    memset(input, 'i', sizeof(input));
    for (size_t i = 1; i < 101; i++) {
        b.specs[i].stdin_data = input; /* submission 1: 100 jobs of 4 kB */
        b.specs[i].stdin_len = sizeof(input);
    }
    struct jq_store *st = fresh_store();
    int64_t pages = 0;
    ASSERT_EQ(jq_store_sqlite_set_max_pages(st, 1, &pages), 0);
    ASSERT_EQ(jq_store_sqlite_set_max_pages(st, pages + 8, &pages), 0);
    struct jq_enqueue_req reqs[3] = {group_req(&b, 0, 1), group_req(&b, 1, 100), group_req(&b, 101, 1)};
    ASSERT_EQ(jq_store_enqueue_group(st, reqs, 3), 0);
    ASSERT_EQ(reqs[0].err, 0);
    ASSERT_EQ(reqs[1].err, JQ_EFULL);
    ASSERT_EQ(reqs[2].err, 0);
    ASSERT_EQ(queued_count(st), 2);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_QUEUED);
    ASSERT_EQ(state_of(st, b.ids[101]), JQ_STATE_QUEUED);
    expect_pragma(st, "integrity_check", "ok");
    finish(st);
    batch_free(&b);
}

/* ---- claim ---- */

static void test_claim_priority_then_fifo(void)
{
    static const int32_t prio[] = {0, 5, 0, 5, -1, 10};
    static const size_t order[] = {5, 1, 3, 0, 2, 4};
    struct batch b;
    batch_make(&b, 6);
    for (size_t i = 0; i < 6; i++)
        b.specs[i].priority = prio[i];
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 6, b.ids), 0);
    int64_t before = jq_now_ms();
    for (size_t k = 0; k < 6; k += 2) {
        struct jq_job jobs[2];
        size_t n = 0;
        ASSERT_EQ(jq_store_claim(st, 2, jobs, &n), 0);
        ASSERT_EQ(n, 2);
        for (size_t j = 0; j < 2; j++) {
            ASSERT_EQ(jobs[j].id, b.ids[order[k + j]]);
            ASSERT_STREQ(jobs[j].spec.argv[1], tag_of(&b, order[k + j]));
            ASSERT_EQ(jobs[j].spec.priority, prio[order[k + j]]);
            ASSERT_EQ(jobs[j].state, JQ_STATE_RUNNING);
            ASSERT_EQ(jobs[j].attempt, 1);
            ASSERT_TRUE(jobs[j].result.started_at_ms >= before);
            ASSERT_EQ(state_of(st, jobs[j].id), JQ_STATE_RUNNING);
            jq_job_cleanup(&jobs[j]);
        }
    }
    struct jq_job stored = get_job(st, b.ids[0], false);
    ASSERT_EQ(stored.attempt, 1);
    ASSERT_TRUE(stored.result.started_at_ms >= before);
    ASSERT_EQ(stored.result.worker_pid, 0);
    jq_job_cleanup(&stored);
    finish(st);
    batch_free(&b);
}

static void test_claim_full_spec(void)
{
    char *argv[] = {"/usr/bin/env", "arg with spaces", "", "ünïcode", NULL};
    char *env[] = {"A=1", "EMPTY=", "LONG=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL};
    char input[] = "line1\n\0binary\xff\x00tail";
    struct jq_job_spec spec;
    jq_job_spec_init(&spec);
    spec.argv = argv;
    spec.argc = 4;
    spec.env = env;
    spec.envc = 3;
    spec.cwd = "/var/tmp";
    spec.stdin_data = input;
    spec.stdin_len = sizeof(input) - 1;
    spec.timeout_ms = 12345;
    spec.kill_grace_ms = 678;
    spec.max_output_bytes = 99999;
    spec.priority = -3;
    struct jq_store *st = fresh_store();
    int64_t id;
    ASSERT_EQ(jq_store_enqueue(st, &spec, 1, &id), 0);
    struct jq_job job;
    size_t n = 0;
    ASSERT_EQ(jq_store_claim(st, 1, &job, &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(job.id, id);
    const struct jq_job_spec *got = &job.spec;
    ASSERT_EQ(got->argc, 4);
    for (size_t i = 0; i < 4; i++)
        ASSERT_STREQ(got->argv[i], argv[i]);
    ASSERT_TRUE(got->argv[4] == NULL);
    ASSERT_EQ(got->envc, 3);
    for (size_t i = 0; i < 3; i++)
        ASSERT_STREQ(got->env[i], env[i]);
    ASSERT_STREQ(got->cwd, "/var/tmp");
    ASSERT_EQ(got->stdin_len, sizeof(input) - 1);
    ASSERT_EQ(memcmp(got->stdin_data, input, sizeof(input) - 1), 0);
    ASSERT_EQ(got->timeout_ms, 12345);
    ASSERT_EQ(got->kill_grace_ms, 678);
    ASSERT_EQ(got->max_output_bytes, 99999);
    ASSERT_EQ(got->priority, -3);
    jq_job_cleanup(&job);
    finish(st);
}

static void test_claim_more_than_available(void)
{
    struct batch b;
    batch_make(&b, 3);
    struct jq_store *st = fresh_store();
    int64_t ids[16];
    ASSERT_EQ(claim_ids(st, 10, ids), 0); /* empty queue */
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), 0);
    ASSERT_EQ(claim_ids(st, 0, ids), 0);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_QUEUED);
    ASSERT_EQ(claim_ids(st, 10, ids), 3);
    for (size_t i = 0; i < 3; i++)
        ASSERT_EQ(ids[i], b.ids[i]);
    ASSERT_EQ(claim_ids(st, 10, ids), 0); /* running jobs are not claimed again */
    finish(st);
    batch_free(&b);
}

/* ---- complete, get ---- */

static const char out_bytes[] = "hello\0world\0\n";
static const char err_bytes[] = "\0\x01\xff";

static void fill_success(struct jq_job_result *r)
{
    jq_job_result_init(r);
    r->state = JQ_STATE_SUCCEEDED;
    r->exit_code = 0;
    r->out.data = (char *)out_bytes;
    r->out.len = sizeof(out_bytes) - 1;
    r->out.total_bytes = r->out.len;
    r->err.data = (char *)err_bytes;
    r->err.len = sizeof(err_bytes) - 1;
    r->err.total_bytes = 1000;
    r->err.truncated = true;
    r->duration_ms = 55;
    r->cpu_user_ms = 11;
    r->cpu_sys_ms = 22;
    r->max_rss_kb = 1234;
    r->worker_pid = 4242;
}

static void fill_timeout(struct jq_job_result *r)
{
    jq_job_result_init(r);
    r->state = JQ_STATE_TIMED_OUT;
    r->signal = 9;
    r->core_dumped = true;
    r->kill_reason = JQ_KILL_TIMEOUT;
    r->error = "killed: timeout";
    r->started_at_ms = 1000;
    r->finished_at_ms = 2000;
}

static void check_success(const struct jq_job *job, bool with_output)
{
    const struct jq_job_result *r = &job->result;
    ASSERT_EQ(job->state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(r->state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(r->exit_code, 0);
    ASSERT_EQ(r->signal, 0);
    ASSERT_TRUE(r->error == NULL);
    ASSERT_EQ(r->out.total_bytes, sizeof(out_bytes) - 1);
    ASSERT_TRUE(!r->out.truncated);
    ASSERT_EQ(r->err.total_bytes, 1000);
    ASSERT_TRUE(r->err.truncated);
    ASSERT_EQ(r->duration_ms, 55);
    ASSERT_EQ(r->cpu_user_ms, 11);
    ASSERT_EQ(r->cpu_sys_ms, 22);
    ASSERT_EQ(r->max_rss_kb, 1234);
    ASSERT_EQ(r->worker_pid, 4242);
    ASSERT_TRUE(r->started_at_ms > 0 && r->finished_at_ms >= r->started_at_ms);
    ASSERT_STREQ(job->spec.argv[1], "job-0");
    if (!with_output) {
        ASSERT_TRUE(r->out.data == NULL && r->out.len == 0);
        ASSERT_TRUE(r->err.data == NULL && r->err.len == 0);
        return;
    }
    ASSERT_EQ(r->out.len, sizeof(out_bytes) - 1);
    ASSERT_EQ(memcmp(r->out.data, out_bytes, r->out.len), 0);
    ASSERT_EQ(r->out.data[r->out.len], '\0');
    ASSERT_EQ(r->err.len, sizeof(err_bytes) - 1);
    ASSERT_EQ(memcmp(r->err.data, err_bytes, r->err.len), 0);
}

static void test_complete_stores_results(void)
{
    struct batch b;
    batch_make(&b, 3);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), 0);
    int64_t claimed[2];
    ASSERT_EQ(claim_ids(st, 2, claimed), 2);
    struct jq_job_result ok, late, bad;
    fill_success(&ok);
    fill_timeout(&late);
    fill_success(&bad);
    bad.state = JQ_STATE_RUNNING;
    struct jq_completion done[] = {{b.ids[0], &ok}, {b.ids[1], &late}, {b.ids[2], &ok}, {999, &ok}};
    struct jq_completion wrong[] = {{b.ids[0], &ok}, {b.ids[1], &bad}};
    ASSERT_EQ(jq_store_complete(st, wrong, 2), JQ_EINVAL); /* non-terminal: nothing stored */
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_RUNNING);
    ASSERT_EQ(jq_store_complete(st, done, 4), 0);

    struct jq_job job = get_job(st, b.ids[0], true);
    check_success(&job, true);
    ASSERT_EQ(job.attempt, 1);
    jq_job_cleanup(&job);
    job = get_job(st, b.ids[1], true);
    ASSERT_EQ(job.state, JQ_STATE_TIMED_OUT);
    ASSERT_EQ(job.result.exit_code, -1);
    ASSERT_EQ(job.result.signal, 9);
    ASSERT_TRUE(job.result.core_dumped);
    ASSERT_EQ(job.result.kill_reason, JQ_KILL_TIMEOUT);
    ASSERT_STREQ(job.result.error, "killed: timeout");
    ASSERT_EQ(job.result.started_at_ms, 1000);
    ASSERT_EQ(job.result.finished_at_ms, 2000);
    ASSERT_TRUE(job.result.out.data == NULL && job.result.out.len == 0);
    jq_job_cleanup(&job);
    ASSERT_EQ(state_of(st, b.ids[2]), JQ_STATE_QUEUED); /* was not running: untouched */
    ASSERT_EQ(jq_store_get(st, 999, false, &job), JQ_ENOTFOUND);

    /* A second result for a finished job changes nothing. */
    struct jq_completion again = {b.ids[1], &ok};
    ASSERT_EQ(jq_store_complete(st, &again, 1), 0);
    ASSERT_EQ(state_of(st, b.ids[1]), JQ_STATE_TIMED_OUT);
    finish(st);
    batch_free(&b);
}

static void test_get_with_and_without_output(void)
{
    struct batch b;
    batch_make(&b, 1);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 1, b.ids), 0);
    struct jq_job job = get_job(st, b.ids[0], true); /* queued: no output yet */
    ASSERT_TRUE(job.result.out.data == NULL && job.result.err.data == NULL);
    ASSERT_EQ(job.result.exit_code, -1);
    jq_job_cleanup(&job);
    int64_t id;
    ASSERT_EQ(claim_ids(st, 1, &id), 1);
    struct jq_job_result ok;
    fill_success(&ok);
    struct jq_completion done = {id, &ok};
    ASSERT_EQ(jq_store_complete(st, &done, 1), 0);
    job = get_job(st, id, false);
    check_success(&job, false);
    jq_job_cleanup(&job);
    job = get_job(st, id, true);
    check_success(&job, true);
    jq_job_cleanup(&job);
    finish(st);
    batch_free(&b);
}

static void test_get_unknown_id(void)
{
    struct jq_store *st = fresh_store();
    struct jq_job job;
    enum jq_job_state state;
    ASSERT_EQ(jq_store_get(st, 1, false, &job), JQ_ENOTFOUND);
    ASSERT_EQ(jq_store_get(st, 1, true, &job), JQ_ENOTFOUND);
    ASSERT_EQ(jq_store_get(st, -5, false, &job), JQ_ENOTFOUND);
    ASSERT_EQ(jq_store_get_state(st, 1, &state), JQ_ENOTFOUND);
    jq_job_cleanup(&job); /* left initialised: cleanup is harmless */
    finish(st);
}

/* ---- list ---- */

/* Page through with limit; check the ids are want[0..n_want) in order. */
static void expect_pages(struct jq_store *st, struct jq_list_query q, const int64_t *want, size_t n_want)
{
    size_t seen = 0;
    for (;;) {
        struct jq_job_list page;
        ASSERT_EQ(jq_store_list(st, &q, &page), 0);
        ASSERT_TRUE(page.n <= q.limit);
        for (size_t i = 0; i < page.n; i++) {
            ASSERT_TRUE(seen < n_want);
            ASSERT_EQ(page.jobs[i].id, want[seen]);
            if (q.has_state)
                ASSERT_EQ(page.jobs[i].state, q.state);
            seen++;
        }
        bool more = page.more;
        ASSERT_EQ(more, seen < n_want);
        if (page.n > 0)
            q.after_id = page.jobs[page.n - 1].id;
        jq_job_list_cleanup(&page);
        if (!more)
            break;
    }
    ASSERT_EQ(seen, n_want);
}

static void test_list_filter_and_pages(void)
{
    struct batch b;
    batch_make(&b, 25);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 25, b.ids), 0);
    int64_t running[5];
    ASSERT_EQ(claim_ids(st, 5, running), 5);
    for (size_t i = 5; i < 8; i++)
        ASSERT_EQ(jq_store_cancel_queued(st, b.ids[i], NULL), 0);

    struct jq_list_query q = {.limit = 10};
    expect_pages(st, q, b.ids, 25);
    q.limit = 25;
    expect_pages(st, q, b.ids, 25); /* exactly one full page: more = false */
    q.limit = 24;
    expect_pages(st, q, b.ids, 25);
    q = (struct jq_list_query){.has_state = true, .state = JQ_STATE_QUEUED, .limit = 5};
    expect_pages(st, q, b.ids + 8, 17);
    q.state = JQ_STATE_RUNNING;
    expect_pages(st, q, b.ids, 5);
    q.state = JQ_STATE_CANCELLED;
    q.limit = 1;
    expect_pages(st, q, b.ids + 5, 3);
    q.state = JQ_STATE_LOST;
    expect_pages(st, q, NULL, 0);
    q = (struct jq_list_query){.after_id = b.ids[20], .limit = 3};
    expect_pages(st, q, b.ids + 21, 4);

    struct jq_job_list page;
    q = (struct jq_list_query){.limit = 0};
    ASSERT_EQ(jq_store_list(st, &q, &page), JQ_EINVAL);
    q.limit = JQ_MAX_LIST_LIMIT + 1;
    ASSERT_EQ(jq_store_list(st, &q, &page), JQ_EINVAL);
    finish(st);
    batch_free(&b);
}

static void test_list_with_output(void)
{
    struct batch b;
    batch_make(&b, 2);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 2, b.ids), 0);
    int64_t id;
    ASSERT_EQ(claim_ids(st, 1, &id), 1);
    struct jq_job_result ok;
    fill_success(&ok);
    struct jq_completion done = {id, &ok};
    ASSERT_EQ(jq_store_complete(st, &done, 1), 0);
    struct jq_list_query q = {.has_state = true, .state = JQ_STATE_SUCCEEDED, .limit = 10};
    struct jq_job_list page;
    ASSERT_EQ(jq_store_list(st, &q, &page), 0);
    ASSERT_EQ(page.n, 1);
    check_success(&page.jobs[0], false);
    jq_job_list_cleanup(&page);
    ASSERT_TRUE(page.jobs == NULL && page.n == 0);
    q.with_output = true;
    ASSERT_EQ(jq_store_list(st, &q, &page), 0);
    ASSERT_EQ(page.n, 1);
    check_success(&page.jobs[0], true);
    jq_job_list_cleanup(&page);
    finish(st);
    batch_free(&b);
}

/* ---- cancel, recover, counts ---- */

static void test_cancel_queued(void)
{
    struct batch b;
    batch_make(&b, 3);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), 0);
    int64_t running;
    ASSERT_EQ(claim_ids(st, 1, &running), 1);
    ASSERT_EQ(running, b.ids[0]);

    enum jq_job_state state = JQ_STATE_LOST;
    ASSERT_EQ(jq_store_cancel_queued(st, b.ids[1], &state), 0); /* queued */
    ASSERT_EQ(state, JQ_STATE_CANCELLED);
    struct jq_job job = get_job(st, b.ids[1], false);
    ASSERT_EQ(job.state, JQ_STATE_CANCELLED);
    ASSERT_TRUE(job.result.finished_at_ms > 0);
    jq_job_cleanup(&job);
    ASSERT_EQ(jq_store_cancel_queued(st, b.ids[0], &state), JQ_ESTATE); /* running */
    ASSERT_EQ(state, JQ_STATE_RUNNING);
    ASSERT_EQ(jq_store_cancel_queued(st, b.ids[1], &state), JQ_ESTATE); /* finished */
    ASSERT_EQ(state, JQ_STATE_CANCELLED);
    ASSERT_EQ(jq_store_cancel_queued(st, 12345, &state), JQ_ENOTFOUND);
    ASSERT_EQ(jq_store_cancel_queued(st, b.ids[0], NULL), JQ_ESTATE);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_RUNNING);

    int64_t next[4];
    ASSERT_EQ(claim_ids(st, 4, next), 1); /* the cancelled job is never claimed */
    ASSERT_EQ(next[0], b.ids[2]);
    finish(st);
    batch_free(&b);
}

static void test_mark_cancel_requested(void)
{
    struct batch b;
    batch_make(&b, 2);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 2, b.ids), 0);
    int64_t id;
    ASSERT_EQ(claim_ids(st, 1, &id), 1);
    ASSERT_EQ(jq_store_mark_cancel_requested(st, id), 0);
    ASSERT_EQ(jq_store_mark_cancel_requested(st, id), 0); /* idempotent */
    struct jq_job job = get_job(st, id, false);
    ASSERT_TRUE(job.cancel_requested);
    ASSERT_EQ(job.state, JQ_STATE_RUNNING);
    jq_job_cleanup(&job);
    ASSERT_EQ(jq_store_mark_cancel_requested(st, b.ids[1]), JQ_ESTATE); /* queued */
    ASSERT_EQ(jq_store_mark_cancel_requested(st, 777), JQ_ENOTFOUND);
    job = get_job(st, b.ids[1], false);
    ASSERT_TRUE(!job.cancel_requested);
    jq_job_cleanup(&job);
    finish(st);
    batch_free(&b);
}

static void test_recover_running_to_lost(void)
{
    struct batch b;
    batch_make(&b, 4);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 4, b.ids), 0);
    int64_t ids[3];
    ASSERT_EQ(claim_ids(st, 3, ids), 3);
    struct jq_job_result ok;
    fill_success(&ok);
    struct jq_completion done = {b.ids[2], &ok};
    ASSERT_EQ(jq_store_complete(st, &done, 1), 0);
    jq_store_close(st); /* the "crash": reopen as a new generation */

    st = open_store();
    int64_t before = jq_now_ms(), lost = -1;
    ASSERT_EQ(jq_store_recover(st, &lost), 0);
    ASSERT_EQ(lost, 2);
    for (size_t i = 0; i < 2; i++) {
        struct jq_job job = get_job(st, b.ids[i], false);
        ASSERT_EQ(job.state, JQ_STATE_LOST);
        ASSERT_TRUE(job.result.finished_at_ms >= before);
        ASSERT_EQ(job.attempt, 1);
        jq_job_cleanup(&job);
    }
    ASSERT_EQ(state_of(st, b.ids[2]), JQ_STATE_SUCCEEDED);
    ASSERT_EQ(state_of(st, b.ids[3]), JQ_STATE_QUEUED);
    /* A late result for a lost job is not stored. */
    done.id = b.ids[0];
    ASSERT_EQ(jq_store_complete(st, &done, 1), 0);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_LOST);
    ASSERT_EQ(jq_store_recover(st, &lost), 0);
    ASSERT_EQ(lost, 0);
    ASSERT_EQ(jq_store_recover(st, NULL), 0);
    finish(st);
    batch_free(&b);
}

static void test_counts(void)
{
    struct batch b;
    batch_make(&b, 6);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 6, b.ids), 0);
    int64_t ids[3];
    ASSERT_EQ(claim_ids(st, 3, ids), 3);
    struct jq_job_result ok, late;
    fill_success(&ok);
    fill_timeout(&late);
    struct jq_completion done[] = {{ids[0], &ok}, {ids[1], &late}};
    ASSERT_EQ(jq_store_complete(st, done, 2), 0);
    ASSERT_EQ(jq_store_cancel_queued(st, b.ids[5], NULL), 0);
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    static const int64_t want[JQ_STATE_COUNT] = {2, 1, 1, 0, 1, 1, 0};
    for (int i = 0; i < JQ_STATE_COUNT; i++)
        ASSERT_EQ(c.by_state[i], want[i]);
    finish(st);
    batch_free(&b);
}

/* ---- threads, depth ---- */

#define ENQ_THREADS 4
#define ENQ_ROUNDS 40

struct enq_arg {
    struct jq_store *st;
    struct batch b;  /* ENQ_ROUNDS * 2 jobs, enqueued one or two at a time */
    size_t n_done;
    int err;
};

static void *enqueue_thread(void *p)
{
    struct enq_arg *a = p;
    for (size_t r = 0; r < ENQ_ROUNDS && a->err == 0; r++) {
        size_t n = 1 + r % 2;
        a->err = jq_store_enqueue(a->st, &a->b.specs[a->n_done], n, &a->b.ids[a->n_done]);
        if (a->err == 0)
            a->n_done += n;
    }
    return NULL;
}

static int cmp_id(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static void test_concurrent_enqueue(void)
{
    struct enq_arg args[ENQ_THREADS];
    pthread_t tids[ENQ_THREADS];
    struct jq_store *st = fresh_store();
    for (int t = 0; t < ENQ_THREADS; t++) {
        args[t] = (struct enq_arg){.st = st};
        batch_make(&args[t].b, ENQ_ROUNDS * 2);
        ASSERT_EQ(pthread_create(&tids[t], NULL, enqueue_thread, &args[t]), 0);
    }
    /* Claim concurrently, so transactions of both kinds interleave. */
    int64_t *claimed = calloc(ENQ_THREADS * ENQ_ROUNDS * 2, sizeof(*claimed));
    size_t n_claimed = 0;
    ASSERT_TRUE(claimed != NULL);
    for (int i = 0; i < 50; i++)
        n_claimed += claim_ids(st, 4, claimed + n_claimed);
    size_t total = 0;
    for (int t = 0; t < ENQ_THREADS; t++) {
        ASSERT_EQ(pthread_join(tids[t], NULL), 0);
        ASSERT_EQ(args[t].err, 0);
        total += args[t].n_done;
    }
    ASSERT_EQ(total, ENQ_THREADS * (ENQ_ROUNDS / 2) * 3);

    int64_t *all = calloc(total, sizeof(*all));
    ASSERT_TRUE(all != NULL);
    size_t k = 0;
    for (int t = 0; t < ENQ_THREADS; t++) {
        for (size_t i = 0; i < args[t].n_done; i++) {
            if (i > 0)
                ASSERT_TRUE(args[t].b.ids[i] > args[t].b.ids[i - 1]);
            struct jq_job job = get_job(st, args[t].b.ids[i], false);
            ASSERT_STREQ(job.spec.argv[1], tag_of(&args[t].b, i));
            jq_job_cleanup(&job);
            all[k++] = args[t].b.ids[i];
        }
    }
    qsort(all, total, sizeof(*all), cmp_id);
    for (size_t i = 1; i < total; i++)
        ASSERT_TRUE(all[i] != all[i - 1]);
    qsort(claimed, n_claimed, sizeof(*claimed), cmp_id);
    for (size_t i = 1; i < n_claimed; i++)
        ASSERT_TRUE(claimed[i] != claimed[i - 1]);
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_RUNNING], n_claimed);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED] + c.by_state[JQ_STATE_RUNNING], total);
    for (int t = 0; t < ENQ_THREADS; t++)
        batch_free(&args[t].b);
    free(all);
    free(claimed);
    finish(st);
}

#define DEEP_JOBS 100000
#define DEEP_PRIORITIES 7

static void test_deep_queue_claim(void)
{
    struct batch b;
    batch_make(&b, DEEP_JOBS);
    for (size_t i = 0; i < DEEP_JOBS; i++)
        b.specs[i].priority = (int32_t)(i % DEEP_PRIORITIES);
    struct jq_store *st = fresh_store();
    int64_t t0 = jq_mono_ms();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, DEEP_JOBS, b.ids), 0);
    int64_t t1 = jq_mono_ms();
    ASSERT_EQ(b.ids[DEEP_JOBS - 1] - b.ids[0], DEEP_JOBS - 1);
    /* Highest priority first (i % 7 == 6), in id order. */
    int64_t ids[64];
    ASSERT_EQ(claim_ids(st, 64, ids), 64);
    for (size_t k = 0; k < 64; k++)
        ASSERT_EQ(ids[k], b.ids[6 + DEEP_PRIORITIES * k]);
    int64_t t2 = jq_mono_ms();
    for (int r = 0; r < 100; r++)
        ASSERT_EQ(claim_ids(st, 1, ids), 1);
    int64_t t3 = jq_mono_ms();
    ASSERT_EQ(ids[0], b.ids[6 + DEEP_PRIORITIES * 163]);
    fprintf(stderr, "enqueue %d jobs: %lld ms; 100 single claims: %lld ms\n", DEEP_JOBS, (long long)(t1 - t0),
            (long long)(t3 - t2));
    struct jq_store_counts c;
    ASSERT_EQ(jq_store_count(st, &c), 0);
    ASSERT_EQ(c.by_state[JQ_STATE_QUEUED], DEEP_JOBS - 164);
    ASSERT_EQ(c.by_state[JQ_STATE_RUNNING], 164);
    char plan[512];
    ASSERT_EQ(jq_store_sqlite_claim_plan(st, plan, sizeof(plan)), 0);
    ASSERT_TRUE(strstr(plan, "SCAN") == NULL && strstr(plan, "TEMP B-TREE") == NULL);
    finish(st);
    batch_free(&b);
}


/* ---- retries ---- */

static void set_policy(struct jq_job_spec *spec, int32_t max, bool on_lost_retry, int32_t item, int64_t backoff)
{
    spec->retry.max_attempts = max;
    spec->retry.on_lost_retry = on_lost_retry;
    spec->retry.retry_on_n = item ? 1 : 0;
    spec->retry.retry_on[0] = item;
    spec->retry.backoff_ms = backoff;
    spec->retry.backoff_max_ms = JQ_MAX_BACKOFF_MAX_MS;
}

static void fill_exit(struct jq_job_result *r, int code, int32_t pid)
{
    jq_job_result_init(r);
    r->state = code == 0 ? JQ_STATE_SUCCEEDED : JQ_STATE_FAILED;
    r->exit_code = code;
    r->worker_pid = pid;
    r->finished_at_ms = jq_now_ms();
}

static void complete_one(struct jq_store *st, int64_t id, const struct jq_job_result *r)
{
    struct jq_completion c = {.id = id, .result = r};
    ASSERT_EQ(jq_store_complete(st, &c, 1), 0);
}

/* exit 3 with retry_on [3], 3 attempts, no backoff: queued again twice,
 * then failed for good, every attempt in the history. */
static void test_retry_until_attempts_run_out(void)
{
    struct batch b;
    batch_make(&b, 2);
    set_policy(&b.specs[0], 3, false, 3, 0);
    set_policy(&b.specs[1], 3, false, 3, 0);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 2, b.ids), 0);
    struct jq_job_result r;
    int64_t id;
    for (int k = 1; k <= 3; k++) {
        ASSERT_EQ(claim_ids(st, 1, &id), 1);
        ASSERT_EQ(id, b.ids[0]);
        fill_exit(&r, 3, 100 + k);
        complete_one(st, id, &r);
        ASSERT_EQ(state_of(st, id), k < 3 ? JQ_STATE_QUEUED : JQ_STATE_FAILED);
    }
    struct jq_job job = get_job(st, b.ids[0], true);
    ASSERT_EQ(job.attempt, 3);
    ASSERT_EQ(job.result.exit_code, 3);
    ASSERT_EQ(job.n_attempts, 3);
    for (int k = 0; k < 3; k++) {
        ASSERT_EQ(job.attempts[k].attempt, k + 1);
        ASSERT_EQ(job.attempts[k].state, JQ_STATE_FAILED);
        ASSERT_EQ(job.attempts[k].exit_code, 3);
        ASSERT_EQ(job.attempts[k].worker_pid, 101 + k);
        ASSERT_TRUE(job.attempts[k].started_at_ms > 0 && job.attempts[k].finished_at_ms > 0);
    }
    jq_job_cleanup(&job);
    /* An exit code not listed ends the job at once. */
    ASSERT_EQ(claim_ids(st, 1, &id), 1);
    fill_exit(&r, 4, 7);
    complete_one(st, id, &r);
    job = get_job(st, b.ids[1], false);
    ASSERT_EQ(job.state, JQ_STATE_FAILED);
    ASSERT_EQ(job.n_attempts, 1);
    ASSERT_EQ(job.attempts[0].exit_code, 4);
    jq_job_cleanup(&job);
    finish(st);
    batch_free(&b);
}

/* A backoff puts the job in retry_wait with run_at in [now + d/2, now + d];
 * promote_due moves due jobs only, earliest first, and reports the next. */
static void test_retry_wait_and_promote(void)
{
    static const int64_t backoff[3] = {1000, 100000, 3000000};
    struct batch b;
    batch_make(&b, 4);
    for (int i = 0; i < 3; i++)
        set_policy(&b.specs[i], 2, false, 3, backoff[i]);
    set_policy(&b.specs[3], 2, false, 3, 1000);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 4, b.ids), 0);
    int64_t ids[4], next = -1, run_at[4];
    ASSERT_EQ(claim_ids(st, 4, ids), 4);
    int64_t t0 = jq_now_ms();
    struct jq_job_result r;
    for (int i = 0; i < 4; i++) {
        fill_exit(&r, 3, 1);
        complete_one(st, b.ids[i], &r);
        struct jq_job job = get_job(st, b.ids[i], true);
        ASSERT_EQ(job.state, JQ_STATE_RETRY_WAIT);
        int64_t d = i < 3 ? backoff[i] : 1000;
        ASSERT_TRUE(job.run_at_ms >= t0 + d / 2 && job.run_at_ms <= jq_now_ms() + d);
        ASSERT_EQ(job.n_attempts, 1);
        run_at[i] = job.run_at_ms;
        jq_job_cleanup(&job);
    }
    ASSERT_EQ(claim_ids(st, 4, ids), 0); /* waiting jobs are not claimable */
    ASSERT_EQ(jq_store_cancel_queued(st, b.ids[3], NULL), 0);
    ASSERT_EQ(state_of(st, b.ids[3]), JQ_STATE_CANCELLED); /* a waiting job can be cancelled */
    ASSERT_EQ(jq_store_promote_due(st, t0, &next), 0);
    ASSERT_EQ(next, run_at[0]);
    ASSERT_EQ(jq_store_promote_due(st, run_at[0], &next), 0);
    ASSERT_EQ(next, run_at[1]);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_QUEUED);
    ASSERT_EQ(state_of(st, b.ids[1]), JQ_STATE_RETRY_WAIT);
    ASSERT_EQ(claim_ids(st, 4, ids), 1);
    ASSERT_EQ(ids[0], b.ids[0]);
    ASSERT_EQ(jq_store_promote_due(st, run_at[2], &next), 0); /* both due at once */
    ASSERT_EQ(next, 0);
    ASSERT_EQ(claim_ids(st, 4, ids), 2);
    struct jq_job job = get_job(st, b.ids[0], false);
    ASSERT_EQ(job.attempt, 2);
    ASSERT_EQ(job.run_at_ms, 0);
    jq_job_cleanup(&job);
    ASSERT_EQ(jq_store_promote_due(st, INT64_MAX, NULL), 0);
    finish(st);
    batch_free(&b);
}

/* Recovery after a master crash resolves each running job by its policy. */
static void test_recover_by_policy(void)
{
    struct batch b;
    batch_make(&b, 4);
    set_policy(&b.specs[0], 3, true, 0, 60000);                /* retried, no delay */
    set_policy(&b.specs[1], 3, false, 0, 0);                   /* on_lost fail: lost */
    set_policy(&b.specs[2], 1, true, 0, 0);                    /* no attempt left: lost */
    set_policy(&b.specs[3], 3, false, JQ_RETRY_ON_LOST, 60000); /* "lost" listed, but cancelled */
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 4, b.ids), 0);
    int64_t ids[4], n = -1;
    ASSERT_EQ(claim_ids(st, 4, ids), 4);
    ASSERT_EQ(jq_store_mark_cancel_requested(st, b.ids[3]), 0);
    jq_store_close(st);

    st = open_store();
    ASSERT_EQ(jq_store_recover(st, &n), 0);
    ASSERT_EQ(n, 4);
    static const enum jq_job_state want[4] = {JQ_STATE_QUEUED, JQ_STATE_LOST, JQ_STATE_LOST, JQ_STATE_LOST};
    for (int i = 0; i < 4; i++) {
        struct jq_job job = get_job(st, b.ids[i], true);
        ASSERT_EQ(job.state, want[i]);
        ASSERT_EQ(job.attempt, 1);
        ASSERT_EQ(job.n_attempts, 1);
        ASSERT_EQ(job.attempts[0].state, JQ_STATE_LOST);
        ASSERT_EQ(job.attempts[0].kill_reason, JQ_KILL_NONE);
        ASSERT_STREQ(job.attempts[0].error, "the service stopped while the job ran");
        jq_job_cleanup(&job);
    }
    ASSERT_EQ(claim_ids(st, 4, ids), 1);
    ASSERT_EQ(ids[0], b.ids[0]);
    struct jq_job_result r;
    fill_exit(&r, 0, 9);
    complete_one(st, ids[0], &r);
    struct jq_job job = get_job(st, b.ids[0], true);
    ASSERT_EQ(job.state, JQ_STATE_SUCCEEDED);
    ASSERT_EQ(job.attempt, 2);
    ASSERT_EQ(job.n_attempts, 2);
    ASSERT_EQ(job.attempts[1].state, JQ_STATE_SUCCEEDED);
    jq_job_cleanup(&job);
    finish(st);
    batch_free(&b);
}

/* A lost attempt: shutdown retries at once, a dead worker after a backoff;
 * a cancelled attempt is final; a never-taken task is requeued uncounted. */
static void test_lost_shutdown_cancel_requeue(void)
{
    struct batch b;
    batch_make(&b, 4);
    for (int i = 0; i < 4; i++)
        set_policy(&b.specs[i], 3, true, 0, 60000);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 4, b.ids), 0);
    int64_t ids[4];
    ASSERT_EQ(claim_ids(st, 4, ids), 4);
    struct jq_job_result lost, cancelled;
    jq_job_result_init(&lost);
    lost.state = JQ_STATE_LOST;
    lost.kill_reason = JQ_KILL_SHUTDOWN;
    complete_one(st, b.ids[0], &lost);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_QUEUED);
    lost.kill_reason = JQ_KILL_NONE;
    complete_one(st, b.ids[1], &lost);
    ASSERT_EQ(state_of(st, b.ids[1]), JQ_STATE_RETRY_WAIT);
    jq_job_result_init(&cancelled);
    cancelled.state = JQ_STATE_CANCELLED;
    cancelled.kill_reason = JQ_KILL_CANCEL;
    complete_one(st, b.ids[2], &cancelled);
    ASSERT_EQ(state_of(st, b.ids[2]), JQ_STATE_CANCELLED);
    ASSERT_EQ(jq_store_requeue(st, b.ids[3]), 0);
    struct jq_job job = get_job(st, b.ids[3], true);
    ASSERT_EQ(job.state, JQ_STATE_QUEUED);
    ASSERT_EQ(job.attempt, 0);
    ASSERT_EQ(job.n_attempts, 0);
    jq_job_cleanup(&job);
    ASSERT_EQ(jq_store_requeue(st, b.ids[3]), 0); /* not running: unchanged */
    ASSERT_EQ(state_of(st, b.ids[3]), JQ_STATE_QUEUED);
    job = get_job(st, b.ids[0], true);
    ASSERT_EQ(job.n_attempts, 1);
    ASSERT_EQ(job.attempts[0].kill_reason, JQ_KILL_SHUTDOWN);
    jq_job_cleanup(&job);
    finish(st);
    batch_free(&b);
}


/* ---- queues, scheduled jobs, start_by ---- */

/* Every timer and queue statement is an index SEARCH, never a scan or sort. */
static void test_queue_plans_use_indexes(void)
{
    static const char *const names[] = {"claim", "queue_next", "queue_candidates", "promote",
                                        "next_run_at", "expire", "next_start_by"};
    struct jq_store *st = fresh_store();
    char plan[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ASSERT_EQ(jq_store_sqlite_plan(st, names[i], plan, sizeof(plan)), 0);
        fprintf(stderr, "%s plan: %s", names[i], plan);
        ASSERT_TRUE(strstr(plan, "SEARCH jobs USING") != NULL);
        ASSERT_TRUE(strstr(plan, "SCAN") == NULL && strstr(plan, "TEMP B-TREE") == NULL);
    }
    ASSERT_EQ(jq_store_sqlite_plan(st, "queue_counts", plan, sizeof(plan)), 0);
    ASSERT_TRUE(strstr(plan, "COVERING INDEX jobs_queue") != NULL && strstr(plan, "TEMP B-TREE") == NULL);
    ASSERT_EQ(jq_store_sqlite_plan(st, "nope", plan, sizeof(plan)), JQ_EINVAL);
    finish(st);
}

/* jobs b.specs[i] go to queue qs[i]; enqueued one by one (ids ascending). */
static void enqueue_in(struct jq_store *st, struct batch *b, const char *const *qs)
{
    for (size_t i = 0; i < b->n; i++) {
        snprintf(b->specs[i].queue, sizeof(b->specs[i].queue), "%s", qs[i]);
        ASSERT_EQ(jq_store_enqueue(st, &b->specs[i], 1, &b->ids[i]), 0);
    }
}

/* A paused queue is skipped however high its priorities; a limited one
 * gives at most its room; the others merge by priority, then id. */
static void test_claim_skips_paused_and_limited(void)
{
    static const char *const qs[8] = {"p", "p", "l", "l", "l", "default", "x", "default"};
    static const int32_t prio[8] = {9, 9, 5, 5, 5, 1, 3, 1};
    struct batch b;
    batch_make(&b, 8);
    for (size_t i = 0; i < 8; i++)
        b.specs[i].priority = prio[i];
    struct jq_store *st = fresh_store();
    enqueue_in(st, &b, qs);
    ASSERT_EQ(jq_store_queue_update(st, "p", 1, -1), 0);
    ASSERT_EQ(jq_store_queue_update(st, "l", -1, 2), 0);
    ASSERT_EQ(jq_store_queue_update(st, "bad name", 1, -1), JQ_EINVAL);
    int64_t ids[8];
    ASSERT_EQ(claim_ids(st, 8, ids), 5); /* l, l, x, default, default */
    ASSERT_EQ(ids[0], b.ids[2]);
    ASSERT_EQ(ids[1], b.ids[3]);
    ASSERT_EQ(ids[2], b.ids[6]);
    ASSERT_EQ(ids[3], b.ids[5]);
    ASSERT_EQ(ids[4], b.ids[7]);
    ASSERT_EQ(claim_ids(st, 8, ids), 0); /* l is full, p paused */
    struct jq_queue_list list;
    ASSERT_EQ(jq_store_queue_list(st, &list), 0);
    ASSERT_EQ(list.n, 4);
    ASSERT_STREQ(list.queues[1].name, "l");
    ASSERT_EQ(list.queues[1].concurrency_limit, 2);
    ASSERT_EQ(list.queues[1].by_state[JQ_STATE_RUNNING], 2);
    ASSERT_EQ(list.queues[1].by_state[JQ_STATE_QUEUED], 1);
    ASSERT_TRUE(list.queues[2].paused && list.queues[2].by_state[JQ_STATE_QUEUED] == 2);
    jq_queue_list_cleanup(&list);
    /* Settings are durable; resume and lift the limit: the rest goes. */
    jq_store_close(st);
    st = open_store();
    ASSERT_EQ(claim_ids(st, 8, ids), 0);
    ASSERT_EQ(jq_store_queue_update(st, "p", 0, -1), 0);
    ASSERT_EQ(jq_store_queue_update(st, "l", -1, 0), 0);
    ASSERT_EQ(claim_ids(st, 8, ids), 3);
    ASSERT_EQ(ids[0], b.ids[0]);
    finish(st);
    batch_free(&b);
}

/* run_at in the future: scheduled until promoted; start_by passes: the
 * never-started job expires (a started one never does). */
/* Purge: a finished job with its history and key, not an unfinished one;
 * the oldest finished in batches; pages given back; sizes reported. */
static void test_purge_and_space(void)
{
    struct batch b;
    batch_make(&b, 30);
    struct jq_store *st = fresh_store();
    expect_pragma(st, "auto_vacuum", "2");
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 30, b.ids), 0);
    int64_t ids[30], oldest = -1;
    size_t n = 99;
    ASSERT_EQ(claim_ids(st, 29, ids), 29);
    static char big[64 * 1024];
    memset(big, 'x', sizeof(big));
    for (size_t i = 0; i < 29; i++) {
        struct jq_job_result r;
        jq_job_result_init(&r);
        r.state = JQ_STATE_SUCCEEDED;
        r.exit_code = 0;
        r.finished_at_ms = 1000 + (int64_t)i;
        r.out = (struct jq_output){big, sizeof(big), sizeof(big), false};
        struct jq_completion c = {ids[i], &r};
        ASSERT_EQ(jq_store_complete(st, &c, 1), 0);
    }
    enum jq_job_state state;
    ASSERT_EQ(jq_store_purge_job(st, b.ids[29], &state), JQ_ESTATE);
    ASSERT_EQ(state, JQ_STATE_QUEUED);
    ASSERT_EQ(jq_store_purge_job(st, b.ids[0], NULL), 0);
    ASSERT_EQ(jq_store_get_state(st, b.ids[0], &state), JQ_ENOTFOUND);
    ASSERT_EQ(jq_store_purge_job(st, b.ids[0], NULL), JQ_ENOTFOUND);
    struct jq_store_space before, after;
    ASSERT_EQ(jq_store_space(st, &before), 0);
    ASSERT_TRUE(before.database_bytes > 28 * (int64_t)sizeof(big));
    ASSERT_EQ(jq_store_purge_finished(st, 1010, ids, 5, &n, &oldest), 0); /* finished 1001..1005 */
    ASSERT_EQ(n, 5);
    ASSERT_EQ(ids[0], b.ids[1]);
    ASSERT_EQ(oldest, 1006);
    ASSERT_EQ(jq_store_purge_finished(st, 1010, ids, 30, &n, &oldest), 0);
    ASSERT_EQ(n, 5);
    ASSERT_EQ(oldest, 1011);
    ASSERT_EQ(jq_store_purge_finished(st, 1000000, ids, 30, &n, &oldest), 0);
    ASSERT_EQ(n, 18);
    ASSERT_EQ(oldest, 0);
    ASSERT_EQ(state_of(st, b.ids[29]), JQ_STATE_QUEUED);
    ASSERT_EQ(jq_store_maintain(st), 0);
    ASSERT_EQ(jq_store_space(st, &after), 0);
    fprintf(stderr, "database %lld -> %lld bytes, wal %lld -> %lld\n", (long long)before.database_bytes,
            (long long)after.database_bytes, (long long)before.wal_bytes, (long long)after.wal_bytes);
    ASSERT_TRUE(after.database_bytes < before.database_bytes / 4);
    ASSERT_EQ(after.wal_bytes, 0);
    finish(st);
    batch_free(&b);
}

static void test_scheduled_and_expired(void)
{
    struct batch b;
    batch_make(&b, 3);
    int64_t now = jq_now_ms(), next = -1, expired[4];
    size_t n = 9;
    b.specs[0].run_at_ms = now + 60000;
    b.specs[1].start_by_ms = now + 1000;
    b.specs[2].start_by_ms = now + 1000;
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 3, b.ids), 0);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_SCHEDULED);
    int64_t ids[4];
    ASSERT_EQ(claim_ids(st, 1, ids), 1); /* job 2 starts: it can no longer expire */
    ASSERT_EQ(ids[0], b.ids[1]);
    ASSERT_EQ(jq_store_expire_due(st, now, expired, 4, &n, &next), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(next, now + 1000);
    ASSERT_EQ(jq_store_expire_due(st, now + 1000, expired, 4, &n, &next), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(expired[0], b.ids[2]);
    ASSERT_EQ(next, 0);
    struct jq_job job = get_job(st, b.ids[2], false);
    ASSERT_EQ(job.state, JQ_STATE_EXPIRED);
    ASSERT_EQ(job.spec.start_by_ms, now + 1000);
    ASSERT_EQ(job.result.finished_at_ms, now + 1000);
    jq_job_cleanup(&job);
    ASSERT_EQ(jq_store_promote_due(st, now, &next), 0);
    ASSERT_EQ(next, now + 60000);
    ASSERT_EQ(jq_store_promote_due(st, now + 60000, &next), 0);
    ASSERT_EQ(state_of(st, b.ids[0]), JQ_STATE_QUEUED);
    job = get_job(st, b.ids[0], false);
    ASSERT_EQ(job.spec.run_at_ms, now + 60000); /* the asked time stays visible */
    ASSERT_STREQ(job.spec.queue, "default");
    jq_job_cleanup(&job);
    finish(st);
    batch_free(&b);
}

/* ---- a database as schema version 1 left it ---- */

/* The columns of v1 and v2 between priority and what v2 added. */
#define OLD_COLUMNS                                                                                    \
    " created_at_ms INTEGER NOT NULL, started_at_ms INTEGER NOT NULL DEFAULT 0,"                       \
    " finished_at_ms INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,"                  \
    " cancel_requested INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, signal INTEGER NOT NULL DEFAULT 0," \
    " core_dumped INTEGER NOT NULL DEFAULT 0, kill_reason INTEGER NOT NULL DEFAULT 0, error TEXT,"     \
    " stdout_bytes INTEGER NOT NULL DEFAULT 0, stdout_truncated INTEGER NOT NULL DEFAULT 0,"           \
    " stderr_bytes INTEGER NOT NULL DEFAULT 0, stderr_truncated INTEGER NOT NULL DEFAULT 0,"           \
    " duration_ms INTEGER NOT NULL DEFAULT 0, cpu_user_ms INTEGER NOT NULL DEFAULT 0,"                 \
    " cpu_sys_ms INTEGER NOT NULL DEFAULT 0, max_rss_kb INTEGER NOT NULL DEFAULT 0,"                   \
    " worker_pid INTEGER NOT NULL DEFAULT 0,"

/* Create an old database from schema; *ins = insert_sql prepared. */
static sqlite3 *make_old_database(const char *schema, const char *insert_sql, sqlite3_stmt **ins)
{
    sqlite3 *db = NULL;
    ASSERT_EQ(sqlite3_open(db_path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, schema, NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, insert_sql, -1, ins, NULL), SQLITE_OK);
    return db;
}

static const char v1_schema[] =
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 6), priority INTEGER NOT NULL,"
    OLD_COLUMNS " spec BLOB NOT NULL, stdout BLOB, stderr BLOB);"
    "CREATE INDEX jobs_claim ON jobs (state, priority DESC, id) WHERE state = 0;"
    "CREATE INDEX jobs_state ON jobs (state, id);"
    "PRAGMA application_id = 1785684593; PRAGMA user_version = 1;";

/* Rows: 1 queued, 2 running, 3 succeeded with output, 4 inserted then
 * deleted (so the AUTOINCREMENT counter is ahead of the last row). */
static void make_v1_database(void)
{
    sqlite3_stmt *ins = NULL;
    sqlite3 *db = make_old_database(v1_schema,
                                    "INSERT INTO jobs (state, priority, created_at_ms, attempt, exit_code, stdout, "
                                    "stdout_bytes, spec) VALUES (?1, 0, 1000, ?2, ?3, ?4, ?5, ?6)",
                                    &ins);
    static const int states[4] = {0, 1, 2, 2};
    for (int i = 0; i < 4; i++) {
        char tag[16];
        size_t len = 0;
        snprintf(tag, sizeof(tag), "old-%d", i + 1);
        unsigned char *blob = spec_v1_blob("/bin/echo", tag, 0, &len);
        ASSERT_TRUE(blob != NULL);
        sqlite3_bind_int(ins, 1, states[i]);
        sqlite3_bind_int(ins, 2, states[i] ? 1 : 0);
        sqlite3_bind_int(ins, 5, states[i] == 2 ? 5 : 0);
        if (states[i] == 2) {
            sqlite3_bind_int(ins, 3, 0);
            sqlite3_bind_blob(ins, 4, "hello", 5, SQLITE_STATIC);
        }
        sqlite3_bind_blob(ins, 6, blob, (int)len, SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        free(blob);
    }
    sqlite3_finalize(ins);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM jobs WHERE id = 4", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

static void test_migrate_v1_to_v2(void)
{
    setup();
    make_v1_database();
    struct jq_store *st = open_store();
    expect_user_version(st);
    expect_pragma(st, "integrity_check", "ok");
    expect_pragma(st, "application_id", "1785684593");
    static const enum jq_job_state want[3] = {JQ_STATE_QUEUED, JQ_STATE_RUNNING, JQ_STATE_SUCCEEDED};
    for (int i = 0; i < 3; i++) {
        struct jq_job job = get_job(st, i + 1, true);
        char tag[16];
        snprintf(tag, sizeof(tag), "old-%d", i + 1);
        ASSERT_EQ(job.state, want[i]);
        ASSERT_STREQ(job.spec.argv[1], tag);
        ASSERT_EQ(job.spec.timeout_ms, 1234);
        ASSERT_EQ(job.spec.retry.max_attempts, 1);
        ASSERT_EQ(job.n_attempts, 0);
        if (i == 2) {
            ASSERT_EQ(job.result.out.len, 5);
            ASSERT_EQ(memcmp(job.result.out.data, "hello", 5), 0);
        }
        jq_job_cleanup(&job);
    }
    /* The old running job is recovered as lost (default policy), with history. */
    int64_t n = 0, id = 0;
    ASSERT_EQ(jq_store_recover(st, &n), 0);
    ASSERT_EQ(n, 1);
    struct jq_job job = get_job(st, 2, true);
    ASSERT_EQ(job.state, JQ_STATE_LOST);
    ASSERT_EQ(job.n_attempts, 1);
    jq_job_cleanup(&job);
    /* Ids never reused: the counter moved over with the rows. */
    struct batch b;
    batch_make(&b, 1);
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 1, &id), 0);
    ASSERT_EQ(id, 5);
    int64_t claimed[2];
    ASSERT_EQ(claim_ids(st, 2, claimed), 2); /* the old queued job claims as before */
    char plan[512];
    ASSERT_EQ(jq_store_sqlite_claim_plan(st, plan, sizeof(plan)), 0);
    ASSERT_TRUE(strstr(plan, "jobs_claim") != NULL);
    jq_store_close(st);
    st = open_store(); /* and opens again without migrating twice */
    expect_user_version(st);
    finish(st);
    batch_free(&b);
}

/* ---- claims that share a transaction ---- */

static void cleanup_jobs(struct jq_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jq_job_cleanup(&jobs[i]);
}

/* Results recorded and the next jobs claimed in one call: the finished job
 * is final, the claimed ones running (attempt 1), in queue order. */
static void test_complete_claim_together(void)
{
    struct batch b;
    batch_make(&b, 4);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 4, b.ids), 0);
    int64_t first[1];
    ASSERT_EQ(claim_ids(st, 1, first), 1);
    struct jq_job_result res;
    fill_success(&res);
    struct jq_completion done = {first[0], &res};
    struct jq_job next[4];
    size_t n = 99;
    ASSERT_EQ(jq_store_complete_claim(st, &done, 1, 2, next, &n), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(next[0].id, b.ids[1]);
    ASSERT_EQ(next[1].id, b.ids[2]);
    ASSERT_EQ(next[0].attempt, 1);
    ASSERT_STREQ(next[1].spec.argv[1], tag_of(&b, 2));
    cleanup_jobs(next, n);
    ASSERT_EQ(state_of(st, first[0]), JQ_STATE_SUCCEEDED);
    ASSERT_EQ(state_of(st, b.ids[1]), JQ_STATE_RUNNING);
    ASSERT_EQ(state_of(st, b.ids[3]), JQ_STATE_QUEUED);
    ASSERT_EQ(jq_store_complete_claim(st, NULL, 0, 4, next, &n), 0); /* a plain claim */
    ASSERT_EQ(n, 1);
    cleanup_jobs(next, n);
    ASSERT_EQ(jq_store_complete_claim(st, &done, 1, 0, NULL, NULL), 0); /* no longer running: unchanged */
    finish(st);
    batch_free(&b);
}

/* A group stored and claimed in one call: the claim takes the queue's head
 * by priority, old jobs and the group's alike. */
static void test_enqueue_group_claim(void)
{
    struct batch b;
    batch_make(&b, 3);
    struct jq_store *st = fresh_store();
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 1, b.ids), 0); /* an older job, priority 0 */
    b.specs[2].priority = 5;
    struct jq_enqueue_req reqs[2] = {group_req(&b, 1, 1), group_req(&b, 2, 1)};
    struct jq_job claimed[2];
    size_t n = 0;
    ASSERT_EQ(jq_store_enqueue_group_claim(st, reqs, 2, 2, claimed, &n), 0);
    ASSERT_EQ(reqs[0].err, 0);
    ASSERT_EQ(reqs[1].err, 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(claimed[0].id, b.ids[2]); /* priority 5 first */
    ASSERT_EQ(claimed[1].id, b.ids[0]); /* then the oldest */
    cleanup_jobs(claimed, n);
    ASSERT_EQ(state_of(st, b.ids[1]), JQ_STATE_QUEUED);
    ASSERT_EQ(state_of(st, b.ids[2]), JQ_STATE_RUNNING);
    finish(st);
    batch_free(&b);
}

/* ---- a database as schema version 2 left it ---- */

static const char v2_schema[] =
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 7), priority INTEGER NOT NULL,"
    OLD_COLUMNS " run_at_ms INTEGER NOT NULL DEFAULT 0,"
    " spec BLOB NOT NULL, stdout BLOB, stderr BLOB);"
    "CREATE INDEX jobs_claim ON jobs (state, priority DESC, id) WHERE state = 0;"
    "CREATE INDEX jobs_state ON jobs (state, id);"
    "CREATE INDEX jobs_retry ON jobs (run_at_ms) WHERE state = 7;"
    "CREATE TABLE attempts (job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, started_at_ms INTEGER NOT NULL,"
    " finished_at_ms INTEGER NOT NULL, state INTEGER NOT NULL, exit_code INTEGER, signal INTEGER NOT NULL,"
    " kill_reason INTEGER NOT NULL, worker_pid INTEGER NOT NULL, error TEXT,"
    " PRIMARY KEY (job_id, attempt)) WITHOUT ROWID;"
    "PRAGMA application_id = 1785684593; PRAGMA user_version = 2;";

/* Rows: 1 queued, 2 in retry_wait (run_at 5000) after a failed attempt,
 * 3 inserted then deleted. No auto_vacuum, as v2 created databases. */
static void make_v2_database(void)
{
    sqlite3_stmt *ins = NULL;
    sqlite3 *db = make_old_database(v2_schema,
                                    "INSERT INTO jobs (state, priority, created_at_ms, attempt, run_at_ms, spec) "
                                    "VALUES (?1, 0, 1000, ?2, ?3, ?4)",
                                    &ins);
    for (int i = 0; i < 3; i++) {
        size_t len = 0;
        unsigned char *blob = spec_v1_blob("/bin/echo", "v2", 0, &len);
        ASSERT_TRUE(blob != NULL);
        sqlite3_bind_int(ins, 1, i == 1 ? 7 : 0);
        sqlite3_bind_int(ins, 2, i == 1 ? 1 : 0);
        sqlite3_bind_int(ins, 3, i == 1 ? 5000 : 0);
        sqlite3_bind_blob(ins, 4, blob, (int)len, SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
        free(blob);
    }
    sqlite3_finalize(ins);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO attempts VALUES (2, 1, 1100, 1200, 3, 3, 0, 0, 42, NULL);"
                           "DELETE FROM jobs WHERE id = 3",
                           NULL, NULL, NULL),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

static void test_migrate_v2_to_v3(void)
{
    setup();
    make_v2_database();
    struct jq_store *st = open_store();
    expect_user_version(st);
    expect_pragma(st, "integrity_check", "ok");
    expect_pragma(st, "auto_vacuum", "2"); /* converted once, by a VACUUM */
    struct jq_job job = get_job(st, 2, true);
    ASSERT_EQ(job.state, JQ_STATE_RETRY_WAIT);
    ASSERT_EQ(job.run_at_ms, 5000);
    ASSERT_EQ(job.n_attempts, 1);
    ASSERT_EQ(job.attempts[0].worker_pid, 42);
    ASSERT_STREQ(job.spec.queue, "default");
    ASSERT_STREQ(job.spec.argv[1], "v2");
    jq_job_cleanup(&job);
    /* The old retry_wait row is due through the new timer index. */
    int64_t next = 0, id = 0, ids[2];
    ASSERT_EQ(jq_store_promote_due(st, 5000, &next), 0);
    ASSERT_EQ(state_of(st, 2), JQ_STATE_QUEUED);
    ASSERT_EQ(claim_ids(st, 2, ids), 2);
    struct batch b;
    batch_make(&b, 1);
    ASSERT_EQ(jq_store_enqueue(st, b.specs, 1, &id), 0);
    ASSERT_EQ(id, 4); /* ids never reused */
    jq_store_close(st);
    st = open_store();
    expect_user_version(st);
    finish(st);
    batch_free(&b);
}

static const struct jq_test_case cases[] = {
    {"migrate_v2_to_v3", test_migrate_v2_to_v3},
    {"queue_plans_use_indexes", test_queue_plans_use_indexes},
    {"claim_skips_paused_and_limited", test_claim_skips_paused_and_limited},
    {"scheduled_and_expired", test_scheduled_and_expired},
    {"purge_and_space", test_purge_and_space},
    {"open_creates_schema", test_open_creates_schema},
    {"wal_synchronous_full", test_wal_synchronous_full},
    {"reopen_keeps_data", test_reopen_keeps_data},
    {"newer_version_refused", test_newer_version_refused},
    {"garbage_file_refused", test_garbage_file_refused},
    {"db_file_mode", test_db_file_mode},
    {"claim_plan_uses_index", test_claim_plan_uses_index},
    {"enqueue_batch_ids", test_enqueue_batch_ids},
    {"enqueue_all_or_nothing", test_enqueue_all_or_nothing},
    {"enqueue_full_disk", test_enqueue_full_disk},
    {"enqueue_group_isolates_failures", test_enqueue_group_isolates_failures},
    {"enqueue_group_full_disk", test_enqueue_group_full_disk},
    {"claim_priority_then_fifo", test_claim_priority_then_fifo},
    {"claim_full_spec", test_claim_full_spec},
    {"claim_more_than_available", test_claim_more_than_available},
    {"complete_claim_together", test_complete_claim_together},
    {"enqueue_group_claim", test_enqueue_group_claim},
    {"complete_stores_results", test_complete_stores_results},
    {"get_with_and_without_output", test_get_with_and_without_output},
    {"get_unknown_id", test_get_unknown_id},
    {"list_filter_and_pages", test_list_filter_and_pages},
    {"list_with_output", test_list_with_output},
    {"cancel_queued", test_cancel_queued},
    {"mark_cancel_requested", test_mark_cancel_requested},
    {"recover_running_to_lost", test_recover_running_to_lost},
    {"counts", test_counts},
    {"concurrent_enqueue", test_concurrent_enqueue},
    {"deep_queue_claim", test_deep_queue_claim},
    {"retry_until_attempts_run_out", test_retry_until_attempts_run_out},
    {"retry_wait_and_promote", test_retry_wait_and_promote},
    {"recover_by_policy", test_recover_by_policy},
    {"lost_shutdown_cancel_requeue", test_lost_shutdown_cancel_requeue},
    {"migrate_v1_to_v2", test_migrate_v1_to_v2},
};

JQ_TEST_MAIN(cases)
