/* main.c: jobq, the command-line client of jobqd — the global options
 * (--url, --cacert, --json, --help, --version) and the dispatch to one
 * command. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: jobq [--url URL] [--cacert FILE] [--json] COMMAND [ARGS...]\n"
    "A client for the jobq job-queue server.\n"
    "\n"
    "commands:\n"
    "  run [OPTIONS] -- CMD ARGS...   run a job, print its output, exit with its status\n"
    "  submit [OPTIONS] -- CMD ARGS.. queue a job and print its id\n"
    "  get ID                         show a job\n"
    "  wait ID [--timeout D]          wait for a job and exit with its status\n"
    "  ls [--state S] [--limit N] [--after ID] [--all]   list jobs\n"
    "  cancel ID                      cancel a queued or running job\n"
    "  logs ID [--stderr]             print a job's stdout (or stderr), byte-exact\n"
    "\n"
    "  --url URL    the server (default $JOBQ_URL, else http://127.0.0.1:8080)\n"
    "  --cacert FILE  trust the CA certificates in FILE for https (default $JOBQ_CACERT,\n"
    "               else the system's)\n"
    "  --json       print the server's JSON (every command)\n"
    "  --help       this help; `jobq COMMAND --help` for a command's options\n"
    "  --version    print the version\n"
    "\n"
    "environment: JOBQ_URL, JOBQ_TOKEN or JOBQ_TOKEN_FILE (the bearer token),\n"
    "JOBQ_CACERT (a CA bundle for https).\n"
    "exit status: a job's own status for run/wait; 1 server error; 2 usage;\n"
    "69 server unreachable or not trusted; 75 try again later (429, or wait timed out);\n"
    "77 token refused; 124 job timed out;\n"
    "125 job could not start, was cancelled, lost or expired; 128+N job killed by signal N;\n"
    "130 interrupted (the job was cancelled).\n";

typedef int (*jq_cli_cmd_fn)(int argc, char **argv, const char *url, bool json);

static const struct {
    const char *name;
    const char *argv0; /* how getopt names the command in its messages */
    jq_cli_cmd_fn fn;
} commands[] = {
    {"run", "jobq run", jq_cli_cmd_run},       {"submit", "jobq submit", jq_cli_cmd_submit},
    {"get", "jobq get", jq_cli_cmd_get},       {"wait", "jobq wait", jq_cli_cmd_wait},
    {"ls", "jobq ls", jq_cli_cmd_ls},          {"cancel", "jobq cancel", jq_cli_cmd_cancel},
    {"logs", "jobq logs", jq_cli_cmd_logs},
};

static int dispatch(int argc, char **argv, const char *url, bool json)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[0], commands[i].name) == 0) {
            argv[0] = (char *)commands[i].argv0;
            return commands[i].fn(argc, argv, url, json);
        }
    }
    fprintf(stderr, "jobq: unknown command '%s'\n", argv[0]);
    return jq_cli_usage_hint(usage);
}

/* --cacert FILE: what JOBQ_CACERT says, for this invocation (http.c reads
 * the variable); a file we cannot read is a usage error, not a TLS one. */
static int use_cacert(const char *path)
{
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "jobq: cannot read the CA file %s: %s\n", path, strerror(errno));
        return -1;
    }
    return setenv("JOBQ_CACERT", path, 1);
}

int main(int argc, char **argv)
{
    enum { OPT_URL = 256, OPT_JSON, OPT_VERSION, OPT_CACERT };
    static const struct option options[] = {
        {"url", required_argument, NULL, OPT_URL}, {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, OPT_VERSION},
        {"cacert", required_argument, NULL, OPT_CACERT}, {NULL, 0, NULL, 0},
    };
    const char *url = NULL;
    bool json = false;
    int c;
    argv[0] = (char *)"jobq";
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (c) {
        case OPT_URL: url = optarg; break;
        case OPT_JSON: json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        case OPT_VERSION: puts("jobq " JQ_VERSION); return 0;
        case OPT_CACERT:
            if (use_cacert(optarg) != 0)
                return JQ_CLI_EUSAGE;
            break;
        default: return jq_cli_usage_hint(usage);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "jobq: no command given\n");
        return jq_cli_usage_hint(usage);
    }
    return dispatch(argc - optind, argv + optind, url, json);
}
