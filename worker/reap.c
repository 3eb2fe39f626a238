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
 * child left) costs one waitpid call. */
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

/* SIGKILL every child of self found in /proc. Returns how many. */
static unsigned kill_children(pid_t self)
{
    unsigned killed = 0;
    DIR *d = opendir("/proc");
    if (!d) {
        jq_log_errno(JQ_LOG_ERR, errno, "opendir(/proc) failed");
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_pid_name(e->d_name) || read_ppid(e->d_name) != self)
            continue;
        if (kill((pid_t)atoi(e->d_name), SIGKILL) == 0)
            killed++;
    }
    closedir(d);
    return killed;
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
        if (kill_children(self) > 0)
            while (waitpid(-1, NULL, __WALL) < 0 && errno == EINTR)
                ;
    }
    jq_log(JQ_LOG_WARN, "children still alive after %d reaping rounds", REAP_MAX_ROUNDS);
}
