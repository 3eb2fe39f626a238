/* job_json.h: the JSON side of a job — a POST /v1/jobs body parsed strictly
 * into job specs, and a stored job rendered as the JSON of docs/api.md. No
 * HTTP here: the handlers in jobs.c call these. */
#ifndef JQ_JOB_JSON_H
#define JQ_JOB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "api.h"
#include "job.h"

/* Why a body was rejected; maps to an error code of docs/api.md. */
enum jq_json_error {
    JQ_JSON_OK = 0,
    JQ_JSON_MALFORMED,     /* 400 malformed_json */
    JQ_JSON_INVALID_FIELD, /* 400 invalid_field */
    JQ_JSON_UNKNOWN_FIELD, /* 400 unknown_field */
    JQ_JSON_MISSING_FIELD, /* 400 missing_field */
    JQ_JSON_OUT_OF_RANGE,  /* 422 out_of_range */
    JQ_JSON_UNAVAILABLE,   /* 422 callbacks_unavailable: a feature this build lacks */
    JQ_JSON_NO_MEMORY      /* 503 */
};

/* A parsed submission: one job or a batch. */
struct jq_submission {
    struct jq_job_spec *specs; /* n specs, heap */
    size_t n;
    bool is_batch;             /* the body was {"jobs":[...]} */
};

/* Parse a POST /v1/jobs body (len bytes, not NUL-terminated) strictly:
 * valid UTF-8 only, no NUL, no trailing garbage, no duplicate keys, no
 * unknown fields, integers only where integers are due, bounded nesting.
 * Defaults and bounds come from policy. On error, msg (size msg_size) names
 * the field, e.g. "jobs[1].timeout_ms must be an integer between 1 and
 * 86400000", and nothing is allocated in *out. */
enum jq_json_error jq_json_parse_submission(const char *body, size_t len, const struct jq_job_policy *policy,
                                            struct jq_submission *out, char *msg, size_t msg_size);
void jq_submission_cleanup(struct jq_submission *sub);

/* The job as docs/api.md shows it. with_output adds stdout/stderr (or their
 * *_base64 forms) and the attempt history ("attempts", from job->attempts);
 * without it (lists) those keys are left out. NULL on allocation failure. */
cJSON *jq_json_from_job(const struct jq_job *job, bool with_output);

/* "2026-11-23T07:00:00.123Z" into buf (at least 25 bytes). */
void jq_json_format_time(int64_t epoch_ms, char *buf, size_t size);

#endif
