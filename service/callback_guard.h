/* callback_guard.h: how every completion-callback connection is opened —
 * curl's CURLOPT_OPENSOCKETFUNCTION. It sees the address curl is about to
 * connect to (after name resolution, so DNS rebinding between a check and
 * the connect is impossible: the check is on the connect's own address),
 * refuses a private one (callback_addr.h) unless allowed, and makes every
 * socket close-on-exec. */
#ifndef JQ_CALLBACK_GUARD_H
#define JQ_CALLBACK_GUARD_H

#include <stdbool.h>
#include <curl/curl.h>

#define JQ_CALLBACK_REFUSED_BYTES 160

/* One per transfer: CURLOPT_OPENSOCKETDATA. */
struct jq_callback_guard {
    bool allow_private;                        /* --callback-allow-private */
    int opened;                                /* sockets opened for the transfer */
    char refused[JQ_CALLBACK_REFUSED_BYTES];   /* why the last address was refused, "" = none was */
};

/* The CURLOPT_OPENSOCKETFUNCTION; guard is a struct jq_callback_guard. */
curl_socket_t jq_callback_guard_open(void *guard, curlsocktype purpose, struct curl_sockaddr *addr);

/* True when the transfer failed only because the guard refused every
 * address the URL's host has: no retry can help. */
bool jq_callback_guard_refused_all(const struct jq_callback_guard *g);

#endif
