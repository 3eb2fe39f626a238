/* fault_util.h: what the fault tests share on top of the integration
 * harness — submitting without aborting on a dropped connection, reading a
 * job that may not exist, SQLite's integrity check on the database file,
 * marker files counting executions, a worker's resident memory. */
#ifndef JQ_FAULT_UTIL_H
#define JQ_FAULT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* CTest's SKIP_RETURN_CODE for the fault tests. */
#define JQ_FT_SKIP 77

/* Print why and exit with JQ_FT_SKIP. */
__attribute__((noreturn)) void jq_ft_skip(const char *why);
/* Exit with JQ_FT_SKIP unless jobqd was built with the crash points. */
void jq_ft_need_fault_points(void);

/* POST json to /v1/jobs. Returns the id on 201, else 0; *status gets the
 * HTTP status, 0 for a transport failure (may be NULL). Never aborts. */
int64_t jq_ft_try_submit(const struct jq_it_server *srv, const char *json, long *status);
/* GET /v1/jobs/<id>?wait=wait_s. NULL if 404 or unreachable. */
cJSON *jq_ft_get_job(const struct jq_it_server *srv, int64_t id, double wait_s);
/* Long-poll until terminal (max_s at most); NULL if the job does not
 * exist. Aborts if it stays non-terminal. */
cJSON *jq_ft_wait_terminal(const struct jq_it_server *srv, int64_t id, double max_s);
/* Ids of every job the server lists (all pages; state NULL = any). Returns
 * the count; fills at most max. */
size_t jq_ft_list_ids(const struct jq_it_server *srv, const char *state, int64_t *out, size_t max);
/* Until no job is queued or running; aborts after timeout_ms. */
void jq_ft_wait_drained(const struct jq_it_server *srv, int timeout_ms);
/* GET /readyz until 200 (true) or timeout_ms. */
bool jq_ft_wait_ready(const struct jq_it_server *srv, int timeout_ms);

/* PRAGMA integrity_check on the database file, opened read-only: asserts
 * "ok". */
void jq_ft_assert_db_ok(const char *db_path);
/* Rows of the jobs table in state (enum jq_job_state), read straight from
 * the database file (read-only), e.g. while no server runs. */
long jq_ft_db_count_state(const char *db_path, int state);
/* Lines in a file (0 if it does not exist). */
size_t jq_ft_count_lines(const char *path);
/* VmRSS of pid in kB, or -1. */
long jq_ft_vmrss_kb(pid_t pid);
/* Occurrences of needle in the server's log. */
size_t jq_ft_log_count(const struct jq_it_server *srv, const char *needle);
/* How many worker processes the running server has. */
size_t jq_ft_worker_count(const struct jq_it_server *srv);
/* Sample the worker count until it is want (a replacement may be between
 * fork and exec, or a death not yet reaped) or within_ms pass; the last count. */
size_t jq_ft_wait_workers(const struct jq_it_server *srv, size_t want, int64_t within_ms);

#endif
