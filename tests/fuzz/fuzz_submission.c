/* fuzz_submission.c: libFuzzer target over the request -> job-spec path:
 * any bytes as a POST /v1/jobs body, parsed strictly; whatever is accepted
 * is rendered back to JSON (the path a 201 takes). Must never crash, leak
 * or trip a sanitizer. */
#include <stddef.h>
#include <stdint.h>

#include "job_json.h"
#include "jq_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render_all(const struct jq_submission *sub)
{
    for (size_t i = 0; i < sub->n; i++) {
        struct jq_job job;
        jq_job_init(&job);
        job.id = (int64_t)i + 1;
        job.spec = sub->specs[i]; /* borrowed */
        cJSON_Delete(jq_json_from_job(&job, true));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct jq_job_policy policy = {JQ_DEFAULT_TIMEOUT_MS, JQ_DEFAULT_MAX_TIMEOUT_MS, JQ_DEFAULT_KILL_GRACE_MS,
                                         JQ_DEFAULT_MAX_OUTPUT_BYTES, {0, 0, JQ_DEFAULT_LIMIT_PROCS,
                                         JQ_DEFAULT_LIMIT_NOFILE, 0}, false, false};
    struct jq_submission sub;
    char msg[256];
    if (jq_json_parse_submission((const char *)data, size, &policy, &sub, msg, sizeof msg) == JQ_JSON_OK) {
        render_all(&sub);
        jq_submission_cleanup(&sub);
    }
    return 0;
}
