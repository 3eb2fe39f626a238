/* store_sqlite_idem.c: idempotent submission — the jobs and their key are
 * written in one transaction, and a key seen before answers with the jobs
 * it created instead of new ones.
 *
 * DESIGN: the key is the idempotency table's primary key, and the lookup
 * and the insert happen inside one BEGIN IMMEDIATE transaction, so two
 * submissions with the same key (from any thread or connection) can never
 * both insert: the second sees the first's row, or fails on the unique key.
 * A batch's ids are consecutive (one writer inserts them in a row), so
 * first_job_id and n_jobs name all of them. The key goes when its first
 * job is purged (store_sqlite_purge.c). */
#include <string.h>

#include "log.h"
#include "store_sqlite_int.h"

/* The stored row of key: *found, its hash, its jobs. */
struct idem_row {
    bool found;
    unsigned char sha256[JQ_STORE_BODY_HASH_BYTES];
    int64_t first_job_id;
    int64_t n_jobs;
};

static int read_key_locked(struct jq_sqlite_store *s, const char *key, struct idem_row *row)
{
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_IDEM_GET);
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    int err = 0, rc = sqlite3_step(stmt);
    memset(row, 0, sizeof(*row));
    if (rc == SQLITE_ROW) {
        const void *hash = sqlite3_column_blob(stmt, 0);
        row->found = true;
        if (hash && sqlite3_column_bytes(stmt, 0) == JQ_STORE_BODY_HASH_BYTES)
            memcpy(row->sha256, hash, JQ_STORE_BODY_HASH_BYTES);
        row->first_job_id = sqlite3_column_int64(stmt, 1);
        row->n_jobs = sqlite3_column_int64(stmt, 2);
    } else if (rc != SQLITE_DONE) {
        err = jq_sqlite_fail(s->db, rc, "SELECT (idempotency key)");
    }
    sqlite3_reset(stmt);
    return err;
}

static int insert_key_locked(struct jq_sqlite_store *s, const char *key, const unsigned char *sha256,
                             const int64_t *ids, size_t n, int64_t now)
{
    if (ids[n - 1] - ids[0] != (int64_t)n - 1) {
        jq_log(JQ_LOG_ERR, "sqlite: a batch's ids are not consecutive; idempotency key not stored");
        return JQ_EIO;
    }
    sqlite3_stmt *stmt = jq_sqlite_stmt(s, JQ_SQL_IDEM_INSERT);
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, sha256, JQ_STORE_BODY_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, ids[0]);
    sqlite3_bind_int64(stmt, 4, (int64_t)n);
    sqlite3_bind_int64(stmt, 5, now);
    return jq_sqlite_exec_locked(s, JQ_SQL_IDEM_INSERT, "INSERT (idempotency key)");
}

/* Inside the transaction: replay the key's jobs, refuse another body, or
 * insert the jobs and the key. */
static int submit_locked(struct jq_sqlite_store *s, const struct jq_idem *idem, const struct jq_job_spec *specs,
                         size_t n, int64_t *ids_out, bool *replayed)
{
    struct idem_row row;
    int64_t now = jq_now_ms();
    int err = read_key_locked(s, idem->key, &row);
    if (err == 0 && row.found) {
        if (row.n_jobs != (int64_t)n || memcmp(row.sha256, idem->body_sha256, JQ_STORE_BODY_HASH_BYTES) != 0)
            return JQ_ESTATE;
        for (size_t i = 0; i < n; i++)
            ids_out[i] = row.first_job_id + (int64_t)i;
        *replayed = true;
        return 0;
    }
    if (err == 0)
        err = jq_sqlite_insert_jobs_locked(s, specs, n, now, ids_out);
    if (err == 0)
        err = insert_key_locked(s, idem->key, idem->body_sha256, ids_out, n, now);
    return err;
}

int jq_sqlite_enqueue_idempotent(struct jq_store *st, const struct jq_idem *idem, const struct jq_job_spec *specs,
                                 size_t n, int64_t *ids_out, bool *replayed)
{
    struct jq_sqlite_store *s = jq_sqlite_of(st);
    *replayed = false;
    if (n == 0 || !idem->key || !idem->key[0])
        return JQ_EINVAL;
    pthread_mutex_lock(&s->mu);
    int err = jq_sqlite_begin_locked(s);
    if (err == 0)
        err = submit_locked(s, idem, specs, n, ids_out, replayed);
    if (err == 0 && !*replayed)
        err = jq_sqlite_commit_locked(s);
    else
        jq_sqlite_rollback_locked(s);
    pthread_mutex_unlock(&s->mu);
    return err;
}
