/* test_auth.c: who may talk to jobqd — bearer tokens (missing, wrong, a
 * prefix of the right one, over-long, another scheme), throttling of
 * failures per client address, the token kept out of logs, jobs and
 * workers, the refusal to serve a public address without a token, and
 * native TLS (1.2 and newer only). A real jobqd over real sockets. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"
#include "jq_limits.h"

#define TOKEN "s3cret-token-for-the-tests-0123456789"

struct call {
    const char *path;
    const char *auth;      /* full header line, or NULL */
    const char *iface;     /* local address to connect from, or NULL */
    const char *cacert;    /* PEM: use https and trust it; NULL = http */
    long tls_max;          /* CURL_SSLVERSION_MAX_*, 0 = default */
};

struct answer {
    long status;           /* 0 = transport failure */
    char www_auth[128];
    char retry_after[32];
};

static size_t ignore_body(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static void grab(char *dst, size_t cap, const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0)
        return;
    size_t v = len - nl;
    while (v && (line[nl + v - 1] == '\r' || line[nl + v - 1] == '\n'))
        v--;
    snprintf(dst, cap, "%.*s", (int)v, line + nl);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct answer *a = ud;
    grab(a->www_auth, sizeof a->www_auth, p, sz * n, "WWW-Authenticate: ");
    grab(a->retry_after, sizeof a->retry_after, p, sz * n, "Retry-After: ");
    return sz * n;
}

static struct answer do_call(const struct jq_it_server *srv, const struct call *c)
{
    struct answer a = {0};
    char url[512];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", c->cacert ? "https" : "http", (unsigned)srv->port, c->path);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = c->auth ? curl_slist_append(NULL, c->auth) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ignore_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (c->iface)
        curl_easy_setopt(h, CURLOPT_INTERFACE, c->iface);
    if (c->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    if (c->tls_max)
        curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_0 | c->tls_max);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return a;
}

static struct answer get_with(const struct jq_it_server *srv, const char *path, const char *auth)
{
    struct call c = {.path = path, .auth = auth};
    return do_call(srv, &c);
}

static void start_with_token(struct jq_it_server *srv)
{
    static const char *const env[] = {"JOBQ_TOKEN=" TOKEN, NULL};
    jq_it_start(srv, NULL, env);
}

static bool log_contains(const struct jq_it_server *srv, const char *needle)
{
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "grep -qF -- '%s' '%s'", needle, srv->log_path);
    return system(cmd) == 0;
}

static void token_required(void)
{
    struct jq_it_server srv;
    start_with_token(&srv);
    static char longtok[3000];
    memset(longtok, 'a', sizeof longtok - 1);
    memcpy(longtok, "Authorization: Bearer ", 22);
    const char *wrong[] = {NULL, "Authorization: Bearer nope", "Authorization: Bearer s3cret-token",
                           "Authorization: Bearer " TOKEN "x", "Authorization: Basic " TOKEN, longtok};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        struct answer a = get_with(&srv, "/v1/jobs", wrong[i]);
        ASSERT_EQ(a.status, 401);
        ASSERT_STREQ(a.www_auth, "Bearer realm=\"jobq\"");
    }
    ASSERT_EQ(get_with(&srv, "/v1/jobs", "Authorization: Bearer " TOKEN).status, 200);
    ASSERT_EQ(get_with(&srv, "/v1/jobs", "Authorization: bearer " TOKEN).status, 200);
    ASSERT_EQ(get_with(&srv, "/healthz", NULL).status, 200);
    ASSERT_EQ(get_with(&srv, "/readyz", NULL).status, 401);
    ASSERT_EQ(get_with(&srv, "/nope", NULL).status, 401); /* no route map for strangers */
    /* Refused before the body is read: a 401, not a 413. */
    const char raw[] = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n";
    ASSERT_EQ(jq_it_raw_status(&srv, raw, sizeof raw - 1), 401);
    ASSERT_TRUE(!log_contains(&srv, TOKEN));
    jq_it_finish(&srv);
}

static void failures_throttled_per_address(void)
{
    struct jq_it_server srv;
    start_with_token(&srv);
    struct call bad = {.path = "/v1/jobs", .auth = "Authorization: Bearer wrong", .iface = "127.0.0.2"};
    for (int i = 0; i < JQ_AUTH_MAX_FAILURES; i++)
        ASSERT_EQ(do_call(&srv, &bad).status, 401);
    struct answer a = do_call(&srv, &bad);
    ASSERT_EQ(a.status, 429);
    ASSERT_TRUE(atoi(a.retry_after) >= 1 && atoi(a.retry_after) <= 60);
    struct call right = {.path = "/v1/jobs", .auth = "Authorization: Bearer " TOKEN, .iface = "127.0.0.2"};
    ASSERT_EQ(do_call(&srv, &right).status, 429); /* no more guesses from there */
    right.iface = "127.0.0.1";
    ASSERT_EQ(do_call(&srv, &right).status, 200); /* other addresses unaffected */
    jq_it_finish(&srv);
}

