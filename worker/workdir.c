/* workdir.c: per-job working directories under the work root.
 *
 * DESIGN: every path operation is relative to a directory descriptor this
 * process opened itself (openat, mkdirat, fstatat, unlinkat), so a job
 * cannot redirect it with a symbolic link: an entry is looked at with
 * AT_SYMLINK_NOFOLLOW, a directory is entered with O_NOFOLLOW|O_DIRECTORY
 * and checked to be the very inode (device and number) just looked at, and
 * ".." is never used. What is not a directory is unlinked: for a symbolic
 * link that removes the link, for a hard link to a file elsewhere only this
 * name (the file keeps its other names, content, owner and mode). Nothing
 * is ever chmod'ed or chown'ed after the job ran, with one exception that
 * cannot reach outside: when jobqd is not root, a directory the job made
 * unreadable (mode 000) gets 0700 back, through an O_PATH descriptor
 * verified to be a directory on this filesystem (a directory cannot be a
 * hard link to something elsewhere). A directory on another filesystem
 * (a mount point) is never entered. Depth is bounded: a directory deeper
 * than MAX_DEPTH is renamed to the top of the job's directory and removed
 * in a later pass, so a deep tree costs neither stack nor descriptors.
 * Removal runs after every process of the job is dead (exec.c), but other
 * jobs of the same user may still run; they can move entries around, never
 * make this code leave the job's directory. */
#include "workdir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"

#define MAX_DEPTH 32          /* open descriptors while removing: at most this many */
#define MAX_PASSES 64         /* whole-tree passes (deep trees take one per hoist level) */
#define MAX_ENTRIES 10000000L /* entries looked at in one removal */
#define CREATE_TRIES 8

static int check_root(int fd, const char *path, char *msg, size_t msg_size)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        snprintf(msg, msg_size, "the work root %s must be a directory owned by jobqd's user (uid %lu)", path,
                 (unsigned long)geteuid());
        return JQ_EINVAL;
    }
    if ((st.st_mode & 07777) != 0711 && fchmod(fd, 0711) != 0) {
        snprintf(msg, msg_size, "cannot set the work root %s to mode 0711: %s", path, strerror(errno));
        return JQ_ESYS;
    }
    return 0;
}

int jq_workdir_root_prepare(const char *path, char *msg, size_t msg_size)
{
    if (path[0] != '/') {
        snprintf(msg, msg_size, "the work root must be an absolute path (got %s)", path);
        return JQ_EINVAL;
    }
    if (mkdir(path, 0711) != 0 && errno != EEXIST) {
        snprintf(msg, msg_size, "cannot create the work root %s: %s", path, strerror(errno));
        return JQ_ESYS;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msg_size, "cannot open the work root %s (a directory, not a link): %s", path, strerror(errno));
        return JQ_ESYS;
    }
    int rc = check_root(fd, path, msg, msg_size);
    close(fd);
    return rc;
}

int jq_workdir_root_open(const char *path, int *fd_out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    *fd_out = -1;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "the work root %s is not a directory of jobqd's user", path);
        if (fd >= 0)
            close(fd);
        return JQ_ESYS;
    }
    *fd_out = fd;
    return 0;
}

static void random_name(char *buf, size_t cap, const char *prefix)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)jq_mono_ms() * 2654435761u ^ (uint64_t)getpid();
    snprintf(buf, cap, "%s%016" PRIx64, prefix, r);
}

int jq_workdir_create(const struct jq_sandbox *sb, struct jq_workdir *wd)
{
    wd->fd = -1;
    for (int i = 0; i < CREATE_TRIES; i++) {
        random_name(wd->name, sizeof(wd->name), sb->dir_prefix);
        if (mkdirat(sb->work_root_fd, wd->name, 0700) == 0)
            break;
        if (errno != EEXIST || i + 1 == CREATE_TRIES) {
            jq_log_errno(JQ_LOG_ERR, errno, "mkdirat() of a job's work directory failed");
            return JQ_ESYS;
        }
    }
    wd->fd = openat(sb->work_root_fd, wd->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (wd->fd < 0 || (sb->set_ids && fchown(wd->fd, sb->uid, sb->gid) != 0)) {
        jq_log_errno(JQ_LOG_ERR, errno, "preparing the job's work directory %s failed", wd->name);
        if (wd->fd >= 0)
            close(wd->fd);
        wd->fd = -1;
        unlinkat(sb->work_root_fd, wd->name, AT_REMOVEDIR); /* still empty: nothing ran in it */
        return JQ_ESYS;
    }
    return 0;
}

struct removal {
    int top_fd;    /* the job's directory: where too-deep directories are hoisted */
    dev_t dev;     /* its filesystem: never left */
    long budget;   /* entries left to look at */
    unsigned left; /* entries that could not be removed */
    long seen;     /* entries looked at (in this pass) */
};

static bool same_inode(int fd, const struct stat *want)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

/* Not root: give a directory the job made unsearchable its owner's rights
 * back, through an O_PATH fd pinned to that very directory. */
static void restore_search(int dfd, const char *name, const struct stat *st)
{
    char proc[64];
    int p = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (p < 0)
        return;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p);
    if (same_inode(p, st) && st->st_uid == geteuid())
        (void)chmod(proc, 0700);
    close(p);
}

