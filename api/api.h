/* api.h: the HTTP API (libmicrohttpd). Routes requests, turns JSON into job
 * specs and jobs into JSON, reads and writes jobs through the store, and asks
 * the service (through hooks) for what only the master knows: waking the
 * dispatcher, cancelling a running job, readiness. The full REST contract is
 * docs/api.md. */
#ifndef JQ_API_H
#define JQ_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "job.h"
#include "metrics.h"
#include "store.h"

struct jq_api;

/* Defaults and bounds applied to submitted jobs. */
struct jq_job_policy {
    int64_t default_timeout_ms;
    int64_t max_timeout_ms;
    int64_t default_kill_grace_ms;
    int64_t max_output_bytes;     /* default and ceiling of a job's max_output_bytes */
    struct jq_job_limits limits;  /* default and ceiling of a job's limits (0 = none) */
    bool no_network;              /* jobs get no network, and may not ask for it */
    bool no_callbacks;            /* a build without callbacks: callback_url is refused (422) */
};

/* The worker pool as /metrics and /v1/stats show it. */
struct jq_pool_stats {
    unsigned workers_configured;
    unsigned workers_alive;
    uint64_t worker_restarts;
};

/* What the API needs from the master. All may be called from any HTTP thread. */
struct jq_api_hooks {
    void *ctx;
    /* Jobs were committed as queued: wake the dispatcher. */
    void (*jobs_enqueued)(void *ctx);
    /* Cancel job id. Returns 0 when the job is now cancelled (*state_out =
     * cancelled) or its worker was told to stop it (*state_out = running);
     * JQ_ENOTFOUND; JQ_ESTATE if already finished (*state_out = its state). */
    int (*cancel)(void *ctx, int64_t id, enum jq_job_state *state_out);
    /* True when every worker of the pool is up. */
    bool (*workers_ready)(void *ctx);
    /* False once shutdown began: new submissions get 503. */
    bool (*accepting)(void *ctx);
    /* The pool's numbers (may be NULL: reported as zeros). */
    void (*pool_stats)(void *ctx, struct jq_pool_stats *out);
    /* Copy up to max bytes of running job id's stdout (or stderr) from
     * offset, as far as its worker has produced it. Returns 0 (*n_out may
     * be 0: nothing new yet), or JQ_ENOTFOUND when no worker holds the job
     * (the store has the truth then). May be NULL: streams read the store. */
    int (*live_output)(void *ctx, int64_t id, bool err_stream, uint64_t offset, void *buf, size_t max,
                       size_t *n_out);
    /* Store a group of submissions as jq_store_enqueue_group does (same
     * result), in a transaction that may also start jobs for idle workers;
     * what stays queued is the service's to dispatch (jobs_enqueued is then
     * not called). Called from the committer thread. NULL: the API stores
     * them itself and calls jobs_enqueued. */
    int (*store_jobs)(void *ctx, struct jq_enqueue_req *reqs, size_t n);
};

struct jq_api_config {
    const char *listen_host;      /* numeric IPv4/IPv6 address, e.g. "127.0.0.1" */
    uint16_t port;                /* 0 = pick a free port (see jq_api_port) */
    unsigned threads;             /* HTTP worker threads (>= 1) */
    struct jq_job_policy policy;
    const char *token;            /* bearer token every route but /healthz needs; NULL or "" = none */
    const char *tls_cert_path;    /* PEM files: serve HTTPS (TLS 1.2+); NULL = plain HTTP */
    const char *tls_key_path;
    /* connection limits (0 = the built-in default) */
    unsigned max_connections;     /* served at once, long-polls included */
    unsigned max_per_client;      /* from one client address */
    unsigned idle_timeout_s;      /* close a connection silent this long */
    unsigned request_deadline_s;  /* a request's headers, then its body, must arrive within this */
    struct jq_metrics *metrics;   /* shared with the service; NULL = the API keeps its own */
    uint64_t max_queued;          /* jobs that may wait to run; more get 429 (0 = no limit) */
    /* canonical paths of the programs jobs may run, NUL-separated (must
     * outlive the API); allowed_commands_len 0 = any program */
    const char *allowed_commands;
    size_t allowed_commands_len;
};

/* Bind and start serving. Returns 0, JQ_ESYS (cannot bind: logged) or
 * JQ_ENOMEM. */
JQ_MUST_CHECK int jq_api_start(struct jq_api **out, const struct jq_api_config *cfg, struct jq_store *st,
                               const struct jq_api_hooks *hooks);
/* The port actually bound. */
uint16_t jq_api_port(const struct jq_api *api);
/* Job id reached a terminal state (already committed): answer its
 * long-polling waiters. Any thread. */
void jq_api_job_finished(struct jq_api *api, int64_t id);
/* Job id has new output: wake its live-output streams. Any thread. */
void jq_api_job_output(struct jq_api *api, int64_t id);
/* The dispatcher claimed n queued jobs (they no longer count against
 * --max-queued). Any thread. */
void jq_api_jobs_claimed(struct jq_api *api, size_t n);
/* Stop listening, answer every waiter, free. NULL is a no-op. */
void jq_api_stop(struct jq_api *api);

#endif
