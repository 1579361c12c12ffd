/*
 * Private networks (SPEC section 11): the address classifier and
 * allow_private entries as tables, then the real proxy refusing loopback and
 * private destinations before anything is asked, however they are spelt or
 * reached (CONNECT, plain HTTP, SOCKS5 with each address type, a name).
 *
 * Traffic only ever goes to 127.0.0.0/8: every loopback case runs against a
 * real server there with a decider that would allow it (so a proxy that let
 * one through is caught by the server's counter), and every private or
 * link-local case runs with a decider that denies (so even a broken proxy
 * never connects out: the refusal must come before any connection).
 */
#include "test-proxy-util.h"
#include "test.h"

#include "../core/approval.h"
#include "../core/audit.h"
#include "../core/config.h"
#include "../core/proxy-address.h"
#include "../core/proxy-session.h"
#include "../core/rules.h"
#include "../core/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* One row of the classifier table: a literal, and its class (-1: not a literal). */
struct class_row {
	const char *text;
	int cls;
	const char *canonical; /* how it is written back, or NULL when as given */
};

static const struct class_row class_rows[] = {
    /* loopback, every spelling a resolver takes */
    {"127.0.0.1", PROXY_ADDRESS_LOOPBACK, NULL},
    {"127.255.255.254", PROXY_ADDRESS_LOOPBACK, NULL},
    {"127.1", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"127.0.1", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"0x7f.1", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"0X7F.0.0.1", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"0177.0.0.1", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"2130706433", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"0x7f000001", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"017700000001", PROXY_ADDRESS_LOOPBACK, "127.0.0.1"},
    {"::1", PROXY_ADDRESS_LOOPBACK, NULL},
    {"0:0:0:0:0:0:0:1", PROXY_ADDRESS_LOOPBACK, "::1"},
    {"::ffff:127.0.0.1", PROXY_ADDRESS_LOOPBACK, NULL},
    {"::ffff:7f00:1", PROXY_ADDRESS_LOOPBACK, "::ffff:127.0.0.1"},
    {"::FFFF:7F00:0001", PROXY_ADDRESS_LOOPBACK, "::ffff:127.0.0.1"},
    {"::127.0.0.1", PROXY_ADDRESS_LOOPBACK, NULL},
    {"::ffff:0:127.0.0.1", PROXY_ADDRESS_LOOPBACK, "::ffff:0:7f00:1"},
    {"64:ff9b::7f00:1", PROXY_ADDRESS_LOOPBACK, "64:ff9b::7f00:1"},
    {"2002:7f00:1::1", PROXY_ADDRESS_LOOPBACK, NULL},
    /* unspecified */
    {"0.0.0.0", PROXY_ADDRESS_UNSPECIFIED, NULL},
    {"0", PROXY_ADDRESS_UNSPECIFIED, "0.0.0.0"},
    {"0.1.2.3", PROXY_ADDRESS_UNSPECIFIED, NULL},
    {"::", PROXY_ADDRESS_UNSPECIFIED, NULL},
    {"::ffff:0.0.0.0", PROXY_ADDRESS_UNSPECIFIED, NULL},
    /* private */
    {"10.0.0.1", PROXY_ADDRESS_PRIVATE, NULL},
    {"10.255.255.255", PROXY_ADDRESS_PRIVATE, NULL},
    {"012.1", PROXY_ADDRESS_PRIVATE, "10.0.0.1"},
    {"167772161", PROXY_ADDRESS_PRIVATE, "10.0.0.1"},
    {"172.16.0.1", PROXY_ADDRESS_PRIVATE, NULL},
    {"172.31.255.255", PROXY_ADDRESS_PRIVATE, NULL},
    {"192.168.1.1", PROXY_ADDRESS_PRIVATE, NULL},
    {"0xc0.0xa8.1.1", PROXY_ADDRESS_PRIVATE, "192.168.1.1"},
    {"100.64.0.1", PROXY_ADDRESS_PRIVATE, NULL},
    {"100.127.255.255", PROXY_ADDRESS_PRIVATE, NULL},
    {"fc00::1", PROXY_ADDRESS_PRIVATE, NULL},
    {"fd12:3456::1", PROXY_ADDRESS_PRIVATE, NULL},
    {"fd00:ec2::254", PROXY_ADDRESS_PRIVATE, NULL},
    {"fec0::1", PROXY_ADDRESS_PRIVATE, NULL},
    {"::ffff:10.0.0.1", PROXY_ADDRESS_PRIVATE, NULL},
    {"::ffff:a00:1", PROXY_ADDRESS_PRIVATE, "::ffff:10.0.0.1"},
    {"64:ff9b::c0a8:101", PROXY_ADDRESS_PRIVATE, NULL},
    {"64:ff9b:1::8.8.8.8", PROXY_ADDRESS_PRIVATE, "64:ff9b:1::808:808"},
    {"2002:c0a8:101::1", PROXY_ADDRESS_PRIVATE, NULL},
    {"2001:0:a00:1::", PROXY_ADDRESS_PRIVATE, "2001:0:a00:1::"},
    /* link-local, with the cloud metadata address */
    {"169.254.169.254", PROXY_ADDRESS_LINK_LOCAL, NULL},
    {"169.254.0.1", PROXY_ADDRESS_LINK_LOCAL, NULL},
    {"2852039166", PROXY_ADDRESS_LINK_LOCAL, "169.254.169.254"},
    {"0xa9.0xfe.0xa9.0xfe", PROXY_ADDRESS_LINK_LOCAL, "169.254.169.254"},
    {"::ffff:169.254.169.254", PROXY_ADDRESS_LINK_LOCAL, NULL},
    {"fe80::1", PROXY_ADDRESS_LINK_LOCAL, NULL},
    {"febf::1", PROXY_ADDRESS_LINK_LOCAL, NULL},
    /* multicast, reserved */
    {"224.0.0.1", PROXY_ADDRESS_MULTICAST, NULL},
    {"239.255.255.250", PROXY_ADDRESS_MULTICAST, NULL},
    {"ff02::1", PROXY_ADDRESS_MULTICAST, NULL},
    {"::ffff:224.0.0.1", PROXY_ADDRESS_MULTICAST, NULL},
    {"240.0.0.1", PROXY_ADDRESS_RESERVED, NULL},
    {"255.255.255.255", PROXY_ADDRESS_RESERVED, NULL},
    /* public, next to the edges of each range */
    {"8.8.8.8", PROXY_ADDRESS_PUBLIC, NULL},
    {"1.1.1.1", PROXY_ADDRESS_PUBLIC, NULL},
    {"126.255.255.255", PROXY_ADDRESS_PUBLIC, NULL},
    {"128.0.0.1", PROXY_ADDRESS_PUBLIC, NULL},
    {"11.0.0.1", PROXY_ADDRESS_PUBLIC, NULL},
    {"172.15.255.255", PROXY_ADDRESS_PUBLIC, NULL},
    {"172.32.0.1", PROXY_ADDRESS_PUBLIC, NULL},
    {"192.167.1.1", PROXY_ADDRESS_PUBLIC, NULL},
    {"100.63.255.255", PROXY_ADDRESS_PUBLIC, NULL},
    {"100.128.0.1", PROXY_ADDRESS_PUBLIC, NULL},
    {"169.253.1.1", PROXY_ADDRESS_PUBLIC, NULL},
    {"223.255.255.255", PROXY_ADDRESS_PUBLIC, NULL},
    {"2001:4860:4860::8888", PROXY_ADDRESS_PUBLIC, NULL},
    {"::ffff:8.8.8.8", PROXY_ADDRESS_PUBLIC, NULL},
    {"64:ff9b::808:808", PROXY_ADDRESS_PUBLIC, NULL},
    {"2002:808:808::1", PROXY_ADDRESS_PUBLIC, NULL},
    {"fbff::1", PROXY_ADDRESS_PUBLIC, NULL},
    /* not literals: names, or what inet_aton would not take either */
    {"localhost", -1, NULL},
    {"example.com", -1, NULL},
    {"127.0.0.1.", -1, NULL},
    {"127.0.0.1 ", -1, NULL},
    {"127..1", -1, NULL},
    {"127.0.0.256", -1, NULL},
    {"256.1", -1, NULL},
    {"1.2.3.4.5", -1, NULL},
    {"4294967296", -1, NULL},
    {"08.1.1.1", -1, NULL},
    {"0x", -1, NULL},
    {"0x.1", -1, NULL},
    {"0x1g", -1, NULL},
    {"-1", -1, NULL},
    {"[::1]", -1, NULL},
    {"fe80::1%lo", -1, NULL},
    {"", -1, NULL},
};

