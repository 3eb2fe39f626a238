/* test_core.c: unit tests of core/ — state names, error names, spec codec. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "job.h"
#include "spec_codec.h"
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

static void err_names(void)
{
    ASSERT_STREQ(jq_err_name(JQ_ENOTFOUND), "ENOTFOUND");
    ASSERT_STREQ(jq_err_name(12345), "EUNKNOWN");
}

static const struct jq_test_case cases[] = {
    {"state_names", state_names},
    {"spec_roundtrip", spec_roundtrip},
    {"spec_decode_rejects_garbage", spec_decode_rejects_garbage},
    {"err_names", err_names},
};
JQ_TEST_MAIN(cases)
