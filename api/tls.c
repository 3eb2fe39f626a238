/* tls.c: the certificate and key of --tls-cert / --tls-key, read into
 * memory for libmicrohttpd (GnuTLS), and the protocol floor: TLS 1.2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "log.h"

/* GnuTLS priorities: its defaults, but nothing older than TLS 1.2. */
const char *const jq_tls_priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

#define JQ_TLS_MAX_PEM_BYTES (1024 * 1024)

static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf = f ? malloc(JQ_TLS_MAX_PEM_BYTES + 1) : NULL;
    size_t len = buf ? fread(buf, 1, JQ_TLS_MAX_PEM_BYTES, f) : 0;
    int saved = errno;
    if (f)
        fclose(f);
    if (!buf || len == 0 || len == JQ_TLS_MAX_PEM_BYTES) {
        jq_log_errno(JQ_LOG_ERR, buf ? 0 : saved, "cannot read the TLS file %s (missing, empty or over 1 MiB)", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

int jq_tls_load(struct jq_api *api, const char *cert_path, const char *key_path)
{
    api->tls_cert_pem = read_pem(cert_path);
    api->tls_key_pem = api->tls_cert_pem ? read_pem(key_path) : NULL;
    return api->tls_key_pem ? 0 : JQ_EINVAL;
}

void jq_tls_free(struct jq_api *api)
{
    free(api->tls_cert_pem);
    if (api->tls_key_pem)
        memset(api->tls_key_pem, 0, strlen(api->tls_key_pem));
    free(api->tls_key_pem);
}
