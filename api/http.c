/* http.c: the libmicrohttpd daemon — bound to exactly the configured
 * address, a fixed pool of threads, suspend/resume for long-polls and group
 * commits — and the
 * per-request life cycle: state allocated on the first call, the body
 * gathered under its cap, the router called once the request is complete,
 * the state freed when MHD reports the request done. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_int.h"
#include "auth.h"
#include "route.h"
#include "jq_limits.h"
#include "log.h"

/* Defaults of the connection limits of struct jq_api_config. */
#define JQ_HTTP_IDLE_TIMEOUT_S 30
#define JQ_HTTP_MAX_CONNECTIONS 1000
#define JQ_HTTP_MAX_PER_CLIENT 64
#define JQ_HTTP_REQUEST_DEADLINE_S 60
/* A body past the cap is discarded (then 413); past this many bytes the
 * connection is closed instead. */
#define JQ_HTTP_DISCARD_LIMIT (4ull * JQ_MAX_BODY_BYTES)

static bool content_length_over_cap(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    char *end = NULL;
    unsigned long long n = strtoull(cl, &end, 10);
    return end == cl || *end != '\0' || n > JQ_MAX_BODY_BYTES;
}

static enum MHD_Result reply_too_big(struct jq_request *req)
{
    return jq_reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                          "the request body is larger than 8 MiB");
}

/* Keep up to the cap; past it, remember and discard. */
static enum MHD_Result absorb_upload(struct jq_request *req, const char *data, size_t size)
{
    req->body_seen += size;
    if (req->body_seen > JQ_HTTP_DISCARD_LIMIT)
        return MHD_NO;
    if (jq_mono_ms() - req->started_ms > (int64_t)req->api->request_deadline_s * 1000) {
        jq_log(JQ_LOG_DEBUG, "http: a request body too slow to arrive: connection closed");
        return MHD_NO;
    }
    if (req->body_too_big || req->body_len + size > JQ_MAX_BODY_BYTES) {
        req->body_too_big = true;
        return MHD_YES;
    }
    if (req->body_len + size + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + size + 1)
            cap *= 2;
        char *grown = realloc(req->body, cap);
        if (!grown)
            return MHD_NO;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    req->body[req->body_len] = '\0';
    return MHD_YES;
}

/* False when the request may not go on; *reply is then what to return. */
static bool authorized(struct jq_request *req, const char *url, enum MHD_Result *reply)
{
    int64_t retry_s = 0;
    /* Health and the dashboard page are open; the page asks for the token
     * and sends it with every API call it makes. */
    if (!req->api->auth || strcmp(url, "/healthz") == 0 || strcmp(url, "/") == 0)
        return true;
    enum jq_auth_verdict v = jq_auth_check(req->api->auth, req->conn, &retry_s);
    if (v == JQ_AUTH_OK)
        return true;
    struct MHD_Response *resp;
    if (v == JQ_AUTH_THROTTLED) {
        char secs[24];
        snprintf(secs, sizeof secs, "%lld", (long long)retry_s);
        resp = jq_error_response("too_many_requests", "too many failed authentications from this address");
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
        *reply = jq_reply_response(req, MHD_HTTP_TOO_MANY_REQUESTS, resp);
        return false;
    }
    resp = jq_error_response("unauthorized", "send the API token as: Authorization: Bearer <token>");
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"jobq\"");
    *reply = jq_reply_response(req, MHD_HTTP_UNAUTHORIZED, resp);
    return false;
}

static struct jq_request *new_request(struct jq_api *api, struct MHD_Connection *conn)
{
    struct jq_request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->api = api;
    req->conn = conn;
    req->started_ms = jq_mono_ms();
    req->route = JQ_ROUTE_NONE;
    return req;
}

/* MHD shows us the request target here, raw, before it splits or decodes
 * it; what it returns becomes the request's req_cls. */
static void *on_target(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct jq_request *req = new_request(cls, conn);
    if (req)
        jq_target_inspect(&req->target, uri);
    return req;
}

