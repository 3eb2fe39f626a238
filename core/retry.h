/* retry.h: the one place that decides what a finished attempt leads to —
 * another attempt (now, or after a backoff) or the end of the job — from the
 * job's retry policy (job.h). Pure functions: no clock, no randomness of
 * their own (the caller passes a random value for the jitter), so every rule
 * is testable with a table. The store applies the decision in the same
 * transaction that records the attempt (storage/store_sqlite_write.c).
 *
 * Rules (Kubernetes podFailurePolicy semantics):
 * - succeeded and cancelled attempts are final;
 * - a failed attempt is retried if its exit code is in retry_on, a timed_out
 *   one if "timeout" is, a lost one if "lost" is or on_lost is "retry";
 * - only while attempts remain (attempt < max_attempts); else the job ends
 *   in that attempt's state;
 * - the delay before attempt k+1 is uniform in [d/2, d], d = min(backoff_max_ms,
 *   backoff_ms * 2^(k-1)); none when the master crashed or stopped (the
 *   caller says so with master_gone: the job did nothing wrong). */
#ifndef JQ_RETRY_H
#define JQ_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include "job.h"

struct jq_retry_decision {
    bool retry;              /* another attempt follows */
    enum jq_job_state state; /* retry: JQ_STATE_QUEUED (no delay) or JQ_STATE_RETRY_WAIT; else the attempt's state */
    int64_t delay_ms;        /* retry: wait before the next attempt (0 with QUEUED) */
};

/* Attempts allowed in all: max_attempts, or 1 for a zeroed policy. */
int32_t jq_retry_max_attempts(const struct jq_retry_policy *p);

/* True if an attempt with this state/exit code matches the policy's
 * retry_on (or on_lost "retry"). */
bool jq_retry_matches(const struct jq_retry_policy *p, enum jq_job_state state, int exit_code);

/* The delay after attempt (>= 1) failed, jitter drawn from rnd. */
int64_t jq_retry_backoff_ms(const struct jq_retry_policy *p, int32_t attempt, uint64_t rnd);

/* Decide after attempt number attempt (>= 1) ended in state/exit_code.
 * master_gone: the attempt was lost because the master crashed or stopped
 * (no delay then). */
void jq_retry_decide(const struct jq_retry_policy *p, int32_t attempt, enum jq_job_state state, int exit_code,
                     bool master_gone, uint64_t rnd, struct jq_retry_decision *out);

/* True if the policy is within the caps of jq_limits.h (max_attempts 0 is
 * allowed and means 1). */
bool jq_retry_policy_valid(const struct jq_retry_policy *p);

/* Set p to the documented defaults (1 attempt, on_lost fail, no retry_on,
 * backoff 1000 ms up to 60000 ms). */
void jq_retry_policy_default(struct jq_retry_policy *p);

#endif
