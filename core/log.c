/* log.c: one line per event on stderr, written with a single write(2) so
 * lines from the master's threads and the workers never interleave, and so
 * it is safe in a child right after fork. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

enum jq_log_level jq_log_min_level = JQ_LOG_INFO;
static char log_role[32] = "master";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void jq_log_setup(enum jq_log_level min_level, const char *role)
{
    jq_log_min_level = min_level;
    snprintf(log_role, sizeof(log_role), "%s", role);
}

int jq_log_level_parse(const char *name, enum jq_log_level *out)
{
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum jq_log_level)i;
            return 0;
        }
    }
    return JQ_EINVAL;
}

static size_t format_time(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
    return n;
}

static size_t clamp_add(size_t used, int wrote, size_t cap)
{
    if (wrote < 0)
        return used;
    used += (size_t)wrote;
    return used < cap ? used : cap - 1;
}

void jq_log_write(enum jq_log_level level, int64_t job_id, int err, const char *fmt, ...)
{
    char line[1024];
    size_t cap = sizeof(line) - 1; /* room for the newline */
    size_t n = format_time(line, cap);
    n = clamp_add(n, snprintf(line + n, cap - n, " %s %s pid=%d ", level_names[level & 3], log_role, (int)getpid()),
                  cap);
    va_list ap;
    va_start(ap, fmt);
    n = clamp_add(n, vsnprintf(line + n, cap - n, fmt, ap), cap);
    va_end(ap);
    if (err)
        n = clamp_add(n, snprintf(line + n, cap - n, ": %s", strerror(err)), cap);
    if (job_id)
        n = clamp_add(n, snprintf(line + n, cap - n, " job=%lld", (long long)job_id), cap);
    line[n++] = '\n';
    int saved = errno;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    errno = saved;
}
