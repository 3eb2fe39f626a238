/* curl_dl.c: find libcurl at run time (curl_dl.h says why). */
#define JQ_CURL_DL_IMPL
#include "curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include "err.h"
#include "log.h"

struct jq_curl_fns jq_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result = JQ_ENOTFOUND;

/* Every entry of jq_curl, with the symbol that fills it. */
#define ENTRY(field, symbol) {offsetof(struct jq_curl_fns, field), #symbol}
static const struct {
    size_t offset;
    const char *symbol;
} entries[] = {
    ENTRY(global_init, curl_global_init),         ENTRY(global_cleanup, curl_global_cleanup),
    ENTRY(easy_init, curl_easy_init),             ENTRY(easy_cleanup, curl_easy_cleanup),
    ENTRY(easy_setopt, curl_easy_setopt),         ENTRY(easy_getinfo, curl_easy_getinfo),
    ENTRY(easy_strerror, curl_easy_strerror),     ENTRY(multi_init, curl_multi_init),
    ENTRY(multi_cleanup, curl_multi_cleanup),     ENTRY(multi_add_handle, curl_multi_add_handle),
    ENTRY(multi_remove_handle, curl_multi_remove_handle), ENTRY(multi_perform, curl_multi_perform),
    ENTRY(multi_poll, curl_multi_poll),           ENTRY(multi_wakeup, curl_multi_wakeup),
    ENTRY(multi_timeout, curl_multi_timeout),     ENTRY(multi_info_read, curl_multi_info_read),
    ENTRY(slist_append, curl_slist_append),       ENTRY(slist_free_all, curl_slist_free_all),
};

static void load(void)
{
    /* The soname of the library jobqd was built against (libcurl4 or
     * libcurl3-gnutls both provide a libcurl with this interface). */
    static const char *const names[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};
    void *lib = NULL;
    for (size_t i = 0; !lib && i < sizeof names / sizeof names[0]; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        jq_log(JQ_LOG_ERR, "completion callbacks need libcurl: %s", dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *fn = dlsym(lib, entries[i].symbol);
        if (!fn) {
            jq_log(JQ_LOG_ERR, "libcurl lacks %s: %s", entries[i].symbol, dlerror());
            return;
        }
        *(void **)((char *)&jq_curl + entries[i].offset) = fn;
    }
    load_result = 0; /* never unloaded: the sender may run until exit */
}

int jq_curl_load(void)
{
    pthread_once(&load_once, load);
    return load_result;
}
