/* trusted_path.c: resolve a path without trusting what others could change
 * (trusted_path.h).
 *
 * DESIGN: realpath(3) answers "which file is this now", but a command
 * allowlist needs "which file will this be when the job runs". The walk
 * here goes one component at a time from "/", with lstat, following each
 * symbolic link by splicing its target in front of what is left (at most
 * 40, as the kernel). Every directory it enters must be owned by root or
 * the effective uid and not writable by group or others: then nobody else
 * can rename, replace or retarget anything along the way, so the answer
 * stays true until such a user changes it. One exception: a sticky
 * directory owned by root or us (like /tmp) may be writable by others, as
 * they cannot rename or remove what they do not own there; then the entry
 * the walk takes in it must itself be owned by root or us. So
 * "/tmp/link -> /usr/bin/ls" is refused when another user made the link
 * (they could point it at something else by the time the job starts), and
 * a build tree under /tmp owned by root is fine. */
#include "trusted_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jq_limits.h"

#define JQ_TRUSTED_MAX_LINKS 40 /* the kernel's own bound for one lookup */

struct walk {
    char cur[PATH_MAX];  /* canonical path so far; "" stands for "/" */
    size_t cur_len;
    char rest[PATH_MAX]; /* what is left to walk */
    unsigned links;
    bool in_sticky;      /* cur is a directory others may write to (sticky) */
    char *why;
    size_t why_cap;
};

__attribute__((format(printf, 2, 3))) static int refuse(struct walk *w, const char *fmt, ...);

static int refuse(struct walk *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (w->why_cap)
        vsnprintf(w->why, w->why_cap, fmt, ap);
    va_end(ap);
    return JQ_EINVAL;
}

static const char *shown(const struct walk *w)
{
    return w->cur_len ? w->cur : "/";
}

static int check_owner(struct walk *w, const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return refuse(w, "%s is owned by uid %u, neither root nor jobqd's user", shown(w), (unsigned)st->st_uid);
    return 0;
}

/* Nobody but root or us may change what path (st) holds. */
static int check_trusted(struct walk *w, const struct stat *st)
{
    if (check_owner(w, st) != 0)
        return JQ_EINVAL;
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return refuse(w, "%s is writable by group or others", shown(w));
    return 0;
}

/* A directory: trusted, or sticky and ours (then w->in_sticky). */
static int check_dir(struct walk *w, const struct stat *st)
{
    w->in_sticky = (st->st_mode & S_ISVTX) && (st->st_mode & (S_IWGRP | S_IWOTH));
    if (w->in_sticky)
        return check_owner(w, st);
    return check_trusted(w, st);
}

/* Replace the link at w->cur (its directory is cur_before) by its target,
 * spliced in front of after. */
static int follow_link(struct walk *w, size_t cur_before, const char *after)
{
    char target[PATH_MAX], spliced[PATH_MAX];
    if (++w->links > JQ_TRUSTED_MAX_LINKS)
        return refuse(w, "%s: too many levels of symbolic links", shown(w));
    ssize_t n = readlink(w->cur, target, sizeof target - 1);
    if (n < 0)
        return refuse(w, "%s: %s", shown(w), strerror(errno));
    target[n] = '\0';
    int len = snprintf(spliced, sizeof spliced, "%s/%s", target, after);
    if (len < 0 || (size_t)len >= sizeof spliced)
        return refuse(w, "%s: the path is too long", shown(w));
    memcpy(w->rest, spliced, (size_t)len + 1);
    w->cur_len = target[0] == '/' ? 0 : cur_before;
    w->cur[w->cur_len] = '\0';
    if (target[0] == '/')
        w->in_sticky = false; /* "/" itself was checked at the start */
    return 1;
}

/* One component (name, len) with after = what follows it. Returns 0 when
 * done with it, 1 when w->rest was rewritten (a link), JQ_ENOTFOUND when
 * it does not exist, or JQ_EINVAL. */