TEST(proxy_address_classes)
{
	size_t n = sizeof class_rows / sizeof *class_rows;

	ASSERT(n >= 40);
	for (size_t i = 0; i < n; i++) {
		const struct class_row *r = &class_rows[i];
		struct proxy_address a;
		char buf[64];
		bool lit = proxy_address_parse(r->text, &a);

		if (!lit) {
			if (r->cls != -1) {
				fprintf(stderr, "row %zu: \"%s\" is not taken as a literal\n", i,
				        r->text);
				return 1;
			}
			continue;
		}
		if (r->cls == -1) {
			fprintf(stderr, "row %zu: \"%s\" is taken as a literal\n", i, r->text);
			return 1;
		}
		if ((int)proxy_address_classify(&a) != r->cls) {
			fprintf(stderr, "row %zu: \"%s\" is %s, wanted %s\n", i, r->text,
			        proxy_address_class_name(proxy_address_classify(&a)),
			        proxy_address_class_name((enum proxy_address_class)r->cls));
			return 1;
		}
		proxy_address_format(&a, buf, sizeof buf);
		ASSERT_STR_EQ(buf, r->canonical != NULL ? r->canonical : r->text);
	}
	/* Where the parser accepts a dotted or numeric IPv4 form, it agrees with inet_aton. */
	for (size_t i = 0; i < n; i++) {
		struct proxy_address a;
		struct in_addr in;

		if (strchr(class_rows[i].text, ':') != NULL ||
		    !proxy_address_parse(class_rows[i].text, &a))
			continue;
		ASSERT_EQ(inet_aton(class_rows[i].text, &in), 1);
		ASSERT_EQ(memcmp(&in, a.bytes, 4), 0);
	}
	return 0;
}

/* One row of the allow_private table. */
struct cidr_row {
	const char *entry;
	const char *addr; /* NULL: ENTRY itself must be refused */
	bool covered;
};

