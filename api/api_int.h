/* api_int.h: what the files of api/ share and nothing outside api/ sees —
 * the daemon handle, the per-request state, and the small reply helpers the
 * handlers answer with. */
#ifndef JQ_API_INT_H
#define JQ_API_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <time.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "api.h"
#include "job_json.h"

struct jq_longpoll;
struct jq_committer;
struct jq_auth;
struct jq_stream_hub;
struct jq_queue_limit;
struct jq_header_deadline;

struct jq_api {
    struct MHD_Daemon *daemon;
    struct jq_store *store;
    struct jq_api_hooks hooks;
    struct jq_job_policy policy;
    uint16_t port;
    struct jq_longpoll *longpoll;
    struct jq_stream_hub *streams; /* live-output streams (stream_hub.c) */
    struct jq_committer *committer; /* group commit of submissions */
    struct jq_auth *auth;         /* NULL = no token configured */
    struct jq_queue_limit *queue_limit; /* --max-queued (queue_limit.c) */
    const char *allowed_commands; /* command_allowlist.c; borrowed from the config */
    size_t allowed_commands_len;  /* 0 = any command */
    char *tls_cert_pem;           /* NULL = plain HTTP */
    char *tls_key_pem;
    unsigned request_deadline_s;
    struct jq_header_deadline *header_deadline; /* header_deadline.c */
    struct jq_metrics *metrics;   /* never NULL once started */
    struct jq_metrics *own_metrics; /* allocated here when the config gave none */
};

/* Where a suspended request stands (see longpoll.c). */
enum jq_wait_phase {
    JQ_WAIT_NONE = 0,   /* never suspended */
    JQ_WAIT_SUSPENDED,  /* parked until the job ends or the deadline */
    JQ_WAIT_RESUMED     /* woken: answer now with the job as it is */
};

/* What framing.c saw of the raw request target (jq_target_inspect). */
struct jq_target {
    const char *end;   /* where the target's first NUL was (in MHD's buffer) */
    bool has_ctl;      /* a control byte (< 0x20 or 0x7f) before it */
};

/* Where a submission stands in its group commit (committer.c). */
enum jq_submit_phase {
    JQ_SUBMIT_PARSED = 0, /* not handed over yet */
    JQ_SUBMIT_QUEUED,     /* waiting for its group commit; the connection is suspended */
    JQ_SUBMIT_DONE        /* committed or failed (err); resumed: answer now */
};

/* A parsed submission on its way through the committer. Owned by its
 * request (jq_request.submit); freed by jq_committer_forget. */
struct jq_pending_submit {
    struct jq_request *req;
    struct jq_submission sub;
    int64_t *ids;                   /* sub.n ids, filled when stored */
    int64_t created_at_ms;          /* when stored */
    int err;                        /* 0 = stored and synced, else why not */
    enum jq_submit_phase phase;
    struct jq_pending_submit *next; /* the committer's queue */
};

/* One request's state, hung off the MHD connection (req_cls) and freed when
 * MHD reports the request complete. */
