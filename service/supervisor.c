/* supervisor.c: starting worker processes. A worker is jobqd itself,
 * re-executed from /proc/self/exe with hidden arguments; the channel memfd
 * and its cancel eventfd are inherited as descriptors 3 and 4, and nothing
 * else beyond 0, 1 and 2 (not even what jobqd itself inherited). Between fork
 * and exec the child (of a multi-threaded master) makes only
 * async-signal-safe calls. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "jq_limits.h"
#include "log.h"
#include "exec.h"
#include "sandbox.h"
#include "workdir.h"
#include "worker.h"

#define WORKER_FLAG "--worker-slot"
#define CHAN_FD 3
#define CANCEL_FD 4

struct worker_argv {
    char slot[16], master[16], max_jobs[24], sandbox[192];
    char *argv[32];
};

/* The confinement the worker of slot applies (sandbox.h), from the
 * settings: with --run-as-range, a user and group of the slot's own. */
static void sandbox_of(const struct jq_config *cfg, unsigned slot, struct jq_sandbox *sb)
{
    unsigned own = cfg->run_id_count > 0 ? slot : 0;
    memset(sb, 0, sizeof(*sb));
    sb->set_ids = cfg->run_set_ids;
    sb->uid = cfg->run_uid + own;
    sb->gid = cfg->run_gid + own;
    sb->ceiling = cfg->limits;
    sb->work_root_fd = -1;
}

static void build_worker_argv(struct worker_argv *a, const struct jq_pool *pool, unsigned slot)
{
    const struct jq_config *cfg = pool->cfg;
    static const char *const level_names[] = {"debug", "info", "warn", "error"};
    snprintf(a->slot, sizeof(a->slot), "%u", slot);
    snprintf(a->master, sizeof(a->master), "%d", (int)pool->master_pid);
    snprintf(a->max_jobs, sizeof(a->max_jobs), "%ld", cfg->max_jobs_per_worker);
    struct jq_sandbox sb;
    sandbox_of(cfg, slot, &sb);
    jq_sandbox_format(&sb, a->sandbox, sizeof(a->sandbox));
    /* --job-cwd set: jobs that name no cwd run there; else in private dirs. */
    const char *v[] = {"jobqd", WORKER_FLAG, a->slot, "--master-pid", a->master, "--max-jobs", a->max_jobs,
                       "--job-cwd", cfg->job_cwd, "--work-root", cfg->job_cwd[0] ? "" : cfg->work_root,
                       "--sandbox", a->sandbox, "--log-level", level_names[cfg->log_level & 3],
                       "--cgroups", jq_cgroup_kind_name(cfg->cgroups.kind),
                       "--cgroup-memory", cfg->cgroups.dirs[JQ_CG_MEMORY], "--cgroup-pids", cfg->cgroups.dirs[JQ_CG_PIDS],
                       "--cgroup-freezer", cfg->cgroups.dirs[JQ_CG_FREEZER], NULL};
    memcpy(a->argv, v, sizeof(v));
}

/* In the child: only async-signal-safe calls until execv. */
static void exec_worker(int chan_fd, int cancel_fd, char **argv)
{
    sigset_t none;
    sigemptyset(&none);
    int c = fcntl(chan_fd, F_DUPFD_CLOEXEC, 10), k = fcntl(cancel_fd, F_DUPFD_CLOEXEC, 10);
    if (c < 0 || k < 0 || dup2(c, CHAN_FD) < 0 || dup2(k, CANCEL_FD) < 0)
        _exit(126);
    /* Nothing else the master inherited or opened without close-on-exec. */
    if (close_range(CANCEL_FD + 1, ~0U, 0) != 0)
        for (int fd = CANCEL_FD + 1; fd < 1024; fd++)
            close(fd);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    execv("/proc/self/exe", argv);
    _exit(127);
}

