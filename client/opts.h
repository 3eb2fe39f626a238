/* opts.h: the option parser of get, wait, cancel, logs and ls (opts.c). */
#ifndef JQ_CLI_OPTS_H
#define JQ_CLI_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

enum { JQ_CLI_OPT_URL = 1000, JQ_CLI_OPT_JSON, JQ_CLI_OPT_FIRST_EXTRA };

struct jq_cli_opts {
    const char *usage;                  /* printed for --help (stdout) and errors (stderr) */
    const struct option *extra;         /* the command's own options, {0}-terminated, or NULL */
    const char *shortopts;              /* getopt string incl. "h", or NULL for "h" */
    /* Called for each of the command's own options; 0 or -1 (usage error,
     * after printing why). */
    int (*on_option)(struct jq_cli_opts *o, int c, const char *arg);
    void *ctx;                          /* for on_option */
    int want_operands;                  /* exact number of operands */
    /* Filled by parsing. */
    const char *url;                    /* --url, else the caller's initial value */
    bool json;                          /* --json (or the caller's initial value) */
    bool help;                          /* --help was printed: exit 0 */
    char **operands;
    int noperands;
};

/* Returns 0 or JQ_CLI_EUSAGE (usage printed). */
int jq_cli_opts_parse(struct jq_cli_opts *o, int argc, char **argv);
/* jq_cli_opts_parse with one operand, a job id, into *id. */
int jq_cli_opts_id(struct jq_cli_opts *o, int argc, char **argv, int64_t *id);

#endif
