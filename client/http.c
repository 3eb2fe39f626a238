/* http.c: the client's only libcurl code. One request at a time on one
 * reusable handle (keep-alive); bodies are collected in memory (capped) or
 * streamed byte-exact to a descriptor; every failure becomes one line on
 * stderr and an exit status: transport errors name the URL (69), 401 says
 * the token was refused (77), 429 says to try again later (75), other
 * 4xx/5xx print the server's message; an untrusted certificate says how to
 * trust it. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "jq_limits.h"

/* Largest body kept in memory: a job with two 64 MiB streams in base64. */
#define JQ_CLI_MAX_BODY_BYTES ((size_t)256 * 1024 * 1024)

struct xfer {
    CURL *curl;
    struct jq_cli_resp *resp;
    const volatile sig_atomic_t *stop;
    int write_errno;
    char retry_after[32];
};

void jq_cli_resp_init(struct jq_cli_resp *r, int sink_fd)
{
    memset(r, 0, sizeof(*r));
    r->sink_fd = sink_fd;
}

void jq_cli_resp_cleanup(struct jq_cli_resp *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    r->body = NULL;
    r->json = NULL;
    r->len = 0;
}

int jq_cli_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int collect(struct jq_cli_resp *r, const char *p, size_t n)
{
    if (n > JQ_CLI_MAX_BODY_BYTES - r->len)
        return EFBIG;
    char *b = realloc(r->body, r->len + n + 1);
    if (!b)
        return ENOMEM;
    memcpy(b + r->len, p, n);
    r->len += n;
    b[r->len] = '\0';
    r->body = b;
    return 0;
}

static size_t on_body(char *p, size_t sz, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = sz * nmemb;
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    bool ok = status >= 200 && status < 300;
    if (ok && x->resp->sink)
        return x->resp->sink(x->resp->sink_ctx, p, n);
    bool sink = x->resp->sink_fd >= 0 && ok;
    x->write_errno = sink ? jq_cli_write_all(x->resp->sink_fd, p, n) : collect(x->resp, p, n);
    return x->write_errno ? 0 : n;
}

