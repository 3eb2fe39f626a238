/* test_shutdown.c: fault test 5 — graceful shutdown under load. Four
 * threads keep submitting while SIGTERM arrives. A running job that ends
 * within --shutdown-grace-ms (1000 in the harness) finishes normally; a
 * longer one is killed and resolved (lost, kill_reason shutdown); jobqd
 * exits 0 and leaves no process; a POST sent after the server was seen
 * refusing (503) is never accepted; after a restart nothing is running and
 * every acknowledged job exists. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "fault_util.h"
#include "job.h"

#define THREADS 4
#define PER_THREAD 400

struct post_rec {
    int64_t sent_ms, recv_ms, id;
    long status;
};

struct submitter {
    const struct jq_it_server *srv;
    atomic_bool *stop;
    struct post_rec rec[PER_THREAD];
    size_t n;
};

static void *submit_loop(void *arg)
{
    struct submitter *s = arg;
    while (s->n < PER_THREAD && !atomic_load(s->stop)) {
        struct post_rec *r = &s->rec[s->n++];
        r->sent_ms = jq_it_now_ms();
        r->id = jq_ft_try_submit(s->srv, "{\"command\":[\"true\"]}", &r->status);
        r->recv_ms = jq_it_now_ms();
        if (r->status == 0)
            break; /* the listener is closed */
        jq_it_sleep_ms(5);
    }
    return NULL;
}

struct tally {
    size_t accepted, refused_503, refused_conn, late_201, other;
    int64_t first_503_ms;
};

static void tally_posts(const struct submitter *subs, struct tally *t)
{
    memset(t, 0, sizeof(*t));
    t->first_503_ms = INT64_MAX;
    for (int i = 0; i < THREADS; i++)
        for (size_t k = 0; k < subs[i].n; k++)
            if (subs[i].rec[k].status == 503 && subs[i].rec[k].recv_ms < t->first_503_ms)
                t->first_503_ms = subs[i].rec[k].recv_ms;
    for (int i = 0; i < THREADS; i++)
        for (size_t k = 0; k < subs[i].n; k++) {
            const struct post_rec *r = &subs[i].rec[k];
            t->accepted += r->status == 201;
            t->refused_503 += r->status == 503;
            t->refused_conn += r->status == 0;
            t->other += r->status != 201 && r->status != 503 && r->status != 0;
            t->late_201 += r->status == 201 && r->sent_ms > t->first_503_ms;
        }
}

static void shutdown_under_load(void)
{
    static const char *const args[] = {"--workers", "3", NULL};
    struct jq_it_server srv;
    char mark[64], body[512];
    jq_it_marker(mark, sizeof(mark));
    jq_it_start(&srv, args, NULL);
    ASSERT_TRUE(jq_ft_wait_ready(&srv, 5000));
    snprintf(body, sizeof(body), "{\"command\":[\"%s\",\"--marker\",\"%s\",\"--sleep-ms\",\"30000\"]}",
             jq_it_spawner(), mark);
    int64_t long_job = jq_it_submit(&srv, body);
    int64_t short_job = jq_it_submit(&srv, "{\"command\":[\"sh\",\"-c\",\"sleep 0.5; echo short-ok\"]}");
    jq_it_wait_state(&srv, long_job, "running", 5);
    jq_it_wait_state(&srv, short_job, "running", 5);

    atomic_bool stop = false;
    static struct submitter subs[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        subs[i].srv = &srv;
        subs[i].stop = &stop;
        subs[i].n = 0;
        ASSERT_EQ(pthread_create(&th[i], NULL, submit_loop, &subs[i]), 0);
    }
    jq_it_sleep_ms(150);
    jq_it_stop_with(&srv, SIGTERM); /* asserts exit 0 and no process left */
    atomic_store(&stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct tally t;
    tally_posts(subs, &t);
    printf("shutdown_under_load: %zu accepted, %zu refused with 503, %zu refused connections, %zu late 201, "
           "%zu other\n",
           t.accepted, t.refused_503, t.refused_conn, t.late_201, t.other);
    ASSERT_EQ(t.late_201, 0);
    ASSERT_EQ(t.other, 0);
    ASSERT_GE(t.refused_503 + t.refused_conn, 1);

    ASSERT_EQ(jq_ft_db_count_state(srv.db_path, JQ_STATE_RUNNING), 0); /* nothing left running on disk */
    jq_ft_assert_db_ok(srv.db_path);
    jq_it_restart(&srv);
    cJSON *job = jq_ft_get_job(&srv, short_job, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "succeeded");
    ASSERT_STREQ(jq_it_json_str(job, "stdout"), "short-ok\n");
    cJSON_Delete(job);
    job = jq_ft_get_job(&srv, long_job, 0);
    ASSERT_STREQ(jq_it_json_str(job, "state"), "lost");
    ASSERT_STREQ(jq_it_json_str(job, "kill_reason"), "shutdown");
    cJSON_Delete(job);
    for (int i = 0; i < THREADS; i++)
        for (size_t k = 0; k < subs[i].n; k++)
            if (subs[i].rec[k].status == 201) {
                job = jq_ft_get_job(&srv, subs[i].rec[k].id, 0);
                ASSERT_TRUE(job != NULL);
                cJSON_Delete(job);
            }
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"shutdown_under_load", shutdown_under_load},
};

JQ_TEST_MAIN(cases)
