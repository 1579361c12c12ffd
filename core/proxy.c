/*
 * The proxy's plumbing: listeners, connections, queries, upstream
 * connections and the raw relay. The dialects live in proxy-http.c and
 * proxy-socks.c; this file calls into them when client bytes arrive, when a
 * query is answered and when an upstream connection is made.
 *
 * Flow of one connection: accept -> sniff the first byte (0x05: SOCKS, else
 * HTTP) -> the dialect parses a request and calls proxy__ask() -> the
 * destination is resolved and each address checked (proxy-address.c; a
 * refusal ends here, before any query) -> the query is answered (at once or
 * after a prompt) -> proxy__connect() connects to the checked addresses ->
 * the dialect replies and relays. Reading is switched on and off
 * in one place, proxy__update_reading(), from the state and from the peer's
 * write queue (backpressure). A connection is closed by proxy__conn_close()
 * and freed when the last of its handles (client, peers) has closed and no
 * name lookup is in flight.
 *
 * Queries are deduplicated by destination: proxy->queries holds the pending
 * ones; a request for a destination with a pending query joins its waiter
 * list instead of asking again. Answering removes the query first, then
 * resumes each waiter, so a waiter that asks again (a keep-alive client's
 * next request) starts a fresh query.
 */
#include "proxy-private.h"

#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One write in flight: the request, and the buffer it owns. */
struct proxy__write {
	uv_write_t req;
	struct proxy__conn *conn;
	char *buf;
	bool to_client;
	bool pooled; /* BUF is a read buffer: back to the pool */
};

static void proxy__maybe_free(struct proxy *proxy);
static void proxy__query(struct proxy__conn *conn);
static void proxy__forget_addrs(struct proxy__conn *conn);
static void proxy__resolve(struct proxy__conn *conn, bool for_connect);
static void proxy__try_next(struct proxy__conn *conn);

/* Whether HOST names this machine: localhost, *.localhost, or a loopback or unspecified literal. */
static bool proxy__is_self(const char *host)
{
	size_t n = strlen(host);
	struct proxy_address a;
	enum proxy_address_class c;

	if (strcmp(host, "localhost") == 0 || (n > 10 && strcmp(host + n - 10, ".localhost") == 0))
		return true;
	if (!proxy_address_parse(host, &a))
		return false;
	c = proxy_address_classify(&a);
	return c == PROXY_ADDRESS_LOOPBACK || c == PROXY_ADDRESS_UNSPECIFIED;
}

/* Returns the protocol's name as used in keys, prompts and the audit log. */
const char *proxy_proto_name(enum proxy_proto proto)
{
	switch (proto) {
	case PROXY_PROTO_HTTP:
		return "http";
	case PROXY_PROTO_HTTPS:
		return "https";
	case PROXY_PROTO_SOCKS:
		return "socks5";
	}
	return "?";
}

/* Returns the destination a query is about. */
const struct proxy_dest *proxy_query_dest(const struct proxy_query *query)
{
	return &query->dest;
}

/* Returns how many connections wait on a query. */
size_t proxy_query_waiters(const struct proxy_query *query)
{
	return query->n_waiters;
}

/* Unlinks CONN from the waiters of the query it waits on, if any. */
static void proxy__leave_query(struct proxy__conn *conn)
{
	struct proxy_query *q = conn->query;

	if (q == NULL)
		return;
	if (conn->wprev != NULL)
		conn->wprev->wnext = conn->wnext;
	else
		q->waiters = conn->wnext;
	if (conn->wnext != NULL)
		conn->wnext->wprev = conn->wprev;
	conn->wnext = conn->wprev = NULL;
	conn->query = NULL;
	q->n_waiters--;
}

/* Removes a query from its proxy's pending list. */
static void proxy__unlink_query(struct proxy_query *query)
{
	struct proxy_query **pp = &query->proxy->queries;

	while (*pp != NULL && *pp != query)
		pp = &(*pp)->next;
	if (*pp == query)
		*pp = query->next;
}

/*
 * CONN stops waiting on its query because it is going away (closed, or
 * finishing after its client left): when it was the last request waiting,
 * the query is withdrawn (the decider's cancel: its prompt leaves the queue)
 * and freed. A query being answered is left to proxy_query_answer().
 */
static void proxy__quit_query(struct proxy__conn *conn)
{
	struct proxy_query *q = conn->query;
	struct proxy *proxy = conn->proxy;

	if (q == NULL)
		return;
	proxy__leave_query(conn);
	if (q->n_waiters > 0 || q->answering)
		return;
	proxy__unlink_query(q);
	if (proxy->decider.cancel != NULL)
		proxy->decider.cancel(proxy->decider.data, q);
	free(q->host);
	free(q);
}

/* Resumes every waiter of QUERY with the answer, then frees it. */
void proxy_query_answer(struct proxy_query *query, bool allow, const char *reason)
{
	struct proxy *proxy = query->proxy;
	struct proxy__conn *conn;

	proxy__unlink_query(query);
	query->answering = true; /* a waiter closing meanwhile never frees it */
	while ((conn = query->waiters) != NULL) {
		proxy__leave_query(conn);
		if (allow)
			proxy->stats.allowed++;
		else
			proxy->stats.refused++;
		if (conn->kind == PROXY__SOCKS)
			proxy_socks__decided(conn, allow, reason);
		else
			proxy_http__decided(conn, allow, reason);
	}
	free(query->host);
	free(query);
}

