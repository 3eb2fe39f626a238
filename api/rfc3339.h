/* rfc3339.h: parse the RFC 3339 timestamps of request bodies. */
#ifndef JQ_RFC3339_H
#define JQ_RFC3339_H

#include <stdbool.h>
#include <stdint.h>

/* s (NUL-terminated) as Unix epoch milliseconds into *ms_out. False when
 * it is not a complete RFC 3339 date-time from 1970 on. */
bool jq_rfc3339_parse(const char *s, int64_t *ms_out);

#endif
