/* fault.h: deterministic crash points for the fault tests. They exist only
 * in a build configured with -DJQ_FAULT_POINTS=ON (the test builds); there,
 * JOBQ_FAULT_POINT=<name> in a process's environment makes it kill itself
 * with SIGKILL the first time it reaches the point of that name, and
 * JOBQ_FAULT_SKIP=<n> lets the first n passes through go by. In any other
 * build JQ_FAULT() compiles to nothing. The names are listed in
 * docs/testing.md. */
#ifndef JQ_FAULT_H
#define JQ_FAULT_H

#ifdef JQ_FAULT_POINTS
void jq_fault_point(const char *name);
#define JQ_FAULT(name) jq_fault_point(name)
#else
#define JQ_FAULT(name) ((void)0)
#endif

#endif
