/* test_job_json.c: unit tests of api/job_json.c and its helpers — strict
 * parsing of POST /v1/jobs bodies (valid jobs, defaults, batches and every
 * hostile input of TEST-MATRIX H2-H6) and rendering of jobs as docs/api.md
 * shows them (exact text, so key order and every value are checked). */
#include <signal.h>
#include <stdarg.h>

#include "base64.h"
#include "job_json.h"
#include "jq_limits.h"
#include "json_strict.h"
#include "testlib.h"
#include "utf8.h"

static const struct jq_job_policy policy = {
    .default_timeout_ms = 60000,
    .max_timeout_ms = 86400000,
    .default_kill_grace_ms = 2000,
    .max_output_bytes = 1048576,
};

/* ---- helpers ---------------------------------------------------------- */

/* A growing heap string for generated bodies. */
struct sb {
    char *p;
    size_t len, cap;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ASSERT_TRUE(b->p != NULL);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_repeat(struct sb *b, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        sb_puts(b, s);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    ASSERT_TRUE(n >= 0 && (size_t)n < sizeof(tmp));
    sb_add(b, tmp, (size_t)n);
}

static enum jq_json_error parse_len(const char *body, size_t len, struct jq_submission *sub, char *msg,
                                    size_t msg_size)
{
    return jq_json_parse_submission(body, len, &policy, sub, msg, msg_size);
}

/* Parse a body that must be accepted as one job. */
static void parse_one(const char *body, struct jq_submission *sub)
{
    char msg[256];
    enum jq_json_error err = parse_len(body, strlen(body), sub, msg, sizeof(msg));

    if (err != JQ_JSON_OK)
        JQ_FAIL_AT(__FILE__, __LINE__, "rejected (%d: %s): %s", (int)err, msg, body);
    ASSERT_EQ(sub->n, 1);
    ASSERT_TRUE(!sub->is_batch);
}

struct reject {
    const char *body;
    size_t len;          /* 0: strlen(body) */
    enum jq_json_error want;
    const char *msg_has; /* a substring the message must contain */
};

/* Every body must be rejected with its code and message, and leave
 * nothing allocated. */
static void expect_reject(const char *body, size_t len, enum jq_json_error want, const char *msg_has, int line)
{
    struct jq_submission sub;
    char msg[512];
    enum jq_json_error err;

    memset(&sub, 0xA5, sizeof(sub));
    err = parse_len(body, len, &sub, msg, sizeof(msg));
    if (err != want || !strstr(msg, msg_has))
        JQ_FAIL_AT(__FILE__, line, "body %.80s%s: got %d \"%s\", want %d containing \"%s\"", body,
                   len > 80 ? "..." : "", (int)err, msg, (int)want, msg_has);
    if (sub.specs != NULL || sub.n != 0 || sub.is_batch)
        JQ_FAIL_AT(__FILE__, line, "body %.80s: output not empty after an error", body);
}

static void expect_rejects(const struct reject *t, size_t n, int line)
{
    for (size_t i = 0; i < n; i++)
        expect_reject(t[i].body, t[i].len ? t[i].len : strlen(t[i].body), t[i].want, t[i].msg_has, line);
}

#define EXPECT_REJECTS(table) expect_rejects(table, sizeof(table) / sizeof(table[0]), __LINE__)
#define EXPECT_REJECT(body, want, has) expect_reject(body, strlen(body), want, has, __LINE__)

/* ---- accepted bodies -------------------------------------------------- */

static void parse_minimal(void)
{
    struct jq_submission sub;

    parse_one("{\"command\":[\"true\"]}", &sub);
    struct jq_job_spec *s = &sub.specs[0];
    ASSERT_EQ(s->argc, 1);
    ASSERT_STREQ(s->argv[0], "true");
    ASSERT_TRUE(s->argv[1] == NULL);
    ASSERT_TRUE(s->env == NULL);
    ASSERT_EQ(s->envc, 0);
    ASSERT_TRUE(s->cwd == NULL);
    ASSERT_TRUE(s->stdin_data == NULL);
    ASSERT_EQ(s->stdin_len, 0);
    ASSERT_EQ(s->timeout_ms, 60000);
    ASSERT_EQ(s->kill_grace_ms, 2000);
    ASSERT_EQ(s->max_output_bytes, 1048576);
    ASSERT_EQ(s->priority, 0);
    jq_submission_cleanup(&sub);
    ASSERT_TRUE(sub.specs == NULL);
    ASSERT_EQ(sub.n, 0);
}

static void parse_full(void)
{
    struct jq_submission sub;
    const char *body = " \r\n\t{\"command\": [\"sh\", \"-c\", \"echo \\\"$A\\\"\", \"\", \"caf\xC3\xA9\","
                       " \"\\ud83d\\ude00\\/\\\\\\b\\f\\n\\r\\t\\u00e9\"],\n"
                       " \"stdin\": \"line1\\nline2\", \"env\": {\"A\": \"1\", \"b_2\": \"x=y z\", \"_\": \"\"},"
                       " \"cwd\": \"/srv/job dir\", \"timeout_ms\": 86400000, \"kill_grace_ms\": 0,"
                       " \"max_output_bytes\": 0, \"priority\": -1000} \n";

    parse_one(body, &sub);
    struct jq_job_spec *s = &sub.specs[0];
    ASSERT_EQ(s->argc, 6);
    ASSERT_STREQ(s->argv[0], "sh");
    ASSERT_STREQ(s->argv[1], "-c");
    ASSERT_STREQ(s->argv[2], "echo \"$A\"");
    ASSERT_STREQ(s->argv[3], "");
    ASSERT_STREQ(s->argv[4], "caf\xC3\xA9");
    ASSERT_STREQ(s->argv[5], "\xF0\x9F\x98\x80/\\\b\f\n\r\t\xC3\xA9");
    ASSERT_TRUE(s->argv[6] == NULL);
    ASSERT_EQ(s->envc, 3);
    ASSERT_STREQ(s->env[0], "A=1");
    ASSERT_STREQ(s->env[1], "b_2=x=y z");
    ASSERT_STREQ(s->env[2], "_=");
    ASSERT_TRUE(s->env[3] == NULL);
    ASSERT_STREQ(s->cwd, "/srv/job dir");
    ASSERT_EQ(s->stdin_len, 11);
    ASSERT_TRUE(memcmp(s->stdin_data, "line1\nline2", 11) == 0);
    ASSERT_EQ(s->timeout_ms, 86400000);
    ASSERT_EQ(s->kill_grace_ms, 0);
    ASSERT_EQ(s->max_output_bytes, 0);
    ASSERT_EQ(s->priority, -1000);
    jq_submission_cleanup(&sub);
}

static void parse_defaults_follow_policy(void)
{
    const struct jq_job_policy p2 = { 1234, 5000, 77, 4096, {0, 0, 0, 0, 0}, false, false };
    struct jq_submission sub;
    char msg[256];
    const char *body = "{\"command\":[\"/bin/echo\",\"x\"],\"stdin\":\"\",\"env\":{}}";

    ASSERT_EQ(jq_json_parse_submission(body, strlen(body), &p2, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(sub.specs[0].timeout_ms, 1234);
    ASSERT_EQ(sub.specs[0].kill_grace_ms, 77);
    ASSERT_EQ(sub.specs[0].max_output_bytes, 4096);
    ASSERT_TRUE(sub.specs[0].stdin_data == NULL); /* "" is empty stdin */
    ASSERT_EQ(sub.specs[0].envc, 0);
    jq_submission_cleanup(&sub);

    /* The policy's ceilings, not the compiled defaults, decide 422. */
    body = "{\"command\":[\"x\"],\"timeout_ms\":5001}";
    ASSERT_EQ(jq_json_parse_submission(body, strlen(body), &p2, &sub, msg, sizeof(msg)), JQ_JSON_OUT_OF_RANGE);
    ASSERT_TRUE(strstr(msg, "timeout_ms must be at most 5000") != NULL);
    body = "{\"command\":[\"x\"],\"max_output_bytes\":4097}";
    ASSERT_EQ(jq_json_parse_submission(body, strlen(body), &p2, &sub, msg, sizeof(msg)), JQ_JSON_OUT_OF_RANGE);
    ASSERT_TRUE(strstr(msg, "max_output_bytes must be at most 4096") != NULL);
    body = "{\"command\":[\"x\"],\"timeout_ms\":5000,\"max_output_bytes\":4096}";
    ASSERT_EQ(jq_json_parse_submission(body, strlen(body), &p2, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    jq_submission_cleanup(&sub);
}

static void parse_integer_forms(void)
{
    static const struct {
        const char *body;
        int64_t timeout, priority;
    } t[] = {
        { "{\"command\":[\"x\"],\"timeout_ms\":1e3}", 1000, 0 },
        { "{\"command\":[\"x\"],\"timeout_ms\":1E+3}", 1000, 0 },
        { "{\"command\":[\"x\"],\"timeout_ms\":1000.0}", 1000, 0 },
        { "{\"command\":[\"x\"],\"timeout_ms\":250e-1}", 25, 0 },
        { "{\"command\":[\"x\"],\"timeout_ms\":1,\"priority\":-0}", 1, 0 },
        { "{\"command\":[\"x\"],\"timeout_ms\":2,\"priority\":1000}", 2, 1000 },
        { "{\"command\":[\"x\"],\"timeout_ms\":3,\"priority\":-1e3}", 3, -1000 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct jq_submission sub;
        parse_one(t[i].body, &sub);
        ASSERT_EQ(sub.specs[0].timeout_ms, t[i].timeout);
        ASSERT_EQ(sub.specs[0].priority, t[i].priority);
        jq_submission_cleanup(&sub);
    }
}

static void parse_batch_order(void)
{
    struct jq_submission sub;
    char msg[256];
    const char *body = "{\"jobs\":[{\"command\":[\"a\"]},{\"command\":[\"b\"],\"priority\":5},"
                       "{\"timeout_ms\":7,\"command\":[\"c\",\"d\"]}]}";

    ASSERT_EQ(parse_len(body, strlen(body), &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_TRUE(sub.is_batch);
    ASSERT_EQ(sub.n, 3);
    ASSERT_STREQ(sub.specs[0].argv[0], "a");
    ASSERT_STREQ(sub.specs[1].argv[0], "b");
    ASSERT_STREQ(sub.specs[2].argv[0], "c");
    ASSERT_STREQ(sub.specs[2].argv[1], "d");
    ASSERT_EQ(sub.specs[0].priority, 0);
    ASSERT_EQ(sub.specs[1].priority, 5);
    ASSERT_EQ(sub.specs[0].timeout_ms, 60000);
    ASSERT_EQ(sub.specs[2].timeout_ms, 7);
    jq_submission_cleanup(&sub);

    /* A batch of one is still a batch. */
    body = "{\"jobs\":[{\"command\":[\"a\"]}]}";
    ASSERT_EQ(parse_len(body, strlen(body), &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_TRUE(sub.is_batch);
    ASSERT_EQ(sub.n, 1);
    jq_submission_cleanup(&sub);
}

/* The cap itself is accepted: 10000 jobs, 4096 arguments. */
static void parse_at_caps(void)
{
    struct jq_submission sub;
    struct sb b = { 0 };
    char msg[256];

    sb_puts(&b, "{\"jobs\":[");
    for (int i = 0; i < JQ_MAX_BATCH_JOBS; i++)
        sb_printf(&b, "%s{\"command\":[\"j%d\"]}", i ? "," : "", i);
    sb_puts(&b, "]}");
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(sub.n, JQ_MAX_BATCH_JOBS);
    ASSERT_STREQ(sub.specs[JQ_MAX_BATCH_JOBS - 1].argv[0], "j9999");
    jq_submission_cleanup(&sub);

    b.len = 0;
    sb_puts(&b, "{\"command\":[\"x\"");
    sb_repeat(&b, ",\"y\"", JQ_MAX_ARGC - 1);
    sb_puts(&b, "]}");
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(sub.specs[0].argc, JQ_MAX_ARGC);
    ASSERT_TRUE(sub.specs[0].argv[JQ_MAX_ARGC] == NULL);
    jq_submission_cleanup(&sub);
    free(b.p);
}

static void parse_surrogate_pair(void)
{
    struct jq_submission sub;

    parse_one("{\"command\":[\"\\ud83d\\ude00\",\"\\uD83D\\uDE00x\",\"\\u20ac\"],"
              "\"env\":{\"E\":\"\\udbff\\udfff\"}}",
              &sub);
    ASSERT_STREQ(sub.specs[0].argv[0], "\xF0\x9F\x98\x80");
    ASSERT_STREQ(sub.specs[0].argv[1], "\xF0\x9F\x98\x80x");
    ASSERT_STREQ(sub.specs[0].argv[2], "\xE2\x82\xAC");
    ASSERT_STREQ(sub.specs[0].env[0], "E=\xF4\x8F\xBF\xBF"); /* U+10FFFF */
    jq_submission_cleanup(&sub);
}

/* ---- rejected bodies -------------------------------------------------- */

static void reject_malformed(void)
{
    static const struct reject t[] = {
        { "{\"command\":[\"true\"]", 0, JQ_JSON_MALFORMED, "malformed JSON" },
        { "{\"command\":[\"tr", 0, JQ_JSON_MALFORMED, "unterminated string" },
        { "{\"command\":[\"true\"]} x", 0, JQ_JSON_MALFORMED, "after the JSON value" },
        { "{\"command\":[\"true\"]}{}", 0, JQ_JSON_MALFORMED, "after the JSON value" },
        { "{\"command\":[\"true\"]}\n\x01", 0, JQ_JSON_MALFORMED, "after the JSON value" },
        { "{/* c */\"command\":[\"true\"]}", 0, JQ_JSON_MALFORMED, "byte 1:" },
        { "{\"command\":[\"true\"]} // c", 0, JQ_JSON_MALFORMED, "after the JSON value" },
        { "{\"command\":[\"true\"],\"timeout_ms\":NaN}", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "{\"command\":[\"true\"],\"timeout_ms\":Infinity}", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "{\"command\":[\"true\"],\"timeout_ms\":-Infinity}", 0, JQ_JSON_MALFORMED, "bad number" },
        { "{'command':['true']}", 0, JQ_JSON_MALFORMED, "expected a string key" },
        { "{\"command\":['true']}", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "\xEF\xBB\xBF{\"command\":[\"true\"]}", 0, JQ_JSON_MALFORMED, "byte order mark" },
        { "", 0, JQ_JSON_MALFORMED, "empty body" },
        { " \t\r\n ", 0, JQ_JSON_MALFORMED, "empty body" },
        { "\f{\"command\":[\"true\"]}", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "[{\"command\":[\"true\"]}]", 0, JQ_JSON_MALFORMED, "body must be a JSON object" },
        { "\"command\"", 0, JQ_JSON_MALFORMED, "body must be a JSON object" },
        { "42", 0, JQ_JSON_MALFORMED, "body must be a JSON object" },
        { "null", 0, JQ_JSON_MALFORMED, "body must be a JSON object" },
        { "nul", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "{\"command\":[\"true\"],}", 0, JQ_JSON_MALFORMED, "expected a string key" },
        { "{\"command\":[\"true\",]}", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "{\"command\" [\"true\"]}", 0, JQ_JSON_MALFORMED, "expected ':'" },
        { "{\"command\":[\"true\"] \"priority\":1}", 0, JQ_JSON_MALFORMED, "expected ',' or '}'" },
        { "{\"command\":[\"a\" \"b\"]}", 0, JQ_JSON_MALFORMED, "expected ',' or ']'" },
        { "{command:[\"true\"]}", 0, JQ_JSON_MALFORMED, "expected a string key" },
        { "{\"command\":[\"true\"],\"timeout_ms\":01}", 0, JQ_JSON_MALFORMED, "expected ',' or '}'" },
        { "{\"command\":[\"true\"],\"timeout_ms\":+1}", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "{\"command\":[\"true\"],\"timeout_ms\":1.}", 0, JQ_JSON_MALFORMED, "bad number" },
        { "{\"command\":[\"true\"],\"timeout_ms\":.5}", 0, JQ_JSON_MALFORMED, "unexpected character" },
        { "{\"command\":[\"true\"],\"timeout_ms\":1e}", 0, JQ_JSON_MALFORMED, "bad number" },
        { "{\"command\":[\"true\"],\"timeout_ms\":0x10}", 0, JQ_JSON_MALFORMED, "expected ',' or '}'" },
        { "{\"command\":[\"true\"],\"timeout_ms\":1000000000000000000000000000000000000000001}", 0,
          JQ_JSON_MALFORMED, "number too long" },
        { "{\"command\":[\"a\tb\"]}", 0, JQ_JSON_MALFORMED, "control character in string" },
        { "{\"command\":[\"a\nb\"]}", 0, JQ_JSON_MALFORMED, "control character in string" },
        { "{\"command\":[\"a\\xb\"]}", 0, JQ_JSON_MALFORMED, "bad escape" },
        { "{\"command\":[\"a\\'b\"]}", 0, JQ_JSON_MALFORMED, "bad escape" },
        { "{\"command\":[\"\\u12\"]}", 0, JQ_JSON_MALFORMED, "bad \\u escape" },
        { "{\"command\":[\"\\u12G4\"]}", 0, JQ_JSON_MALFORMED, "bad \\u escape" },
        { "{\"command\":[\"true\"],\"x\":True}", 0, JQ_JSON_MALFORMED, "unexpected character" },
    };
    EXPECT_REJECTS(t);
}

static void reject_encoding(void)
{
    static const struct reject t[] = {
        { "{\"command\":[\"tr\0ue\"]}", 21, JQ_JSON_MALFORMED, "at byte 15: NUL byte" },
        { "{\"command\":[\"true\"]}\0", 21, JQ_JSON_MALFORMED, "NUL byte" },
        { "{\"command\":[\"a\\u0000b\"]}", 0, JQ_JSON_MALFORMED, "\\u0000 is not allowed" },
        { "{\"command\":[\"a\"],\"env\":{\"A\":\"\\u0000\"}}", 0, JQ_JSON_MALFORMED, "\\u0000" },
        { "{\"command\":[\"a\"],\"env\":{\"A\\u0000B\":\"x\"}}", 0, JQ_JSON_MALFORMED, "\\u0000" },
        { "{\"command\":[\"a\"],\"stdin\":\"x\\u0000\"}", 0, JQ_JSON_MALFORMED, "\\u0000" },
        { "{\"command\":[\"\xFF\"]}", 0, JQ_JSON_MALFORMED, "at byte 13: invalid UTF-8" },
        { "{\"command\":[\"\xC0\xAF\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" },     /* overlong '/' */
        { "{\"command\":[\"\xE0\x80\xAF\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" }, /* overlong, 3 bytes */
        { "{\"command\":[\"\xF0\x80\x80\xAF\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" },
        { "{\"command\":[\"\xED\xA0\x80\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" }, /* U+D800 */
        { "{\"command\":[\"\xED\xBF\xBF\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" }, /* U+DFFF */
        { "{\"command\":[\"\xF4\x90\x80\x80\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" }, /* > U+10FFFF */
        { "{\"command\":[\"\xF5\x80\x80\x80\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" },
        { "{\"command\":[\"\xE2\x82\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" }, /* truncated */
        { "{\"command\":[\"x\"]}\xE2\x82", 0, JQ_JSON_MALFORMED, "invalid UTF-8" },  /* truncated at end */
        { "{\"command\":[\"\x80\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" },     /* stray continuation */
        { "{\"command\":[\"\xC3\"]}", 0, JQ_JSON_MALFORMED, "invalid UTF-8" },
        { "{\"command\":[\"\\ud800\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
        { "{\"command\":[\"\\uDBFF\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
        { "{\"command\":[\"\\udc00\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
        { "{\"command\":[\"\\ud800\\u0041\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
        { "{\"command\":[\"\\ud800\\ud800\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
        { "{\"command\":[\"\\ude00\\ud83d\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
        { "{\"command\":[\"\\ud83dx\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
        { "{\"command\":[\"\\ud83d\\\"]}", 0, JQ_JSON_MALFORMED, "unpaired surrogate" },
    };
    EXPECT_REJECTS(t);
}

static void nest(struct sb *b, const char *open, const char *close, size_t depth)
{
    b->len = 0;
    sb_repeat(b, open, depth);
    sb_repeat(b, close, depth);
}

static void reject_deep_nesting(void)
{
    struct sb b = { 0 };
    static const size_t depths[] = { 9, 999, 1001, 100000 };

    for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        nest(&b, "[", "]", depths[i]);
        expect_reject(b.p, b.len, JQ_JSON_MALFORMED, "at byte 8: nesting too deep", __LINE__);
        nest(&b, "{\"a\":", "}", depths[i]);
        expect_reject(b.p, b.len, JQ_JSON_MALFORMED, "nesting too deep", __LINE__);
        /* Unclosed: the depth check fires before the missing ends matter. */
        nest(&b, "[", "", depths[i]);
        expect_reject(b.p, b.len, JQ_JSON_MALFORMED, "nesting too deep", __LINE__);
    }
    /* 8 levels is syntax the parser accepts; the field is then wrong. */
    EXPECT_REJECT("{\"command\":[[[[[[[\"x\"]]]]]]]}", JQ_JSON_INVALID_FIELD, "command[0] must be a string");
    EXPECT_REJECT("{\"command\":[[[[[[[[\"x\"]]]]]]]]}", JQ_JSON_MALFORMED, "nesting too deep");
    /* Depth 4 inside a batch is fine syntax too. */
    EXPECT_REJECT("{\"jobs\":[{\"env\":{\"A\":[]}}]}", JQ_JSON_INVALID_FIELD, "jobs[0].env.A must be a string");
    free(b.p);
}

static void reject_command(void)
{
    static const struct reject t[] = {
        { "{}", 0, JQ_JSON_MISSING_FIELD, "command is required" },
        { "{\"priority\":1}", 0, JQ_JSON_MISSING_FIELD, "command is required" },
        { "{\"command\":\"true\"}", 0, JQ_JSON_INVALID_FIELD, "command must be an array of 1 to 4096 strings" },
        { "{\"command\":{\"0\":\"true\"}}", 0, JQ_JSON_INVALID_FIELD, "command must be an array" },
        { "{\"command\":null}", 0, JQ_JSON_INVALID_FIELD, "command must be an array" },
        { "{\"command\":[]}", 0, JQ_JSON_INVALID_FIELD, "command must be an array of 1 to 4096" },
        { "{\"command\":[\"a\",1]}", 0, JQ_JSON_INVALID_FIELD, "command[1] must be a string" },
        { "{\"command\":[\"a\",\"b\",null]}", 0, JQ_JSON_INVALID_FIELD, "command[2] must be a string" },
        { "{\"command\":[true]}", 0, JQ_JSON_INVALID_FIELD, "command[0] must be a string" },
        { "{\"command\":[\"\"]}", 0, JQ_JSON_INVALID_FIELD, "command[0] must not be empty" },
        { "{\"command\":[\"\",\"x\"]}", 0, JQ_JSON_INVALID_FIELD, "command[0] must not be empty" },
        { "{\"command\":[\"a\"],\"command\":[\"b\"]}", 0, JQ_JSON_INVALID_FIELD, "command: duplicate field" },
    };
    struct sb b = { 0 };

    EXPECT_REJECTS(t);
    sb_puts(&b, "{\"command\":[\"x\"");
    sb_repeat(&b, ",\"y\"", JQ_MAX_ARGC);
    sb_puts(&b, "]}");
    expect_reject(b.p, b.len, JQ_JSON_INVALID_FIELD, "command must be an array of 1 to 4096", __LINE__);

    /* 256 KiB of argv in all, NULs counted: 2 strings of 128 KiB - 1 fit... */
    b.len = 0;
    sb_puts(&b, "{\"command\":[\"");
    sb_repeat(&b, "a", JQ_MAX_ARGV_BYTES / 2 - 1);
    sb_puts(&b, "\",\"");
    sb_repeat(&b, "b", JQ_MAX_ARGV_BYTES / 2 - 1);
    sb_puts(&b, "\"]}");
    struct jq_submission sub;
    char msg[256];
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    jq_submission_cleanup(&sub);
    /* ...one byte more does not. */
    b.len -= 3;
    sb_puts(&b, "b\"]}");
    expect_reject(b.p, b.len, JQ_JSON_INVALID_FIELD, "command is larger than 262144 bytes", __LINE__);
    free(b.p);
}

static void reject_integers(void)
{
    static const struct reject t[] = {
        { "{\"command\":[\"x\"],\"timeout_ms\":\"5000\"}", 0, JQ_JSON_INVALID_FIELD,
          "timeout_ms must be an integer between 1 and 86400000" },
        { "{\"command\":[\"x\"],\"timeout_ms\":true}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":null}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":[1]}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":1.5}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":1000.001}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be" },
        { "{\"command\":[\"x\"],\"timeout_ms\":-1}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":0}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":-0}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":1e-3}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be" },
        { "{\"command\":[\"x\"],\"timeout_ms\":1e400}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be an integer" },
        { "{\"command\":[\"x\"],\"timeout_ms\":-1e400}", 0, JQ_JSON_INVALID_FIELD, "timeout_ms must be" },
        { "{\"command\":[\"x\"],\"timeout_ms\":3e9}", 0, JQ_JSON_OUT_OF_RANGE,
          "timeout_ms must be at most 86400000 on this server" },
        { "{\"command\":[\"x\"],\"timeout_ms\":86400001}", 0, JQ_JSON_OUT_OF_RANGE, "timeout_ms must be at most" },
        { "{\"command\":[\"x\"],\"timeout_ms\":9007199254740993}", 0, JQ_JSON_OUT_OF_RANGE, "timeout_ms" },
        { "{\"command\":[\"x\"],\"timeout_ms\":1e300}", 0, JQ_JSON_OUT_OF_RANGE, "timeout_ms" },
        { "{\"command\":[\"x\"],\"kill_grace_ms\":-1}", 0, JQ_JSON_INVALID_FIELD,
          "kill_grace_ms must be an integer between 0 and 60000" },
        { "{\"command\":[\"x\"],\"kill_grace_ms\":60001}", 0, JQ_JSON_INVALID_FIELD, "kill_grace_ms must be" },
        { "{\"command\":[\"x\"],\"kill_grace_ms\":\"1\"}", 0, JQ_JSON_INVALID_FIELD, "kill_grace_ms must be" },
        { "{\"command\":[\"x\"],\"max_output_bytes\":-1}", 0, JQ_JSON_INVALID_FIELD,
          "max_output_bytes must be an integer between 0 and 1048576" },
        { "{\"command\":[\"x\"],\"max_output_bytes\":1048577}", 0, JQ_JSON_OUT_OF_RANGE,
          "max_output_bytes must be at most 1048576" },
        { "{\"command\":[\"x\"],\"max_output_bytes\":false}", 0, JQ_JSON_INVALID_FIELD, "max_output_bytes" },
        { "{\"command\":[\"x\"],\"priority\":1001}", 0, JQ_JSON_INVALID_FIELD,
          "priority must be an integer between -1000 and 1000" },
        { "{\"command\":[\"x\"],\"priority\":-1001}", 0, JQ_JSON_INVALID_FIELD, "priority must be" },
        { "{\"command\":[\"x\"],\"priority\":0.5}", 0, JQ_JSON_INVALID_FIELD, "priority must be" },
        { "{\"command\":[\"x\"],\"priority\":\"high\"}", 0, JQ_JSON_INVALID_FIELD, "priority must be" },
    };
    EXPECT_REJECTS(t);
}

static void reject_fields(void)
{
    static const struct reject t[] = {
        { "{\"command\":[\"x\"],\"timout\":5}", 0, JQ_JSON_UNKNOWN_FIELD, "timout: unknown field" },
        { "{\"timout\":5,\"command\":[\"x\"]}", 0, JQ_JSON_UNKNOWN_FIELD, "timout: unknown field" },
        { "{\"argv\":[\"x\"]}", 0, JQ_JSON_UNKNOWN_FIELD, "argv: unknown field" },
        { "{\"Command\":[\"x\"]}", 0, JQ_JSON_UNKNOWN_FIELD, "Command: unknown field" },
        { "{\"command\":[\"x\"],\"\":1}", 0, JQ_JSON_UNKNOWN_FIELD, ": unknown field" },
        { "{\"command\":[\"x\"],\"timeout_ms\":5,\"timeout_ms\":5}", 0, JQ_JSON_INVALID_FIELD,
          "timeout_ms: duplicate field" },
        { "{\"argv\":1,\"argv\":2}", 0, JQ_JSON_UNKNOWN_FIELD, "argv: unknown field" },
        { "{\"command\":[\"x\"],\"cwd\":\"/a\",\"cwd\":\"/b\"}", 0, JQ_JSON_INVALID_FIELD, "cwd: duplicate field" },
        { "{\"command\":[\"x\"],\"env\":{},\"env\":{}}", 0, JQ_JSON_INVALID_FIELD, "env: duplicate field" },
    };
    EXPECT_REJECTS(t);

    /* A long unknown name is cut in the message, never inside a UTF-8
     * sequence: 63 ASCII bytes then a 2-byte character across byte 64. */
    struct sb b = { 0 };
    char msg[512];
    struct jq_submission sub;
    sb_puts(&b, "{\"");
    sb_repeat(&b, "k", 63);
    sb_repeat(&b, "\xC3\xA9", 20);
    sb_puts(&b, "\":1}");
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_UNKNOWN_FIELD);
    ASSERT_EQ(jq_utf8_check(msg, strlen(msg)), strlen(msg));
    ASSERT_TRUE(strstr(msg, "kkk: unknown field") != NULL);
    free(b.p);
}

static void reject_env(void)
{
    static const struct reject t[] = {
        { "{\"command\":[\"x\"],\"env\":{\"PATH\":\"/evil\"}}", 0, JQ_JSON_INVALID_FIELD, "env.PATH may not be set" },
        { "{\"command\":[\"x\"],\"env\":{\"A\":\"1\",\"PATH\":\"\"}}", 0, JQ_JSON_INVALID_FIELD, "env.PATH" },
        { "{\"command\":[\"x\"],\"env\":{\"1A\":\"x\"}}", 0, JQ_JSON_INVALID_FIELD,
          "env name \"1A\" must match [A-Za-z_][A-Za-z0-9_]*" },
        { "{\"command\":[\"x\"],\"env\":{\"A-B\":\"x\"}}", 0, JQ_JSON_INVALID_FIELD, "env name \"A-B\"" },
        { "{\"command\":[\"x\"],\"env\":{\"A=B\":\"x\"}}", 0, JQ_JSON_INVALID_FIELD, "env name \"A=B\"" },
        { "{\"command\":[\"x\"],\"env\":{\"\":\"x\"}}", 0, JQ_JSON_INVALID_FIELD, "env name \"\"" },
        { "{\"command\":[\"x\"],\"env\":{\"\xC3\x89T\xC3\x89\":\"x\"}}", 0, JQ_JSON_INVALID_FIELD, "env name" },
        { "{\"command\":[\"x\"],\"env\":{\"A B\":\"x\"}}", 0, JQ_JSON_INVALID_FIELD, "env name" },
        { "{\"command\":[\"x\"],\"env\":{\"A\":1}}", 0, JQ_JSON_INVALID_FIELD, "env.A must be a string" },
        { "{\"command\":[\"x\"],\"env\":{\"A\":null}}", 0, JQ_JSON_INVALID_FIELD, "env.A must be a string" },
        { "{\"command\":[\"x\"],\"env\":{\"A\":{}}}", 0, JQ_JSON_INVALID_FIELD, "env.A must be a string" },
        { "{\"command\":[\"x\"],\"env\":[\"A=1\"]}", 0, JQ_JSON_INVALID_FIELD, "env must be an object of strings" },
        { "{\"command\":[\"x\"],\"env\":\"A=1\"}", 0, JQ_JSON_INVALID_FIELD, "env must be an object" },
        { "{\"command\":[\"x\"],\"env\":{\"A\":\"1\",\"A\":\"2\"}}", 0, JQ_JSON_INVALID_FIELD,
          "env has a duplicate name \"A\"" },
        { "{\"command\":[\"x\"],\"env\":{\"B\":\"\",\"A\":\"1\",\"C\":\"\",\"A\":\"2\"}}", 0, JQ_JSON_INVALID_FIELD,
          "env has a duplicate name \"A\"" },
    };
    struct sb b = { 0 };

    EXPECT_REJECTS(t);
    struct jq_submission sub;
    char msg[256];
    const char *ok = "{\"command\":[\"x\"],\"env\":{\"a\":\"1\",\"A\":\"2\"}}"; /* names are case-sensitive */
    ASSERT_EQ(parse_len(ok, strlen(ok), &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(sub.specs[0].envc, 2);
    jq_submission_cleanup(&sub);

    /* 1024 entries fit, 1025 do not. */
    sb_puts(&b, "{\"command\":[\"x\"],\"env\":{\"V0\":\"\"");
    for (int i = 1; i < JQ_MAX_ENVC; i++)
        sb_printf(&b, ",\"V%d\":\"\"", i);
    sb_puts(&b, "}}");
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(sub.specs[0].envc, JQ_MAX_ENVC);
    ASSERT_STREQ(sub.specs[0].env[JQ_MAX_ENVC - 1], "V1023=");
    jq_submission_cleanup(&sub);
    b.len -= 2;
    sb_puts(&b, ",\"V1024\":\"\"}}");
    expect_reject(b.p, b.len, JQ_JSON_INVALID_FIELD, "env has more than 1024 entries", __LINE__);

    /* Bytes: one value of 256 KiB is too much. */
    b.len = 0;
    sb_puts(&b, "{\"command\":[\"x\"],\"env\":{\"A\":\"");
    sb_repeat(&b, "v", JQ_MAX_ENV_BYTES - 2); /* "A=" + value + NUL = cap + 1 */
    sb_puts(&b, "\"}}");
    expect_reject(b.p, b.len, JQ_JSON_INVALID_FIELD, "env is larger than 262144 bytes", __LINE__);
    b.len -= 4;
    sb_puts(&b, "\"}}");
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(strlen(sub.specs[0].env[0]) + 1, JQ_MAX_ENV_BYTES);
    jq_submission_cleanup(&sub);
    free(b.p);
}

/* Names that make a program load or run other code: refused, the name in
 * the message; look-alikes and harmless neighbours pass (docs/security.md). */
static void reject_dangerous_env(void)
{
    static const char *const denied[] = {
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_BIND_NOW", "LD_", "GCONV_PATH", "GLIBC_TUNABLES",
        "HOSTALIASES", "LOCPATH", "MALLOC_CHECK_", "MALLOC_ARENA_MAX", "NLSPATH", "RES_OPTIONS", "TZDIR",
        "BASH_ENV", "ENV", "BASH_FUNC_f", "SHELLOPTS", "BASHOPTS", "PS4", "IFS", "PYTHONPATH",
        "PYTHONSTARTUP", "PYTHONHOME", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS",
        "JAVA_TOOL_OPTIONS", "LUA_INIT_5_4", "OPENSSL_CONF",
    };
    static const char *const allowed[] = {
        "ld_preload", "XLD_PRELOAD", "LD", "TMPDIR", "TZ", "HOME", "LANG", "LC_ALL", "ENVIRONMENT", "ENV_",
        "PS1", "IFS_", "PYTHONUNBUFFERED", "PYTHONIOENCODING", "NODE_ENV", "MALLOC", "BASH_FUNC",
    };
    char body[256], want[128];
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        snprintf(body, sizeof body, "{\"command\":[\"x\"],\"env\":{\"A\":\"1\",\"%s\":\"v\"}}", denied[i]);
        snprintf(want, sizeof want, "env.%s may not be set: ", denied[i]);
        EXPECT_REJECT(body, JQ_JSON_INVALID_FIELD, want);
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        struct jq_submission sub;
        char msg[256];
        snprintf(body, sizeof body, "{\"command\":[\"x\"],\"env\":{\"%s\":\"v\"}}", allowed[i]);
        if (parse_len(body, strlen(body), &sub, msg, sizeof msg) != JQ_JSON_OK)
            JQ_FAIL_AT(__FILE__, __LINE__, "%s refused: %s", allowed[i], msg);
        jq_submission_cleanup(&sub);
    }
    /* In a batch, the message names the job too. */
    EXPECT_REJECT("{\"jobs\":[{\"command\":[\"x\"]},{\"command\":[\"x\"],\"env\":{\"LD_PRELOAD\":\"/x.so\"}}]}",
                  JQ_JSON_INVALID_FIELD, "jobs[1].env.LD_PRELOAD may not be set");
}

static void reject_cwd_stdin(void)
{
    static const struct reject t[] = {
        { "{\"command\":[\"x\"],\"cwd\":\"tmp\"}", 0, JQ_JSON_INVALID_FIELD,
          "cwd must be an absolute path of at most 4096 bytes" },
        { "{\"command\":[\"x\"],\"cwd\":\"./tmp\"}", 0, JQ_JSON_INVALID_FIELD, "cwd must be an absolute path" },
        { "{\"command\":[\"x\"],\"cwd\":\"\"}", 0, JQ_JSON_INVALID_FIELD, "cwd must be an absolute path" },
        { "{\"command\":[\"x\"],\"cwd\":1}", 0, JQ_JSON_INVALID_FIELD, "cwd must be an absolute path" },
        { "{\"command\":[\"x\"],\"cwd\":null}", 0, JQ_JSON_INVALID_FIELD, "cwd must be an absolute path" },
        { "{\"command\":[\"x\"],\"stdin\":5}", 0, JQ_JSON_INVALID_FIELD, "stdin must be a string" },
        { "{\"command\":[\"x\"],\"stdin\":[\"a\"]}", 0, JQ_JSON_INVALID_FIELD, "stdin must be a string" },
    };
    struct sb b = { 0 };
    struct jq_submission sub;
    char msg[256];

    EXPECT_REJECTS(t);
    sb_puts(&b, "{\"command\":[\"x\"],\"cwd\":\"/");
    sb_repeat(&b, "d", JQ_MAX_CWD_BYTES - 1);
    sb_puts(&b, "\"}");
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(strlen(sub.specs[0].cwd), JQ_MAX_CWD_BYTES);
    jq_submission_cleanup(&sub);
    b.len -= 2;
    sb_puts(&b, "d\"}");
    expect_reject(b.p, b.len, JQ_JSON_INVALID_FIELD, "cwd must be an absolute path", __LINE__);

    /* stdin: exactly 1 MiB is fine (escapes count as the bytes they make),
     * one byte more is not. */
    b.len = 0;
    sb_puts(&b, "{\"command\":[\"x\"],\"stdin\":\"\\n");
    sb_repeat(&b, "s", JQ_MAX_STDIN_BYTES - 1);
    sb_puts(&b, "\"}");
    ASSERT_EQ(parse_len(b.p, b.len, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(sub.specs[0].stdin_len, JQ_MAX_STDIN_BYTES);
    ASSERT_EQ(sub.specs[0].stdin_data[0], '\n');
    ASSERT_EQ(sub.specs[0].stdin_data[JQ_MAX_STDIN_BYTES - 1], 's');
    jq_submission_cleanup(&sub);
    b.len -= 2;
    sb_puts(&b, "s\"}");
    expect_reject(b.p, b.len, JQ_JSON_INVALID_FIELD, "stdin is larger than 1048576 bytes", __LINE__);
    free(b.p);
}

static void reject_batch(void)
{
    static const struct reject t[] = {
        { "{\"jobs\":[{\"command\":[\"a\"]},{\"command\":[]}]}", 0, JQ_JSON_INVALID_FIELD,
          "jobs[1].command must be an array" },
        { "{\"jobs\":[{\"command\":[\"a\"]},{\"command\":[\"b\"],\"timeout_ms\":1.5}]}", 0, JQ_JSON_INVALID_FIELD,
          "jobs[1].timeout_ms must be an integer between 1 and 86400000" },
        { "{\"jobs\":[{\"command\":[\"a\"]},{\"command\":[\"b\"]},{\"command\":[\"c\"],\"timeout_ms\":3e9}]}", 0,
          JQ_JSON_OUT_OF_RANGE, "jobs[2].timeout_ms must be at most" },
        { "{\"jobs\":[{\"command\":[\"a\"]},{\"timout\":1}]}", 0, JQ_JSON_UNKNOWN_FIELD, "jobs[1].timout: unknown" },
        { "{\"jobs\":[{\"command\":[\"a\"]},{}]}", 0, JQ_JSON_MISSING_FIELD, "jobs[1].command is required" },
        { "{\"jobs\":[{\"command\":[\"a\",\"\\u0000\"]}]}", 0, JQ_JSON_MALFORMED, "\\u0000" },
        { "{\"jobs\":[{\"command\":[\"a\"]},[\"b\"]]}", 0, JQ_JSON_INVALID_FIELD, "jobs[1] must be an object" },
        { "{\"jobs\":[null]}", 0, JQ_JSON_INVALID_FIELD, "jobs[0] must be an object" },
        { "{\"jobs\":[]}", 0, JQ_JSON_INVALID_FIELD, "jobs must be an array of 1 to 10000 jobs" },
        { "{\"jobs\":{}}", 0, JQ_JSON_INVALID_FIELD, "jobs must be an array" },
        { "{\"jobs\":null}", 0, JQ_JSON_INVALID_FIELD, "jobs must be an array" },
        { "{\"jobs\":[{\"command\":[\"a\"]}],\"command\":[\"b\"]}", 0, JQ_JSON_UNKNOWN_FIELD,
          "command: unknown field (a batch holds only \"jobs\")" },
        { "{\"command\":[\"b\"],\"jobs\":[{\"command\":[\"a\"]}]}", 0, JQ_JSON_UNKNOWN_FIELD, "command: unknown" },
        { "{\"priority\":1,\"jobs\":[]}", 0, JQ_JSON_UNKNOWN_FIELD, "priority: unknown" },
        { "{\"jobs\":[{\"command\":[\"a\"]}],\"jobs\":[{\"command\":[\"a\"]}]}", 0, JQ_JSON_INVALID_FIELD,
          "jobs: duplicate field" },
        { "{\"jobs\":[{\"jobs\":[{\"command\":[\"a\"]}]}]}", 0, JQ_JSON_UNKNOWN_FIELD, "jobs[0].jobs: unknown" },
    };
    struct sb b = { 0 };

    EXPECT_REJECTS(t);
    sb_puts(&b, "{\"jobs\":[");
    for (int i = 0; i <= JQ_MAX_BATCH_JOBS; i++)
        sb_puts(&b, i ? ",{\"command\":[\"x\"]}" : "{\"command\":[\"x\"]}");
    sb_puts(&b, "]}");
    expect_reject(b.p, b.len, JQ_JSON_INVALID_FIELD, "jobs must be an array of 1 to 10000 jobs", __LINE__);
    free(b.p);
}

/* Value count cap: a flat array of a million and one numbers is refused by
 * the syntax check, before cJSON builds anything. */
static void reject_too_many_values(void)
{
    struct sb b = { 0 };

    sb_puts(&b, "{\"command\":[0");
    sb_repeat(&b, ",0", JQ_JSON_MAX_VALUES);
    sb_puts(&b, "]}");
    expect_reject(b.p, b.len, JQ_JSON_MALFORMED, "too many values", __LINE__);
    free(b.p);
}

/* The message buffer is respected at any size (even 0 and 1). */
static void small_message_buffer(void)
{
    struct jq_submission sub;
    char msg[8];
    const char *body = "{\"jobs\":[{\"command\":[\"a\"]},{\"timeout_ms\":0,\"command\":[\"a\"]}]}";

    memset(msg, 'Z', sizeof(msg));
    ASSERT_EQ(jq_json_parse_submission(body, strlen(body), &policy, &sub, msg, 5), JQ_JSON_INVALID_FIELD);
    ASSERT_STREQ(msg, "jobs");
    ASSERT_EQ(msg[5], 'Z');
    ASSERT_EQ(jq_json_parse_submission(body, strlen(body), &policy, &sub, msg, 1), JQ_JSON_INVALID_FIELD);
    ASSERT_EQ(msg[0], '\0');
    ASSERT_EQ(jq_json_parse_submission("x", 1, &policy, &sub, NULL, 0), JQ_JSON_MALFORMED);
    ASSERT_EQ(jq_json_parse_submission(body, strlen(body), &policy, &sub, NULL, 0), JQ_JSON_INVALID_FIELD);
}

/* The body need not be NUL-terminated: the bytes after len are ignored. */
static void body_not_nul_terminated(void)
{
    struct jq_submission sub;
    char msg[256];
    const char *text = "{\"command\":[\"true\"]}";
    size_t n = strlen(text);
    char *body = malloc(n); /* exactly n bytes: ASan catches any read past them */

    ASSERT_TRUE(body != NULL);
    memcpy(body, text, n);
    ASSERT_EQ(parse_len(body, n, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    jq_submission_cleanup(&sub);
    for (size_t len = 0; len < n; len++) /* every truncation is malformed */
        expect_reject(body, len, JQ_JSON_MALFORMED, "malformed JSON", __LINE__);
    free(body);

    static const char tail[] = "{\"command\":[\"x\"]} ";
    body = malloc(sizeof(tail) - 1);
    ASSERT_TRUE(body != NULL);
    memcpy(body, tail, sizeof(tail) - 1);
    ASSERT_EQ(parse_len(body, sizeof(tail) - 1, &sub, msg, sizeof(msg)), JQ_JSON_OK);
    jq_submission_cleanup(&sub);
    free(body);
}

/* ---- helpers of the renderer ------------------------------------------ */

static void base64_vectors(void)
{
    static const struct {
        const char *in, *out;
    } t[] = { /* RFC 4648 section 10 */
              { "", "" },         { "f", "Zg==" },        { "fo", "Zm8=" },        { "foo", "Zm9v" },
              { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
    char buf[64];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ASSERT_EQ(jq_base64_encoded_len(strlen(t[i].in)), strlen(t[i].out));
        jq_base64_encode(t[i].in, strlen(t[i].in), buf);
        ASSERT_STREQ(buf, t[i].out);
    }
    jq_base64_encode("\xFF\xFE\xFD\x00\x01", 5, buf);
    ASSERT_STREQ(buf, "//79AAE=");
}

static void utf8_rules(void)
{
    ASSERT_TRUE(jq_utf8_is_text("", 0));
    ASSERT_TRUE(jq_utf8_is_text("a\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", 19));
    ASSERT_TRUE(!jq_utf8_is_text("a\0b", 3));
    ASSERT_EQ(jq_utf8_check("ab\xC1\xBF", 4), 2);
    ASSERT_EQ(jq_utf8_check("ab\xE0\x9F\xBF", 5), 2);
    ASSERT_EQ(jq_utf8_check("\xED\x9F\xBF\xED\xA0\x80", 6), 3);
    ASSERT_EQ(jq_utf8_check("\xF0\x8F\xBF\xBF", 4), 0);
    ASSERT_EQ(jq_utf8_check("\xF4\x90\x80\x80", 4), 0);
    ASSERT_EQ(jq_utf8_check("\xE2\x82\xAC\xE2\x82", 5), 3);
    ASSERT_EQ(jq_utf8_check("\xE2\x28\xA1", 3), 0);

    char *s = jq_utf8_sanitize("a\xFF" "b\0c\xE2\x82", 7);
    ASSERT_STREQ(s, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD");
    free(s);
}

static void format_time(void)
{
    char buf[32];

    jq_json_format_time(1795417200123, buf, sizeof(buf)); /* date -u -d @1795417200.123 */
    ASSERT_STREQ(buf, "2026-11-23T07:00:00.123Z");
    jq_json_format_time(1, buf, sizeof(buf));
    ASSERT_STREQ(buf, "1970-01-01T00:00:00.001Z");
    jq_json_format_time(951782400000, buf, sizeof(buf)); /* a leap day */
    ASSERT_STREQ(buf, "2000-02-29T00:00:00.000Z");
    jq_json_format_time(-1, buf, sizeof(buf));
    ASSERT_STREQ(buf, "1969-12-31T23:59:59.999Z");
    jq_json_format_time(253402300799999, buf, 25); /* the exact documented size */
    ASSERT_STREQ(buf, "9999-12-31T23:59:59.999Z");
    memset(buf, 'Z', sizeof(buf));
    jq_json_format_time(1795417200123, buf, 11);
    ASSERT_STREQ(buf, "2026-11-23");
    ASSERT_EQ(buf[11], 'Z');
}

/* ---- rendering -------------------------------------------------------- */

static char *dupstr(const char *s)
{
    char *d = strdup(s);
    ASSERT_TRUE(d != NULL);
    return d;
}

static void set_output(struct jq_output *o, const char *data, size_t len, uint64_t total)
{
    o->data = NULL;
    if (len) {
        o->data = malloc(len + 1);
        ASSERT_TRUE(o->data != NULL);
        memcpy(o->data, data, len);
        o->data[len] = '\0';
    }
    o->len = len;
    o->total_bytes = total;
    o->truncated = total > len;
}

/* The job of docs/api.md's example, finished. */
static void make_finished(struct jq_job *job)
{
    jq_job_init(job);
    job->id = 1;
    job->state = JQ_STATE_FAILED;
    job->spec.argc = 3;
    job->spec.argv = calloc(4, sizeof(char *));
    ASSERT_TRUE(job->spec.argv != NULL);
    job->spec.argv[0] = dupstr("sh");
    job->spec.argv[1] = dupstr("-c");
    job->spec.argv[2] = dupstr("echo hi; echo oops >&2; exit 3");
    job->spec.timeout_ms = 2000;
    job->spec.kill_grace_ms = 2000;
    job->spec.max_output_bytes = 1048576;
    job->created_at_ms = 1795417200123;
    job->attempt = 1;
    job->result.state = JQ_STATE_FAILED;
    job->result.exit_code = 3;
    job->result.started_at_ms = 1795417200125;
    job->result.finished_at_ms = 1795417200130;
    set_output(&job->result.out, "hi\n", 3, 3);
    set_output(&job->result.err, "oops\n", 5, 5);
    job->result.duration_ms = 2;
    job->result.cpu_sys_ms = 1;
    job->result.max_rss_kb = 1024;
    job->result.worker_pid = 4242;
}

static void expect_json(const struct jq_job *job, bool with_output, const char *want, int line)
{
    cJSON *o = jq_json_from_job(job, with_output);
    char *text;

    if (!o)
        JQ_FAIL_AT(__FILE__, line, "jq_json_from_job returned NULL");
    text = cJSON_PrintUnformatted(o);
    if (!text || strcmp(text, want) != 0)
        JQ_FAIL_AT(__FILE__, line, "\n got: %s\nwant: %s", text ? text : "(null)", want);
    free(text);
    cJSON_Delete(o);
}

static void render_finished(void)
{
    struct jq_job job;

    make_finished(&job);
    expect_json(&job, true,
                "{\"id\":1,\"state\":\"failed\",\"command\":[\"sh\",\"-c\",\"echo hi; echo oops >&2; exit 3\"],"
                "\"env\":{},\"cwd\":null,\"stdin_bytes\":0,\"timeout_ms\":2000,\"kill_grace_ms\":2000,"
                "\"max_output_bytes\":1048576,\"priority\":0,\"queue\":\"default\",\"run_at\":null,\"start_by\":null,\"max_attempts\":1,\"on_lost\":\"fail\",\"retry_on\":[],\"backoff_ms\":0,\"backoff_max_ms\":0,\"limits\":{\"cpu_s\":null,\"memory_bytes\":null,\"procs\":null,\"nofile\":null,\"fsize_bytes\":null},\"network\":true,\"created_at\":\"2026-11-23T07:00:00.123Z\","
                "\"started_at\":\"2026-11-23T07:00:00.125Z\",\"finished_at\":\"2026-11-23T07:00:00.130Z\","
                "\"attempt\":1,\"next_attempt_at\":null,\"exit_code\":3,\"signal\":null,\"signal_name\":null,\"core_dumped\":false,"
                "\"kill_reason\":null,\"limit\":null,\"error\":null,\"cancel_requested\":false,"
                "\"stdout\":\"hi\\n\",\"stdout_bytes\":3,\"stdout_truncated\":false,"
                "\"stderr\":\"oops\\n\",\"stderr_bytes\":5,\"stderr_truncated\":false,"
                "\"duration_ms\":2,\"cpu_user_ms\":0,\"cpu_sys_ms\":1,\"max_rss_kb\":1024,\"worker_pid\":4242,\"attempts\":[],\"callback\":null}",
                __LINE__);
    /* Lists leave the output out but keep its counts. */
    expect_json(&job, false,
                "{\"id\":1,\"state\":\"failed\",\"command\":[\"sh\",\"-c\",\"echo hi; echo oops >&2; exit 3\"],"
                "\"env\":{},\"cwd\":null,\"stdin_bytes\":0,\"timeout_ms\":2000,\"kill_grace_ms\":2000,"
                "\"max_output_bytes\":1048576,\"priority\":0,\"queue\":\"default\",\"run_at\":null,\"start_by\":null,\"max_attempts\":1,\"on_lost\":\"fail\",\"retry_on\":[],\"backoff_ms\":0,\"backoff_max_ms\":0,\"limits\":{\"cpu_s\":null,\"memory_bytes\":null,\"procs\":null,\"nofile\":null,\"fsize_bytes\":null},\"network\":true,\"created_at\":\"2026-11-23T07:00:00.123Z\","
                "\"started_at\":\"2026-11-23T07:00:00.125Z\",\"finished_at\":\"2026-11-23T07:00:00.130Z\","
                "\"attempt\":1,\"next_attempt_at\":null,\"exit_code\":3,\"signal\":null,\"signal_name\":null,\"core_dumped\":false,"
                "\"kill_reason\":null,\"limit\":null,\"error\":null,\"cancel_requested\":false,"
                "\"stdout_bytes\":3,\"stdout_truncated\":false,\"stderr_bytes\":5,\"stderr_truncated\":false,"
                "\"duration_ms\":2,\"cpu_user_ms\":0,\"cpu_sys_ms\":1,\"max_rss_kb\":1024,\"worker_pid\":4242}",
                __LINE__);
    jq_job_cleanup(&job);
}

/* Every field set: env, cwd, stdin, UTF-8 and truncated output, error. */
static void render_utf8_and_spec(void)
{
    struct jq_job job;

    make_finished(&job);
    job.id = INT64_MAX; /* beyond a double's precision, still exact */
    job.state = JQ_STATE_SUCCEEDED;
    job.result.exit_code = 0;
    job.spec.envc = 2;
    job.spec.env = calloc(3, sizeof(char *));
    ASSERT_TRUE(job.spec.env != NULL);
    job.spec.env[0] = dupstr("LANG=C.UTF-8");
    job.spec.env[1] = dupstr("EQ=a=b");
    job.spec.cwd = dupstr("/tmp");
    job.spec.stdin_data = dupstr("input");
    job.spec.stdin_len = 5;
    job.spec.priority = -7;
    job.cancel_requested = true;
    job.result.error = dupstr("exec: \"quoted\"");
    free(job.result.out.data);
    set_output(&job.result.out, "caf\xC3\xA9 \xF0\x9F\x98\x80\t", 11, 5000);
    expect_json(&job, true,
                "{\"id\":9223372036854775807,\"state\":\"succeeded\","
                "\"command\":[\"sh\",\"-c\",\"echo hi; echo oops >&2; exit 3\"],"
                "\"env\":{\"LANG\":\"C.UTF-8\",\"EQ\":\"a=b\"},\"cwd\":\"/tmp\",\"stdin_bytes\":5,"
                "\"timeout_ms\":2000,\"kill_grace_ms\":2000,"
                "\"max_output_bytes\":1048576,\"priority\":-7,\"queue\":\"default\",\"run_at\":null,\"start_by\":null,\"max_attempts\":1,\"on_lost\":\"fail\",\"retry_on\":[],\"backoff_ms\":0,\"backoff_max_ms\":0,\"limits\":{\"cpu_s\":null,\"memory_bytes\":null,\"procs\":null,\"nofile\":null,\"fsize_bytes\":null},\"network\":true,\"created_at\":\"2026-11-23T07:00:00.123Z\","
                "\"started_at\":\"2026-11-23T07:00:00.125Z\",\"finished_at\":\"2026-11-23T07:00:00.130Z\","
                "\"attempt\":1,\"next_attempt_at\":null,\"exit_code\":0,\"signal\":null,\"signal_name\":null,\"core_dumped\":false,"
                "\"kill_reason\":null,\"limit\":null,\"error\":\"exec: \\\"quoted\\\"\",\"cancel_requested\":true,"
                "\"stdout\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\\t\",\"stdout_bytes\":5000,\"stdout_truncated\":true,"
                "\"stderr\":\"oops\\n\",\"stderr_bytes\":5,\"stderr_truncated\":false,"
                "\"duration_ms\":2,\"cpu_user_ms\":0,\"cpu_sys_ms\":1,\"max_rss_kb\":1024,\"worker_pid\":4242,\"attempts\":[],\"callback\":null}",
                __LINE__);
    jq_job_cleanup(&job);
}

/* The output part of the JSON text, from "stdout" up to "duration_ms". */
static char *output_part(const struct jq_job *job)
{
    cJSON *o = jq_json_from_job(job, true);
    char *text, *from, *to, *part;

    ASSERT_TRUE(o != NULL);
    text = cJSON_PrintUnformatted(o);
    ASSERT_TRUE(text != NULL);
    from = strstr(text, "\"stdout\"");
    to = strstr(text, ",\"duration_ms\"");
    ASSERT_TRUE(from && to && to > from);
    part = strndup(from, (size_t)(to - from));
    free(text);
    cJSON_Delete(o);
    return part;
}

static void render_binary_output(void)
{
    static const struct {
        const char *data;
        size_t len;
        const char *want; /* the text from "stdout" to "stdout_bytes" */
    } t[] = {
        { "\xFF", 1, "\"stdout\":null,\"stdout_base64\":\"/w==\"," },
        { "\xFF\xFE", 2, "\"stdout\":null,\"stdout_base64\":\"//4=\"," },
        { "\xFF\xFE\xFD", 3, "\"stdout\":null,\"stdout_base64\":\"//79\"," },
        { "\xFF\xFE\xFD\xFC", 4, "\"stdout\":null,\"stdout_base64\":\"//79/A==\"," },
        { "a\0b", 3, "\"stdout\":null,\"stdout_base64\":\"YQBi\"," },
        { "\xC0\xAF", 2, "\"stdout\":null,\"stdout_base64\":\"wK8=\"," },
        { "\xED\xA0\x80", 3, "\"stdout\":null,\"stdout_base64\":\"7aCA\"," },
        { "ok\xE2\x82", 4, "\"stdout\":null,\"stdout_base64\":\"b2vigg==\"," },
        { "", 0, "\"stdout\":\"\"," },
        { "\x01\x1F\x7F", 3, "\"stdout\":\"\\u0001\\u001f\x7F\"," },
    };
    char want[512];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct jq_job job;
        make_finished(&job);
        free(job.result.out.data);
        set_output(&job.result.out, t[i].data, t[i].len, t[i].len);
        char *part = output_part(&job);
        snprintf(want, sizeof(want),
                 "%s\"stdout_bytes\":%zu,\"stdout_truncated\":false,"
                 "\"stderr\":\"oops\\n\",\"stderr_bytes\":5,\"stderr_truncated\":false",
                 t[i].want, t[i].len);
        if (strcmp(part, want) != 0)
            JQ_FAIL_AT(__FILE__, __LINE__, "case %zu\n got: %s\nwant: %s", i, part, want);
        free(part);
        jq_job_cleanup(&job);
    }

    /* stderr the same way; a truncated stream counts every byte written. */
    struct jq_job job;
    make_finished(&job);
    free(job.result.err.data);
    set_output(&job.result.err, "\x80", 1, 70000);
    char *part = output_part(&job);
    ASSERT_STREQ(part, "\"stdout\":\"hi\\n\",\"stdout_bytes\":3,\"stdout_truncated\":false,"
                       "\"stderr\":null,\"stderr_base64\":\"gA==\",\"stderr_bytes\":70000,\"stderr_truncated\":true");
    free(part);
    jq_job_cleanup(&job);
}

static void render_queued(void)
{
    struct jq_job job;
    static const char want[] =
        "{\"id\":5,\"state\":\"queued\",\"command\":[\"true\"],\"env\":{\"A\":\"1\"},\"cwd\":null,"
        "\"stdin_bytes\":0,\"timeout_ms\":60000,\"kill_grace_ms\":2000,\"max_output_bytes\":1048576,"
        "\"priority\":3,\"queue\":\"default\",\"run_at\":null,\"start_by\":null,\"max_attempts\":1,\"on_lost\":\"fail\",\"retry_on\":[],\"backoff_ms\":1000,\"backoff_max_ms\":60000,\"limits\":{\"cpu_s\":null,\"memory_bytes\":null,\"procs\":null,\"nofile\":null,\"fsize_bytes\":null},\"network\":true,\"created_at\":\"1970-01-01T00:00:01.000Z\",\"started_at\":null,\"finished_at\":null,"
        "\"attempt\":0,\"next_attempt_at\":null,\"exit_code\":null,\"signal\":null,\"signal_name\":null,\"core_dumped\":false,"
        "\"kill_reason\":null,\"limit\":null,\"error\":null,\"cancel_requested\":false,"
        "\"stdout\":null,\"stdout_bytes\":null,\"stdout_truncated\":null,"
        "\"stderr\":null,\"stderr_bytes\":null,\"stderr_truncated\":null,"
        "\"duration_ms\":null,\"cpu_user_ms\":null,\"cpu_sys_ms\":null,\"max_rss_kb\":null,\"worker_pid\":null,\"attempts\":[],\"callback\":null}";
    struct jq_submission sub;
    char msg[256];
    const char *body = "{\"command\":[\"true\"],\"env\":{\"A\":\"1\"},\"priority\":3}";

    /* A job straight from the parser, as jobs.c would store it. */
    ASSERT_EQ(parse_len(body, strlen(body), &sub, msg, sizeof(msg)), JQ_JSON_OK);
    jq_job_init(&job);
    job.id = 5;
    job.state = JQ_STATE_QUEUED;
    job.spec = sub.specs[0];
    jq_job_spec_init(&sub.specs[0]);
    jq_submission_cleanup(&sub);
    job.created_at_ms = 1000;
    expect_json(&job, true, want, __LINE__);

    /* Running: whatever the result struct holds, the outcome is null. */
    job.state = JQ_STATE_RUNNING;
    job.attempt = 1;
    job.result.started_at_ms = 2000;
    job.result.exit_code = 0;
    job.result.signal = 9;
    job.result.worker_pid = 77;
    job.result.core_dumped = true;
    job.cancel_requested = true;
    set_output(&job.result.out, "partial", 7, 7);
    cJSON *o = jq_json_from_job(&job, true);
    ASSERT_TRUE(o != NULL);
    ASSERT_STREQ(cJSON_GetObjectItem(o, "state")->valuestring, "running");
    ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItem(o, "id")));
    ASSERT_EQ(cJSON_GetObjectItem(o, "id")->valuedouble, 5);
    ASSERT_STREQ(cJSON_GetObjectItem(o, "started_at")->valuestring, "1970-01-01T00:00:02.000Z");
    static const char *const nulls[] = { "exit_code", "signal", "signal_name", "stdout", "stdout_bytes",
                                         "stdout_truncated", "worker_pid", "duration_ms", "finished_at" };
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        if (!cJSON_IsNull(cJSON_GetObjectItem(o, nulls[i])))
            JQ_FAIL_AT(__FILE__, __LINE__, "%s is not null", nulls[i]);
    }
    ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(o, "core_dumped")));
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(o, "cancel_requested")));
    ASSERT_TRUE(cJSON_GetObjectItem(o, "stdout_base64") == NULL);
    cJSON_Delete(o);
    jq_job_cleanup(&job);
}

static void render_signal(void)
{
    struct jq_job job;

    make_finished(&job);
    job.state = JQ_STATE_TIMED_OUT;
    job.result.exit_code = -1;
    job.result.signal = SIGKILL;
    job.result.core_dumped = false;
    job.result.kill_reason = JQ_KILL_TIMEOUT;
    char *part;
    cJSON *o = jq_json_from_job(&job, false);
    ASSERT_TRUE(o != NULL);
    char *text = cJSON_PrintUnformatted(o);
    part = strstr(text, "\"attempt\"");
    ASSERT_TRUE(part != NULL);
    ASSERT_TRUE(strncmp(part,
                        "\"attempt\":1,\"next_attempt_at\":null,\"exit_code\":null,\"signal\":9,\"signal_name\":\"SIGKILL\","
                        "\"core_dumped\":false,\"kill_reason\":\"timeout\",\"limit\":\"timeout\",\"error\":null,",
                        strlen("\"attempt\":1,\"next_attempt_at\":null,\"exit_code\":null,\"signal\":9,\"signal_name\":\"SIGKILL\","
                               "\"core_dumped\":false,\"kill_reason\":\"timeout\",\"limit\":\"timeout\",\"error\":null,")) == 0);
    free(text);
    cJSON_Delete(o);

    /* Other names, a core dump, a real-time signal, and one with no name. */
    static const struct {
        int sig;
        const char *name;
    } t[] = { { SIGSEGV, "SIGSEGV" }, { SIGTERM, "SIGTERM" }, { SIGABRT, "SIGABRT" }, { SIGHUP, "SIGHUP" } };
    job.state = JQ_STATE_FAILED;
    job.result.kill_reason = JQ_KILL_NONE;
    job.result.core_dumped = true;
    job.result.exit_code = 0; /* a signal wins over a stale exit code */
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) + 2; i++) {
        bool rt = i == sizeof(t) / sizeof(t[0]);
        bool unnamed = i == sizeof(t) / sizeof(t[0]) + 1;
        job.result.signal = rt ? SIGRTMIN + 2 : unnamed ? 32 : t[i].sig;
        o = jq_json_from_job(&job, true);
        ASSERT_TRUE(o != NULL);
        ASSERT_EQ(cJSON_GetObjectItem(o, "signal")->valuedouble, job.result.signal);
        cJSON *name = cJSON_GetObjectItem(o, "signal_name");
        if (unnamed)
            ASSERT_TRUE(cJSON_IsNull(name));
        else
            ASSERT_STREQ(name->valuestring, rt ? "SIGRTMIN+2" : t[i].name);
        ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(o, "exit_code")));
        ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(o, "core_dumped")));
        ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(o, "kill_reason")));
        cJSON_Delete(o);
    }

    /* Cancelled and shut down name their reasons. */
    job.state = JQ_STATE_CANCELLED;
    job.result.kill_reason = JQ_KILL_CANCEL;
    o = jq_json_from_job(&job, false);
    ASSERT_STREQ(cJSON_GetObjectItem(o, "kill_reason")->valuestring, "cancel");
    ASSERT_STREQ(cJSON_GetObjectItem(o, "state")->valuestring, "cancelled");
    cJSON_Delete(o);
    job.result.kill_reason = JQ_KILL_SHUTDOWN;
    job.state = JQ_STATE_LOST;
    o = jq_json_from_job(&job, false);
    ASSERT_STREQ(cJSON_GetObjectItem(o, "kill_reason")->valuestring, "shutdown");
    ASSERT_STREQ(cJSON_GetObjectItem(o, "state")->valuestring, "lost");
    cJSON_Delete(o);
    jq_job_cleanup(&job);
}

/* Stored text that is not valid UTF-8 still renders as valid JSON. */
static void render_sanitizes_text(void)
{
    struct jq_job job;

    make_finished(&job);
    free(job.spec.argv[2]);
    job.spec.argv[2] = dupstr("a\xFF" "b");
    job.spec.envc = 1;
    job.spec.env = calloc(2, sizeof(char *));
    ASSERT_TRUE(job.spec.env != NULL);
    job.spec.env[0] = dupstr("N\xC0=v\xED\xA0\x80");
    job.result.error = dupstr("bad \xF5");
    cJSON *o = jq_json_from_job(&job, false);
    ASSERT_TRUE(o != NULL);
    char *text = cJSON_PrintUnformatted(o);
    ASSERT_TRUE(text != NULL);
    ASSERT_EQ(jq_utf8_check(text, strlen(text)), strlen(text));
    ASSERT_TRUE(strstr(text, "\"a\xEF\xBF\xBD" "b\"") != NULL);
    ASSERT_TRUE(strstr(text, "{\"N\xEF\xBF\xBD\":\"v\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}") != NULL);
    ASSERT_TRUE(strstr(text, "\"error\":\"bad \xEF\xBF\xBD\"") != NULL);
    free(text);
    cJSON_Delete(o);
    jq_job_cleanup(&job);
}

/* What the parser accepts, the renderer gives back unchanged. */
static void parse_render_roundtrip(void)
{
    struct jq_submission sub;
    struct jq_job job;
    char msg[256];
    const char *body = "{\"command\":[\"printf\",\"%s\\n\",\"\\ud83d\\ude00 \\\"q\\\" \\\\\"],"
                       "\"env\":{\"Z\":\"last\",\"A\":\"\\u00e9\"},\"cwd\":\"/srv\",\"stdin\":\"abc\","
                       "\"timeout_ms\":1500,\"kill_grace_ms\":10,\"max_output_bytes\":100,\"priority\":-3}";

    ASSERT_EQ(parse_len(body, strlen(body), &sub, msg, sizeof(msg)), JQ_JSON_OK);
    jq_job_init(&job);
    job.spec = sub.specs[0];
    jq_job_spec_init(&sub.specs[0]);
    jq_submission_cleanup(&sub);
    cJSON *o = jq_json_from_job(&job, false);
    char *text = cJSON_PrintUnformatted(o);
    ASSERT_TRUE(strstr(text, "\"command\":[\"printf\",\"%s\\n\",\"\xF0\x9F\x98\x80 \\\"q\\\" \\\\\"],"
                             "\"env\":{\"Z\":\"last\",\"A\":\"\xC3\xA9\"},\"cwd\":\"/srv\",\"stdin_bytes\":3,"
                             "\"timeout_ms\":1500,\"kill_grace_ms\":10,\"max_output_bytes\":100,\"priority\":-3,") !=
                NULL);
    free(text);
    cJSON_Delete(o);
    jq_job_cleanup(&job);
}


/* ---- retry policy fields ---------------------------------------------- */

static void parse_retry_fields(void)
{
    struct jq_submission sub;

    parse_one("{\"command\":[\"x\"],\"max_attempts\":100,\"on_lost\":\"retry\","
              "\"retry_on\":[3,\"timeout\",255,\"lost\",1],\"backoff_ms\":3600000,\"backoff_max_ms\":86400000}",
              &sub);
    const struct jq_retry_policy *p = &sub.specs[0].retry;
    ASSERT_EQ(p->max_attempts, 100);
    ASSERT_TRUE(p->on_lost_retry);
    ASSERT_EQ(p->retry_on_n, 5);
    ASSERT_EQ(p->retry_on[0], 3);
    ASSERT_EQ(p->retry_on[1], JQ_RETRY_ON_TIMEOUT);
    ASSERT_EQ(p->retry_on[2], 255);
    ASSERT_EQ(p->retry_on[3], JQ_RETRY_ON_LOST);
    ASSERT_EQ(p->backoff_ms, 3600000);
    ASSERT_EQ(p->backoff_max_ms, 86400000);
    jq_submission_cleanup(&sub);

    /* Defaults: one attempt; three once any retry is asked for. */
    static const struct {
        const char *body;
        int32_t max_attempts;
    } t[] = {
        { "{\"command\":[\"x\"]}", 1 },
        { "{\"command\":[\"x\"],\"on_lost\":\"fail\"}", 1 },
        { "{\"command\":[\"x\"],\"retry_on\":[]}", 1 },
        { "{\"command\":[\"x\"],\"on_lost\":\"retry\"}", 3 },
        { "{\"command\":[\"x\"],\"retry_on\":[\"timeout\"]}", 3 },
        { "{\"retry_on\":[2],\"max_attempts\":1,\"command\":[\"x\"]}", 1 },
        { "{\"command\":[\"x\"],\"max_attempts\":7}", 7 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        parse_one(t[i].body, &sub);
        if (sub.specs[0].retry.max_attempts != t[i].max_attempts)
            JQ_FAIL_AT(__FILE__, __LINE__, "%s: max_attempts %d", t[i].body, sub.specs[0].retry.max_attempts);
        ASSERT_EQ(sub.specs[0].retry.backoff_ms, 1000);
        ASSERT_EQ(sub.specs[0].retry.backoff_max_ms, 60000);
        jq_submission_cleanup(&sub);
    }
    /* Batches: each job its own policy, errors name the job. */
    const char *batch = "{\"jobs\":[{\"command\":[\"a\"],\"on_lost\":\"retry\"},{\"command\":[\"b\"]}]}";
    char msg[256];
    ASSERT_EQ(parse_len(batch, strlen(batch), &sub, msg, sizeof(msg)), JQ_JSON_OK);
    ASSERT_EQ(sub.n, 2);
    ASSERT_TRUE(sub.specs[0].retry.on_lost_retry && !sub.specs[1].retry.on_lost_retry);
    jq_submission_cleanup(&sub);
}

static void reject_retry_fields(void)
{
    static const struct reject t[] = {
        { "{\"command\":[\"x\"],\"max_attempts\":0}", 0, JQ_JSON_INVALID_FIELD,
          "max_attempts must be an integer between 1 and 100" },
        { "{\"command\":[\"x\"],\"max_attempts\":101}", 0, JQ_JSON_INVALID_FIELD, "max_attempts must be" },
        { "{\"command\":[\"x\"],\"max_attempts\":2.5}", 0, JQ_JSON_INVALID_FIELD, "max_attempts must be" },
        { "{\"command\":[\"x\"],\"max_attempts\":\"3\"}", 0, JQ_JSON_INVALID_FIELD, "max_attempts must be" },
        { "{\"command\":[\"x\"],\"on_lost\":\"Retry\"}", 0, JQ_JSON_INVALID_FIELD,
          "on_lost must be \"fail\" or \"retry\"" },
        { "{\"command\":[\"x\"],\"on_lost\":true}", 0, JQ_JSON_INVALID_FIELD, "on_lost must be" },
        { "{\"command\":[\"x\"],\"retry_on\":3}", 0, JQ_JSON_INVALID_FIELD,
          "retry_on must be an array of at most 32 items" },
        { "{\"command\":[\"x\"],\"retry_on\":[0]}", 0, JQ_JSON_INVALID_FIELD,
          "retry_on[0] must be an exit code between 1 and 255, \"timeout\" or \"lost\"" },
        { "{\"command\":[\"x\"],\"retry_on\":[1,256]}", 0, JQ_JSON_INVALID_FIELD, "retry_on[1] must be" },
        { "{\"command\":[\"x\"],\"retry_on\":[1.5]}", 0, JQ_JSON_INVALID_FIELD, "retry_on[0] must be" },
        { "{\"command\":[\"x\"],\"retry_on\":[\"oom\"]}", 0, JQ_JSON_INVALID_FIELD, "retry_on[0] must be" },
        { "{\"command\":[\"x\"],\"retry_on\":[null]}", 0, JQ_JSON_INVALID_FIELD, "retry_on[0] must be" },
        { "{\"command\":[\"x\"],\"retry_on\":[3,\"timeout\",3]}", 0, JQ_JSON_INVALID_FIELD,
          "retry_on[2] is a duplicate" },
        { "{\"command\":[\"x\"],\"retry_on\":[\"lost\",\"lost\"]}", 0, JQ_JSON_INVALID_FIELD,
          "retry_on[1] is a duplicate" },
        { "{\"command\":[\"x\"],\"backoff_ms\":-1}", 0, JQ_JSON_INVALID_FIELD,
          "backoff_ms must be an integer between 0 and 3600000" },
        { "{\"command\":[\"x\"],\"backoff_ms\":3600001}", 0, JQ_JSON_INVALID_FIELD, "backoff_ms must be" },
        { "{\"command\":[\"x\"],\"backoff_max_ms\":86400001}", 0, JQ_JSON_INVALID_FIELD,
          "backoff_max_ms must be an integer between 0 and 86400000" },
        { "{\"command\":[\"x\"],\"on_lost\":\"retry\",\"on_lost\":\"fail\"}", 0, JQ_JSON_INVALID_FIELD,
          "on_lost: duplicate field" },
        { "{\"jobs\":[{\"command\":[\"x\"]},{\"command\":[\"x\"],\"retry_on\":[\"x\"]}]}", 0,
          JQ_JSON_INVALID_FIELD, "jobs[1].retry_on[0] must be" },
        { "{\"command\":[\"x\"],\"retries\":3}", 0, JQ_JSON_UNKNOWN_FIELD, "retries: unknown field" },
    };
    EXPECT_REJECTS(t);

    /* 32 distinct items pass, 33 do not. */
    char body[512];
    int n = snprintf(body, sizeof(body), "{\"command\":[\"x\"],\"retry_on\":[1");
    for (int i = 2; i <= 32; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n, ",%d", i);
    snprintf(body + n, sizeof(body) - (size_t)n, "]}");
    struct jq_submission sub;
    parse_one(body, &sub);
    ASSERT_EQ(sub.specs[0].retry.retry_on_n, 32);
    jq_submission_cleanup(&sub);
    snprintf(body + n, sizeof(body) - (size_t)n, ",33]}");
    EXPECT_REJECT(body, JQ_JSON_INVALID_FIELD, "retry_on must be an array of at most 32 items");
}

/* retry_wait shows next_attempt_at; the history lists every attempt. */
static void render_retry_wait_and_attempts(void)
{
    struct jq_job job;
    struct jq_submission sub;

    parse_one("{\"command\":[\"x\"],\"retry_on\":[3,\"timeout\"],\"on_lost\":\"retry\",\"backoff_ms\":0}", &sub);
    jq_job_init(&job);
    job.id = 9;
    job.state = JQ_STATE_RETRY_WAIT;
    job.spec = sub.specs[0];
    jq_job_spec_init(&sub.specs[0]);
    jq_submission_cleanup(&sub);
    job.created_at_ms = 1000;
    job.attempt = 2;
    job.run_at_ms = 5000;
    job.n_attempts = 2;
    job.attempts = calloc(2, sizeof(*job.attempts));
    ASSERT_TRUE(job.attempts != NULL);
    job.attempts[0] = (struct jq_attempt){ 1, 1500, 2500, JQ_STATE_TIMED_OUT, -1, 9, JQ_KILL_TIMEOUT, 123, NULL };
    job.attempts[1] = (struct jq_attempt){ 2, 3000, 3500, JQ_STATE_LOST, -1, 0, JQ_KILL_NONE, 0,
                                           dupstr("the worker running the job died") };
    cJSON *o = jq_json_from_job(&job, true);
    ASSERT_TRUE(o != NULL);
    char *text = cJSON_PrintUnformatted(o);
    ASSERT_TRUE(text != NULL);
    if (!strstr(text, "\"priority\":0,\"queue\":\"default\",\"run_at\":null,\"start_by\":null,\"max_attempts\":3,\"on_lost\":\"retry\",\"retry_on\":[3,\"timeout\"],"
                      "\"backoff_ms\":0,\"backoff_max_ms\":60000,") ||
        !strstr(text, "\"attempt\":2,\"next_attempt_at\":\"1970-01-01T00:00:05.000Z\",\"exit_code\":null,") ||
        !strstr(text, ",\"attempts\":[{\"attempt\":1,\"started_at\":\"1970-01-01T00:00:01.500Z\","
                      "\"finished_at\":\"1970-01-01T00:00:02.500Z\",\"state\":\"timed_out\",\"exit_code\":null,"
                      "\"signal\":9,\"kill_reason\":\"timeout\",\"limit\":\"timeout\",\"worker_pid\":123,\"error\":null},"
                      "{\"attempt\":2,\"started_at\":\"1970-01-01T00:00:03.000Z\","
                      "\"finished_at\":\"1970-01-01T00:00:03.500Z\",\"state\":\"lost\",\"exit_code\":null,"
                      "\"signal\":null,\"kill_reason\":null,\"limit\":null,\"worker_pid\":null,"
                      "\"error\":\"the worker running the job died\"}],\"callback\":null}"))
        JQ_FAIL_AT(__FILE__, __LINE__, "got %s", text);
    free(text);
    cJSON_Delete(o);
    /* Lists leave the history out. */
    o = jq_json_from_job(&job, false);
    ASSERT_TRUE(o != NULL && cJSON_GetObjectItem(o, "attempts") == NULL);
    ASSERT_STREQ(cJSON_GetObjectItem(o, "state")->valuestring, "retry_wait");
    cJSON_Delete(o);
    /* Any other state: next_attempt_at is null. */
    job.state = JQ_STATE_QUEUED;
    o = jq_json_from_job(&job, false);
    ASSERT_TRUE(o != NULL && cJSON_IsNull(cJSON_GetObjectItem(o, "next_attempt_at")));
    cJSON_Delete(o);
    /* An exit code in the history, and the parser's view of the rendered policy. */
    job.attempts[0] = (struct jq_attempt){ 1, 1500, 2500, JQ_STATE_FAILED, 3, 0, JQ_KILL_NONE, 5, NULL };
    o = jq_json_from_job(&job, true);
    ASSERT_TRUE(o != NULL);
    cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "attempts"), 0);
    ASSERT_EQ(cJSON_GetObjectItem(a0, "exit_code")->valuedouble, 3);
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(a0, "signal")));
    cJSON_Delete(o);
    jq_job_cleanup(&job);
}