static const struct cidr_row cidr_rows[] = {
    {"10.1.2.3", "10.1.2.3", true},
    {"10.1.2.3", "10.1.2.4", false},
    {"10.1.2.3", "::ffff:10.1.2.3", true},
    {"10.1.2.3", "64:ff9b::a01:203", true},
    {"10.1.2.3", "0xa.1.2.3", true},
    {"10.0.0.0/8", "10.255.0.1", true},
    {"10.0.0.0/8", "11.0.0.1", false},
    {"172.16.0.0/12", "172.31.1.1", true},
    {"172.16.0.0/12", "172.32.1.1", false},
    {"192.168.1.0/24", "192.168.1.77", true},
    {"192.168.1.0/24", "192.168.2.1", false},
    {"169.254.169.254", "169.254.169.254", true},
    {"169.254.169.254/32", "169.254.169.253", false},
    {"fd00::/8", "fd12::1", true},
    {"fd00::/8", "fc00::1", false},
    {"fd00:1::/64", "fd00:1::5", true},
    {"fd00:1::/64", "fd00:2::5", false},
    {"fe80::/10", "fe80::1", true},
    {"::ffff:10.0.0.0/104", "10.9.9.9", true},
    {"10.0.0.0/7", "11.1.1.1", true},
    /* never opened, and refused as entries */
    {"127.0.0.1", NULL, false},
    {"127.0.0.0/8", NULL, false},
    {"::1", NULL, false},
    {"0.0.0.0", NULL, false},
    {"0.0.0.0/0", NULL, false},
    {"::/0", NULL, false},
    {"::ffff:127.0.0.1", NULL, false},
    /* malformed */
    {"10.0.0.1/8", NULL, false},
    {"10.0.0.0/33", NULL, false},
    {"fd00::/129", NULL, false},
    {"10.0.0.0/", NULL, false},
    {"10.0.0.0/08", NULL, false},
    {"10.0.0.0/-1", NULL, false},
    {"10.1", NULL, false},
    {"0xa.0.0.1", NULL, false},
    {"010.0.0.1", NULL, false},
    {"corp.example", NULL, false},
    {"", NULL, false},
    {"/8", NULL, false},
    {"fd00::1 ", NULL, false},
};

TEST(proxy_address_allow_private_entries)
{
	for (size_t i = 0; i < sizeof cidr_rows / sizeof *cidr_rows; i++) {
		const struct cidr_row *r = &cidr_rows[i];
		struct proxy_address_cidr c;
		struct proxy_address a;
		const char *why = NULL;
		int rc = proxy_address_cidr_parse(r->entry, &c, &why);

		if (r->addr == NULL) {
			if (rc == 0) {
				fprintf(stderr, "row %zu: entry \"%s\" was taken\n", i, r->entry);
				return 1;
			}
			ASSERT(why != NULL);
			continue;
		}
		if (rc != 0) {
			fprintf(stderr, "row %zu: entry \"%s\": %s\n", i, r->entry, why);
			return 1;
		}
		ASSERT(proxy_address_parse(r->addr, &a));
		if (proxy_address_cidr_match(&c, &a) != r->covered) {
			fprintf(stderr, "row %zu: %s %s %s\n", i, r->entry,
			        r->covered ? "does not cover" : "covers", r->addr);
			return 1;
		}
		ASSERT_EQ(proxy_address_check(&a, &c, 1),
		          r->covered ? PROXY_ADDRESS_PUBLIC : proxy_address_classify(&a));
	}
	/* Loopback and unspecified stay refused whatever an entry covers. */
	{
		struct proxy_address_cidr wide;
		struct proxy_address a;
		const char *why;

		ASSERT_EQ(proxy_address_cidr_parse("64.0.0.0/2", &wide, &why), 0);
		ASSERT(proxy_address_parse("127.0.0.1", &a));
		ASSERT(proxy_address_cidr_match(&wide, &a));
		ASSERT_EQ(proxy_address_check(&a, &wide, 1), PROXY_ADDRESS_LOOPBACK);
		ASSERT(proxy_address_parse("8.8.8.8", &a));
		ASSERT_EQ(proxy_address_check(&a, NULL, 0), PROXY_ADDRESS_PUBLIC);
	}
	return 0;
}

TEST(proxy_address_same_host)
{
	static const char *const same[][2] = {
	    {"10.0.0.1", "10.0.0.1"},    {"10.0.0.1", "::ffff:10.0.0.1"},
	    {"192.0.2.2", "0xc0.0.2.2"}, {"::ffff:192.0.2.2", "64:ff9b::c000:202"},
	    {"fd00::2", "fd00:0:0::2"},  {"192.0.2.2", "2002:c000:202::"},
	};
	static const char *const other[][2] = {
	    {"10.0.0.1", "10.0.0.2"},
	    {"fd00::2", "fd00::3"},
	    {"::1", "127.0.0.1"}, /* both loopback, yet not the same address */
	    {"192.0.2.2", "fd00::2"},
	};
	struct proxy_address a, b;

	for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
		ASSERT(proxy_address_parse(same[i][0], &a) && proxy_address_parse(same[i][1], &b));
		ASSERT(proxy_address_same(&a, &b));
		ASSERT(proxy_address_same(&b, &a));
	}
	for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
		ASSERT(proxy_address_parse(other[i][0], &a) &&
		       proxy_address_parse(other[i][1], &b));
		ASSERT(!proxy_address_same(&a, &b));
	}
	return 0;
}

