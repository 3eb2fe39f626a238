/* rfc3339.c: RFC 3339 timestamps in request bodies ("2026-11-23T07:00:00Z",
 * "2026-11-23T08:00:00.5+01:00") -> Unix epoch milliseconds. Strict: the
 * full date and time, 'T' (or 't'), seconds, an optional fraction (digits
 * beyond milliseconds are dropped), and 'Z' or a +hh:mm / -hh:mm offset. */
#include "rfc3339.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

/* n decimal digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* The fraction after '.', as milliseconds. */
static bool fraction_ms(const char **p, int *ms)
{
    int scale = 100, n = 0;
    *ms = 0;
    if (**p != '.')
        return true;
    (*p)++;
    while (isdigit((unsigned char)**p)) {
        *ms += scale * (**p - '0');
        scale /= 10;
        (*p)++;
        n++;
    }
    return n > 0;
}

/* 'Z' or (+|-)hh:mm, as seconds east of UTC. */
static bool offset_s(const char **p, int *out)
{
    int hh, mm, sign;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *out = 0;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    sign = **p == '-' ? -1 : 1;
    (*p)++;
    if (!digits(p, 2, &hh) || !expect(p, ':') || !digits(p, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *out = sign * (hh * 3600 + mm * 60);
    return true;
}

bool jq_rfc3339_parse(const char *s, int64_t *ms_out)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, ms, off;
    const char *p = s;
    memset(&tm, 0, sizeof(tm));
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') || !digits(&p, 2, &d))
        return false;
    if (*p != 'T' && *p != 't')
        return false;
    p++;
    if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') || !digits(&p, 2, &sec))
        return false;
    if (!fraction_ms(&p, &ms) || !offset_s(&p, &off) || *p != '\0')
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec > 59 ? 59 : sec; /* a leap second counts as :59 */
    time_t t = timegm(&tm);
    *ms_out = ((int64_t)t - off) * 1000 + ms;
    return *ms_out > 0;
}
