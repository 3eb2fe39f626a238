/* spawn.c: start one job's command — find argv[0] in the job's own PATH,
 * build its environment and pipes, then vfork + execve it.
 *
 * DESIGN: vfork copies no page tables (fork of a big worker is slow) and,
 * unlike posix_spawn, lets the child call setsid and
 * prctl(PR_SET_PDEATHSIG). The child borrows the parent's memory and stack
 * until execve, so it touches only what the parent prepared in struct
 * child_args, makes plain system calls, and reports a failure by writing
 * errno into that struct before _exit(127); the parent reads it after
 * vfork returns (the parent is suspended until the child has exec'd or
 * exited). Every signal is blocked around vfork so that no handler of the
 * worker can run in the child on the borrowed stack; the child resets every
 * disposition to the default and unblocks everything just before execve.
 *
 * Confinement (sandbox.h), in the child, in this order: into the job's
 * cgroup (cgroup_job.c: "0" written to each cgroup.procs the worker
 * opened, so every process of the job is in it from the start); a new network
 * namespace if the job has no network (as root unshare(CLONE_NEWNET);
 * otherwise with a new user namespace around it); pipes onto 0/1/2; into
 * the private work directory (fchdir on the descriptor workdir.c opened,
 * before every other descriptor is closed); the resource limits
 * (setrlimit); the user switch — setgroups(0), setresgid, setresuid as raw
 * system calls, because glibc's wrappers would signal the worker's other
 * threads to switch too ("setxid"), and this child shares the worker's
 * memory; every capability dropped (ambient and permitted) unless the job
 * runs as root by --allow-root-jobs; then PR_SET_PDEATHSIG (a credential change clears it, so it comes
 * after) and PR_SET_NO_NEW_PRIVS, so no set-user-ID binary ever raises the
 * job's privileges; then a cwd the job named, as the job's user. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jq_limits.h"
#include "log.h"

enum child_step { STEP_NONE = 0, STEP_SETUP, STEP_CHDIR, STEP_EXEC, STEP_NETNS, STEP_LIMITS, STEP_IDS, STEP_CGROUP };

#define MAX_RLIMITS 6

struct child_args {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;        /* a cwd the job named, entered as the job's user; or NULL */
    int cwd_fd;             /* the private work directory (>= 3), or -1 */
    int fds[3];             /* become the child's 0, 1, 2; all >= 3 */
    int cgroup_fds[JQ_CG_DIRS]; /* cgroup.procs files to write "0" into, or -1 */
    bool no_network;        /* unshare the network namespace (see no_network_ns) */
    bool drop_caps;         /* the job runs as a non-root user: it keeps no capability */
    int nrl;                /* resource limits to set */
    int rl_resource[MAX_RLIMITS];
    struct rlimit rl[MAX_RLIMITS];
    bool set_ids;           /* switch to uid/gid with no supplementary groups */
    uid_t uid;
    gid_t gid;
    pid_t parent;
    struct sigaction dfl;   /* SIG_DFL, for every signal */
    sigset_t child_mask;    /* empty: the job starts with nothing blocked */
    sigset_t saved_mask;    /* the parent's mask, restored after vfork */
    volatile int err;       /* set by the child: errno of the failed step */
    volatile int step;      /* set by the child: enum child_step */
};

static const char job_path_env[] = "PATH=" JQ_JOB_PATH;

static char *format_msg(const char *a, const char *b, const char *c)
{
    char *s = NULL;
    if (asprintf(&s, "%s%s%s", a, b, c) < 0)
        return NULL;
    return s;
}

/* ---- in the child (borrowed memory: system calls only) ---- */

__attribute__((noreturn)) static void child_fail(struct child_args *a, int step)
{
    a->err = errno;
    a->step = step;
    _exit(127);
}

static void close_from(int first)
{
    if (close_range((unsigned)first, ~0U, 0) == 0)
        return;
    struct rlimit rl;
    int max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)1 << 30)
        max = (int)rl.rlim_cur;
    for (int fd = first; fd < max; fd++)
        close(fd);
}

/* Raw system calls: they change only this process (see DESIGN). */
static void drop_ids(struct child_args *a)
{
    if (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0 ||
        syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0)
        child_fail(a, STEP_IDS);
}

/* A fresh network namespace: needs CAP_SYS_ADMIN; without it, and only
 * when the job keeps jobqd's user (a user switch inside a new user
 * namespace would fail), inside a new user namespace. */
static void no_network_ns(struct child_args *a)
{
    if (unshare(CLONE_NEWNET) == 0)
        return;
    if (errno != EPERM || a->set_ids || unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        child_fail(a, STEP_NETNS);
}

/* No capability survives into the job: not the ambient ones a non-root
 * jobqd may hold (a uid change between non-zero uids keeps them), not the
 * full set of a new user namespace. */
static void drop_caps(struct child_args *a)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct none[2];
    memset(none, 0, sizeof(none));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        child_fail(a, STEP_IDS);
    if (syscall(SYS_capset, &hdr, none) != 0)
        child_fail(a, STEP_IDS);
}

