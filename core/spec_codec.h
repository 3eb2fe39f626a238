/* spec_codec.h: a job spec as one flat byte string (no pointers), so it can
 * be stored as a BLOB and copied into a shared-memory task slot unchanged.
 * Format (little-endian, version-tagged) is private to spec_codec.c. */
#ifndef JQ_SPEC_CODEC_H
#define JQ_SPEC_CODEC_H

#include <stddef.h>
#include "err.h"
#include "job.h"

/* Bytes jq_spec_encode() will write for spec. */
size_t jq_spec_encoded_size(const struct jq_job_spec *spec);

/* Encode spec into buf (cap bytes). *len_out = bytes written.
 * Returns 0, JQ_ETOOBIG if cap is too small, or JQ_EINVAL if the retry
 * policy holds more than JQ_MAX_RETRY_ON retry_on items. */
JQ_MUST_CHECK int jq_spec_encode(const struct jq_job_spec *spec, void *buf, size_t cap, size_t *len_out);

/* Decode len bytes into *out (initialised here; the caller cleans it up on
 * success; on failure *out is left empty). Every length is checked against
 * len, and the retry policy against the caps. An encoding of version 1
 * (before retry policies) decodes with the default policy. Returns 0,
 * JQ_ECORRUPT or JQ_ENOMEM. */
JQ_MUST_CHECK int jq_spec_decode(const void *buf, size_t len, struct jq_job_spec *out);

/* Decode only the retry policy of an encoding (cheap: no strings are
 * copied). Returns 0 or JQ_ECORRUPT. */
JQ_MUST_CHECK int jq_spec_decode_policy(const void *buf, size_t len, struct jq_retry_policy *out);

#endif
