/* config_security.c: the settings that decide who may talk to jobqd — the
 * bearer token (from JOBQ_TOKEN or a file, never from argv where any user
 * could read it in ps), the refusal to serve a non-loopback address without
 * one, and TLS files given as a pair. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

bool jq_config_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* Read at most cap bytes of path (the file of what) into buf
 * (NUL-terminated). */
static int read_small_file(const char *path, const char *what, char *buf, size_t cap, FILE *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fprintf(err, "jobqd: cannot read the %s file %s: %s\n", what, path, strerror(errno));
        return -1;
    }
    size_t len = 0;
    ssize_t n;
    while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)n;
    char extra;
    bool too_long = len == cap && read(fd, &extra, 1) == 1;
    close(fd);
    buf[len] = '\0';
    if (too_long) {
        fprintf(err, "jobqd: the %s in %s is longer than %zu bytes\n", what, path, cap);
        return -1;
    }
    return 0;
}

/* A token is printable ASCII without spaces (it travels in a header); a
 * trailing newline of the file is not part of it. */
static bool token_ok(char *token, FILE *err)
{
    size_t len = strlen(token);
    while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r'))
        token[--len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (!isgraph((unsigned char)token[i])) {
            fprintf(err, "jobqd: the token must be printable ASCII without spaces\n");
            return false;
        }
    }
    if (len < JQ_MIN_TOKEN_BYTES) {
        fprintf(err, "jobqd: the token must be at least %d characters long\n", JQ_MIN_TOKEN_BYTES);
        return false;
    }
    return true;
}

static bool load_token(struct jq_config *cfg, FILE *err)
{
    const char *env = getenv("JOBQ_TOKEN");
    if (env && *env) {
        if (strlen(env) > JQ_MAX_TOKEN_BYTES) {
            fprintf(err, "jobqd: JOBQ_TOKEN is longer than %d bytes\n", JQ_MAX_TOKEN_BYTES);
            return false;
        }
        snprintf(cfg->token, sizeof cfg->token, "%s", env);
    } else if (cfg->token_file[0]) {
        if (read_small_file(cfg->token_file, "token", cfg->token, JQ_MAX_TOKEN_BYTES, err) != 0)
            return false;
    } else {
        return true;
    }
    unsetenv("JOBQ_TOKEN");
    return token_ok(cfg->token, err);
}

/* The callbacks' HMAC key: the file's bytes but a trailing newline, at
 * least JQ_MIN_TOKEN_BYTES of them. */
static bool load_callback_secret(struct jq_config *cfg, FILE *err)
{
    if (!cfg->callback_secret_file[0])
        return true;
    if (read_small_file(cfg->callback_secret_file, "callback secret", cfg->callback_secret, JQ_MAX_TOKEN_BYTES,
                        err) != 0)
        return false;
    size_t len = strlen(cfg->callback_secret);
    while (len > 0 && (cfg->callback_secret[len - 1] == '\n' || cfg->callback_secret[len - 1] == '\r'))
        cfg->callback_secret[--len] = '\0';
    if (len < JQ_MIN_TOKEN_BYTES) {
        fprintf(err, "jobqd: the callback secret must be at least %d bytes long\n", JQ_MIN_TOKEN_BYTES);
        return false;
    }
    return true;
}

enum jq_config_outcome jq_config_check_security(struct jq_config *cfg, FILE *err)
{
    if (!load_token(cfg, err) || !load_callback_secret(cfg, err))
        return JQ_CONFIG_BAD;
    if (!cfg->token[0] && !jq_config_is_loopback(cfg->listen_host) && !cfg->allow_unauthenticated_remote) {
        fprintf(err, "jobqd: refusing to serve %s without a token: anyone who can reach it could run "
                     "commands here. Set --token-file (or JOBQ_TOKEN), or listen on 127.0.0.1, or pass "
                     "--allow-unauthenticated-remote if you really mean it.\n",
                cfg->listen_host);
        return JQ_CONFIG_BAD;
    }
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        fprintf(err, "jobqd: --tls-cert and --tls-key go together\n");
        return JQ_CONFIG_BAD;
    }
    return JQ_CONFIG_RUN;
}
