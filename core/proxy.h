/*
 * The network proxy of `--network ask` (SPEC sections 3 and 5): one per
 * session, on the caller's libuv loop, listening on 127.0.0.1 only.
 *
 * Two listening ports, each of which accepts both dialects (a connection
 * whose first byte is 0x05 is SOCKS, anything else is HTTP):
 *   - HTTP/1.1 forward proxy: absolute-form requests (`GET http://h/p`), with
 *     keep-alive, request bodies (Content-Length or chunked) and streamed
 *     responses; and CONNECT tunnels (`CONNECT h:443`).
 *   - SOCKS5 (RFC 1928): no-authentication method, CONNECT command, with
 *     IPv4, IPv6 and domain-name addresses (names resolved here: socks5h).
 *
 * Every request names a destination, (lower-cased host, protocol, port),
 * with protocol `http` for absolute-form requests, `https` for CONNECT and
 * `socks5` for SOCKS. Before anything is forwarded the proxy asks its decider
 * (a table of function pointers plus data) through a query. Queries are
 * deduplicated here (unless the decider asks for one query per request):
 * while one query for a destination is pending, further requests for the
 * same destination wait on it (no new query), and its one answer releases
 * or refuses all of them. Nothing is sent upstream before the
 * answer.
 *
 * Before it asks, the proxy resolves the destination (a literal in any
 * spelling, else uv_getaddrinfo) and checks every address it got (SPEC 11,
 * proxy-address.h): loopback, unspecified, private, link-local, multicast
 * and reserved addresses are refused at once, with no query (the decider's
 * refused() is told, for the record), unless network.allow_private opens
 * them (loopback and unspecified never: host services are reached through
 * the sandbox's host_loopback_ports bridges, not through the proxy). An
 * allowed request is connected to exactly the addresses that were checked
 * (no second lookup, so no DNS-rebinding window); a name that did not
 * resolve is still asked about and then fails with 502 / SOCKS 0x04; a
 * name the decider's refused_by_name() says is refused anyway is asked
 * about at once and never looked up. An IP
 * literal is asked about in its usual text form (`0x7f.1` as 127.0.0.1).
 * A refused request gets `403 Forbidden` with an
 * `x-airlock-error` header (HTTP/CONNECT) or reply 0x02 "connection not
 * allowed by ruleset" (SOCKS). For HTTP, an approval covers the client
 * connection's later requests to the same destination (one keep-alive
 * connection is one approval); a new connection asks again, and the decider
 * answers from its caches.
 *
 * A request waiting for its answer (or for the lookup before the question)
 * whose client goes away is withdrawn at once: the proxy keeps reading the
 * client meanwhile (holding what it sends early, a request body or a
 * tunnel's first bytes, up to PROXY_MAX_HEAD; past that it stops reading
 * until the answer, and a close then goes unseen until it), and at its end
 * of stream or error the request leaves its query, which is withdrawn (the
 * decider's cancel) when no other request waits on it; nothing of it is
 * connected. Every dialect counts an end of stream there as going away,
 * HTTP CONNECT included: a client that only shut its sending side (a
 * half-close) looks exactly like one that closed or was killed (both are
 * one FIN, and the sandbox's bridges pass a close on as a shutdown of
 * writing), and the only way to tell them apart is to send bytes the client
 * must read, which a proxy may not do before its reply (curl fails a CONNECT
 * on an interim 1xx). Such a client is sent the refusal (403, SOCKS 0x02)
 * naming the withdrawal. Once a tunnel is up a half-close is passed on as
 * before, and an HTTP request whose head was forwarded still gets its
 * response after one.
 *
 * Malformed input gets an error reply (400, 431 for a head larger than
 * PROXY_MAX_HEAD, SOCKS failure codes) and that connection is closed; the
 * proxy keeps serving the others. Relayed data is read in 64 KiB buffers and
 * handed to the other side without copying; a side stops being read while
 * its peer's write queue holds more than PROXY_HIGH_WATER bytes.
 */
#ifndef AIRLOCK_PROXY_H
#define AIRLOCK_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The largest request or response head (line plus headers) accepted. */
#define PROXY_MAX_HEAD (64 * 1024)
/* Reading a side stops while the other side's write queue exceeds this. */
#define PROXY_HIGH_WATER (1024 * 1024)

enum proxy_proto {
	PROXY_PROTO_HTTP,  /* absolute-form HTTP request */
	PROXY_PROTO_HTTPS, /* CONNECT tunnel */
	PROXY_PROTO_SOCKS, /* SOCKS5 CONNECT */
};

/* A destination: what decisions and session caches are keyed by. */
struct proxy_dest {
	const char *host; /* lower-cased; an IPv6 literal has no brackets */
	enum proxy_proto proto;
	uint16_t port;
};

/* "http", "https" or "socks5" (the protocol names of network_rule). */
const char *proxy_proto_name(enum proxy_proto proto);

/* One pending decision on one destination; owned by the proxy. */
struct proxy_query;

/*
 * How the proxy asks. decide() is called once per query and must lead,
 * at once or later (from the loop's thread), to exactly one
 * proxy_query_answer() -- unless cancel() is called first, when the proxy
 * closes: after cancel() the query is gone and must not be answered.
 */
