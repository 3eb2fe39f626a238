/* service.c: the master's life — start-up (database, recovery, pool, HTTP),
 * the main loop (signals and dispatch, woken only by a signalfd, an eventfd
 * and, while something waits for a time, a poll timeout that ends when the
 * earliest one is due (timers.c): no periodic polling), and graceful
 * shutdown. */
#include "service.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"

void jq_service_wake(struct jq_service *svc)
{
    uint64_t one = 1;
    ssize_t w = write(svc->wake_fd, &one, sizeof(one));
    (void)w; /* EAGAIN means a wake-up is already pending */
}

/* ---- hooks for the HTTP API ---- */

static void hook_enqueued(void *ctx)
{
    jq_service_wake(ctx);
}

static int hook_cancel(void *ctx, int64_t id, enum jq_job_state *state_out)
{
    struct jq_service *svc = ctx;
    pthread_mutex_lock(&svc->pool.mu);
    int slot = jq_pool_slot_of_job_locked(&svc->pool, id);
    int rc;
    if (slot >= 0) {
        rc = jq_store_mark_cancel_requested(svc->store, id);
        jq_chan_cancel(svc->pool.chan, (unsigned)slot, id);
        *state_out = JQ_STATE_RUNNING;
    } else {
        (void)jq_dispatch_unready_locked(svc, id); /* claimed ahead: queued again, then cancelled */
        rc = jq_store_cancel_queued(svc->store, id, state_out);
        if (rc == 0)
            *state_out = JQ_STATE_CANCELLED;
    }
    pthread_mutex_unlock(&svc->pool.mu);
    if (rc == 0 && *state_out == JQ_STATE_CANCELLED) {
        atomic_fetch_add_explicit(&svc->metrics.jobs_finished[JQ_STATE_CANCELLED], 1, memory_order_relaxed);
        jq_api_job_finished(svc->api, id);
        jq_service_poke_callbacks(svc);
    }
    return rc;
}

static bool hook_workers_ready(void *ctx)
{
    struct jq_service *svc = ctx;
    return jq_pool_all_up(&svc->pool);
}

static bool hook_accepting(void *ctx)
{
    struct jq_service *svc = ctx;
    return atomic_load(&svc->accepting);
}

static void hook_pool_stats(void *ctx, struct jq_pool_stats *out)
{
    struct jq_service *svc = ctx;
    pthread_mutex_lock(&svc->pool.mu);
    out->workers_configured = svc->pool.n;
    out->workers_alive = 0;
    for (unsigned i = 0; i < svc->pool.n; i++)
        out->workers_alive += svc->pool.workers[i].pid > 0;
    out->worker_restarts = svc->pool.restarts;
    pthread_mutex_unlock(&svc->pool.mu);
}

/* ---- start-up ---- */

static int make_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            jq_log_errno(JQ_LOG_ERR, errno, "mkdir(%s) failed", dir);
            return JQ_ESYS;
        }
        *p = '/';
    }
    return 0;
}

static int write_port_file(const char *path, uint16_t port)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f || fprintf(f, "%u\n", (unsigned)port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "writing the port file %s failed", path);
        return JQ_ESYS;
    }
    return 0;
}

static int open_event_fds(struct jq_service *svc)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before any thread exists, so every thread inherits the mask
     * and only the signalfd sees these signals. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    svc->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    svc->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (svc->signal_fd < 0 || svc->wake_fd < 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "signalfd/eventfd failed");
        return JQ_ESYS;
    }
    return 0;
}

static int open_store(struct jq_service *svc)
{
    int64_t lost = 0;
    int rc = make_parent_dir(svc->cfg.db_path);
    if (rc == 0)
        rc = jq_store_open_sqlite(&svc->store, svc->cfg.db_path);
    if (rc == 0)
        rc = jq_store_recover(svc->store, &lost);
    if (rc == 0 && lost > 0)
        jq_log(JQ_LOG_WARN, "%lld job(s) were running when the service last stopped: resolved by their on_lost "
               "policy (lost, or queued again)", (long long)lost);
    if (rc)
        jq_log(JQ_LOG_ERR, "cannot open the database %s (%s)", svc->cfg.db_path, jq_err_name(rc));
    return rc;
}

struct jq_job_policy jq_service_job_policy(const struct jq_config *c)
{
    return (struct jq_job_policy){c->default_timeout_ms, c->max_timeout_ms, c->kill_grace_ms, c->max_output_bytes,
                                  c->limits, c->no_job_network, !jq_callbacks_built};
}