/* Sends CONNECT HOST:PORT on a new connection; returns the whole reply (caller frees). */
static char *connect_reply(int proxy_port, const char *host, int port)
{
	int fd = tcp_connect_local(proxy_port);
	char *req =
	    xasprintf("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port, host, port);
	char *out = NULL;

	send_all(fd, req, strlen(req));
	free(req);
	recv_to_eof(fd, &out);
	close(fd);
	return out;
}

/* Sends GET http://HOST:PORT/ on a new connection; returns the status (*RESP: the reply). */
static int get_reply(int proxy_port, const char *host, int port, char **resp)
{
	int fd = tcp_connect_local(proxy_port), status = 0;
	char *req =
	    xasprintf("GET http://%s:%d/ HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port, host, port);
	char *r;

	send_all(fd, req, strlen(req));
	free(req);
	r = read_http_response(fd, &status);
	close(fd);
	if (resp != NULL)
		*resp = r;
	else
		free(r);
	return status;
}

/* A SOCKS5 CONNECT with address type ATYP (1, 3, 4) of ADDR (LEN bytes); returns the reply code. */
static int socks_code(int proxy_port, unsigned char atyp, const void *addr, size_t len, int port)
{
	unsigned char greet[] = {5, 1, 0}, reply[10], req[300];
	size_t k = 0;
	int fd = tcp_connect_local(proxy_port), code = -1;

	req[k++] = 5;
	req[k++] = 1;
	req[k++] = 0;
	req[k++] = atyp;
	if (atyp == 3)
		req[k++] = (unsigned char)len;
	memcpy(req + k, addr, len);
	k += len;
	req[k++] = (unsigned char)(port >> 8);
	req[k++] = (unsigned char)port;
	if (send_all(fd, greet, 3) == 0 && recv_all(fd, reply, 2) == 0 &&
	    send_all(fd, req, k) == 0 && recv_all(fd, reply, 10) == 0)
		code = reply[1];
	close(fd);
	return code;
}

/* Whether NAME resolves, and only to loopback (without asking any DNS server). */
static bool resolves_to_loopback(const char *name)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	bool ok = true;

	if (getaddrinfo(name, "80", &hints, &res) != 0)
		return false;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct proxy_address a;

		if (!proxy_address_from_sockaddr(ai->ai_addr, &a) ||
		    proxy_address_classify(&a) != PROXY_ADDRESS_LOOPBACK)
			ok = false;
	}
	freeaddrinfo(res);
	return ok;
}

TEST(proxy_refuses_loopback_before_asking)
{
	/* Every way to write this machine; the decider would allow each ("*"). */
	static const char *const hosts[] = {
	    "127.0.0.1",
	    "0.0.0.0",
	    "[::ffff:127.0.0.1]",
	    "[::ffff:7f00:1]",
	    "127.1",
	    "0x7f.1",
	    "2130706433",
	    "017700000001",
	    "0177.0.1",
	    "[::1]",
	    "[::]",
	    "[::127.0.0.1]",
	    "0",
	    "127.0.0.2",
	    "[64:ff9b::7f00:1]",
	    "[2002:7f00:1::]",
	};
	static const char *const names[] = {"localhost", "LocalHost", "x.localhost"};
	size_t nh = sizeof hosts / sizeof *hosts;
	struct tserver srv;
	struct tproxy t;
	int refused = 0;
	char *out;

	/* No hatch for test servers: the proxy as it runs in airlock. */
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "", 1);
	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tproxy_start(&t, TDEC_ALLOW), 0);
	for (size_t i = 0; i < nh; i++) {
		out = connect_reply(t.http_port, hosts[i], srv.port);
		ASSERT(out != NULL);
		if (strstr(out, "HTTP/1.1 403 Forbidden\r\n") == NULL) {
			fprintf(stderr, "CONNECT %s: %s\n", hosts[i], out);
			free(out);
			return 1;
		}
		ASSERT_CONTAINS(out, "loopback");
		ASSERT_CONTAINS(out, "host_loopback_ports");
		free(out);
		refused++;
		ASSERT_EQ(get_reply(t.http_port, hosts[i], srv.port, &out), 403);
		ASSERT_CONTAINS(out, "x-airlock-error: ");
		free(out);
		refused++;
	}
	/* The reply names the address in its usual form. */
	out = connect_reply(t.http_port, "0x7f.1", srv.port);
	ASSERT_CONTAINS(out, "127.0.0.1 is a loopback address");
	free(out);
	refused++;
	out = connect_reply(t.http_port, "0.0.0.0", srv.port);
	ASSERT_CONTAINS(out, "0.0.0.0 is an unspecified address");
	free(out);
	refused++;
	/* SOCKS5, each address type. */
	{
		static const unsigned char v4[4] = {127, 0, 0, 1}, any4[4] = {0, 0, 0, 0};
		unsigned char v6[16];

		ASSERT_EQ(socks_code(t.socks_port, 1, v4, 4, srv.port), 2);
		ASSERT_EQ(socks_code(t.socks_port, 1, any4, 4, srv.port), 2);
		inet_pton(AF_INET6, "::ffff:127.0.0.1", v6);
		ASSERT_EQ(socks_code(t.socks_port, 4, v6, 16, srv.port), 2);
		inet_pton(AF_INET6, "::1", v6);
		ASSERT_EQ(socks_code(t.socks_port, 4, v6, 16, srv.port), 2);
		/* Names that are literals to a resolver. */
		ASSERT_EQ(socks_code(t.socks_port, 3, "2130706433", 10, srv.port), 2);
		ASSERT_EQ(socks_code(t.socks_port, 3, "127.1", 5, srv.port), 2);
		ASSERT_EQ(socks_code(t.socks_port, 3, "0x7f.0.0.1", 10, srv.port), 2);
		refused += 7;
	}
	/* Names of this machine, resolved here first: refused before the decider hears of them. */
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		if (!resolves_to_loopback(names[i])) {
			fprintf(stderr, "note: %s does not resolve to loopback here; not tried\n",
			        names[i]);
			continue;
		}
		out = connect_reply(t.http_port, names[i], srv.port);
		ASSERT_CONTAINS(out, "HTTP/1.1 403 Forbidden\r\n");
		ASSERT_CONTAINS(out, "resolves to");
		ASSERT_CONTAINS(out, "a loopback address");
		free(out);
		ASSERT_EQ(get_reply(t.http_port, names[i], srv.port, NULL), 403);
		ASSERT_EQ(socks_code(t.socks_port, 3, names[i], strlen(names[i]), srv.port), 2);
		refused += 3;
	}
	/* Nothing was asked, every refusal was told for the record, the server saw nothing. */
	ASSERT_EQ(tproxy_calls(&t), 0);
	ASSERT_EQ(tproxy_refusals(&t), refused);
	ASSERT_EQ(atomic_load(&srv.connections), 0);
	ASSERT_EQ(tproxy_stop(&t), 0);
	ASSERT_EQ(t.stats.refused, (uint64_t)refused);
	tserver_stop(&srv);
	return 0;
}

