/*
 * Address classes and allow_private entries (see proxy-address.h).
 *
 * Everything works on struct proxy_address, bytes in network order, so the
 * same code judges a literal from a request, an entry of config.json and an
 * address getaddrinfo() returned. IPv4 ranges are a small table of
 * (network, prefix, class); IPv6 is judged by its prefixes, after looking
 * for an IPv4 address it carries, whose class it then takes.
 */
#include "proxy-address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

/* One IPv4 range of a class other than public. */
struct proxy_address__range {
	uint32_t net;
	unsigned bits;
	enum proxy_address_class cls;
};

static const struct proxy_address__range proxy_address__v4[] = {
    {0x00000000, 8, PROXY_ADDRESS_UNSPECIFIED}, /* 0.0.0.0/8 */
    {0x7f000000, 8, PROXY_ADDRESS_LOOPBACK},    /* 127.0.0.0/8 */
    {0x0a000000, 8, PROXY_ADDRESS_PRIVATE},     /* 10.0.0.0/8 */
    {0xac100000, 12, PROXY_ADDRESS_PRIVATE},    /* 172.16.0.0/12 */
    {0xc0a80000, 16, PROXY_ADDRESS_PRIVATE},    /* 192.168.0.0/16 */
    {0x64400000, 10, PROXY_ADDRESS_PRIVATE},    /* 100.64.0.0/10, carrier-grade NAT */
    {0xa9fe0000, 16, PROXY_ADDRESS_LINK_LOCAL}, /* 169.254.0.0/16, cloud metadata */
    {0xe0000000, 4, PROXY_ADDRESS_MULTICAST},   /* 224.0.0.0/4 */
    {0xf0000000, 4, PROXY_ADDRESS_RESERVED},    /* 240.0.0.0/4, broadcast */
};

/* The 32-bit value of 4 bytes in network order. */
static uint32_t proxy_address__u32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Stores V as an IPv4 address in *OUT. */
static void proxy_address__set_v4(struct proxy_address *out, uint32_t v)
{
	memset(out, 0, sizeof *out);
	out->family = AF_INET;
	out->bytes[0] = (unsigned char)(v >> 24);
	out->bytes[1] = (unsigned char)(v >> 16);
	out->bytes[2] = (unsigned char)(v >> 8);
	out->bytes[3] = (unsigned char)v;
}

/* Parses one part of an inet_aton() address at *S (moved past it) into *V. */
static bool proxy_address__part(const char **s, uint64_t *v)
{
	const char *p = *s;
	unsigned base = 10;
	uint64_t n = 0;

	if (*p < '0' || *p > '9')
		return false;
	if (*p == '0') {
		base = 8;
		p++;
		if (*p == 'x' || *p == 'X') {
			base = 16;
			p++;
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			      (*p >= 'A' && *p <= 'F')))
				return false; /* "0x" needs a digit, as inet_aton says */
		}
	}
	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (d >= base)
			return false;
		n = n * base + d;
		if (n > 0xffffffffu)
			return false;
	}
	*s = p;
	*v = n;
	return true;
}

/* Parses S in any of inet_aton()'s forms (without its trailing-garbage leniency). */
static bool proxy_address__parse_v4(const char *s, struct proxy_address *out)
{
	uint64_t part[4];
	unsigned n = 0;
	uint32_t v;

	for (;;) {
		if (n == 4 || !proxy_address__part(&s, &part[n]))
			return false;
		n++;
		if (*s == '\0')
			break;
		if (*s != '.')
			return false;
		s++;
	}
	/* Every part but the last is one byte; the last fills what is left. */
	for (unsigned i = 0; i + 1 < n; i++)
		if (part[i] > 0xff)
			return false;
	if (part[n - 1] > (0xffffffffu >> (8 * (n - 1))))
		return false;
	v = (uint32_t)part[n - 1];
	for (unsigned i = 0; i + 1 < n; i++)
		v |= (uint32_t)part[i] << (24 - 8 * i);
	proxy_address__set_v4(out, v);
	return true;
}

/* Parses an IP literal in any form a resolver takes for one. */
bool proxy_address_parse(const char *s, struct proxy_address *out)
{
	if (s == NULL || *s == '\0')
		return false;
	if (strchr(s, ':') != NULL) {
		memset(out, 0, sizeof *out);
		if (inet_pton(AF_INET6, s, out->bytes) != 1)
			return false;
		out->family = AF_INET6;
		return true;
	}
	return proxy_address__parse_v4(s, out);
}

