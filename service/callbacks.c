/* callbacks.c: the completion-callback sender (callbacks.h).
 *
 * DESIGN: one thread owns a curl multi handle. Each turn it leases the
 * callbacks that are due (store), starts a transfer for each (at most
 * JQ_CALLBACK_MAX_IN_FLIGHT at once), lets curl move every transfer
 * forward, records the ones that ended (a 2xx is delivered; anything else
 * is retried after retry_ms, doubled each time up to a ceiling, until
 * JQ_CALLBACK_MAX_ATTEMPTS attempts failed), then sleeps in
 * curl_multi_poll until a socket is ready, curl's own timer, the next due
 * callback, or curl_multi_wakeup() from jq_callbacks_wake(). No transfer
 * follows redirects, speaks anything but http and https, or goes through a
 * proxy (the environment's proxy variables are ignored); every connection
 * is opened by the guard (callback_guard.h), which refuses private
 * addresses unless allowed. An attempt the guard refused outright is the
 * last: the callback fails at once. */
#include "callbacks.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_dl.h" /* after curl.h: libcurl is loaded on first use */

#include "callback_guard.h"
#include "job_json.h"
#include "log.h"
#include "sha256.h"

const bool jq_callbacks_built = true;

/* The longest the thread sleeps with nothing due: it is woken anyway. */
#define IDLE_WAIT_MS (3600 * 1000)
/* A lease outlives the transfer's own limit by this much. */
#define LEASE_SLACK_MS 5000

struct delivery {
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    int64_t job_id;
    int32_t attempt;
    struct jq_callback_guard guard;
    char errbuf[CURL_ERROR_SIZE];
};

struct jq_callbacks {
    struct jq_store *store;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t launch_mu; /* guards the lazy start below */
    atomic_bool started;       /* libcurl loaded, thread running */
    bool launch_failed;        /* tried once and failed: logged, not again */
    bool global_inited;
    atomic_bool stop;
    char *secret;
    size_t secret_len;
    int64_t retry_ms;
    bool allow_private;
    struct delivery *active[JQ_CALLBACK_MAX_IN_FLIGHT]; /* the transfers under way */
    size_t in_flight;
    int64_t next_due_ms; /* the store's earliest due callback, 0 = none */
};

static size_t discard(char *data, size_t size, size_t n, void *ud)
{
    (void)data, (void)ud;
    return size * n;
}

static void delivery_free(struct delivery *d)
{
    if (!d)
        return;
    if (d->easy)
        curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    free(d->body);
    free(d);
}

/* The job as lists show it (no output bytes): the callback's body. */
static char *job_body(struct jq_store *st, int64_t id)
{
    struct jq_job job;
    if (jq_store_get(st, id, false, &job) != 0)
        return NULL;
    cJSON *doc = jq_json_from_job(&job, false);
    jq_job_cleanup(&job);
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    return text;
}

static bool add_header(struct delivery *d, const char *line)
{
    struct curl_slist *grown = curl_slist_append(d->headers, line);
    if (grown)
        d->headers = grown;
    return grown != NULL;
}

static bool sign(struct jq_callbacks *cb, struct delivery *d)
{
    unsigned char mac[JQ_SHA256_BYTES];
    char line[32 + 2 * JQ_SHA256_BYTES + 1];
    if (cb->secret_len == 0)
        return true;
    jq_hmac_sha256(cb->secret, cb->secret_len, d->body, strlen(d->body), mac);
    int n = snprintf(line, sizeof(line), "X-Jobq-Signature: sha256=");
    jq_hex(mac, sizeof(mac), line + n);
    return add_header(d, line);
}

static bool set_headers(struct jq_callbacks *cb, struct delivery *d)
{
    char line[96];
    bool ok = add_header(d, "Content-Type: application/json") && add_header(d, "Expect:");
    snprintf(line, sizeof(line), "X-Jobq-Job-Id: %lld", (long long)d->job_id);
    ok = ok && add_header(d, line);
    snprintf(line, sizeof(line), "X-Jobq-Delivery-Attempt: %d", d->attempt);
    return ok && add_header(d, line) && sign(cb, d);
}

static void set_options(struct delivery *d, const char *url)
{
    CURL *e = d->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never one from the environment */
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, jq_callback_guard_open);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &d->guard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)JQ_CALLBACK_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "jobq/" JQ_VERSION);
}