static int step(struct walk *w, const char *name, size_t len, const char *after)
{
    size_t before = w->cur_len;
    if (len == 1 && name[0] == '.')
        return 0;
    if (len == 2 && name[0] == '.' && name[1] == '.') {
        while (w->cur_len > 0 && w->cur[w->cur_len - 1] != '/')
            w->cur_len--;
        w->cur_len -= w->cur_len > 0;
        w->cur[w->cur_len] = '\0';
        w->in_sticky = true; /* not known for the parent: check the next owner */
        return 0;
    }
    if (before + 1 + len >= sizeof w->cur)
        return refuse(w, "%s: the path is too long", shown(w));
    w->cur[before] = '/';
    memcpy(w->cur + before + 1, name, len);
    w->cur_len = before + 1 + len;
    w->cur[w->cur_len] = '\0';
    struct stat st;
    if (lstat(w->cur, &st) != 0) {
        int err = errno;
        refuse(w, "%s: %s", shown(w), strerror(err));
        return err == ENOENT ? JQ_ENOTFOUND : JQ_EINVAL;
    }
    if (w->in_sticky && check_owner(w, &st) != 0)
        return JQ_EINVAL;
    if (S_ISLNK(st.st_mode))
        return follow_link(w, before, after);
    if (S_ISDIR(st.st_mode))
        return check_dir(w, &st);
    if (after[strspn(after, "/")] != '\0')
        return refuse(w, "%s is not a directory", shown(w));
    return 0;
}

static int walk(struct walk *w)
{
    char *p = w->rest;
    for (;;) {
        p += strspn(p, "/");
        if (*p == '\0')
            return 0;
        size_t len = strcspn(p, "/");
        int rc = step(w, p, len, p + len);
        if (rc < 0)
            return rc;
        p = rc == 1 ? w->rest : p + len;
    }
}

/* The walk and the checks of what it ends on: a trusted regular file, or
 * a directory when want_dir. */
static int resolve(struct walk *w, const char *path, bool want_dir)
{
    struct stat st;
    w->cur[0] = '\0';
    w->cur_len = 0;
    w->links = 0;
    w->in_sticky = false;
    if (path[0] != '/')
        return refuse(w, "%s is not an absolute path", path);
    if (strlen(path) >= sizeof w->rest)
        return refuse(w, "the path is too long");
    memcpy(w->rest, path, strlen(path) + 1);
    if (lstat("/", &st) != 0 || check_trusted(w, &st) != 0) /* never sticky */
        return JQ_EINVAL;
    int rc = walk(w);
    if (rc < 0)
        return rc;
    if (stat(shown(w), &st) != 0)
        return refuse(w, "%s: %s", shown(w), strerror(errno));
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return refuse(w, "%s is not a %s", shown(w), want_dir ? "directory" : "regular file");
    return check_trusted(w, &st);
}

static int copy_out(struct walk *w, char *out, size_t cap)
{
    const char *s = shown(w);
    if (strlen(s) >= cap)
        return refuse(w, "%s: the path is too long", s);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int jq_trusted_resolve(const char *path, char *out, size_t cap, char *why, size_t why_cap)
{
    struct walk w = {.why = why, .why_cap = why_cap};
    int rc = resolve(&w, path, false);
    return rc ? JQ_EINVAL : copy_out(&w, out, cap);
}

/* As the executor decides (worker/spawn.c): a regular file we may execute. */
static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

int jq_trusted_find_command(const char *argv0, char *out, size_t cap, char *why, size_t why_cap)
{
    struct walk w = {.why = why, .why_cap = why_cap};
    if (strchr(argv0, '/'))
        return argv0[0] == '/' ? jq_trusted_resolve(argv0, out, cap, why, why_cap)
                               : refuse(&w, "%s is a relative path: name a program in PATH or give an absolute path",
                                        argv0);
    for (const char *dir = JQ_JOB_PATH; *dir;) {
        size_t dl = strcspn(dir, ":");
        char cand[PATH_MAX];
        int n = snprintf(cand, sizeof cand, "%.*s", (int)dl, dir);
        int rc = n > 0 ? resolve(&w, cand, true) : JQ_ENOTFOUND;
        if (rc == JQ_EINVAL)
            return rc; /* a PATH directory others could plant a program in */
        n = snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, dir, argv0);
        if (rc == 0 && n > 0 && (size_t)n < sizeof cand && is_executable_file(cand))
            return jq_trusted_resolve(cand, out, cap, why, why_cap);
        dir += dl + (dir[dl] == ':');
    }
    return refuse(&w, "%s: command not found in PATH (%s)", argv0, JQ_JOB_PATH);
}