int jq_pool_spawn_locked(struct jq_pool *pool, unsigned slot)
{
    struct worker_argv a;
    build_worker_argv(&a, pool, slot);
    jq_chan_slot_reset(pool->chan, slot);
    pid_t pid = fork();
    if (pid < 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "fork() of worker %u failed", slot);
        return JQ_ESYS;
    }
    if (pid == 0)
        exec_worker(jq_chan_fd(pool->chan), jq_chan_cancel_fd(pool->chan, slot), a.argv);
    pool->workers[slot].pid = pid;
    pool->workers[slot].job_id = 0;
    pool->workers[slot].posted = 0;
    jq_chan_slot_set_worker(pool->chan, slot, pid);
    jq_log(JQ_LOG_DEBUG, "worker %u started as pid %d", slot, (int)pid);
    return 0;
}

int jq_pool_start(struct jq_pool *pool, const struct jq_config *cfg)
{
    struct jq_chan_params params = {cfg->workers, JQ_MAX_SPEC_BYTES, (size_t)cfg->max_output_bytes};
    memset(pool, 0, sizeof(*pool));
    pthread_mutex_init(&pool->mu, NULL);
    pool->cfg = cfg;
    pool->n = cfg->workers;
    pool->master_pid = getpid();
    pool->workers = calloc(pool->n, sizeof(*pool->workers));
    if (!pool->workers)
        return JQ_ENOMEM;
    int rc = jq_chan_create(&pool->chan, &params);
    pthread_mutex_lock(&pool->mu);
    for (unsigned i = 0; rc == 0 && i < pool->n; i++)
        rc = jq_pool_spawn_locked(pool, i);
    pthread_mutex_unlock(&pool->mu);
    return rc;
}

bool jq_pool_slot_takes_job_locked(const struct jq_pool *pool, unsigned slot)
{
    const struct jq_pool_worker *w = &pool->workers[slot];
    long max = pool->cfg->max_jobs_per_worker;
    return w->pid > 0 && w->job_id == 0 && (max <= 0 || w->posted < max);
}

int jq_pool_slot_of_locked(const struct jq_pool *pool, pid_t pid)
{
    for (unsigned i = 0; i < pool->n; i++)
        if (pool->workers[i].pid == pid)
            return (int)i;
    return -1;
}

int jq_pool_slot_of_job_locked(const struct jq_pool *pool, int64_t job_id)
{
    for (unsigned i = 0; i < pool->n; i++)
        if (pool->workers[i].job_id == job_id)
            return (int)i;
    return -1;
}

bool jq_pool_all_up(struct jq_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    bool up = jq_pool_slot_of_locked(pool, 0) < 0;
    pthread_mutex_unlock(&pool->mu);
    return up;
}

void jq_pool_kill_all(struct jq_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    for (unsigned i = 0; i < pool->n; i++) {
        pid_t pgid = jq_chan_slot_job_pgid(pool->chan, i);
        if (pool->workers[i].pid > 0)
            kill(pool->workers[i].pid, SIGKILL);
        if (pgid > 0)
            kill(-pgid, SIGKILL);
    }
    pthread_mutex_unlock(&pool->mu);
}

void jq_pool_kill_orphans(struct jq_pool *pool)
{
    pid_t keep[JQ_MAX_WORKERS];
    size_t n = 0;
    pthread_mutex_lock(&pool->mu);
    for (unsigned i = 0; i < pool->n && n < JQ_MAX_WORKERS; i++)
        if (pool->workers[i].pid > 0)
            keep[n++] = pool->workers[i].pid;
    pthread_mutex_unlock(&pool->mu);
    unsigned reaped = jq_exec_kill_orphans(keep, n);
    if (reaped > 0)
        jq_log(JQ_LOG_INFO, "killed and reaped %u orphaned job process(es)", reaped);
}

void jq_pool_cleanup(struct jq_pool *pool)
{
    jq_chan_destroy(pool->chan);
    free(pool->workers);
    pthread_mutex_destroy(&pool->mu);
    memset(pool, 0, sizeof(*pool));
}