/* Asks (or joins a pending query) whether CONN may reach the destination. */
void proxy__ask(struct proxy__conn *conn, const char *host, enum proxy_proto proto, uint16_t port)
{
	struct proxy *proxy = conn->proxy;
	struct proxy_address lit;
	char canon[INET6_ADDRSTRLEN];

	free(conn->host);
	/* A literal is asked about as its usual text, however it was spelt. */
	if (proxy_address_parse(host, &lit))
		conn->host = xstrdup(proxy_address_format(&lit, canon, sizeof canon));
	else
		conn->host = xstrdup(host);
	conn->proto = proto;
	conn->port = port;
	conn->state = PROXY__DECIDE;
	if ((port == proxy->http_port || port == proxy->socks_port) && proxy__is_self(conn->host)) {
		proxy->stats.refused++;
		if (conn->kind == PROXY__SOCKS)
			proxy_socks__decided(conn, false, "the proxy does not connect to itself");
		else
			proxy_http__decided(conn, false, "the proxy does not connect to itself");
		return;
	}
	if (proxy->decider.refused_by_name != NULL && !proxy_address_parse(conn->host, &lit)) {
		struct proxy_dest dest = {.host = conn->host, .proto = proto, .port = port};

		if (proxy->decider.refused_by_name(proxy->decider.data, &dest)) {
			/* Refused anyway: asked at once, the name never looked up. */
			proxy__forget_addrs(conn);
			proxy__query(conn);
			return;
		}
	}
	proxy__resolve(conn, false);
}

/* Asks (or joins a pending query) about CONN's destination, its addresses checked. */
static void proxy__query(struct proxy__conn *conn)
{
	struct proxy *proxy = conn->proxy;
	const char *host = conn->host;
	enum proxy_proto proto = conn->proto;
	uint16_t port = conn->port;
	struct proxy_query *q;
	bool fresh = false;

	for (q = proxy->decider.per_request ? NULL : proxy->queries; q != NULL; q = q->next)
		if (q->dest.proto == proto && q->dest.port == port && strcmp(q->host, host) == 0)
			break;
	if (q == NULL) {
		q = xcalloc(1, sizeof *q);
		q->proxy = proxy;
		q->host = xstrdup(host);
		q->dest.host = q->host;
		q->dest.proto = proto;
		q->dest.port = port;
		q->next = proxy->queries;
		proxy->queries = q;
		proxy->stats.queries++;
		fresh = true;
	}
	conn->query = q;
	conn->wprev = NULL;
	conn->wnext = q->waiters;
	if (q->waiters != NULL)
		q->waiters->wprev = conn;
	q->waiters = conn;
	q->n_waiters++;
	proxy__update_reading(conn);
	if (fresh)
		proxy->decider.decide(proxy->decider.data, q);
}

/* Counts a malformed request or a failed upstream connection. */
void proxy__count_error(struct proxy__conn *conn)
{
	conn->proxy->stats.errors++;
}

/* Frees CONN once nothing of it is open any more. */
static void proxy__conn_unref(struct proxy__conn *conn)
{
	struct proxy *proxy = conn->proxy;

	if (--conn->refs > 0)
		return;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		proxy->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	proxy->stats.open--;
	free(conn->addrs);
	proxy_http__req_free(&conn->req);
	for (size_t i = 0; i < conn->n_approved; i++)
		free(conn->approved[i]);
	free(conn->approved);
	free(conn->in);
	free(conn->up);
	free(conn->host);
	free(conn);
	proxy__maybe_free(proxy);
}

/* Close callback of the client handle. */
static void proxy__client_closed(uv_handle_t *h)
{
	proxy__conn_unref(h->data);
}

/* Close callback of a peer handle: frees the peer. */
static void proxy__peer_closed(uv_handle_t *h)
{
	struct proxy__peer *peer = h->data;
	struct proxy__conn *conn = peer->conn;

	free(peer->host);
	free(peer);
	proxy__conn_unref(conn);
}

/* Closes CONN's current peer, if any; the peer is freed when it has closed. */
static void proxy__drop_peer(struct proxy__conn *conn)
{
	struct proxy__peer *peer = conn->peer;

	if (peer == NULL)
		return;
	conn->peer = NULL;
	conn->reading_peer = false;
	uv_close((uv_handle_t *)&peer->tcp, proxy__peer_closed);
}

/* Closes everything of CONN at once. */
void proxy__conn_close(struct proxy__conn *conn)
{
	if (conn->closing)
		return;
	conn->closing = true;
	conn->state = PROXY__DONE;
	proxy__quit_query(conn);
	if (conn->gai_busy)
		uv_cancel((uv_req_t *)&conn->gai);
	proxy__drop_peer(conn);
	uv_close((uv_handle_t *)&conn->client, proxy__client_closed);
}

/* Closes CONN when its pending writes are done. */
static void proxy__maybe_finished(struct proxy__conn *conn)
{
	if (conn->finishing && !conn->closing && conn->client_writes == 0)
		proxy__conn_close(conn);
}

/* Stops taking requests on CONN and closes it once its replies are flushed. */
void proxy__conn_finish(struct proxy__conn *conn)
{
	if (conn->closing)
		return;
	conn->finishing = true;
	conn->state = PROXY__DONE;
	proxy__quit_query(conn);
	proxy__update_reading(conn);
	proxy__maybe_finished(conn);
}

/* Gives CONN's two sockets to splice threads and closes its handles; stays on the loop on failure.
 */
