/* auth.c: "Authorization: Bearer <token>" checked in time that depends only
 * on the configured token's length, never on how much of a guess is right.
 * Each client address may fail JQ_AUTH_MAX_FAILURES times per window; after
 * that it gets 429 without its guesses being compared. The table of
 * addresses is fixed-size (a flood of addresses overwrites entries, it
 * never grows). The token is never logged. */
#include "auth.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "jq_limits.h"
#include "job.h"

#define JQ_AUTH_TABLE 256

struct failures {
    unsigned char addr[16]; /* IPv6, or IPv4-mapped */
    int64_t window_start_ms;
    unsigned count;
};

struct jq_auth {
    char *token;
    size_t token_len;
    pthread_mutex_t mu;
    struct failures table[JQ_AUTH_TABLE];
};

int jq_auth_create(struct jq_auth **out, const char *token)
{
    struct jq_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->token = strdup(token))) {
        free(a);
        return JQ_ENOMEM;
    }
    a->token_len = strlen(token);
    pthread_mutex_init(&a->mu, NULL);
    *out = a;
    return 0;
}

void jq_auth_destroy(struct jq_auth *a)
{
    if (!a)
        return;
    memset(a->token, 0, a->token_len);
    free(a->token);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static bool token_matches(const struct jq_auth *a, const char *given)
{
    size_t given_len = strnlen(given, JQ_MAX_TOKEN_BYTES + 1);
    volatile unsigned char diff = given_len != a->token_len;
    for (size_t i = 0; i < a->token_len; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)a->token[i]);
    }
    return diff == 0;
}

static void client_key(struct MHD_Connection *conn, unsigned char key[16])
{
    memset(key, 0, 16);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    } else if (sa && sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    }
}

static struct failures *entry_locked(struct jq_auth *a, const unsigned char key[16], int64_t now)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    struct failures *f = &a->table[h % JQ_AUTH_TABLE];
    if (memcmp(f->addr, key, 16) != 0 || now - f->window_start_ms >= JQ_AUTH_WINDOW_MS) {
        memcpy(f->addr, key, 16);
        f->window_start_ms = now;
        f->count = 0;
    }
    return f;
}

/* The token of an "Authorization: Bearer <token>" header, or NULL. */
static const char *bearer_of(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    static const char scheme[] = "Bearer ";
    if (!h || strncasecmp(h, scheme, sizeof scheme - 1) != 0)
        return NULL;
    return h + sizeof scheme - 1;
}

enum jq_auth_verdict jq_auth_check(struct jq_auth *a, struct MHD_Connection *conn, int64_t *retry_after_s)
{
    unsigned char key[16];
    client_key(conn, key);
    int64_t now = jq_mono_ms();
    pthread_mutex_lock(&a->mu);
    struct failures *f = entry_locked(a, key, now);
    enum jq_auth_verdict v = JQ_AUTH_OK;
    if (f->count >= JQ_AUTH_MAX_FAILURES) {
        v = JQ_AUTH_THROTTLED;
        *retry_after_s = (f->window_start_ms + JQ_AUTH_WINDOW_MS - now + 999) / 1000;
    } else {
        const char *given = bearer_of(conn);
        if (!given || !token_matches(a, given)) {
            f->count++;
            v = JQ_AUTH_DENIED;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return v;
}
