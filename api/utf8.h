/* utf8.h: strict UTF-8 checks for the JSON layer. Request bodies are checked
 * before they reach cJSON; stored text is checked before it is rendered. */
#ifndef JQ_UTF8_H
#define JQ_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s (avail bytes left), or
 * 0 if it is not one: overlong forms, UTF-16 surrogates (U+D800..U+DFFF),
 * code points above U+10FFFF, stray continuation bytes and truncated
 * sequences are all rejected (Unicode 15, table 3-7). U+0000 counts as 1. */
size_t jq_utf8_seq_len(const unsigned char *s, size_t avail);

/* Offset of the first byte of s (len bytes) that does not start a
 * well-formed sequence; len when all of s is well-formed UTF-8. */
size_t jq_utf8_check(const char *s, size_t len);

/* True when s (len bytes) is well-formed UTF-8 and holds no NUL byte. */
bool jq_utf8_is_text(const char *s, size_t len);

/* A NUL-terminated copy of s (len bytes) in which every ill-formed byte and
 * every NUL is replaced by U+FFFD. Heap (free()); NULL on allocation failure. */
char *jq_utf8_sanitize(const char *s, size_t len);

#endif
