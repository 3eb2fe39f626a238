/* store_sqlite.h: diagnostics and test hooks of the SQLite backend. The
 * service uses only store.h; tests and operators' tools use these to look
 * inside (query plans, PRAGMA values) and to provoke faults (a full disk). */
#ifndef JQ_STORE_SQLITE_H
#define JQ_STORE_SQLITE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "store.h"

/* The schema version (PRAGMA user_version) this binary creates and reads. */
#define JQ_STORE_SQLITE_SCHEMA_VERSION 5

/* Fill buf with the EXPLAIN QUERY PLAN details of the claim query, one line
 * per plan step ("SEARCH jobs USING INDEX jobs_claim (state=?)"). st must
 * come from jq_store_open_sqlite (else JQ_EINVAL). Returns 0, JQ_EINVAL,
 * JQ_ETOOBIG (buf too small) or JQ_EIO. */
JQ_MUST_CHECK int jq_store_sqlite_claim_plan(struct jq_store *st, char *buf, size_t cap);
/* The same for the statement called name: "claim", "queue_next",
 * "queue_candidates" (the claim when a queue is paused or limited),
 * "promote", "next_run_at" (the due-time timer), "expire", "next_start_by"
 * (start_by), "queue_counts". JQ_EINVAL for another name. */
JQ_MUST_CHECK int jq_store_sqlite_plan(struct jq_store *st, const char *name, char *buf, size_t cap);

/* Read one PRAGMA (name: lowercase letters and '_' only, e.g.
 * "journal_mode", "synchronous") as text into buf. Returns 0, JQ_EINVAL (bad
 * name), JQ_ETOOBIG or JQ_EIO. */
JQ_MUST_CHECK int jq_store_sqlite_pragma(struct jq_store *st, const char *name, char *buf, size_t cap);

/* Fault hook: cap the database at max_pages pages (PRAGMA max_page_count),
 * so writes past it fail with JQ_EFULL as on a full disk. SQLite never
 * lowers the cap below the current size. *pages_out (may be NULL) gets the
 * cap now in force. Returns 0, JQ_EINVAL (not a SQLite store) or JQ_EIO. */
JQ_MUST_CHECK int jq_store_sqlite_set_max_pages(struct jq_store *st, int64_t max_pages, int64_t *pages_out);

#endif