/* The first call, once the headers are in: refuse what must not go on. */
static enum MHD_Result on_headers(struct jq_request *req, const char *url, const char *version)
{
    enum MHD_Result refused = MHD_NO;
    unsigned status = 0;
    req->headers_seen = true;
    jq_header_deadline_waiting(req->api->header_deadline, req->conn, false);
    const char *bad = jq_target_problem(&req->target, version);
    if (!bad)
        bad = jq_framing_problem(req->conn, &status);
    else
        status = MHD_HTTP_BAD_REQUEST;
    if (bad)
        return jq_reply_error(req, status, "bad_request", bad);
    if (!authorized(req, url, &refused))
        return refused;
    return content_length_over_cap(req->conn) ? reply_too_big(req) : MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    struct jq_request *req = *req_cls;
    if (!req) { /* on_target could not allocate */
        req = new_request(cls, conn);
        if (!req)
            return MHD_NO;
        *req_cls = req;
    }
    if (!req->headers_seen)
        return on_headers(req, url, version);
    if (*upload_data_size) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        return absorb_upload(req, upload_data, size);
    }
    if (req->body_too_big)
        return reply_too_big(req);
    return jq_router_dispatch(req, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)code;
    struct jq_api *api = cls;
    struct jq_request *req = *req_cls;
    jq_header_deadline_waiting(api->header_deadline, conn, true); /* the next request's, if kept alive */
    if (!req)
        return;
    jq_longpoll_forget(api->longpoll, req);
    jq_committer_forget(api->committer, req);
    free(req->body);
    free(req);
    *req_cls = NULL;
}

/* libmicrohttpd's own messages, as log lines of ours. */
static void on_mhd_message(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    jq_log(JQ_LOG_DEBUG, "http: %s", line); /* clients can cause these at will */
}

/* The listen address as a sockaddr; IPv6 when the host has a ':'. */
static int build_addr(const struct jq_api_config *cfg, struct sockaddr_storage *ss, bool *ipv6)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    *ipv6 = strchr(cfg->listen_host, ':') != NULL;
    if (*ipv6) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(cfg->port);
        return inet_pton(AF_INET6, cfg->listen_host, &v6->sin6_addr) == 1 ? 0 : JQ_EINVAL;
    }
    v4->sin_family = AF_INET;
    v4->sin_port = htons(cfg->port);
    return inet_pton(AF_INET, cfg->listen_host, &v4->sin_addr) == 1 ? 0 : JQ_EINVAL;
}

static struct MHD_Daemon *start_daemon(struct jq_api *api, const struct jq_api_config *cfg,
                                       const struct sockaddr_storage *ss, bool ipv6)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0) | (api->tls_cert_pem ? MHD_USE_TLS : 0);
    unsigned threads = cfg->threads;
    unsigned idle = cfg->idle_timeout_s ? cfg->idle_timeout_s : JQ_HTTP_IDLE_TIMEOUT_S;
    unsigned max_conn = cfg->max_connections ? cfg->max_connections : JQ_HTTP_MAX_CONNECTIONS;
    unsigned per_client = cfg->max_per_client ? cfg->max_per_client : JQ_HTTP_MAX_PER_CLIENT;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, api->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, api->tls_key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)jq_tls_priorities},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, api,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_message, NULL,
                            MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
                            MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
                            MHD_OPTION_CONNECTION_TIMEOUT, idle,
                            MHD_OPTION_CONNECTION_LIMIT, max_conn,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
                            MHD_OPTION_STRICT_FOR_CLIENT, 1,
                            MHD_OPTION_UNESCAPE_CALLBACK, jq_unescape_url, NULL,
                            MHD_OPTION_URI_LOG_CALLBACK, on_target, api,
                            MHD_OPTION_NOTIFY_CONNECTION, jq_header_deadline_notify, api,
                            MHD_OPTION_ARRAY, api->tls_cert_pem ? tls : tls + 3,
                            MHD_OPTION_END);
}

