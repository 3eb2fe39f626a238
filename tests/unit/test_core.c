/* test_core.c: unit tests of core/ — state names, error names, spec codec
 * (with the retry policy, and version 1 encodings), the retry decision and
 * its backoff bounds. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "job.h"
#include "jq_limits.h"
#include "retry.h"
#include "spec_codec.h"
#include "spec_v1_fixture.h"
#include "cron.h"
#include "sha256.h"
#include "testlib.h"

static void state_names(void)
{
    for (int s = 0; s < JQ_STATE_COUNT; s++) {
        enum jq_job_state back;
        ASSERT_EQ(jq_state_parse(jq_state_name((enum jq_job_state)s), &back), 0);
        ASSERT_EQ(back, s);
    }
    enum jq_job_state dummy;
    ASSERT_EQ(jq_state_parse("bogus", &dummy), JQ_EINVAL);
    ASSERT_TRUE(!jq_state_is_terminal(JQ_STATE_RUNNING));
    ASSERT_TRUE(jq_state_is_terminal(JQ_STATE_LOST));
    ASSERT_TRUE(!jq_state_is_terminal(JQ_STATE_RETRY_WAIT));
    ASSERT_STREQ(jq_state_name(JQ_STATE_RETRY_WAIT), "retry_wait");
    ASSERT_EQ(JQ_STATE_RETRY_WAIT, 7); /* stored in the database */
}

static char **strv(const char *a, const char *b)
{
    char **v = calloc(3, sizeof(char *));
    v[0] = strdup(a);
    v[1] = b ? strdup(b) : NULL;
    return v;
}

static void make_spec(struct jq_job_spec *s)
{
    jq_job_spec_init(s);
    s->argv = strv("sh", "-c");
    s->argc = 2;
    s->env = strv("A=1", NULL);
    s->envc = 1;
    s->cwd = strdup("/tmp");
    s->stdin_data = malloc(3);
    memcpy(s->stdin_data, "a\0b", 3);
    s->stdin_len = 3;
    s->timeout_ms = 1234;
    s->kill_grace_ms = 5;
    s->max_output_bytes = 99;
    s->priority = -7;
    s->retry.max_attempts = 5;
    s->retry.on_lost_retry = true;
    s->retry.retry_on_n = 3;
    s->retry.retry_on[0] = 3;
    s->retry.retry_on[1] = JQ_RETRY_ON_TIMEOUT;
    s->retry.retry_on[2] = 255;
    s->retry.backoff_ms = 250;
    s->retry.backoff_max_ms = 4000;
    s->limits = (struct jq_job_limits){7, 1 << 20, 33, 64, 4096};
    s->no_network = true;
}

static void spec_roundtrip(void)
{
    struct jq_job_spec s, back;
    make_spec(&s);
    size_t size = jq_spec_encoded_size(&s), len = 0;
    char *buf = malloc(size);
    ASSERT_EQ(jq_spec_encode(&s, buf, size, &len), 0);
    ASSERT_EQ(len, size);
    ASSERT_EQ(jq_spec_encode(&s, buf, size - 1, &len), JQ_ETOOBIG);
    ASSERT_EQ(jq_spec_encode(&s, buf, size, &len), 0);
    ASSERT_EQ(jq_spec_decode(buf, len, &back), 0);
    ASSERT_EQ(back.argc, 2);
    ASSERT_STREQ(back.argv[1], "-c");
    ASSERT_TRUE(back.argv[2] == NULL);
    ASSERT_STREQ(back.env[0], "A=1");
    ASSERT_STREQ(back.cwd, "/tmp");
    ASSERT_EQ(back.stdin_len, 3);
    ASSERT_EQ(memcmp(back.stdin_data, "a\0b", 3), 0);
    ASSERT_EQ(back.timeout_ms, 1234);
    ASSERT_EQ(back.priority, -7);
    ASSERT_EQ(back.retry.max_attempts, 5);
    ASSERT_TRUE(back.retry.on_lost_retry);
    ASSERT_EQ(back.retry.retry_on_n, 3);
    ASSERT_EQ(back.retry.retry_on[1], JQ_RETRY_ON_TIMEOUT);
    ASSERT_EQ(back.retry.retry_on[2], 255);
    ASSERT_EQ(back.retry.backoff_ms, 250);
    ASSERT_EQ(back.retry.backoff_max_ms, 4000);
    ASSERT_EQ(back.limits.cpu_s, 7);
    ASSERT_EQ(back.limits.memory_bytes, 1 << 20);
    ASSERT_EQ(back.limits.procs, 33);
    ASSERT_EQ(back.limits.nofile, 64);
    ASSERT_EQ(back.limits.fsize_bytes, 4096);
    ASSERT_TRUE(back.no_network);
    struct jq_retry_policy pol;
    ASSERT_EQ(jq_spec_decode_policy(buf, len, &pol), 0);
    ASSERT_EQ(pol.max_attempts, 5);
    ASSERT_TRUE(pol.on_lost_retry);
    ASSERT_EQ(pol.retry_on_n, 3);
    ASSERT_EQ(memcmp(pol.retry_on, back.retry.retry_on, sizeof(pol.retry_on)), 0);
    ASSERT_EQ(pol.backoff_ms, 250);
    ASSERT_EQ(pol.backoff_max_ms, 4000);
    jq_job_spec_cleanup(&back);
    jq_job_spec_cleanup(&s);
    free(buf);
}

