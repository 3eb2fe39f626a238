/* framing.c: request shapes libmicrohttpd 0.9.75 lets through but a proxy
 * in front of jobq might read differently (request smuggling): both
 * Content-Length and Transfer-Encoding, several Content-Length headers, a
 * transfer coding other than chunked, a raw NUL or other control byte in
 * the request target. Refused on the first call, before any body byte is
 * read. Also the URL decoder, which refuses to turn %00 into a NUL that
 * would cut the path or a parameter short. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"

struct framing_count {
    unsigned content_length;
    unsigned transfer_encoding;
    bool chunked_only;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct framing_count *c = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        c->content_length++;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        c->transfer_encoding++;
        c->chunked_only = value && strcasecmp(value, "chunked") == 0;
    }
    return MHD_YES;
}

const char *jq_framing_problem(struct MHD_Connection *conn, unsigned *status)
{
    struct framing_count c = {0, 0, false};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &c);
    *status = MHD_HTTP_BAD_REQUEST;
    if (c.content_length > 1)
        return "more than one Content-Length header";
    if (c.content_length && c.transfer_encoding)
        return "both Content-Length and Transfer-Encoding";
    if (c.transfer_encoding > 1 || (c.transfer_encoding && !c.chunked_only)) {
        *status = MHD_HTTP_NOT_IMPLEMENTED;
        return "the only transfer coding accepted is a single \"chunked\"";
    }
    return NULL;
}

/* DESIGN: MHD 0.9.75 cuts the request line into C strings in place: the
 * space before "HTTP/1.1" becomes the target's terminating NUL and the
 * version string starts right after it. A raw NUL inside the target ends
 * the string early, so "/healthz\0junk" would be served as /healthz. MHD's
 * URI callback sees the target before anything else is cut: the first NUL
 * there is either that terminator — then the version MHD hands the handler
 * starts one byte later — or a NUL the client sent. */
#define JQ_TARGET_MAX_BYTES 65536 /* more than MHD's whole connection buffer */

void jq_target_inspect(struct jq_target *t, const char *raw_uri)
{
    const unsigned char *p = (const unsigned char *)raw_uri;
    t->has_ctl = false;
    for (; *p; p++)
        t->has_ctl |= *p < 0x20 || *p == 0x7f;
    t->end = (const char *)p;
}

const char *jq_target_problem(const struct jq_target *t, const char *version)
{
    if (t->has_ctl)
        return "a control character in the request target";
    if (!t->end || !version)
        return NULL;
    uintptr_t end = (uintptr_t)t->end, ver = (uintptr_t)version;
    /* The version past the first NUL but within the same line: a NUL came
     * from the client. (Any other place: not a pointer into the line, so
     * nothing can be told.) */
    if (ver > end + 1 && ver - end <= JQ_TARGET_MAX_BYTES)
        return "a NUL byte in the request target";
    return NULL;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

size_t jq_unescape_url(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *out = s;
    for (const char *in = s; *in; in++) {
        int hi = in[0] == '%' ? hex_value(in[1]) : -1;
        int lo = hi >= 0 ? hex_value(in[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *out++ = (char)(hi * 16 + lo);
            in += 2;
        } else {
            *out++ = *in; /* "%00" and broken escapes stay as they are */
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}
