/* chan.c: the shared-memory channel between the master and its workers.
 *
 * DESIGN: one memfd, sealed against shrinking and growing, mapped MAP_SHARED
 * by the master before any worker starts and by each worker from the
 * inherited descriptor. Nothing is created in /dev/shm, and the memory goes
 * away with the last process that maps it. The mapping holds a header page,
 * then nslots slots of slot_size bytes each:
 *
 *   struct slot (state, ids, the "task ready" semaphore, result scalars)
 *   task area   spec_cap bytes: the encoded spec (core/spec_codec.h)
 *   out area    output_cap + 1 bytes: stdout, NUL-terminated by finish
 *   err area    output_cap + 1 bytes: stderr, likewise
 *
 * Offsets are computed from the header's fields on both sides; there is no
 * pointer in the mapping. Every field that two processes touch at the same
 * time is a lock-free C11 atomic. While a job runs, the worker publishes
 * how much of each area is filled (out_live, err_live: release stores after
 * the bytes) and flags output_news, posting the header's "output ready"
 * semaphore only when the flag was clear (live output, service/live.c). The slot state is the only publication
 * point: whoever hands a slot over writes its data first and then stores
 * the state with release order; the other side loads the state with acquire
 * order before it reads the data. No lock is shared between processes. */
#include "chan.h"
#include "fault.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jq_limits.h"
#include "log.h"
#include "spec_codec.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
               "shared-memory atomics must be lock-free");

#define CHAN_MAGIC 0x314e414843514aULL /* "JQCHAN1" */
#define CHAN_VERSION 2u
#define CHAN_PAGE 4096u   /* header and slots start on page boundaries */
#define CHAN_LINE 64u     /* areas inside a slot start on cache lines */
#define CHAN_ERROR_CAP 256
/* Sizes above this are refused before any arithmetic can overflow. */
#define CHAN_MAX_AREA ((size_t)1 << 40)
#define CHAN_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

struct chan_header {
    uint64_t magic;
    uint32_t version;
    uint32_t nslots;
    uint64_t spec_cap;
    uint64_t output_cap;
    uint64_t slot_size;
    uint64_t total_size;
    sem_t result_ready; /* process-shared; posted once per finished task */
    sem_t output_ready; /* process-shared; posted when a slot's output_news goes 0 -> 1 */
};

/* Written by the worker before it stores DONE; read by the master after. */
struct slot_result {
    int32_t state;
    int32_t exit_code;
    int32_t signal;
    int32_t kill_reason;
    int32_t worker_pid;
    uint8_t core_dumped;
    uint8_t has_error;
    uint8_t out_truncated;
    uint8_t err_truncated;
    int64_t started_at_ms;
    int64_t finished_at_ms;
    int64_t duration_ms;
    int64_t cpu_user_ms;
    int64_t cpu_sys_ms;
    int64_t max_rss_kb;
    uint64_t out_len;
    uint64_t out_total;
    uint64_t err_len;
    uint64_t err_total;
    char error[CHAN_ERROR_CAP];
};

struct slot {
    _Atomic uint32_t state;     /* enum jq_slot_state */
    _Atomic int32_t worker_pid; /* diagnostics / repair */
    _Atomic int32_t job_pgid;   /* 0 until the job is spawned */
    _Atomic int64_t job_id;     /* written by the master before TASK */
    _Atomic int64_t cancel_job; /* the job id the master wants cancelled */
    sem_t task_ready;           /* process-shared; posted once per task */
    _Atomic uint64_t out_live;  /* stdout bytes in the out area so far (worker, release) */
    _Atomic uint64_t err_live;  /* stderr bytes in the err area so far */
    _Atomic uint32_t output_news; /* 1: output published that the master has not looked at */
    uint64_t task_len;
    struct slot_result res;
};

struct chan_layout {
    size_t header_size;
    size_t task_off;
    size_t out_off;
    size_t err_off;
    size_t slot_size;
    size_t total_size;
};

/* The process-local handle; everything it points at is in the mapping. */
struct jq_chan {
    int fd;
    unsigned char *base;
    unsigned nslots;
    size_t spec_cap;
    size_t output_cap;
    struct chan_layout lo;
    int *cancel_fds; /* nslots eventfds on the master side, NULL in a worker */
};

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) / align * align;
}