static void spec_decode_rejects_garbage(void)
{
    struct jq_job_spec s, back;
    make_spec(&s);
    size_t size = jq_spec_encoded_size(&s), len = 0;
    char *buf = malloc(size);
    ASSERT_EQ(jq_spec_encode(&s, buf, size, &len), 0);
    for (size_t cut = 0; cut < len; cut++)
        ASSERT_EQ(jq_spec_decode(buf, cut, &back), JQ_ECORRUPT);
    buf[0] ^= 1;
    ASSERT_EQ(jq_spec_decode(buf, len, &back), JQ_ECORRUPT);
    jq_job_spec_cleanup(&s);
    free(buf);
}

/* A policy out of its caps is a corrupt encoding. */
static void spec_decode_rejects_bad_policy(void)
{
    static const struct {
        int32_t max_attempts, item;
        int64_t backoff_ms, backoff_max_ms;
    } t[] = {
        {-1, 3, 0, 0}, {JQ_MAX_ATTEMPTS + 1, 3, 0, 0}, {3, 0, 0, 0}, {3, 256, 0, 0}, {3, -3, 0, 0},
        {3, 3, -1, 0}, {3, 3, JQ_MAX_BACKOFF_MS + 1, 0}, {3, 3, 0, JQ_MAX_BACKOFF_MAX_MS + 1},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct jq_job_spec s, back;
        make_spec(&s);
        s.retry.max_attempts = t[i].max_attempts;
        s.retry.retry_on[0] = t[i].item;
        s.retry.backoff_ms = t[i].backoff_ms;
        s.retry.backoff_max_ms = t[i].backoff_max_ms;
        size_t size = jq_spec_encoded_size(&s), len = 0;
        char *buf = malloc(size);
        ASSERT_EQ(jq_spec_encode(&s, buf, size, &len), 0);
        if (jq_spec_decode(buf, len, &back) != JQ_ECORRUPT)
            JQ_FAIL_AT(__FILE__, __LINE__, "case %zu decoded", i);
        jq_job_spec_cleanup(&s);
        free(buf);
    }
    struct jq_job_spec s, back;
    make_spec(&s);
    s.limits.nofile = -1; /* a negative limit is corrupt too */
    size_t size = jq_spec_encoded_size(&s), n = 0;
    char *buf = malloc(size);
    ASSERT_EQ(jq_spec_encode(&s, buf, size, &n), 0);
    ASSERT_EQ(jq_spec_decode(buf, n, &back), JQ_ECORRUPT);
    free(buf);
    s.retry.retry_on_n = JQ_MAX_RETRY_ON + 1;
    char small[8];
    size_t len;
    ASSERT_EQ(jq_spec_encode(&s, small, sizeof(small), &len), JQ_EINVAL);
    jq_job_spec_cleanup(&s);
}