static void proxy__handoff(struct proxy__conn *conn)
{
	uv_os_fd_t fa, fb;
	int a, b;

	if (uv_fileno((uv_handle_t *)&conn->client, &fa) < 0 ||
	    uv_fileno((uv_handle_t *)&conn->peer->tcp, &fb) < 0)
		return;
	a = fcntl(fa, F_DUPFD_CLOEXEC, 3);
	b = a < 0 ? -1 : fcntl(fb, F_DUPFD_CLOEXEC, 3);
	if (b < 0) {
		if (a >= 0)
			close(a);
		return;
	}
	uv_read_stop((uv_stream_t *)&conn->client);
	uv_read_stop((uv_stream_t *)&conn->peer->tcp);
	conn->reading_client = conn->reading_peer = false;
	/* The descriptions are shared with the handles, which close right after. */
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) & ~O_NONBLOCK);
	fcntl(b, F_SETFL, fcntl(b, F_GETFL) & ~O_NONBLOCK);
	if (proxy_splice__start(conn->proxy->splice, a, b) < 0) {
		fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
		close(a);
		close(b);
		proxy__update_reading(conn);
		return;
	}
	proxy__conn_close(conn);
}

/* Hands CONN's tunnel over once nothing is queued on either side. */
static void proxy__try_handoff(struct proxy__conn *conn)
{
	if (!conn->handoff || conn->closing || conn->finishing || conn->state != PROXY__TUNNEL ||
	    conn->client_writes > 0 || conn->peer_writes > 0 || conn->inlen > 0 ||
	    conn->peer == NULL || !conn->peer->connected)
		return;
	conn->handoff = false;
	proxy__handoff(conn);
}

/* Marks CONN's tunnel for the splice threads (unless disabled). */
static void proxy__tunnel_ready(struct proxy__conn *conn)
{
	if (conn->proxy->no_splice)
		return;
	conn->handoff = true;
	proxy__try_handoff(conn);
}

/* Turns CONN into a tunnel: bytes the client sent early go upstream first. */
void proxy__enter_tunnel(struct proxy__conn *conn)
{
	conn->state = PROXY__TUNNEL;
	if (conn->inlen > 0) {
		char *copy = xmalloc(conn->inlen);

		memcpy(copy, conn->in, conn->inlen);
		proxy__write_peer(conn, copy, conn->inlen);
		conn->inlen = 0;
	}
	proxy__update_reading(conn);
	proxy__tunnel_ready(conn);
}

/* Write callback: frees the buffer and resumes reading when the queue drained. */
static void proxy__written(uv_write_t *req, int status)
{
	struct proxy__write *w = (struct proxy__write *)req;
	struct proxy__conn *conn = w->conn;

	if (w->to_client)
		conn->client_writes--;
	else
		conn->peer_writes--;
	if (w->pooled)
		proxy__buf_free(conn->proxy, w->buf);
	else
		free(w->buf);
	free(w);
	if (conn->closing)
		return;
	if (status < 0) {
		proxy__conn_close(conn);
		return;
	}
	proxy__update_reading(conn);
	proxy__maybe_finished(conn);
	proxy__try_handoff(conn);
}

