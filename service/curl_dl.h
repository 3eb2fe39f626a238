/* curl_dl.h: libcurl, loaded with dlopen the first time a completion
 * callback is due — not linked into jobqd. A jobqd that never sends a
 * callback never maps libcurl and the libraries it pulls in (TLS,
 * Kerberos, LDAP, SSH: about 5 MB of resident memory in the master and 3 MB
 * in every re-executed worker, measured). Include it after <curl/curl.h>:
 * the curl_* calls of the including file then go through the loaded table. */
#ifndef JQ_CURL_DL_H
#define JQ_CURL_DL_H

#include <curl/curl.h>

struct jq_curl_fns {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_global_cleanup) *global_cleanup;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_multi_init) *multi_init;
    __typeof__(curl_multi_cleanup) *multi_cleanup;
    __typeof__(curl_multi_add_handle) *multi_add_handle;
    __typeof__(curl_multi_remove_handle) *multi_remove_handle;
    __typeof__(curl_multi_perform) *multi_perform;
    __typeof__(curl_multi_poll) *multi_poll;
    __typeof__(curl_multi_wakeup) *multi_wakeup;
    __typeof__(curl_multi_timeout) *multi_timeout;
    __typeof__(curl_multi_info_read) *multi_info_read;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
};

/* Filled by jq_curl_load; read only after it returned 0. */
extern struct jq_curl_fns jq_curl;

/* dlopen libcurl (once; later calls return the first outcome). Returns 0,
 * or JQ_ENOTFOUND with the reason logged. Any thread. */
int jq_curl_load(void);

#ifndef JQ_CURL_DL_IMPL
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init jq_curl.global_init
#define curl_global_cleanup jq_curl.global_cleanup
#define curl_easy_init jq_curl.easy_init
#define curl_easy_cleanup jq_curl.easy_cleanup
#define curl_easy_setopt jq_curl.easy_setopt
#define curl_easy_getinfo jq_curl.easy_getinfo
#define curl_easy_strerror jq_curl.easy_strerror
#define curl_multi_init jq_curl.multi_init
#define curl_multi_cleanup jq_curl.multi_cleanup
#define curl_multi_add_handle jq_curl.multi_add_handle
#define curl_multi_remove_handle jq_curl.multi_remove_handle
#define curl_multi_perform jq_curl.multi_perform
#define curl_multi_poll jq_curl.multi_poll
#define curl_multi_wakeup jq_curl.multi_wakeup
#define curl_multi_timeout jq_curl.multi_timeout
#define curl_multi_info_read jq_curl.multi_info_read
#define curl_slist_append jq_curl.slist_append
#define curl_slist_free_all jq_curl.slist_free_all
#endif

#endif
