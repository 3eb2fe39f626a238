/* sse.h: the Server-Sent Events framing of GET /v1/jobs/{id}/stream
 * (docs/api.md, "Live output"). Pure functions over caller buffers. */
#ifndef JQ_SSE_H
#define JQ_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Raw output bytes carried by one event at most. */
#define JQ_SSE_CHUNK_BYTES 6144
/* Room for an output event (a full chunk in base64 plus the fields). */
#define JQ_SSE_EVENT_CAP 8448
/* Room an event needs besides its JSON data line. */
#define JQ_SSE_FIELDS_BYTES 128

/* Where a stream stands: the next byte of each of the job's streams. */
struct jq_sse_pos {
    uint64_t out; /* stdout offset */
    uint64_t err; /* stderr offset */
};

/* An output event: `id`, `event: stdout|stderr`, `data:
 * {"offset":N,"data_b64":"..."}` for len (<= JQ_SSE_CHUNK_BYTES) bytes that
 * start at offset; the id is the position after them (*after). Returns the
 * bytes written to buf (cap >= JQ_SSE_EVENT_CAP). */
size_t jq_sse_output_event(char *buf, size_t cap, bool err_stream, const struct jq_sse_pos *after,
                           const void *data, size_t len);
/* An event whose data is one JSON line (no newline in it): `end`,
 * `attempt`. cap >= strlen(json) + JQ_SSE_FIELDS_BYTES always fits.
 * Returns the bytes written, 0 if it does not fit. */
size_t jq_sse_json_event(char *buf, size_t cap, const char *event, const struct jq_sse_pos *at, const char *json);
/* A comment line (": keep-alive"), ignored by SSE clients. */
size_t jq_sse_comment(char *buf, size_t cap, const char *text);
/* The event id of a position ("stdout:N,stderr:M"), and its parse (for a
 * Last-Event-ID header). Parse returns false on anything else. */
void jq_sse_format_id(char *buf, size_t cap, const struct jq_sse_pos *pos);
bool jq_sse_parse_id(const char *s, struct jq_sse_pos *out);

#endif
