/* trusted_path.h: which file a path really names, walked one component at
 * a time like realpath(3) but trusting nothing that a user other than root
 * or this process's own could change — the base of the command allowlist
 * (docs/security.md). A symbolic link is followed only where it sits in
 * such a trusted directory, so no job can retarget it later. */
#ifndef JQ_TRUSTED_PATH_H
#define JQ_TRUSTED_PATH_H

#include <stddef.h>
#include "err.h"

/* Resolve the absolute path to its canonical form in out (cap bytes). Every
 * directory walked through, the links' targets included, must be owned by
 * root or the effective uid and not writable by group or others; so must
 * the target, which must be a regular file. Returns 0, or JQ_EINVAL with
 * the reason (naming the offending path) in why (why_cap bytes). */
JQ_MUST_CHECK int jq_trusted_resolve(const char *path, char *out, size_t cap, char *why, size_t why_cap);

/* The file a job's argv0 runs, resolved as above: a name without '/' is
 * looked up like the executor does (the first executable regular file in
 * the job's fixed PATH, whose directories before and including it must be
 * trusted too); a path with '/' must be absolute (a relative one would
 * depend on the job's working directory). Returns 0 or JQ_EINVAL (why set). */
JQ_MUST_CHECK int jq_trusted_find_command(const char *argv0, char *out, size_t cap, char *why, size_t why_cap);

#endif
