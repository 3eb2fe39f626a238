/* cron.h: 5-field cron expressions (minute hour day-of-month month
 * day-of-week), evaluated in UTC, for periodic jobs. Each field takes `*`,
 * a number, a range `a-b`, a step `*\/s` or `a-b/s` or `a/s` (a to the
 * field's end), and comma-separated lists of those; months take JAN..DEC
 * and days of the week SUN..SAT (case-insensitive), Sunday is 0 or 7. As
 * in Vixie cron, when both day fields are restricted a day matches if
 * either does. */
#ifndef JQ_CRON_H
#define JQ_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "jq_limits.h"

struct jq_cron {
    uint64_t minutes;  /* bit m: minute m (0..59) */
    uint32_t hours;    /* bit h (0..23) */
    uint32_t mdays;    /* bit d (1..31) */
    uint16_t months;   /* bit m (1..12) */
    uint8_t wdays;     /* bit w (0..6, Sunday = 0) */
    bool mday_any;     /* the day-of-month field starts with `*` */
    bool wday_any;     /* the day-of-week field starts with `*` */
};

/* Parse text into *out. Returns 0, or JQ_EINVAL with a reason in msg
 * (msg_size bytes, NUL-terminated when msg_size > 0). */
int jq_cron_parse(const char *text, struct jq_cron *out, char *msg, size_t msg_size);

/* The first minute strictly after after_ms (epoch ms) that c matches, as
 * epoch ms (a whole minute), within the next 5 years. Returns 0, or
 * JQ_ENOTFOUND when c never matches within them (e.g. 30 February). */
int jq_cron_next(const struct jq_cron *c, int64_t after_ms, int64_t *out_ms);

#endif