/* A version 1 encoding (stored before retries) reads with the defaults. */
static void spec_decodes_version_1(void)
{
    size_t len = 0;
    unsigned char *blob = spec_v1_blob("echo", "old", 4, &len);
    struct jq_job_spec back;
    ASSERT_TRUE(blob != NULL);
    ASSERT_EQ(jq_spec_decode(blob, len, &back), 0);
    ASSERT_EQ(back.argc, 2);
    ASSERT_STREQ(back.argv[1], "old");
    ASSERT_STREQ(back.cwd, "/tmp");
    ASSERT_TRUE(back.stdin_data == NULL);
    ASSERT_EQ(back.timeout_ms, 1234);
    ASSERT_EQ(back.priority, 4);
    ASSERT_EQ(back.retry.max_attempts, 1);
    ASSERT_TRUE(!back.retry.on_lost_retry);
    ASSERT_EQ(back.retry.retry_on_n, 0);
    ASSERT_EQ(back.retry.backoff_ms, JQ_DEFAULT_BACKOFF_MS);
    ASSERT_EQ(back.retry.backoff_max_ms, JQ_DEFAULT_BACKOFF_MAX_MS);
    ASSERT_EQ(back.limits.cpu_s, 0); /* no limits of its own: the server's ceilings */
    ASSERT_EQ(back.limits.procs, 0);
    ASSERT_TRUE(!back.no_network);
    jq_job_spec_cleanup(&back);
    for (size_t cut = 0; cut < len; cut++)
        ASSERT_EQ(jq_spec_decode(blob, cut, &back), JQ_ECORRUPT);
    blob[4] = 4; /* version 4 does not exist */
    ASSERT_EQ(jq_spec_decode(blob, len, &back), JQ_ECORRUPT);
    free(blob);
}

/* ---- the retry decision ---- */

static struct jq_retry_policy policy(int32_t max, bool on_lost_retry, int32_t a, int32_t b, int64_t backoff,
                                     int64_t backoff_max)
{
    struct jq_retry_policy p;
    memset(&p, 0, sizeof(p));
    p.max_attempts = max;
    p.on_lost_retry = on_lost_retry;
    if (a)
        p.retry_on[p.retry_on_n++] = a;
    if (b)
        p.retry_on[p.retry_on_n++] = b;
    p.backoff_ms = backoff;
    p.backoff_max_ms = backoff_max;
    return p;
}

static void retry_decision_table(void)
{
    const int T = JQ_RETRY_ON_TIMEOUT, L = JQ_RETRY_ON_LOST;
    static const int64_t B = 1000, M = 60000;
    const struct {
        struct jq_retry_policy p;
        int32_t attempt;
        enum jq_job_state state;
        int exit_code;
        bool master_gone;
        bool retry;
        enum jq_job_state want;
    } t[] = {
        /* exit codes: only listed ones, only while attempts remain */
        {policy(3, false, 3, 0, B, M), 1, JQ_STATE_FAILED, 3, false, true, JQ_STATE_RETRY_WAIT},
        {policy(3, false, 3, 0, B, M), 2, JQ_STATE_FAILED, 3, false, true, JQ_STATE_RETRY_WAIT},
        {policy(3, false, 3, 0, B, M), 3, JQ_STATE_FAILED, 3, false, false, JQ_STATE_FAILED},
        {policy(3, false, 3, 0, B, M), 1, JQ_STATE_FAILED, 4, false, false, JQ_STATE_FAILED},
        {policy(3, false, 3, 0, B, M), 1, JQ_STATE_FAILED, -1, false, false, JQ_STATE_FAILED},
        {policy(3, false, 3, 0, 0, M), 1, JQ_STATE_FAILED, 3, false, true, JQ_STATE_QUEUED},
        /* timeout */
        {policy(3, false, T, 0, B, M), 1, JQ_STATE_TIMED_OUT, -1, false, true, JQ_STATE_RETRY_WAIT},
        {policy(3, false, 3, 0, B, M), 1, JQ_STATE_TIMED_OUT, -1, false, false, JQ_STATE_TIMED_OUT},
        {policy(3, false, T, 0, B, M), 1, JQ_STATE_FAILED, 1, false, false, JQ_STATE_FAILED},
        /* lost: on_lost retry or "lost" listed; a master crash retries at once */
        {policy(3, true, 0, 0, B, M), 1, JQ_STATE_LOST, -1, false, true, JQ_STATE_RETRY_WAIT},
        {policy(3, false, L, 0, B, M), 1, JQ_STATE_LOST, -1, false, true, JQ_STATE_RETRY_WAIT},
        {policy(3, true, 0, 0, B, M), 1, JQ_STATE_LOST, -1, true, true, JQ_STATE_QUEUED},
        {policy(3, true, 0, 0, B, M), 3, JQ_STATE_LOST, -1, true, false, JQ_STATE_LOST},
        {policy(3, false, 3, T, B, M), 1, JQ_STATE_LOST, -1, true, false, JQ_STATE_LOST},
        {policy(1, true, 0, 0, B, M), 1, JQ_STATE_LOST, -1, true, false, JQ_STATE_LOST},
        /* success and cancel are final whatever the policy */
        {policy(5, true, 3, L, B, M), 1, JQ_STATE_SUCCEEDED, 0, false, false, JQ_STATE_SUCCEEDED},
        {policy(5, true, 3, L, B, M), 1, JQ_STATE_CANCELLED, 3, false, false, JQ_STATE_CANCELLED},
        /* a zeroed policy is one attempt */
        {policy(0, true, 3, 0, B, M), 1, JQ_STATE_FAILED, 3, false, false, JQ_STATE_FAILED},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct jq_retry_decision d;
        jq_retry_decide(&t[i].p, t[i].attempt, t[i].state, t[i].exit_code, t[i].master_gone, 12345, &d);
        if (d.retry != t[i].retry || d.state != t[i].want)
            JQ_FAIL_AT(__FILE__, __LINE__, "case %zu: retry %d state %s", i, d.retry, jq_state_name(d.state));
        if (d.state == JQ_STATE_RETRY_WAIT ? d.delay_ms <= 0 : d.delay_ms != 0)
            JQ_FAIL_AT(__FILE__, __LINE__, "case %zu: delay %lld", i, (long long)d.delay_ms);
    }
}

