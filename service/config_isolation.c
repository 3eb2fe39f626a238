/* config_isolation.c: the settings that decide what a job may touch — the
 * user and group jobs run as (resolved to numbers here, at start-up, so the
 * worker's vfork child never looks a name up), the refusal to run jobs as
 * root without a loud flag or to promise a user switch jobqd cannot make,
 * and the default work root. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define CAP_SETGID_BIT 6 /* linux/capability.h */
#define CAP_SETUID_BIT 7
#define NAME_BUF_BYTES 16384

/* A number, or a name looked up with lookup. */
static bool parse_id(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v >= (unsigned long)(uid_t)-1)
        return false;
    *out = v;
    return true;
}

static bool resolve_user(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd pw, *found = NULL;
    char buf[NAME_BUF_BYTES];
    unsigned long n;
    if (getpwnam_r(name, &pw, buf, sizeof(buf), &found) == 0 && found) {
        *uid = found->pw_uid;
        *gid = found->pw_gid;
        return true;
    }
    if (!parse_id(name, &n))
        return false;
    *uid = (uid_t)n;
    if (getpwuid_r(*uid, &pw, buf, sizeof(buf), &found) == 0 && found)
        *gid = found->pw_gid;
    else
        *gid = (gid_t)n; /* a uid with no entry: the group of the same number */
    return true;
}

static bool resolve_group(const char *name, gid_t *gid)
{
    struct group gr, *found = NULL;
    char buf[NAME_BUF_BYTES];
    unsigned long n;
    if (getgrnam_r(name, &gr, buf, sizeof(buf), &found) == 0 && found) {
        *gid = found->gr_gid;
        return true;
    }
    if (!parse_id(name, &n))
        return false;
    *gid = (gid_t)n;
    return true;
}

/* The effective capability set has both CAP_SETUID and CAP_SETGID. */
static bool can_switch_users(void)
{
    char line[256];
    unsigned long long caps = 0;
    bool found = false;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f))
        found = sscanf(line, "CapEff: %llx", &caps) == 1;
    fclose(f);
    return found && (caps >> CAP_SETUID_BIT & 1) && (caps >> CAP_SETGID_BIT & 1);
}

/* Jobs switch users: jobqd must be able to. */
static enum jq_config_outcome need_user_switch(struct jq_config *cfg, FILE *err)
{
    if (geteuid() != 0 && !can_switch_users()) {
        fprintf(err, "jobqd: %s %s needs root, or CAP_SETUID and CAP_SETGID: jobqd runs as uid %lu without them\n",
                cfg->run_as_range[0] ? "--run-as-range" : "--run-as",
                cfg->run_as_range[0] ? cfg->run_as_range : cfg->run_as, (unsigned long)geteuid());
        return JQ_CONFIG_BAD;
    }
    cfg->run_set_ids = true;
    return JQ_CONFIG_RUN;
}

/* "USER[:GROUP]" -> numbers; root's default is nobody (and its group). */
static bool resolve_run_as(struct jq_config *cfg, FILE *err)
{
    char spec[PATH_MAX];
    snprintf(spec, sizeof(spec), "%s", cfg->run_as[0] ? cfg->run_as : "nobody");
    char *group = strchr(spec, ':');
    if (group)
        *group++ = '\0';
    if (!spec[0] || !resolve_user(spec, &cfg->run_uid, &cfg->run_gid)) {
        fprintf(err, "jobqd: --run-as: no such user '%s'\n", spec);
        return false;
    }
    if (group && (!group[0] || !resolve_group(group, &cfg->run_gid))) {
        fprintf(err, "jobqd: --run-as: no such group '%s'\n", group);
        return false;
    }
    return true;
}

/* An id of the range that is a user's or a group's of the system, or 0. */
static uid_t range_taken(uid_t first, unsigned count)
{
    struct passwd pw, *user = NULL;
    struct group gr, *group = NULL;
    char buf[NAME_BUF_BYTES];
    for (unsigned i = 0; i < count; i++)
        if ((getpwuid_r(first + i, &pw, buf, sizeof(buf), &user) == 0 && user) ||
            (getgrgid_r((gid_t)(first + i), &gr, buf, sizeof(buf), &group) == 0 && group))
            return first + i;
    return 0;
}