/* Queues BUF (taken) on STREAM for CONN. */
static void proxy__write(struct proxy__conn *conn, uv_stream_t *stream, char *buf, size_t len,
                         bool to_client, bool pooled)
{
	struct proxy__write *w;
	uv_buf_t b;
	int rc;

	if (conn->closing || len == 0) {
		if (pooled)
			proxy__buf_free(conn->proxy, buf);
		else
			free(buf);
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->conn = conn;
	w->buf = buf;
	w->to_client = to_client;
	w->pooled = pooled;
	b = uv_buf_init(buf, (unsigned)len);
	rc = uv_write(&w->req, stream, &b, 1, proxy__written);
	if (rc < 0) {
		if (pooled)
			proxy__buf_free(conn->proxy, buf);
		else
			free(buf);
		free(w);
		proxy__conn_close(conn);
		return;
	}
	if (to_client)
		conn->client_writes++;
	else
		conn->peer_writes++;
}

/* Writes BUF (taken) to the client. */
void proxy__write_client(struct proxy__conn *conn, char *buf, size_t len)
{
	proxy__write(conn, (uv_stream_t *)&conn->client, buf, len, true, false);
}

/* Writes the read buffer BUF (taken) to the client. */
void proxy__write_client_buf(struct proxy__conn *conn, char *buf, size_t len)
{
	proxy__write(conn, (uv_stream_t *)&conn->client, buf, len, true, true);
}

/*
 * Keeps BUF for the next read, or frees it when the pool is full. BUF may be
 * NULL: libuv reports an end of stream that follows a hang-up after a partial
 * read with no buffer, and a NULL in the pool would fail every later read.
 */
void proxy__buf_free(struct proxy *proxy, char *buf)
{
	if (buf == NULL)
		return;
	if (proxy->n_pool < PROXY__POOL)
		proxy->pool[proxy->n_pool++] = buf;
	else
		free(buf);
}

/* Writes a copy of DATA to the client. */
void proxy__write_client_copy(struct proxy__conn *conn, const void *data, size_t len)
{
	char *copy = xmalloc(len > 0 ? len : 1);

	memcpy(copy, data, len);
	proxy__write_client(conn, copy, len);
}

/* Writes BUF (taken) to the upstream peer; dropped if there is none. */
void proxy__write_peer(struct proxy__conn *conn, char *buf, size_t len)
{
	if (conn->peer == NULL) {
		free(buf);
		return;
	}
	proxy__write(conn, (uv_stream_t *)&conn->peer->tcp, buf, len, false, false);
}

/* Writes the read buffer BUF (taken) to the upstream peer. */
static void proxy__write_peer_buf(struct proxy__conn *conn, char *buf, size_t len)
{
	if (conn->peer == NULL) {
		proxy__buf_free(conn->proxy, buf);
		return;
	}
	proxy__write(conn, (uv_stream_t *)&conn->peer->tcp, buf, len, false, true);
}

/* Drops the first N bytes of the client input. */
void proxy__consume(struct proxy__conn *conn, size_t n)
{
	if (n >= conn->inlen) {
		conn->inlen = 0;
		return;
	}
	memmove(conn->in, conn->in + n, conn->inlen - n);
	conn->inlen -= n;
}

/* Takes a read buffer from PROXY's pool, or a fresh one. */
static void proxy__buf_get(struct proxy *proxy, uv_buf_t *buf)
{
	buf->base = proxy->n_pool > 0 ? proxy->pool[--proxy->n_pool] : xmalloc(PROXY__READ_SIZE);
	buf->len = PROXY__READ_SIZE;
}

/* Allocation callback of client reads. */
static void proxy__alloc_client(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct proxy__conn *conn = h->data;

	(void)suggested;
	proxy__buf_get(conn->proxy, buf);
}

/* Allocation callback of upstream reads. */
static void proxy__alloc_peer(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct proxy__peer *peer = h->data;

	(void)suggested;
	proxy__buf_get(peer->conn->proxy, buf);
}

/* Half-closes STREAM once its queued writes are out; the request frees itself. */
static void proxy__shutdown_cb(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

/* Sends EOF on STREAM after its queued data. */
static void proxy__shutdown(uv_stream_t *stream)
{
	uv_shutdown_t *req = xcalloc(1, sizeof *req);

	if (uv_shutdown(req, stream, proxy__shutdown_cb) < 0)
		free(req);
}

/*
 * CONN's client closed (NREAD is UV_EOF) or broke its connection while its
 * request waited for an answer (or for the name lookup before the
 * question): the request is withdrawn, never connected. A closed client
 * still reading (a half-close) is told why, as a refusal; a broken one is
 * just closed. See proxy.h for why a half-close counts as going away here.
 */
static void proxy__client_left(struct proxy__conn *conn, ssize_t nread)
{
	static const char why[] = "withdrawn: the client closed its side of the connection "
	                          "before the answer";

	conn->proxy->stats.withdrawn++;
	proxy__quit_query(conn);
	if (nread != UV_EOF) {
		proxy__conn_close(conn);
		return;
	}
	if (conn->kind == PROXY__SOCKS)
		proxy_socks__decided(conn, false, why);
	else
		proxy_http__decided(conn, false, why);
}

/* Read callback of the client side. */
static void proxy__client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct proxy__conn *conn = s->data;

	if (conn->closing || nread == 0) {
		proxy__buf_free(conn->proxy, buf->base);
		return;
	}
	if (nread < 0) {
		proxy__buf_free(conn->proxy, buf->base);
		conn->client_eof = true;
		if (conn->state == PROXY__DECIDE) {
			proxy__client_left(conn, nread);
			return;
		}
		if (nread != UV_EOF) {
			proxy__conn_close(conn);
			return;
		}
		if (conn->state == PROXY__TUNNEL) {
			if (conn->peer == NULL || conn->peer->eof)
				proxy__conn_finish(conn);
			else
				proxy__shutdown((uv_stream_t *)&conn->peer->tcp);
			proxy__update_reading(conn);
			return;
		}
		if (conn->kind == PROXY__HTTP && conn->state != PROXY__HEAD) {
			/* The response may still come; it ends the connection. */
			proxy__update_reading(conn);
			return;
		}
		if (conn->kind == PROXY__HTTP)
			proxy_http__process(conn);
		else
			proxy__conn_finish(conn);
		return;
	}
	if (conn->state == PROXY__TUNNEL && conn->inlen == 0) {
		proxy__write_peer_buf(conn, buf->base, (size_t)nread);
		proxy__update_reading(conn);
		return;
	}
	if (conn->inlen + (size_t)nread > conn->incap) {
		conn->incap = conn->inlen + (size_t)nread + 4096;
		conn->in = xrealloc(conn->in, conn->incap);
	}
	memcpy(conn->in + conn->inlen, buf->base, (size_t)nread);
	conn->inlen += (size_t)nread;
	proxy__buf_free(conn->proxy, buf->base);
	if (conn->kind == PROXY__SNIFF) {
		if ((unsigned char)conn->in[0] == 0x04) {
			/* SOCKS4: "request rejected or failed", and goodbye. */
			static const unsigned char reject[8] = {0, 0x5b, 0, 0, 0, 0, 0, 0};

			conn->kind = PROXY__SOCKS;
			proxy__count_error(conn);
			proxy__write_client_copy(conn, reject, sizeof reject);
			proxy__conn_finish(conn);
			return;
		}
		if ((unsigned char)conn->in[0] == 0x05) {
			conn->kind = PROXY__SOCKS;
			conn->state = PROXY__GREET;
		} else {
			conn->kind = PROXY__HTTP;
			conn->state = PROXY__HEAD;
		}
	}
	if (conn->state == PROXY__TUNNEL) {
		char *copy = xmalloc(conn->inlen);

		memcpy(copy, conn->in, conn->inlen);
		proxy__write_peer(conn, copy, conn->inlen);
		conn->inlen = 0;
		proxy__update_reading(conn);
		return;
	}
	if (conn->kind == PROXY__SOCKS)
		proxy_socks__process(conn);
	else
		proxy_http__process(conn);
}

/* Read callback of the upstream side. */
static void proxy__peer_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct proxy__peer *peer = s->data;
	struct proxy__conn *conn = peer->conn;

	if (conn->closing || conn->peer != peer || nread == 0) {
		proxy__buf_free(conn->proxy, buf->base);
		return;
	}
	if (conn->state != PROXY__TUNNEL) {
		if (nread < 0) {
			proxy__buf_free(conn->proxy, buf->base);
			peer->eof = true;
			proxy_http__peer_read(conn, nread, NULL);
		} else {
			proxy_http__peer_read(conn, nread, buf->base);
		}
		return;
	}
	if (nread < 0) {
		proxy__buf_free(conn->proxy, buf->base);
		peer->eof = true;
		if (nread != UV_EOF) {
			proxy__conn_finish(conn);
			return;
		}
		if (conn->client_eof)
			proxy__conn_finish(conn);
		else
			proxy__shutdown((uv_stream_t *)&conn->client);
		proxy__update_reading(conn);
		return;
	}
	proxy__write_client_buf(conn, buf->base, (size_t)nread);
	proxy__update_reading(conn);
}

