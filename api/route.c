/* route.c: which route a URL names and which methods it takes — pure
 * functions of the strings, no HTTP library, so they can be fuzzed alone.
 * A path id is a positive decimal int64: digits only, no sign, no leading
 * zero. A queue name in a path follows jq_queue_name_ok. */
#include <stdint.h>
#include <string.h>

#include "job.h"
#include "route.h"

static const char *const route_allow[] = {
    [JQ_ROUTE_JOBS] = "GET, HEAD, POST",   [JQ_ROUTE_JOB] = "GET, HEAD, DELETE",
    [JQ_ROUTE_STDOUT] = "GET, HEAD",       [JQ_ROUTE_STDERR] = "GET, HEAD",
    [JQ_ROUTE_HEALTHZ] = "GET, HEAD",      [JQ_ROUTE_READYZ] = "GET, HEAD",
    [JQ_ROUTE_METRICS] = "GET, HEAD",      [JQ_ROUTE_STATS] = "GET, HEAD",
    [JQ_ROUTE_OPENAPI] = "GET, HEAD",      [JQ_ROUTE_DASHBOARD] = "GET, HEAD",
    [JQ_ROUTE_STREAM] = "GET, HEAD",
    [JQ_ROUTE_QUEUES] = "GET, HEAD",       [JQ_ROUTE_QUEUE] = "GET, HEAD, PATCH",
    [JQ_ROUTE_QUEUE_PAUSE] = "POST",       [JQ_ROUTE_QUEUE_RESUME] = "POST",
    [JQ_ROUTE_SCHEDULES] = "GET, HEAD, POST", [JQ_ROUTE_SCHEDULE] = "GET, HEAD, DELETE",
    [JQ_ROUTE_SCHEDULE_PAUSE] = "POST",    [JQ_ROUTE_SCHEDULE_RESUME] = "POST",
    [JQ_ROUTE_NONE] = "",
};

static const char *const route_pattern[] = {
    [JQ_ROUTE_JOBS] = "/v1/jobs",          [JQ_ROUTE_JOB] = "/v1/jobs/{id}",
    [JQ_ROUTE_STDOUT] = "/v1/jobs/{id}/stdout", [JQ_ROUTE_STDERR] = "/v1/jobs/{id}/stderr",
    [JQ_ROUTE_HEALTHZ] = "/healthz",       [JQ_ROUTE_READYZ] = "/readyz",
    [JQ_ROUTE_METRICS] = "/metrics",       [JQ_ROUTE_STATS] = "/v1/stats",
    [JQ_ROUTE_OPENAPI] = "/v1/openapi.yaml", [JQ_ROUTE_DASHBOARD] = "/",
    [JQ_ROUTE_STREAM] = "/v1/jobs/{id}/stream",
    [JQ_ROUTE_QUEUES] = "/v1/queues",      [JQ_ROUTE_QUEUE] = "/v1/queues/{name}",
    [JQ_ROUTE_QUEUE_PAUSE] = "/v1/queues/{name}/pause", [JQ_ROUTE_QUEUE_RESUME] = "/v1/queues/{name}/resume",
    [JQ_ROUTE_SCHEDULES] = "/v1/schedules", [JQ_ROUTE_SCHEDULE] = "/v1/schedules/{id}",
    [JQ_ROUTE_SCHEDULE_PAUSE] = "/v1/schedules/{id}/pause",
    [JQ_ROUTE_SCHEDULE_RESUME] = "/v1/schedules/{id}/resume",
    [JQ_ROUTE_NONE] = "other",
};

static bool parse_id(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 19 || s[0] == '0')
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

/* The route under /v1/jobs/<id>...; rest points just past "/v1/jobs/". */
static struct jq_route match_job_route(const char *rest)
{
    struct jq_route r = {.kind = JQ_ROUTE_NONE};
    const char *slash = strchr(rest, '/');
    size_t id_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (!slash)
        r.kind = JQ_ROUTE_JOB;
    else if (strcmp(slash, "/stdout") == 0)
        r.kind = JQ_ROUTE_STDOUT;
    else if (strcmp(slash, "/stderr") == 0)
        r.kind = JQ_ROUTE_STDERR;
    else if (strcmp(slash, "/stream") == 0)
        r.kind = JQ_ROUTE_STREAM;
    if (r.kind != JQ_ROUTE_NONE)
        r.id_valid = parse_id(rest, id_len, &r.id);
    return r;
}

