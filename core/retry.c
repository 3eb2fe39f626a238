/* retry.c: the retry decision of retry.h — match the attempt's outcome
 * against the policy, count attempts, compute the jittered backoff. */
#include "retry.h"

#include <string.h>

int32_t jq_retry_max_attempts(const struct jq_retry_policy *p)
{
    return p->max_attempts < 1 ? 1 : p->max_attempts;
}

static bool listed(const struct jq_retry_policy *p, int32_t item)
{
    for (uint32_t i = 0; i < p->retry_on_n && i < JQ_MAX_RETRY_ON; i++)
        if (p->retry_on[i] == item)
            return true;
    return false;
}

bool jq_retry_matches(const struct jq_retry_policy *p, enum jq_job_state state, int exit_code)
{
    switch (state) {
    case JQ_STATE_FAILED: return exit_code >= 1 && exit_code <= 255 && listed(p, exit_code);
    case JQ_STATE_TIMED_OUT: return listed(p, JQ_RETRY_ON_TIMEOUT);
    case JQ_STATE_LOST: return p->on_lost_retry || listed(p, JQ_RETRY_ON_LOST);
    default: return false;
    }
}

int64_t jq_retry_backoff_ms(const struct jq_retry_policy *p, int32_t attempt, uint64_t rnd)
{
    int64_t cap = p->backoff_max_ms > 0 ? p->backoff_max_ms : 0;
    int64_t d = p->backoff_ms > 0 ? p->backoff_ms : 0;
    for (int32_t k = 1; k < attempt && d < cap; k++)
        d *= 2; /* d <= 2 * JQ_MAX_BACKOFF_MAX_MS here: no overflow */
    if (d > cap)
        d = cap;
    int64_t lo = d / 2;
    return lo + (int64_t)(rnd % (uint64_t)(d - lo + 1));
}

void jq_retry_decide(const struct jq_retry_policy *p, int32_t attempt, enum jq_job_state state, int exit_code,
                     bool master_gone, uint64_t rnd, struct jq_retry_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->state = state;
    if (attempt >= jq_retry_max_attempts(p) || !jq_retry_matches(p, state, exit_code))
        return;
    out->retry = true;
    out->delay_ms = master_gone ? 0 : jq_retry_backoff_ms(p, attempt, rnd);
    out->state = out->delay_ms > 0 ? JQ_STATE_RETRY_WAIT : JQ_STATE_QUEUED;
}

static bool item_ok(int32_t item)
{
    return (item >= 1 && item <= 255) || item == JQ_RETRY_ON_TIMEOUT || item == JQ_RETRY_ON_LOST;
}

bool jq_retry_policy_valid(const struct jq_retry_policy *p)
{
    if (p->max_attempts < 0 || p->max_attempts > JQ_MAX_ATTEMPTS || p->retry_on_n > JQ_MAX_RETRY_ON ||
        p->backoff_ms < 0 || p->backoff_ms > JQ_MAX_BACKOFF_MS || p->backoff_max_ms < 0 ||
        p->backoff_max_ms > JQ_MAX_BACKOFF_MAX_MS)
        return false;
    for (uint32_t i = 0; i < p->retry_on_n; i++)
        if (!item_ok(p->retry_on[i]))
            return false;
    return true;
}

void jq_retry_policy_default(struct jq_retry_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->max_attempts = JQ_DEFAULT_MAX_ATTEMPTS;
    p->backoff_ms = JQ_DEFAULT_BACKOFF_MS;
    p->backoff_max_ms = JQ_DEFAULT_BACKOFF_MAX_MS;
}