/* Whether the client side should be read now. */
static bool proxy__want_client(const struct proxy__conn *conn)
{
	if (conn->closing || conn->finishing || conn->client_eof)
		return false;
	switch (conn->state) {
	case PROXY__HEAD:
	case PROXY__GREET:
	case PROXY__REQUEST:
		return conn->inlen <= PROXY_MAX_HEAD;
	case PROXY__DECIDE:
		/*
		 * Waiting for an answer: read on, so that a client that goes away is
		 * seen at once (its request withdrawn); bytes it sends meanwhile (a
		 * request body, a tunnel's first bytes) are kept, up to a bound.
		 */
		return conn->inlen <= PROXY_MAX_HEAD;
	case PROXY__BODY:
	case PROXY__TUNNEL:
		return conn->peer != NULL && conn->peer->tcp.write_queue_size <= PROXY_HIGH_WATER;
	default:
		return false;
	}
}

/* Whether the upstream side should be read now. */
static bool proxy__want_peer(const struct proxy__conn *conn)
{
	const struct proxy__peer *peer = conn->peer;

	if (conn->closing || peer == NULL || !peer->connected || peer->eof)
		return false;
	if (conn->state == PROXY__CONNECTING)
		return false;
	return conn->client.write_queue_size <= PROXY_HIGH_WATER;
}

/* Starts or stops reading both sides as the state and queues say. */
void proxy__update_reading(struct proxy__conn *conn)
{
	bool want;

	if (conn->closing)
		return;
	want = proxy__want_client(conn);
	if (want != conn->reading_client) {
		if (want)
			uv_read_start((uv_stream_t *)&conn->client, proxy__alloc_client,
			              proxy__client_read);
		else
			uv_read_stop((uv_stream_t *)&conn->client);
		conn->reading_client = want;
	}
	want = proxy__want_peer(conn);
	if (want != conn->reading_peer) {
		if (want)
			uv_read_start((uv_stream_t *)&conn->peer->tcp, proxy__alloc_peer,
			              proxy__peer_read);
		else
			uv_read_stop((uv_stream_t *)&conn->peer->tcp);
		conn->reading_peer = want;
	}
}

/* Drops CONN's resolved addresses: the next connection resolves and checks again. */
static void proxy__forget_addrs(struct proxy__conn *conn)
{
	free(conn->addrs);
	conn->addrs = NULL;
	conn->n_addrs = conn->next_addr = 0;
	conn->have_addrs = false;
	conn->resolve_err = 0;
}

/* Reports the connection result to the connection's dialect. */
static void proxy__connected(struct proxy__conn *conn, int status)
{
	proxy__forget_addrs(conn);
	if (conn->kind == PROXY__SOCKS)
		proxy_socks__connected(conn, status);
	else
		proxy_http__connected(conn, status);
}

/* Connect callback of an upstream attempt. */
static void proxy__connect_cb(uv_connect_t *req, int status)
{
	struct proxy__peer *peer = req->handle->data;
	struct proxy__conn *conn = peer->conn;

	if (conn->closing || status == UV_ECANCELED || conn->peer != peer)
		return;
	if (status < 0) {
		conn->connect_err = status;
		proxy__drop_peer(conn);
		proxy__try_next(conn);
		return;
	}
	peer->connected = true;
	peer->reusable = true;
	uv_tcp_nodelay(&peer->tcp, 1);
	proxy__connected(conn, 0);
}

/* Starts one connection attempt to ADDR. Returns 0 or a negative errno. */
static int proxy__attempt(struct proxy__conn *conn, const struct sockaddr *addr)
{
	struct proxy__peer *peer = xcalloc(1, sizeof *peer);
	int rc;

	peer->conn = conn;
	peer->host = xstrdup(conn->host);
	peer->proto = conn->proto;
	peer->port = conn->port;
	rc = uv_tcp_init(conn->proxy->loop, &peer->tcp);
	if (rc < 0) {
		free(peer->host);
		free(peer);
		return rc;
	}
	peer->tcp.data = peer;
	conn->refs++;
	conn->peer = peer;
	rc = uv_tcp_connect(&conn->connect_req, &peer->tcp, addr, proxy__connect_cb);
	if (rc < 0)
		proxy__drop_peer(conn);
	return rc;
}

/* Whether the tests' hatch opens loopback literal HOST on PORT (never a name). */
static bool proxy__test_loopback(const struct proxy *proxy, const char *host, uint16_t port,
                                 enum proxy_address_class cls)
{
	struct proxy_address a;

	if (cls != PROXY_ADDRESS_LOOPBACK || !proxy_address_parse(host, &a))
		return false;
	for (size_t i = 0; i < proxy->n_test_loopback; i++)
		if (proxy->test_loopback[i] == 0 || proxy->test_loopback[i] == port)
			return true;
	return false;
}

/*
 * Whether A is one of this machine's own addresses (of any interface, e.g.
 * eth0's): a service listening on 0.0.0.0 answers there as on loopback. The
 * list is refreshed at most once a second; when it cannot be had, only the
 * address classes guard.
 */