/* Computes every offset from the three parameters. Returns 0 or JQ_EINVAL. */
static int compute_layout(unsigned nslots, size_t spec_cap, size_t output_cap, struct chan_layout *lo)
{
    if (nslots == 0 || nslots > JQ_MAX_WORKERS || spec_cap == 0 || spec_cap > CHAN_MAX_AREA ||
        output_cap > CHAN_MAX_AREA)
        return JQ_EINVAL;
    lo->header_size = round_up(sizeof(struct chan_header), CHAN_PAGE);
    lo->task_off = round_up(sizeof(struct slot), CHAN_LINE);
    lo->out_off = lo->task_off + round_up(spec_cap, CHAN_LINE);
    lo->err_off = lo->out_off + round_up(output_cap + 1, CHAN_LINE);
    lo->slot_size = round_up(lo->err_off + output_cap + 1, CHAN_PAGE);
    /* nslots <= 256 and slot_size < 2^42: the product fits in 64 bits. */
    lo->total_size = lo->header_size + (size_t)nslots * lo->slot_size;
    return 0;
}

static struct chan_header *header(const struct jq_chan *ch)
{
    return (struct chan_header *)ch->base;
}

static struct slot *slot_at(const struct jq_chan *ch, unsigned i)
{
    assert(i < ch->nslots);
    return (struct slot *)(ch->base + ch->lo.header_size + (size_t)i * ch->lo.slot_size);
}

static unsigned char *slot_area(const struct jq_chan *ch, unsigned i, size_t off)
{
    return (unsigned char *)slot_at(ch, i) + off;
}

static struct jq_chan *handle_new(int fd, unsigned nslots, size_t spec_cap, size_t output_cap,
                                  const struct chan_layout *lo)
{
    struct jq_chan *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    ch->fd = fd;
    ch->nslots = nslots;
    ch->spec_cap = spec_cap;
    ch->output_cap = output_cap;
    ch->lo = *lo;
    return ch;
}

/* Master: the mapping's initial contents (the memfd is zero-filled). */
static int init_mapping(struct jq_chan *ch)
{
    struct chan_header *h = header(ch);
    if (sem_init(&h->result_ready, 1, 0) != 0 || sem_init(&h->output_ready, 1, 0) != 0)
        return JQ_ESYS;
    for (unsigned i = 0; i < ch->nslots; i++) {
        struct slot *s = slot_at(ch, i);
        if (sem_init(&s->task_ready, 1, 0) != 0)
            return JQ_ESYS;
        atomic_init(&s->state, JQ_SLOT_EMPTY);
        ch->cancel_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (ch->cancel_fds[i] < 0) {
            jq_log_errno(JQ_LOG_ERR, errno, "eventfd() failed");
            return JQ_ESYS;
        }
    }
    h->version = CHAN_VERSION;
    h->nslots = ch->nslots;
    h->spec_cap = ch->spec_cap;
    h->output_cap = ch->output_cap;
    h->slot_size = ch->lo.slot_size;
    h->total_size = ch->lo.total_size;
    h->magic = CHAN_MAGIC;
    return 0;
}

static int map_memfd(int fd, size_t size, unsigned char **base)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        jq_log_errno(JQ_LOG_ERR, errno, "mmap() of the channel (%zu bytes) failed", size);
        return JQ_ESYS;
    }
    *base = p;
    return 0;
}

int jq_chan_create(struct jq_chan **out, const struct jq_chan_params *p)
{
    struct chan_layout lo;
    struct jq_chan *ch = NULL;
    int fd = -1, rc = JQ_ESYS;
    *out = NULL;
    if (compute_layout(p->nslots, p->spec_cap, p->output_cap, &lo) != 0)
        return JQ_EINVAL;
    fd = memfd_create("jobq-chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "memfd_create() failed");
        goto out;
    }
    if (ftruncate(fd, (off_t)lo.total_size) != 0 || fcntl(fd, F_ADD_SEALS, CHAN_SEALS) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "sizing the channel memfd failed");
        goto out;
    }
    rc = JQ_ENOMEM;
    ch = handle_new(fd, p->nslots, p->spec_cap, p->output_cap, &lo);
    if (!ch)
        goto out;
    fd = -1;
    ch->cancel_fds = malloc(p->nslots * sizeof(int));
    if (!ch->cancel_fds)
        goto out;
    for (unsigned i = 0; i < p->nslots; i++)
        ch->cancel_fds[i] = -1;
    rc = map_memfd(ch->fd, lo.total_size, &ch->base);
    if (rc == 0)
        rc = init_mapping(ch);