/* Copies the address of an AF_INET or AF_INET6 socket address. */
bool proxy_address_from_sockaddr(const struct sockaddr *sa, struct proxy_address *out)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		out->family = AF_INET6;
		memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* Writes A in its usual text form. */
char *proxy_address_format(const struct proxy_address *a, char *buf, size_t size)
{
	if (inet_ntop(a->family, a->bytes, buf, (socklen_t)size) == NULL && size > 0)
		buf[0] = '\0';
	return buf;
}

/* Whether the first BITS bits of X and Y (16 bytes each at most) agree. */
static bool proxy_address__prefix_eq(const unsigned char *x, const unsigned char *y, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(x, y, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((x[whole] ^ y[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Whether the 16 bytes B start with the LEN bytes of P. */
static bool proxy_address__starts(const unsigned char *b, const unsigned char *p, size_t len)
{
	return memcmp(b, p, len) == 0;
}

/* Finds the IPv4 address an IPv6 address carries. */
bool proxy_address_embedded_v4(const struct proxy_address *a, struct proxy_address *v4)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	static const unsigned char zero[12] = {0};
	const unsigned char *b = a->bytes;

	if (a->family == AF_INET) {
		*v4 = *a;
		return true;
	}
	if (a->family != AF_INET6)
		return false;
	if (proxy_address__starts(b, mapped, 12) || proxy_address__starts(b, translated, 12) ||
	    proxy_address__starts(b, nat64, 12)) {
		proxy_address__set_v4(v4, proxy_address__u32(b + 12));
		return true;
	}
	/* IPv4-compatible ::a.b.c.d; :: and ::1 are IPv6's own. */
	if (proxy_address__starts(b, zero, 12) && proxy_address__u32(b + 12) > 1) {
		proxy_address__set_v4(v4, proxy_address__u32(b + 12));
		return true;
	}
	if (b[0] == 0x20 && b[1] == 0x02) { /* 6to4: 2002:AABB:CCDD::/48 */
		proxy_address__set_v4(v4, proxy_address__u32(b + 2));
		return true;
	}
	return false;
}

/* Compares two addresses, IPv4 against the IPv6 forms carrying it too. */
bool proxy_address_same(const struct proxy_address *a, const struct proxy_address *b)
{
	struct proxy_address va, vb;

	if (a->family == b->family &&
	    memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0)
		return true;
	return proxy_address_embedded_v4(a, &va) && proxy_address_embedded_v4(b, &vb) &&
	       memcmp(va.bytes, vb.bytes, 4) == 0;
}

/* The class of an IPv4 address. */
static enum proxy_address_class proxy_address__classify_v4(uint32_t v)
{
	for (size_t i = 0; i < sizeof proxy_address__v4 / sizeof *proxy_address__v4; i++) {
		const struct proxy_address__range *r = &proxy_address__v4[i];

		if ((v >> (32 - r->bits)) == (r->net >> (32 - r->bits)))
			return r->cls;
	}
	return PROXY_ADDRESS_PUBLIC;
}

/* Classifies an address, IPv6 forms carrying IPv4 by that address. */
enum proxy_address_class proxy_address_classify(const struct proxy_address *a)
{
	static const unsigned char nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
	static const unsigned char teredo[4] = {0x20, 0x01, 0, 0};
	const unsigned char *b = a->bytes;
	struct proxy_address v4;

	if (a->family == AF_INET)
		return proxy_address__classify_v4(proxy_address__u32(b));
	if (IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)b))
		return PROXY_ADDRESS_UNSPECIFIED;
	if (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)b))
		return PROXY_ADDRESS_LOOPBACK;
	if (proxy_address_embedded_v4(a, &v4))
		return proxy_address__classify_v4(proxy_address__u32(v4.bytes));
	if (proxy_address__starts(b, nat64_local, 6))
		return PROXY_ADDRESS_PRIVATE;
	if (proxy_address__starts(b, teredo, 4)) {
		/* Teredo: the server's address, then the client's, stored inverted. */
		enum proxy_address_class c = proxy_address__classify_v4(proxy_address__u32(b + 4));

		if (c != PROXY_ADDRESS_PUBLIC)
			return c;
		return proxy_address__classify_v4(~proxy_address__u32(b + 12));
	}
	if ((b[0] & 0xfe) == 0xfc)
		return PROXY_ADDRESS_PRIVATE; /* fc00::/7 unique local */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return PROXY_ADDRESS_PRIVATE; /* fec0::/10 site-local (deprecated) */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return PROXY_ADDRESS_LINK_LOCAL; /* fe80::/10 */
	if (b[0] == 0xff)
		return PROXY_ADDRESS_MULTICAST;
	return PROXY_ADDRESS_PUBLIC;
}