static bool proxy__own_address(struct proxy *proxy, const struct proxy_address *a)
{
	uint64_t now = uv_now(proxy->loop);

	if (proxy->own_at == 0 || now - proxy->own_at >= 1000) {
		uv_interface_address_t *ifs;
		int n;

		free(proxy->own);
		proxy->own = NULL;
		proxy->n_own = 0;
		if (uv_interface_addresses(&ifs, &n) == 0) {
			proxy->own = xcalloc(n > 0 ? (size_t)n : 1, sizeof *proxy->own);
			for (int i = 0; i < n; i++)
				if (proxy_address_from_sockaddr(
				        (const struct sockaddr *)&ifs[i].address.address4,
				        &proxy->own[proxy->n_own]))
					proxy->n_own++;
			uv_free_interface_addresses(ifs, n);
		}
		proxy->own_at = now > 0 ? now : 1;
	}
	for (size_t i = 0; i < proxy->n_own; i++)
		if (proxy_address_same(&proxy->own[i], a))
			return true;
	return false;
}

/* Why CONN may not reach the address SS (caller frees), or NULL when it may. */
static char *proxy__refusal(const struct proxy__conn *conn, const struct sockaddr_storage *ss)
{
	struct proxy *proxy = conn->proxy;
	struct proxy_address a;
	enum proxy_address_class cls;
	char text[INET6_ADDRSTRLEN], *what, *why;
	const char *name, *article;

	if (!proxy_address_from_sockaddr((const struct sockaddr *)ss, &a))
		return xstrdup("not an IP address");
	cls = proxy_address_check(&a, proxy->allow_private, proxy->n_allow_private);
	if (proxy__test_loopback(proxy, conn->host, conn->port, cls))
		return NULL;
	proxy_address_format(&a, text, sizeof text);
	if (cls == PROXY_ADDRESS_PUBLIC) {
		if (!proxy__own_address(proxy, &a))
			return NULL;
		if (strcmp(text, conn->host) == 0)
			what = xasprintf("%s is an address of this machine", text);
		else
			what = xasprintf("%s resolves to %s, an address of this machine",
			                 conn->host, text);
		why = xasprintf("%s: the proxy never connects to this machine (its services are "
		                "reached through network.host_loopback_ports)",
		                what);
		free(what);
		return why;
	}
	name = proxy_address_class_name(cls);
	article = cls == PROXY_ADDRESS_UNSPECIFIED ? "an" : "a";
	if (strcmp(text, conn->host) == 0)
		what = xasprintf("%s is %s %s address", text, article, name);
	else
		what =
		    xasprintf("%s resolves to %s, %s %s address", conn->host, text, article, name);
	if (cls == PROXY_ADDRESS_LOOPBACK || cls == PROXY_ADDRESS_UNSPECIFIED)
		why = xasprintf("%s: the proxy never connects to this machine (its services are "
		                "reached through network.host_loopback_ports)",
		                what);
	else
		why = xasprintf("%s%s, which network.allow_private does not open", what,
		                strcmp(text, "169.254.169.254") == 0 ||
		                        strcmp(text, "::ffff:169.254.169.254") == 0
		                    ? " (the cloud metadata service)"
		                    : "");
	free(what);
	return why;
}

/* Refuses CONN's destination before any query, for REASON (taken). */
static void proxy__refuse(struct proxy__conn *conn, char *reason)
{
	struct proxy *proxy = conn->proxy;
	struct proxy_dest dest = {.host = conn->host, .proto = conn->proto, .port = conn->port};

	proxy__forget_addrs(conn);
	proxy->stats.refused++;
	if (proxy->decider.refused != NULL)
		proxy->decider.refused(proxy->decider.data, &dest, reason);
	if (conn->kind == PROXY__SOCKS)
		proxy_socks__decided(conn, false, reason);
	else
		proxy_http__decided(conn, false, reason);
	free(reason);
}

/* CONN's addresses are known (or the lookup failed): check them, then ask or connect. */
static void proxy__addrs_ready(struct proxy__conn *conn)
{
	conn->have_addrs = true;
	for (size_t i = 0; i < conn->n_addrs; i++) {
		char *why = proxy__refusal(conn, &conn->addrs[i]);

		if (why != NULL) {
			proxy__refuse(conn, why);
			return;
		}
	}
	if (conn->resolve_for_connect)
		proxy__try_next(conn);
	else
		proxy__query(conn);
}

/* Tries the next checked address, or reports the last failure. */
static void proxy__try_next(struct proxy__conn *conn)
{
	if (conn->resolve_err < 0) {
		proxy__connected(conn, conn->resolve_err);
		return;
	}
	while (conn->next_addr < conn->n_addrs) {
		const struct sockaddr_storage *ss = &conn->addrs[conn->next_addr++];
		int rc = proxy__attempt(conn, (const struct sockaddr *)ss);

		if (rc == 0)
			return;
		conn->connect_err = rc;
	}
	proxy__connected(conn, conn->connect_err < 0 ? conn->connect_err : UV_EHOSTUNREACH);
}

/* Name lookup callback: keeps the TCP addresses found, then checks them. */
static void proxy__resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct proxy__conn *conn = req->data;

	conn->gai_busy = false;
	if (conn->closing || conn->finishing) {
		/* Closed, or its client left while the name was looked up: nothing is asked. */
		if (res != NULL)
			uv_freeaddrinfo(res);
		proxy__conn_unref(conn);
		return;
	}
	conn->refs--; /* the client handle still holds the connection */
	if (status < 0) {
		conn->resolve_err = status;
	} else {
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
			if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			    ai->ai_addrlen > sizeof(struct sockaddr_storage))
				continue;
			conn->addrs =
			    xreallocarray(conn->addrs, conn->n_addrs + 1, sizeof *conn->addrs);
			memset(&conn->addrs[conn->n_addrs], 0, sizeof *conn->addrs);
			memcpy(&conn->addrs[conn->n_addrs++], ai->ai_addr, ai->ai_addrlen);
		}
		if (conn->n_addrs == 0)
			conn->resolve_err = UV_EAI_NONAME;
	}
	if (res != NULL)
		uv_freeaddrinfo(res);
	proxy__addrs_ready(conn);
}

