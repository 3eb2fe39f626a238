/* proc.c: what the integration tests see of processes and shared memory —
 * a /proc scanner (by cmdline marker, by parent, zombies among descendants)
 * and snapshots of the names in /dev/shm. Read-only: nothing here kills. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROCS 65536

struct proc {
    pid_t pid, ppid;
    char state;
};

/* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so parse
 * from the last ')'. */
static int read_stat(pid_t pid, struct proc *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    int ppid;
    if (!rp || sscanf(rp + 1, " %c %d", &out->state, &ppid) != 2)
        return -1;
    out->pid = pid;
    out->ppid = (pid_t)ppid;
    return 0;
}

/* Every process on the machine. Caller frees *out. */
static size_t list_procs(struct proc **out)
{
    size_t n = 0, cap = 1024;
    struct proc *v = malloc(cap * sizeof(*v));
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (v && d && (e = readdir(d)) != NULL && n < MAX_PROCS) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        if (n == cap) {
            struct proc *nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv)
                break;
            v = nv;
            cap *= 2;
        }
        if (read_stat((pid_t)pid, &v[n]) == 0)
            n++;
    }
    if (d)
        closedir(d);
    *out = v;
    return v ? n : 0;
}

char jq_it_proc_state(pid_t pid)
{
    struct proc p;
    return read_stat(pid, &p) == 0 ? p.state : 0;
}

pid_t jq_it_proc_ppid(pid_t pid)
{
    struct proc p;
    return read_stat(pid, &p) == 0 ? p.ppid : 0;
}

bool jq_it_proc_cmdline_has(pid_t pid, const char *needle)
{
    char path[64], buf[65536];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n; i++)
        buf[i] = buf[i] ? buf[i] : ' ';
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

size_t jq_it_proc_find(const char *marker, pid_t *out, size_t max)
{
    struct proc *v;
    size_t n = list_procs(&v), found = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].state == 'Z' || v[i].pid == getpid() || !jq_it_proc_cmdline_has(v[i].pid, marker))
            continue;
        if (found < max)
            out[found] = v[i].pid;
        found++;
    }
    free(v);
    return found;
}

size_t jq_it_proc_wait_found(const char *marker, size_t min, int timeout_ms)
{
    pid_t pids[64];
    size_t n;
    int64_t end = jq_it_now_ms() + timeout_ms;
    while ((n = jq_it_proc_find(marker, pids, 64)) < min && jq_it_now_ms() < end)
        jq_it_sleep_ms(10);
    return n;
}

bool jq_it_proc_wait_gone(const char *marker, int timeout_ms)
{
    pid_t pids[16];
    for (int64_t end = jq_it_now_ms() + timeout_ms;; jq_it_sleep_ms(20)) {
        size_t n = jq_it_proc_find(marker, pids, 16);
        if (n == 0)
            return true;
        if (jq_it_now_ms() >= end) {
            for (size_t i = 0; i < n && i < 16; i++)
                fprintf(stderr, "still running: pid %d (state %c, ppid %d) with %s\n", (int)pids[i],
                        jq_it_proc_state(pids[i]), (int)jq_it_proc_ppid(pids[i]), marker);
            return false;
        }
    }
}

size_t jq_it_proc_children(pid_t parent, pid_t *out, size_t max)
{
    struct proc *v;
    size_t n = list_procs(&v), found = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].ppid != parent)
            continue;
        if (found < max)
            out[found] = v[i].pid;
        found++;
    }
    free(v);
    return found;
}

/* Breadth-first from root over one snapshot of the process table; marks
 * every descendant's index in is_desc. */
static void mark_descendants(const struct proc *v, size_t n, pid_t root, bool *is_desc)
{
    pid_t *queue = malloc((n + 1) * sizeof(pid_t));
    size_t head = 0, tail = 0;
    if (!queue)
        return;
    queue[tail++] = root;
    while (head < tail) {
        pid_t parent = queue[head++];
        for (size_t i = 0; i < n; i++) {
            if (is_desc[i] || v[i].ppid != parent || v[i].pid == root)
                continue;
            is_desc[i] = true;
            queue[tail++] = v[i].pid;
        }
    }
    free(queue);
}

static size_t scan_descendants(pid_t root, pid_t *out, size_t max, bool zombies_only)
{
    struct proc *v;
    size_t n = list_procs(&v), found = 0;
    bool *is_desc = calloc(n ? n : 1, sizeof(bool));
    if (!is_desc) {
        free(v);
        return 0;
    }
    mark_descendants(v, n, root, is_desc);
    for (size_t i = 0; i < n; i++) {
        if (!is_desc[i] || (zombies_only && v[i].state != 'Z'))
            continue;
        if (out && found < max)
            out[found] = v[i].pid;
        found++;
    }
    free(is_desc);
    free(v);
    return found;
}

size_t jq_it_proc_descendants(pid_t root, pid_t *out, size_t max)
{
    return scan_descendants(root, out, max, false);
}

size_t jq_it_proc_zombies(pid_t root)
{
    return scan_descendants(root, NULL, 0, true);
}

size_t jq_it_workers(const struct jq_it_server *srv, pid_t *out, size_t max)
{
    pid_t kids[64];
    size_t n = jq_it_proc_children(srv->pid, kids, 64), found = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        /* A worker re-executes itself right after fork: until then it still
         * shows the master's command line (the only other children of the
         * master are orphans of jobs). */
        bool worker = jq_it_proc_cmdline_has(kids[i], "--worker-slot") ||
                      jq_it_proc_cmdline_has(kids[i], srv->port_path);
        if (jq_it_proc_state(kids[i]) == 'Z' || !worker)
            continue;
        if (found < max)
            out[found] = kids[i];
        found++;
    }
    return found;
}

/* ---- /dev/shm ---- */

int jq_it_shm_snapshot(struct jq_it_names *out)
{
    memset(out, 0, sizeof(*out));
    DIR *d = opendir("/dev/shm");
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(out->v, cap * sizeof(char *));
            if (!nv) {
                rc = -1;
                break;
            }
            out->v = nv;
        }
        if (!(out->v[out->n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        out->n++;
    }
    closedir(d);
    return rc;
}

size_t jq_it_names_added(const struct jq_it_names *before, const struct jq_it_names *after, const char *what)
{
    size_t added = 0;
    for (size_t i = 0; i < after->n; i++) {
        bool seen = false;
        for (size_t k = 0; !seen && k < before->n; k++)
            seen = strcmp(after->v[i], before->v[k]) == 0;
        if (!seen) {
            fprintf(stderr, "new in %s: %s\n", what, after->v[i]);
            added++;
        }
    }
    return added;
}

void jq_it_names_cleanup(struct jq_it_names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
    memset(names, 0, sizeof(*names));
}
