/* schedules.c: the master's side of periodic jobs — at each wake-up, the
 * schedules whose tick has come make their job (the template parsed as a
 * POST body would be, with today's limits) and move on to their next tick.
 *
 * Catch-up: a schedule whose ticks passed while the service was down (or
 * busy) makes one job, for the first missed tick, and its next tick is the
 * first one after now: missed ticks are collapsed, never replayed one by
 * one. The store makes each tick fire at most once, across crashes too. */
#include <stdint.h>
#include <string.h>

#include "cron.h"
#include "job_json.h"
#include "log.h"
#include "service.h"

/* Schedules read per query, and queries per run at most. */
#define DUE_BATCH 16
#define DUE_ROUNDS 16
/* A schedule whose expression no longer matches (cannot happen for one
 * that was accepted, but the database is outside our control) waits this
 * long before it is looked at again. */
#define NEVER_AGAIN_MS (366LL * 86400 * 1000)

/* The next tick of sch after now (catch-up: never one in the past). */
static int64_t next_tick(const struct jq_schedule *sch, int64_t now)
{
    struct jq_cron c;
    char msg[160];
    int64_t next = 0;
    if (jq_cron_parse(sch->cron, &c, msg, sizeof(msg)) != 0 || jq_cron_next(&c, now, &next) != 0) {
        jq_log(JQ_LOG_ERR, "schedule %lld: \"%s\" has no next tick; looked at again in a year", (long long)sch->id,
               sch->cron);
        return now + NEVER_AGAIN_MS;
    }
    return next;
}

static void fire_one(struct jq_service *svc, const struct jq_schedule *sch, int64_t now)
{
    struct jq_job_policy policy = jq_service_job_policy(&svc->cfg);
    struct jq_submission sub;
    char msg[256];
    int64_t job_id = 0;
    const struct jq_job_spec *spec = NULL;
    enum jq_json_error jerr =
        jq_json_parse_submission(sch->template_json, strlen(sch->template_json), &policy, &sub, msg, sizeof(msg));
    if (jerr == JQ_JSON_OK && sub.n == 1 && !sub.is_batch)
        spec = &sub.specs[0];
    else
        jq_log(JQ_LOG_WARN, "schedule %lld: its job is refused now (%s): tick skipped", (long long)sch->id, msg);
    int rc = jq_store_schedule_fire(svc->store, sch->id, sch->next_tick_ms, spec, next_tick(sch, now), &job_id);
    if (rc == 0 && job_id > 0) {
        jq_log_job(JQ_LOG_INFO, job_id, "made by schedule %lld", (long long)sch->id);
        atomic_fetch_add_explicit(&svc->metrics.jobs_submitted, 1, memory_order_relaxed);
    }
    if (jerr == JQ_JSON_OK)
        jq_submission_cleanup(&sub);
}

int64_t jq_schedules_run(struct jq_service *svc, int64_t now)
{
    int64_t next = 0;
    for (int round = 0; round < DUE_ROUNDS; round++) {
        struct jq_schedule_list due;
        if (jq_store_schedule_due(svc->store, now, DUE_BATCH, &due, &next) != 0)
            return -1;
        for (size_t i = 0; i < due.n; i++)
            fire_one(svc, &due.v[i], now);
        size_t n = due.n;
        jq_schedule_list_cleanup(&due);
        if (n == 0)
            return next;
    }
    return now; /* more are due: again after this dispatch */
}
