/* json_strict.h: a strict RFC 8259 syntax check of a request body, run before
 * cJSON sees it. cJSON 1.7.15 is lax (it skips a BOM, takes "01", "+1" and
 * "1.", decodes a bad \u escape as U+0000, and allows raw control
 * characters and invalid UTF-8 in strings); after this check it only ever
 * parses text that any conforming parser would read the same way. */
#ifndef JQ_JSON_STRICT_H
#define JQ_JSON_STRICT_H

#include <stddef.h>

/* Arrays and objects nest at most this deep (a batch needs 3:
 * {"jobs":[{"env":{}}]}). Checked before any recursion goes deeper. */
#define JQ_JSON_MAX_DEPTH 8
/* Values in one body. cJSON spends about 100 bytes of heap per value, so a
 * body of 8 MiB of "0," would otherwise cost ~400 MiB; a million values
 * is more than any real submission of that size holds (8 bytes per value). */
#define JQ_JSON_MAX_VALUES 1000000
/* Characters in a number literal. cJSON reads at most 63; no integer field
 * needs more than 20. */
#define JQ_JSON_MAX_NUMBER_CHARS 40

/* Check that body (len bytes, not NUL-terminated) is exactly one JSON value
 * with optional whitespace around it, and also: well-formed UTF-8 throughout,
 * no NUL byte, no BOM, no raw control character in a string, no \u0000
 * escape, no unpaired surrogate escape, nesting and size within the caps
 * above. Returns 0, or JQ_EINVAL with a message (naming the byte offset) in
 * msg (msg_size bytes, always NUL-terminated when msg_size > 0). */
int jq_json_check(const char *body, size_t len, char *msg, size_t msg_size);

#endif
