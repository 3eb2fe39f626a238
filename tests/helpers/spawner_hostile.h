/* spawner_hostile.h: the spawner's attacks on its own limits — a fork bomb,
 * a memory hog, a network probe (spawner_hostile.c). */
#ifndef JQ_SPAWNER_HOSTILE_H
#define JQ_SPAWNER_HOSTILE_H

/* Fork until fork fails, in every process of the tree, and keep trying;
 * never more than cap processes in all (a counter in shared memory), so a
 * broken limit cannot take the machine down; every process dies by SIGALRM
 * after 60 s whatever happens. Never returns. */
__attribute__((noreturn)) void hostile_forkbomb(long cap);

/* Allocate bytes and touch every page. Prints "allocated N" and returns, or
 * prints "alloc failed" and exits 4. */
void hostile_alloc(long long bytes);

/* TCP connect to "A.B.C.D:PORT" (1 s at most). Prints "connected" or
 * "connect failed: <reason>". */
void hostile_connect(const char *addr_port);

#endif