/*
 * Finds the addresses of CONN's destination (a literal directly, a name
 * with uv_getaddrinfo), then checks them in proxy__addrs_ready(), which goes
 * on to ask (FOR_CONNECT false) or to connect.
 */
static void proxy__resolve(struct proxy__conn *conn, bool for_connect)
{
	struct proxy_address lit;
	struct addrinfo hints;
	char port[8];
	int rc;

	proxy__forget_addrs(conn);
	conn->resolve_for_connect = for_connect;
	conn->connect_err = 0;
	if (proxy_address_parse(conn->host, &lit)) {
		struct sockaddr_storage *ss = xcalloc(1, sizeof *ss);

		if (lit.family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(conn->port);
			memcpy(&sin->sin_addr, lit.bytes, 4);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(conn->port);
			memcpy(&sin6->sin6_addr, lit.bytes, 16);
		}
		conn->addrs = ss;
		conn->n_addrs = 1;
		proxy__addrs_ready(conn);
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof port, "%u", conn->port);
	conn->gai.data = conn;
	conn->proxy->stats.lookups++;
	rc = uv_getaddrinfo(conn->proxy->loop, &conn->gai, proxy__resolved, conn->host, port,
	                    &hints);
	if (rc < 0) {
		conn->resolve_err = rc;
		proxy__addrs_ready(conn);
		return;
	}
	conn->gai_busy = true;
	conn->refs++;
}

/*
 * Connects CONN's upstream to its destination: a live peer to the same
 * destination is reused; else the addresses checked before it was asked
 * about; else (a keep-alive request already approved on this connection)
 * they are resolved and checked first.
 */
void proxy__connect(struct proxy__conn *conn)
{
	struct proxy__peer *peer = conn->peer;

	conn->state = PROXY__CONNECTING;
	if (peer != NULL && peer->connected && peer->reusable && !peer->eof &&
	    peer->proto == conn->proto && peer->port == conn->port &&
	    strcmp(peer->host, conn->host) == 0) {
		proxy__forget_addrs(conn);
		proxy__connected(conn, 0);
		return;
	}
	proxy__drop_peer(conn);
	conn->connect_err = 0;
	if (!conn->have_addrs) {
		proxy__resolve(conn, true);
		return;
	}
	proxy__try_next(conn);
}

/* Connection callback of both listeners. */
static void proxy__accept(uv_stream_t *server, int status)
{
	struct proxy *proxy = server->data;
	struct proxy__conn *conn;

	if (status < 0 || proxy->closing)
		return;
	conn = xcalloc(1, sizeof *conn);
	conn->proxy = proxy;
	if (uv_tcp_init(proxy->loop, &conn->client) < 0) {
		free(conn);
		return;
	}
	conn->client.data = conn;
	conn->refs = 1;
	conn->next = proxy->conns;
	if (proxy->conns != NULL)
		proxy->conns->prev = conn;
	proxy->conns = conn;
	proxy->stats.open++;
	proxy->stats.connections++;
	conn->kind = PROXY__SNIFF;
	conn->state = PROXY__HEAD;
	conn->head_since = uv_now(proxy->loop);
	if (uv_accept(server, (uv_stream_t *)&conn->client) < 0) {
		proxy__conn_close(conn);
		return;
	}
	uv_tcp_nodelay(&conn->client, 1);
	proxy__update_reading(conn);
}

/* Reads the tests' loopback ports from VALUE (`*`: any port, 0 in the list). */
static void proxy__test_ports(struct proxy *proxy, const char *value)
{
	const char *p = value;

	if (value == NULL || *value == '\0')
		return;
	while (*p != '\0') {
		char *end;
		long port = *p == '*' ? 0 : strtol(p, &end, 10);

		if (*p == '*')
			end = (char *)p + 1;
		if (end == p || port < 0 || port > 65535)
			break;
		proxy->test_loopback = xreallocarray(
		    proxy->test_loopback, proxy->n_test_loopback + 1, sizeof *proxy->test_loopback);
		proxy->test_loopback[proxy->n_test_loopback++] = (int)port;
		p = end;
		if (*p == ',')
			p++;
		else
			break;
	}
}

/* Creates a proxy; it listens once proxy_start() is called. */
struct proxy *proxy_new(uv_loop_t *loop, const struct proxy_decider *decider)
{
	struct proxy *proxy = xcalloc(1, sizeof *proxy);

	proxy->loop = loop;
	proxy->decider = *decider;
	proxy->splice = proxy_splice__new();
	proxy->no_splice = getenv("AIRLOCK_PROXY_NO_SPLICE") != NULL;
	proxy->head_timeout_ms = PROXY_HEAD_TIMEOUT_MS;
	proxy__test_ports(proxy, proxy_test_loopback_ports());
	return proxy;
}

/* Sets the allow_private entries; nothing changes when one is bad. */
int proxy_set_allow_private(struct proxy *proxy, const char *const *entries, size_t n,
                            const char **bad, const char **why)
{
	struct proxy_address_cidr *list = n > 0 ? xcalloc(n, sizeof *list) : NULL;

	for (size_t i = 0; i < n; i++) {
		if (proxy_address_cidr_parse(entries[i], &list[i], why) != 0) {
			*bad = entries[i];
			free(list);
			return -EINVAL;
		}
	}
	free(proxy->allow_private);
	proxy->allow_private = list;
	proxy->n_allow_private = n;
	return 0;
}