/* d = min(max, backoff * 2^(k-1)); the delay is in [d/2, d] for any random
 * value, and the extremes are reached. */
static void retry_backoff_bounds(void)
{
    static const struct {
        int64_t backoff, max;
        int32_t attempt;
        int64_t d;
    } t[] = {
        {1000, 60000, 1, 1000}, {1000, 60000, 2, 2000}, {1000, 60000, 3, 4000}, {1000, 60000, 6, 32000},
        {1000, 60000, 7, 60000}, {1000, 60000, 99, 60000}, {1000, 500, 1, 500}, {0, 60000, 5, 0},
        {JQ_MAX_BACKOFF_MS, JQ_MAX_BACKOFF_MAX_MS, JQ_MAX_ATTEMPTS, JQ_MAX_BACKOFF_MAX_MS}, {3, 100, 1, 3},
    };
    static const uint64_t rnd[] = {0, 1, 2, 7, 12345, 0x7fffffffffffffffull, UINT64_MAX};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct jq_retry_policy p = policy(JQ_MAX_ATTEMPTS, false, 3, 0, t[i].backoff, t[i].max);
        int64_t lo = t[i].d / 2, hi = t[i].d, seen_lo = INT64_MAX, seen_hi = -1;
        for (size_t r = 0; r < sizeof(rnd) / sizeof(rnd[0]); r++) {
            int64_t v = jq_retry_backoff_ms(&p, t[i].attempt, rnd[r]);
            if (v < lo || v > hi)
                JQ_FAIL_AT(__FILE__, __LINE__, "case %zu rnd %zu: %lld not in [%lld, %lld]", i, r, (long long)v,
                           (long long)lo, (long long)hi);
        }
        for (uint64_t r = 0; r <= (uint64_t)(hi - lo) && r < 5000; r++) {
            int64_t v = jq_retry_backoff_ms(&p, t[i].attempt, r);
            seen_lo = v < seen_lo ? v : seen_lo;
            seen_hi = v > seen_hi ? v : seen_hi;
        }
        ASSERT_EQ(seen_lo, lo);
        if (hi - lo < 5000)
            ASSERT_EQ(seen_hi, hi);
    }
}

