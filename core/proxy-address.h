/*
 * What kind of network an address belongs to, and whether config
 * `network.allow_private` opens it (SPEC section 11, "Private networks").
 *
 * The proxy asks this about the very address it is going to connect to,
 * after any name was resolved, so a destination's class never depends on
 * how its name or literal was spelt. Loopback, unspecified, private
 * (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, and the deprecated
 * site-local fec0::/10), link-local (169.254/16 with the cloud metadata
 * address, fe80::/10), multicast and the reserved 240/4 are refused unless
 * an allow_private entry covers them; loopback and unspecified never are
 * (host services are reached through network.host_loopback_ports, which
 * the sandbox helper bridges, never through the proxy).
 *
 * IPv6 forms that carry an IPv4 address are judged by that address: mapped
 * (::ffff:a.b.c.d), compatible (::a.b.c.d), translated (::ffff:0:a.b.c.d),
 * NAT64 (64:ff9b::/96), 6to4 (2002:AABB:CCDD::/48) and Teredo (2001::/32,
 * its server and its obfuscated client address); the local-use NAT64
 * prefix 64:ff9b:1::/48 is private. An IPv4 allow_private entry covers
 * these forms (Teredo's aside) of the addresses it covers.
 *
 * Pure functions: no allocation, no system calls; parsing is strict and
 * done here rather than by inet_aton(), so that every spelling a resolver
 * would take for an IPv4 literal (127.1, 0x7f.1, 2130706433,
 * 017700000001) is recognised as the address it names.
 */
#ifndef AIRLOCK_PROXY_ADDRESS_H
#define AIRLOCK_PROXY_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address in network byte order (IPv4: the first 4 bytes). */
struct proxy_address {
	int family; /* AF_INET or AF_INET6 */
	unsigned char bytes[16];
};

enum proxy_address_class {
	PROXY_ADDRESS_PUBLIC,
	PROXY_ADDRESS_LOOPBACK,    /* 127/8, ::1 */
	PROXY_ADDRESS_UNSPECIFIED, /* 0/8, :: (a connection to it reaches this machine) */
	PROXY_ADDRESS_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10 */
	PROXY_ADDRESS_LINK_LOCAL,  /* 169.254/16, fe80::/10 */
	PROXY_ADDRESS_MULTICAST,   /* 224/4, ff00::/8 */
	PROXY_ADDRESS_RESERVED,    /* 240/4, including the broadcast address */
};

/* An allow_private entry: an address with a prefix length (all bits when none was given). */
struct proxy_address_cidr {
	struct proxy_address net;
	unsigned bits;
};

/*
 * Parses S as an IP literal: an IPv6 address (inet_pton's syntax, no zone,
 * no brackets) or an IPv4 address in any form inet_aton() takes (one to
 * four parts, each decimal, octal with a leading 0, or hex with 0x, the
 * last part filling the remaining bytes). Returns true and fills *OUT.
 */
bool proxy_address_parse(const char *s, struct proxy_address *out);
/* Fills *OUT from an AF_INET or AF_INET6 socket address; false for another family. */
bool proxy_address_from_sockaddr(const struct sockaddr *sa, struct proxy_address *out);
/* The address as inet_ntop() writes it, into BUF (at least 46 bytes). Returns BUF. */
char *proxy_address_format(const struct proxy_address *a, char *buf, size_t size);

/* Whether A and B name the same host (an IPv4 address and the IPv6 forms carrying it do). */
bool proxy_address_same(const struct proxy_address *a, const struct proxy_address *b);

/* The class of A (an IPv6 form carrying an IPv4 address takes that address's class). */
enum proxy_address_class proxy_address_classify(const struct proxy_address *a);
/* "public", "loopback", "unspecified", "private", "link-local", "multicast", "reserved". */
const char *proxy_address_class_name(enum proxy_address_class c);
/*
 * The IPv4 address an IPv6 address carries (mapped, compatible, translated,
 * NAT64, 6to4), into *V4; false when it carries none. For IPv4, A itself.
 */
bool proxy_address_embedded_v4(const struct proxy_address *a, struct proxy_address *v4);

/*
 * Parses an allow_private entry: an address or ADDRESS/BITS, the IPv4 part
 * strictly dotted-quad; no bit set past the prefix. Returns 0, or -1 with
 * *WHY set to a static text.
 */
int proxy_address_cidr_parse(const char *s, struct proxy_address_cidr *out, const char **why);
/* Whether C covers A (an IPv4 entry also covers the IPv6 forms carrying such an address). */
bool proxy_address_cidr_match(const struct proxy_address_cidr *c, const struct proxy_address *a);

/*
 * Whether the proxy may connect to A: a public address, or one of another
 * class (never loopback or unspecified) that one of the N entries of ALLOW
 * covers. Returns PROXY_ADDRESS_PUBLIC when it may, else A's class.
 */
enum proxy_address_class proxy_address_check(const struct proxy_address *a,
                                             const struct proxy_address_cidr *allow, size_t n);

#endif
