/* log.c: one line per event on stderr, as text or JSON, written with a
 * single write(2) so lines from the master's threads and the workers never
 * interleave, and so it is safe in a child right after fork. */
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
static enum jq_log_format log_format = JQ_LOG_TEXT;

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

void jq_log_set_format(enum jq_log_format format)
{
    log_format = format;
}

int jq_log_format_parse(const char *name, enum jq_log_format *out)
{
    if (strcmp(name, "text") == 0 || strcmp(name, "json") == 0) {
        *out = name[0] == 'j' ? JQ_LOG_JSON : JQ_LOG_TEXT;
        return 0;
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

/* Append text to line as the inside of a JSON string. */
static size_t append_json_string(char *line, size_t n, size_t cap, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            line[n++] = '\\';
            line[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(line + n, cap - n, "\\u%04x", *p);
        } else {
            line[n++] = (char)*p;
        }
    }
    return n;
}

static size_t format_text(char *line, size_t cap, enum jq_log_level level, int64_t job_id, int err,
                          const char *msg)
{
    size_t n = format_time(line, cap);
    n = clamp_add(n, snprintf(line + n, cap - n, " %s %s pid=%d %s", level_names[level & 3], log_role,
                              (int)getpid(), msg), cap);
    if (err)
        n = clamp_add(n, snprintf(line + n, cap - n, ": %s", strerror(err)), cap);
    if (job_id)
        n = clamp_add(n, snprintf(line + n, cap - n, " job=%lld", (long long)job_id), cap);
    return n;
}

static size_t format_json(char *line, size_t cap, enum jq_log_level level, int64_t job_id, int err,
                          const char *msg)
{
    char when[40];
    format_time(when, sizeof when);
    size_t n = clamp_add(0, snprintf(line, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"role\":\"%s\",\"pid\":%d,\"msg\":\"",
                                     when, level_names[level & 3], log_role, (int)getpid()), cap);
    n = append_json_string(line, n, cap - 16, msg);
    n = clamp_add(n, snprintf(line + n, cap - n, "\""), cap);
    if (job_id)
        n = clamp_add(n, snprintf(line + n, cap - n, ",\"job\":%lld", (long long)job_id), cap);
    if (err) {
        n = clamp_add(n, snprintf(line + n, cap - n, ",\"error\":\""), cap);
        n = append_json_string(line, n, cap - 4, strerror(err));
        n = clamp_add(n, snprintf(line + n, cap - n, "\""), cap);
    }
    return clamp_add(n, snprintf(line + n, cap - n, "}"), cap);
}

void jq_log_write(enum jq_log_level level, int64_t job_id, int err, const char *fmt, ...)
{
    char msg[768], line[1280];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t cap = sizeof(line) - 1; /* room for the newline */
    size_t n = log_format == JQ_LOG_JSON ? format_json(line, cap, level, job_id, err, msg)
                                         : format_text(line, cap, level, job_id, err, msg);
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    errno = saved;
}