static void retry_policy_defaults(void)
{
    struct jq_retry_policy p;
    jq_retry_policy_default(&p);
    ASSERT_EQ(p.max_attempts, 1);
    ASSERT_TRUE(!p.on_lost_retry && p.retry_on_n == 0);
    ASSERT_EQ(p.backoff_ms, 1000);
    ASSERT_EQ(p.backoff_max_ms, 60000);
    ASSERT_TRUE(jq_retry_policy_valid(&p));
    memset(&p, 0, sizeof(p));
    ASSERT_EQ(jq_retry_max_attempts(&p), 1);
    ASSERT_TRUE(jq_retry_policy_valid(&p));
}

static void err_names(void)
{
    ASSERT_STREQ(jq_err_name(JQ_ENOTFOUND), "ENOTFOUND");
    ASSERT_STREQ(jq_err_name(12345), "EUNKNOWN");
}

static void expect_hex(const unsigned char *digest, const char *want)
{
    char hex[2 * JQ_SHA256_BYTES + 1];
    jq_hex(digest, JQ_SHA256_BYTES, hex);
    ASSERT_STREQ(hex, want);
}

/* FIPS 180-4 examples, one fed in odd-sized pieces across block edges. */
static void sha256_vectors(void)
{
    unsigned char d[JQ_SHA256_BYTES];
    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    jq_sha256("", 0, d);
    expect_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    jq_sha256("abc", 3, d);
    expect_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    jq_sha256(two_blocks, strlen(two_blocks), d);
    expect_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    struct jq_sha256 c;
    char a[1001];
    memset(a, 'a', sizeof(a));
    jq_sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        jq_sha256_update(&c, a, i % 2 ? 999 : 1001); /* a million in all */
    jq_sha256_final(&c, d);
    expect_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than a block). */