/* Start one delivery; a job that is gone (purged) is skipped. */
static void start_one(struct jq_callbacks *cb, const struct jq_callback_due *due)
{
    struct delivery *d = calloc(1, sizeof(*d));
    if (!d)
        return;
    d->job_id = due->job_id;
    d->attempt = due->attempts + 1;
    d->guard.allow_private = cb->allow_private;
    d->body = job_body(cb->store, due->job_id);
    d->easy = d->body ? curl_easy_init() : NULL;
    if (!d->easy || !set_headers(cb, d)) {
        jq_log_job(JQ_LOG_WARN, due->job_id, "callback: cannot prepare the delivery (retried after its lease)");
        delivery_free(d);
        return;
    }
    set_options(d, due->url);
    if (curl_multi_add_handle(cb->multi, d->easy) != CURLM_OK) {
        delivery_free(d);
        return;
    }
    cb->active[cb->in_flight++] = d;
}

static void start_due(struct jq_callbacks *cb)
{
    struct jq_callback_due due[JQ_CALLBACK_MAX_IN_FLIGHT];
    size_t n = 0, room = JQ_CALLBACK_MAX_IN_FLIGHT - cb->in_flight;
    int64_t now = jq_now_ms();
    int64_t lease = now + JQ_CALLBACK_TIMEOUT_MS + LEASE_SLACK_MS;
    if (jq_store_callbacks_due(cb->store, now, lease, room, due, &n, &cb->next_due_ms) != 0) {
        cb->next_due_ms = now + 1000; /* the store failed (logged): look again soon */
        return;
    }
    for (size_t i = 0; i < n; i++)
        start_one(cb, &due[i]);
}

/* Take d out of the multi handle and the active set, and free it. */
static void drop(struct jq_callbacks *cb, struct delivery *d)
{
    for (size_t i = 0; i < cb->in_flight; i++) {
        if (cb->active[i] == d) {
            cb->active[i] = cb->active[--cb->in_flight];
            break;
        }
    }
    curl_multi_remove_handle(cb->multi, d->easy);
    delivery_free(d);
}

/* When attempt (just failed) is retried, or 0 when it was the last. */
static int64_t retry_at(const struct jq_callbacks *cb, int32_t attempt, int64_t now)
{
    if (attempt >= JQ_CALLBACK_MAX_ATTEMPTS)
        return 0;
    int64_t delay = cb->retry_ms;
    for (int32_t i = 1; i < attempt && delay < JQ_CALLBACK_RETRY_MAX_MS; i++)
        delay *= 2;
    return now + (delay < JQ_CALLBACK_RETRY_MAX_MS ? delay : JQ_CALLBACK_RETRY_MAX_MS);
}

/* Why a transfer got no answer: the guard's refusal first, then curl's. */
static const char *error_text(const struct delivery *d, CURLcode result)
{
    if (jq_callback_guard_refused_all(&d->guard))
        return d->guard.refused;
    return d->errbuf[0] ? d->errbuf : curl_easy_strerror(result);
}

static void finish_one(struct jq_callbacks *cb, struct delivery *d, CURLcode result)
{
    long status = 0;
    if (result == CURLE_OK)
        curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
    int64_t now = jq_now_ms();
    struct jq_callback_outcome o = {
        .job_id = d->job_id, .attempt = d->attempt, .at_ms = now, .status = (int32_t)status,
        .error = result == CURLE_OK ? NULL : error_text(d, result),
        .delivered = status >= 200 && status < 300,
    };
    bool refused = result != CURLE_OK && jq_callback_guard_refused_all(&d->guard);
    o.retry_at_ms = o.delivered || refused ? 0 : retry_at(cb, d->attempt, now);
    jq_log_job(o.delivered ? JQ_LOG_INFO : JQ_LOG_WARN, d->job_id, "callback attempt %d: %s%s%ld%s", d->attempt,
               o.delivered ? "delivered" : "failed", o.error ? " (" : ", HTTP ", o.error ? 0L : status,
               o.error ? ")" : "");
    if (jq_store_callback_record(cb->store, &o) != 0)
        jq_log_job(JQ_LOG_ERR, d->job_id, "callback: the attempt could not be recorded");
    else if (o.retry_at_ms > 0 && (cb->next_due_ms == 0 || o.retry_at_ms < cb->next_due_ms))
        cb->next_due_ms = o.retry_at_ms; /* the retry is this thread's own timer */
    drop(cb, d);
}

static void collect_done(struct jq_callbacks *cb)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cb->multi, &left))) {
        struct delivery *d = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        if (d)
            finish_one(cb, d, msg->data.result);
    }
}