out:
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        *out = ch;
    else
        jq_chan_destroy(ch);
    return rc;
}

void jq_chan_destroy(struct jq_chan *ch)
{
    if (!ch)
        return;
    if (ch->base)
        munmap(ch->base, ch->lo.total_size);
    if (ch->cancel_fds) {
        for (unsigned i = 0; i < ch->nslots; i++)
            if (ch->cancel_fds[i] >= 0)
                close(ch->cancel_fds[i]);
        free(ch->cancel_fds);
    }
    if (ch->fd >= 0)
        close(ch->fd);
    free(ch);
}

int jq_chan_fd(const struct jq_chan *ch)
{
    return ch->fd;
}

int jq_chan_cancel_fd(const struct jq_chan *ch, unsigned slot)
{
    assert(slot < ch->nslots);
    return ch->cancel_fds ? ch->cancel_fds[slot] : -1;
}

unsigned jq_chan_nslots(const struct jq_chan *ch)
{
    return ch->nslots;
}

/* Worker: the header must describe exactly the memfd we were given. */
static int check_header(const struct chan_header *h, size_t size, struct chan_layout *lo)
{
    if (h->magic != CHAN_MAGIC || h->version != CHAN_VERSION)
        return JQ_ECORRUPT;
    if (h->spec_cap > CHAN_MAX_AREA || h->output_cap > CHAN_MAX_AREA)
        return JQ_ECORRUPT;
    if (compute_layout(h->nslots, (size_t)h->spec_cap, (size_t)h->output_cap, lo) != 0)
        return JQ_ECORRUPT;
    if (lo->slot_size != h->slot_size || lo->total_size != h->total_size || lo->total_size != size)
        return JQ_ECORRUPT;
    return 0;
}

int jq_chan_attach(struct jq_chan **out, int fd)
{
    struct stat st;
    struct chan_layout lo;
    unsigned char *base = NULL;
    size_t size = 0;
    int rc = JQ_ECORRUPT;
    *out = NULL;
    if (fstat(fd, &st) != 0) {
        jq_log_errno(JQ_LOG_ERR, errno, "fstat() of the channel fd %d failed", fd);
        return JQ_ESYS;
    }
    /* Sealed against shrinking, so no access past the end can fault later. */
    int seals = fcntl(fd, F_GET_SEALS);
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)CHAN_PAGE || seals < 0 || (seals & CHAN_SEALS) != CHAN_SEALS)
        return JQ_ECORRUPT;
    size = (size_t)st.st_size;
    rc = map_memfd(fd, size, &base);
    if (rc == 0)
        rc = check_header((const struct chan_header *)base, size, &lo);
    if (rc == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        rc = JQ_ESYS;
    if (rc == 0) {
        const struct chan_header *h = (const struct chan_header *)base;
        struct jq_chan *ch = handle_new(fd, h->nslots, (size_t)h->spec_cap, (size_t)h->output_cap, &lo);
        if (ch) {
            ch->base = base;
            *out = ch;
            return 0;
        }
        rc = JQ_ENOMEM;
    }
    if (base)
        munmap(base, size);
    return rc;
}

/* ---- master ---- */

/* A new task's output starts empty; published by the state store after. */
static void reset_live(struct slot *s)
{
    atomic_store_explicit(&s->out_live, 0, memory_order_relaxed);
    atomic_store_explicit(&s->err_live, 0, memory_order_relaxed);
    atomic_store_explicit(&s->output_news, 0, memory_order_relaxed);
}

void jq_chan_slot_reset(struct jq_chan *ch, unsigned slot)
{
    struct slot *s = slot_at(ch, slot);
    sem_destroy(&s->task_ready);
    if (sem_init(&s->task_ready, 1, 0) != 0)
        jq_log_errno(JQ_LOG_ERR, errno, "sem_init() of slot %u failed", slot);
    atomic_store_explicit(&s->cancel_job, 0, memory_order_relaxed);
    int efd = jq_chan_cancel_fd(ch, slot);
    if (efd >= 0) {
        uint64_t drained;
        ssize_t n = read(efd, &drained, sizeof(drained)); /* non-blocking: EAGAIN when empty */
        (void)n;
    }
    atomic_store_explicit(&s->job_id, 0, memory_order_relaxed);
    atomic_store_explicit(&s->job_pgid, 0, memory_order_relaxed);
    atomic_store_explicit(&s->worker_pid, 0, memory_order_relaxed);
    reset_live(s);
    atomic_store_explicit(&s->state, JQ_SLOT_EMPTY, memory_order_release);
}