/* Returns the name of a class as used in refusals. */
const char *proxy_address_class_name(enum proxy_address_class c)
{
	switch (c) {
	case PROXY_ADDRESS_PUBLIC:
		return "public";
	case PROXY_ADDRESS_LOOPBACK:
		return "loopback";
	case PROXY_ADDRESS_UNSPECIFIED:
		return "unspecified";
	case PROXY_ADDRESS_PRIVATE:
		return "private";
	case PROXY_ADDRESS_LINK_LOCAL:
		return "link-local";
	case PROXY_ADDRESS_MULTICAST:
		return "multicast";
	case PROXY_ADDRESS_RESERVED:
		return "reserved";
	}
	return "?";
}

/* Parses a prefix length of at most MAX decimal digits' worth of value. */
static bool proxy_address__bits(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (*s == '\0' || strlen(s) > 3 || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Parses an allow_private entry. */
int proxy_address_cidr_parse(const char *s, struct proxy_address_cidr *out, const char **why)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned max;
	enum proxy_address_class cls;

	memset(out, 0, sizeof *out);
	if (len == 0 || len >= sizeof addr) {
		*why = "not an IP address or CIDR";
		return -1;
	}
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (strchr(addr, ':') != NULL) {
		if (inet_pton(AF_INET6, addr, out->net.bytes) != 1) {
			*why = "not an IPv6 address";
			return -1;
		}
		out->net.family = AF_INET6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, addr, out->net.bytes) != 1) {
			*why = "not an IPv4 address (a.b.c.d)";
			return -1;
		}
		out->net.family = AF_INET;
		max = 32;
	}
	out->bits = max;
	if (slash != NULL && !proxy_address__bits(slash + 1, max, &out->bits)) {
		*why = max == 32 ? "the prefix length must be 0 to 32"
		                 : "the prefix length must be 0 to 128";
		return -1;
	}
	for (unsigned i = out->bits; i < max; i++) {
		if (out->net.bytes[i / 8] & (0x80 >> (i % 8))) {
			*why = "bits are set past the prefix length";
			return -1;
		}
	}
	cls = proxy_address_classify(&out->net);
	if (cls == PROXY_ADDRESS_LOOPBACK || cls == PROXY_ADDRESS_UNSPECIFIED) {
		*why = "loopback and unspecified addresses are never opened to the proxy "
		       "(host services: network.host_loopback_ports)";
		return -1;
	}
	return 0;
}

/* Whether entry C covers address A. */
bool proxy_address_cidr_match(const struct proxy_address_cidr *c, const struct proxy_address *a)
{
	struct proxy_address v4;

	if (c->net.family == AF_INET) {
		if (!proxy_address_embedded_v4(a, &v4))
			return false;
		return proxy_address__prefix_eq(c->net.bytes, v4.bytes, c->bits);
	}
	if (a->family == AF_INET) {
		/* An IPv6 entry covers an IPv4 address in its mapped form. */
		unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		memcpy(mapped + 12, a->bytes, 4);
		return proxy_address__prefix_eq(c->net.bytes, mapped, c->bits);
	}
	return proxy_address__prefix_eq(c->net.bytes, a->bytes, c->bits);
}

/* Whether the proxy may connect to A; see the header. */
enum proxy_address_class proxy_address_check(const struct proxy_address *a,
                                             const struct proxy_address_cidr *allow, size_t n)
{
	enum proxy_address_class cls = proxy_address_classify(a);

	if (cls == PROXY_ADDRESS_PUBLIC || cls == PROXY_ADDRESS_LOOPBACK ||
	    cls == PROXY_ADDRESS_UNSPECIFIED)
		return cls;
	for (size_t i = 0; i < n; i++)
		if (proxy_address_cidr_match(&allow[i], a))
			return PROXY_ADDRESS_PUBLIC;
	return cls;
}
