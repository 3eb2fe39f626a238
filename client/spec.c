/* spec.c: the job options of `run` and `submit` (--timeout, --env, --stdin,
 * --cwd, --priority, --queue, --delay, --idempotency-key, --max-output,
 * --kill-grace) and the
 * command after them,
 * turned into the JSON body of POST /v1/jobs. Only what the user gave is
 * sent: the server's defaults apply to the rest. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jq_limits.h"
#include "job.h"

enum { OPT_URL = 256, OPT_JSON, OPT_KILL_GRACE, OPT_MAX_OUTPUT, OPT_PRIORITY, OPT_CWD, OPT_STDIN, OPT_QUEUE, OPT_DELAY, OPT_IDEM };

static const struct option spec_options[] = {
    {"timeout", required_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},
    {"stdin", required_argument, NULL, OPT_STDIN},
    {"cwd", required_argument, NULL, OPT_CWD},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"delay", required_argument, NULL, OPT_DELAY},
    {"idempotency-key", required_argument, NULL, OPT_IDEM},
    {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
    {"kill-grace", required_argument, NULL, OPT_KILL_GRACE},
    {"url", required_argument, NULL, OPT_URL},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int oom(void)
{
    jq_cli_err("out of memory");
    return JQ_CLI_ESERVER;
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fputs("jobq: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return jq_cli_usage_hint(usage);
}

/* Read all of f (at most the server's stdin cap) into a NUL-free string. */
static int read_stdin_file(FILE *f, const char *name, char **out)
{
    size_t cap = JQ_MAX_STDIN_BYTES + 1, n;
    char *buf = malloc(cap + 1);
    if (!buf)
        return oom();
    n = fread(buf, 1, cap, f);
    int rc = 0;
    if (ferror(f)) {
        jq_cli_err("--stdin: cannot read %s: %s", name, strerror(errno));
        rc = JQ_CLI_ESERVER;
    } else if (n > JQ_MAX_STDIN_BYTES) {
        jq_cli_err("--stdin: %s is larger than the server's limit of %u bytes", name, JQ_MAX_STDIN_BYTES);
        rc = JQ_CLI_EUSAGE;
    } else if (memchr(buf, '\0', n)) {
        jq_cli_err("--stdin: %s contains a NUL byte, which a job's stdin cannot carry", name);
        rc = JQ_CLI_EUSAGE;
    }
    buf[n] = '\0';
    if (rc)
        free(buf);
    else
        *out = buf;
    return rc;
}

static int add_stdin(cJSON *spec, const char *arg)
{
    bool dash = strcmp(arg, "-") == 0;
    FILE *f = dash ? stdin : fopen(arg, "rb");
    char *data = NULL;
    if (!f) {
        jq_cli_err("--stdin: cannot open %s: %s", arg, strerror(errno));
        return JQ_CLI_ESERVER;
    }
    int rc = read_stdin_file(f, dash ? "standard input" : arg, &data);
    if (!dash)
        fclose(f);
    if (rc == 0 && !cJSON_AddStringToObject(spec, "stdin", data))
        rc = oom();
    free(data);
    return rc;
}

/* --env NAME=VALUE, or --env NAME to pass this shell's value on. */
static int add_env(cJSON *spec, const char *arg, const char *usage)
{
    cJSON *env = cJSON_GetObjectItemCaseSensitive(spec, "env");
    if (!env && !(env = cJSON_AddObjectToObject(spec, "env")))
        return oom();
    const char *eq = strchr(arg, '=');
    size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
    char name[256];
    if (nl == 0 || nl >= sizeof(name))
        return usage_error(usage, "--env '%s': expected NAME=VALUE or NAME", arg);
    memcpy(name, arg, nl);
    name[nl] = '\0';
    const char *value = eq ? eq + 1 : getenv(name);
    if (!value)
        return usage_error(usage, "--env %s: not set in this environment (use NAME=VALUE)", name);
    cJSON_DeleteItemFromObjectCaseSensitive(env, name); /* the last one wins */
    return cJSON_AddStringToObject(env, name, value) ? 0 : oom();
}

