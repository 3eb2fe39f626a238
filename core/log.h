/* log.h: one stderr line per event: time, level, role, pid, message.
 * The level is checked before anything is formatted. Safe to call from any
 * thread and from a freshly forked child (one write(2) per line, no locks). */
#ifndef JQ_LOG_H
#define JQ_LOG_H

#include <stdint.h>

enum jq_log_level { JQ_LOG_DEBUG = 0, JQ_LOG_INFO = 1, JQ_LOG_WARN = 2, JQ_LOG_ERR = 3 };
enum jq_log_format { JQ_LOG_TEXT = 0, JQ_LOG_JSON = 1 };

/* Process-wide settings (set at start-up, before threads exist). role is
 * copied: "master", "worker-3". */
void jq_log_setup(enum jq_log_level min_level, const char *role);
/* Parse "debug" | "info" | "warn" | "error". Returns 0 or JQ_EINVAL. */
int jq_log_level_parse(const char *name, enum jq_log_level *out);
extern enum jq_log_level jq_log_min_level;
/* Text (default) or one JSON object per line:
 * {"time":"...","level":"info","role":"master","pid":1,"msg":"...","job":7,"error":"..."}.
 * Process-wide, set at start-up. */
void jq_log_set_format(enum jq_log_format format);
/* Parse "text" | "json". Returns 0 or JQ_EINVAL. */
int jq_log_format_parse(const char *name, enum jq_log_format *out);

void jq_log_write(enum jq_log_level level, int64_t job_id, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* jq_log(level, fmt, ...): a plain event. */
#define jq_log(level, ...) \
    do { if ((level) >= jq_log_min_level) jq_log_write((level), 0, 0, __VA_ARGS__); } while (0)
/* jq_log_job(level, job_id, fmt, ...): an event about one job (adds job=<id>). */
#define jq_log_job(level, id, ...) \
    do { if ((level) >= jq_log_min_level) jq_log_write((level), (id), 0, __VA_ARGS__); } while (0)
/* jq_log_errno(level, saved_errno, fmt, ...): adds ": <strerror>". */
#define jq_log_errno(level, e, ...) \
    do { if ((level) >= jq_log_min_level) jq_log_write((level), 0, (e), __VA_ARGS__); } while (0)

#endif
