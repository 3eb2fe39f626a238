/* reap.c: the worker as a child subreaper — kill and reap every process
 * left over from a job, including descendants that left the job's process
 * group (setsid, double fork) and were re-parented to us.
 *
 * DESIGN: once a job's main process is dead, each of its remaining
 * descendants is either our child already or the descendant of one: when a
 * process dies its children are re-parented to the nearest subreaper (us).
 * So "SIGKILL every child, reap, repeat until waitpid says ECHILD" ends with
 * no descendant alive. Children are found by scanning /proc/<pid>/stat for
 * our pid as the parent (/proc/<pid>/task/<tid>/children needs
 * CONFIG_PROC_CHILDREN, which not every kernel has). The common case (no
 * child left) costs one waitpid call.
 *
 * The master uses the same walk with a list of children to spare (its live
 * workers): orphans of a dead worker's job are re-parented to it. Killing
 * top-down is complete: a process's children are re-parented to the
 * subreaper before its own exit status can be reaped, so each round sees
 * the next layer. */
#include "exec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Each round kills at least one child; a pids-limited job tree ends long
 * before this. It only bounds a pathological race. */
#define REAP_MAX_ROUNDS 10000

int jq_exec_become_subreaper(void)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "prctl(PR_SET_CHILD_SUBREAPER) failed");
        return JQ_ESYS;
    }
    return 0;
}

/* The parent pid of process `name` (a decimal string), or -1. */
static pid_t read_ppid(const char *name)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%s/stat", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
    const char *p = strrchr(buf, ')');
    char state;
    int ppid;
    if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
        return -1;
    return (pid_t)ppid;
}

static bool is_pid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isdigit((unsigned char)s[n]))
            return false;
    return n > 0 && n < 11;
}

static bool listed(pid_t pid, const pid_t *keep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (keep[i] == pid)
            return true;
    return false;
}

/* SIGKILL every child of self found in /proc and not in keep; with
 * with_group, its process group too (never our own). Stores up to cap of
 * their pids in out (may be NULL). Returns how many were killed. */
static unsigned kill_children(pid_t self, const pid_t *keep, size_t nkeep, bool with_group, pid_t *out, size_t cap)
{
    unsigned killed = 0;
    pid_t own_group = getpgrp();
    DIR *d = opendir("/proc");
    if (!d) {
        jq_log_errno(JQ_LOG_ERR, errno, "opendir(/proc) failed");
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_pid_name(e->d_name) || read_ppid(e->d_name) != self)
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (listed(pid, keep, nkeep))
            continue;
        pid_t pgid = with_group ? getpgid(pid) : -1;
        if (pgid > 1 && pgid != own_group)
            kill(-pgid, SIGKILL);
        if (kill(pid, SIGKILL) == 0) {
            if (out && killed < cap)
                out[killed] = pid;
            killed++;
        }
    }
    closedir(d);
    return killed;
}

#define ORPHAN_BATCH 256

unsigned jq_exec_kill_orphans(const pid_t *keep, size_t n)
{
    pid_t self = getpid(), batch[ORPHAN_BATCH];
    unsigned reaped = 0;
    for (int round = 0; round < REAP_MAX_ROUNDS; round++) {
        unsigned k = kill_children(self, keep, n, true, batch, ORPHAN_BATCH);
        if (k == 0)
            return reaped;
        for (unsigned i = 0; i < k && i < ORPHAN_BATCH; i++) {
            while (waitpid(batch[i], NULL, __WALL) < 0 && errno == EINTR)
                ;
            reaped++;
        }
    }
    jq_log(JQ_LOG_WARN, "orphans still alive after %d rounds", REAP_MAX_ROUNDS);
    return reaped;
}

/* Reaps every child that has already ended. Returns true if none is left. */
static bool reap_ended(void)
{
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG | __WALL);
        if (pid > 0)
            continue;
        if (pid < 0 && errno == EINTR)
            continue;
        return pid < 0; /* ECHILD: no child at all */
    }
}

void jq_exec_reap_all_children(void)
{
    pid_t self = getpid();
    for (int round = 0; round < REAP_MAX_ROUNDS; round++) {
        if (reap_ended())
            return;
        /* Some child is alive (or just appeared between the scan and
         * waitpid): kill what the scan finds and wait for one to end. */
        if (kill_children(self, NULL, 0, false, NULL, 0) > 0)
            while (waitpid(-1, NULL, __WALL) < 0 && errno == EINTR)
                ;
    }
    jq_log(JQ_LOG_WARN, "children still alive after %d reaping rounds", REAP_MAX_ROUNDS);
}
