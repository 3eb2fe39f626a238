/* cgroup_tree.c: plain operations on cgroup directories that the master
 * and the workers share — write a control file, read a keyed counter, kill
 * every process in a cgroup, remove cgroups.
 *
 * DESIGN (killing): v2 has cgroup.kill, which kills the whole cgroup at
 * once, forks in flight included. v1 has nothing like it: a process may
 * fork between our reading cgroup.procs and our kill, so each round
 * freezes the job's freezer cgroup first (frozen tasks cannot fork), kills
 * every listed pid, thaws (the kills land), and rounds repeat until the
 * cgroup lists no process. Without a writable freezer the rounds still end:
 * the pids limit bounds how many processes each round can miss. Processes
 * that have exited are no longer listed (a zombie is not), so the loop
 * needs no reaping. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define KILL_ROUNDS 200      /* each round kills what is listed; a tree ends long before */
#define FREEZE_WAIT_MS 200   /* FREEZING -> FROZEN normally takes microseconds */
#define RMDIR_WAIT_MS 2000   /* killed processes leave their cgroup as they exit */
#define PROCS_READ_BYTES 65536

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int path_of(char *buf, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(buf, cap, "%s/%s", dir, file);
    return n > 0 && (size_t)n < cap ? 0 : JQ_EINVAL;
}

int jq_cgroup_write(const char *dir, const char *file, const char *s)
{
    char path[PATH_MAX];
    if (path_of(path, sizeof(path), dir, file) != 0) {
        errno = ENAMETOOLONG;
        return JQ_ESYS;
    }
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return JQ_ESYS;
    size_t len = strlen(s);
    ssize_t n = write(fd, s, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)len ? 0 : JQ_ESYS;
}

/* Read dir/file whole (up to cap - 1 bytes), NUL-terminated. */
static ssize_t read_file(const char *dir, const char *file, char *buf, size_t cap)
{
    char path[PATH_MAX];
    if (path_of(path, sizeof(path), dir, file) != 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && ((n = read(fd, buf + len, cap - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

long long jq_cgroup_read_key(const char *dir, const char *file, const char *key)
{
    char buf[4096];
    if (read_file(dir, file, buf, sizeof(buf)) < 0)
        return -1;
    size_t klen = strlen(key);
    for (const char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return strtoll(line + klen + 1, NULL, 10);
    return -1;
}

/* SIGKILL every pid listed in dir/cgroup.procs. Returns how many. */
static unsigned kill_listed(const char *dir)
{
    static char buf[PROCS_READ_BYTES]; /* one thread per process uses it: the master's main thread or a worker */
    unsigned n = 0;
    if (read_file(dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
        return 0;
    for (char *p = buf, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    return n;
}

static bool is_empty(const char *dir)
{
    char c[2];
    return read_file(dir, "cgroup.procs", c, sizeof(c)) <= 0;
}

static void set_frozen(const char *freezer_dir, bool frozen)
{
    if (jq_cgroup_write(freezer_dir, "freezer.state", frozen ? "FROZEN" : "THAWED") != 0 || !frozen)
        return;
    char state[32];
    for (int ms = 0; ms < FREEZE_WAIT_MS; ms++) {
        if (read_file(freezer_dir, "freezer.state", state, sizeof(state)) > 0 && strncmp(state, "FROZEN", 6) == 0)
            return;
        sleep_ms(1);
    }
}

void jq_cgroup_kill_dir(enum jq_cgroup_kind kind, const char *dir, const char *freezer_dir)
{
    if (!dir[0])
        return;
    if (kind == JQ_CGROUP_V2 && jq_cgroup_write(dir, "cgroup.kill", "1") == 0)
        return; /* kernels before 5.14 have no cgroup.kill: the rounds below */
    bool freeze = freezer_dir && freezer_dir[0];
    for (int round = 0; round < KILL_ROUNDS; round++) {
        if (is_empty(dir))
            return; /* the common case at a job's end: no freezing */
        if (freeze)
            set_frozen(freezer_dir, true);
        unsigned killed = kill_listed(dir);
        if (freeze)
            set_frozen(freezer_dir, false);
        if (killed == 0)
            return;
        sleep_ms(1); /* let the SIGKILLed exit before the next look */
    }
    jq_log(JQ_LOG_WARN, "cgroup %s still has processes after %d kill rounds", dir, KILL_ROUNDS);
}

int jq_cgroup_rmdir(const char *dir)
{
    for (int ms = 0; ms < RMDIR_WAIT_MS; ms += 5) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            break;
        sleep_ms(5);
    }
    jq_log_errno(JQ_LOG_WARN, errno, "cannot remove cgroup %s", dir);
    return JQ_ESYS;
}

int jq_cgroup_wait_empty(const char *dir)
{
    for (int ms = 0; ms < RMDIR_WAIT_MS; ms += 1) {
        if (is_empty(dir))
            return 0;
        sleep_ms(1);
    }
    jq_log(JQ_LOG_WARN, "cgroup %s still lists processes after %d ms", dir, RMDIR_WAIT_MS);
    return JQ_ESYS;
}

/* Kill and remove every cgroup below parent (in hierarchy i of cg) whose
 * name starts with prefix; the processes are killed through the memory
 * (v1) or only (v2) hierarchy, frozen through the freezer one. */
static void remove_below(const struct jq_cgroups *cg, int i, const char *prefix)
{
    DIR *d = opendir(cg->dirs[i]);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char dir[PATH_MAX], freezer[PATH_MAX];
        if (e->d_type != DT_DIR || e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
            path_of(dir, sizeof(dir), cg->dirs[i], e->d_name) != 0)
            continue;
        bool has_freezer = cg->dirs[JQ_CG_FREEZER][0] &&
                           path_of(freezer, sizeof(freezer), cg->dirs[JQ_CG_FREEZER], e->d_name) == 0;
        jq_cgroup_kill_dir(cg->kind, dir, has_freezer ? freezer : NULL);
        (void)jq_cgroup_rmdir(dir);
    }
    closedir(d);
}

void jq_cgroup_remove_children(const struct jq_cgroups *cg, const char *prefix)
{
    if (cg->kind == JQ_CGROUP_NONE)
        return;
    /* The freezer last: its cgroups freeze the others' rounds. */
    for (int i = 0; i < JQ_CG_DIRS; i++)
        if (cg->dirs[i][0])
            remove_below(cg, i, prefix);
}
