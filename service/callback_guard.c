/* callback_guard.c: the callbacks' connection opener (callback_guard.h):
 * the SSRF guard and close-on-exec sockets. */
#include "callback_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "callback_addr.h"

/* The address as text ("?" when it cannot be printed). */
static void addr_text(const struct curl_sockaddr *addr, char *out, size_t cap)
{
    const void *ip = NULL;
    if (addr->family == AF_INET)
        ip = &((const struct sockaddr_in *)(const void *)&addr->addr)->sin_addr;
    else if (addr->family == AF_INET6)
        ip = &((const struct sockaddr_in6 *)(const void *)&addr->addr)->sin6_addr;
    if (!ip || !inet_ntop(addr->family, ip, out, (socklen_t)cap))
        snprintf(out, cap, "?");
}

curl_socket_t jq_callback_guard_open(void *guard, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct jq_callback_guard *g = guard;
    const char *why = NULL;
    (void)purpose; /* only IPCXN: no FTP, so nothing is ever accepted */
    if (!g->allow_private && jq_callback_addr_is_private(&addr->addr, &why)) {
        char host[INET6_ADDRSTRLEN];
        addr_text(addr, host, sizeof(host));
        snprintf(g->refused, sizeof(g->refused),
                 "refused to connect to %s, a %s address (--callback-allow-private allows it)", host, why);
        return CURL_SOCKET_BAD;
    }
    curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd != CURL_SOCKET_BAD)
        g->opened++;
    return fd;
}

bool jq_callback_guard_refused_all(const struct jq_callback_guard *g)
{
    return g->refused[0] != '\0' && g->opened == 0;
}