/* "FIRST-LAST": one uid (and gid) per worker slot, none root's, jobqd's or
 * an existing user's, so no two jobs running at once share a user. */
/* "FIRST-LAST", decimal digits only, 0 < FIRST <= LAST < 2^31 - 1. */
static bool parse_range(const char *r, unsigned long *first, unsigned long *last)
{
    size_t digits = strspn(r, "0123456789");
    const char *second = r + digits + 1;
    if (digits == 0 || digits > 10 || r[digits] != '-' || strlen(second) > 10 ||
        strspn(second, "0123456789") != strlen(second))
        return false;
    *first = strtoul(r, NULL, 10);
    *last = strtoul(second, NULL, 10);
    return *first > 0 && *last >= *first && *last < 0x7fffffffUL;
}

static bool resolve_run_as_range(struct jq_config *cfg, FILE *err)
{
    unsigned long first = 0, last = 0;
    if (!parse_range(cfg->run_as_range, &first, &last)) {
        fprintf(err, "jobqd: --run-as-range: expected FIRST-LAST, two uids with 0 < FIRST <= LAST, got '%s'\n",
                cfg->run_as_range);
        return false;
    }
    if (last - first + 1 < cfg->workers) {
        fprintf(err, "jobqd: --run-as-range %s has %lu ids for %u workers: one per worker is needed\n",
                cfg->run_as_range, last - first + 1, cfg->workers);
        return false;
    }
    uid_t taken = range_taken((uid_t)first, cfg->workers);
    if (taken == 0 && (uid_t)first <= geteuid() && geteuid() < (uid_t)first + cfg->workers)
        taken = geteuid();
    if (taken != 0) {
        fprintf(err, "jobqd: --run-as-range %s: id %lu is an existing user's or group's (or jobqd's "
                     "own): jobs must get ids nobody else has\n", cfg->run_as_range, (unsigned long)taken);
        return false;
    }
    cfg->run_uid = (uid_t)first;
    cfg->run_gid = (gid_t)first;
    cfg->run_id_count = cfg->workers;
    return true;
}

static enum jq_config_outcome check_run_as(struct jq_config *cfg, FILE *err)
{
    cfg->run_set_ids = false;
    cfg->run_id_count = 0;
    if (cfg->run_as_range[0] && cfg->run_as[0]) {
        fprintf(err, "jobqd: --run-as and --run-as-range exclude each other\n");
        return JQ_CONFIG_BAD;
    }
    if (cfg->run_as_range[0])
        return resolve_run_as_range(cfg, err) ? need_user_switch(cfg, err) : JQ_CONFIG_BAD;
    if (!cfg->run_as[0] && geteuid() != 0) {
        cfg->run_uid = geteuid(); /* jobs run as jobqd's own user */
        cfg->run_gid = getegid();
        return JQ_CONFIG_RUN;
    }
    if (!resolve_run_as(cfg, err))
        return JQ_CONFIG_BAD;
    if ((cfg->run_uid == 0 || cfg->run_gid == 0) && !cfg->allow_root_jobs) {
        fprintf(err, "jobqd: refusing to run jobs as root (uid or gid 0): name an unprivileged user with "
                     "--run-as, or pass --allow-root-jobs if you really mean it\n");
        return JQ_CONFIG_BAD;
    }
    if (geteuid() != 0 && cfg->run_uid == geteuid() && cfg->run_gid == getegid())
        return JQ_CONFIG_RUN; /* already that user: nothing to switch */
    return need_user_switch(cfg, err);
}

enum jq_config_outcome jq_config_check_isolation(struct jq_config *cfg, FILE *err)
{
    if (!cfg->work_root[0])
        snprintf(cfg->work_root, sizeof(cfg->work_root), "/tmp/jobq-work-%lu", (unsigned long)geteuid());
    if (cfg->work_root[0] != '/') {
        fprintf(err, "jobqd: --work-root must be an absolute path\n");
        return JQ_CONFIG_BAD;
    }
    return check_run_as(cfg, err);
}