TEST(proxy_refuses_private_networks_before_asking)
{
	/* The decider denies: even a proxy that asked would never connect out. */
	static const char *const hosts[] = {
	    "10.0.0.1",
	    "172.16.5.4",
	    "192.168.1.1",
	    "100.64.0.1",
	    "169.254.169.254",
	    "0xa9.0xfe.0xa9.0xfe",
	    "2852039166",
	    "[::ffff:169.254.169.254]",
	    "[fd00:ec2::254]",
	    "[fc00::1]",
	    "[fe80::1]",
	    "224.0.0.1",
	    "[ff02::1]",
	    "255.255.255.255",
	    "[64:ff9b::a9fe:a9fe]",
	    "[2002:a00:1::]",
	    "012.0.0.1",
	    "[::ffff:a00:1]",
	};
	struct tproxy t;
	char *out;

	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "", 1);
	ASSERT_EQ(tproxy_start(&t, TDEC_DENY), 0);
	tproxy_set_mode(&t, TDEC_DENY, "asked: the decider should never have been");
	for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
		out = connect_reply(t.http_port, hosts[i], 443);
		ASSERT(out != NULL);
		if (strstr(out, "HTTP/1.1 403 Forbidden\r\n") == NULL ||
		    strstr(out, "network.allow_private does not open") == NULL) {
			fprintf(stderr, "CONNECT %s: %s\n", hosts[i], out);
			free(out);
			return 1;
		}
		free(out);
		ASSERT_EQ(get_reply(t.http_port, hosts[i], 80, NULL), 403);
	}
	out = connect_reply(t.http_port, "169.254.169.254", 80);
	ASSERT_CONTAINS(out,
	                "169.254.169.254 is a link-local address (the cloud metadata service)");
	free(out);
	{
		static const unsigned char v4[4] = {10, 0, 0, 1}, meta[4] = {169, 254, 169, 254};
		unsigned char v6[16];

		ASSERT_EQ(socks_code(t.socks_port, 1, v4, 4, 443), 2);
		ASSERT_EQ(socks_code(t.socks_port, 1, meta, 4, 80), 2);
		inet_pton(AF_INET6, "fd00::1", v6);
		ASSERT_EQ(socks_code(t.socks_port, 4, v6, 16, 443), 2);
		ASSERT_EQ(socks_code(t.socks_port, 3, "167772161", 9, 443), 2);
	}
	ASSERT_EQ(tproxy_calls(&t), 0);
	ASSERT_EQ(tproxy_refusals(&t), (int)(2 * (sizeof hosts / sizeof *hosts)) + 1 + 4);
	ASSERT_EQ(tproxy_stop(&t), 0);
	return 0;
}

