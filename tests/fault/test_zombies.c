/* test_zombies.c: fault test 8 — no zombie under bursts of exits. 5,000
 * jobs on 4 workers, submitted in batches of 200; each batch holds one job
 * that starts 200 orphans (each "(sleep 0.5 &)": the subshell exits, the
 * sleep is re-parented to the worker, a subreaper) which all end within a
 * fraction of a second of each other while the job still runs, and 199
 * short jobs with known exit statuses. A sampler scans jobqd's descendants
 * in /proc every 10 ms while this runs. A process is briefly a zombie
 * between its exit and its reaping by nature, so the test fails on a
 * zombie that survives 250 ms (25 samples), and prints how many fleeting
 * sightings there were. Every job must end with its exit status. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_util.h"

#define BATCH 200
#define BATCHES 25
#define TOTAL (BATCH * BATCHES)
#define PERSIST_MS 250
#define MAX_TRACK 4096

struct sampler {
    pid_t root;
    atomic_bool stop;
    size_t samples, sightings, persistent;
    int64_t worst_ms;
    pid_t pid[MAX_TRACK];
    int64_t since[MAX_TRACK];
    size_t n;
};

static void track(struct sampler *s, const pid_t *z, size_t nz, int64_t now)
{
    pid_t np[MAX_TRACK];
    int64_t ns[MAX_TRACK];
    size_t n = 0;
    for (size_t i = 0; i < nz && n < MAX_TRACK; i++) {
        int64_t since = now;
        for (size_t k = 0; k < s->n; k++)
            if (s->pid[k] == z[i])
                since = s->since[k];
        if (now - since > s->worst_ms)
            s->worst_ms = now - since;
        if (now - since >= PERSIST_MS && since != -1) {
            fprintf(stderr, "zombie %d for %lld ms\n", (int)z[i], (long long)(now - since));
            s->persistent++;
            since = -1; /* counted once */
        }
        np[n] = z[i];
        ns[n++] = since;
    }
    memcpy(s->pid, np, n * sizeof(pid_t));
    memcpy(s->since, ns, n * sizeof(int64_t));
    s->n = n;
}

static void *sample(void *arg)
{
    struct sampler *s = arg;
    static pid_t desc[8192];
    pid_t z[MAX_TRACK];
    while (!atomic_load(&s->stop)) {
        size_t n = jq_it_proc_descendants(s->root, desc, 8192), nz = 0;
        int64_t now = jq_it_now_ms();
        for (size_t i = 0; i < n && i < 8192 && nz < MAX_TRACK; i++)
            if (jq_it_proc_state(desc[i]) == 'Z')
                z[nz++] = desc[i];
        s->samples++;
        s->sightings += nz;
        track(s, z, nz, now);
        jq_it_sleep_ms(10);
    }
    return NULL;
}

/* One batch: job 0 starts the orphans, the others exit with i % 7. */
static char *batch_body(int b)
{
    size_t cap = 64 + BATCH * 96;
    char *body = malloc(cap), *p = body;
    ASSERT_TRUE(body != NULL);
    p += sprintf(p, "{\"jobs\":[");
    for (int i = 0; i < BATCH; i++) {
        if (i == 0)
            p += sprintf(p, "{\"command\":[\"sh\",\"-c\",\"i=0; while [ $i -lt 200 ]; do (sleep 0.5 &); "
                            "i=$((i+1)); done; sleep 1\"]}");
        else
            p += sprintf(p, ",{\"command\":[\"sh\",\"-c\",\"exit %d\"]}", (b * BATCH + i) % 7);
    }
    sprintf(p, "]}");
    return body;
}

static int64_t submit_batch(const struct jq_it_server *srv, int b)
{
    struct jq_it_resp r;
    char *body = batch_body(b);
    jq_it_post(srv, "/v1/jobs", body, &r);
    free(body);
    ASSERT_EQ(r.status, 201);
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(r.json, "jobs");
    ASSERT_EQ(cJSON_GetArraySize(jobs), BATCH);
    int64_t first = jq_it_json_int(cJSON_GetArrayItem(jobs, 0), "id", 0);
    jq_it_resp_cleanup(&r);
    return first;
}

/* Every job terminal with the exit status it was given. */
static void check_all(const struct jq_it_server *srv, const int64_t *first)
{
    size_t checked = 0;
    for (int b = 0; b < BATCHES; b++) {
        char path[128];
        struct jq_it_resp r;
        snprintf(path, sizeof(path), "/v1/jobs?limit=%d&after=%lld", BATCH, (long long)first[b] - 1);
        jq_it_get(srv, path, &r);
        const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(r.json, "jobs"), *j;
        ASSERT_EQ(cJSON_GetArraySize(jobs), BATCH);
        int i = 0;
        cJSON_ArrayForEach(j, jobs)
        {
            ASSERT_STREQ(jq_it_json_str(j, "state"), i == 0 ? "succeeded" : ((b * BATCH + i) % 7 ? "failed" : "succeeded"));
            ASSERT_EQ(jq_it_json_int(j, "exit_code", -1), i == 0 ? 0 : (b * BATCH + i) % 7);
            i++;
            checked++;
        }
        jq_it_resp_cleanup(&r);
    }
    ASSERT_EQ(checked, TOTAL);
}

static void exit_bursts(void)
{
    static const char *const args[] = {"--workers", "4", "--log-level", "info", NULL};
    struct jq_it_server srv;
    static struct sampler s;
    int64_t first[BATCHES];
    jq_it_start(&srv, args, NULL);
    ASSERT_TRUE(jq_ft_wait_ready(&srv, 5000));
    s.root = srv.pid;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, sample, &s), 0);
    int64_t t0 = jq_it_now_ms();
    for (int b = 0; b < BATCHES; b++)
        first[b] = submit_batch(&srv, b);
    jq_ft_wait_drained(&srv, 60000);
    jq_it_sleep_ms(600); /* the last orphans end */
    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    int64_t took = jq_it_now_ms() - t0;
    check_all(&srv, first);
    printf("exit_bursts: %d jobs in %lld ms, %zu samples, %zu fleeting zombie sightings (longest %lld ms), "
           "%zu zombies older than %d ms\n",
           TOTAL, (long long)took, s.samples, s.sightings, (long long)s.worst_ms, s.persistent, PERSIST_MS);
    ASSERT_EQ(s.persistent, 0);
    ASSERT_EQ(jq_it_proc_zombies(srv.pid), 0);
    jq_it_finish(&srv);
}

static const struct jq_test_case cases[] = {
    {"exit_bursts", exit_bursts},
};

JQ_TEST_MAIN(cases)