static int start_api(struct jq_service *svc)
{
    const struct jq_config *c = &svc->cfg;
    struct jq_api_config ac = {
        .listen_host = c->listen_host, .port = c->port, .threads = c->http_threads,
        .policy = jq_service_job_policy(c),
        .token = c->token, .tls_cert_path = c->tls_cert[0] ? c->tls_cert : NULL,
        .tls_key_path = c->tls_key[0] ? c->tls_key : NULL,
        .max_connections = c->http_max_connections, .max_per_client = c->http_max_per_client,
        .idle_timeout_s = c->http_idle_timeout_s, .request_deadline_s = c->http_request_deadline_s,
        .metrics = &svc->metrics, .max_queued = (uint64_t)c->max_queued,
        .allowed_commands = c->allowed_commands, .allowed_commands_len = c->allowed_commands_len,
    };
    if (!c->token[0] && !jq_config_is_loopback(c->listen_host))
        jq_log(JQ_LOG_WARN, "SERVING %s WITHOUT AUTHENTICATION: anyone who can reach it can run commands",
               c->listen_host);
    struct jq_api_hooks hooks = {svc, hook_enqueued, hook_cancel, hook_workers_ready, hook_accepting,
                                 hook_pool_stats, jq_live_read, jq_dispatch_store_jobs};
    int rc = jq_api_start(&svc->api, &ac, svc->store, &hooks);
    if (rc)
        return rc;
    jq_log(JQ_LOG_INFO, "listening on %s:%u with %u workers, database %s", c->listen_host,
           (unsigned)jq_api_port(svc->api), c->workers, c->db_path);
    return c->port_file[0] ? write_port_file(c->port_file, jq_api_port(svc->api)) : 0;
}

static int start_callbacks(struct jq_service *svc)
{
    struct jq_callbacks_config cc = {svc->cfg.callback_secret, strlen(svc->cfg.callback_secret),
                                     svc->cfg.callback_retry_ms, svc->cfg.callback_allow_private};
    if (svc->cfg.callback_allow_private)
        jq_log(JQ_LOG_WARN, "callbacks may reach loopback, private and link-local addresses (--callback-allow-private)");
    return jq_callbacks_start(&svc->callbacks, svc->store, &cc);
}

