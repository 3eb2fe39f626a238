/* config.c: where the client connects and how it authenticates — the URL
 * from --url, $JOBQ_URL or the default, and the bearer token from
 * $JOBQ_TOKEN or the file named by $JOBQ_TOKEN_FILE (never a flag: a flag
 * would show in ps). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jq_limits.h"

#define JQ_CLI_DEFAULT_URL "http://127.0.0.1:8080"

static int set_url(struct jq_cli *cli, const char *url_opt)
{
    const char *url = url_opt ? url_opt : getenv("JOBQ_URL");
    if (!url || !*url)
        url = JQ_CLI_DEFAULT_URL;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(cli->url)) {
        jq_cli_err("bad server URL '%s'", url);
        return JQ_CLI_EUSAGE;
    }
    /* A bare host:port means http, like curl does. */
    const char *scheme = strstr(url, "://") ? "" : "http://";
    if (strlen(scheme) + n >= sizeof(cli->url)) {
        jq_cli_err("server URL too long");
        return JQ_CLI_EUSAGE;
    }
    snprintf(cli->url, sizeof(cli->url), "%s%.*s", scheme, (int)n, url);
    return 0;
}

/* Read the token file: the first line, a trailing newline ignored. */
static int read_token_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        jq_cli_err("cannot read JOBQ_TOKEN_FILE %s: %s", path, strerror(errno));
        return JQ_CLI_EUSAGE;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    int rc = ferror(f) ? JQ_CLI_EUSAGE : 0;
    fclose(f);
    buf[n] = '\0';
    if (rc) {
        jq_cli_err("cannot read JOBQ_TOKEN_FILE %s", path);
        return rc;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int set_token(struct jq_cli *cli)
{
    char file_buf[JQ_MAX_TOKEN_BYTES + 2];
    const char *token = getenv("JOBQ_TOKEN");
    const char *file = getenv("JOBQ_TOKEN_FILE");
    if ((!token || !*token) && file && *file) {
        int rc = read_token_file(file, file_buf, sizeof(file_buf));
        if (rc)
            return rc;
        token = file_buf;
    }
    if (!token || !*token)
        return 0;
    if (strlen(token) > JQ_MAX_TOKEN_BYTES || strpbrk(token, "\r\n")) {
        jq_cli_err("the token is too long or has a line break");
        return JQ_CLI_EUSAGE;
    }
    size_t cap = strlen(token) + 32;
    if (!(cli->auth_header = malloc(cap))) {
        jq_cli_err("out of memory");
        return JQ_CLI_ESERVER;
    }
    snprintf(cli->auth_header, cap, "Authorization: Bearer %s", token);
    explicit_bzero(file_buf, sizeof(file_buf));
    return 0;
}

int jq_cli_open(struct jq_cli *cli, const char *url_opt, bool json)
{
    memset(cli, 0, sizeof(*cli));
    cli->json = json;
    cli->progress = isatty(STDERR_FILENO) == 1;
    int rc = set_url(cli, url_opt);
    if (rc == 0)
        rc = set_token(cli);
    if (rc == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        rc = JQ_CLI_ESERVER;
    if (rc == 0 && !(cli->curl = curl_easy_init()))
        rc = JQ_CLI_ESERVER;
    if (rc == JQ_CLI_ESERVER)
        jq_cli_err("cannot initialise libcurl");
    if (rc)
        jq_cli_close(cli);
    return rc;
}

void jq_cli_close(struct jq_cli *cli)
{
    if (cli->curl) {
        curl_easy_cleanup(cli->curl);
        curl_global_cleanup();
    }
    cli->curl = NULL;
    if (cli->auth_header) {
        explicit_bzero(cli->auth_header, strlen(cli->auth_header));
        free(cli->auth_header);
    }
    cli->auth_header = NULL;
}
