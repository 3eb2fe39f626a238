/* env_policy.c: the environment names a job may not set (env_policy.h).
 *
 * DESIGN: a request chooses its command, so a name is refused only when it
 * lets the request run code *other* than that command — what matters once
 * an operator restricts commands (--allow-command), and what no caller
 * expects of a plain `env` field. Four sources, each read by far more
 * programs than the one named:
 * - the dynamic loader: every LD_* name (ld.so reads many, and adds more);
 * - the C library: glibc's own UNSECURE_ENVVARS list, the names it drops
 *   for set-user-ID programs (minus TMPDIR: a directory name gives the job
 *   nothing it could not do itself), and every MALLOC_* tunable;
 * - shells: start-up files, exported functions, options and the trace
 *   prompt, which run code before or around a script;
 * - language runtimes and OpenSSL: module search paths, start-up code and
 *   option variables that load agents, modules or engines.
 * Tool-specific variables (GIT_SSH_COMMAND and the like) are not here: a
 * tool that runs other programs by design does not belong in an allowlist.
 */
#include "env_policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static const char loader[] = "it changes what the dynamic loader loads into a program";
static const char libc[] = "the C library loads files or modules it names";
static const char shell[] = "it makes a shell run code besides the command";
static const char runtime[] = "it makes a language runtime load or run other code";
static const char tls[] = "it makes OpenSSL load other modules";

static const struct denied {
    const char *name;
    bool prefix;      /* every name that starts with it */
    const char *why;
} denied[] = {
    {"LD_", true, loader},
    {"GCONV_PATH", false, libc},
    {"GETCONF_DIR", false, libc},
    {"GLIBC_TUNABLES", false, libc},
    {"HOSTALIASES", false, libc},
    {"LOCALDOMAIN", false, libc},
    {"LOCPATH", false, libc},
    {"MALLOC_", true, libc},
    {"NIS_PATH", false, libc},
    {"NLSPATH", false, libc},
    {"RESOLV_HOST_CONF", false, libc},
    {"RES_OPTIONS", false, libc},
    {"TZDIR", false, libc},
    {"BASH_ENV", false, shell},
    {"ENV", false, shell},
    {"BASH_FUNC_", true, shell},
    {"SHELLOPTS", false, shell},
    {"BASHOPTS", false, shell},
    {"PS4", false, shell},
    {"IFS", false, shell},
    {"PROMPT_COMMAND", false, shell},
    {"PYTHONPATH", false, runtime},
    {"PYTHONHOME", false, runtime},
    {"PYTHONSTARTUP", false, runtime},
    {"PYTHONUSERBASE", false, runtime},
    {"PYTHONPLATLIBDIR", false, runtime},
    {"PYTHONWARNINGS", false, runtime},
    {"PYTHONBREAKPOINT", false, runtime},
    {"PYTHONINSPECT", false, runtime},
    {"PERL5OPT", false, runtime},
    {"PERL5LIB", false, runtime},
    {"PERLLIB", false, runtime},
    {"PERL5DB", false, runtime},
    {"RUBYOPT", false, runtime},
    {"RUBYLIB", false, runtime},
    {"NODE_OPTIONS", false, runtime},
    {"NODE_PATH", false, runtime},
    {"JAVA_TOOL_OPTIONS", false, runtime},
    {"_JAVA_OPTIONS", false, runtime},
    {"JDK_JAVA_OPTIONS", false, runtime},
    {"CLASSPATH", false, runtime},
    {"PHPRC", false, runtime},
    {"PHP_INI_SCAN_DIR", false, runtime},
    {"LUA_INIT", true, runtime},
    {"LUA_PATH", true, runtime},
    {"LUA_CPATH", true, runtime},
    {"OPENSSL_CONF", false, tls},
    {"OPENSSL_ENGINES", false, tls},
    {"OPENSSL_MODULES", false, tls},
};

const char *jq_env_policy_why_denied(const char *name)
{
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        const struct denied *d = &denied[i];
        if (d->prefix ? strncmp(name, d->name, strlen(d->name)) == 0 : strcmp(name, d->name) == 0)
            return d->why;
    }
    return NULL;
}
