/* args.c: parsing of option values — durations (500ms, 5s, 2m, 1h, plain
 * milliseconds), bounded integers, byte counts, job ids — and the one-line
 * error format every message of the client uses. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void jq_cli_err(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("jobq: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int jq_cli_usage_hint(const char *usage)
{
    size_t n = strcspn(usage, "\n");
    fprintf(stderr, "%.*s\n(--help for the options)\n", (int)n, usage);
    return JQ_CLI_EUSAGE;
}

/* A non-negative decimal number with an optional fraction; *end after it. */
static int parse_number(const char *s, double *out, const char **end)
{
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (p == s || (p == s + 1 && *s == '.'))
        return -1;
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e != p || !isfinite(v))
        return -1;
    *out = v;
    *end = p;
    return 0;
}

int jq_cli_parse_duration_ms(const char *s, int64_t *out_ms)
{
    static const struct { const char *unit; double ms; } units[] = {
        {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
    };
    double v;
    const char *unit;
    if (!s || parse_number(s, &v, &unit) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(unit, units[i].unit) != 0)
            continue;
        double ms = v * units[i].ms;
        if (ms > 1e15)
            return -1;
        *out_ms = (int64_t)llround(ms);
        return 0;
    }
    return -1;
}

int jq_cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int jq_cli_parse_bytes(const char *s, int64_t *out)
{
    static const char suffixes[] = "kmg";
    double v;
    const char *suffix;
    if (!s || parse_number(s, &v, &suffix) != 0)
        return -1;
    double mul = 1;
    if (*suffix) {
        const char *p = strchr(suffixes, tolower((unsigned char)*suffix));
        if (!p || !*p)
            return -1;
        for (const char *q = suffixes; q <= p; q++)
            mul *= 1024;
        suffix++;
        if (*suffix == 'i' || *suffix == 'I')
            suffix++;
        if (*suffix == 'b' || *suffix == 'B')
            suffix++;
        if (*suffix)
            return -1;
    }
    if (v * mul > 1e15 || v * mul != floor(v * mul))
        return -1;
    *out = (int64_t)(v * mul);
    return 0;
}

int jq_cli_parse_id(const char *s, int64_t *out)
{
    if (jq_cli_parse_int(s, 1, INT64_MAX, out) == 0)
        return 0;
    jq_cli_err("'%s' is not a job id (a positive integer)", s ? s : "");
    return -1;
}
