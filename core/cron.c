/* cron.c: parsing and evaluating 5-field cron expressions (cron.h). Each
 * field becomes a bit set; the next match is found day by day (at most
 * five years of days), then hour and minute within the first day that
 * matches, so a lookup costs at most ~1,800 cheap steps. */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"

#define SEARCH_DAYS (5 * 366)

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] stands for lo + i (or NULL) */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},
    {"month", 1, 12, month_names},
    {"day of week", 0, 7, wday_names},
};

/* A number or a name at *p; advances *p. */
static bool value(const struct field *f, const char **p, int *out)
{
    if (isdigit((unsigned char)**p)) {
        int v = 0, n = 0;
        while (isdigit((unsigned char)**p) && n++ < 3)
            v = v * 10 + (*(*p)++ - '0');
        *out = v;
        return !isdigit((unsigned char)**p) && v >= f->lo && v <= f->hi;
    }
    for (int i = 0; f->names && f->names[i]; i++) {
        if (strncasecmp(*p, f->names[i], 3) == 0 && !isalpha((unsigned char)(*p)[3])) {
            *p += 3;
            *out = f->lo + i;
            return true;
        }
    }
    return false;
}

/* One list item: `*`, `a`, `a-b`, each optionally `/step`. */
static bool item(const struct field *f, const char **p, uint64_t *bits)
{
    int a = f->lo, b = f->hi, step = 1;
    bool star = **p == '*', range = star;
    if (star)
        (*p)++;
    else if (!value(f, p, &a))
        return false;
    if (!star && **p == '-') {
        (*p)++;
        if (!value(f, p, &b) || b < a)
            return false;
        range = true;
    } else if (!star) {
        b = a;
    }
    if (**p == '/') {
        (*p)++;
        if (!isdigit((unsigned char)**p) || !value(&(struct field){"step", 1, f->hi, NULL}, p, &step))
            return false;
        if (!range)
            b = f->hi; /* "a/s": from a to the end */
    }
    for (int v = a; v <= b; v += step)
        *bits |= 1ull << v;
    return true;
}

/* One whole field (a comma list), ending at a space or the end. */
static bool field_bits(const struct field *f, const char **p, uint64_t *bits, bool *any)
{
    *bits = 0;
    *any = **p == '*';
    for (;;) {
        if (!item(f, p, bits))
            return false;
        if (**p != ',')
            break;
        (*p)++;
    }
    return **p == '\0' || **p == ' ' || **p == '\t';
}

static void skip_blanks(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

int jq_cron_parse(const char *text, struct jq_cron *out, char *msg, size_t msg_size)
{
    uint64_t bits[5];
    bool any[5];
    const char *p = text;
    memset(out, 0, sizeof(*out));
    if (strlen(text) > JQ_MAX_CRON_BYTES) {
        snprintf(msg, msg_size, "longer than %d bytes", JQ_MAX_CRON_BYTES);
        return JQ_EINVAL;
    }
    for (int i = 0; i < 5; i++) {
        skip_blanks(&p);
        if (*p == '\0' || !field_bits(&fields[i], &p, &bits[i], &any[i])) {
            snprintf(msg, msg_size, "%s field: expected *, N, N-M, */S, N-M/S or a list of them (%d-%d)",
                     fields[i].name, fields[i].lo, fields[i].hi);
            return JQ_EINVAL;
        }
    }
    skip_blanks(&p);
    if (*p != '\0') {
        snprintf(msg, msg_size, "five fields expected: minute hour day-of-month month day-of-week");
        return JQ_EINVAL;
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday too */
    out->mday_any = any[2];
    out->wday_any = any[4];
    return 0;
}

static bool day_matches(const struct jq_cron *c, const struct tm *tm)
{
    bool mday = (c->mdays >> tm->tm_mday) & 1, wday = (c->wdays >> tm->tm_wday) & 1;
    if (!((c->months >> (tm->tm_mon + 1)) & 1))
        return false;
    if (c->mday_any || c->wday_any)
        return mday && wday;
    return mday || wday; /* both restricted: either (Vixie cron) */
}

/* The first matching hour:minute at or after from_min (minutes into the
 * day), or -1. */
static int first_time(const struct jq_cron *c, int from_min)
{
    for (int m = from_min; m < 24 * 60; m++) {
        if (!((c->hours >> (m / 60)) & 1)) {
            m = (m / 60) * 60 + 59; /* next hour */
            continue;
        }
        if ((c->minutes >> (m % 60)) & 1)
            return m;
    }
    return -1;
}

int jq_cron_next(const struct jq_cron *c, int64_t after_ms, int64_t *out_ms)
{
    int64_t start_min = after_ms >= 0 ? after_ms / 60000 + 1 : 0; /* strictly after */
    int64_t day = start_min / 1440;
    int from = (int)(start_min % 1440);
    for (int i = 0; i < SEARCH_DAYS; i++, day++, from = 0) {
        time_t t = (time_t)(day * 86400);
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            return JQ_ENOTFOUND;
        int m = day_matches(c, &tm) ? first_time(c, from) : -1;
        if (m >= 0) {
            *out_ms = (day * 1440 + m) * 60000;
            return 0;
        }
    }
    return JQ_ENOTFOUND;
}
