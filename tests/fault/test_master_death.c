/* test_master_death.c: fault tests 1 and 7 — the master SIGKILLed.
 *
 * master_kill_seeds: 20 seeds; each starts jobqd (2 workers), lets 4
 * client threads submit short jobs that append a line to their own marker
 * file, SIGKILLs the master after a seeded 50..500 ms, waits until no
 * process of it is left, checks the database with PRAGMA integrity_check,
 * restarts on the same database and checks every acknowledged job: it
 * exists, it ends terminal (never stuck running), and it ran at most
 * max_attempts times (lines in its marker file).
 *
 * master_death_tree: 8 running jobs, each a tree with children, a
 * grandchild and a daemonised (setsid, double-forked) grandchild: after a
 * SIGKILL of the master, no worker and no job process is left within 2 s. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault_util.h"

#define SEEDS 20
#define THREADS 4
#define PER_THREAD 25 /* submissions per thread and seed, at most */

struct acked {
    int64_t id;
    char name[32]; /* marker file name */
};

struct submitter {
    const struct jq_it_server *srv;
    const char *markdir;
    atomic_bool *stop;
    unsigned seed;
    int tid;
    struct acked acked[PER_THREAD];
    size_t n_acked;
};

static void *submit_loop(void *arg)
{
    struct submitter *s = arg;
    for (int k = 0; k < PER_THREAD && !atomic_load(s->stop); k++) {
        char name[32], body[1024];
        snprintf(name, sizeof(name), "t%d-%d", s->tid, k);
        snprintf(body, sizeof(body),
                 "{\"command\":[\"sh\",\"-c\",\"echo x >> \\\"$MARKDIR\\\"/%s; sleep 0.0%u\"],"
                 "\"env\":{\"MARKDIR\":\"%s\"},\"timeout_ms\":20000}",
                 name, rand_r(&s->seed) % 5, s->markdir);
        long status = 0;
        int64_t id = jq_ft_try_submit(s->srv, body, &status);
        if (id > 0) {
            s->acked[s->n_acked].id = id;
            snprintf(s->acked[s->n_acked].name, sizeof(s->acked[0].name), "%s", name);
            s->n_acked++;
        } else if (status == 0) {
            break; /* the master is gone */
        }
        jq_it_sleep_ms((int)(rand_r(&s->seed) % 15));
    }
    return NULL;
}

/* No marker file may hold more lines than one execution allows. */
static size_t max_lines_in_dir(const char *dir)
{
    size_t most = 0;
    DIR *d = opendir(dir);
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX + 64];
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        size_t n = jq_ft_count_lines(path);
        most = n > most ? n : most;
    }
    closedir(d);
    return most;
}

struct totals {
    size_t acked, vanished, leftover, terminal, lost_state, most_runs;
};

/* Every acknowledged job of one thread after the restart. */
static void check_acked(const struct jq_it_server *srv, const char *markdir, const struct submitter *s,
                        struct totals *t)
{
    for (size_t i = 0; i < s->n_acked; i++) {
        char path[PATH_MAX + 64];
        cJSON *job = jq_ft_wait_terminal(srv, s->acked[i].id, 30);
        t->acked++;
        if (!job) {
            fprintf(stderr, "job %lld acknowledged but gone\n", (long long)s->acked[i].id);
            t->vanished++;
            continue;
        }
        t->terminal++;
        const char *st = jq_it_json_str(job, "state");
        t->lost_state += st && strcmp(st, "lost") == 0;
        long long max_attempts = jq_it_json_int(job, "max_attempts", 1);
        snprintf(path, sizeof(path), "%s/%s", markdir, s->acked[i].name);
        size_t runs = jq_ft_count_lines(path);
        if ((long long)runs > max_attempts)
            JQ_FAIL_AT(__FILE__, __LINE__, "job %lld ran %zu times (max_attempts %lld)", (long long)s->acked[i].id,
                       runs, max_attempts);
        cJSON_Delete(job);
    }
}