static int add_number(cJSON *spec, const char *field, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(spec, field);
    return cJSON_AddNumberToObject(spec, field, v) ? 0 : oom();
}

static int add_duration(cJSON *spec, const char *field, const char *opt, const char *arg, const char *usage)
{
    int64_t ms;
    if (jq_cli_parse_duration_ms(arg, &ms) != 0)
        return usage_error(usage, opt, arg);
    return add_number(spec, field, (double)ms);
}

static int apply_option(int c, const char *arg, cJSON *spec, struct jq_cli_common *common, const char *usage)
{
    int64_t v;
    switch (c) {
    case 't': return add_duration(spec, "timeout_ms", "--timeout '%s': expected a duration like 500ms, 5s, 2m, 1h", arg, usage);
    case OPT_KILL_GRACE: return add_duration(spec, "kill_grace_ms", "--kill-grace '%s': expected a duration", arg, usage);
    case 'e': return add_env(spec, arg, usage);
    case OPT_STDIN: return add_stdin(spec, arg);
    case OPT_CWD:
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "cwd");
        return cJSON_AddStringToObject(spec, "cwd", arg) ? 0 : oom();
    case OPT_PRIORITY:
        if (jq_cli_parse_int(arg, -1000, 1000, &v) != 0)
            return usage_error(usage, "--priority '%s': expected an integer from -1000 to 1000", arg);
        return add_number(spec, "priority", (double)v);
    case OPT_QUEUE:
        if (!jq_queue_name_ok(arg))
            return usage_error(usage, "--queue '%s': expected 1 to 64 characters of A-Z a-z 0-9 _ . -", arg);
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "queue");
        return cJSON_AddStringToObject(spec, "queue", arg) ? 0 : oom();
    case OPT_DELAY: return add_duration(spec, "delay_ms", "--delay '%s': expected a duration like 500ms, 5s, 2m, 1h", arg, usage);
    case OPT_MAX_OUTPUT:
        if (jq_cli_parse_bytes(arg, &v) != 0)
            return usage_error(usage, "--max-output '%s': expected bytes, e.g. 65536 or 64k", arg);
        return add_number(spec, "max_output_bytes", (double)v);
    case OPT_IDEM:
        if (!arg[0] || strlen(arg) > JQ_MAX_IDEMPOTENCY_KEY_BYTES || arg[strcspn(arg, " \t\r\n")])
            return usage_error(usage, "--idempotency-key '%s': expected 1 to 255 visible characters", arg);
        common->idempotency_key = arg;
        return 0;
    case OPT_URL: common->url = arg; return 0;
    case OPT_JSON: common->json = true; return 0;
    case 'h': fputs(usage, stdout); common->help = true; return 0;
    default: return jq_cli_usage_hint(usage);
    }
}

static int add_command(cJSON *spec, int argc, char **argv, const char *usage)
{
    if (optind >= argc)
        return usage_error(usage, "no command given%s", " (put it after --, e.g. jobq run -- make test)");
    cJSON *cmd = cJSON_AddArrayToObject(spec, "command");
    for (int i = optind; cmd && i < argc; i++) {
        cJSON *s = cJSON_CreateString(argv[i]);
        if (!s || !cJSON_AddItemToArray(cmd, s))
            return oom();
    }
    return cmd ? 0 : oom();
}

int jq_cli_spec_parse(int argc, char **argv, const char *usage, struct jq_cli_common *common, cJSON **out)
{
    cJSON *spec = cJSON_CreateObject();
    int rc = spec ? 0 : oom(), c;
    *out = NULL;
    optind = 0; /* GNU: restart scanning; '+' stops at the command */
    while (rc == 0 && !common->help && (c = getopt_long(argc, argv, "+t:e:h", spec_options, NULL)) != -1)
        rc = apply_option(c, optarg, spec, common, usage);
    if (rc == 0 && !common->help)
        rc = add_command(spec, argc, argv, usage);
    if (rc == 0 && !common->help)
        *out = spec;
    else
        cJSON_Delete(spec);
    return rc;
}
