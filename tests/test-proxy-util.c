/*
 * The proxy tests' servers, proxy thread and blocking clients (see
 * test-proxy-util.h). The servers are deliberately simple and strict: the
 * HTTP one answers each request with `200` and a body that repeats the
 * request line, the headers it cares about and the request body, so a test
 * can see exactly what the proxy forwarded. Every socket has a receive
 * timeout, so nothing here can hang a test past its deadline.
 */
#include "test-proxy-util.h"
#include "test.h"

#include "../core/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Sets 10 s send and receive timeouts on FD. */
static void tio_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = 10};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Connects to 127.0.0.1:PORT. */
int tcp_connect_local(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	tio_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Sends everything. */
int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly LEN bytes. */
int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until EOF. */
size_t recv_to_eof(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap + 1);

	for (;;) {
		ssize_t n;

		if (len == cap)
			buf = xrealloc(buf, (cap *= 2) + 1);
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return len;
}

/* A growing buffer read from a socket. */
struct tbuf {
	char *p;
	size_t len, cap;
	int fd;
	bool eof;
};

/* Reads more into B; returns false on EOF, error or timeout. */
static bool tbuf_fill(struct tbuf *b)
{
	ssize_t n;

	if (b->len + 4096 > b->cap) {
		b->cap = b->cap * 2 + 8192;
		b->p = xrealloc(b->p, b->cap + 1);
	}
	do
		n = recv(b->fd, b->p + b->len, b->cap - b->len, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		b->eof = true;
		return false;
	}
	b->len += (size_t)n;
	b->p[b->len] = '\0';
	return true;
}

/* Returns the length of the head at the start of B once complete, filling as needed; 0 on EOF. */
static size_t tbuf_head(struct tbuf *b)
{
	for (;;) {
		if (b->len > 0) {
			char *end;

			b->p[b->len] = '\0';
			end = strstr(b->p, "\r\n\r\n");
			if (end != NULL)
				return (size_t)(end - b->p) + 4;
		}
		if (!tbuf_fill(b))
			return 0;
	}
}

/* Finds header NAME's value in HEAD (HEADLEN bytes); copies it to OUT. */
static bool theader(const char *head, size_t headlen, const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);
	const char *p = head, *end = head + headlen;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			size_t vn;

			while (*v == ' ')
				v++;
			vn = (size_t)(eol - v);
			if (vn > 0 && v[vn - 1] == '\r')
				vn--;
			if (vn >= outsz)
				vn = outsz - 1;
			memcpy(out, v, vn);
			out[vn] = '\0';
			return true;
		}
		p = eol + 1;
	}
	return false;
}

/* Reads a body framed per HEAD from B (after HEADLEN) into a new string; *USED gets bytes used. */
static char *tbody(struct tbuf *b, size_t headlen, bool until_eof, size_t *used)
{
	char val[64];
	const char *head = b->p;

	if (theader(head, headlen, "content-length", val, sizeof val)) {
		size_t len = strtoul(val, NULL, 10);

		while (b->len < headlen + len)
			if (!tbuf_fill(b))
				return NULL;
		*used = headlen + len;
		return xstrndup(b->p + headlen, len);
	}
	if (theader(head, headlen, "transfer-encoding", val, sizeof val)) {
		size_t pos = headlen, outlen = 0;
		char *out = xmalloc(1);

		for (;;) {
			char *eol;
			size_t sz;

			while ((eol = memchr(b->p + pos, '\n', b->len - pos)) == NULL)
				if (!tbuf_fill(b))
					goto fail;
			sz = strtoul(b->p + pos, NULL, 16);
			pos = (size_t)(eol - b->p) + 1;
			if (sz == 0) {
				while (b->len < pos + 2)
					if (!tbuf_fill(b))
						goto fail;
				*used = pos + 2;
				out[outlen] = '\0';
				return out;
			}
			while (b->len < pos + sz + 2)
				if (!tbuf_fill(b))
					goto fail;
			out = xrealloc(out, outlen + sz + 1);
			memcpy(out + outlen, b->p + pos, sz);
			outlen += sz;
			pos += sz + 2;
		}
	fail:
		free(out);
		return NULL;
	}
	if (!until_eof) {
		*used = headlen;
		return xstrdup("");
	}
	while (tbuf_fill(b))
		;
	*used = b->len;
	return xstrndup(b->p + headlen, b->len - headlen);
}

