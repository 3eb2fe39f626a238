/* cgroup_setup.c: the master's side of job cgroups — find jobqd's own
 * cgroup in each hierarchy, choose v2, v1 or none (--job-cgroups), make
 * this generation's jobs parent below it, remove what dead generations
 * left, and undo it all at exit.
 *
 * DESIGN: every cgroup jobq makes is below jobqd's own cgroup, never
 * beside it, so other services and other jobqd instances (parallel test
 * runs share one cgroup) are untouched. A generation's parent is named
 * "jobq.<master pid>.<master start time>": at start-up a parent whose
 * master is not alive with that start time (pid reuse cannot fool it) is a
 * dead generation's, and its job cgroups are killed and removed.
 *
 * v2 and the "no internal processes" rule: controllers can be enabled in a
 * cgroup's subtree_control only while it holds no process (the root
 * excepted). jobqd therefore moves itself (before any thread or worker
 * exists) into a leaf "jobqd.<gen>" below its own cgroup, then enables
 * memory and pids there and in the jobs parent:
 *
 *   <own>/                 subtree_control: +memory +pids
 *   <own>/jobqd.<gen>/     the master and its workers
 *   <own>/jobq.<gen>/      subtree_control: +memory +pids
 *   <own>/jobq.<gen>/w<worker pid>-job<id>-<n>/   one job
 *
 * That works only when jobqd's cgroup is its own (systemd Delegate=yes);
 * if another process shares it, enabling fails (EBUSY) and jobqd moves
 * back. v1 has no such rule: <own>/jobq.<gen>/<job> in the memory, pids
 * and (if writable) freezer hierarchies. */
#include "cgroup.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define GEN_PREFIX "jobq."
#define LEAF_PREFIX "jobqd."

static const char *const v1_names[JQ_CG_DIRS] = {"memory", "pids", "freezer"};

/* A line for the log into why (cut at cap). */
__attribute__((format(printf, 3, 4))) static void say(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

int jq_cgroup_mode_parse(const char *s, enum jq_cgroup_mode *out)
{
    static const char *const names[] = {"auto", "v2", "v1", "off"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum jq_cgroup_mode)i;
            return 0;
        }
    return JQ_EINVAL;
}

const char *jq_cgroup_kind_name(enum jq_cgroup_kind kind)
{
    return kind == JQ_CGROUP_V2 ? "v2" : kind == JQ_CGROUP_V1 ? "v1" : "none";
}

/* The start time of pid (clock ticks since boot, /proc/<pid>/stat field
 * 22), or 0 if it is not running. */