/* The token reaches neither a job's environment nor a worker's. */
static void token_not_inherited(void)
{
    struct jq_it_server srv;
    start_with_token(&srv);
    const char *auth[] = {"Authorization: Bearer " TOKEN, NULL};
    struct jq_it_resp r;
    ASSERT_EQ(jq_it_request(&srv, "POST", "/v1/jobs", "{\"command\":[\"env\"]}", SIZE_MAX,
                            auth, &r), 0);
    ASSERT_EQ(r.status, 201);
    jq_it_resp_cleanup(&r);
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(jq_it_request(&srv, "GET", "/v1/jobs/1?wait=1", NULL, 0, auth, &r), 0);
        bool done = jq_it_state_terminal(jq_it_json_str(r.json, "state"));
        if (done)
            break;
        jq_it_resp_cleanup(&r);
    }
    ASSERT_STREQ(jq_it_json_str(r.json, "state"), "succeeded");
    const char *out = jq_it_json_str(r.json, "stdout");
    ASSERT_TRUE(out && strstr(out, "PATH=") && !strstr(out, "s3cret"));
    jq_it_resp_cleanup(&r);
    pid_t workers[8];
    size_t n = jq_it_workers(&srv, workers, 8);
    ASSERT_TRUE(n >= 1);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "tr '\\0' '\\n' < /proc/%d/environ | grep -q JOBQ_TOKEN", (int)workers[0]);
    ASSERT_TRUE(system(cmd) != 0);
    jq_it_finish(&srv);
}

static void public_address_needs_token(void)
{
    char err[2048];
    const char *args[] = {"--listen", "0.0.0.0:0", "--db", "/nonexistent/never-opened.db", NULL};
    ASSERT_EQ(jq_it_run_jobqd(args, NULL, 0, err, sizeof err), 2);
    ASSERT_TRUE(strstr(err, "without a token") != NULL);
    /* Said loudly, it starts (and warns in its log). */
    struct jq_it_server srv;
    const char *const loud[] = {"--listen", "0.0.0.0:0", "--allow-unauthenticated-remote", NULL};
    jq_it_start(&srv, loud, NULL);
    ASSERT_EQ(get_with(&srv, "/v1/jobs", NULL).status, 200);
    ASSERT_TRUE(log_contains(&srv, "WITHOUT AUTHENTICATION"));
    jq_it_finish(&srv);
}

static void bad_token_settings(void)
{
    char err[2048];
    const char *missing[] = {"--token-file", "/nonexistent/token", NULL};
    ASSERT_EQ(jq_it_run_jobqd(missing, NULL, 0, err, sizeof err), 2);
    ASSERT_TRUE(strstr(err, "token file") != NULL);
    char path[] = "/tmp/jq-token-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, "short\n", 6), 6);
    close(fd);
    const char *shortf[] = {"--token-file", path, NULL};
    ASSERT_EQ(jq_it_run_jobqd(shortf, NULL, 0, err, sizeof err), 2);
    ASSERT_TRUE(strstr(err, "at least") != NULL);
    unlink(path);
    const char *half_tls[] = {"--tls-cert", "/x.pem", NULL};
    ASSERT_EQ(jq_it_run_jobqd(half_tls, NULL, 0, err, sizeof err), 2);
}

static void tls_serves_https(void)
{
    struct jq_it_server srv;
    char dir[] = "/tmp/jq-tls-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char cmd[512], cert[64], key[64];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s -out %s "
             "-days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    ASSERT_EQ(system(cmd), 0);
    const char *const args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    jq_it_start(&srv, args, NULL);
    struct call https = {.path = "/healthz", .cacert = cert};
    ASSERT_EQ(do_call(&srv, &https).status, 200);
    https.tls_max = CURL_SSLVERSION_MAX_TLSv1_1;
    ASSERT_EQ(do_call(&srv, &https).status, 0); /* TLS 1.1 refused */
    struct call plain = {.path = "/healthz"};
    ASSERT_TRUE(do_call(&srv, &plain).status != 200);
    jq_it_finish(&srv);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

static const struct jq_test_case cases[] = {
    {"token_required", token_required},
    {"failures_throttled_per_address", failures_throttled_per_address},
    {"token_not_inherited", token_not_inherited},
    {"public_address_needs_token", public_address_needs_token},
    {"bad_token_settings", bad_token_settings},
    {"tls_serves_https", tls_serves_https},
};

JQ_TEST_MAIN(cases)