TEST(proxy_allow_private_opens_exact_entries)
{
	static const char *const allow[] = {"10.1.2.3", "fd00:1::/64", "192.168.7.0/24"};
	struct tproxy t;
	char *out;
	const char *why = NULL, *which = NULL;

	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "", 1);
	/* A covered address goes on to the decider (which denies, so nothing connects out). */
	ASSERT_EQ(tproxy_start_with(&t, TDEC_DENY, allow, 3), 0);
	tproxy_set_mode(&t, TDEC_DENY, "the decider says no");
	out = connect_reply(t.http_port, "10.1.2.3", 443);
	ASSERT_CONTAINS(out, "the decider says no");
	free(out);
	ASSERT_EQ(tproxy_calls(&t), 1);
	ASSERT_STR_EQ(t.last_host, "10.1.2.3");
	out = connect_reply(t.http_port, "[::ffff:10.1.2.3]", 443);
	ASSERT_CONTAINS(out, "the decider says no");
	free(out);
	out = connect_reply(t.http_port, "[fd00:1::77]", 443);
	ASSERT_CONTAINS(out, "the decider says no");
	free(out);
	out = connect_reply(t.http_port, "192.168.7.200", 443);
	ASSERT_CONTAINS(out, "the decider says no");
	free(out);
	ASSERT_EQ(tproxy_calls(&t), 4);
	/* Next to them: refused by policy, not asked. */
	out = connect_reply(t.http_port, "10.1.2.4", 443);
	ASSERT_CONTAINS(out, "10.1.2.4 is a private address");
	free(out);
	out = connect_reply(t.http_port, "[fd00:2::77]", 443);
	ASSERT_CONTAINS(out, "network.allow_private does not open");
	free(out);
	out = connect_reply(t.http_port, "192.168.8.1", 443);
	ASSERT_CONTAINS(out, "network.allow_private does not open");
	free(out);
	out = connect_reply(t.http_port, "169.254.169.254", 80);
	ASSERT_CONTAINS(out, "network.allow_private does not open");
	free(out);
	out = connect_reply(t.http_port, "127.0.0.1", 80);
	ASSERT_CONTAINS(out, "a loopback address");
	free(out);
	ASSERT_EQ(tproxy_calls(&t), 4);
	ASSERT_EQ(tproxy_refusals(&t), 5);
	ASSERT_EQ(tproxy_stop(&t), 0);
	/* The setter names the bad entry and keeps the old list. */
	{
		uv_loop_t loop;
		struct proxy_decider d = {0};
		struct proxy *p;
		const char *const mixed[] = {"10.0.0.0/8", "10.0.0.1/8"};
		const char *const loop4[] = {"127.0.0.1"}, *const loop6[] = {"::1"};

		ASSERT_EQ(uv_loop_init(&loop), 0);
		p = proxy_new(&loop, &d);
		ASSERT_EQ(proxy_set_allow_private(p, mixed, 2, &which, &why), -EINVAL);
		ASSERT_STR_EQ(which, "10.0.0.1/8");
		ASSERT_CONTAINS(why, "past the prefix");
		/* Loopback cannot be opened this way. */
		ASSERT_EQ(proxy_set_allow_private(p, loop4, 1, &which, &why), -EINVAL);
		ASSERT_CONTAINS(why, "host_loopback_ports");
		ASSERT_EQ(proxy_set_allow_private(p, loop6, 1, &which, &why), -EINVAL);
		proxy_close(p, NULL, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		ASSERT_EQ(uv_loop_close(&loop), 0);
	}
	return 0;
}

TEST(proxy_refuses_this_machines_own_addresses)
{
	uv_interface_address_t *ifs;
	int n;
	char **hosts = NULL, **entries = NULL;
	size_t nh = 0;
	struct tproxy t;

	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "", 1);
	ASSERT_EQ(uv_interface_addresses(&ifs, &n), 0);
	for (int i = 0; i < n; i++) {
		struct proxy_address a;
		char text[INET6_ADDRSTRLEN];

		if (!proxy_address_from_sockaddr((struct sockaddr *)&ifs[i].address.address4, &a) ||
		    proxy_address_classify(&a) == PROXY_ADDRESS_LOOPBACK)
			continue;
		proxy_address_format(&a, text, sizeof text);
		hosts = xreallocarray(hosts, nh + 1, sizeof *hosts);
		entries = xreallocarray(entries, nh + 1, sizeof *entries);
		hosts[nh] = xasprintf(a.family == AF_INET6 ? "[%s]" : "%s", text);
		/* Open it as a private address, should it be one: it stays this machine's. */
		entries[nh++] = xasprintf("%s", text);
	}
	uv_free_interface_addresses(ifs, n);
	if (nh == 0)
		SKIP("this host has no address but loopback");
	/* The decider denies: even a proxy that asked would not connect. */
	ASSERT_EQ(tproxy_start_with(&t, TDEC_DENY, (const char *const *)entries, nh), 0);
	for (size_t i = 0; i < nh; i++) {
		char *out = connect_reply(t.http_port, hosts[i], 6379);

		if (strstr(out, "HTTP/1.1 403 Forbidden\r\n") == NULL ||
		    strstr(out, "an address of this machine") == NULL) {
			fprintf(stderr, "CONNECT %s: %s\n", hosts[i], out);
			free(out);
			return 1;
		}
		free(out);
		free(hosts[i]);
		free(entries[i]);
	}
	free(hosts);
	free(entries);
	ASSERT_EQ(tproxy_calls(&t), 0);
	ASSERT_EQ(tproxy_refusals(&t), (int)nh);
	ASSERT_EQ(tproxy_stop(&t), 0);
	return 0;
}

/* Counts the audit lines of LOG that contain every word of WORDS. */
static int audit_count(const char *log, const char *const *words)
{
	FILE *f = fopen(log, "r");
	char line[8192];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		bool all = true;

		for (size_t i = 0; words[i] != NULL; i++)
			all &= strstr(line, words[i]) != NULL;
		n += all;
	}
	fclose(f);
	return n;
}

/* The session loop of the next test, on its own thread. */
struct asess {
	uv_loop_t loop;
	uv_timer_t tick;
	struct proxy_session *session;
	pthread_t thread;
	atomic_bool stop;
	atomic_ulong lookups; /* the proxy's stats.lookups, copied on each tick */
};

/* Close callback of the tick timer. */
static void asess_tick_closed(uv_handle_t *h)
{
	(void)h;
}

/* Called once the session is closed. */
static void asess_closed(void *arg)
{
	struct asess *s = arg;

	uv_close((uv_handle_t *)&s->tick, asess_tick_closed);
}