static int start(struct jq_service *svc)
{
    int rc = open_event_fds(svc);
    /* Orphaned job processes come to the master, which reaps them. */
    if (rc == 0 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        rc = JQ_ESYS;
    if (rc == 0)
        rc = open_store(svc);
    if (rc == 0 && (rc = jq_isolation_start(&svc->cfg)) == JQ_EINVAL)
        svc->start_status = 2;
    if (rc == 0)
        rc = jq_pool_start(&svc->pool, &svc->cfg);
    if (rc == 0)
        rc = jq_dispatch_init(svc);
    if (rc == 0)
        rc = jq_collect_start(svc);
    if (rc == 0)
        rc = start_callbacks(svc);
    if (rc == 0)
        rc = start_api(svc);
    if (rc == 0)
        rc = jq_live_start(svc);
    return rc;
}

/* ---- the main loop ---- */

static void on_child_exit(struct jq_service *svc, pid_t pid, int status)
{
    pthread_mutex_lock(&svc->pool.mu);
    int slot = jq_pool_slot_of_locked(&svc->pool, pid);
    if (slot >= 0)
        svc->pool.workers[slot].pid = 0;
    pthread_mutex_unlock(&svc->pool.mu);
    if (slot < 0) {
        jq_pool_kill_orphans(&svc->pool); /* an orphaned job process, now reaped: and its children */
        return;
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        jq_log(JQ_LOG_WARN, "worker %d (pid %d) died (status 0x%x)", slot, (int)pid, (unsigned)status);
    jq_collect_lost(svc, (unsigned)slot, JQ_KILL_NONE);
    /* The job's leader was our child the moment the worker died (we are a
     * subreaper); it and every descendant that left its group go now. */
    jq_pool_kill_orphans(&svc->pool);
    jq_cgroup_sweep_worker(&svc->cfg.cgroups, pid);
    if (svc->stopping)
        return;
    pthread_mutex_lock(&svc->pool.mu);
    if (jq_pool_spawn_locked(&svc->pool, (unsigned)slot) == 0)
        svc->pool.restarts++;
    pthread_mutex_unlock(&svc->pool.mu);
}

static void reap_children(struct jq_service *svc)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        on_child_exit(svc, pid, status);
}

static void read_signals(struct jq_service *svc)
{
    struct signalfd_siginfo si;
    while (read(svc->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            continue; /* reaped below, all at once */
        if (!svc->stopping)
            jq_log(JQ_LOG_INFO, "signal %u: stopping (running jobs get %lld ms)", si.ssi_signo,
                   (long long)svc->cfg.shutdown_grace_ms);
        svc->stopping = true;
        atomic_store(&svc->accepting, false);
    }
    reap_children(svc);
}

static bool pool_idle(struct jq_service *svc)
{
    pthread_mutex_lock(&svc->pool.mu);
    bool idle = true;
    for (unsigned i = 0; i < svc->pool.n; i++)
        idle = idle && svc->pool.workers[i].job_id == 0;
    pthread_mutex_unlock(&svc->pool.mu);
    return idle;
}

/* Wait for events; timeout_ms < 0 = no timeout. */
static void wait_events(struct jq_service *svc, int timeout_ms)
{
    struct pollfd fds[2] = {{svc->signal_fd, POLLIN, 0}, {svc->wake_fd, POLLIN, 0}};
    if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
        jq_log_errno(JQ_LOG_ERR, errno, "poll failed");
    uint64_t v;
    if (fds[1].revents & POLLIN) {
        ssize_t r = read(svc->wake_fd, &v, sizeof(v));
        (void)r;
    }
    read_signals(svc);
}

static void run_loop(struct jq_service *svc)
{
    int timeout_ms = -1;
    jq_service_wake(svc); /* jobs queued before a restart */
    while (!svc->stopping) {
        wait_events(svc, timeout_ms);
        timeout_ms = jq_timers_run(svc);
        jq_dispatch(svc);
    }
    int64_t deadline = jq_mono_ms() + svc->cfg.shutdown_grace_ms;
    while (!pool_idle(svc) && jq_mono_ms() < deadline)
        wait_events(svc, (int)(deadline - jq_mono_ms()));
}

/* ---- shutdown ---- */

static void kill_leftovers(struct jq_service *svc)
{
    jq_pool_kill_all(&svc->pool);
    jq_collect_stop(svc);
    jq_dispatch_requeue_ready(svc); /* claimed ahead, never started */
    for (unsigned i = 0; i < svc->pool.n; i++)
        jq_collect_lost(svc, i, JQ_KILL_SHUTDOWN);
    jq_exec_reap_all_children();
    (void)jq_unrecorded_retry(svc, jq_now_ms(), true);
}

static void stop(struct jq_service *svc)
{
    jq_live_stop(svc);
    if (svc->pool.chan)
        kill_leftovers(svc);
    jq_api_stop(svc->api);
    jq_callbacks_stop(svc->callbacks);
    jq_store_close(svc->store);
    jq_unrecorded_cleanup(svc);
    jq_dispatch_cleanup(svc);
    jq_pool_cleanup(&svc->pool);
    jq_cgroup_teardown(&svc->cfg.cgroups); /* every child is gone */
    if (svc->signal_fd >= 0)
        close(svc->signal_fd);
    if (svc->wake_fd >= 0)
        close(svc->wake_fd);
    pthread_mutex_destroy(&svc->collect_mu);
}

int jq_service_run(const struct jq_config *cfg)
{
    struct jq_service *svc = calloc(1, sizeof(*svc));
    if (!svc)
        return 1;
    /* One malloc arena for all the master's threads: each extra arena kept
     * ~0.5 MB of freed memory, and the threads allocate little (measured:
     * RSS flat after the first run, no loss of speed; docs/benchmarks.md). */
    mallopt(M_ARENA_MAX, 1);
    svc->cfg = *cfg;
    svc->signal_fd = svc->wake_fd = -1;
    svc->start_status = 1;
    pthread_mutex_init(&svc->collect_mu, NULL);
    atomic_store(&svc->accepting, true);
    jq_metrics_init(&svc->metrics);
    int rc = start(svc);
    if (rc == 0)
        run_loop(svc);
    stop(svc);
    int svc_status = svc->start_status;
    free(svc);
    jq_log(JQ_LOG_INFO, "stopped");
    return rc == 0 ? 0 : svc_status;
}