/* Enter the directory name of dfd that fstatat described as *st. */
static int open_subdir(int dfd, const char *name, const struct stat *st)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && geteuid() != 0) {
        restore_search(dfd, name, st);
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd >= 0 && !same_inode(fd, st)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void remove_contents(struct removal *rm, int dfd, int depth);

/* One entry of dfd: unlink it, or empty and remove it if a directory. */
static void remove_entry(struct removal *rm, int dfd, const char *name, int depth)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return; /* gone already */
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dfd, name, 0) != 0)
            rm->left++;
        return;
    }
    if (st.st_dev == rm->dev && depth >= MAX_DEPTH) {
        char hoisted[40];
        random_name(hoisted, sizeof(hoisted), "deep-");
        if (renameat(dfd, name, rm->top_fd, hoisted) != 0)
            rm->left++;
        return; /* the next pass removes it from the top */
    }
    if (st.st_dev == rm->dev) {
        int fd = open_subdir(dfd, name, &st);
        if (fd >= 0) {
            remove_contents(rm, fd, depth + 1);
            close(fd);
        }
    }
    if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOTEMPTY)
        rm->left++; /* a mount point (EBUSY), or worse: left, logged by the caller */
}

static void remove_contents(struct removal *rm, int dfd, int depth)
{
    int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        rm->left++;
        return;
    }
    rewinddir(d); /* the dup shares the position of every earlier pass */
    struct dirent *e;
    while (rm->budget > 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rm->budget--;
        rm->seen++;
        remove_entry(rm, dfd, e->d_name, depth);
    }
    closedir(d);
}

int jq_workdir_remove(int root_fd, struct jq_workdir *wd)
{
    struct stat st;
    int rc = 0;
    if (wd->fd >= 0 && fstat(wd->fd, &st) == 0) {
        struct removal rm = {.top_fd = wd->fd, .dev = st.st_dev, .budget = MAX_ENTRIES};
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            rm.left = 0;
            remove_contents(&rm, wd->fd, 0);
            if (unlinkat(root_fd, wd->name, AT_REMOVEDIR) == 0 || errno == ENOENT)
                break;
        }
    }
    if (wd->fd >= 0 && fstatat(root_fd, wd->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        jq_log(JQ_LOG_WARN, "the job's work directory %s could not be removed entirely", wd->name);
        rc = JQ_ESYS;
    }
    if (wd->fd >= 0)
        close(wd->fd);
    wd->fd = -1;
    return rc;
}

/* The job's directory is as jq_workdir_create made it: a directory of
 * the job's user, mode 0700, no extended attributes (no ACL). */
static bool as_made(const struct jq_sandbox *sb, int fd)
{
    struct stat st;
    uid_t uid = sb->set_ids ? sb->uid : geteuid();
    gid_t gid = sb->set_ids ? sb->gid : getegid();
    if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 07777) != 0700 || st.st_uid != uid)
        return false;
    char names[1];
    return (!sb->set_ids || st.st_gid == gid) && flistxattr(fd, names, 0) == 0;
}

/* Empty the directory in place, walking as jq_workdir_remove does. */
static bool empty_in_place(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return false;
    struct removal rm = {.top_fd = fd, .dev = st.st_dev, .budget = MAX_ENTRIES};
    for (int pass = 0; pass < MAX_PASSES; pass++) {
        rm.left = 0;
        rm.seen = 0;
        remove_contents(&rm, fd, 0);
        if (rm.seen == 0)
            return rm.left == 0;
    }
    return false;
}

int jq_workdir_recycle(const struct jq_sandbox *sb, struct jq_workdir *wd)
{
    char fresh[sizeof(wd->name)];
    if (wd->fd < 0 || !as_made(sb, wd->fd) || !empty_in_place(wd->fd))
        return JQ_ESYS;
    random_name(fresh, sizeof(fresh), sb->dir_prefix);
    if (renameat2(sb->work_root_fd, wd->name, sb->work_root_fd, fresh, RENAME_NOREPLACE) != 0)
        return JQ_ESYS;
    memcpy(wd->name, fresh, sizeof(fresh));
    return 0;
}

/* A name of the root that the sweep takes: it starts with prefix, or, with
 * prefix "", it is "m<pid>-..." and no process <pid> is alive (the caller
 * is a master starting up). */
static bool stale(const char *name, const char *prefix)
{
    int pid = 0, used = 0;
    if (prefix[0])
        return strncmp(name, prefix, strlen(prefix)) == 0;
    if (sscanf(name, "m%d-%n", &pid, &used) != 1 || used == 0 || pid <= 0)
        return false;
    /* Our own pid too: a master restarted in a container often gets it again. */
    return pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH);
}

void jq_workdir_sweep(int root_fd, const char *prefix)
{
    int dup_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *e;
    unsigned removed = 0;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return;
    }
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        struct jq_workdir wd = {.fd = -1};
        if (!stale(e->d_name, prefix) || strlen(e->d_name) >= sizeof(wd.name))
            continue;
        snprintf(wd.name, sizeof(wd.name), "%s", e->d_name);
        wd.fd = openat(root_fd, wd.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wd.fd >= 0 && jq_workdir_remove(root_fd, &wd) == 0)
            removed++;
    }
    closedir(d);
    if (removed > 0)
        jq_log(JQ_LOG_INFO, "removed %u work director%s left by a dead worker or master", removed,
               removed == 1 ? "y" : "ies");
}
