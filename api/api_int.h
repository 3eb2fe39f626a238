/* api_int.h: what the files of api/ share and nothing outside api/ sees —
 * the daemon handle, the per-request state, and the small reply helpers the
 * handlers answer with. */
#ifndef JQ_API_INT_H
#define JQ_API_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "api.h"
#include "job_json.h"

struct jq_longpoll;
struct jq_auth;

struct jq_api {
    struct MHD_Daemon *daemon;
    struct jq_store *store;
    struct jq_api_hooks hooks;
    struct jq_job_policy policy;
    uint16_t port;
    struct jq_longpoll *longpoll;
    struct jq_auth *auth;         /* NULL = no token configured */
    char *tls_cert_pem;           /* NULL = plain HTTP */
    char *tls_key_pem;
    unsigned request_deadline_s;
    struct jq_metrics *metrics;   /* never NULL once started */
    struct jq_metrics *own_metrics; /* allocated here when the config gave none */
};

/* Where a suspended request stands (see longpoll.c). */
enum jq_wait_phase {
    JQ_WAIT_NONE = 0,   /* never suspended */
    JQ_WAIT_SUSPENDED,  /* parked until the job ends or the deadline */
    JQ_WAIT_RESUMED     /* woken: answer now with the job as it is */
};

/* One request's state, hung off the MHD connection (req_cls) and freed when
 * MHD reports the request complete. */
struct jq_request {
    struct jq_api *api;
    struct MHD_Connection *conn;
    char *body;            /* the upload, NUL-terminated; NULL when empty */
    size_t body_len;
    size_t body_cap;
    uint64_t body_seen;    /* bytes the client sent, kept or not */
    bool body_too_big;
    int64_t started_ms;    /* CLOCK_MONOTONIC, at the first call */
    unsigned route;        /* enum jq_route_kind, for metrics (JQ_ROUTE_NONE until routed) */
    /* long-poll waiter (longpoll.c owns these fields while suspended) */
    enum jq_wait_phase wait_phase;
    int64_t wait_job_id;
    int64_t wait_deadline_ms;     /* CLOCK_MONOTONIC ms */
    struct jq_request *wait_prev; /* the waiters list */
    struct jq_request *wait_next;
};

/* router.c: method + URL -> handler. Returns MHD_YES/MHD_NO for MHD. */
enum MHD_Result jq_router_dispatch(struct jq_request *req, const char *method, const char *url);

/* Handlers (jobs_submit.c, jobs_read.c, jobs_cancel.c, health.c). id is a
 * parsed path id. */
enum MHD_Result jq_handle_submit(struct jq_request *req);
enum MHD_Result jq_handle_list(struct jq_request *req);
enum MHD_Result jq_handle_get(struct jq_request *req, int64_t id);
enum MHD_Result jq_handle_output(struct jq_request *req, int64_t id, bool stderr_stream);
enum MHD_Result jq_handle_cancel(struct jq_request *req, int64_t id);
enum MHD_Result jq_handle_healthz(struct jq_request *req);
/* jobs_submit.c: after the commit of sub's jobs (ids): count, wake the
 * dispatcher, answer 201. */
struct jq_submission;
enum MHD_Result jq_reply_submitted(struct jq_request *req, const struct jq_submission *sub, const int64_t *ids);
/* idempotency.c: the request's Idempotency-Key header (NULL if none); a
 * submission under that key (see docs/api.md). */
bool jq_idem_key_ok(const char *key);
const char *jq_idem_key_of(const struct jq_request *req);
enum MHD_Result jq_submit_idempotent(struct jq_request *req, const struct jq_submission *sub, const char *key);
/* jobs_submit.c: a parse error of job_json.c as its HTTP error. */
enum MHD_Result jq_reply_json_error(struct jq_request *req, enum jq_json_error err, const char *msg);
/* schedules.c: periodic jobs. */
enum MHD_Result jq_handle_schedules(struct jq_request *req);
enum MHD_Result jq_handle_schedule_create(struct jq_request *req);
enum MHD_Result jq_handle_schedule_get(struct jq_request *req, int64_t id);
enum MHD_Result jq_handle_schedule_delete(struct jq_request *req, int64_t id);
enum MHD_Result jq_handle_schedule_pause(struct jq_request *req, int64_t id, bool paused);
/* queues.c: name is a valid queue name. */
enum MHD_Result jq_handle_queues(struct jq_request *req);
enum MHD_Result jq_handle_queue_get(struct jq_request *req, const char *name);
enum MHD_Result jq_handle_queue_patch(struct jq_request *req, const char *name);
enum MHD_Result jq_handle_queue_pause(struct jq_request *req, const char *name, bool paused);
enum MHD_Result jq_handle_readyz(struct jq_request *req);
enum MHD_Result jq_handle_metrics(struct jq_request *req); /* metrics.c */
enum MHD_Result jq_handle_stats(struct jq_request *req);
/* Answer with job id as stored: 200 when it is terminal, else
 * status_if_running. */
