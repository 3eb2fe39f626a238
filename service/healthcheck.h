/* healthcheck.h: `jobqd healthcheck`, the container's HEALTHCHECK. It asks
 * the running server GET /healthz over plain TCP at the address the server
 * itself would read (JOBQ_LISTEN, or --listen), so an image needs no curl. */
#ifndef JQ_HEALTHCHECK_H
#define JQ_HEALTHCHECK_H

#include <stdbool.h>
#include <stdio.h>

/* True when argv[1] is "healthcheck". */
bool jq_healthcheck_is_invocation(int argc, char **argv);

/* Run the subcommand; argv[0] is "healthcheck", then optional
 * --listen HOST:PORT and --port-file PATH (read when the port is 0), which
 * win over JOBQ_LISTEN and JOBQ_PORT_FILE. Wildcard addresses are probed on
 * loopback (0.0.0.0 -> 127.0.0.1, :: -> ::1). Prints one line to out and
 * returns the exit status: 0 when the server answered 200 within 3 s, 1
 * otherwise (Docker reserves 2). */
int jq_healthcheck_run(int argc, char **argv, FILE *out);

#endif
