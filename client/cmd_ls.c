/* cmd_ls.c: `jobq ls` — one page of GET /v1/jobs (filters --state, --limit,
 * --after) as a table or the server's JSON; --all follows next_after to the
 * last page (with --json, the pages merged into one document). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "jq_limits.h"
#include "opts.h"

static const char ls_usage[] =
    "usage: jobq ls [OPTIONS]\n"
    "List jobs in id order: ID, STATE, EXIT, DURATION, CREATED (local time), COMMAND.\n"
    "  -s, --state S         only jobs in state S (queued, scheduled, running, retry_wait,\n"
    "                        succeeded, failed, timed_out, cancelled, lost, expired)\n"
    "  -n, --limit N         jobs per page, 1..1000 (default 100)\n"
    "      --after ID        start after this job id\n"
    "  -a, --all             every page, not just the first\n"
    "      --url URL         the server (default $JOBQ_URL, else http://127.0.0.1:8080)\n"
    "      --json            print the server's JSON\n"
    "  -h, --help            this help\n";

enum { OPT_AFTER = JQ_CLI_OPT_FIRST_EXTRA };

struct ls_args {
    const char *state;
    int64_t limit;  /* 0 = the server's default */
    int64_t after;  /* 0 = from the start */
    bool all;
};

static int ls_option(struct jq_cli_opts *o, int c, const char *arg)
{
    struct ls_args *a = o->ctx;
    if (c == 's' && arg[strspn(arg, "abcdefghijklmnopqrstuvwxyz_")] == '\0') {
        a->state = arg;
    } else if (c == 'n' && jq_cli_parse_int(arg, 1, JQ_MAX_LIST_LIMIT, &a->limit) == 0) {
    } else if (c == OPT_AFTER && jq_cli_parse_int(arg, 0, INT64_MAX, &a->after) == 0) {
    } else if (c == 'a') {
        a->all = true;
    } else {
        jq_cli_err("bad option value '%s'", arg ? arg : "");
        return -1;
    }
    return 0;
}

static void page_path(char *buf, size_t cap, const struct ls_args *a, int64_t after)
{
    int n = snprintf(buf, cap, "/v1/jobs?");
    if (a->state)
        n += snprintf(buf + n, cap - (size_t)n, "state=%s&", a->state);
    if (a->limit)
        n += snprintf(buf + n, cap - (size_t)n, "limit=%lld&", (long long)a->limit);
    if (after)
        n += snprintf(buf + n, cap - (size_t)n, "after=%lld&", (long long)after);
    buf[n - 1] = '\0'; /* the last '&' or the '?' */
}

static int terminal_width(void)
{
    struct winsize ws;
    if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0)
        return 0;
    return ws.ws_col;
}

/* Print one page's rows, or move its jobs into merged (--json --all). */
static void take_page(const struct jq_cli *cli, cJSON *page, cJSON *merged, int width)
{
    cJSON *jobs = cJSON_GetObjectItemCaseSensitive(page, "jobs"), *job;
    if (merged) {
        while (cJSON_GetArraySize(jobs) > 0)
            cJSON_AddItemToArray(merged, cJSON_DetachItemFromArray(jobs, 0));
        return;
    }
    if (!cli->json) {
        cJSON_ArrayForEach(job, jobs)
            jq_cli_table_row(job, width);
    }
}

static int print_json(cJSON *doc)
{
    char *s = cJSON_PrintUnformatted(doc);
    int rc = s && printf("%s\n", s) > 0 ? 0 : JQ_CLI_ESERVER;
    free(s);
    return rc;
}

static int list(struct jq_cli *cli, const struct ls_args *a)
{
    char path[256];
    int64_t after = a->after, next = 0;
    int width = terminal_width(), rc = 0;
    cJSON *doc = cli->json && a->all ? cJSON_CreateObject() : NULL, *merged = NULL;
    if (doc && (!(merged = cJSON_AddArrayToObject(doc, "jobs")) || !cJSON_AddNullToObject(doc, "next_after")))
        rc = JQ_CLI_ESERVER;
    bool header = !cli->json;
    do {
        cJSON *page = NULL;
        page_path(path, sizeof(path), a, after);
        if (rc || (rc = jq_cli_get_json(cli, path, &page)) != 0)
            break;
        next = 0;
        jq_cli_int(page, "next_after", &next);
        if (cli->json && !a->all)
            rc = print_json(page);
        if (header)
            jq_cli_table_header();
        header = false;
        take_page(cli, page, merged, width);
        cJSON_Delete(page);
        after = next;
    } while (a->all && next > 0);
    if (rc == 0 && doc)
        rc = print_json(doc);
    cJSON_Delete(doc);
    if (rc == 0 && next > 0 && !a->all && !cli->json && isatty(STDERR_FILENO))
        fprintf(stderr, "(more: jobq ls --after %lld, or --all)\n", (long long)next);
    return rc == 0 && fflush(stdout) != 0 ? JQ_CLI_ESERVER : rc;
}

int jq_cli_cmd_ls(int argc, char **argv, const char *url, bool json)
{
    static const struct option extra[] = {
        {"state", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'n'},
        {"after", required_argument, NULL, OPT_AFTER},
        {"all", no_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    struct ls_args a = {0};
    struct jq_cli_opts o = {.usage = ls_usage, .extra = extra, .shortopts = "hs:n:a", .on_option = ls_option,
                            .ctx = &a, .want_operands = 0, .url = url, .json = json};
    struct jq_cli cli;
    int rc = jq_cli_opts_parse(&o, argc, argv);
    if (rc || o.help || (rc = jq_cli_open(&cli, o.url, o.json)))
        return rc;
    rc = list(&cli, &a);
    jq_cli_close(&cli);
    return rc;
}
