/* callback_addr.h: the classifier behind the callbacks' SSRF guard — which
 * addresses are not public unicast ones and so may not be reached by a
 * completion callback unless the operator allows it
 * (--callback-allow-private). */
#ifndef JQ_CALLBACK_ADDR_H
#define JQ_CALLBACK_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

/* True for an address that is not public unicast: unspecified, loopback,
 * RFC 1918 private, shared (100.64/10), link-local, unique-local
 * (fc00::/7), multicast, reserved or documentation ranges, and any of them
 * inside IPv6 (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4).
 * Also true for any family but AF_INET and AF_INET6. When why is not
 * NULL it gets the class's name ("loopback", ...), or NULL for a public
 * address. */
bool jq_callback_addr_is_private(const struct sockaddr *sa, const char **why);

#endif
