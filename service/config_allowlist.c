/* config_allowlist.c: the command allowlist at start-up (--allow-command,
 * JOBQ_ALLOW_COMMANDS, --allowlist-file). Every listed program is resolved
 * once, here, to the canonical path the API compares a job's command with
 * (api/command_allowlist.c). jobqd refuses to start on an entry that is
 * relative, missing, not an executable regular file, or that a user other
 * than root or jobqd's could change — itself or any directory on its way
 * (core/trusted_path.h): such an entry would allow whatever that user puts
 * there. The allowlist file is held to the same rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "trusted_path.h"

int jq_config_allowlist_add(struct jq_config *cfg, const char *path, size_t len)
{
    if (cfg->allowed_commands_len + len + 1 > sizeof cfg->allowed_commands)
        return JQ_ETOOBIG;
    memcpy(cfg->allowed_commands + cfg->allowed_commands_len, path, len);
    cfg->allowed_commands_len += len;
    cfg->allowed_commands[cfg->allowed_commands_len++] = '\0';
    return 0;
}

/* One line of the file: blank and '#' lines say nothing; others are one
 * path, surrounding blanks ignored. */
static int add_line(struct jq_config *cfg, char *line, FILE *err)
{
    char *p = line + strspn(line, " \t");
    size_t len = strcspn(p, "\r\n");
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len == 0 || p[0] == '#')
        return 0;
    if (jq_config_allowlist_add(cfg, p, len) == 0)
        return 0;
    fprintf(err, "jobqd: the command allowlist is larger than %u bytes\n", JQ_MAX_ALLOWLIST_BYTES);
    return -1;
}

static int read_file(struct jq_config *cfg, FILE *err)
{
    char canon[PATH_MAX], why[512];
    if (jq_trusted_resolve(cfg->allowlist_file, canon, sizeof canon, why, sizeof why) != 0) {
        fprintf(err, "jobqd: refusing the allowlist file %s: %s\n", cfg->allowlist_file, why);
        return -1;
    }
    FILE *f = fopen(canon, "re");
    if (!f) {
        fprintf(err, "jobqd: cannot read the allowlist file %s\n", canon);
        return -1;
    }
    char line[PATH_MAX + 2];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f))
        rc = add_line(cfg, line, err);
    fclose(f);
    return rc;
}

/* One entry -> its canonical path appended to out (len so far in *len). */
static int resolve_entry(const char *entry, char *out, size_t *len, FILE *err)
{
    char canon[PATH_MAX], why[512];
    if (entry[0] != '/') {
        fprintf(err, "jobqd: the command allowlist takes absolute paths, not \"%s\"\n", entry);
        return -1;
    }
    if (jq_trusted_resolve(entry, canon, sizeof canon, why, sizeof why) != 0) {
        fprintf(err, "jobqd: refusing to allow %s: %s\n", entry, why);
        return -1;
    }
    if (access(canon, X_OK) != 0) {
        fprintf(err, "jobqd: refusing to allow %s: %s is not executable\n", entry, canon);
        return -1;
    }
    size_t n = strlen(canon) + 1;
    if (*len + n > JQ_MAX_ALLOWLIST_BYTES) {
        fprintf(err, "jobqd: the command allowlist is larger than %u bytes\n", JQ_MAX_ALLOWLIST_BYTES);
        return -1;
    }
    memcpy(out + *len, canon, n);
    *len += n;
    return 0;
}

enum jq_config_outcome jq_config_check_allowlist(struct jq_config *cfg, FILE *err)
{
    if (cfg->allowlist_file[0] && read_file(cfg, err) != 0)
        return JQ_CONFIG_BAD;
    if (cfg->allowed_commands_len == 0)
        return JQ_CONFIG_RUN;
    char *canon = malloc(JQ_MAX_ALLOWLIST_BYTES);
    size_t len = 0;
    int rc = canon ? 0 : -1;
    for (size_t at = 0; rc == 0 && at < cfg->allowed_commands_len; at += strlen(cfg->allowed_commands + at) + 1)
        rc = resolve_entry(cfg->allowed_commands + at, canon, &len, err);
    if (rc == 0) {
        memcpy(cfg->allowed_commands, canon, len);
        cfg->allowed_commands_len = len;
    }
    free(canon);
    return rc == 0 ? JQ_CONFIG_RUN : JQ_CONFIG_BAD;
}