void jq_chan_slot_set_worker(struct jq_chan *ch, unsigned slot, pid_t pid)
{
    atomic_store_explicit(&slot_at(ch, slot)->worker_pid, (int32_t)pid, memory_order_relaxed);
}

int jq_chan_post(struct jq_chan *ch, unsigned slot, int64_t job_id, const struct jq_job_spec *spec)
{
    struct slot *s = slot_at(ch, slot);
    size_t len = 0;
    if (atomic_load_explicit(&s->state, memory_order_acquire) != JQ_SLOT_EMPTY)
        return JQ_ESTATE;
    if (jq_spec_encode(spec, slot_area(ch, slot, ch->lo.task_off), ch->spec_cap, &len) != 0)
        return JQ_ETOOBIG;
    s->task_len = len;
    atomic_store_explicit(&s->job_id, job_id, memory_order_relaxed);
    atomic_store_explicit(&s->job_pgid, 0, memory_order_relaxed);
    reset_live(s);
    atomic_store_explicit(&s->state, JQ_SLOT_TASK, memory_order_release);
    if (sem_post(&s->task_ready) != 0)
        jq_log_errno(JQ_LOG_ERR, errno, "sem_post(task ready) of slot %u failed", slot);
    return 0;
}

void jq_chan_cancel(struct jq_chan *ch, unsigned slot, int64_t job_id)
{
    struct slot *s = slot_at(ch, slot);
    atomic_store_explicit(&s->cancel_job, job_id, memory_order_release);
    int efd = jq_chan_cancel_fd(ch, slot);
    if (efd >= 0) {
        uint64_t one = 1;
        ssize_t n = write(efd, &one, sizeof(one)); /* EAGAIN only if the counter is saturated */
        (void)n;
    }
}

enum jq_slot_state jq_chan_slot_state(const struct jq_chan *ch, unsigned slot)
{
    return (enum jq_slot_state)atomic_load_explicit(&slot_at(ch, slot)->state, memory_order_acquire);
}

int64_t jq_chan_slot_job(const struct jq_chan *ch, unsigned slot)
{
    return atomic_load_explicit(&slot_at(ch, slot)->job_id, memory_order_relaxed);
}

pid_t jq_chan_slot_job_pgid(const struct jq_chan *ch, unsigned slot)
{
    return (pid_t)atomic_load_explicit(&slot_at(ch, slot)->job_pgid, memory_order_acquire);
}

pid_t jq_chan_slot_worker(const struct jq_chan *ch, unsigned slot)
{
    return (pid_t)atomic_load_explicit(&slot_at(ch, slot)->worker_pid, memory_order_relaxed);
}

static void wait_sem(sem_t *sem, const char *what)
{
    while (sem_wait(sem) != 0) {
        if (errno != EINTR) {
            jq_log_errno(JQ_LOG_ERR, errno, "sem_wait(%s) failed", what);
            return;
        }
    }
}

static void post_sem(sem_t *sem, const char *what)
{
    if (sem_post(sem) != 0)
        jq_log_errno(JQ_LOG_ERR, errno, "sem_post(%s) failed", what);
}

void jq_chan_wait_result(struct jq_chan *ch)
{
    wait_sem(&header(ch)->result_ready, "result ready");
}

void jq_chan_wake_collector(struct jq_chan *ch)
{
    post_sem(&header(ch)->result_ready, "result ready");
}

void jq_chan_wait_output(struct jq_chan *ch)
{
    wait_sem(&header(ch)->output_ready, "output ready");
}

void jq_chan_wake_output_waiter(struct jq_chan *ch)
{
    post_sem(&header(ch)->output_ready, "output ready");
}

bool jq_chan_take_output_news(struct jq_chan *ch, unsigned slot)
{
    return atomic_exchange_explicit(&slot_at(ch, slot)->output_news, 0, memory_order_acq_rel) != 0;
}

/* Bytes of one stream the slot's job has so far: the published length while
 * it runs, the final one once DONE (the last drain is not published). */
