/* header_deadline.c: a deadline for a request's headers, equal to
 * --http-request-deadline-s. libmicrohttpd 0.9.75 bounds only silence
 * (MHD_OPTION_CONNECTION_TIMEOUT): a client that sends one header byte a
 * second never trips it, and MHD calls us only once the headers are in.
 *
 * DESIGN: MHD tells us when a connection starts and closes
 * (MHD_OPTION_NOTIFY_CONNECTION); each gets a watch, its socket_context,
 * in one list. A watch is "waiting for headers" from the connection's start
 * (and again from the end of each request on a kept-alive connection)
 * until the first handler call of a request. One thread sleeps until the
 * earliest such deadline and shuts the late sockets down (shutdown(2), not
 * close: the descriptor stays MHD's, so it cannot be reused under us); MHD
 * then reads end-of-file and closes the connection itself. MHD reports a
 * close before it closes the descriptor, and that report takes the list's
 * lock: the thread never touches a descriptor MHD has closed. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "api_int.h"
#include "log.h"

struct jq_conn_watch {
    struct jq_conn_watch *prev, *next;
    int fd;
    int64_t waiting_since_ms; /* monotonic; 0 = not waiting for headers */
};

struct jq_header_deadline {
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool stop;
    int64_t deadline_ms;
    struct jq_conn_watch *head;
};

/* Under mu: cut every late connection; the next deadline (INT64_MAX =
 * none). */
static int64_t cut_late_locked(void *ctx)
{
    struct jq_header_deadline *hd = ctx;
    int64_t now = jq_mono_ms(), next = INT64_MAX;
    for (struct jq_conn_watch *w = hd->head; w; w = w->next) {
        if (!w->waiting_since_ms)
            continue;
        int64_t due = w->waiting_since_ms + hd->deadline_ms;
        if (due <= now) {
            jq_log(JQ_LOG_DEBUG, "http: headers not complete within %lld ms: connection closed",
                   (long long)hd->deadline_ms);
            shutdown(w->fd, SHUT_RDWR);
            w->waiting_since_ms = 0;
        } else if (due < next) {
            next = due;
        }
    }
    return next;
}

static void *sweeper(void *arg)
{
    struct jq_header_deadline *hd = arg;
    jq_deadline_loop(&hd->mu, &hd->cv, &hd->stop, cut_late_locked, hd);
    return NULL;
}

int jq_header_deadline_start(struct jq_header_deadline **out, unsigned deadline_s)
{
    struct jq_header_deadline *hd = calloc(1, sizeof *hd);
    if (!hd)
        return JQ_ENOMEM;
    hd->deadline_ms = (int64_t)deadline_s * 1000;
    pthread_mutex_init(&hd->mu, NULL);
    int err = jq_cond_init_monotonic(&hd->cv);
    if (err == 0 && pthread_create(&hd->thread, NULL, sweeper, hd) != 0) {
        pthread_cond_destroy(&hd->cv);
        err = JQ_ESYS;
    }
    if (err) {
        pthread_mutex_destroy(&hd->mu);
        free(hd);
        return err;
    }
    *out = hd;
    return 0;
}

void jq_header_deadline_stop(struct jq_header_deadline *hd)
{
    if (!hd)
        return;
    jq_deadline_loop_stop(&hd->mu, &hd->cv, &hd->stop, hd->thread);
    pthread_cond_destroy(&hd->cv);
    pthread_mutex_destroy(&hd->mu);
    free(hd); /* MHD reported every close before: no watch is left */
}

static void watch_opened(struct jq_header_deadline *hd, struct MHD_Connection *conn, void **socket_context)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct jq_conn_watch *w = info ? calloc(1, sizeof *w) : NULL;
    if (!w)
        return; /* unwatched: only the idle timeout applies */
    w->fd = info->connect_fd;
    w->waiting_since_ms = jq_mono_ms();
    pthread_mutex_lock(&hd->mu);
    w->next = hd->head;
    if (hd->head)
        hd->head->prev = w;
    hd->head = w;
    pthread_cond_signal(&hd->cv);
    pthread_mutex_unlock(&hd->mu);
    *socket_context = w;
}

static void watch_closed(struct jq_header_deadline *hd, void **socket_context)
{
    struct jq_conn_watch *w = *socket_context;
    if (!w)
        return;
    pthread_mutex_lock(&hd->mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        hd->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&hd->mu);
    free(w);
    *socket_context = NULL;
}

void jq_header_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
    struct jq_api *api = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        watch_opened(api->header_deadline, conn, socket_context);
    else
        watch_closed(api->header_deadline, socket_context);
}

/* Start (waiting) or stop (!waiting) the clock of conn's watch. */
void jq_header_deadline_waiting(struct jq_header_deadline *hd, struct MHD_Connection *conn, bool waiting)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct jq_conn_watch *w = info ? info->socket_context : NULL;
    if (!w)
        return;
    pthread_mutex_lock(&hd->mu);
    w->waiting_since_ms = waiting ? jq_mono_ms() : 0;
    if (waiting)
        pthread_cond_signal(&hd->cv);
    pthread_mutex_unlock(&hd->mu);
}
