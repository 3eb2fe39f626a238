/* opts.c: the option parsing shared by the commands that take a job id or
 * no operand (get, wait, cancel, logs, ls): --url, --json, --help and the
 * command's own options, then at most the expected operands. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

static int usage_fail(const char *usage)
{
    return jq_cli_usage_hint(usage);
}

int jq_cli_opts_parse(struct jq_cli_opts *o, int argc, char **argv)
{
    struct option all[16];
    size_t n = 0;
    int c;
    for (; o->extra && o->extra[n].name && n < 12; n++)
        all[n] = o->extra[n];
    all[n++] = (struct option){"url", required_argument, NULL, JQ_CLI_OPT_URL};
    all[n++] = (struct option){"json", no_argument, NULL, JQ_CLI_OPT_JSON};
    all[n++] = (struct option){"help", no_argument, NULL, 'h'};
    all[n] = (struct option){NULL, 0, NULL, 0};
    optind = 0;
    while ((c = getopt_long(argc, argv, o->shortopts ? o->shortopts : "h", all, NULL)) != -1) {
        if (c == JQ_CLI_OPT_URL) {
            o->url = optarg;
        } else if (c == JQ_CLI_OPT_JSON) {
            o->json = true;
        } else if (c == 'h') {
            fputs(o->usage, stdout);
            o->help = true;
            return 0;
        } else if (c == '?' || !o->on_option || o->on_option(o, c, optarg) != 0) {
            return usage_fail(o->usage);
        }
    }
    o->operands = argv + optind;
    o->noperands = argc - optind;
    if (o->noperands != o->want_operands) {
        fprintf(stderr, "jobq: %s\n", o->noperands < o->want_operands ? "missing job id" : "too many arguments");
        return usage_fail(o->usage);
    }
    return 0;
}

int jq_cli_opts_id(struct jq_cli_opts *o, int argc, char **argv, int64_t *id)
{
    int rc = jq_cli_opts_parse(o, argc, argv);
    if (rc || o->help)
        return rc;
    return jq_cli_parse_id(o->operands[0], id) == 0 ? 0 : usage_fail(o->usage);
}
