/* store_sqlite_queues.c: named queues — their settings (pause, concurrency
 * limit) and counts, and the claim's choice of jobs when some queue is
 * paused or limited.
 *
 * DESIGN: a queue that is neither paused nor limited needs nothing from
 * the claim, so while every queue is like that (the common case) the claim
 * takes the global head of jobs_claim as before. Otherwise it walks the
 * distinct queues that hold queued jobs (one O(log n) skip through
 * jobs_queue_claim per queue), asks each open queue for its best
 * candidates (at most what the queue may still start), and merges them by
 * priority, then id. A paused queue costs one probe, however deep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jq_limits.h"
#include "log.h"
#include "store_sqlite_int.h"

void jq_queue_list_cleanup(struct jq_queue_list *list)
{
    if (!list)
        return;
    free(list->queues);
    list->queues = NULL;
    list->n = 0;
}

/* A paused or limited queue, as one claim sees it. */
struct gate {
    char name[JQ_MAX_QUEUE_NAME_BYTES + 1];
    bool paused;
    int64_t limit;   /* 0 = none */
    int64_t running;
};

struct candidate {
    int64_t id;
    int32_t priority;
};

/* A growing array of candidates. */
struct candidates {
    struct candidate *v;
    size_t n, cap;
};

static int push(struct candidates *c, int64_t id, int32_t priority)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct candidate *grown = realloc(c->v, cap * sizeof(*grown));
        if (!grown)
            return JQ_ENOMEM;
        c->v = grown;
        c->cap = cap;
    }
    c->v[c->n++] = (struct candidate){id, priority};
    return 0;
}

static void copy_name(char *dst, sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    snprintf(dst, JQ_MAX_QUEUE_NAME_BYTES + 1, "%s", t ? (const char *)t : "");
}

static struct gate *gate_find(struct gate *gates, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(gates[i].name, name) == 0)
            return &gates[i];
    return NULL;
}

/* The paused or limited queues (at most JQ_MAX_QUEUES) into *gates_out
 * (heap, allocated only when there is one: the common case costs one index
 * probe and no allocation). */
static int read_gates_locked(struct jq_sqlite_store *s, struct gate **gates_out, size_t *n_out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_QUEUES_BLOCKED);
    struct gate *gates = NULL;
    size_t n = 0;
    int err = 0, rc;
    while (err == 0 && n < JQ_MAX_QUEUES && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (!gates && !(gates = calloc(JQ_MAX_QUEUES, sizeof(*gates)))) {
            err = JQ_ENOMEM;
            break;
        }
        copy_name(gates[n].name, stmt, 0);
        gates[n].paused = sqlite3_column_int(stmt, 1) != 0;
        gates[n].limit = sqlite3_column_int64(stmt, 2);
        n++;
    }
    if (err == 0 && n < JQ_MAX_QUEUES && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (queue gates)");
    sqlite3_reset(stmt);
    *gates_out = gates;
    *n_out = n;
    return err;
}

static int read_running_locked(struct jq_sqlite_store *s, struct gate *gates, size_t n)
{
    char name[JQ_MAX_QUEUE_NAME_BYTES + 1];
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_RUNNING_BY_QUEUE);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        copy_name(name, stmt, 0);
        struct gate *g = gate_find(gates, n, name);
        if (g)
            g->running = sqlite3_column_int64(stmt, 1);
    }
    int err = rc != SQLITE_DONE ? jq_sqlite_fail(s->db, rc, "SELECT (running by queue)") : 0;
    sqlite3_reset(stmt);
    return err;
}

/* The next queue name after `after` that holds queued jobs; "" when none. */
static int next_queue_locked(struct jq_sqlite_store *s, const char *after, char *out)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_QUEUE_NEXT);
    sqlite3_bind_text(stmt, 1, after, -1, SQLITE_TRANSIENT);
    int err = 0, rc = sqlite3_step(stmt);
    out[0] = '\0';
    if (rc == SQLITE_ROW)
        copy_name(out, stmt, 0);
    else if (rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (next queue)");
    sqlite3_reset(stmt);
    return err;
}

/* How many jobs of queue name this claim may start (max at most). */
static size_t room_of(const struct gate *g, size_t max)
{
    if (!g)
        return max;
    if (g->paused)
        return 0;
    if (g->limit <= 0)
        return max;
    int64_t room = g->limit - g->running;
    return room <= 0 ? 0 : (size_t)room < max ? (size_t)room : max;
}

static int add_candidates_locked(struct jq_sqlite_store *s, const char *queue, size_t room, struct candidates *c)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_QUEUE_CANDIDATES);
    sqlite3_bind_text(stmt, 1, queue, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, room > INT32_MAX ? INT32_MAX : (int64_t)room);
    int err = 0, rc;
    while (err == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        err = push(c, sqlite3_column_int64(stmt, 0), sqlite3_column_int(stmt, 1));
    if (err == 0 && rc != SQLITE_DONE)
        err = jq_sqlite_fail(s->db, rc, "SELECT (queue candidates)");
    sqlite3_reset(stmt);
    return err;
}