enum MHD_Result jq_reply_job(struct jq_request *req, int64_t id, unsigned status_if_running);

/* errors.c: replies. Each queues one response and returns MHD's verdict. */
enum MHD_Result jq_reply_json(struct jq_request *req, unsigned status, cJSON *doc); /* takes doc */
enum MHD_Result jq_reply_error(struct jq_request *req, unsigned status, const char *code, const char *message);
/* An error from the store (JQ_E*) as its HTTP error; internal ones logged. */
enum MHD_Result jq_reply_store_error(struct jq_request *req, int err, int64_t id);
/* 200 {"<key>": [to_json(item), ...]} for n items of item_size bytes. */
typedef cJSON *(*jq_item_json_fn)(const void *item);
enum MHD_Result jq_reply_items(struct jq_request *req, const char *key, const void *items, size_t n,
                               size_t item_size, jq_item_json_fn to_json);
enum MHD_Result jq_reply_bytes(struct jq_request *req, unsigned status, const char *type, const void *data,
                               size_t len);
/* Queue resp (taken; NULL = out of memory: the connection is closed). */
enum MHD_Result jq_reply_response(struct jq_request *req, unsigned status, struct MHD_Response *resp);
/* doc (taken) as a JSON response, for handlers that add headers before
 * jq_reply_response. NULL when out of memory. */
struct MHD_Response *jq_response_from_json(cJSON *doc);
/* The error body of docs/api.md as a response (NULL when out of memory). */
struct MHD_Response *jq_error_response(const char *code, const char *message);

/* longpoll.c: park a request until job id ends or deadline_ms (monotonic).
 * Returns true when parked (the caller returns MHD_YES without answering;
 * MHD calls the handler again once wait_phase is JQ_WAIT_RESUMED); false
 * when the job is already terminal or unknown (answer at once). */
JQ_MUST_CHECK int jq_longpoll_create(struct jq_longpoll **out, struct jq_api *api);
bool jq_longpoll_park(struct jq_longpoll *lp, struct jq_request *req, int64_t id, int64_t deadline_ms);
void jq_longpoll_job_finished(struct jq_longpoll *lp, int64_t id);
void jq_longpoll_resume_all(struct jq_longpoll *lp);
/* The request is done (MHD completed it): drop it if still parked. */
void jq_longpoll_forget(struct jq_longpoll *lp, struct jq_request *req);
void jq_longpoll_destroy(struct jq_longpoll *lp);

/* framing.c: why the request's framing headers are refused (and *status),
 * or NULL; and the URL decoder given to libmicrohttpd. */
const char *jq_framing_problem(struct MHD_Connection *conn, unsigned *status);
size_t jq_unescape_url(void *cls, struct MHD_Connection *conn, char *s);

/* tls.c: load the PEM files into api (0 or JQ_EINVAL, logged); free them. */
extern const char *const jq_tls_priorities;
JQ_MUST_CHECK int jq_tls_load(struct jq_api *api, const char *cert_path, const char *key_path);
void jq_tls_free(struct jq_api *api);

/* dashboard.c: GET / — the embedded page, with headers that keep it to
 * itself (no framing, no external anything). */
enum MHD_Result jq_handle_dashboard(struct jq_request *req);
extern const unsigned char jq_dashboard_html[];
extern const size_t jq_dashboard_html_len;

/* docs/openapi.yaml, embedded at build time (cmake/embed.cmake). */
extern const unsigned char jq_openapi_yaml[];
extern const size_t jq_openapi_yaml_len;

/* Query parameter of this request, or NULL. */
const char *jq_request_arg(const struct jq_request *req, const char *name);

#endif