/* Reads one response: head and body joined. */
char *read_http_response(int fd, int *status)
{
	struct tbuf b = {.fd = fd};
	size_t headlen = tbuf_head(&b), used = 0;
	char *body, *all;

	*status = 0;
	if (headlen == 0) {
		free(b.p);
		return NULL;
	}
	if (sscanf(b.p, "HTTP/1.%*d %d", status) != 1)
		*status = -1;
	body = tbody(&b, headlen, true, &used);
	if (body == NULL) {
		free(b.p);
		return NULL;
	}
	all = xasprintf("%.*s%s", (int)headlen, b.p, body);
	free(body);
	free(b.p);
	return all;
}

/* ---- servers ------------------------------------------------------------- */

struct tconn {
	struct tserver *s;
	int fd;
};

/* A response with the file the request line (EOL bytes at LINE) names under ROOT. */
static char *tserver_file_response(const char *root, const char *line, size_t eol, bool close_after,
                                   size_t *resplen)
{
	char method[16], path[1024], *file, *data, *resp;
	size_t len = 0;

	*resplen = 0;

	if (eol >= sizeof path || sscanf(line, "%15s %1023s", method, path) != 2 ||
	    strstr(path, "..") != NULL || path[0] != '/')
		return xstrdup("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
	path[strcspn(path, "?")] = '\0';
	file = xasprintf("%s%s", root, path);
	data = test_read_file(file, &len);
	free(file);
	if (data == NULL)
		return xasprintf("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n%s\r\n",
		                 close_after ? "Connection: close\r\n" : "");
	resp = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
	                 "Content-Length: %zu\r\n%s\r\n",
	                 len, close_after ? "Connection: close\r\n" : "");
	if (strcmp(method, "HEAD") != 0) {
		size_t hl = strlen(resp);

		resp = xrealloc(resp, hl + len + 1);
		memcpy(resp + hl, data, len);
		resp[hl + len] = '\0';
		*resplen = hl + len; /* binary bodies: the length travels separately */
	}
	free(data);
	if (*resplen == 0)
		*resplen = strlen(resp);
	return resp;
}

/* Serves HTTP requests on one connection until EOF. */
static void *tserver_http_conn(void *arg)
{
	struct tconn *c = arg;
	struct tbuf b = {.fd = c->fd};

	for (;;) {
		size_t headlen = tbuf_head(&b), used = 0, eol, resplen;
		char *body, *resp, conn_hdr[64] = "", host[256] = "", pconn[64] = "none";
		bool close_after;

		if (headlen == 0)
			break;
		body = tbody(&b, headlen, false, &used);
		if (body == NULL)
			break;
		eol = (size_t)(strstr(b.p, "\r\n") - b.p);
		theader(b.p, headlen, "connection", conn_hdr, sizeof conn_hdr);
		theader(b.p, headlen, "host", host, sizeof host);
		theader(b.p, headlen, "proxy-connection", pconn, sizeof pconn);
		close_after = strcasecmp(conn_hdr, "close") == 0;
		atomic_fetch_add(&c->s->requests, 1);
		if (c->s->root != NULL) {
			resp = tserver_file_response(c->s->root, b.p, eol, close_after, &resplen);
		} else {
			char *text = xasprintf("line=%.*s\nhost=%s\nproxy-connection=%s\nbody=%s\n",
			                       (int)eol, b.p, host, pconn, body);

			resp = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			                 "Content-Length: %zu\r\n%s\r\n%s",
			                 strlen(text), close_after ? "Connection: close\r\n" : "",
			                 text);
			free(text);
			resplen = strlen(resp);
		}
		free(body);
		if (send_all(c->fd, resp, resplen) < 0) {
			free(resp);
			break;
		}
		free(resp);
		memmove(b.p, b.p + used, b.len - used);
		b.len -= used;
		if (close_after)
			break;
	}
	free(b.p);
	close(c->fd);
	free(c);
	return NULL;
}

/* Echoes one connection until EOF. */
static void *tserver_echo_conn(void *arg)
{
	struct tconn *c = arg;
	char buf[65536];
	ssize_t n;

	atomic_fetch_add(&c->s->requests, 1);
	while ((n = recv(c->fd, buf, sizeof buf, 0)) > 0)
		if (send_all(c->fd, buf, (size_t)n) < 0)
			break;
	close(c->fd);
	free(c);
	return NULL;
}

