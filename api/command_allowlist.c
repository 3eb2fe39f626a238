/* command_allowlist.c: the operator's command allowlist at submission. A
 * job's command[0] is resolved as the executor will find it (the fixed
 * PATH for a bare name) and walked to its canonical path without trusting
 * anything others could change (core/trusted_path.h); it may run only when
 * that path is one the operator listed (resolved the same way at start-up,
 * service/config_allowlist.c). Anything else is 403 command_not_allowed,
 * before anything is stored. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "job_json.h"
#include "trusted_path.h"

static bool listed(const struct jq_api *api, const char *canon)
{
    const char *list = api->allowed_commands;
    for (size_t at = 0; at < api->allowed_commands_len; at += strlen(list + at) + 1)
        if (strcmp(list + at, canon) == 0)
            return true;
    return false;
}

/* NULL when argv0 may run; else why not (in why). */
static const char *refusal(const struct jq_api *api, const char *argv0, char *why, size_t cap)
{
    char canon[PATH_MAX];
    if (jq_trusted_find_command(argv0, canon, sizeof canon, why, cap) != 0)
        return why;
    if (listed(api, canon))
        return NULL;
    snprintf(why, cap, "%.512s is not in the command allowlist", canon);
    return why;
}

bool jq_allowlist_refuses(struct jq_request *req, const struct jq_submission *sub, enum MHD_Result *reply)
{
    const struct jq_api *api = req->api;
    const char *allowed_argv0 = NULL; /* batches often repeat one command */
    if (api->allowed_commands_len == 0)
        return false;
    for (size_t i = 0; i < sub->n; i++) {
        const char *argv0 = sub->specs[i].argv[0];
        char why[600], msg[900], prefix[32] = "";
        if (allowed_argv0 && strcmp(allowed_argv0, argv0) == 0)
            continue;
        if (!refusal(api, argv0, why, sizeof why)) {
            allowed_argv0 = argv0;
            continue;
        }
        if (sub->is_batch)
            snprintf(prefix, sizeof prefix, "jobs[%zu].", i);
        snprintf(msg, sizeof msg, "%scommand[0] \"%.128s\" may not run on this server: %s", prefix, argv0, why);
        *reply = jq_reply_error(req, MHD_HTTP_FORBIDDEN, "command_not_allowed", msg);
        return true;
    }
    return false;
}
