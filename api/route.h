/* route.h: URL -> route, and the methods each route takes (pure). */
#ifndef JQ_ROUTE_H
#define JQ_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include "jq_limits.h"

enum jq_route_kind {
    JQ_ROUTE_JOBS, JQ_ROUTE_JOB, JQ_ROUTE_STDOUT, JQ_ROUTE_STDERR, JQ_ROUTE_HEALTHZ, JQ_ROUTE_READYZ,
    JQ_ROUTE_METRICS, JQ_ROUTE_STATS, JQ_ROUTE_OPENAPI, JQ_ROUTE_DASHBOARD, JQ_ROUTE_STREAM,
    JQ_ROUTE_QUEUES, JQ_ROUTE_QUEUE, JQ_ROUTE_QUEUE_PAUSE, JQ_ROUTE_QUEUE_RESUME,
    JQ_ROUTE_SCHEDULES, JQ_ROUTE_SCHEDULE, JQ_ROUTE_SCHEDULE_PAUSE, JQ_ROUTE_SCHEDULE_RESUME,
    JQ_ROUTE_NONE
};

struct jq_route {
    enum jq_route_kind kind;
    bool id_valid;  /* routes with an id: it parsed as 1..INT64_MAX */
    int64_t id;
    bool name_valid; /* queue routes: the name is a valid queue name */
    char name[JQ_MAX_QUEUE_NAME_BYTES + 1];
};

struct jq_route jq_route_match(const char *url);
bool jq_route_allows(enum jq_route_kind kind, const char *method);
/* The Allow header's value for the route. */
const char *jq_route_allow_header(enum jq_route_kind kind);
/* The route's path pattern, for metrics labels ("/v1/jobs/{id}"). */
const char *jq_route_pattern(enum jq_route_kind kind);

#endif
