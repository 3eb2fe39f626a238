/* sse.c: Server-Sent Events as GET /v1/jobs/{id}/stream writes them. Every
 * event carries an id naming the position of both of the job's streams
 * after it, so that one Last-Event-ID resumes both; output bytes travel as
 * base64 inside a one-line JSON object, so any bytes (binary, invalid
 * UTF-8, NUL, newlines) pass unchanged. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "sse.h"

_Static_assert(JQ_SSE_CHUNK_BYTES / 3 * 4 + 4 + JQ_SSE_FIELDS_BYTES < JQ_SSE_EVENT_CAP,
               "an output event fits the event cap");

void jq_sse_format_id(char *buf, size_t cap, const struct jq_sse_pos *pos)
{
    snprintf(buf, cap, "stdout:%" PRIu64 ",stderr:%" PRIu64, pos->out, pos->err);
}

/* Digits only, no sign, no leading zero but "0", at most 18 (fits int64). */
static const char *parse_offset(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 19)
        v = v * 10 + (uint64_t)(s[n++] - '0');
    if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
        return NULL;
    *out = v;
    return s + n;
}

bool jq_sse_parse_id(const char *s, struct jq_sse_pos *out)
{
    static const char out_key[] = "stdout:", err_key[] = "stderr:";
    struct jq_sse_pos p;
    if (strncmp(s, out_key, sizeof out_key - 1) != 0 || !(s = parse_offset(s + sizeof out_key - 1, &p.out)))
        return false;
    if (*s++ != ',' || strncmp(s, err_key, sizeof err_key - 1) != 0 ||
        !(s = parse_offset(s + sizeof err_key - 1, &p.err)) || *s != '\0')
        return false;
    *out = p;
    return true;
}

/* "id: ...\nevent: NAME\n"; returns its length (cap is always enough). */
static size_t event_head(char *buf, size_t cap, const char *event, const struct jq_sse_pos *pos)
{
    char id[64];
    jq_sse_format_id(id, sizeof id, pos);
    int n = snprintf(buf, cap, "id: %s\nevent: %s\n", id, event);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t jq_sse_output_event(char *buf, size_t cap, bool err_stream, const struct jq_sse_pos *after,
                           const void *data, size_t len)
{
    uint64_t start = (err_stream ? after->err : after->out) - len;
    size_t n = event_head(buf, cap, err_stream ? "stderr" : "stdout", after);
    size_t b64 = jq_base64_encoded_len(len);
    int m = snprintf(buf + n, cap - n, "data: {\"offset\":%" PRIu64 ",\"data_b64\":\"", start);
    if (n == 0 || m < 0 || (size_t)m + b64 + 5 > cap - n)
        return 0;
    n += (size_t)m;
    jq_base64_encode(data, len, buf + n);
    n += b64;
    memcpy(buf + n, "\"}\n\n", 4);
    return n + 4;
}

size_t jq_sse_json_event(char *buf, size_t cap, const char *event, const struct jq_sse_pos *at, const char *json)
{
    size_t n = event_head(buf, cap, event, at);
    size_t len = strlen(json);
    if (n == 0 || strchr(json, '\n') || len + 8 > cap - n)
        return 0;
    memcpy(buf + n, "data: ", 6);
    memcpy(buf + n + 6, json, len);
    memcpy(buf + n + 6 + len, "\n\n", 2);
    return n + len + 8;
}

size_t jq_sse_comment(char *buf, size_t cap, const char *text)
{
    int n = snprintf(buf, cap, ": %s\n\n", text);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
