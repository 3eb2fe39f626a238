/* spec_codec.c: the flat encoding of a job spec.
 *
 * Layout: a fixed header (magic, version, limits, counts), then (version 2)
 * the retry policy as a fixed block, then each string
 * as a 4-byte length and its bytes: argv[0..argc), env[0..envc), cwd (length
 * NO_STRING when absent), stdin (NO_STRING when absent). Integers are in host
 * byte order: the encoding never leaves the machine that wrote it except in
 * the database, which is host-specific anyway.
 *
 * Versions: 3 is written: version 2 plus a fixed block of resource limits
 * and the network flag after the policy. 2 (no limits block) is read with
 * no limits of its own (the server's ceilings apply) and the network on.
 * 1 (no policy block either; jobs stored before retries existed) is read
 * with the default policy too: one attempt, on_lost fail. */
#include "spec_codec.h"
#include "retry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAGIC 0x3153514au /* "JQS1" */
#define SPEC_VERSION 3u
#define SPEC_VERSION_NO_LIMITS 2u
#define SPEC_VERSION_NO_POLICY 1u
#define NO_STRING UINT32_MAX

struct spec_header {
    uint32_t magic;
    uint32_t version;
    int64_t timeout_ms;
    int64_t kill_grace_ms;
    int64_t max_output_bytes;
    int32_t priority;
    uint32_t argc;
    uint32_t envc;
    uint32_t reserved;
};

/* Version 2: struct jq_retry_policy, with fixed-width fields only. */
struct spec_policy {
    int32_t max_attempts;
    uint32_t on_lost_retry;
    uint32_t retry_on_n;
    int32_t retry_on[JQ_MAX_RETRY_ON];
    uint32_t reserved;
    int64_t backoff_ms;
    int64_t backoff_max_ms;
};

/* Version 3: struct jq_job_limits and no_network. */
struct spec_limits {
    int64_t cpu_s;
    int64_t memory_bytes;
    int64_t procs;
    int64_t nofile;
    int64_t fsize_bytes;
    uint32_t no_network;
    uint32_t reserved;
};

struct writer {
    unsigned char *p;
    size_t len;
    size_t cap;
    int err;
};

struct reader {
    const unsigned char *p;
    size_t len;
    size_t off;
};