/* Closes the session when the test asks. */
static void asess_tick(uv_timer_t *timer)
{
	struct asess *s = timer->data;
	struct proxy_stats st;

	proxy_get_stats(proxy_session_proxy(s->session), &st);
	atomic_store(&s->lookups, (unsigned long)st.lookups);
	if (!atomic_load(&s->stop))
		return;
	uv_timer_stop(timer);
	proxy_session_close(s->session, asess_closed, s);
}

/* Runs the loop. */
static void *asess_main(void *arg)
{
	struct asess *s = arg;

	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Starts a session on QUEUE in S, its loop on a thread. */
static int asess_start(struct asess *s, struct approval_queue *queue)
{
	memset(s, 0, sizeof *s);
	if (uv_loop_init(&s->loop) != 0 || proxy_session_start(&s->loop, queue, &s->session) != 0)
		return -1;
	uv_timer_init(&s->loop, &s->tick);
	s->tick.data = s;
	uv_timer_start(&s->tick, asess_tick, 2, 2);
	return pthread_create(&s->thread, NULL, asess_main, s) == 0 ? 0 : -1;
}

/* Closes S's session and joins its loop; returns uv_loop_close's result. */
static int asess_stop(struct asess *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	return uv_loop_close(&s->loop);
}

/* How many names S's proxy looked up, once the tick after the last request has run. */
static unsigned long asess_lookups(struct asess *s)
{
	usleep(20000);
	return atomic_load(&s->lookups);
}

TEST(proxy_session_refused_names_are_never_looked_up)
{
	/* Names that resolve from /etc/hosts at most: nothing here may ask a name server. */
	static const char *const denied[] = {"localhost"}, *const allowed[] = {"localhost"};
	struct approval_config cfg = {.approval = DECIDE_APPROVAL_ON_FAILURE,
	                              .denied_domains = denied,
	                              .n_denied_domains = 1};
	struct approval_queue *queue;
	struct asess s;
	char *out;

	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "", 1);
	/* denied_domains: refused by name, not looked up (else the reason would be loopback). */
	queue = approval_queue_new(&cfg);
	ASSERT_EQ(asess_start(&s, queue), 0);
	ASSERT_EQ(get_reply(proxy_session_http_port(s.session), "LocalHost", 1, &out), 403);
	ASSERT_CONTAINS(out, "network.denied_domains");
	free(out);
	ASSERT_EQ(asess_lookups(&s), 0);
	ASSERT_EQ(approval_pending(queue), 0);
	ASSERT_EQ(asess_stop(&s), 0);
	approval_queue_free(queue);
	/* Policy never with nothing that allows the name: refused, not looked up. */
	cfg.approval = DECIDE_APPROVAL_NEVER;
	cfg.n_denied_domains = 0;
	queue = approval_queue_new(&cfg);
	ASSERT_EQ(asess_start(&s, queue), 0);
	ASSERT_EQ(get_reply(proxy_session_http_port(s.session), "localhost", 1, &out), 403);
	ASSERT_CONTAINS(out, "policy never");
	free(out);
	ASSERT_EQ(asess_lookups(&s), 0);
	ASSERT_EQ(asess_stop(&s), 0);
	approval_queue_free(queue);
	/* Allowed by name: looked up once, and then refused as this machine. */
	cfg.allowed_domains = allowed;
	cfg.n_allowed_domains = 1;
	queue = approval_queue_new(&cfg);
	ASSERT_EQ(asess_start(&s, queue), 0);
	if (resolves_to_loopback("localhost")) {
		ASSERT_EQ(get_reply(proxy_session_http_port(s.session), "localhost", 1, &out), 403);
		ASSERT_CONTAINS(out, "a loopback address");
		free(out);
		ASSERT_EQ(asess_lookups(&s), 1);
	}
	ASSERT_EQ(asess_stop(&s), 0);
	approval_queue_free(queue);
	return 0;
}

