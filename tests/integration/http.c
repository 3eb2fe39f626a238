/* http.c: the integration tests' HTTP client (libcurl, one easy handle per
 * request, never through a proxy), raw-socket requests for what curl will
 * not send, and the job helpers built on them (submit, get, long-poll). */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#define REQUEST_TIMEOUT_MS 45000L
#define MAX_RESPONSE_BYTES (64u * 1024 * 1024)

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct jq_it_resp *r = arg;
    size_t n = size * nmemb;
    if (r->body_len + n > MAX_RESPONSE_BYTES)
        return 0; /* fails the transfer */
    char *p = realloc(r->body, r->body_len + n + 1);
    if (!p)
        return 0;
    memcpy(p + r->body_len, data, n);
    r->body = p;
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t len)
{
    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct jq_it_resp *r = arg;
    size_t n = size * nmemb;
    static const struct {
        const char *name;
        size_t off, cap;
    } wanted[] = {
        {"location:", offsetof(struct jq_it_resp, location), sizeof(((struct jq_it_resp *)0)->location)},
        {"allow:", offsetof(struct jq_it_resp, allow), sizeof(((struct jq_it_resp *)0)->allow)},
        {"content-type:", offsetof(struct jq_it_resp, content_type), sizeof(((struct jq_it_resp *)0)->content_type)},
        {"retry-after:", offsetof(struct jq_it_resp, retry_after), sizeof(((struct jq_it_resp *)0)->retry_after)},
    };
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after 100 Continue) */
        r->location[0] = r->allow[0] = r->content_type[0] = r->retry_after[0] = '\0';
        return n;
    }
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t len = strlen(wanted[i].name);
        if (n > len && strncasecmp(data, wanted[i].name, len) == 0)
            copy_value((char *)r + wanted[i].off, wanted[i].cap, data + len, n - len);
    }
    return n;
}

static struct curl_slist *make_headers(const char *body, const char *const *headers)
{
    struct curl_slist *list = NULL;
    bool has_type = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        list = curl_slist_append(list, headers[i]);
        has_type = has_type || strncasecmp(headers[i], "Content-Type:", 13) == 0;
    }
    if (body && !has_type)
        list = curl_slist_append(list, "Content-Type: application/json");
    return list;
}

int jq_it_request(const struct jq_it_server *srv, const char *method, const char *path, const char *body,
                  size_t body_len, const char *const *headers, struct jq_it_resp *out)
{
    char url[1024];
    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)srv->port, path);
    CURL *c = curl_easy_init();
    if (!c)
        return CURLE_FAILED_INIT;
    struct curl_slist *hl = make_headers(body, headers);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body_len == SIZE_MAX ? strlen(body) : body_len));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "%s %s: %s\n", method, path, curl_easy_strerror(rc));
        return (int)rc;
    }
    if (!out->body) {
        out->body = calloc(1, 1);
        if (!out->body)
            return CURLE_OUT_OF_MEMORY;
    }
    out->json = cJSON_ParseWithLength(out->body, out->body_len);
    return 0;
}

void jq_it_resp_cleanup(struct jq_it_resp *r)
{
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

static void must(int rc, const char *method, const char *path)
{
    if (rc != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "%s %s failed: %s", method, path, curl_easy_strerror((CURLcode)rc));
}

void jq_it_get(const struct jq_it_server *srv, const char *path, struct jq_it_resp *out)
{
    must(jq_it_request(srv, "GET", path, NULL, 0, NULL, out), "GET", path);
}

void jq_it_post(const struct jq_it_server *srv, const char *path, const char *json, struct jq_it_resp *out)
{
    must(jq_it_request(srv, "POST", path, json, SIZE_MAX, NULL, out), "POST", path);
}

void jq_it_delete(const struct jq_it_server *srv, const char *path, struct jq_it_resp *out)
{
    must(jq_it_request(srv, "DELETE", path, NULL, 0, NULL, out), "DELETE", path);
}

void jq_it_assert_error_at(const char *file, int line, const struct jq_it_resp *r, long status, const char *code)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(r->json, "error");
    const char *got = jq_it_json_str(err, "code"), *msg = jq_it_json_str(err, "message");
    if (r->status != status || !got || strcmp(got, code) != 0 || !msg || !*msg ||
        strncmp(r->content_type, "application/json", 16) != 0 || cJSON_GetArraySize(r->json) != 1)
        JQ_FAIL_AT(file, line, "want %ld %s, got %ld (Content-Type '%s'): %.500s", status, code, r->status,
                   r->content_type, r->body ? r->body : "(no body)");
}