struct proxy_decider {
	void (*decide)(void *data, struct proxy_query *query);
	void (*cancel)(void *data, struct proxy_query *query);
	void *data;
	/*
	 * true: one query per request, never shared here (for a decider that
	 * merges requests itself, like the approval queue, whose audit line
	 * then counts every request a prompt answered); false: requests for a
	 * destination with a pending query wait on it.
	 */
	bool per_request;
	/*
	 * Optional: the proxy refused DEST by itself, before asking (an address
	 * of loopback or a private network, SPEC 11), for REASON; for the
	 * record (the audit log). Nothing is answered.
	 */
	void (*refused)(void *data, const struct proxy_dest *dest, const char *reason);
	/*
	 * Optional: whether DEST (a name, not a literal) would be refused by its
	 * name alone. Then the proxy asks at once and never looks the name up
	 * (a lookup is itself traffic, and tells a name server what was asked).
	 */
	bool (*refused_by_name)(void *data, const struct proxy_dest *dest);
};

/* The destination QUERY is about (valid until it is answered or cancelled). */
const struct proxy_dest *proxy_query_dest(const struct proxy_query *query);
/* How many requests wait on QUERY right now (1 or more; 0 if they all left). */
size_t proxy_query_waiters(const struct proxy_query *query);
/*
 * Answers QUERY for every request waiting on it, then frees it. REASON says
 * why when refused (sent in `x-airlock-error`; NULL for a default text).
 */
void proxy_query_answer(struct proxy_query *query, bool allow, const char *reason);

struct proxy;

/*
 * Creates a proxy on LOOP asking DECIDER (copied). Start it with proxy_start.
 * In test programs only, the ports proxy_test_loopback_ports() names let it
 * reach loopback literals (127.x.y.z, ::1; never a name) there, as test
 * servers listen there; nothing else is opened by it.
 */
struct proxy *proxy_new(uv_loop_t *loop, const struct proxy_decider *decider);
/*
 * The loopback ports a test program opens to the proxy: `*` or a comma list
 * of ports, or NULL. NULL in airlock itself (core/proxy-hatch.c); test
 * programs link tests/proxy-hatch.c instead, which reads
 * AIRLOCK_PROXY_TEST_LOOPBACK_PORTS.
 */
const char *proxy_test_loopback_ports(void);
/*
 * Sets config network.allow_private: N entries (addresses or CIDRs, copied)
 * whose private, link-local, multicast or reserved addresses the proxy may
 * reach. Returns 0, or -EINVAL with *BAD the first bad entry and *WHY why.
 */
int proxy_set_allow_private(struct proxy *proxy, const char *const *entries, size_t n,
                            const char **bad, const char **why);
/* How long a connection may take to send a whole request head, by default (SPEC 9). */
#define PROXY_HEAD_TIMEOUT_MS 30000
/*
 * Sets that limit (0: the default): a connection whose HTTP request head,
 * or SOCKS greeting and request, is not complete MS after it began (after
 * the accept, or after the previous response on a keep-alive connection) is
 * closed, so slow or idle clients cannot hold descriptors for ever.
 */
void proxy_set_head_timeout(struct proxy *proxy, unsigned ms);
/* Binds and listens on 127.0.0.1 (ephemeral ports). Returns 0 or a negative errno. */
int proxy_start(struct proxy *proxy);
/* The port of the HTTP listener (also accepts SOCKS). */
int proxy_http_port(const struct proxy *proxy);
/* The port of the SOCKS listener (also accepts HTTP). */
int proxy_socks_port(const struct proxy *proxy);
/* Counters, for tests and the status line. */
struct proxy_stats {
	uint64_t connections; /* accepted */
	uint64_t queries;     /* decisions asked */
	uint64_t allowed;     /* requests allowed (each waiter counts) */
	uint64_t refused;     /* requests refused (each waiter counts) */
	uint64_t errors;      /* malformed requests and failed connections */
	uint64_t lookups;     /* names looked up (uv_getaddrinfo) */
	uint64_t withdrawn;   /* requests whose client left while they waited */
	size_t open;          /* client connections open now */
};
void proxy_get_stats(const struct proxy *proxy, struct proxy_stats *stats);

/*
 * Stops listening, closes every connection, cancels pending queries (through
 * the decider's cancel), and frees PROXY once every handle is closed; then
 * calls CB(ARG) if CB is not NULL.
 */
void proxy_close(struct proxy *proxy, void (*cb)(void *arg), void *arg);

/* ---- domain lists (config network.allowed_domains / denied_domains) ----- */

/*
 * Whether HOST matches PATTERN, case-insensitively, ignoring a trailing dot:
 *   "example.com"    matches example.com only;
 *   "*.example.com"  matches every subdomain (a.example.com, a.b.example.com)
 *                    but not example.com itself;
 *   ".example.com"   matches example.com and every subdomain;
 *   "*"              matches every host.
 * IP literals match only exactly (an IPv6 pattern may be written in brackets).
 */
bool proxy_domain_match(const char *pattern, const char *host);
/* Whether HOST matches any of the N PATTERNS; returns the first match or NULL. */
const char *proxy_domain_list_match(char *const *patterns, size_t n, const char *host);

#endif