struct jq_request {
    struct jq_api *api;
    struct MHD_Connection *conn;
    struct jq_target target;
    bool headers_seen;     /* on_request ran its first-call checks */
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
    struct jq_pending_submit *submit; /* POST /v1/jobs: its jobs (NULL otherwise) */
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

/* stream.c: GET /v1/jobs/{id}/stream, Server-Sent Events of the job's
 * output as it is produced, then its final state. */
enum MHD_Result jq_handle_stream(struct jq_request *req, int64_t id);
/* params.c: where a stream starts: ?stdout_offset=&stderr_offset=, or the
 * Last-Event-ID header (which wins). False with *bad set on a bad value. */
struct jq_sse_pos;
bool jq_param_stream_pos(const struct jq_request *req, struct jq_sse_pos *pos, const char **bad);

/* stream_hub.c: streams waiting for news of their job, each suspended in
 * MHD until the job has new output or ends, or its keep-alive is due.
 * Fields of the waiter belong to the hub (under its lock) once added. */
struct jq_stream_waiter {
    struct MHD_Connection *conn;
    int64_t job_id;
    bool news;                 /* the job changed since the stream last looked */
    bool state_news;           /* ... and that change was an attempt's end */
    bool suspended;            /* parked until news or keepalive_at_ms */
    int64_t keepalive_at_ms;   /* CLOCK_MONOTONIC */
    struct jq_stream_waiter *prev, *next;
};
JQ_MUST_CHECK int jq_stream_hub_create(struct jq_stream_hub **out);
void jq_stream_hub_add(struct jq_stream_hub *hub, struct jq_stream_waiter *w);
void jq_stream_hub_remove(struct jq_stream_hub *hub, struct jq_stream_waiter *w);
/* Clear and return w's news flags (*state_news: an attempt ended);
 * *closing: the API is stopping. */
bool jq_stream_hub_take_news(struct jq_stream_hub *hub, struct jq_stream_waiter *w, bool *state_news,
                             bool *closing);
/* From the content reader: suspend w's connection until news or
 * keepalive_at_ms, unless news arrived since take_news (or the API is
 * closing). True when suspended: the reader then returns 0. */
bool jq_stream_hub_park(struct jq_stream_hub *hub, struct jq_stream_waiter *w, int64_t keepalive_at_ms);
/* Job job_id has new output, or (state_changed) an attempt of it ended:
 * wake its streams. Any thread. */
void jq_stream_hub_notify(struct jq_stream_hub *hub, int64_t job_id, bool state_changed);
/* The API is stopping: resume every stream (they then end). */
void jq_stream_hub_close(struct jq_stream_hub *hub);
void jq_stream_hub_destroy(struct jq_stream_hub *hub);
/* committer.c: group commit of submissions. park queues req->submit and
 * suspends the connection; returns false when shutting down (answer 503).
 * MHD calls the handler again once req->submit->phase is JQ_SUBMIT_DONE.
 * forget frees req->submit (MHD completed the request). drain refuses new
 * submissions and returns once every queued one is committed and answered
 * (or a few seconds passed); call it before MHD_stop_daemon. */
JQ_MUST_CHECK int jq_committer_create(struct jq_committer **out, struct jq_api *api);
bool jq_committer_park(struct jq_committer *c, struct jq_request *req);
void jq_committer_forget(struct jq_committer *c, struct jq_request *req);
void jq_committer_drain(struct jq_committer *c);
void jq_committer_destroy(struct jq_committer *c); /* NULL is a no-op */


/* framing.c: why the request's framing headers are refused (and *status),
 * or NULL; and the URL decoder given to libmicrohttpd. */
const char *jq_framing_problem(struct MHD_Connection *conn, unsigned *status);
/* The raw target as MHD's URI callback shows it, and later, with the
 * version string MHD parsed from the same line: why the target is refused
 * (400), or NULL. */
void jq_target_inspect(struct jq_target *t, const char *raw_uri);
const char *jq_target_problem(const struct jq_target *t, const char *version);
size_t jq_unescape_url(void *cls, struct MHD_Connection *conn, char *s);

/* queue_limit.c: back-pressure. Admit n more jobs (true), or refuse them
 * (false, *excess = how many too many) while the jobs waiting to run would
 * exceed max_pending (0 = no limit). Any thread. */
JQ_MUST_CHECK int jq_queue_limit_create(struct jq_queue_limit **out, uint64_t max_pending, struct jq_store *st);
bool jq_queue_limit_admit(struct jq_queue_limit *ql, struct jq_store *st, uint64_t n, int64_t *excess);
/* n jobs left the queue (claimed, or cancelled while waiting). */
void jq_queue_limit_left(struct jq_queue_limit *ql, uint64_t n);
void jq_queue_limit_destroy(struct jq_queue_limit *ql); /* NULL is a no-op */
/* 429 queue_full with a Retry-After estimated from the mean run time and
 * the live workers. */
enum MHD_Result jq_reply_queue_full(struct jq_request *req, int64_t excess);

/* deadline_loop.c: a CLOCK_MONOTONIC condition variable; monotonic ms as
 * a timespec; and the timer thread's body: under mu, until *stop, call
 * expire(ctx) — it acts on what is due and returns the next deadline
 * (monotonic ms, INT64_MAX = none) — and sleep on cond until then or a
 * signal. */
JQ_MUST_CHECK int jq_cond_init_monotonic(pthread_cond_t *cond);
struct timespec jq_mono_timespec(int64_t ms);
void jq_deadline_loop(pthread_mutex_t *mu, pthread_cond_t *cond, const bool *stop, int64_t (*expire)(void *ctx),
                      void *ctx);
/* Set *stop under mu, wake the loop and join its thread. */
void jq_deadline_loop_stop(pthread_mutex_t *mu, pthread_cond_t *cond, bool *stop, pthread_t thread);

/* header_deadline.c: headers must arrive within deadline_s of a
 * connection's start (or of the previous request's end). notify is the
 * MHD_OPTION_NOTIFY_CONNECTION callback (cls: the api); waiting starts or
 * stops a connection's clock. Stop only after MHD_stop_daemon. */
JQ_MUST_CHECK int jq_header_deadline_start(struct jq_header_deadline **out, unsigned deadline_s);
void jq_header_deadline_stop(struct jq_header_deadline *hd); /* NULL is a no-op */
void jq_header_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code);
void jq_header_deadline_waiting(struct jq_header_deadline *hd, struct MHD_Connection *conn, bool waiting);

/* command_allowlist.c: true when a job of sub names a program outside the
 * allowlist; *reply is then the 403 sent. */
struct jq_submission;
bool jq_allowlist_refuses(struct jq_request *req, const struct jq_submission *sub, enum MHD_Result *reply);

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