/* Binds one listener on 127.0.0.1:0; returns its port or a negative errno. */
static int proxy__listen(struct proxy *proxy, uv_tcp_t *tcp)
{
	struct sockaddr_in sin;
	struct sockaddr_storage name;
	int namelen = sizeof name;
	int rc;

	rc = uv_tcp_init(proxy->loop, tcp);
	if (rc < 0)
		return rc;
	tcp->data = proxy;
	proxy->n_listeners++;
	uv_ip4_addr("127.0.0.1", 0, &sin);
	rc = uv_tcp_bind(tcp, (const struct sockaddr *)&sin, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)tcp, 256, proxy__accept);
	if (rc == 0)
		rc = uv_tcp_getsockname(tcp, (struct sockaddr *)&name, &namelen);
	if (rc < 0)
		return rc;
	return ntohs(((struct sockaddr_in *)&name)->sin_port);
}

/* Closes every connection that has waited longer than the limit for its request head. */
static void proxy__sweep(uv_timer_t *t)
{
	struct proxy *proxy = t->data;
	uint64_t now = uv_now(proxy->loop);
	struct proxy__conn *conn, *next;

	for (conn = proxy->conns; conn != NULL; conn = next) {
		next = conn->next;
		if (conn->closing || conn->finishing)
			continue;
		if (conn->state != PROXY__HEAD && conn->state != PROXY__GREET &&
		    conn->state != PROXY__REQUEST)
			continue;
		/* A keep-alive connection waiting on its response is not late. */
		if (conn->resp_pending)
			continue;
		if (now - conn->head_since >= proxy->head_timeout_ms)
			proxy__conn_close(conn);
	}
}

/* Sets how long a connection may take to send its request head (see proxy.h). */
void proxy_set_head_timeout(struct proxy *proxy, unsigned ms)
{
	proxy->head_timeout_ms = ms > 0 ? ms : PROXY_HEAD_TIMEOUT_MS;
	if (proxy->sweep_open) {
		uint64_t every = proxy->head_timeout_ms / 4 > 0 ? proxy->head_timeout_ms / 4 : 1;

		uv_timer_start(&proxy->sweep, proxy__sweep, every, every);
	}
}

/* Close callback of the sweep timer. */
static void proxy__sweep_closed(uv_handle_t *h)
{
	struct proxy *proxy = h->data;

	proxy->sweep_open = false;
	proxy__maybe_free(proxy);
}

/* Starts both listeners. */
int proxy_start(struct proxy *proxy)
{
	int rc;

	if (!proxy->sweep_open) {
		uv_timer_init(proxy->loop, &proxy->sweep);
		proxy->sweep.data = proxy;
		proxy->sweep_open = true;
		proxy_set_head_timeout(proxy, (unsigned)proxy->head_timeout_ms);
		/* The sweep alone never keeps the loop alive. */
		uv_unref((uv_handle_t *)&proxy->sweep);
	}

	rc = proxy__listen(proxy, &proxy->listen_http);
	if (rc < 0)
		return rc;
	proxy->http_port = rc;
	rc = proxy__listen(proxy, &proxy->listen_socks);
	if (rc < 0)
		return rc;
	proxy->socks_port = rc;
	return 0;
}

/* Returns the HTTP listener's port (0 before proxy_start). */
int proxy_http_port(const struct proxy *proxy)
{
	return proxy->http_port;
}

/* Returns the SOCKS listener's port (0 before proxy_start). */
int proxy_socks_port(const struct proxy *proxy)
{
	return proxy->socks_port;
}

/* Copies the counters. */
void proxy_get_stats(const struct proxy *proxy, struct proxy_stats *stats)
{
	*stats = proxy->stats;
}

/* Frees a closing proxy once its listeners and connections are gone. */
static void proxy__maybe_free(struct proxy *proxy)
{
	void (*cb)(void *);
	void *arg;

	if (!proxy->closing || proxy->n_listeners > 0 || proxy->conns != NULL || proxy->sweep_open)
		return;
	cb = proxy->close_cb;
	arg = proxy->close_arg;
	while (proxy->n_pool > 0)
		free(proxy->pool[--proxy->n_pool]);
	free(proxy->allow_private);
	free(proxy->own);
	free(proxy->test_loopback);
	free(proxy);
	if (cb != NULL)
		cb(arg);
}

/* Close callback of a listener. */
static void proxy__listener_closed(uv_handle_t *h)
{
	struct proxy *proxy = h->data;

	proxy->n_listeners--;
	proxy__maybe_free(proxy);
}

/* Closes everything and frees the proxy when done. */
void proxy_close(struct proxy *proxy, void (*cb)(void *arg), void *arg)
{
	struct proxy_query *q;
	struct proxy__conn *conn;
	int listeners = proxy->n_listeners;

	if (proxy->closing)
		return;
	proxy->closing = true;
	proxy->close_cb = cb;
	proxy->close_arg = arg;
	for (conn = proxy->conns; conn != NULL; conn = conn->next)
		proxy__conn_close(conn);
	proxy_splice__close(proxy->splice);
	proxy->splice = NULL;
	if (proxy->sweep_open && !uv_is_closing((uv_handle_t *)&proxy->sweep))
		uv_close((uv_handle_t *)&proxy->sweep, proxy__sweep_closed);
	while ((q = proxy->queries) != NULL) {
		proxy->queries = q->next;
		if (proxy->decider.cancel != NULL)
			proxy->decider.cancel(proxy->decider.data, q);
		free(q->host);
		free(q);
	}
	/* Both listeners were initialised in order; close those that were. */
	if (listeners >= 1)
		uv_close((uv_handle_t *)&proxy->listen_http, proxy__listener_closed);
	if (listeners >= 2)
		uv_close((uv_handle_t *)&proxy->listen_socks, proxy__listener_closed);
	proxy__maybe_free(proxy);
}
