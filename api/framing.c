/* framing.c: request shapes libmicrohttpd 0.9.75 lets through but a proxy
 * in front of jobq might read differently (request smuggling): both
 * Content-Length and Transfer-Encoding, several Content-Length headers, a
 * transfer coding other than chunked. Refused on the first call, before any
 * body byte is read. Also the URL decoder, which refuses to turn %00 into a
 * NUL that would cut the path or a parameter short. */
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