/* The route under /v1/queues/<name>...; rest points just past "/v1/queues/". */
static struct jq_route match_queue_route(const char *rest)
{
    struct jq_route r = {.kind = JQ_ROUTE_NONE};
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (!slash)
        r.kind = JQ_ROUTE_QUEUE;
    else if (strcmp(slash, "/pause") == 0)
        r.kind = JQ_ROUTE_QUEUE_PAUSE;
    else if (strcmp(slash, "/resume") == 0)
        r.kind = JQ_ROUTE_QUEUE_RESUME;
    if (r.kind != JQ_ROUTE_NONE && len > 0 && len < sizeof(r.name)) {
        memcpy(r.name, rest, len);
        r.name[len] = '\0';
        r.name_valid = jq_queue_name_ok(r.name);
    }
    return r;
}

/* The route under /v1/schedules/<id>...; rest points just past
 * "/v1/schedules/". */
static struct jq_route match_schedule_route(const char *rest)
{
    struct jq_route r = {.kind = JQ_ROUTE_NONE};
    const char *slash = strchr(rest, '/');
    size_t id_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (!slash)
        r.kind = JQ_ROUTE_SCHEDULE;
    else if (strcmp(slash, "/pause") == 0)
        r.kind = JQ_ROUTE_SCHEDULE_PAUSE;
    else if (strcmp(slash, "/resume") == 0)
        r.kind = JQ_ROUTE_SCHEDULE_RESUME;
    if (r.kind != JQ_ROUTE_NONE)
        r.id_valid = parse_id(rest, id_len, &r.id);
    return r;
}

static struct jq_route match_schedules(const char *url)
{
    static const char schedules[] = "/v1/schedules";
    const char *rest = url + sizeof schedules - 1;
    if (*rest == '\0')
        return (struct jq_route){.kind = JQ_ROUTE_SCHEDULES};
    if (*rest != '/' || rest[1] == '\0')
        return (struct jq_route){.kind = JQ_ROUTE_NONE};
    return match_schedule_route(rest + 1);
}

static struct jq_route match_queues(const char *url)
{
    static const char queues[] = "/v1/queues";
    struct jq_route none = {.kind = JQ_ROUTE_NONE};
    const char *rest = url + sizeof queues - 1;
    if (strncmp(url, queues, sizeof queues - 1) != 0)
        return none;
    if (*rest == '\0')
        return (struct jq_route){.kind = JQ_ROUTE_QUEUES};
    if (*rest != '/' || rest[1] == '\0')
        return none;
    return match_queue_route(rest + 1);
}

struct jq_route jq_route_match(const char *url)
{
    static const char jobs[] = "/v1/jobs";
    struct jq_route none = {.kind = JQ_ROUTE_NONE};
    if (strcmp(url, "/healthz") == 0)
        return (struct jq_route){.kind = JQ_ROUTE_HEALTHZ};
    if (strcmp(url, "/") == 0)
        return (struct jq_route){.kind = JQ_ROUTE_DASHBOARD};
    if (strcmp(url, "/readyz") == 0)
        return (struct jq_route){.kind = JQ_ROUTE_READYZ};
    if (strcmp(url, "/metrics") == 0)
        return (struct jq_route){.kind = JQ_ROUTE_METRICS};
    if (strcmp(url, "/v1/stats") == 0)
        return (struct jq_route){.kind = JQ_ROUTE_STATS};
    if (strcmp(url, "/v1/openapi.yaml") == 0)
        return (struct jq_route){.kind = JQ_ROUTE_OPENAPI};
    if (strncmp(url, "/v1/queues", 10) == 0)
        return match_queues(url);
    if (strncmp(url, "/v1/schedules", 13) == 0)
        return match_schedules(url);
    if (strncmp(url, jobs, sizeof jobs - 1) != 0)
        return none;
    const char *rest = url + sizeof jobs - 1;
    if (*rest == '\0')
        return (struct jq_route){.kind = JQ_ROUTE_JOBS};
    if (*rest != '/' || rest[1] == '\0')
        return none;
    return match_job_route(rest + 1);
}

bool jq_route_allows(enum jq_route_kind kind, const char *method)
{
    if (kind == JQ_ROUTE_NONE)
        return false;
    if (kind == JQ_ROUTE_QUEUE_PAUSE || kind == JQ_ROUTE_QUEUE_RESUME || kind == JQ_ROUTE_SCHEDULE_PAUSE ||
        kind == JQ_ROUTE_SCHEDULE_RESUME)
        return strcmp(method, "POST") == 0;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return true;
    if (kind == JQ_ROUTE_QUEUE)
        return strcmp(method, "PATCH") == 0;
    if (kind == JQ_ROUTE_JOBS || kind == JQ_ROUTE_SCHEDULES)
        return strcmp(method, "POST") == 0;
    if (kind == JQ_ROUTE_JOB || kind == JQ_ROUTE_SCHEDULE)
        return strcmp(method, "DELETE") == 0;
    return false;
}

const char *jq_route_allow_header(enum jq_route_kind kind)
{
    return route_allow[kind];
}

const char *jq_route_pattern(enum jq_route_kind kind)
{
    return route_pattern[kind];
}
