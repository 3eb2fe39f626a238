/* test_trusted_path.c: unit tests of core/trusted_path.c on a real tree in
 * a temp dir under $JQ_TEST_TMP: canonical paths through trusted links and
 * "..", and refusals — a link or file in a directory others may write, a
 * file others may write, a directory or device instead of a file, relative
 * paths, a missing file — plus the PATH lookup of a bare name. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "trusted_path.h"

static char base[PATH_MAX];

/* A fresh dir (0755) under $JQ_TEST_TMP; false (with the reason printed)
 * when the checkout itself sits where others may write, which no case
 * here could then tell from a refusal. */
static bool make_base(void)
{
    const char *tmp = getenv("JQ_TEST_TMP");
    char out[PATH_MAX], why[256];
    snprintf(base, sizeof base, "%s/trusted-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (tmp && *tmp)
        mkdir(tmp, 0700);
    ASSERT_TRUE(mkdtemp(base) != NULL);
    ASSERT_EQ(chmod(base, 0755), 0);
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/probe", base);
    FILE *f = fopen(probe, "w");
    ASSERT_TRUE(f != NULL);
    fclose(f);
    if (jq_trusted_resolve(probe, out, sizeof out, why, sizeof why) != 0) {
        printf("skipped: the temp dir is not in a trusted tree (%s)\n", why);
        return false;
    }
    return true;
}

static void cleanup_base(void)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    ASSERT_EQ(system(cmd), 0);
}

/* base + "/" + rel */
static const char *at(const char *rel)
{
    static char bufs[4][PATH_MAX + 64];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", base, rel);
    return b;
}

static void touch(const char *rel, mode_t mode)
{
    FILE *f = fopen(at(rel), "w");
    ASSERT_TRUE(f != NULL);
    fclose(f);
    ASSERT_EQ(chmod(at(rel), mode), 0);
}

static void expect_resolves(const char *path, const char *want)
{
    char out[PATH_MAX], why[256] = "";
    if (jq_trusted_resolve(path, out, sizeof out, why, sizeof why) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s refused: %s", path, why);
    ASSERT_STREQ(out, want);
}

static void expect_refused(const char *path, const char *why_has)
{
    char out[PATH_MAX], why[512] = "";
    ASSERT_EQ(jq_trusted_resolve(path, out, sizeof out, why, sizeof why), JQ_EINVAL);
    if (!strstr(why, why_has))
        JQ_FAIL_AT(__FILE__, __LINE__, "%s: reason \"%s\" lacks \"%s\"", path, why, why_has);
}

static void resolves_trusted_links(void)
{
    if (!make_base())
        return;
    ASSERT_EQ(mkdir(at("bin"), 0755), 0);
    ASSERT_EQ(mkdir(at("lib"), 0755), 0);
    touch("bin/tool", 0755);
    ASSERT_EQ(symlink("tool", at("bin/alias")), 0);
    ASSERT_EQ(symlink("../bin", at("lib/up")), 0);
    ASSERT_EQ(symlink(at("bin/alias"), at("abs")), 0);
    char tool[PATH_MAX + 64];
    snprintf(tool, sizeof tool, "%s", at("bin/tool"));
    expect_resolves(tool, tool);
    expect_resolves(at("bin/alias"), tool);
    expect_resolves(at("lib/up/alias"), tool);
    expect_resolves(at("abs"), tool);
    expect_resolves(at("lib/../bin/./tool"), tool);
    expect_resolves(at("lib/up/../bin//tool"), tool);
    cleanup_base();
}

static void refuses_what_others_could_change(void)
{
    if (!make_base())
        return;
    ASSERT_EQ(mkdir(at("open"), 0755), 0);
    ASSERT_EQ(chmod(at("open"), 01777), 0); /* like /tmp */
    ASSERT_EQ(mkdir(at("wide"), 0755), 0);
    ASSERT_EQ(chmod(at("wide"), 0777), 0); /* not sticky */
    ASSERT_EQ(mkdir(at("bin"), 0755), 0);
    touch("bin/tool", 0755);
    touch("bin/shared", 0775);
    touch("wide/tool", 0755);
    ASSERT_EQ(symlink(at("bin/tool"), at("open/link")), 0);
    touch("open/tool", 0755);
    ASSERT_EQ(symlink(at("open"), at("bin/via-open")), 0);
    expect_refused(at("wide/tool"), "wide is writable by group or others");
    expect_refused(at("bin/shared"), "bin/shared is writable by group or others");
    /* In a sticky directory, what we own cannot be changed by others. */
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s", at("bin/tool"));
    expect_resolves(at("open/link"), want);
    snprintf(want, sizeof want, "%s", at("open/tool"));
    expect_resolves(at("bin/via-open/tool"), want);
    if (geteuid() == 0) { /* only root can give a file away */
        ASSERT_EQ(lchown(at("open/link"), 12345, 12345), 0);
        expect_refused(at("open/link"), "open/link is owned by uid 12345");
        ASSERT_EQ(chown(at("open/tool"), 12345, 12345), 0);
        expect_refused(at("open/tool"), "open/tool is owned by uid 12345");
        ASSERT_EQ(chown(at("bin/tool"), 12345, 12345), 0);
        expect_refused(at("bin/tool"), "is owned by uid 12345");
    }
    cleanup_base();
}

static void refuses_other_shapes(void)
{
    if (!make_base())
        return;
    ASSERT_EQ(mkdir(at("bin"), 0755), 0);
    touch("bin/tool", 0755);
    ASSERT_EQ(symlink("loop2", at("bin/loop1")), 0);
    ASSERT_EQ(symlink("loop1", at("bin/loop2")), 0);
    expect_refused(at("bin"), "is not a regular file");
    expect_refused(at("bin/missing"), "No such file");
    expect_refused(at("bin/tool/x"), "is not a directory");
    expect_refused(at("bin/loop1"), "too many levels of symbolic links");
    expect_refused("bin/tool", "is not an absolute path");
    expect_refused("/dev/null", "is not a regular file");
    cleanup_base();
}

static void finds_commands_like_the_executor(void)
{
    char out[PATH_MAX], why[256] = "", want[PATH_MAX];
    ASSERT_TRUE(realpath("/bin/sh", want) != NULL); /* what the fixed PATH finds first */
    if (jq_trusted_find_command("sh", out, sizeof out, why, sizeof why) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "sh refused: %s", why);
    ASSERT_STREQ(out, want);
    ASSERT_EQ(jq_trusted_find_command("no-such-command-here", out, sizeof out, why, sizeof why), JQ_EINVAL);
    ASSERT_TRUE(strstr(why, "command not found in PATH") != NULL);
    ASSERT_EQ(jq_trusted_find_command("./sh", out, sizeof out, why, sizeof why), JQ_EINVAL);
    ASSERT_TRUE(strstr(why, "is a relative path") != NULL);
    ASSERT_EQ(jq_trusted_find_command("bin/sh", out, sizeof out, why, sizeof why), JQ_EINVAL);
    ASSERT_EQ(jq_trusted_find_command("/bin/sh", out, sizeof out, why, sizeof why), 0);
    ASSERT_STREQ(out, want);
}

static const struct jq_test_case cases[] = {
    {"resolves_trusted_links", resolves_trusted_links},
    {"refuses_what_others_could_change", refuses_what_others_could_change},
    {"refuses_other_shapes", refuses_other_shapes},
    {"finds_commands_like_the_executor", finds_commands_like_the_executor},
};

JQ_TEST_MAIN(cases)