bool jq_is_worker_invocation(int argc, char **argv)
{
    return argc > 2 && strcmp(argv[1], WORKER_FLAG) == 0;
}

static const char *arg_after(int argc, char **argv, const char *flag)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return argv[i + 1];
    return NULL;
}

/* The job cgroups' parents from the hidden arguments (kind NONE if absent). */
static void worker_cgroups(int argc, char **argv, struct jq_cgroups *cg)
{
    static const char *const flags[JQ_CG_DIRS] = {"--cgroup-memory", "--cgroup-pids", "--cgroup-freezer"};
    const char *kind = arg_after(argc, argv, "--cgroups");
    memset(cg, 0, sizeof(*cg));
    cg->kind = !kind ? JQ_CGROUP_NONE : strcmp(kind, "v2") == 0 ? JQ_CGROUP_V2
             : strcmp(kind, "v1") == 0 ? JQ_CGROUP_V1 : JQ_CGROUP_NONE;
    for (int i = 0; cg->kind != JQ_CGROUP_NONE && i < JQ_CG_DIRS; i++) {
        const char *dir = arg_after(argc, argv, flags[i]);
        snprintf(cg->dirs[i], PATH_MAX, "%s", dir ? dir : "");
    }
}

/* The worker's sandbox from its hidden arguments, the work root opened. */
static int worker_sandbox(int argc, char **argv, struct jq_sandbox *sb)
{
    const char *spec = arg_after(argc, argv, "--sandbox"), *root = arg_after(argc, argv, "--work-root");
    if (!spec || jq_sandbox_parse(spec, sb) != 0)
        return JQ_EINVAL;
    worker_cgroups(argc, argv, &sb->cgroups);
    snprintf(sb->dir_prefix, sizeof(sb->dir_prefix), "m%s-w%s-", arg_after(argc, argv, "--master-pid"),
             arg_after(argc, argv, WORKER_FLAG));
    if (!root || !root[0])
        return 0;
    int rc = jq_workdir_root_open(root, &sb->work_root_fd);
    if (rc == 0)
        jq_workdir_sweep(sb->work_root_fd, sb->dir_prefix);
    return rc;
}

int jq_worker_entry(int argc, char **argv)
{
    const char *slot = arg_after(argc, argv, WORKER_FLAG), *master = arg_after(argc, argv, "--master-pid");
    const char *max_jobs = arg_after(argc, argv, "--max-jobs"), *level = arg_after(argc, argv, "--log-level");
    const char *job_cwd = arg_after(argc, argv, "--job-cwd");
    enum jq_log_level lvl = JQ_LOG_INFO;
    struct jq_sandbox sb;
    if (!slot || !master || !max_jobs || (level && jq_log_level_parse(level, &lvl))) {
        fprintf(stderr, "jobqd: bad worker arguments (this mode is internal)\n");
        return 2;
    }
    jq_log_setup(lvl, "worker");
    if (worker_sandbox(argc, argv, &sb) != 0) {
        jq_log(JQ_LOG_ERR, "bad sandbox arguments or work root");
        return 1;
    }
    struct jq_worker_opts opts = {
        .slot = (unsigned)strtoul(slot, NULL, 10), .cancel_fd = CANCEL_FD, .master_pid = (pid_t)atoi(master),
        .max_jobs = strtol(max_jobs, NULL, 10), .default_cwd = job_cwd && job_cwd[0] ? job_cwd : NULL,
        .sandbox = &sb,
    };
    struct jq_chan *ch = NULL;
    if (jq_chan_attach(&ch, CHAN_FD)) {
        jq_log(JQ_LOG_ERR, "cannot attach the channel");
        return 1;
    }
    int status = jq_worker_main(ch, &opts);
    jq_chan_destroy(ch);
    return status;
}
