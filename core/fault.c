/* fault.c: the crash points of fault.h (built only with JQ_FAULT_POINTS). */
#include "fault.h"

#ifdef JQ_FAULT_POINTS
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static atomic_long passes;

void jq_fault_point(const char *name)
{
    const char *want = getenv("JOBQ_FAULT_POINT");
    if (!want || strcmp(want, name) != 0)
        return;
    const char *skip = getenv("JOBQ_FAULT_SKIP");
    if (atomic_fetch_add(&passes, 1) < (skip ? atol(skip) : 0))
        return;
    jq_log(JQ_LOG_WARN, "fault point %s: killing myself", name);
    raise(SIGKILL);
}
#else
/* ISO C wants something in a translation unit. */
typedef int jq_fault_points_disabled;
#endif