/* Accepts connections until the listening socket is shut down. */
static void *tserver_accept(void *arg)
{
	struct tserver *s = arg;

	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		struct tconn *c;
		pthread_t th;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		tio_timeouts(fd);
		atomic_fetch_add(&s->connections, 1);
		c = xcalloc(1, sizeof *c);
		c->s = s;
		c->fd = fd;
		if (pthread_create(&th, NULL, s->http ? tserver_http_conn : tserver_echo_conn, c) !=
		    0) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

/* Binds 127.0.0.1:0 and starts the accept thread. */
static int tserver_start(struct tserver *s, bool http, const char *root, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof sin;

	memset(s, 0, sizeof *s);
	s->http = http;
	s->root = root != NULL ? xstrdup(root) : NULL;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(s->fd, 128) < 0 || getsockname(s->fd, (struct sockaddr *)&sin, &len) < 0)
		return -errno;
	s->port = ntohs(sin.sin_port);
	if (pthread_create(&s->thread, NULL, tserver_accept, s) != 0)
		return -EAGAIN;
	return 0;
}

/* Starts the HTTP server. */
int tserver_http_start(struct tserver *s)
{
	return tserver_start(s, true, NULL, 0);
}

/* Starts the HTTP server on 127.0.0.1:PORT. */
int tserver_http_start_on(struct tserver *s, int port)
{
	return tserver_start(s, true, NULL, port);
}

/* Starts the files server. */
int tserver_files_start(struct tserver *s, const char *root)
{
	return tserver_start(s, true, root, 0);
}

/* Starts the echo server. */
int tserver_echo_start(struct tserver *s)
{
	return tserver_start(s, false, NULL, 0);
}

/* Stops the accept thread. */
void tserver_stop(struct tserver *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	free(s->root);
	s->root = NULL;
}

/* ---- the proxy on its loop thread ------------------------------------------ */

/* The scripted decider: records the call, then answers as the mode says. */
static void tdec_decide(void *data, struct proxy_query *q)
{
	struct tproxy *t = data;
	const struct proxy_dest *d = proxy_query_dest(q);
	enum tdecider_mode mode;
	const char *reason;

	pthread_mutex_lock(&t->mu);
	t->calls++;
	snprintf(t->last_host, sizeof t->last_host, "%s", d->host);
	snprintf(t->last_proto, sizeof t->last_proto, "%s", proxy_proto_name(d->proto));
	t->last_port = d->port;
	mode = t->mode;
	reason = t->deny_reason;
	if (mode == TDEC_HOLD) {
		t->held = q;
		t->held_waiters = proxy_query_waiters(q);
	}
	pthread_mutex_unlock(&t->mu);
	if (mode == TDEC_ALLOW)
		proxy_query_answer(q, true, NULL);
	else if (mode == TDEC_DENY)
		proxy_query_answer(q, false, reason);
}

/* The decider's cancel: forgets the held query. */
static void tdec_cancel(void *data, struct proxy_query *q)
{
	struct tproxy *t = data;

	pthread_mutex_lock(&t->mu);
	t->cancels++;
	if (t->held == q)
		t->held = NULL;
	pthread_mutex_unlock(&t->mu);
}

/* The proxy refused a destination before asking: count it, keep the reason. */
static void tdec_refused(void *data, const struct proxy_dest *d, const char *reason)
{
	struct tproxy *t = data;

	pthread_mutex_lock(&t->mu);
	t->refusals++;
	snprintf(t->last_refusal, sizeof t->last_refusal, "%s:%u (%s): %s", d->host, d->port,
	         proxy_proto_name(d->proto), reason);
	pthread_mutex_unlock(&t->mu);
}

/* Close callback of the tick timer. */
static void tproxy_tick_closed(uv_handle_t *h)
{
	(void)h;
}

/* Called when the proxy has been freed. */
static void tproxy_closed(void *arg)
{
	struct tproxy *t = arg;

	t->proxy = NULL;
	uv_close((uv_handle_t *)&t->tick, tproxy_tick_closed);
}