static int by_priority_then_id(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Walk the queues holding queued jobs (the first JQ_MAX_QUEUES of them). */
static int collect_locked(struct jq_sqlite_store *s, const struct gate *gates, size_t n_gates, size_t max,
                          struct candidates *cands)
{
    char queue[JQ_MAX_QUEUE_NAME_BYTES + 1] = "";
    int err = 0;
    for (size_t q = 0; err == 0 && q < JQ_MAX_QUEUES; q++) {
        err = next_queue_locked(s, queue, queue);
        if (err || !queue[0])
            break;
        size_t room = room_of(gate_find((struct gate *)gates, n_gates, queue), max);
        if (room > 0)
            err = add_candidates_locked(s, queue, room, cands);
    }
    return err;
}

int jq_sqlite_gated_claim_ids_locked(struct jq_sqlite_store *s, size_t max, int64_t *ids_out, size_t *n_out,
                                     bool *gated_out)
{
    struct gate *gates = NULL;
    struct candidates cands = {NULL, 0, 0};
    size_t n_gates = 0;
    bool limited = false;
    *n_out = 0;
    *gated_out = false;
    int err = read_gates_locked(s, &gates, &n_gates);
    if (err || n_gates == 0)
        goto out;
    *gated_out = true;
    for (size_t i = 0; i < n_gates; i++)
        limited = limited || gates[i].limit > 0;
    if (limited)
        err = read_running_locked(s, gates, n_gates);
    if (err == 0)
        err = collect_locked(s, gates, n_gates, max, &cands);
    if (err == 0 && cands.n > 0) {
        qsort(cands.v, cands.n, sizeof(*cands.v), by_priority_then_id);
        for (size_t i = 0; i < cands.n && i < max; i++)
            ids_out[(*n_out)++] = cands.v[i].id;
    }
out:
    free(cands.v);
    free(gates);
    return err;
}

/* ---- settings and counts ---- */

int jq_sqlite_queue_update(struct jq_store *st, const char *name, int paused, int64_t limit)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    if (!jq_queue_name_ok(name) || paused > 1 || limit > INT32_MAX)
        return JQ_EINVAL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_QUEUE_UPSERT);
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    if (paused >= 0)
        sqlite3_bind_int(stmt, 2, paused);
    if (limit >= 0)
        sqlite3_bind_int64(stmt, 3, limit);
    /* One statement: its own transaction. */
    int err = jq_sqlite_exec_locked(s, JQ_SQL_QUEUE_UPSERT, "UPSERT (queue)");
    pthread_mutex_unlock(&s->mu);
    return err;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct jq_queue_info *)a)->name, ((const struct jq_queue_info *)b)->name);
}

/* The entry of list for name, appended (zeroed) if missing; NULL when the
 * list is full. list->queues has room for JQ_MAX_QUEUES. */
static struct jq_queue_info *entry_for(struct jq_queue_list *list, const char *name, size_t sorted)
{
    struct jq_queue_info key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    struct jq_queue_info *e = bsearch(&key, list->queues, sorted, sizeof(key), by_name);
    if (!e && list->n > 0 && strcmp(list->queues[list->n - 1].name, name) == 0)
        e = &list->queues[list->n - 1];
    if (e || list->n == JQ_MAX_QUEUES)
        return e;
    e = &list->queues[list->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    return e;
}

/* Counts (in queue order) first, then the settings of configured queues. */
static int read_counts_locked(struct jq_sqlite_store *s, struct jq_queue_list *list)
{
    char name[JQ_MAX_QUEUE_NAME_BYTES + 1];
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_QUEUE_COUNTS);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        copy_name(name, stmt, 0);
        struct jq_queue_info *e = entry_for(list, name, 0);
        int state = sqlite3_column_int(stmt, 1);
        if (e && state >= 0 && state < JQ_STATE_COUNT)
            e->by_state[state] = sqlite3_column_int64(stmt, 2);
    }
    int err = rc != SQLITE_DONE ? jq_sqlite_fail(s->db, rc, "SELECT (queue counts)") : 0;
    sqlite3_reset(stmt);
    return err;
}

static int read_settings_locked(struct jq_sqlite_store *s, struct jq_queue_list *list)
{
    char name[JQ_MAX_QUEUE_NAME_BYTES + 1];
    size_t sorted = list->n;
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_QUEUES_ALL);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        copy_name(name, stmt, 0);
        struct jq_queue_info *e = entry_for(list, name, sorted);
        if (e) {
            e->paused = sqlite3_column_int(stmt, 1) != 0;
            e->concurrency_limit = sqlite3_column_int64(stmt, 2);
        }
    }
    int err = rc != SQLITE_DONE ? jq_sqlite_fail(s->db, rc, "SELECT (queues)") : 0;
    sqlite3_reset(stmt);
    return err;
}

int jq_sqlite_queue_list(struct jq_store *st, struct jq_queue_list *out)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    memset(out, 0, sizeof(*out));
    out->queues = calloc(JQ_MAX_QUEUES, sizeof(*out->queues));
    if (!out->queues)
        return JQ_ENOMEM;
    pthread_mutex_lock(&s->mu);
    int err = read_counts_locked(s, out);
    if (err == 0)
        err = read_settings_locked(s, out);
    pthread_mutex_unlock(&s->mu);
    if (err)
        jq_queue_list_cleanup(out);
    else
        qsort(out->queues, out->n, sizeof(*out->queues), by_name);
    return err;
}