static int start_listening(struct jq_api *api, const struct jq_api_config *cfg)
{
    struct sockaddr_storage ss;
    bool ipv6 = false;
    if (build_addr(cfg, &ss, &ipv6) != 0) {
        jq_log(JQ_LOG_ERR, "listen address %s is not a numeric IPv4 or IPv6 address", cfg->listen_host);
        return JQ_EINVAL;
    }
    api->daemon = start_daemon(api, cfg, &ss, ipv6);
    if (!api->daemon) {
        jq_log_errno(JQ_LOG_ERR, errno, "cannot listen on %s port %u", cfg->listen_host, (unsigned)cfg->port);
        return JQ_ESYS;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
    api->port = info ? info->port : cfg->port;
    return 0;
}

int jq_api_start(struct jq_api **out, const struct jq_api_config *cfg, struct jq_store *st,
                 const struct jq_api_hooks *hooks)
{
    struct jq_api *api = calloc(1, sizeof *api);
    if (!api)
        return JQ_ENOMEM;
    api->store = st;
    api->hooks = *hooks;
    api->policy = cfg->policy;
    api->allowed_commands = cfg->allowed_commands;
    api->allowed_commands_len = cfg->allowed_commands_len;
    api->request_deadline_s = cfg->request_deadline_s ? cfg->request_deadline_s : JQ_HTTP_REQUEST_DEADLINE_S;
    api->metrics = cfg->metrics;
    if (!api->metrics) {
        api->own_metrics = malloc(sizeof *api->own_metrics);
        if (!api->own_metrics) {
            free(api);
            return JQ_ENOMEM;
        }
        jq_metrics_init(api->own_metrics);
        api->metrics = api->own_metrics;
    }
    int err = jq_longpoll_create(&api->longpoll, api);
    if (err == 0)
        err = jq_stream_hub_create(&api->streams);
    if (err == 0)
        err = jq_queue_limit_create(&api->queue_limit, cfg->max_queued, st);
    if (err == 0)
        err = jq_header_deadline_start(&api->header_deadline, api->request_deadline_s);
    if (err == 0)
        err = jq_committer_create(&api->committer, api);
    if (err == 0 && cfg->token && cfg->token[0])
        err = jq_auth_create(&api->auth, cfg->token);
    if (err == 0 && cfg->tls_cert_path)
        err = jq_tls_load(api, cfg->tls_cert_path, cfg->tls_key_path);
    if (err == 0)
        err = start_listening(api, cfg);
    if (err) {
        jq_committer_destroy(api->committer);
        jq_longpoll_destroy(api->longpoll);
        jq_stream_hub_destroy(api->streams);
        jq_queue_limit_destroy(api->queue_limit);
        jq_header_deadline_stop(api->header_deadline);
        jq_auth_destroy(api->auth);
        jq_tls_free(api);
        free(api->own_metrics);
        free(api);
        return err;
    }
    *out = api;
    return 0;
}

uint16_t jq_api_port(const struct jq_api *api)
{
    return api->port;
}

void jq_api_job_finished(struct jq_api *api, int64_t id)
{
    jq_longpoll_job_finished(api->longpoll, id);
    jq_stream_hub_notify(api->streams, id, true);
}

void jq_api_job_output(struct jq_api *api, int64_t id)
{
    jq_stream_hub_notify(api->streams, id, false);
}

void jq_api_jobs_claimed(struct jq_api *api, size_t n)
{
    if (api)
        jq_queue_limit_left(api->queue_limit, n);
}

void jq_api_stop(struct jq_api *api)
{
    if (!api)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(api->daemon); /* now ours to close */
    jq_committer_drain(api->committer);
    jq_stream_hub_close(api->streams);
    jq_longpoll_resume_all(api->longpoll);
    MHD_stop_daemon(api->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    jq_committer_destroy(api->committer);
    jq_longpoll_destroy(api->longpoll);
    jq_stream_hub_destroy(api->streams); /* after MHD: the streams' free callbacks use it */
    jq_queue_limit_destroy(api->queue_limit);
    jq_header_deadline_stop(api->header_deadline);
    jq_auth_destroy(api->auth);
    jq_tls_free(api);
    free(api->own_metrics);
    free(api);
}
