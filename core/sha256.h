/* sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), small and
 * dependency-free: the idempotency keys' body hashes and the callbacks'
 * signatures. Checked against the FIPS and RFC 4231 test vectors. */
#ifndef JQ_SHA256_H
#define JQ_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define JQ_SHA256_BYTES 32

struct jq_sha256 {
    uint32_t h[8];
    uint64_t total_bytes;
    unsigned char block[64];
    size_t used; /* bytes in block */
};

void jq_sha256_init(struct jq_sha256 *c);
void jq_sha256_update(struct jq_sha256 *c, const void *data, size_t len);
void jq_sha256_final(struct jq_sha256 *c, unsigned char out[JQ_SHA256_BYTES]);
/* One call: the digest of len bytes. */
void jq_sha256(const void *data, size_t len, unsigned char out[JQ_SHA256_BYTES]);
/* HMAC-SHA256 of msg under key. */
void jq_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    unsigned char out[JQ_SHA256_BYTES]);
/* 2 * len lowercase hex digits and a NUL into hex. */
void jq_hex(const unsigned char *bytes, size_t len, char *hex);

#endif