static size_t on_header(char *p, size_t sz, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = sz * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        size_t vl = n - (sizeof(name) - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        snprintf(x->retry_after, sizeof(x->retry_after), "%.*s", (int)vl, v);
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const struct xfer *x = ud;
    if (x->resp->tick)
        x->resp->tick(x->resp->sink_ctx);
    return x->stop && *x->stop ? 1 : 0;
}

static struct curl_slist *make_headers(const struct jq_cli *cli, bool has_body)
{
    struct curl_slist *h = NULL, *t;
    if (has_body && (t = curl_slist_append(h, "Content-Type: application/json")))
        h = t;
    if (cli->auth_header && (t = curl_slist_append(h, cli->auth_header)))
        h = t;
    char idem[JQ_MAX_IDEMPOTENCY_KEY_BYTES + 32];
    snprintf(idem, sizeof(idem), "Idempotency-Key: %s", cli->idempotency_key ? cli->idempotency_key : "");
    if (has_body && cli->idempotency_key && (t = curl_slist_append(h, idem)))
        h = t;
    if ((t = curl_slist_append(h, "Expect:"))) /* no 100-continue round trip */
        h = t;
    return h;
}

static void setup(struct jq_cli *cli, struct xfer *x, const char *method, const char *url, const char *body,
                  long timeout_s, struct curl_slist *headers)
{
    CURL *c = cli->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "jobq/" JQ_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    const char *ca = getenv("JOBQ_CACERT");
    if (ca && *ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

/* The message of a non-2xx answer; returns its exit status. */
static int report_status(const struct jq_cli *cli, const struct xfer *x)
{
    const struct jq_cli_resp *r = x->resp;
    if (r->quiet_status && r->status == r->quiet_status)
        return JQ_CLI_ESERVER;
    if (r->status == 401) {
        if (cli->auth_header)
            jq_cli_err("the server at %s refused the token (401)", cli->url);
        else
            jq_cli_err("the server at %s requires a token (401): set JOBQ_TOKEN or JOBQ_TOKEN_FILE", cli->url);
        return JQ_CLI_ENOPERM;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");
    const char *msg = jq_cli_str(e, "message"), *code = jq_cli_str(e, "code");
    if (r->status == 429) {
        const char *why = code && strcmp(code, "queue_full") == 0
                              ? "its queue is full, nothing was submitted (429 queue_full)"
                              : "it refuses this address after too many failed authentications (429)";
        jq_cli_err("the server at %s says try again later: %s%s%s%s", cli->url, why,
                   *x->retry_after ? "; retry after " : "", x->retry_after, *x->retry_after ? " s" : "");
        return JQ_CLI_ELATER;
    }
    if (msg)
        jq_cli_err("%s (%ld %s)", msg, r->status, code ? code : "");
    else
        jq_cli_err("the server at %s answered HTTP %ld", cli->url, r->status);
    return JQ_CLI_ESERVER;
}

static int report_transport(const struct jq_cli *cli, const struct xfer *x, CURLcode cc, const char *errbuf)
{
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return JQ_CLI_INTERRUPTED;
    if (cc == CURLE_WRITE_ERROR && x->write_errno) {
        jq_cli_err("cannot write the output: %s", strerror(x->write_errno));
        return JQ_CLI_ESERVER;
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
        jq_cli_err("the jobq server at %s has a certificate this client does not trust (%s): give its CA "
                   "with --cacert FILE or JOBQ_CACERT", cli->url, *errbuf ? errbuf : curl_easy_strerror(cc));
        return JQ_CLI_EUNAVAIL;
    }
    jq_cli_err("cannot reach the jobq server at %s: %s", cli->url, *errbuf ? errbuf : curl_easy_strerror(cc));
    return JQ_CLI_EUNAVAIL;
}

int jq_cli_http(struct jq_cli *cli, const char *method, const char *path, const char *body, long timeout_s,
                const volatile sig_atomic_t *stop, struct jq_cli_resp *out)
{
    char url[sizeof(cli->url) + 256], errbuf[CURL_ERROR_SIZE] = "";
    struct xfer x = {.curl = cli->curl, .resp = out, .stop = stop};
    struct curl_slist *headers = make_headers(cli, body != NULL);
    snprintf(url, sizeof(url), "%s%s", cli->url, path);
    setup(cli, &x, method, url, body, timeout_s, headers);
    curl_easy_setopt(cli->curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(cli->curl);
    curl_easy_getinfo(cli->curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_setopt(cli->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    if (out->body)
        out->json = cJSON_ParseWithLength(out->body, out->len);
    if (cc != CURLE_OK)
        return report_transport(cli, &x, cc, errbuf);
    if (out->status < 200 || out->status >= 300)
        return report_status(cli, &x);
    return 0;
}

int jq_cli_get_json(struct jq_cli *cli, const char *path, cJSON **out)
{
    struct jq_cli_resp r;
    jq_cli_resp_init(&r, -1);
    *out = NULL;
    int rc = jq_cli_http(cli, "GET", path, NULL, 90, NULL, &r);
    if (rc == 0 && !cJSON_IsObject(r.json)) {
        jq_cli_err("the server at %s sent a reply that is not a JSON object", cli->url);
        rc = JQ_CLI_ESERVER;
    }
    if (rc == 0) {
        *out = r.json;
        r.json = NULL;
    }
    jq_cli_resp_cleanup(&r);
    return rc;
}

int jq_cli_print_body(const struct jq_cli_resp *r)
{
    if (r->len > 0 && fwrite(r->body, 1, r->len, stdout) != r->len)
        return JQ_CLI_ESERVER;
    if (r->len > 0 && r->body[r->len - 1] != '\n')
        putchar('\n');
    return fflush(stdout) == 0 ? 0 : JQ_CLI_ESERVER;
}
