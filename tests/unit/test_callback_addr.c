/* test_callback_addr.c: unit tests of the callbacks' SSRF guard — the
 * address classifier against a table of addresses (allowed or refused,
 * and as what), and the connection opener: a refused address opens no
 * socket and says why, an allowed one gets a close-on-exec socket. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "callback_addr.h"
#include "callback_guard.h"
#include "testlib.h"

/* ip as a socket address (IPv6 when it has a colon). */
static void parse_addr(const char *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
        v6->sin6_family = AF_INET6;
        ASSERT_EQ(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
    } else {
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        v4->sin_family = AF_INET;
        ASSERT_EQ(inet_pton(AF_INET, ip, &v4->sin_addr), 1);
    }
}

/* Each address and the class it is refused as (NULL = allowed). */
static void classifier_table(void)
{
    static const struct {
        const char *ip, *why;
    } t[] = {
        {"127.0.0.1", "loopback"}, {"127.255.0.9", "loopback"}, {"10.1.2.3", "private"},
        {"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"192.168.1.1", "private"},
        {"169.254.169.254", "link-local"}, {"100.64.0.1", "shared"}, {"100.127.255.255", "shared"},
        {"0.0.0.0", "unspecified"}, {"0.1.2.3", "unspecified"}, {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"}, {"255.255.255.255", "reserved"}, {"240.0.0.1", "reserved"},
        {"198.18.0.1", "reserved"}, {"198.19.255.1", "reserved"}, {"192.0.0.8", "reserved"},
        {"192.0.2.1", "documentation"}, {"198.51.100.7", "documentation"}, {"203.0.113.9", "documentation"},
        {"1.1.1.1", NULL}, {"8.8.8.8", NULL}, {"172.15.255.255", NULL}, {"172.32.0.1", NULL},
        {"100.63.255.255", NULL}, {"100.128.0.1", NULL}, {"169.253.0.1", NULL}, {"192.0.1.1", NULL},
        {"192.169.0.1", NULL}, {"198.20.0.1", NULL}, {"223.255.255.255", NULL}, {"11.0.0.1", NULL},
        {"::1", "loopback"}, {"::", "unspecified"}, {"fe80::1", "link-local"}, {"febf::1", "link-local"},
        {"fec0::1", "site-local"}, {"fd00::1", "unique-local"}, {"fc00::5", "unique-local"},
        {"ff02::1", "multicast"}, {"2001:db8::1", "documentation"},
        {"::ffff:127.0.0.1", "loopback"}, {"::ffff:10.0.0.1", "private"},
        {"::ffff:169.254.169.254", "link-local"}, {"64:ff9b::a9fe:a9fe", "link-local"},
        {"64:ff9b::7f00:1", "loopback"}, {"2002:7f00:1::1", "loopback"}, {"2002:c0a8:101::", "private"},
        {"::7f00:1", "reserved"}, {"::808:808", "reserved"},
        {"2001:4860:4860::8888", NULL}, {"::ffff:8.8.8.8", NULL}, {"64:ff9b::808:808", NULL},
        {"2002:808:808::1", NULL}, {"2606:4700::1111", NULL}, {"fe00::1", NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sockaddr_storage ss;
        const char *why = "unset";
        parse_addr(t[i].ip, &ss);
        bool refused = jq_callback_addr_is_private((const struct sockaddr *)&ss, &why);
        if (refused != (t[i].why != NULL) || (why != t[i].why && (!why || !t[i].why || strcmp(why, t[i].why))))
            JQ_FAIL_AT(__FILE__, __LINE__, "%s: %s as %s, want %s", t[i].ip, refused ? "refused" : "allowed",
                       why ? why : "-", t[i].why ? t[i].why : "allowed");
    }
}

/* Anything but IPv4 and IPv6 is refused; why may be NULL. */
static void other_families_refused(void)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    const char *why = NULL;
    ASSERT_TRUE(jq_callback_addr_is_private((const struct sockaddr *)&un, &why));
    ASSERT_STREQ(why, "non-IP");
    struct sockaddr_in pub = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x01010101)};
    ASSERT_TRUE(!jq_callback_addr_is_private((const struct sockaddr *)&pub, NULL));
}

/* curl's struct curl_sockaddr declares a struct sockaddr but curl gives it
 * room for any address: so does this. */
union any_curl_sockaddr {
    struct curl_sockaddr a;
    unsigned char room[sizeof(struct curl_sockaddr) + sizeof(struct sockaddr_storage)];
};

static curl_socket_t open_for(struct jq_callback_guard *g, const char *ip)
{
    union any_curl_sockaddr u = {.a = {.socktype = SOCK_STREAM, .protocol = IPPROTO_TCP}};
    struct sockaddr_storage ss;
    parse_addr(ip, &ss);
    u.a.family = ss.ss_family;
    u.a.addrlen = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&u.a.addr, &ss, u.a.addrlen);
    return jq_callback_guard_open(g, CURLSOCKTYPE_IPCXN, &u.a);
}

static void expect_cloexec_socket(curl_socket_t fd)
{
    ASSERT_TRUE(fd != CURL_SOCKET_BAD);
    ASSERT_TRUE((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    close(fd);
}

/* Refused: no socket, the reason names the address and the flag. */
static void guard_refuses_private(void)
{
    struct jq_callback_guard g = {.allow_private = false};
    ASSERT_EQ(open_for(&g, "169.254.169.254"), CURL_SOCKET_BAD);
    ASSERT_STREQ(g.refused,
                 "refused to connect to 169.254.169.254, a link-local address (--callback-allow-private allows it)");
    ASSERT_TRUE(jq_callback_guard_refused_all(&g));
    ASSERT_EQ(open_for(&g, "::ffff:127.0.0.1"), CURL_SOCKET_BAD);
    ASSERT_TRUE(strstr(g.refused, "::ffff:127.0.0.1, a loopback address") != NULL);
    /* A public address of the same name is still tried: not refused all. */
    expect_cloexec_socket(open_for(&g, "8.8.8.8"));
    ASSERT_TRUE(!jq_callback_guard_refused_all(&g));
}

/* Allowed (or nothing refused): a close-on-exec socket either way. */
static void guard_allows_when_told(void)
{
    struct jq_callback_guard g = {.allow_private = true};
    expect_cloexec_socket(open_for(&g, "127.0.0.1"));
    expect_cloexec_socket(open_for(&g, "::1"));
    ASSERT_STREQ(g.refused, "");
    ASSERT_EQ(g.opened, 2);
    ASSERT_TRUE(!jq_callback_guard_refused_all(&g));
}

static const struct jq_test_case cases[] = {
    {"classifier_table", classifier_table},
    {"other_families_refused", other_families_refused},
    {"guard_refuses_private", guard_refuses_private},
    {"guard_allows_when_told", guard_allows_when_told},
};
JQ_TEST_MAIN(cases)