static void put(struct writer *w, const void *src, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = JQ_ETOOBIG;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put_string(struct writer *w, const char *s, size_t n, bool present)
{
    uint32_t len = present ? (uint32_t)n : NO_STRING;
    put(w, &len, sizeof(len));
    if (present)
        put(w, s, n);
}

static size_t strv_size(char *const *v, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sizeof(uint32_t) + strlen(v[i]);
    return total;
}

size_t jq_spec_encoded_size(const struct jq_job_spec *spec)
{
    return sizeof(struct spec_header) + sizeof(struct spec_policy) + sizeof(struct spec_limits) + strv_size(spec->argv, spec->argc) + strv_size(spec->env, spec->envc) +
           2 * sizeof(uint32_t) + (spec->cwd ? strlen(spec->cwd) : 0) + (spec->stdin_data ? spec->stdin_len : 0);
}

int jq_spec_encode(const struct jq_job_spec *spec, void *buf, size_t cap, size_t *len_out)
{
    struct writer w = {buf, 0, cap, 0};
    struct spec_header h = {
        .magic = SPEC_MAGIC, .version = SPEC_VERSION, .timeout_ms = spec->timeout_ms,
        .kill_grace_ms = spec->kill_grace_ms, .max_output_bytes = spec->max_output_bytes,
        .priority = spec->priority, .argc = (uint32_t)spec->argc, .envc = (uint32_t)spec->envc,
    };
    struct spec_policy pol = {
        .max_attempts = spec->retry.max_attempts, .on_lost_retry = spec->retry.on_lost_retry,
        .retry_on_n = spec->retry.retry_on_n, .backoff_ms = spec->retry.backoff_ms,
        .backoff_max_ms = spec->retry.backoff_max_ms,
    };
    if (spec->retry.retry_on_n > JQ_MAX_RETRY_ON)
        return JQ_EINVAL;
    const struct jq_job_limits *l = &spec->limits;
    struct spec_limits lim = {
        .cpu_s = l->cpu_s, .memory_bytes = l->memory_bytes, .procs = l->procs, .nofile = l->nofile,
        .fsize_bytes = l->fsize_bytes, .no_network = spec->no_network,
    };
    memcpy(pol.retry_on, spec->retry.retry_on, sizeof(pol.retry_on));
    put(&w, &h, sizeof(h));
    put(&w, &pol, sizeof(pol));
    put(&w, &lim, sizeof(lim));
    for (size_t i = 0; i < spec->argc; i++)
        put_string(&w, spec->argv[i], strlen(spec->argv[i]), true);
    for (size_t i = 0; i < spec->envc; i++)
        put_string(&w, spec->env[i], strlen(spec->env[i]), true);
    put_string(&w, spec->cwd, spec->cwd ? strlen(spec->cwd) : 0, spec->cwd != NULL);
    put_string(&w, spec->stdin_data, spec->stdin_len, spec->stdin_data != NULL);
    *len_out = w.len;
    return w.err;
}

static int get(struct reader *r, void *dst, size_t n)
{
    if (n > r->len - r->off)
        return JQ_ECORRUPT;
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return 0;
}

/* Reads one string into a fresh heap copy (NUL-terminated); *out = NULL for
 * an absent one. Strings meant to be C strings must not contain NUL. */
static int get_string(struct reader *r, char **out, size_t *len_out, bool may_hold_nul)
{
    uint32_t len;
    *out = NULL;
    if (get(r, &len, sizeof(len)))
        return JQ_ECORRUPT;
    if (len == NO_STRING)
        return 0;
    if (len > r->len - r->off)
        return JQ_ECORRUPT;
    const unsigned char *src = r->p + r->off;
    if (!may_hold_nul && memchr(src, 0, len))
        return JQ_ECORRUPT;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return JQ_ENOMEM;
    memcpy(s, src, len);
    s[len] = '\0';
    r->off += len;
    *out = s;
    if (len_out)
        *len_out = len;
    return 0;
}

static int get_strv(struct reader *r, uint32_t n, char ***out, size_t *n_out)
{
    if (n > r->len / sizeof(uint32_t))
        return JQ_ECORRUPT;
    char **v = calloc((size_t)n + 1, sizeof(char *));
    if (!v)
        return JQ_ENOMEM;
    *out = v;
    for (uint32_t i = 0; i < n; i++) {
        int rc = get_string(r, &v[i], NULL, false);
        if (rc)
            return rc;
        if (!v[i])
            return JQ_ECORRUPT;
        *n_out = i + 1;
    }
    return 0;
}

/* The policy block of version 2, or the defaults for version 1. */
static int get_policy(struct reader *r, uint32_t version, struct jq_retry_policy *out)
{
    struct spec_policy pol;
    if (version == SPEC_VERSION_NO_POLICY) {
        jq_retry_policy_default(out);
        return 0;
    }
    if (get(r, &pol, sizeof(pol)) || pol.on_lost_retry > 1)
        return JQ_ECORRUPT;
    out->max_attempts = pol.max_attempts;
    out->on_lost_retry = pol.on_lost_retry != 0;
    out->retry_on_n = pol.retry_on_n;
    memcpy(out->retry_on, pol.retry_on, sizeof(out->retry_on));
    out->backoff_ms = pol.backoff_ms;
    out->backoff_max_ms = pol.backoff_max_ms;
    return jq_retry_policy_valid(out) ? 0 : JQ_ECORRUPT;
}

/* The limits block of version 3; none (zeroes, network on) before. */
static int get_limits(struct reader *r, uint32_t version, struct jq_job_spec *out)
{
    struct spec_limits lim;
    if (version < SPEC_VERSION)
        return 0;
    if (get(r, &lim, sizeof(lim)) || lim.no_network > 1 || lim.cpu_s < 0 || lim.memory_bytes < 0 ||
        lim.procs < 0 || lim.nofile < 0 || lim.fsize_bytes < 0)
        return JQ_ECORRUPT;
    out->limits = (struct jq_job_limits){lim.cpu_s, lim.memory_bytes, lim.procs, lim.nofile, lim.fsize_bytes};
    out->no_network = lim.no_network != 0;
    return 0;
}

static bool version_known(uint32_t version)
{
    return version == SPEC_VERSION || version == SPEC_VERSION_NO_LIMITS || version == SPEC_VERSION_NO_POLICY;
}

int jq_spec_decode(const void *buf, size_t len, struct jq_job_spec *out)
{
    struct reader r = {buf, len, 0};
    struct spec_header h;
    struct jq_retry_policy policy;
    jq_job_spec_init(out);
    int rc = get(&r, &h, sizeof(h));
    if (rc == 0 && (h.magic != SPEC_MAGIC || h.argc == 0 || !version_known(h.version)))
        rc = JQ_ECORRUPT;
    if (rc == 0)
        rc = get_policy(&r, h.version, &policy);
    if (rc == 0)
        rc = get_limits(&r, h.version, out);
    if (rc == 0)
        rc = get_strv(&r, h.argc, &out->argv, &out->argc);
    if (rc == 0)
        rc = get_strv(&r, h.envc, &out->env, &out->envc);
    if (rc == 0)
        rc = get_string(&r, &out->cwd, NULL, false);
    if (rc == 0)
        rc = get_string(&r, &out->stdin_data, &out->stdin_len, true);
    if (rc == 0 && r.off != len)
        rc = JQ_ECORRUPT;
    if (rc) {
        jq_job_spec_cleanup(out);
        return rc;
    }
    out->timeout_ms = h.timeout_ms;
    out->kill_grace_ms = h.kill_grace_ms;
    out->max_output_bytes = h.max_output_bytes;
    out->priority = h.priority;
    out->retry = policy;
    return 0;
}

int jq_spec_decode_policy(const void *buf, size_t len, struct jq_retry_policy *out)
{
    struct reader r = {buf, len, 0};
    struct spec_header h;
    memset(out, 0, sizeof(*out));
    if (get(&r, &h, sizeof(h)) || h.magic != SPEC_MAGIC || !version_known(h.version))
        return JQ_ECORRUPT;
    return get_policy(&r, h.version, out);
}