/* "0" moves the writing process itself. */
static void join_cgroup(struct child_args *a)
{
    for (int i = 0; i < JQ_CG_DIRS; i++)
        if (a->cgroup_fds[i] >= 0 && write(a->cgroup_fds[i], "0", 1) != 1)
            child_fail(a, STEP_CGROUP);
}

__attribute__((noreturn)) static void child_run(struct child_args *a)
{
    join_cgroup(a);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &a->dfl, NULL); /* EINVAL for the C library's own signals */
    if (setsid() < 0)
        child_fail(a, STEP_SETUP);
    if (a->no_network)
        no_network_ns(a);
    for (int i = 0; i < 3; i++)
        if (dup2(a->fds[i], i) < 0)
            child_fail(a, STEP_SETUP);
    if (a->cwd_fd >= 0 && fchdir(a->cwd_fd) != 0)
        child_fail(a, STEP_CHDIR);
    close_from(3);
    for (int i = 0; i < a->nrl; i++)
        if (setrlimit(a->rl_resource[i], &a->rl[i]) != 0)
            child_fail(a, STEP_LIMITS);
    if (a->set_ids)
        drop_ids(a);
    if (a->drop_caps)
        drop_caps(a);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != a->parent)
        child_fail(a, STEP_SETUP);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(a, STEP_SETUP);
    if (a->cwd && chdir(a->cwd) != 0)
        child_fail(a, STEP_CHDIR);
    sigprocmask(SIG_SETMASK, &a->child_mask, NULL);
    execve(a->path, a->argv, a->envp);
    child_fail(a, STEP_EXEC);
}

/* Kept apart so that nothing of the parent's frame is live across vfork. */
__attribute__((noinline)) static pid_t vfork_child(struct child_args *a)
{
    pid_t pid = vfork();
    if (pid == 0)
        child_run(a);
    return pid;
}

/* ---- in the parent ---- */

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

/* argv0 with a '/' is used as is; otherwise the first executable regular
 * file named argv0 in JQ_JOB_PATH. Not found: *why is set, returns 0. */
static int resolve(const char *argv0, char **path_out, char **why)
{
    *path_out = NULL;
    if (strchr(argv0, '/')) {
        *path_out = strdup(argv0);
        return *path_out ? 0 : JQ_ENOMEM;
    }
    size_t n0 = strlen(argv0);
    for (const char *dir = JQ_JOB_PATH; n0 > 0 && *dir;) {
        const char *end = strchr(dir, ':');
        size_t dl = end ? (size_t)(end - dir) : strlen(dir);
        char *cand = malloc(dl + 1 + n0 + 1);
        if (!cand)
            return JQ_ENOMEM;
        memcpy(cand, dir, dl);
        cand[dl] = '/';
        memcpy(cand + dl + 1, argv0, n0 + 1);
        if (is_executable_file(cand)) {
            *path_out = cand;
            return 0;
        }
        free(cand);
        dir = end ? end + 1 : dir + dl;
    }
    *why = format_msg("command not found: ", argv0, "");
    return *why ? 0 : JQ_ENOMEM;
}

/* The job's whole environment: the spec's entries, then our PATH. */
static int build_env(const struct jq_job_spec *spec, char ***envp_out)
{
    char **envp = calloc(spec->envc + 2, sizeof(char *));
    size_t n = 0;
    if (!envp)
        return JQ_ENOMEM;
    for (size_t i = 0; i < spec->envc; i++)
        if (strncmp(spec->env[i], "PATH=", 5) != 0)
            envp[n++] = spec->env[i];
    envp[n] = (char *)job_path_env;
    *envp_out = envp;
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The child's end must not sit on 0..2, or one dup2 could clobber another. */
static int move_above_stdio(int *fd)
{
    if (*fd > 2)
        return 0;
    int moved = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
        return -1;
    close(*fd);
    *fd = moved;
    return 0;
}

/* p[3][2]: stdin, stdout, stderr pipes. child_end is 0 for stdin, else 1. */
static int make_pipes(int p[3][2])
{
    for (int i = 0; i < 3; i++) {
        int child_end = i == 0 ? 0 : 1;
        if (pipe2(p[i], O_CLOEXEC) != 0 || move_above_stdio(&p[i][child_end]) != 0 ||
            fcntl(p[i][1 - child_end], F_SETFL, O_NONBLOCK) != 0) {
            jq_log_errno(JQ_LOG_ERR, errno, "creating the job's pipes failed");
            return JQ_ESYS;
        }
    }
    return 0;
}

static const char *step_subject(const struct child_args *a)
{
    switch (a->step) {
    case STEP_EXEC: return a->path;
    case STEP_CHDIR: return a->cwd ? a->cwd : "the job's work directory";
    case STEP_NETNS: return "a network namespace (\"network\": false)";
    case STEP_LIMITS: return "the job's resource limits";
    case STEP_IDS: return "switching to the job's user";
    case STEP_CGROUP: return "entering the job's cgroup";
    default: return "job setup";
    }
}

static char *describe_failure(const struct child_args *a)
{
    char what[64];
    const char *prefix = a->step == STEP_EXEC ? "exec " : a->step == STEP_CHDIR ? "chdir " : "";
    const char *subject = step_subject(a);
    snprintf(what, sizeof(what), ": %s", strerror(a->err));
    return format_msg(prefix, subject, what);
}

/* vfork with every signal blocked; the result of the child's setup in *a. */
static pid_t start_child(struct child_args *a)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &a->saved_mask);
    pid_t pid = vfork_child(a);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &a->saved_mask, NULL);
    errno = saved;
    return pid;
}

