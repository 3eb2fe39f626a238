/* callback_addr.c: the address classes a completion callback may not
 * reach by default (callback_addr.h). The guard applies it to the address
 * curl is about to connect to, after name resolution, so a name that
 * resolves to 127.0.0.1 is caught as surely as the literal, and so is any
 * other spelling of it (2130706433, 0x7f.1, [::ffff:127.0.0.1]). */
#include "callback_addr.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The class of an IPv4 address (host order) that is not public unicast,
 * or NULL. */
static const char *v4_class(uint32_t a)
{
    static const struct {
        uint32_t net, mask;
        const char *name;
    } ranges[] = {
        {0x00000000, 0xff000000, "unspecified"},   /* 0/8 ("this network") */
        {0x0a000000, 0xff000000, "private"},       /* 10/8 */
        {0x64400000, 0xffc00000, "shared"},        /* 100.64/10 (carrier NAT) */
        {0x7f000000, 0xff000000, "loopback"},      /* 127/8 */
        {0xa9fe0000, 0xffff0000, "link-local"},    /* 169.254/16 (cloud metadata) */
        {0xac100000, 0xfff00000, "private"},       /* 172.16/12 */
        {0xc0000000, 0xffffff00, "reserved"},      /* 192.0.0/24 (protocol assignments) */
        {0xc0000200, 0xffffff00, "documentation"}, /* 192.0.2/24 */
        {0xc0a80000, 0xffff0000, "private"},       /* 192.168/16 */
        {0xc6120000, 0xfffe0000, "reserved"},      /* 198.18/15 (benchmarking) */
        {0xc6336400, 0xffffff00, "documentation"}, /* 198.51.100/24 */
        {0xcb007100, 0xffffff00, "documentation"}, /* 203.0.113/24 */
        {0xe0000000, 0xf0000000, "multicast"},     /* 224/4 */
        {0xf0000000, 0xf0000000, "reserved"},      /* 240/4 and the broadcast address */
    };
    for (size_t i = 0; i < NELEM(ranges); i++)
        if ((a & ranges[i].mask) == ranges[i].net)
            return ranges[i].name;
    return NULL;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Where an IPv6 address carries an IPv4 one (mapped, NAT64, 6to4), or
 * NULL. */
static const unsigned char *embedded_v4(const struct in6_addr *a)
{
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b}; /* 64:ff9b::/96 */
    const unsigned char *b = a->s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a) || memcmp(b, nat64, sizeof(nat64)) == 0)
        return b + 12;
    if (b[0] == 0x20 && b[1] == 0x02) /* 2002::/16, 6to4 */
        return b + 2;
    return NULL;
}

static const char *v6_class(const struct in6_addr *a)
{
    const unsigned char *b = a->s6_addr;
    const unsigned char *v4 = embedded_v4(a);
    if (IN6_IS_ADDR_UNSPECIFIED(a))
        return "unspecified";
    if (IN6_IS_ADDR_LOOPBACK(a))
        return "loopback";
    if (v4)
        return v4_class(v4_at(v4));
    if (IN6_IS_ADDR_V4COMPAT(a)) /* ::a.b.c.d, deprecated */
        return "reserved";
    if (IN6_IS_ADDR_LINKLOCAL(a))
        return "link-local";
    if (IN6_IS_ADDR_SITELOCAL(a))
        return "site-local";
    if ((b[0] & 0xfe) == 0xfc)
        return "unique-local";
    if (IN6_IS_ADDR_MULTICAST(a))
        return "multicast";
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* 2001:db8::/32 */
        return "documentation";
    return NULL;
}

bool jq_callback_addr_is_private(const struct sockaddr *sa, const char **why)
{
    const char *c = "non-IP";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        c = v4_class(v4_at((const unsigned char *)&in->sin_addr.s_addr));
    } else if (sa->sa_family == AF_INET6) {
        c = v6_class(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
    }
    if (why)
        *why = c;
    return c != NULL;
}