static void hmac_sha256_rfc4231(void)
{
    unsigned char d[JQ_SHA256_BYTES], key[131];
    memset(key, 0x0b, 20);
    jq_hmac_sha256(key, 20, "Hi There", 8, d);
    expect_hex(d, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    jq_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    expect_hex(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof(key));
    static const char msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    jq_hmac_sha256(key, sizeof(key), msg, strlen(msg), d);
    expect_hex(d, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void queue_names(void)
{
    ASSERT_TRUE(jq_queue_name_ok("default") && jq_queue_name_ok("a.b-c_D9"));
    char long_name[66];
    memset(long_name, 'q', 65);
    long_name[65] = '\0';
    ASSERT_TRUE(!jq_queue_name_ok(long_name));
    long_name[64] = '\0';
    ASSERT_TRUE(jq_queue_name_ok(long_name));
    ASSERT_TRUE(!jq_queue_name_ok("") && !jq_queue_name_ok("a b") && !jq_queue_name_ok("a/b") &&
                !jq_queue_name_ok("\xc3\xa9"));
    struct jq_job_spec spec;
    jq_job_spec_init(&spec);
    ASSERT_STREQ(jq_job_queue_name(&spec), "default");
    ASSERT_TRUE(!jq_state_is_terminal(JQ_STATE_SCHEDULED) && jq_state_is_terminal(JQ_STATE_EXPIRED));
    ASSERT_EQ(JQ_STATE_SCHEDULED, 8); /* stored in the database */
    ASSERT_EQ(JQ_STATE_EXPIRED, 9);
}

/* Epoch ms of a UTC time. */
static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) * 1000;
}

static void expect_next(const char *expr, int64_t after, int64_t want)
{
    struct jq_cron c;
    char msg[160];
    int64_t got = -1;
    if (jq_cron_parse(expr, &c, msg, sizeof(msg)) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s: %s", expr, msg);
    ASSERT_EQ(jq_cron_next(&c, after, &got), 0);
    if (got != want)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s after %lld: got %lld, want %lld", expr, (long long)after,
                   (long long)got, (long long)want);
}

static void cron_parse_fields(void)
{
    struct jq_cron c;
    char msg[160];
    ASSERT_EQ(jq_cron_parse("*/15 0,12 1-5 jan-mar,Dec sun,6", &c, msg, sizeof(msg)), 0);
    ASSERT_EQ(c.minutes, (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
    ASSERT_EQ(c.hours, (1u << 0) | (1u << 12));
    ASSERT_EQ(c.mdays, 0x3eu);
    ASSERT_EQ(c.months, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12));
    ASSERT_EQ(c.wdays, (1u << 0) | (1u << 6));
    ASSERT_TRUE(!c.mday_any && !c.wday_any);
    ASSERT_EQ(jq_cron_parse("  5/20 * * * 7 ", &c, msg, sizeof(msg)), 0);
    ASSERT_EQ(c.minutes, (1ull << 5) | (1ull << 25) | (1ull << 45));
    ASSERT_EQ(c.wdays, 1u); /* 7 is Sunday */
    ASSERT_TRUE(c.mday_any && !c.wday_any);
    ASSERT_EQ(jq_cron_parse("10-20/5 * * * 1-5", &c, msg, sizeof(msg)), 0);
    ASSERT_EQ(c.minutes, (1ull << 10) | (1ull << 15) | (1ull << 20));
    ASSERT_EQ(c.wdays, 0x3eu);
    static const char *const bad[] = {
        "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *", "* * * 13 *",
        "* * * * 8", "5-1 * * * *", "*/0 * * * *", "*/ * * * *", "a * * * *", "1,,2 * * * *", "1- * * * *",
        "* * * janx *", "-1 * * * *", "0001 * * * *", "* * * * mon-", "*/61 * * * *",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (jq_cron_parse(bad[i], &c, msg, sizeof(msg)) != JQ_EINVAL)
            JQ_FAIL_AT(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
        ASSERT_TRUE(msg[0] != '\0');
    }
}

static void cron_next_times(void)
{
    int64_t t = utc_ms(2026, 11, 23, 7, 0) + 30000; /* Mon 07:00:30 */
    expect_next("* * * * *", t, utc_ms(2026, 11, 23, 7, 1));
    expect_next("* * * * *", utc_ms(2026, 11, 23, 7, 1), utc_ms(2026, 11, 23, 7, 2)); /* strictly after */
    expect_next("*/15 * * * *", t, utc_ms(2026, 11, 23, 7, 15));
    expect_next("0 9-17 * * mon-fri", t, utc_ms(2026, 11, 23, 9, 0));
    expect_next("0 0 * * *", t, utc_ms(2026, 11, 24, 0, 0));
    expect_next("59 23 31 12 *", t, utc_ms(2026, 12, 31, 23, 59));
    expect_next("0 0 1 jan *", t, utc_ms(2027, 1, 1, 0, 0));
    expect_next("0 12 29 feb *", t, utc_ms(2028, 2, 29, 12, 0));      /* the next leap year */
    expect_next("30 6 * * sun", t, utc_ms(2026, 11, 29, 6, 30));
    /* Both day fields restricted: the 1st of the month or any Friday. */
    expect_next("0 0 1 * fri", t, utc_ms(2026, 11, 27, 0, 0));
    expect_next("0 0 1 * fri", utc_ms(2026, 11, 28, 0, 0), utc_ms(2026, 12, 1, 0, 0));
    /* A star-step day of week still means "any" for the OR rule. */
    expect_next("0 0 13 * */1", t, utc_ms(2026, 12, 13, 0, 0));
    struct jq_cron c;
    char msg[160];
    int64_t got;
    ASSERT_EQ(jq_cron_parse("0 0 30 feb *", &c, msg, sizeof(msg)), 0);
    ASSERT_EQ(jq_cron_next(&c, t, &got), JQ_ENOTFOUND);
}

static const struct jq_test_case cases[] = {
    {"cron_parse_fields", cron_parse_fields},
    {"cron_next_times", cron_next_times},
    {"sha256_vectors", sha256_vectors},
    {"hmac_sha256_rfc4231", hmac_sha256_rfc4231},
    {"queue_names", queue_names},
    {"state_names", state_names},
    {"spec_roundtrip", spec_roundtrip},
    {"spec_decode_rejects_garbage", spec_decode_rejects_garbage},
    {"err_names", err_names},
    {"spec_decode_rejects_bad_policy", spec_decode_rejects_bad_policy},
    {"spec_decodes_version_1", spec_decodes_version_1},
    {"retry_decision_table", retry_decision_table},
    {"retry_backoff_bounds", retry_backoff_bounds},
    {"retry_policy_defaults", retry_policy_defaults},
};
JQ_TEST_MAIN(cases)