static void add_rlimit(struct child_args *a, int resource, rlim_t soft, rlim_t hard)
{
    a->rl_resource[a->nrl] = resource;
    a->rl[a->nrl].rlim_cur = soft;
    a->rl[a->nrl].rlim_max = hard;
    a->nrl++;
}

/* The job's cgroup.procs descriptors, or -1 each. */
static void take_cgroup(struct child_args *a, const struct jq_cgroup_job *cg)
{
    for (int i = 0; i < JQ_CG_DIRS; i++)
        a->cgroup_fds[i] = cg ? cg->procs_fd[i] : -1;
}

/* The limits, the user and the namespaces of the job, prepared in the
 * parent. RLIMIT_CPU's hard limit is a second above the soft one: SIGXCPU
 * first, SIGKILL if the job ignores it. Core dumps are always off. Memory
 * and processes are the cgroup's when it limits them (cgroup_job.c says
 * why no rlimit is added then). */
static void confine(struct child_args *a, const struct jq_job_spec *spec, const struct jq_spawn_where *where)
{
    const struct jq_sandbox *sb = where->sandbox;
    const struct jq_cgroup_job *cg = where->cgroup;
    struct jq_job_limits l = spec->limits;
    if (sb)
        jq_sandbox_effective(sb, &spec->limits, &l);
    take_cgroup(a, cg);
    add_rlimit(a, RLIMIT_CORE, 0, 0);
    if (l.cpu_s > 0)
        add_rlimit(a, RLIMIT_CPU, (rlim_t)l.cpu_s, (rlim_t)l.cpu_s + 1);
    if (l.memory_bytes > 0 && !(cg && cg->limits_memory))
        add_rlimit(a, RLIMIT_AS, (rlim_t)l.memory_bytes, (rlim_t)l.memory_bytes);
    if (l.procs > 0 && !(cg && cg->limits_procs))
        add_rlimit(a, RLIMIT_NPROC, (rlim_t)l.procs, (rlim_t)l.procs);
    if (l.nofile > 0)
        add_rlimit(a, RLIMIT_NOFILE, (rlim_t)l.nofile, (rlim_t)l.nofile);
    if (l.fsize_bytes > 0)
        add_rlimit(a, RLIMIT_FSIZE, (rlim_t)l.fsize_bytes, (rlim_t)l.fsize_bytes);
    a->no_network = spec->no_network;
    if (sb && sb->set_ids) {
        a->set_ids = true;
        a->uid = sb->uid;
        a->gid = sb->gid;
    }
    a->drop_caps = (a->set_ids ? a->uid : geteuid()) != 0;
}

int jq_spawn_start(const struct jq_job_spec *spec, const struct jq_spawn_where *where, struct jq_spawned *sp,
                   char **why)
{
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    char *path = NULL;
    char **envp = NULL;
    *why = NULL;
    sp->pid = -1;
    sp->in_fd = sp->out_fd = sp->err_fd = -1;
    int rc = resolve(spec->argv[0], &path, why);
    if (rc != 0 || *why)
        goto out;
    if ((rc = build_env(spec, &envp)) != 0 || (rc = make_pipes(p)) != 0)
        goto out;
    struct child_args a = {
        .path = path, .argv = spec->argv, .envp = envp, .cwd = where->cwd, .cwd_fd = where->cwd_fd,
        .fds = {p[0][0], p[1][1], p[2][1]}, .parent = getpid(),
    };
    confine(&a, spec, where);
    a.dfl.sa_handler = SIG_DFL;
    sigemptyset(&a.dfl.sa_mask);
    sigemptyset(&a.child_mask);
    pid_t pid = start_child(&a);
    if (pid < 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "vfork() failed");
        rc = JQ_ESYS;
        goto out;
    }
    if (a.step != STEP_NONE) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        *why = describe_failure(&a);
        rc = *why ? 0 : JQ_ENOMEM;
        goto out;
    }
    sp->pid = pid;
    sp->in_fd = p[0][1];
    sp->out_fd = p[1][0];
    sp->err_fd = p[2][0];
    p[0][1] = p[1][0] = p[2][0] = -1;
out:
    for (int i = 0; i < 3; i++) {
        close_fd(&p[i][0]);
        close_fd(&p[i][1]);
    }
    free(envp);
    free(path);
    return rc;
}