static void one_seed(unsigned seed, struct totals *t)
{
    static const char *const args[] = {"--workers", "2", NULL};
    struct jq_it_server srv;
    char markdir[PATH_MAX + 16];
    jq_it_start(&srv, args, NULL);
    snprintf(markdir, sizeof(markdir), "%s/marks", srv.dir);
    ASSERT_EQ(mkdir(markdir, 0700), 0);
    ASSERT_TRUE(jq_ft_wait_ready(&srv, 5000)); /* also the first curl call, before any thread */

    atomic_bool stop = false;
    struct submitter subs[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        subs[i] = (struct submitter){&srv, markdir, &stop, seed * 7919u + (unsigned)i, i, {{0, ""}}, 0};
        ASSERT_EQ(pthread_create(&th[i], NULL, submit_loop, &subs[i]), 0);
    }
    unsigned r = seed;
    jq_it_sleep_ms(50 + (int)(rand_r(&r) % 451));
    size_t left = jq_it_kill9(&srv, 2000);
    atomic_store(&stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    t->leftover += left;
    ASSERT_EQ(left, 0);
    jq_ft_assert_db_ok(srv.db_path);

    jq_it_restart(&srv);
    for (int i = 0; i < THREADS; i++)
        check_acked(&srv, markdir, &subs[i], t);
    jq_ft_wait_drained(&srv, 30000); /* unacknowledged ones too: none stuck running */
    size_t most = max_lines_in_dir(markdir);
    t->most_runs = most > t->most_runs ? most : t->most_runs;
    ASSERT_TRUE(most <= 1); /* unacknowledged submissions too: at most once by default */
    jq_it_stop(&srv);
    jq_ft_assert_db_ok(srv.db_path);
    jq_it_finish(&srv);
}

static void master_kill_seeds(void)
{
    struct totals t = {0};
    for (unsigned seed = 1; seed <= SEEDS; seed++)
        one_seed(seed, &t);
    printf("master_kill_seeds: seeds %d, acknowledged jobs checked %zu, lost (vanished) %zu, "
           "leftover processes %zu; in state lost %zu; most executions of one job %zu\n",
           SEEDS, t.acked, t.vanished, t.leftover, t.lost_state, t.most_runs);
    ASSERT_EQ(t.vanished, 0);
    ASSERT_EQ(t.leftover, 0);
    ASSERT_EQ(t.terminal, t.acked);
}

static void master_death_tree(void)
{
    static const char *const args[] = {"--workers", "8", NULL};
    struct jq_it_server srv;
    char mark[64], body[1024];
    int64_t ids[8];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, args, NULL);
    ASSERT_TRUE(jq_ft_wait_ready(&srv, 5000));
    snprintf(body, sizeof(body),
             "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--children\",\"2\",\"--grandchild\",\"--double-fork\","
             "\"--sleep-ms\",\"100000\"]}",
             jq_it_spawner(), mark);
    for (int i = 0; i < 8; i++)
        ids[i] = jq_it_submit(&srv, body);
    /* leader, 2 children, child + grandchild, the daemon: 6 per job */
    ASSERT_EQ(jq_it_proc_wait_found(mark, 48, 10000), 48);
    ASSERT_EQ(jq_ft_worker_count(&srv), 8);

    int64_t t0 = jq_it_now_ms();
    size_t left = jq_it_kill9(&srv, 2000);
    int64_t took = jq_it_now_ms() - t0;
    printf("master_death_tree: %zu process(es) left, all gone after %lld ms\n", left, (long long)took);
    ASSERT_EQ(left, 0);
    ASSERT_TRUE(took < 2000);
    ASSERT_EQ(jq_it_proc_find(mark, NULL, 0), 0);

    jq_it_restart(&srv); /* the 8 jobs are resolved, none stuck running */
    for (int i = 0; i < 8; i++) {
        cJSON *job = jq_ft_wait_terminal(&srv, ids[i], 10);
        ASSERT_TRUE(job != NULL);
        cJSON_Delete(job);
    }
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"master_kill_seeds", master_kill_seeds},
    {"master_death_tree", master_death_tree},
};

JQ_TEST_MAIN(cases)