static uint64_t live_len(const struct jq_chan *ch, const struct slot *s, uint32_t state, bool err_stream)
{
    uint64_t len;
    if (state == JQ_SLOT_DONE)
        len = err_stream ? s->res.err_len : s->res.out_len;
    else
        len = atomic_load_explicit(err_stream ? &s->err_live : &s->out_live, memory_order_acquire);
    return len < ch->output_cap ? len : ch->output_cap; /* never trust a length past the area */
}

int jq_chan_read_output(const struct jq_chan *ch, unsigned slot, int64_t job_id, bool err_stream, uint64_t offset,
                        void *buf, size_t max, size_t *n_out)
{
    const struct slot *s = slot_at(ch, slot);
    uint32_t state = atomic_load_explicit(&s->state, memory_order_acquire);
    *n_out = 0;
    if (state == JQ_SLOT_EMPTY || atomic_load_explicit(&s->job_id, memory_order_relaxed) != job_id)
        return JQ_ESTATE;
    if (state == JQ_SLOT_TASK)
        return 0;
    uint64_t len = live_len(ch, s, state, err_stream);
    if (offset >= len)
        return 0;
    size_t n = len - offset < max ? (size_t)(len - offset) : max;
    memcpy(buf, slot_area(ch, slot, err_stream ? ch->lo.err_off : ch->lo.out_off) + offset, n);
    *n_out = n;
    return 0;
}

static void fill_output_view(struct jq_output *o, unsigned char *area, uint64_t len, uint64_t total, uint8_t trunc,
                             size_t cap)
{
    o->len = len < cap ? (size_t)len : cap; /* never trust a length past the area */
    o->data = o->len ? (char *)area : NULL;
    o->total_bytes = total;
    o->truncated = trunc != 0;
}

int jq_chan_peek_result(struct jq_chan *ch, unsigned slot, int64_t *job_id_out, struct jq_job_result *view)
{
    struct slot *s = slot_at(ch, slot);
    if (atomic_load_explicit(&s->state, memory_order_acquire) != JQ_SLOT_DONE)
        return JQ_ESTATE;
    const struct slot_result *r = &s->res;
    jq_job_result_init(view);
    *job_id_out = atomic_load_explicit(&s->job_id, memory_order_relaxed);
    view->state = (enum jq_job_state)r->state;
    view->exit_code = r->exit_code;
    view->signal = r->signal;
    view->core_dumped = r->core_dumped != 0;
    view->kill_reason = (enum jq_kill_reason)r->kill_reason;
    s->res.error[CHAN_ERROR_CAP - 1] = '\0';
    view->error = r->has_error ? s->res.error : NULL;
    fill_output_view(&view->out, slot_area(ch, slot, ch->lo.out_off), r->out_len, r->out_total, r->out_truncated,
                     ch->output_cap);
    fill_output_view(&view->err, slot_area(ch, slot, ch->lo.err_off), r->err_len, r->err_total, r->err_truncated,
                     ch->output_cap);
    view->started_at_ms = r->started_at_ms;
    view->finished_at_ms = r->finished_at_ms;
    view->duration_ms = r->duration_ms;
    view->cpu_user_ms = r->cpu_user_ms;
    view->cpu_sys_ms = r->cpu_sys_ms;
    view->max_rss_kb = r->max_rss_kb;
    view->worker_pid = r->worker_pid;
    return 0;
}

void jq_chan_release(struct jq_chan *ch, unsigned slot)
{
    struct slot *s = slot_at(ch, slot);
    atomic_store_explicit(&s->job_id, 0, memory_order_relaxed);
    atomic_store_explicit(&s->job_pgid, 0, memory_order_relaxed);
    atomic_store_explicit(&s->state, JQ_SLOT_EMPTY, memory_order_release);
}

/* ---- worker ---- */