static unsigned long long start_time_of(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long t = 0;
    /* after "pid (comm)": state and 18 more fields, then starttime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                     &t) != 1)
        return 0;
    return t;
}

/* True if name ("jobq.<pid>.<start>" or "jobqd.<pid>.<start>") belongs to
 * a master that is not running any more. */
static bool is_dead_generation(const char *name, const char *prefix)
{
    long pid = 0;
    unsigned long long start = 0;
    char fmt[32];
    snprintf(fmt, sizeof(fmt), "%s%%ld.%%llu", prefix);
    if (strncmp(name, prefix, strlen(prefix)) != 0 || sscanf(name, fmt, &pid, &start) != 2)
        return false;
    return pid <= 0 || start_time_of(pid) != start;
}

/* jobqd's own cgroup path in the hierarchy whose /proc/self/cgroup line
 * lists controller (or the v2 line "0::" when controller is NULL). */
static bool own_path(const char *controller, char *out, size_t cap)
{
    char line[PATH_MAX + 128];
    bool found = false;
    FILE *f = fopen("/proc/self/cgroup", "re");
    while (f && !found && fgets(line, sizeof(line), f)) {
        char *ctrls = strchr(line, ':'), *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
        if (!path)
            continue;
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        ctrls++;
        if (controller) {
            for (char *save = NULL, *t = strtok_r(ctrls, ",", &save); t && !found; t = strtok_r(NULL, ",", &save))
                found = strcmp(t, controller) == 0;
        } else {
            found = strcmp(line, "0") == 0 && ctrls[0] == '\0';
        }
        if (found)
            snprintf(out, cap, "%s", strcmp(path, "/") == 0 ? "" : path);
    }
    if (f)
        fclose(f);
    return found;
}

/* Where the hierarchy is mounted: type "cgroup2", or "cgroup" with the
 * controller as a mount option. */
static bool mount_point(const char *type, const char *controller, char *out, size_t cap)
{
    bool found = false;
    FILE *f = setmntent("/proc/self/mounts", "re");
    struct mntent ent;
    char buf[4096];
    while (f && !found && getmntent_r(f, &ent, buf, sizeof(buf)))
        if (strcmp(ent.mnt_type, type) == 0 && (!controller || hasmntopt(&ent, controller))) {
            snprintf(out, cap, "%s", ent.mnt_dir);
            found = true;
        }
    if (f)
        endmntent(f);
    return found;
}

/* own cgroup directory = mount point + own path; it must exist. */
static bool own_dir(const char *type, const char *controller, char *out, size_t cap)
{
    char mnt[PATH_MAX / 2], path[PATH_MAX / 2];
    struct stat st;
    if (!mount_point(type, controller, mnt, sizeof(mnt)) || !own_path(controller, path, sizeof(path)))
        return false;
    snprintf(out, cap, "%s%s", mnt, path);
    return stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Remove dead generations' jobs parents (and, v2, leaves) in own dir i. */
static void sweep_dead(enum jq_cgroup_kind kind, char own[][PATH_MAX], int i)
{
    DIR *d = opendir(own[i]);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        bool leaf = kind == JQ_CGROUP_V2 && is_dead_generation(e->d_name, LEAF_PREFIX);
        if (!leaf && !is_dead_generation(e->d_name, GEN_PREFIX))
            continue;
        struct jq_cgroups dead = {.kind = kind};
        for (int k = 0; k < JQ_CG_DIRS; k++)
            if (own[k][0])
                snprintf(dead.dirs[k], PATH_MAX, "%.*s/%s", PATH_MAX / 2, own[k], e->d_name);
        jq_log(JQ_LOG_INFO, "removing cgroup %s of a dead jobqd generation", dead.dirs[i]);
        if (!leaf)
            jq_cgroup_remove_children(&dead, "");
        jq_cgroup_kill_dir(kind, dead.dirs[i], kind == JQ_CGROUP_V1 ? dead.dirs[JQ_CG_FREEZER] : NULL);
        for (int k = 0; k < JQ_CG_DIRS; k++)
            if (dead.dirs[k][0])
                (void)jq_cgroup_rmdir(dead.dirs[k]);
    }
    if (d)
        closedir(d);
}

static void generation_name(char *buf, size_t cap, const char *prefix)
{
    snprintf(buf, cap, "%s%ld.%llu", prefix, (long)getpid(), start_time_of((long)getpid()));
}

/* ---- v1 ---- */

static int setup_v1(struct jq_cgroups *out, char *why, size_t cap)
{
    char own[JQ_CG_DIRS][PATH_MAX] = {{0}}, gen[64];
    generation_name(gen, sizeof(gen), GEN_PREFIX);
    for (int i = 0; i < JQ_CG_DIRS; i++) {
        if (!own_dir("cgroup", v1_names[i], own[i], PATH_MAX) || access(own[i], W_OK) != 0) {
            own[i][0] = '\0';
            if (i != JQ_CG_FREEZER) {
                say(why, cap, "v1: no writable %s hierarchy", v1_names[i]);
                return JQ_EINVAL;
            }
        }
    }
    out->kind = JQ_CGROUP_V1;
    for (int i = 0; i < JQ_CG_DIRS; i++)
        if (own[i][0])
            sweep_dead(JQ_CGROUP_V1, own, i);
    for (int i = 0; i < JQ_CG_DIRS; i++) {
        if (!own[i][0])
            continue;
        snprintf(out->dirs[i], PATH_MAX, "%.*s/%s", PATH_MAX / 2, own[i], gen);
        if (mkdir(out->dirs[i], 0755) == 0)
            continue;
        say(why, cap, "v1: cannot make %s: %s", out->dirs[i], strerror(errno));
        out->dirs[i][0] = '\0';
        if (i == JQ_CG_FREEZER)
            continue; /* the kill rounds work without it */
        jq_cgroup_teardown(out);
        return JQ_EINVAL;
    }
    say(why, cap, "v1: memory %s, pids %s, freezer %s", out->dirs[JQ_CG_MEMORY], out->dirs[JQ_CG_PIDS],
             out->dirs[JQ_CG_FREEZER][0] ? out->dirs[JQ_CG_FREEZER] : "none");
    return 0;
}

/* ---- v2 ---- */

/* cgroup.controllers is one line of names: look for each as a word. */
static bool lists_controllers(const char *dir)
{
    char path[PATH_MAX + 32], line[1024];
    snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
    FILE *f = fopen(path, "re");
    bool ok = f && fgets(line, sizeof(line), f);
    if (f)
        fclose(f);
    if (!ok)
        return false;
    bool mem = false, pids = false;
    for (char *save = NULL, *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        mem = mem || strcmp(t, "memory") == 0;
        pids = pids || strcmp(t, "pids") == 0;
    }
    return mem && pids;
}

/* Move jobqd into a fresh leaf below own, so own may enable controllers. */
static int enter_leaf(struct jq_cgroups *out, char *why, size_t cap)
{
    char leaf[64];
    generation_name(leaf, sizeof(leaf), LEAF_PREFIX);
    snprintf(out->v2_leaf, PATH_MAX, "%.*s/%s", PATH_MAX / 2, out->v2_own, leaf);
    if (mkdir(out->v2_leaf, 0755) != 0 || jq_cgroup_write(out->v2_leaf, "cgroup.procs", "0") != 0) {
        say(why, cap, "v2: cannot move jobqd into %s: %s", out->v2_leaf, strerror(errno));
        return JQ_EINVAL;
    }
    return 0;
}

static int setup_v2(struct jq_cgroups *out, char *why, size_t cap)
{
    char own[JQ_CG_DIRS][PATH_MAX] = {{0}}, gen[64];
    if (!own_dir("cgroup2", NULL, own[0], PATH_MAX) || !lists_controllers(own[0]) || access(own[0], W_OK) != 0) {
        say(why, cap, "v2: no writable unified hierarchy with memory and pids for jobqd's cgroup");
        return JQ_EINVAL;
    }
    out->kind = JQ_CGROUP_V2;
    snprintf(out->v2_own, PATH_MAX, "%s", own[0]);
    sweep_dead(JQ_CGROUP_V2, own, 0);
    bool is_root = own_path(NULL, gen, sizeof(gen)) && gen[0] == '\0';
    int rc = is_root ? 0 : enter_leaf(out, why, cap);
    if (rc == 0 && jq_cgroup_write(own[0], "cgroup.subtree_control", "+memory +pids") != 0) {
        say(why, cap, "v2: cannot enable memory and pids below %s (%s): jobqd needs a cgroup of its own "
                 "(systemd Delegate=yes)", own[0], strerror(errno));
        rc = JQ_EINVAL;
    }
    generation_name(gen, sizeof(gen), GEN_PREFIX);
    snprintf(out->dirs[0], PATH_MAX, "%.*s/%s", PATH_MAX / 2, own[0], gen);
    if (rc == 0 && (mkdir(out->dirs[0], 0755) != 0 ||
                    jq_cgroup_write(out->dirs[0], "cgroup.subtree_control", "+memory +pids") != 0)) {
        say(why, cap, "v2: cannot prepare %s: %s", out->dirs[0], strerror(errno));
        rc = JQ_EINVAL;
    }
    if (rc != 0) {
        jq_cgroup_teardown(out);
        return rc;
    }
    say(why, cap, "v2: jobs below %s, jobqd in %s", out->dirs[0], out->v2_leaf[0] ? out->v2_leaf : own[0]);
    return 0;
}

int jq_cgroup_setup(enum jq_cgroup_mode mode, struct jq_cgroups *out, char *why, size_t cap)
{
    char v2_why[PATH_MAX + 128] = "", v1_why[PATH_MAX + 128] = "";
    memset(out, 0, sizeof(*out));
    if (mode == JQ_CGROUP_OFF) {
        say(why, cap, "none (--job-cgroups off)");
        return 0;
    }
    if ((mode == JQ_CGROUP_AUTO || mode == JQ_CGROUP_FORCE_V2) && setup_v2(out, v2_why, sizeof(v2_why)) == 0) {
        say(why, cap, "%s", v2_why);
        return 0;
    }
    memset(out, 0, sizeof(*out));
    if ((mode == JQ_CGROUP_AUTO || mode == JQ_CGROUP_FORCE_V1) && setup_v1(out, v1_why, sizeof(v1_why)) == 0) {
        say(why, cap, "%s", v1_why);
        return 0;
    }
    memset(out, 0, sizeof(*out));
    say(why, cap, "none (%s%s%s)", v2_why, v2_why[0] && v1_why[0] ? "; " : "", v1_why);
    return mode == JQ_CGROUP_AUTO ? 0 : JQ_EINVAL;
}

void jq_cgroup_sweep_worker(const struct jq_cgroups *cg, pid_t worker_pid)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "w%ld-", (long)worker_pid);
    jq_cgroup_remove_children(cg, prefix);
}

/* v2: give controllers back and return to jobqd's own cgroup. */
static void leave_leaf(struct jq_cgroups *cg)
{
    if (!cg->v2_leaf[0])
        return;
    (void)jq_cgroup_write(cg->v2_own, "cgroup.subtree_control", "-memory -pids");
    if (jq_cgroup_write(cg->v2_own, "cgroup.procs", "0") == 0)
        (void)jq_cgroup_rmdir(cg->v2_leaf);
    cg->v2_leaf[0] = '\0';
}

void jq_cgroup_teardown(struct jq_cgroups *cg)
{
    if (cg->kind == JQ_CGROUP_NONE)
        return;
    jq_cgroup_remove_children(cg, "");
    for (int i = 0; i < JQ_CG_DIRS; i++)
        if (cg->dirs[i][0])
            (void)jq_cgroup_rmdir(cg->dirs[i]);
    leave_leaf(cg);
    memset(cg, 0, sizeof(*cg));
}
