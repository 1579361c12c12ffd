/*
 * The SOCKS5 side of the proxy (RFC 1928): the greeting (only the "no
 * authentication" method is offered), then one CONNECT request whose
 * address is an IPv4 or IPv6 literal or a domain name (resolved here, so
 * clients use socks5h). The destination is asked about with protocol
 * `socks`; a refusal (by the decider, or of a private or loopback address
 * before asking) is reply 0x02 (connection not allowed by ruleset).
 * Other commands get 0x07, other address types 0x08, a bad name 0x04;
 * anything that is not SOCKS5 closes the connection. After the success
 * reply the connection is a raw relay (proxy.c).
 */
#include "proxy-private.h"

#include "xmalloc.h"

#include <ctype.h>
#include <string.h>

/* SOCKS5 reply codes used here. */
enum {
	SOCKS_OK = 0x00,
	SOCKS_GENERAL = 0x01,
	SOCKS_NOT_ALLOWED = 0x02,
	SOCKS_NET_UNREACH = 0x03,
	SOCKS_HOST_UNREACH = 0x04,
	SOCKS_REFUSED = 0x05,
	SOCKS_TTL = 0x06,
	SOCKS_BAD_COMMAND = 0x07,
	SOCKS_BAD_ATYP = 0x08,
};

/* Sends a reply with CODE and a zero IPv4 bound address. */
static void proxy_socks__reply(struct proxy__conn *conn, unsigned char code)
{
	const unsigned char reply[10] = {5, code, 0, 1, 0, 0, 0, 0, 0, 0};

	proxy__write_client_copy(conn, reply, sizeof reply);
}

/* Sends a failure reply and closes CONN after it. */
static void proxy_socks__fail(struct proxy__conn *conn, unsigned char code)
{
	if (code != SOCKS_NOT_ALLOWED)
		proxy__count_error(conn);
	proxy_socks__reply(conn, code);
	proxy__conn_finish(conn);
}

/* Whether NAME (N bytes) is a host name this proxy will look up. */
static bool proxy_socks__valid_name(const unsigned char *name, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum(name[i]) && name[i] != '-' && name[i] != '.' && name[i] != '_')
			return false;
	return true;
}

/* Parses the greeting; returns false when more bytes are needed or CONN ended. */
static bool proxy_socks__greet(struct proxy__conn *conn)
{
	const unsigned char *in = (const unsigned char *)conn->in;
	static const unsigned char accept[2] = {5, 0}, refuse[2] = {5, 0xff};
	size_t n;

	if (conn->inlen < 2)
		return false;
	if (in[0] != 5) {
		proxy__count_error(conn);
		proxy__conn_close(conn);
		return false;
	}
	n = in[1];
	if (conn->inlen < 2 + n)
		return false;
	if (memchr(in + 2, 0, n) == NULL) {
		proxy__count_error(conn);
		proxy__write_client_copy(conn, refuse, sizeof refuse);
		proxy__conn_finish(conn);
		return false;
	}
	proxy__consume(conn, 2 + n);
	proxy__write_client_copy(conn, accept, sizeof accept);
	conn->state = PROXY__REQUEST;
	return true;
}

/* Parses the CONNECT request and asks about its destination. */
static void proxy_socks__request(struct proxy__conn *conn)
{
	const unsigned char *in = (const unsigned char *)conn->in;
	char host[256];
	size_t need;
	uint16_t port;

	if (conn->inlen < 5)
		return;
	if (in[0] != 5) {
		proxy_socks__fail(conn, SOCKS_GENERAL);
		return;
	}
	if (in[1] != 1) {
		proxy_socks__fail(conn, SOCKS_BAD_COMMAND);
		return;
	}
	switch (in[3]) {
	case 1:
		need = 4 + 4 + 2;
		break;
	case 3:
		need = 4 + 1 + in[4] + 2;
		break;
	case 4:
		need = 4 + 16 + 2;
		break;
	default:
		proxy_socks__fail(conn, SOCKS_BAD_ATYP);
		return;
	}
	if (conn->inlen < need)
		return;
	port = (uint16_t)(in[need - 2] << 8 | in[need - 1]);
	if (in[3] == 1) {
		uv_inet_ntop(AF_INET, in + 4, host, sizeof host);
	} else if (in[3] == 4) {
		uv_inet_ntop(AF_INET6, in + 4, host, sizeof host);
	} else {
		if (!proxy_socks__valid_name(in + 5, in[4])) {
			proxy_socks__fail(conn, SOCKS_HOST_UNREACH);
			return;
		}
		for (size_t i = 0; i < in[4]; i++)
			host[i] = (char)tolower(in[5 + i]);
		host[in[4]] = '\0';
	}
	proxy__consume(conn, need);
	if (port == 0) {
		proxy_socks__fail(conn, SOCKS_GENERAL);
		return;
	}
	proxy__ask(conn, host, PROXY_PROTO_SOCKS, port);
}

/* Handles client bytes before the tunnel is up. */
void proxy_socks__process(struct proxy__conn *conn)
{
	if (conn->state == PROXY__GREET && !proxy_socks__greet(conn)) {
		proxy__update_reading(conn);
		return;
	}
	if (conn->state == PROXY__REQUEST && !conn->closing && !conn->finishing)
		proxy_socks__request(conn);
	proxy__update_reading(conn);
}

/* Continues after the decision: connect, or refuse with 0x02. */
void proxy_socks__decided(struct proxy__conn *conn, bool allow, const char *reason)
{
	(void)reason;
	if (conn->closing)
		return;
	if (!allow) {
		proxy_socks__fail(conn, SOCKS_NOT_ALLOWED);
		return;
	}
	proxy__connect(conn);
}

/* Maps a connection error to a SOCKS reply code. */
static unsigned char proxy_socks__code(int status)
{
	if (status <= -3000 && status > -3100)
		return SOCKS_HOST_UNREACH; /* name resolution */
	switch (status) {
	case UV_ECONNREFUSED:
		return SOCKS_REFUSED;
	case UV_ENETUNREACH:
		return SOCKS_NET_UNREACH;
	case UV_EHOSTUNREACH:
		return SOCKS_HOST_UNREACH;
	case UV_ETIMEDOUT:
		return SOCKS_TTL;
	default:
		return SOCKS_GENERAL;
	}
}

/* Continues once connected: success reply with the bound address, then relay. */
void proxy_socks__connected(struct proxy__conn *conn, int status)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	unsigned char reply[22] = {5, SOCKS_OK, 0, 1};
	size_t n = 10;

	if (conn->closing)
		return;
	if (status < 0) {
		proxy_socks__fail(conn, proxy_socks__code(status));
		return;
	}
	conn->peer->reusable = false;
	if (uv_tcp_getsockname(&conn->peer->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

			memcpy(reply + 4, &sin->sin_addr, 4);
			memcpy(reply + 8, &sin->sin_port, 2);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

			reply[3] = 4;
			memcpy(reply + 4, &sin6->sin6_addr, 16);
			memcpy(reply + 20, &sin6->sin6_port, 2);
			n = 22;
		}
	}
	proxy__write_client_copy(conn, reply, n);
	proxy__enter_tunnel(conn);
}