static const struct jq_test_case cases[] = {
    { "parse_minimal", parse_minimal },
    { "parse_full", parse_full },
    { "parse_defaults_follow_policy", parse_defaults_follow_policy },
    { "parse_integer_forms", parse_integer_forms },
    { "parse_batch_order", parse_batch_order },
    { "parse_at_caps", parse_at_caps },
    { "parse_surrogate_pair", parse_surrogate_pair },
    { "reject_malformed", reject_malformed },
    { "reject_encoding", reject_encoding },
    { "reject_deep_nesting", reject_deep_nesting },
    { "reject_command", reject_command },
    { "reject_integers", reject_integers },
    { "reject_fields", reject_fields },
    { "reject_env", reject_env },
    { "reject_dangerous_env", reject_dangerous_env },
    { "reject_cwd_stdin", reject_cwd_stdin },
    { "reject_batch", reject_batch },
    { "reject_too_many_values", reject_too_many_values },
    { "small_message_buffer", small_message_buffer },
    { "body_not_nul_terminated", body_not_nul_terminated },
    { "base64_vectors", base64_vectors },
    { "utf8_rules", utf8_rules },
    { "format_time", format_time },
    { "render_finished", render_finished },
    { "render_utf8_and_spec", render_utf8_and_spec },
    { "render_binary_output", render_binary_output },
    { "render_queued", render_queued },
    { "render_signal", render_signal },
    { "render_sanitizes_text", render_sanitizes_text },
    { "parse_render_roundtrip", parse_render_roundtrip },
    { "parse_retry_fields", parse_retry_fields },
    { "reject_retry_fields", reject_retry_fields },
    { "render_retry_wait_and_attempts", render_retry_wait_and_attempts },
};

JQ_TEST_MAIN(cases)