/* How long to sleep: until the next due callback, curl's own timer, or a
 * wake-up. */
static int wait_ms(struct jq_callbacks *cb)
{
    long curl_ms = -1;
    int64_t wait = IDLE_WAIT_MS;
    if (cb->next_due_ms > 0)
        wait = cb->next_due_ms - jq_now_ms();
    curl_multi_timeout(cb->multi, &curl_ms);
    if (curl_ms >= 0 && curl_ms < wait)
        wait = curl_ms;
    return wait < 0 ? 0 : wait > IDLE_WAIT_MS ? IDLE_WAIT_MS : (int)wait;
}

static void *run(void *arg)
{
    struct jq_callbacks *cb = arg;
    int running = 0;
    while (!atomic_load(&cb->stop)) {
        if (cb->in_flight < JQ_CALLBACK_MAX_IN_FLIGHT)
            start_due(cb);
        curl_multi_perform(cb->multi, &running);
        collect_done(cb);
        if (cb->next_due_ms > 0 && cb->next_due_ms <= jq_now_ms() && cb->in_flight < JQ_CALLBACK_MAX_IN_FLIGHT)
            continue; /* more are due already */
        curl_multi_poll(cb->multi, NULL, 0, wait_ms(cb), NULL);
    }
    return NULL;
}

/* The thread and libcurl start with the first callback that is due, so a
 * jobqd whose jobs never name a callback_url never maps libcurl. */
int jq_callbacks_start(struct jq_callbacks **out, struct jq_store *st, const struct jq_callbacks_config *cfg)
{
    struct jq_callbacks *cb = calloc(1, sizeof(*cb));
    *out = NULL;
    if (!cb || !(cb->secret = malloc(cfg->secret_len + 1))) {
        free(cb);
        return JQ_ENOMEM;
    }
    cb->store = st;
    cb->retry_ms = cfg->retry_ms > 0 ? cfg->retry_ms : JQ_DEFAULT_CALLBACK_RETRY_MS;
    cb->allow_private = cfg->allow_private;
    cb->secret_len = cfg->secret_len;
    memcpy(cb->secret, cfg->secret, cfg->secret_len);
    pthread_mutex_init(&cb->launch_mu, NULL);
    *out = cb;
    return 0;
}

/* Load libcurl and start the thread. Caller holds launch_mu. */
static void launch_locked(struct jq_callbacks *cb)
{
    if (jq_curl_load() != 0)
        return;
    cb->global_inited = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    cb->multi = cb->global_inited ? curl_multi_init() : NULL;
    int rc = cb->multi ? pthread_create(&cb->thread, NULL, run, cb) : ENOMEM;
    if (rc != 0) {
        jq_log_errno(JQ_LOG_ERR, rc, "starting the callback thread failed");
        return;
    }
    jq_log(JQ_LOG_INFO, "completion callbacks: sender started");
    atomic_store(&cb->started, true);
}

bool jq_callbacks_running(const struct jq_callbacks *cb)
{
    return cb && atomic_load(&cb->started);
}

void jq_callbacks_wake(struct jq_callbacks *cb)
{
    if (!cb)
        return;
    if (!atomic_load(&cb->started)) {
        pthread_mutex_lock(&cb->launch_mu);
        if (!atomic_load(&cb->started) && !cb->launch_failed && !atomic_load(&cb->stop)) {
            launch_locked(cb);
            cb->launch_failed = !atomic_load(&cb->started);
        }
        pthread_mutex_unlock(&cb->launch_mu);
    }
    if (atomic_load(&cb->started))
        curl_multi_wakeup(cb->multi);
}

void jq_callbacks_stop(struct jq_callbacks *cb)
{
    if (!cb)
        return;
    pthread_mutex_lock(&cb->launch_mu); /* no launch from now on */
    atomic_store(&cb->stop, true);
    pthread_mutex_unlock(&cb->launch_mu);
    if (atomic_load(&cb->started)) {
        curl_multi_wakeup(cb->multi);
        pthread_join(cb->thread, NULL);
    }
    /* Transfers still under way: dropped; their leases bring them back. */
    while (cb->in_flight > 0)
        drop(cb, cb->active[cb->in_flight - 1]);
    if (cb->multi)
        curl_multi_cleanup(cb->multi);
    if (cb->global_inited)
        curl_global_cleanup();
    explicit_bzero(cb->secret, cb->secret_len);
    free(cb->secret);
    pthread_mutex_destroy(&cb->launch_mu);
    free(cb);
}
