/* stream.c: GET /v1/jobs/{id}/stream — the job's stdout and stderr as
 * Server-Sent Events while they are produced, from any byte offsets, then
 * an `end` event with the job's final state (framing: sse.c, contract:
 * docs/api.md "Live output").
 *
 * DESIGN: the response is a libmicrohttpd content reader; no thread is held
 * per client. Each time MHD wants bytes, the reader sends what is pending
 * or makes the next event: from the running job's slot (the live_output
 * hook, which copies from the shared mapping at the stream's own offsets),
 * else from the store once the job is terminal (loaded once, output
 * included; freed when the end event is made). With nothing new, it
 * suspends the connection in the hub (stream_hub.c) until the job has news
 * or a keep-alive comment is due. Nothing is ever queued for a client
 * beyond one event: a slow reader only lags in its own offsets, and the
 * master never waits for it. A new attempt of a retried job restarts the
 * offsets at 0 after an `attempt` event. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "job_json.h"
#include "sse.h"

/* A comment every this often keeps proxies from dropping an idle stream. */
#define JQ_STREAM_KEEPALIVE_MS 15000

struct jq_stream {
    struct jq_stream_waiter w;   /* the hub's part */
    struct jq_api *api;
    struct jq_sse_pos pos;       /* next byte of each stream to send */
    int32_t attempt;             /* the attempt pos refers to; 0 = none had started */
    bool check_attempt;          /* ask the store before trusting the slot again */
    bool next_err;               /* the stream to try first next time (fairness) */
    bool ended;                  /* the end event is pending: then end of stream */
    struct jq_job *stored;       /* the terminal job with its output, once known */
    int64_t keepalive_at_ms;     /* CLOCK_MONOTONIC */
    char *pend;                  /* the event being sent */
    size_t pend_len, pend_pos, pend_cap;
    unsigned char chunk[JQ_SSE_CHUNK_BYTES];
};

static void stream_free(void *cls)
{
    struct jq_stream *st = cls;
    jq_stream_hub_remove(st->api->streams, &st->w);
    if (st->stored) {
        jq_job_cleanup(st->stored);
        free(st->stored);
    }
    free(st->pend);
    free(st);
}

static void queue_output(struct jq_stream *st, bool err_stream, const void *data, size_t n)
{
    if (err_stream)
        st->pos.err += n;
    else
        st->pos.out += n;
    st->pend_len = jq_sse_output_event(st->pend, st->pend_cap, err_stream, &st->pos, data, n);
    st->pend_pos = 0;
}

/* An event with a JSON line as data (the buffer grows to fit it). */
static int queue_json(struct jq_stream *st, const char *event, cJSON *doc)
{
    char *json = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!json)
        return -1;
    size_t need = strlen(json) + JQ_SSE_FIELDS_BYTES;
    if (need > st->pend_cap) {
        char *grown = realloc(st->pend, need);
        if (!grown) {
            free(json);
            return -1;
        }
        st->pend = grown;
        st->pend_cap = need;
    }
    st->pend_len = jq_sse_json_event(st->pend, st->pend_cap, event, &st->pos, json);
    st->pend_pos = 0;
    free(json);
    return st->pend_len ? 1 : -1;
}

/* The stored job: its output from the offsets, then the end event. */
static int produce_stored(struct jq_stream *st)
{
    for (int k = 0; k < 2; k++) {
        const struct jq_output *o = k ? &st->stored->result.err : &st->stored->result.out;
        uint64_t off = k ? st->pos.err : st->pos.out;
        if (off < o->len) {
            size_t n = o->len - off < JQ_SSE_CHUNK_BYTES ? (size_t)(o->len - off) : JQ_SSE_CHUNK_BYTES;
            queue_output(st, k == 1, o->data + off, n);
            return 1;
        }
    }
    int rc = queue_json(st, "end", jq_json_from_job(st->stored, false));
    jq_job_cleanup(st->stored);
    free(st->stored);
    st->stored = NULL;
    st->ended = true;
    return rc;
}

/* From the slot: 1 (an event is pending), 0 (nothing new), JQ_ENOTFOUND
 * (no worker holds the job). */
static int produce_live(struct jq_stream *st)
{
    const struct jq_api_hooks *h = &st->api->hooks;
    if (!h->live_output)
        return JQ_ENOTFOUND;
    for (int k = 0; k < 2; k++) {
        bool err_stream = st->next_err != (k == 1);
        size_t n = 0;
        if (h->live_output(h->ctx, st->w.job_id, err_stream, err_stream ? st->pos.err : st->pos.out, st->chunk,
                           sizeof st->chunk, &n) != 0)
            return JQ_ENOTFOUND;
        if (n > 0) {
            queue_output(st, err_stream, st->chunk, n);
            st->next_err = !err_stream;
            return 1;
        }
    }
    return 0;
}

/* A new attempt started since the offsets were given: say so, start over. */
static int adopt_attempt(struct jq_stream *st, int32_t attempt)
{
    bool restart = st->attempt != 0 && attempt != st->attempt;
    st->attempt = attempt;
    if (!restart)
        return 0;
    st->pos.out = st->pos.err = 0;
    cJSON *doc = cJSON_CreateObject();
    if (doc && !cJSON_AddNumberToObject(doc, "attempt", attempt)) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    return queue_json(st, "attempt", doc);
}

