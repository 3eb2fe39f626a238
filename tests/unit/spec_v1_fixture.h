/* spec_v1_fixture.h: a job spec encoded as version 1 of the spec codec (the
 * format written before retry policies existed), built byte by byte here so
 * that the tests of the codec and of the v1 -> v2 schema migration read a
 * real old encoding, not one made by today's encoder. */
#ifndef JQ_SPEC_V1_FIXTURE_H
#define JQ_SPEC_V1_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct spec_v1_header {
    uint32_t magic;   /* "JQS1" */
    uint32_t version; /* 1 */
    int64_t timeout_ms;
    int64_t kill_grace_ms;
    int64_t max_output_bytes;
    int32_t priority;
    uint32_t argc;
    uint32_t envc;
    uint32_t reserved;
};

static inline void spec_v1_put_string(unsigned char *buf, size_t *len, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
    memcpy(buf + *len, &n, sizeof(n));
    *len += sizeof(n);
    if (s) {
        memcpy(buf + *len, s, n);
        *len += n;
    }
}

/* {argv[0], argv[1]}, no env, cwd "/tmp", no stdin, timeout 1234, grace 56,
 * output cap 789, priority prio. Returns a heap buffer of *len_out bytes. */
static inline unsigned char *spec_v1_blob(const char *arg0, const char *arg1, int32_t prio, size_t *len_out)
{
    struct spec_v1_header h = {0x3153514au, 1u, 1234, 56, 789, prio, 2, 0, 0};
    unsigned char *buf = calloc(1, sizeof(h) + 64 + strlen(arg0) + strlen(arg1));
    size_t len = sizeof(h);
    if (!buf)
        return NULL;
    memcpy(buf, &h, sizeof(h));
    spec_v1_put_string(buf, &len, arg0);
    spec_v1_put_string(buf, &len, arg1);
    spec_v1_put_string(buf, &len, "/tmp");
    spec_v1_put_string(buf, &len, NULL);
    *len_out = len;
    return buf;
}

#endif
