/* base64.h: standard base64 (RFC 4648 section 4, with '=' padding), used to
 * render job output that is not valid UTF-8 text. */
#ifndef JQ_BASE64_H
#define JQ_BASE64_H

#include <stddef.h>

/* Characters jq_base64_encode() writes for len bytes, not counting the NUL;
 * 0 if that would overflow size_t. */
size_t jq_base64_encoded_len(size_t len);

/* Encode len bytes of src into dst, which must hold
 * jq_base64_encoded_len(len) + 1 bytes; dst ends with a NUL. */
void jq_base64_encode(const void *src, size_t len, char *dst);

#endif
