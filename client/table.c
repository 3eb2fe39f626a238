/* table.c: human-readable rendering of jobs — JSON field access, durations,
 * local times, shell-quoted commands, the EXIT column and the rows of the
 * `jobq ls` table. Scripts should use --json instead of parsing this. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *jq_cli_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool jq_cli_int(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v))
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

void jq_cli_fmt_duration(int64_t ms, char *buf, size_t cap)
{
    if (ms < 1000)
        snprintf(buf, cap, "%lldms", (long long)ms);
    else if (ms < 10000)
        snprintf(buf, cap, "%lld.%llds", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
    else if (ms < 60000)
        snprintf(buf, cap, "%llds", (long long)(ms / 1000));
    else if (ms < 3600000)
        snprintf(buf, cap, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        snprintf(buf, cap, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

void jq_cli_fmt_time(const char *rfc3339, char *buf, size_t cap)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = rfc3339 ? strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end) {
        snprintf(buf, cap, "%s", rfc3339 ? rfc3339 : "-");
        return;
    }
    time_t t = timegm(&tm);
    struct tm local;
    if (!localtime_r(&t, &local) || strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &local) == 0)
        snprintf(buf, cap, "%s", rfc3339);
}

/* Quote one word for a POSIX shell when it needs it. */
static size_t quote_word(const char *w, char *out)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_";
    size_t n = 0;
    if (*w && strspn(w, safe) == strlen(w)) {
        if (out)
            memcpy(out, w, strlen(w));
        return strlen(w);
    }
    if (out)
        out[n] = '\'';
    n++;
    for (; *w; w++) {
        const char *piece = *w == '\'' ? "'\\''" : NULL;
        size_t pl = piece ? 4 : 1;
        if (out)
            memcpy(out + n, piece ? piece : w, pl);
        n += pl;
    }
    if (out)
        out[n] = '\'';
    return n + 1;
}

char *jq_cli_fmt_command(const cJSON *command)
{
    size_t len = 1;
    const cJSON *w;
    cJSON_ArrayForEach(w, command)
        len += (cJSON_IsString(w) ? quote_word(w->valuestring, NULL) : 1) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    cJSON_ArrayForEach(w, command) {
        if (p != s)
            *p++ = ' ';
        p += cJSON_IsString(w) ? quote_word(w->valuestring, p) : (size_t)(*p = '?', 1);
    }
    *p = '\0';
    return s;
}

void jq_cli_fmt_exit(const cJSON *job, char *buf, size_t cap)
{
    int64_t code;
    const char *sig = jq_cli_str(job, "signal_name");
    if (sig)
        snprintf(buf, cap, "%s", sig);
    else if (jq_cli_int(job, "exit_code", &code))
        snprintf(buf, cap, "%lld", (long long)code);
    else
        snprintf(buf, cap, "-");
}

#define ROW_FMT "%-7s %-10s %-8s %-9s %-19s %s"

void jq_cli_table_header(void)
{
    printf(ROW_FMT "\n", "ID", "STATE", "EXIT", "DURATION", "CREATED", "COMMAND");
}

/* width: the terminal's columns (0 = do not cut the command). */
void jq_cli_table_row(const cJSON *job, int width)
{
    char id[24] = "?", exit_s[16], dur[32] = "-", created[64];
    int64_t v;
    if (jq_cli_int(job, "id", &v))
        snprintf(id, sizeof(id), "%lld", (long long)v);
    if (jq_cli_int(job, "duration_ms", &v))
        jq_cli_fmt_duration(v, dur, sizeof(dur));
    jq_cli_fmt_exit(job, exit_s, sizeof(exit_s));
    jq_cli_fmt_time(jq_cli_str(job, "created_at"), created, sizeof(created));
    const char *state = jq_cli_str(job, "state");
    char *cmd = jq_cli_fmt_command(cJSON_GetObjectItemCaseSensitive(job, "command"));
    int used = printf(ROW_FMT, id, state ? state : "?", exit_s, dur, created, "");
    int room = width > 0 ? width - used : 0;
    const char *c = cmd ? cmd : "?";
    if (room > 1 && (int)strlen(c) > room)
        printf("%.*s~\n", room - 1, c);
    else
        printf("%s\n", c);
    free(cmd);
}
