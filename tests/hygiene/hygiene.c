/* hygiene.c: checks that a test run cleaned up after itself. Run by CTest
 * as the fixture around the whole suite (tests/hygiene.cmake):
 *
 *   jq_hygiene snapshot FILE          record /dev/shm and the test-tmp dir
 *   jq_hygiene check FILE BUILD_DIR   after every other test: fail on
 *       - a live process whose executable lives in BUILD_DIR (jobqd, its
 *         workers, the spawner, a test program) other than this one,
 *       - a zombie whose parent's executable lives in BUILD_DIR,
 *       - a /dev/shm entry or a test-tmp entry absent from the snapshot.
 *
 * The test-tmp dir is the snapshot file's directory. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static int list_dir(const char *path, struct jq_it_names *out)
{
    memset(out, 0, sizeof(*out));
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    size_t cap = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **v = realloc(out->v, cap * sizeof(char *));
            if (!v)
                break;
            out->v = v;
        }
        if ((out->v[out->n] = strdup(e->d_name)) != NULL)
            out->n++;
    }
    closedir(d);
    return 0;
}

static void dir_of(const char *file, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    else
        snprintf(dir, cap, ".");
}

static int snapshot(const char *file)
{
    char tmp_dir[PATH_MAX];
    struct jq_it_names shm, tmp;
    dir_of(file, tmp_dir, sizeof(tmp_dir));
    if (mkdir(tmp_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkdir %s: %s\n", tmp_dir, strerror(errno));
        return 1;
    }
    if (jq_it_shm_snapshot(&shm) != 0 || list_dir(tmp_dir, &tmp) != 0) {
        perror("snapshot");
        return 1;
    }
    FILE *f = fopen(file, "we");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", file, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < shm.n; i++)
        fprintf(f, "shm %s\n", shm.v[i]);
    for (size_t i = 0; i < tmp.n; i++)
        fprintf(f, "tmp %s\n", tmp.v[i]);
    fprintf(f, "tmp %s\n", strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
    int rc = fclose(f) == 0 ? 0 : 1;
    jq_it_names_cleanup(&shm);
    jq_it_names_cleanup(&tmp);
    return rc;
}

static void add_name(struct jq_it_names *names, const char *name)
{
    char **v = realloc(names->v, (names->n + 1) * sizeof(char *));
    if (!v)
        return;
    names->v = v;
    if ((v[names->n] = strdup(name)) != NULL)
        names->n++;
}

static int load_snapshot(const char *file, struct jq_it_names *shm, struct jq_it_names *tmp)
{
    char line[PATH_MAX + 8];
    memset(shm, 0, sizeof(*shm));
    memset(tmp, 0, sizeof(*tmp));
    FILE *f = fopen(file, "re");
    if (!f) {
        fprintf(stderr, "no snapshot %s (%s): run the hygiene.snapshot test first\n", file, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "shm ", 4) == 0)
            add_name(shm, line + 4);
        else if (strncmp(line, "tmp ", 4) == 0)
            add_name(tmp, line + 4);
    }
    fclose(f);
    return 0;
}

/* The executable of pid, or "" (gone, or not ours to read). */
static void exe_of(pid_t pid, char *buf, size_t cap)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static bool is_ancestor(pid_t pid)
{
    for (pid_t p = getpid(); p > 1; p = jq_it_proc_ppid(p))
        if (p == pid)
            return true;
    return false;
}

/* Leftover processes and zombies of the suite. */
static size_t check_processes(const char *build_dir)
{
    pid_t all[8192];
    size_t n = jq_it_proc_descendants(0, all, 8192), bad = 0; /* ppid 0: init; so every process */
    char exe[PATH_MAX], parent_exe[PATH_MAX];
    for (size_t i = 0; i < n && i < 8192; i++) {
        pid_t pid = all[i];
        if (is_ancestor(pid))
            continue;
        char state = jq_it_proc_state(pid);
        exe_of(pid, exe, sizeof(exe));
        if (state && state != 'Z' && under(exe, build_dir)) {
            fprintf(stderr, "leftover process %d (state %c): %s\n", (int)pid, state, exe);
            bad++;
        }
        pid_t ppid = jq_it_proc_ppid(pid);
        exe_of(ppid, parent_exe, sizeof(parent_exe));
        if (state == 'Z' && under(parent_exe, build_dir)) {
            fprintf(stderr, "zombie %d, child of %d (%s)\n", (int)pid, (int)ppid, parent_exe);
            bad++;
        }
    }
    return bad;
}

static int check(const char *file, const char *build_dir)
{
    char tmp_dir[PATH_MAX], real_build[PATH_MAX];
    struct jq_it_names shm0, tmp0, shm1, tmp1;
    if (!realpath(build_dir, real_build)) {
        fprintf(stderr, "build dir %s: %s\n", build_dir, strerror(errno));
        return 1;
    }
    dir_of(file, tmp_dir, sizeof(tmp_dir));
    if (load_snapshot(file, &shm0, &tmp0) != 0)
        return 1;
    if (jq_it_shm_snapshot(&shm1) != 0 || list_dir(tmp_dir, &tmp1) != 0) {
        perror("scan");
        return 1;
    }
    size_t bad = check_processes(real_build);
    bad += jq_it_names_added(&shm0, &shm1, "/dev/shm");
    bad += jq_it_names_added(&tmp0, &tmp1, tmp_dir);
    jq_it_names_cleanup(&shm0);
    jq_it_names_cleanup(&tmp0);
    jq_it_names_cleanup(&shm1);
    jq_it_names_cleanup(&tmp1);
    if (bad) {
        fprintf(stderr, "hygiene: %zu problem(s) left by the test run\n", bad);
        return 1;
    }
    fprintf(stderr, "hygiene: no leftover processes, zombies, shared memory or temp files\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "snapshot") == 0)
        return snapshot(argv[2]);
    if (argc == 4 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3]);
    fprintf(stderr, "usage: jq_hygiene snapshot FILE | check FILE BUILD_DIR\n");
    return 2;
}