/* ---- raw requests ---- */

static int connect_loopback(uint16_t port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int jq_it_raw_status(const struct jq_it_server *srv, const char *request, size_t len)
{
    char reply[4096];
    size_t got = 0;
    int fd = connect_loopback(srv->port);
    if (fd < 0)
        return -1;
    for (size_t sent = 0; sent < len;) {
        ssize_t w = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        sent += (size_t)w;
    }
    int64_t end = jq_it_now_ms() + 3000;
    while (got < sizeof(reply) - 1 && !memchr(reply, '\n', got) && jq_it_now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(end - jq_it_now_ms())) <= 0)
            break;
        ssize_t n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    reply[got] = '\0';
    int status = -1;
    if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    return status;
}

/* ---- jobs ---- */

int64_t jq_it_submit(const struct jq_it_server *srv, const char *job_json)
{
    struct jq_it_resp r;
    char want[64];
    jq_it_post(srv, "/v1/jobs", job_json, &r);
    long long id = jq_it_json_int(r.json, "id", -1);
    snprintf(want, sizeof(want), "/v1/jobs/%lld", id);
    if (r.status != 201 || id <= 0 || strcmp(r.location, want) != 0)
        JQ_FAIL_AT(__FILE__, __LINE__, "submit %s: want 201 with Location %s, got %ld '%s': %.500s", job_json,
                   want, r.status, r.location, r.body);
    jq_it_resp_cleanup(&r);
    return id;
}

cJSON *jq_it_job(const struct jq_it_server *srv, int64_t id, double wait_s)
{
    char path[128];
    struct jq_it_resp r;
    if (wait_s > 0)
        snprintf(path, sizeof(path), "/v1/jobs/%lld?wait=%.1f", (long long)id, wait_s);
    else
        snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    jq_it_get(srv, path, &r);
    if (r.status != 200 || !cJSON_IsObject(r.json) || jq_it_json_int(r.json, "id", -1) != id)
        JQ_FAIL_AT(__FILE__, __LINE__, "GET %s: %ld %.500s", path, r.status, r.body);
    cJSON *job = r.json;
    r.json = NULL;
    jq_it_resp_cleanup(&r);
    return job;
}

bool jq_it_state_terminal(const char *state)
{
    static const char *const names[] = {"succeeded", "failed", "timed_out", "cancelled", "lost"};
    for (size_t i = 0; state && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(state, names[i]) == 0)
            return true;
    return false;
}

cJSON *jq_it_wait_job(const struct jq_it_server *srv, int64_t id, double max_s)
{
    int64_t end = jq_it_now_ms() + (int64_t)(max_s * 1000);
    for (;;) {
        double left = (double)(end - jq_it_now_ms()) / 1000.0;
        cJSON *job = jq_it_job(srv, id, left < 0.1 ? 0.1 : left > 10 ? 10 : left);
        const char *state = jq_it_json_str(job, "state");
        if (jq_it_state_terminal(state))
            return job;
        if (jq_it_now_ms() >= end)
            JQ_FAIL_AT(__FILE__, __LINE__, "job %lld still %s after %.1f s", (long long)id,
                       state ? state : "(no state)", max_s);
        cJSON_Delete(job);
    }
}

void jq_it_wait_state(const struct jq_it_server *srv, int64_t id, const char *state, double max_s)
{
    int64_t end = jq_it_now_ms() + (int64_t)(max_s * 1000);
    for (;;) {
        cJSON *job = jq_it_job(srv, id, 0);
        const char *now = jq_it_json_str(job, "state");
        bool ok = now && strcmp(now, state) == 0;
        if (!ok && jq_it_now_ms() >= end)
            JQ_FAIL_AT(__FILE__, __LINE__, "job %lld is %s, not %s, after %.1f s", (long long)id,
                       now ? now : "(none)", state, max_s);
        cJSON_Delete(job);
        if (ok)
            return;
        jq_it_sleep_ms(20);
    }
}

/* ---- JSON fields ---- */

const char *jq_it_json_str(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

long long jq_it_json_int(const cJSON *obj, const char *name, long long fallback)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(it) ? (long long)it->valuedouble : fallback;
}

bool jq_it_json_is_null(const cJSON *obj, const char *name)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, name));
}

bool jq_it_json_is_true(const cJSON *obj, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}
