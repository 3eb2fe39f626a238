/* stream.c: following a job's live output (GET /v1/jobs/{id}/stream,
 * Server-Sent Events; docs/api.md "Live output") for `jobq run` and
 * `jobq logs -f`: each stdout/stderr event's bytes are decoded and written
 * to our descriptors as they arrive, the end event gives the finished job.
 * A cut connection is resumed from the offsets reached; a server without
 * the endpoint (404) makes the caller fall back to waiting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* The longest event we accept (an end event carries the job's JSON). */
#define JQ_CLI_MAX_EVENT_BYTES ((size_t)16 * 1024 * 1024)
/* Reconnections after a cut stream before giving up. */
#define JQ_CLI_STREAM_RESUMES 5

struct follow {
    int fds[2];          /* where stdout / stderr bytes go; -1 = dropped */
    uint64_t pos[2];     /* bytes of each stream received so far */
    char *buf;           /* bytes not yet parsed into events */
    size_t len;
    cJSON *end;          /* the end event's job, once it came */
    int write_errno;
    /* The progress line on a terminal, until the first output byte. */
    const struct jq_cli *cli;
    int64_t id;
    int64_t t0_ms;
    int64_t shown_s;     /* seconds last shown, 0 = no line on screen */
    bool any_output;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_tick(void *ctx)
{
    struct follow *f = ctx;
    int64_t s = (mono_ms() - f->t0_ms) / 1000;
    if (!f->cli->progress || f->any_output || s < 1 || s == f->shown_s)
        return;
    fprintf(stderr, "\rwaiting for job %lld (%llds)\033[K", (long long)f->id, (long long)s);
    fflush(stderr);
    f->shown_s = s;
}

/* Erase the progress line before any output (and at the end). */
static void clear_line(struct follow *f)
{
    if (f->shown_s) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        f->shown_s = 0;
    }
}

static int b64_value(unsigned char c)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* Decode s in place; returns the byte count, or -1 on a bad character. */
static long b64_decode(char *s)
{
    unsigned acc = 0;
    int bits = 0;
    long n = 0;
    for (const char *p = s; *p && *p != '='; p++) {
        int v = b64_value((unsigned char)*p);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            s[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    return n;
}

/* An output event: bytes at "offset" of stream k. Overlap with what we
 * already have (a resumed stream) is skipped. Returns 0 or -1. */
static int on_output(struct follow *f, int k, const char *data)
{
    cJSON *doc = cJSON_Parse(data);
    int64_t off = -1;
    cJSON *b64 = cJSON_GetObjectItemCaseSensitive(doc, "data_b64");
    long n = cJSON_IsString(b64) && jq_cli_int(doc, "offset", &off) ? b64_decode(b64->valuestring) : -1;
    int rc = n < 0 || off < 0 || (uint64_t)off > f->pos[k] ? -1 : 0;
    if (rc == 0 && (uint64_t)off + (uint64_t)n > f->pos[k]) {
        size_t skip = (size_t)(f->pos[k] - (uint64_t)off);
        if (f->fds[k] >= 0) {
            clear_line(f);
            f->any_output = true;
        }
        if (f->fds[k] >= 0)
            f->write_errno = jq_cli_write_all(f->fds[k], b64->valuestring + skip, (size_t)n - skip);
        f->pos[k] = (uint64_t)off + (uint64_t)n;
        rc = f->write_errno ? -1 : 0;
    }
    cJSON_Delete(doc);
    return rc;
}

/* One event block (its lines, without the blank line). Returns 0 or -1. */
static int on_event(struct follow *f, char *block)
{
    const char *event = NULL, *data = NULL;
    for (char *line = strtok(block, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "event: ", 7) == 0)
            event = line + 7;
        else if (strncmp(line, "data: ", 6) == 0)
            data = line + 6;
    }
    if (!event || !data)
        return 0; /* a comment (keep-alive) */
    if (strcmp(event, "stdout") == 0 || strcmp(event, "stderr") == 0)
        return on_output(f, event[3] == 'e', data);
    if (strcmp(event, "attempt") == 0) {
        f->pos[0] = f->pos[1] = 0; /* a retried job's next attempt starts over */
        return 0;
    }
    if (strcmp(event, "end") == 0) {
        cJSON_Delete(f->end);
        f->end = cJSON_Parse(data);
        return cJSON_IsObject(f->end) ? 0 : -1;
    }
    return 0;
}

static size_t on_bytes(void *ctx, const char *p, size_t n)
{
    struct follow *f = ctx;
    if (n > JQ_CLI_MAX_EVENT_BYTES - f->len)
        return 0;
    char *b = realloc(f->buf, f->len + n + 1);
    if (!b)
        return 0;
    memcpy(b + f->len, p, n);
    f->buf = b;
    f->len += n;
    b[f->len] = '\0';
    char *sep;
    while ((sep = strstr(f->buf, "\n\n")) != NULL) {
        *sep = '\0';
        size_t used = (size_t)(sep - f->buf) + 2;
        if (on_event(f, f->buf) != 0)
            return 0;
        memmove(f->buf, f->buf + used, f->len - used + 1);
        f->len -= used;
    }
    return n;
}

/* One connection from the offsets reached so far. */
static int follow_once(struct jq_cli *cli, int64_t id, struct follow *f)
{
    char path[160];
    struct jq_cli_resp r;
    snprintf(path, sizeof(path), "/v1/jobs/%lld/stream?stdout_offset=%llu&stderr_offset=%llu", (long long)id,
             (unsigned long long)f->pos[0], (unsigned long long)f->pos[1]);
    jq_cli_resp_init(&r, -1);
    r.sink = on_bytes;
    r.sink_ctx = f;
    r.quiet_status = 404;
    r.tick = on_tick;
    f->len = 0;
    int rc = jq_cli_http(cli, "GET", path, NULL, 0, &jq_cli_stop_signal, &r);
    if (rc == JQ_CLI_ESERVER && r.status == 404)
        rc = JQ_CLI_NO_STREAM;
    jq_cli_resp_cleanup(&r);
    return rc;
}

int jq_cli_follow_job(struct jq_cli *cli, int64_t id, int out_fd, int err_fd, cJSON **job_out)
{
    struct follow f = {.fds = {out_fd, err_fd}, .cli = cli, .id = id, .t0_ms = mono_ms()};
    int rc = 0;
    *job_out = NULL;
    for (int i = 0; i <= JQ_CLI_STREAM_RESUMES && !f.end; i++) {
        rc = follow_once(cli, id, &f);
        if (rc == JQ_CLI_NO_STREAM || rc == JQ_CLI_INTERRUPTED || jq_cli_stop_signal || f.write_errno)
            break;
    }
    clear_line(&f);
    if (f.write_errno) {
        jq_cli_err("cannot write the output: %s", strerror(f.write_errno));
        rc = JQ_CLI_ESERVER;
    } else if (jq_cli_stop_signal) {
        rc = JQ_CLI_INTERRUPTED;
    } else if (f.end) {
        rc = 0;
    } else if (rc == 0) {
        jq_cli_err("the stream of job %lld ended before the job did", (long long)id);
        rc = JQ_CLI_ESERVER;
    }
    *job_out = f.end;
    free(f.buf);
    return rc;
}