/* The store's view: the attempt, and the whole job once it is terminal. */
static int produce_from_store(struct jq_stream *st)
{
    struct jq_job job;
    if (jq_store_get(st->api->store, st->w.job_id, false, &job) != 0)
        return -1; /* gone (purged) or the store failed: end the stream */
    enum jq_job_state state = job.state;
    int32_t attempt = job.attempt;
    jq_job_cleanup(&job);
    int rc = adopt_attempt(st, attempt);
    if (rc != 0)
        return rc;
    st->check_attempt = state != JQ_STATE_RUNNING;
    if (!jq_state_is_terminal(state))
        return 0;
    st->stored = malloc(sizeof *st->stored);
    if (!st->stored || jq_store_get(st->api->store, st->w.job_id, true, st->stored) != 0) {
        free(st->stored);
        st->stored = NULL;
        return -1;
    }
    return produce_stored(st);
}

/* The next event: 1 (pending), 0 (nothing new), -1 (end the connection). */
static int produce(struct jq_stream *st)
{
    if (st->stored)
        return produce_stored(st);
    if (st->check_attempt) {
        int rc = produce_from_store(st); /* clears check_attempt when the job runs */
        if (rc != 0 || st->check_attempt)
            return rc;
    }
    int rc = produce_live(st);
    if (rc != JQ_ENOTFOUND)
        return rc;
    return produce_from_store(st);
}

static void queue_keepalive(struct jq_stream *st)
{
    st->pend_len = jq_sse_comment(st->pend, st->pend_cap, "keep-alive");
    st->pend_pos = 0;
}

static ssize_t copy_pending(struct jq_stream *st, char *buf, size_t max)
{
    size_t n = st->pend_len - st->pend_pos;
    if (n > max)
        n = max;
    memcpy(buf, st->pend + st->pend_pos, n);
    st->pend_pos += n;
    if (st->pend_pos == st->pend_len)
        st->pend_pos = st->pend_len = 0;
    return (ssize_t)n;
}

static ssize_t read_events(void *cls, uint64_t offset, char *buf, size_t max)
{
    struct jq_stream *st = cls;
    (void)offset;
    for (;;) {
        if (st->pend_len > 0)
            return copy_pending(st, buf, max);
        if (st->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        bool state_news = false, closing = false;
        jq_stream_hub_take_news(st->api->streams, &st->w, &state_news, &closing);
        st->check_attempt = st->check_attempt || state_news;
        int rc = produce(st);
        /* Stopping: what is there is sent, then the stream is cut; the
         * client resumes elsewhere from its last event id. */
        if (rc < 0 || (rc == 0 && closing))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        int64_t now = jq_mono_ms();
        if (rc == 0 && now >= st->keepalive_at_ms)
            queue_keepalive(st);
        if (rc > 0 || st->pend_len > 0) {
            st->keepalive_at_ms = now + JQ_STREAM_KEEPALIVE_MS;
            continue;
        }
        if (jq_stream_hub_park(st->api->streams, &st->w, st->keepalive_at_ms))
            return 0; /* suspended: MHD calls again once resumed */
    }
}

static struct jq_stream *stream_new(struct jq_request *req, int64_t id, const struct jq_sse_pos *pos,
                                    int32_t attempt)
{
    struct jq_stream *st = calloc(1, sizeof *st);
    if (!st || !(st->pend = malloc(JQ_SSE_EVENT_CAP))) {
        free(st);
        return NULL;
    }
    st->api = req->api;
    st->w.conn = req->conn;
    st->w.job_id = id;
    st->pos = *pos;
    st->attempt = attempt;
    st->pend_cap = JQ_SSE_EVENT_CAP;
    /* First bytes at once, so the client knows the stream is open. */
    st->pend_len = jq_sse_comment(st->pend, st->pend_cap, "jobq live output");
    st->keepalive_at_ms = jq_mono_ms() + JQ_STREAM_KEEPALIVE_MS;
    return st;
}

enum MHD_Result jq_handle_stream(struct jq_request *req, int64_t id)
{
    struct jq_sse_pos pos = {0, 0};
    const char *bad = NULL;
    struct jq_job job;
    if (!jq_param_stream_pos(req, &pos, &bad))
        return jq_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad);
    int err = jq_store_get(req->api->store, id, false, &job);
    if (err)
        return jq_reply_store_error(req, err, id);
    int32_t attempt = job.attempt;
    jq_job_cleanup(&job);
    struct jq_stream *st = stream_new(req, id, &pos, attempt);
    if (!st)
        return jq_reply_store_error(req, JQ_ENOMEM, id);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, JQ_SSE_EVENT_CAP, read_events, st, stream_free);
    if (!resp) {
        free(st->pend);
        free(st);
        return MHD_NO;
    }
    jq_stream_hub_add(req->api->streams, &st->w);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* proxies: pass each event on at once */
    return jq_reply_response(req, MHD_HTTP_OK, resp);
}