int jq_chan_take(struct jq_chan *ch, unsigned slot, int64_t *job_id_out, struct jq_job_spec *spec,
                 const volatile sig_atomic_t *stop)
{
    struct slot *s = slot_at(ch, slot);
    *job_id_out = 0;
    jq_job_spec_init(spec);
    for (;;) {
        if (stop && *stop)
            return JQ_EBUSY;
        if (sem_wait(&s->task_ready) != 0) {
            if (errno == EINTR)
                continue;
            jq_log_errno(JQ_LOG_ERR, errno, "sem_wait(task ready) of slot %u failed", slot);
            return JQ_ECORRUPT;
        }
        uint32_t expected = JQ_SLOT_TASK;
        if (atomic_compare_exchange_strong_explicit(&s->state, &expected, JQ_SLOT_RUNNING, memory_order_acq_rel,
                                                    memory_order_acquire))
            break;
        jq_log(JQ_LOG_WARN, "slot %u woken in state %u, waiting again", slot, (unsigned)expected);
    }
    *job_id_out = atomic_load_explicit(&s->job_id, memory_order_relaxed);
    memset(&s->res, 0, sizeof(s->res)); /* output lengths start at zero */
    if (s->task_len > ch->spec_cap)
        return JQ_ECORRUPT;
    return jq_spec_decode(slot_area(ch, slot, ch->lo.task_off), (size_t)s->task_len, spec);
}

void jq_chan_output_buffers(struct jq_chan *ch, unsigned slot, char **out_buf, char **err_buf, size_t *cap)
{
    *out_buf = (char *)slot_area(ch, slot, ch->lo.out_off);
    *err_buf = (char *)slot_area(ch, slot, ch->lo.err_off);
    *cap = ch->output_cap;
}

void jq_chan_publish_output(struct jq_chan *ch, unsigned slot, size_t out_len, size_t err_len)
{
    struct slot *s = slot_at(ch, slot);
    atomic_store_explicit(&s->out_live, out_len, memory_order_release);
    atomic_store_explicit(&s->err_live, err_len, memory_order_release);
    /* One post per look of the master: it clears the flag before it reads
     * the lengths, so nothing published after its look goes unnoticed. */
    if (atomic_exchange_explicit(&s->output_news, 1, memory_order_acq_rel) == 0)
        post_sem(&header(ch)->output_ready, "output ready");
}

void jq_chan_set_job_pgid(struct jq_chan *ch, unsigned slot, pid_t pgid)
{
    atomic_store_explicit(&slot_at(ch, slot)->job_pgid, (int32_t)pgid, memory_order_release);
}

bool jq_chan_cancel_requested(const struct jq_chan *ch, unsigned slot)
{
    struct slot *s = slot_at(ch, slot);
    int64_t want = atomic_load_explicit(&s->cancel_job, memory_order_acquire);
    return want != 0 && want == atomic_load_explicit(&s->job_id, memory_order_relaxed);
}

static void store_output(struct jq_chan *ch, unsigned slot, size_t off, const struct jq_output *o, uint64_t *len,
                         uint64_t *total, uint8_t *trunc)
{
    size_t n = o->len < ch->output_cap ? o->len : ch->output_cap;
    slot_area(ch, slot, off)[n] = '\0';
    *len = n;
    *total = o->total_bytes;
    *trunc = o->truncated || o->total_bytes > n;
}

void jq_chan_finish(struct jq_chan *ch, unsigned slot, const struct jq_job_result *res)
{
    struct slot *s = slot_at(ch, slot);
    struct slot_result *r = &s->res;
    r->state = (int32_t)res->state;
    r->exit_code = res->exit_code;
    r->signal = res->signal;
    r->core_dumped = res->core_dumped;
    r->kill_reason = (int32_t)res->kill_reason;
    r->worker_pid = res->worker_pid;
    r->has_error = res->error != NULL;
    if (res->error)
        snprintf(r->error, sizeof(r->error), "%s", res->error);
    store_output(ch, slot, ch->lo.out_off, &res->out, &r->out_len, &r->out_total, &r->out_truncated);
    JQ_FAULT("chan.finish.half_written");
    store_output(ch, slot, ch->lo.err_off, &res->err, &r->err_len, &r->err_total, &r->err_truncated);
    r->started_at_ms = res->started_at_ms;
    r->finished_at_ms = res->finished_at_ms;
    r->duration_ms = res->duration_ms;
    r->cpu_user_ms = res->cpu_user_ms;
    r->cpu_sys_ms = res->cpu_sys_ms;
    r->max_rss_kb = res->max_rss_kb;
    atomic_store_explicit(&s->state, JQ_SLOT_DONE, memory_order_release);
    JQ_FAULT("chan.finish.before_post");
    if (sem_post(&header(ch)->result_ready) != 0)
        jq_log_errno(JQ_LOG_ERR, errno, "sem_post(result ready) failed");
}