/* Every 2 ms on the loop: publish state, apply an answer, or stop. */
static void tproxy_tick(uv_timer_t *timer)
{
	struct tproxy *t = timer->data;
	struct proxy_query *answer_q = NULL;
	bool allow = false, stop;

	pthread_mutex_lock(&t->mu);
	if (t->proxy != NULL)
		proxy_get_stats(t->proxy, &t->stats);
	if (t->held != NULL)
		t->held_waiters = proxy_query_waiters(t->held);
	if (t->answer >= 0 && t->held != NULL) {
		answer_q = t->held;
		allow = t->answer == 1;
		t->held = NULL;
		t->answer = -1;
	}
	stop = t->stop && !t->stopped;
	if (stop)
		t->stopped = true;
	pthread_mutex_unlock(&t->mu);
	if (answer_q != NULL)
		proxy_query_answer(answer_q, allow, "denied by the test");
	if (stop) {
		uv_timer_stop(timer);
		proxy_close(t->proxy, tproxy_closed, t);
	}
}

/* Runs the loop until everything is closed. */
static void *tproxy_main(void *arg)
{
	struct tproxy *t = arg;

	uv_run(&t->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Starts the proxy on a fresh loop and runs the loop in a thread. */
int tproxy_start(struct tproxy *t, enum tdecider_mode mode)
{
	return tproxy_start_with(t, mode, NULL, 0);
}

/* Starts the proxy with allow_private entries. */
int tproxy_start_with(struct tproxy *t, enum tdecider_mode mode, const char *const *entries,
                      size_t n)
{
	struct proxy_decider d = {
	    .decide = tdec_decide, .cancel = tdec_cancel, .refused = tdec_refused, .data = t};
	const char *bad = NULL, *why = NULL;
	int rc;

	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	t->mode = mode;
	t->answer = -1;
	/* The test servers listen on loopback, which the proxy otherwise never reaches. */
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "*", 0);
	rc = uv_loop_init(&t->loop);
	if (rc < 0)
		return rc;
	t->proxy = proxy_new(&t->loop, &d);
	rc = proxy_set_allow_private(t->proxy, entries, n, &bad, &why);
	if (rc < 0) {
		fprintf(stderr, "allow_private \"%s\": %s\n", bad, why);
		return rc;
	}
	rc = proxy_start(t->proxy);
	if (rc < 0)
		return rc;
	t->http_port = proxy_http_port(t->proxy);
	t->socks_port = proxy_socks_port(t->proxy);
	uv_timer_init(&t->loop, &t->tick);
	t->tick.data = t;
	uv_timer_start(&t->tick, tproxy_tick, 2, 2);
	if (pthread_create(&t->thread, NULL, tproxy_main, t) != 0)
		return -EAGAIN;
	return 0;
}

/* Stops the proxy and joins the loop thread; returns 0 when the loop closed cleanly. */
int tproxy_stop(struct tproxy *t)
{
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	return uv_loop_close(&t->loop);
}

/* Asks the loop thread to answer the held query and waits until it did. */
void tproxy_answer(struct tproxy *t, bool allow)
{
	pthread_mutex_lock(&t->mu);
	t->answer = allow ? 1 : 0;
	pthread_mutex_unlock(&t->mu);
	for (int i = 0; i < 5000; i++) {
		bool done;

		pthread_mutex_lock(&t->mu);
		done = t->answer == -1;
		pthread_mutex_unlock(&t->mu);
		if (done)
			return;
		usleep(1000);
	}
}

/* Waits for a held query with N waiters. */
size_t tproxy_wait_waiters(struct tproxy *t, size_t n, int ms)
{
	size_t seen = 0;

	for (int i = 0; i < ms; i++) {
		pthread_mutex_lock(&t->mu);
		seen = t->held != NULL ? t->held_waiters : 0;
		pthread_mutex_unlock(&t->mu);
		if (seen >= n)
			break;
		usleep(1000);
	}
	return seen;
}

/* Returns the decide() call count. */
int tproxy_calls(struct tproxy *t)
{
	int n;

	pthread_mutex_lock(&t->mu);
	n = t->calls;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* Returns the refused() call count. */
int tproxy_refusals(struct tproxy *t)
{
	int n;

	pthread_mutex_lock(&t->mu);
	n = t->refusals;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* Changes the decider's mode. */
void tproxy_set_mode(struct tproxy *t, enum tdecider_mode mode, const char *reason)
{
	pthread_mutex_lock(&t->mu);
	t->mode = mode;
	t->deny_reason = reason;
	pthread_mutex_unlock(&t->mu);
}
