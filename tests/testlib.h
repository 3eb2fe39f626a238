/* testlib.h: the tiny test runner every unit and integration test uses.
 * A test file lists its cases in one table and ends with JQ_TEST_MAIN(table);
 * `test_x CASE` runs one case (CTest runs each case as its own process, see
 * tests/CMakeLists.txt), `test_x` with no argument runs them all. Asserts
 * print both values and abort the case. */
#ifndef JQ_TESTLIB_H
#define JQ_TESTLIB_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jq_test_case {
    const char *name;
    void (*fn)(void);
};

#define JQ_FAIL_AT(file, line, ...)                        \
    do {                                                   \
        fprintf(stderr, "%s:%d: FAILED: ", file, line);   \
        fprintf(stderr, __VA_ARGS__);                      \
        fputc('\n', stderr);                               \
        abort();                                           \
    } while (0)

#define ASSERT_TRUE(c)                                                          \
    do { if (!(c)) JQ_FAIL_AT(__FILE__, __LINE__, "expected true: %s", #c); } while (0)

#define ASSERT_EQ(a, b)                                                                      \
    do {                                                                                     \
        long long jq_a_ = (long long)(a), jq_b_ = (long long)(b);                            \
        if (jq_a_ != jq_b_)                                                                  \
            JQ_FAIL_AT(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, jq_a_, jq_b_); \
    } while (0)

#define ASSERT_NE(a, b)                                                                      \
    do {                                                                                     \
        long long jq_a_ = (long long)(a), jq_b_ = (long long)(b);                            \
        if (jq_a_ == jq_b_)                                                                  \
            JQ_FAIL_AT(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, jq_a_);            \
    } while (0)

#define ASSERT_GE(a, b)                                                                      \
    do {                                                                                     \
        long long jq_a_ = (long long)(a), jq_b_ = (long long)(b);                            \
        if (jq_a_ < jq_b_)                                                                   \
            JQ_FAIL_AT(__FILE__, __LINE__, "%s >= %s: %lld < %lld", #a, #b, jq_a_, jq_b_);   \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                   \
    do {                                                                                     \
        const char *jq_a_ = (a), *jq_b_ = (b);                                               \
        if (!jq_a_ || !jq_b_ || strcmp(jq_a_, jq_b_) != 0)                                   \
            JQ_FAIL_AT(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,             \
                       jq_a_ ? jq_a_ : "(null)", jq_b_ ? jq_b_ : "(null)");                  \
    } while (0)

/* Runs argv[1]'s case, or every case. Returns the process exit status. */
static inline int jq_test_run(const struct jq_test_case *cases, size_t n, int argc, char **argv)
{
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        fprintf(stderr, "-- %s\n", cases[i].name);
        cases[i].fn();
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no such case: %s\n", argc > 1 ? argv[1] : "(none)");
        return 2;
    }
    return 0;
}

#define JQ_TEST_MAIN(table)                                                      \
    int main(int argc, char **argv)                                              \
    {                                                                            \
        return jq_test_run(table, sizeof(table) / sizeof(table[0]), argc, argv); \
    }

#endif
