/* env_policy.h: environment names a job may not set, because they make a
 * program run or load code other than the command the request names (the
 * dynamic loader, the C library, shells, language runtimes). The list and
 * its reasons are in docs/security.md. */
#ifndef JQ_ENV_POLICY_H
#define JQ_ENV_POLICY_H

/* NULL when a job may set name; otherwise why not, as a short phrase
 * ("makes the dynamic loader load other code"). Case-sensitive, as the
 * programs that read these names are. */
const char *jq_env_policy_why_denied(const char *name);

#endif
