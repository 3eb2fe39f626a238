/* json_strict.c: the strict JSON syntax check of json_strict.h.
 *
 * DESIGN: a recursive-descent recogniser that builds nothing. Recursion
 * happens only on '[' and '{' and stops at JQ_JSON_MAX_DEPTH, so a body of
 * 100000 '[' costs 9 stack frames. UTF-8 and NUL are checked over the whole
 * body first, so the string scanner only has to look at ASCII. */
#include "json_strict.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "utf8.h"

struct scan {
    const unsigned char *p;
    size_t len;
    size_t pos;
    unsigned depth;
    size_t values;
    const char *why; /* set on the first error; pos is where it was found */
};

static bool value(struct scan *s);

static bool fail(struct scan *s, const char *why)
{
    if (!s->why)
        s->why = why;
    return false;
}

static int peek(const struct scan *s)
{
    return s->pos < s->len ? s->p[s->pos] : -1;
}

static void skip_ws(struct scan *s)
{
    while (s->pos < s->len) {
        unsigned char c = s->p[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        s->pos++;
    }
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the \uXXXX at pos (pointing at the backslash) into *cp. */
static bool read_u_escape(struct scan *s, size_t pos, unsigned *cp)
{
    unsigned v = 0;

    if (pos + 6 > s->len || s->p[pos] != '\\' || s->p[pos + 1] != 'u')
        return false;
    for (size_t i = pos + 2; i < pos + 6; i++) {
        int d = hex_digit(s->p[i]);
        if (d < 0)
            return false;
        v = v << 4 | (unsigned)d;
    }
    *cp = v;
    return true;
}

/* pos at the backslash of a \u escape; consumes it (and its low half). */
static bool u_escape(struct scan *s)
{
    unsigned hi, lo;

    if (!read_u_escape(s, s->pos, &hi))
        return fail(s, "bad \\u escape (needs 4 hex digits)");
    if (hi == 0)
        return fail(s, "\\u0000 is not allowed");
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return fail(s, "unpaired surrogate escape");
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (!read_u_escape(s, s->pos + 6, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return fail(s, "unpaired surrogate escape");
        s->pos += 6;
    }
    s->pos += 6;
    return true;
}

static bool string(struct scan *s)
{
    s->pos++; /* the opening quote */
    while (s->pos < s->len) {
        unsigned char c = s->p[s->pos];
        if (c == '"') {
            s->pos++;
            return true;
        }
        if (c < 0x20)
            return fail(s, "control character in string (escape it)");
        if (c != '\\') {
            s->pos++; /* bytes >= 0x80 were checked as UTF-8 already */
            continue;
        }
        if (s->pos + 1 >= s->len)
            break;
        c = s->p[s->pos + 1];
        if (c == 'u') {
            if (!u_escape(s))
                return false;
        } else if (c && strchr("\"\\/bfnrt", c)) {
            s->pos += 2;
        } else {
            s->pos++;
            return fail(s, "bad escape in string");
        }
    }
    return fail(s, "unterminated string");
}

static size_t digits(struct scan *s)
{
    size_t start = s->pos;

    while (s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9')
        s->pos++;
    return s->pos - start;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool number(struct scan *s)
{
    size_t start = s->pos;

    if (peek(s) == '-')
        s->pos++;
    if (peek(s) == '0')
        s->pos++;
    else if (digits(s) == 0)
        return fail(s, "bad number");
    if (peek(s) == '.') {
        s->pos++;
        if (digits(s) == 0)
            return fail(s, "bad number (digits must follow '.')");
    }
    if (peek(s) == 'e' || peek(s) == 'E') {
        s->pos++;
        if (peek(s) == '+' || peek(s) == '-')
            s->pos++;
        if (digits(s) == 0)
            return fail(s, "bad number (digits must follow the exponent)");
    }
    if (s->pos - start > JQ_JSON_MAX_NUMBER_CHARS) {
        s->pos = start;
        return fail(s, "number too long");
    }
    return true;
}

static bool literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);

    if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0)
        return fail(s, "unexpected character");
    s->pos += n;
    return true;
}

/* Shared by arrays and objects: pos at '[' or '{'. */
static bool enter(struct scan *s)
{
    if (++s->depth > JQ_JSON_MAX_DEPTH)
        return fail(s, "nesting too deep");
    s->pos++;
    skip_ws(s);
    return true;
}

static bool member(struct scan *s)
{
    if (peek(s) != '"')
        return fail(s, "expected a string key");
    if (!string(s))
        return false;
    skip_ws(s);
    if (peek(s) != ':')
        return fail(s, "expected ':'");
    s->pos++;
    skip_ws(s);
    return value(s);
}

/* Elements or members, separated by ',' and closed by close. */
static bool container(struct scan *s, int close, bool (*item)(struct scan *))
{
    if (!enter(s))
        return false;
    if (peek(s) == close) {
        s->pos++;
        s->depth--;
        return true;
    }
    for (;;) {
        if (!item(s))
            return false;
        skip_ws(s);
        if (peek(s) == close)
            break;
        if (peek(s) != ',')
            return fail(s, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
        s->pos++;
        skip_ws(s);
    }
    s->pos++;
    s->depth--;
    return true;
}

static bool value(struct scan *s)
{
    if (++s->values > JQ_JSON_MAX_VALUES)
        return fail(s, "too many values");
    switch (peek(s)) {
    case '{': return container(s, '}', member);
    case '[': return container(s, ']', value);
    case '"': return string(s);
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    case -1: return fail(s, "unexpected end of input");
    default:
        if (peek(s) == '-' || (peek(s) >= '0' && peek(s) <= '9'))
            return number(s);
        return fail(s, "unexpected character");
    }
}

static bool document(struct scan *s)
{
    const char *nul;
    size_t bad;

    if (s->len >= 3 && memcmp(s->p, "\xEF\xBB\xBF", 3) == 0)
        return fail(s, "byte order mark not allowed");
    nul = memchr(s->p, '\0', s->len);
    if (nul) {
        s->pos = (size_t)(nul - (const char *)s->p);
        return fail(s, "NUL byte not allowed");
    }
    bad = jq_utf8_check((const char *)s->p, s->len);
    if (bad != s->len) {
        s->pos = bad;
        return fail(s, "invalid UTF-8");
    }
    skip_ws(s);
    if (s->pos == s->len)
        return fail(s, "empty body");
    if (!value(s))
        return false;
    skip_ws(s);
    if (s->pos != s->len)
        return fail(s, "unexpected data after the JSON value");
    return true;
}

int jq_json_check(const char *body, size_t len, char *msg, size_t msg_size)
{
    struct scan s = { .p = (const unsigned char *)body, .len = len };

    if (document(&s))
        return 0;
    if (msg_size > 0)
        snprintf(msg, msg_size, "malformed JSON at byte %zu: %s", s.pos, s.why);
    return JQ_EINVAL;
}