TEST(proxy_session_private_refusal_is_audited_without_prompt)
{
	static const char *const all[] = {"*"};
	struct approval_config cfg = {
	    .approval = DECIDE_APPROVAL_ON_FAILURE, .allowed_domains = all, .n_allowed_domains = 1};
	char *home = xasprintf("%s/home", test_tmpdir()), *log, *cause = NULL, *out;
	struct approval_queue *queue;
	struct audit *audit;
	struct rules *rules = rules_new();
	struct tserver srv;
	struct asess s;
	int status;

	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "", 1);
	mkdir(home, 0700);
	log = xasprintf("%s/audit.jsonl", home);
	audit = audit_open(log, &cause);
	ASSERT(audit != NULL);
	cfg.audit = audit;
	cfg.rules = rules;
	cfg.home = home;
	queue = approval_queue_new(&cfg);
	ASSERT_EQ(tserver_http_start(&srv), 0);
	memset(&s, 0, sizeof s);
	ASSERT_EQ(uv_loop_init(&s.loop), 0);
	ASSERT_EQ(proxy_session_start(&s.loop, queue, &s.session), 0);
	{
		const char *const bad[] = {"::1"};
		const char *const ok[] = {"10.1.2.3"};

		ASSERT_EQ(proxy_session_set_allow_private(s.session, bad, 1, &cause), -EINVAL);
		ASSERT_CONTAINS(cause, "network.allow_private: \"::1\": ");
		free(cause);
		cause = NULL;
		ASSERT_EQ(proxy_session_set_allow_private(s.session, ok, 1, &cause), 0);
	}
	uv_timer_init(&s.loop, &s.tick);
	s.tick.data = &s;
	uv_timer_start(&s.tick, asess_tick, 2, 2);
	ASSERT_EQ(pthread_create(&s.thread, NULL, asess_main, &s), 0);

	/* "*" allows every name, yet this machine stays out of reach, with no prompt. */
	status = get_reply(proxy_session_http_port(s.session), "127.0.0.1", srv.port, &out);
	ASSERT_EQ(status, 403);
	ASSERT_CONTAINS(out, "127.0.0.1 is a loopback address");
	free(out);
	out = connect_reply(proxy_session_http_port(s.session), "[::ffff:127.0.0.1]", srv.port);
	ASSERT_CONTAINS(out, "HTTP/1.1 403 Forbidden\r\n");
	free(out);
	out = connect_reply(proxy_session_http_port(s.session), "0.0.0.0", srv.port);
	ASSERT_CONTAINS(out, "HTTP/1.1 403 Forbidden\r\n");
	free(out);
	{
		static const unsigned char v4[4] = {127, 0, 0, 1};

		ASSERT_EQ(socks_code(proxy_session_socks_port(s.session), 1, v4, 4, srv.port), 2);
	}
	out = connect_reply(proxy_session_http_port(s.session), "169.254.169.254", 80);
	ASSERT_CONTAINS(out, "the cloud metadata service");
	free(out);
	if (resolves_to_loopback("localhost")) {
		out = connect_reply(proxy_session_http_port(s.session), "localhost", srv.port);
		ASSERT_CONTAINS(out, "localhost resolves to");
		free(out);
	}
	/* (10.1.2.3, now open, is not tried: "*" would connect to it.) */
	atomic_store(&s.stop, true);
	pthread_join(s.thread, NULL);
	ASSERT_EQ(uv_loop_close(&s.loop), 0);
	ASSERT_EQ(approval_pending(queue), 0);
	ASSERT_EQ(atomic_load(&srv.connections), 0);
	{
		const char *deny[] = {"\"kind\":\"network\"", "\"decision\":\"deny\"",
		                      "\"by\":\"policy\"", "\"prompted\":false", NULL};
		const char *allow[] = {"\"decision\":\"allow\"", NULL};
		const char *meta[] = {"\"subject\":\"169.254.169.254:80\"", "\"by\":\"policy\"",
		                      NULL};
		const char *socks[] = {"\"protocol\":\"socks5\"", "\"by\":\"policy\"", NULL};
		const char *why[] = {
		    "\"subject\":\"127.0.0.1:",
		    "\"reason\":\"127.0.0.1 is a loopback address: the proxy never "
		    "connects to this machine",
		    NULL};
		int expect = 5 + (resolves_to_loopback("localhost") ? 1 : 0);

		ASSERT_EQ(audit_count(log, deny), expect);
		ASSERT_EQ(audit_count(log, allow), 0);
		ASSERT_EQ(audit_count(log, meta), 1);
		ASSERT_EQ(audit_count(log, socks), 1);
		ASSERT_EQ(audit_count(log, why), 2); /* the GET and the SOCKS request */
	}
	approval_queue_free(queue);
	audit_close(audit);
	rules_free(rules);
	tserver_stop(&srv);
	free(log);
	free(home);
	return 0;
}

TEST(proxy_address_config_allow_private)
{
	struct config c;
	char *cause = NULL;

	ASSERT_EQ(config_parse(&c,
	                       "{\"network\": {\"allowed_domains\": [\"*\"],\n"
	                       "  \"allow_private\": [\"10.0.0.0/8\", \"fd00::1\", "
	                       "\"169.254.169.254\"]}}",
	                       "c.json", &cause),
	          0);
	ASSERT_EQ(c.n_allow_private, 3);
	ASSERT_STR_EQ(c.allow_private[1], "fd00::1");
	config_free(&c);
	/* A bad entry names its line and column, the entry and why. */
	ASSERT_EQ(config_parse(&c,
	                       "{\"network\": {\n"
	                       "  \"allow_private\": [\"10.0.0.0/8\",\n"
	                       "     \"10.0.0.1/8\"]}}",
	                       "c.json", &cause),
	          -EINVAL);
	ASSERT_STR_EQ(cause, "c.json:3:6: \"network.allow_private\": [1]: \"10.0.0.1/8\": bits are "
	                     "set past the prefix length");
	free(cause);
	ASSERT_EQ(config_parse(&c, "{\"network\": {\"allow_private\": [\"127.0.0.1\"]}}", "c.json",
	                       &cause),
	          -EINVAL);
	ASSERT_CONTAINS(cause, "c.json:1:32: ");
	ASSERT_CONTAINS(cause, "host_loopback_ports");
	free(cause);
	ASSERT_EQ(
	    config_parse(&c, "{\"network\": {\"allow_private\": [\"db.corp\"]}}", "c.json", &cause),
	    -EINVAL);
	ASSERT_CONTAINS(cause, "not an IPv4 address");
	free(cause);
	ASSERT_EQ(
	    config_parse(&c, "{\"network\": {\"allow_private\": \"10.0.0.1\"}}", "c.json", &cause),
	    -EINVAL);
	ASSERT_CONTAINS(cause, "must be an array of strings");
	free(cause);
	return 0;
}
