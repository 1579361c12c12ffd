/*
 * The HTTP side of the proxy: parsing request and response heads, following
 * message bodies (Content-Length and chunked) without changing a byte, and
 * the per-connection state machine of a forward proxy.
 *
 * A client connection goes HEAD -> DECIDE -> CONNECTING -> BODY -> WAIT ->
 * HEAD ... (keep-alive), or HEAD -> DECIDE -> CONNECTING -> TUNNEL for
 * CONNECT. The request head is rewritten once (absolute-form target to
 * origin-form, Proxy-Connection and Proxy-Authorization dropped, Host added
 * when missing); bodies and responses pass through unchanged, the framers
 * only finding where each message ends so the next one can be handled.
 * Requests are answered in order: while a response is outstanding, further
 * (pipelined) client bytes stay buffered and the client is not read.
 *
 * Errors found before anything was sent to the client get a complete reply
 * (`HTTP/1.1 NNN`, `x-airlock-error`, a one-line body) and the connection is
 * closed after it; errors in the middle of a relayed response just close.
 */
#include "proxy-private.h"

#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Chunked syntax positions of struct proxy__framer.cstate. */
enum {
	CH_SIZE,
	CH_EXT,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,
};

/* The longest chunk-size or trailer line accepted. */
#define PROXY_HTTP__MAX_LINE 4096

/* Frees what a parsed request owns and zeroes it. */
void proxy_http__req_free(struct proxy__http_req *req)
{
	free(req->method);
	free(req->host);
	free(req->upstream_head);
	memset(req, 0, sizeof *req);
}

/* Starts following a body framed by FRAMING. */
void proxy_http__framer_init(struct proxy__framer *fr, enum proxy__framing framing, uint64_t length)
{
	memset(fr, 0, sizeof *fr);
	fr->framing = framing;
	fr->remaining = length;
	fr->cstate = CH_SIZE;
	fr->done = framing == PROXY__FRAME_NONE || (framing == PROXY__FRAME_LENGTH && length == 0);
}

/* Returns the value of a hex digit, or -1. */
static int proxy_http__hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Follows chunked syntax over BUF; returns bytes consumed or -1. */
static ssize_t proxy_http__chunked_feed(struct proxy__framer *fr, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && !fr->done) {
		char c = buf[i];
		int v;

		switch (fr->cstate) {
		case CH_SIZE:
			v = proxy_http__hex(c);
			if (v >= 0) {
				if (fr->remaining > (UINT64_MAX >> 4) || ++fr->linelen > 16)
					return -1;
				fr->remaining = fr->remaining * 16 + (uint64_t)v;
			} else if (fr->linelen == 0) {
				return -1;
			} else if (c == ';' || c == ' ' || c == '\t') {
				fr->cstate = CH_EXT;
			} else if (c == '\r') {
				fr->cstate = CH_SIZE_LF;
			} else if (c == '\n') {
				goto size_done;
			} else {
				return -1;
			}
			i++;
			break;
		case CH_EXT:
			if (++fr->linelen > PROXY_HTTP__MAX_LINE)
				return -1;
			i++;
			if (c == '\n')
				goto size_done;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
			i++;
		size_done:
			fr->linelen = 0;
			fr->cstate = fr->remaining == 0 ? CH_TRAILER : CH_DATA;
			break;
		case CH_DATA: {
			size_t n = len - i;

			if (n > fr->remaining)
				n = (size_t)fr->remaining;
			fr->remaining -= n;
			i += n;
			if (fr->remaining == 0)
				fr->cstate = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (c == '\r')
				fr->cstate = CH_DATA_LF;
			else if (c == '\n')
				fr->cstate = CH_SIZE;
			else
				return -1;
			i++;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			fr->cstate = CH_SIZE;
			i++;
			break;
		case CH_TRAILER:
			i++;
			if (c == '\n') {
				if (fr->linelen == 0)
					fr->done = true;
				fr->linelen = 0;
			} else if (c != '\r' && ++fr->linelen > PROXY_HTTP__MAX_LINE) {
				return -1;
			}
			break;
		}
	}
	return (ssize_t)i;
}

/* Consumes the body bytes at the start of BUF. */
ssize_t proxy_http__framer_feed(struct proxy__framer *fr, const char *buf, size_t len)
{
	size_t n;

	if (fr->done)
		return 0;
	switch (fr->framing) {
	case PROXY__FRAME_NONE:
		fr->done = true;
		return 0;
	case PROXY__FRAME_LENGTH:
		n = len < fr->remaining ? len : (size_t)fr->remaining;
		fr->remaining -= n;
		fr->done = fr->remaining == 0;
		return (ssize_t)n;
	case PROXY__FRAME_CHUNKED:
		return proxy_http__chunked_feed(fr, buf, len);
	case PROXY__FRAME_EOF:
		return (ssize_t)len;
	}
	return -1;
}

/* Returns the length of the head at the start of BUF (through its empty line), or 0. */
static size_t proxy_http__head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Whether C may appear in an HTTP token (method, header name). */
static bool proxy_http__tchar(char c)
{
	return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Parses a port of N digits at S (1..65535); returns it or 0. */
static uint16_t proxy_http__port(const char *s, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (uint16_t)v : 0;
}

/*
 * Parses an authority `host[:port]` or `[v6][:port]` of N bytes at S. A
 * missing port gives DEFPORT (0: the port is required). Returns 0 and sets
 * *HOST (lower-cased, caller frees) and *PORT, or -1.
 */
static int proxy_http__authority(const char *s, size_t n, uint16_t defport, char **host,
                                 uint16_t *port)
{
	const char *h, *p = NULL;
	size_t hn, pn = 0;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return -1;
		h = s + 1;
		hn = (size_t)(close - h);
		if (hn == 0)
			return -1;
		for (size_t i = 0; i < hn; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return -1;
		if (close + 1 < s + n) {
			if (close[1] != ':')
				return -1;
			p = close + 2;
			pn = (size_t)(s + n - p);
		}
	} else {
		const char *colon = memchr(s, ':', n);

		h = s;
		hn = colon != NULL ? (size_t)(colon - s) : n;
		if (colon != NULL) {
			p = colon + 1;
			pn = (size_t)(s + n - p);
		}
		if (hn == 0 || hn > 253)
			return -1;
		for (size_t i = 0; i < hn; i++)
			if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' &&
			    h[i] != '_')
				return -1;
	}
	if (p != NULL) {
		*port = proxy_http__port(p, pn);
		if (*port == 0)
			return -1;
	} else {
		if (defport == 0)
			return -1;
		*port = defport;
	}
	*host = xstrndup(h, hn);
	for (char *c = *host; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

/* Whether the comma-separated header VALUE (N bytes) lists TOKEN. */
static bool proxy_http__has_token(const char *value, size_t n, const char *token)
{
	size_t tn = strlen(token);
	size_t i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
			i++;
		start = i;
		while (i < n && value[i] != ',')
			i++;
		end = i;
		while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
			end--;
		if (end - start == tn && strncasecmp(value + start, token, tn) == 0)
			return true;
	}
	return false;
}

/* Whether the last coding of a Transfer-Encoding VALUE is chunked. */
static bool proxy_http__last_chunked(const char *value, size_t n)
{
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	return n >= 7 && strncasecmp(value + n - 7, "chunked", 7) == 0 &&
	       (n == 7 || value[n - 8] == ',' || value[n - 8] == ' ' || value[n - 8] == '\t');
}

/* What the headers of a message say about framing and connection reuse. */
struct proxy_http__headers {
	bool chunked;
	bool other_coding;
	bool has_length;
	uint64_t length;
	bool conn_close;
	bool conn_keep_alive;
	bool has_host;
};

/*
 * Walks the header lines in [P, END), filling H; when OUT is not NULL,
 * appends every line to keep to it (dropping Proxy-* hop headers). Returns 0
 * or -1 on a malformed line.
 */
static int proxy_http__headers(const char *p, const char *end, struct proxy_http__headers *h,
                               char **out, size_t *outlen)
{
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end, *colon, *v, *ve;
		size_t namelen;
		bool keep = true;

		if (eol == NULL)
			return -1;
		line_end = eol;
		if (line_end > p && line_end[-1] == '\r')
			line_end--;
		if (line_end == p)
			break; /* the empty line */
		if (*p == ' ' || *p == '\t')
			return -1; /* obsolete line folding */
		colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon == NULL || colon == p)
			return -1;
		namelen = (size_t)(colon - p);
		for (size_t i = 0; i < namelen; i++)
			if (!proxy_http__tchar(p[i]))
				return -1;
		v = colon + 1;
		while (v < line_end && (*v == ' ' || *v == '\t'))
			v++;
		ve = line_end;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *c = v; c < ve; c++)
			if (*c == '\0' || *c == '\r')
				return -1;
#define NAME_IS(s) (namelen == sizeof(s) - 1 && strncasecmp(p, s, namelen) == 0)
		if (NAME_IS("content-length")) {
			uint64_t len = 0;

			if (ve == v || ve - v > 18)
				return -1;
			for (const char *c = v; c < ve; c++) {
				if (!isdigit((unsigned char)*c))
					return -1;
				len = len * 10 + (uint64_t)(*c - '0');
			}
			if (h->has_length && h->length != len)
				return -1;
			h->has_length = true;
			h->length = len;
		} else if (NAME_IS("transfer-encoding")) {
			if (proxy_http__last_chunked(v, (size_t)(ve - v)))
				h->chunked = true;
			else if (!(ve - v == 8 && strncasecmp(v, "identity", 8) == 0))
				h->other_coding = true;
		} else if (NAME_IS("connection") || NAME_IS("proxy-connection")) {
			if (proxy_http__has_token(v, (size_t)(ve - v), "close"))
				h->conn_close = true;
			if (proxy_http__has_token(v, (size_t)(ve - v), "keep-alive"))
				h->conn_keep_alive = true;
			keep = !NAME_IS("proxy-connection");
		} else if (NAME_IS("proxy-authorization")) {
			keep = false;
		} else if (NAME_IS("host")) {
			h->has_host = true;
		}
#undef NAME_IS
		if (keep && out != NULL) {
			size_t n = (size_t)(line_end - p);

			*out = xrealloc(*out, *outlen + n + 3);
			memcpy(*out + *outlen, p, n);
			memcpy(*out + *outlen + n, "\r\n", 2);
			*outlen += n + 2;
		}
		p = eol + 1;
	}
	return 0;
}

/* Parses a request head into REQ; returns 0 or an HTTP status with *ERR. */
int proxy_http__parse_request(const char *head, size_t len, struct proxy__http_req *req,
                              const char **err)
{
	const char *end = head + len, *eol, *line_end, *sp1, *sp2, *target, *version;
	struct proxy_http__headers h = {0};
	char *out = NULL;
	size_t outlen = 0, tn;
	bool http10;

	memset(req, 0, sizeof *req);
	eol = memchr(head, '\n', len);
	if (eol == NULL) {
		*err = "malformed request line";
		return 400;
	}
	line_end = eol > head && eol[-1] == '\r' ? eol - 1 : eol;
	sp1 = memchr(head, ' ', (size_t)(line_end - head));
	if (sp1 == NULL || sp1 == head) {
		*err = "malformed request line";
		return 400;
	}
	for (const char *c = head; c < sp1; c++) {
		if (!proxy_http__tchar(*c)) {
			*err = "malformed request method";
			return 400;
		}
	}
	target = sp1 + 1;
	sp2 = memchr(target, ' ', (size_t)(line_end - target));
	if (sp2 == NULL || sp2 == target) {
		*err = "malformed request line";
		return 400;
	}
	version = sp2 + 1;
	if (line_end - version != 8 || strncmp(version, "HTTP/1.", 7) != 0 ||
	    (version[7] != '0' && version[7] != '1')) {
		*err = "unsupported HTTP version (HTTP/1.0 or HTTP/1.1 expected)";
		return 400;
	}
	http10 = version[7] == '0';
	tn = (size_t)(sp2 - target);
	for (size_t i = 0; i < tn; i++) {
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] == 0x7f) {
			*err = "control character in the request target";
			return 400;
		}
	}
	req->method = xstrndup(head, (size_t)(sp1 - head));
	req->connect = strcmp(req->method, "CONNECT") == 0;
	req->head_method = strcmp(req->method, "HEAD") == 0;
	if (req->connect) {
		if (proxy_http__authority(target, tn, 0, &req->host, &req->port) < 0) {
			*err = "CONNECT needs a valid host:port (port 1-65535)";
			goto fail;
		}
	} else {
		const char *auth, *path, *aend;

		if (tn < 7 || strncasecmp(target, "http://", 7) != 0) {
			*err = "not a proxy request: an absolute http:// URL is expected";
			goto fail;
		}
		auth = target + 7;
		aend = auth;
		while (aend < sp2 && *aend != '/' && *aend != '?' && *aend != '#')
			aend++;
		path = aend;
		for (const char *at = auth; at < aend; at++)
			if (*at == '@')
				auth = at + 1;
		if (proxy_http__authority(auth, (size_t)(aend - auth), 80, &req->host, &req->port) <
		    0) {
			*err = "malformed host in the request URL";
			goto fail;
		}
		if (path < sp2 && *path == '#')
			path = sp2;
		out = xasprintf("%s %s%.*s %.8s\r\n", req->method,
		                path < sp2 && *path == '/' ? "" : "/", (int)(sp2 - path), path,
		                version);
		outlen = strlen(out);
	}
	if (proxy_http__headers(eol + 1, end, &h, req->connect ? NULL : &out, &outlen) < 0) {
		*err = "malformed header line";
		goto fail;
	}
	if (h.other_coding) {
		free(out);
		*err = "unsupported transfer-encoding";
		proxy_http__req_free(req);
		return 501;
	}
	if (h.chunked && h.has_length) {
		*err = "both Content-Length and Transfer-Encoding";
		goto fail;
	}
	if (!req->connect) {
		if (!h.has_host) {
			char *hosth = xasprintf("Host: %s%s%s", strchr(req->host, ':') ? "[" : "",
			                        req->host, strchr(req->host, ':') ? "]" : "");
			char *port = req->port != 80 ? xasprintf(":%u", req->port) : xstrdup("");
			char *line = xasprintf("%s%s\r\n", hosth, port);
			size_t n = strlen(line);

			out = xrealloc(out, outlen + n + 1);
			memcpy(out + outlen, line, n);
			outlen += n;
			free(hosth);
			free(port);
			free(line);
		}
		out = xrealloc(out, outlen + 3);
		memcpy(out + outlen, "\r\n", 3);
		outlen += 2;
		req->upstream_head = out;
		req->upstream_len = outlen;
	}
	req->framing = h.chunked      ? PROXY__FRAME_CHUNKED
	               : h.has_length ? PROXY__FRAME_LENGTH
	                              : PROXY__FRAME_NONE;
	req->length = h.length;
	req->keep_alive = http10 ? h.conn_keep_alive && !h.conn_close : !h.conn_close;
	return 0;
fail:
	free(out);
	proxy_http__req_free(req);
	return 400;
}

/* Returns the reason phrase of the statuses this proxy sends. */
static const char *proxy_http__reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	default:
		return "Error";
	}
}

/* Sends an error reply and closes CONN after it. */
void proxy_http__error(struct proxy__conn *conn, int status, const char *why)
{
	char *clean = xstrdup(why), *body, *msg;

	for (char *c = clean; *c != '\0'; c++)
		if (*c == '\r' || *c == '\n' || (unsigned char)*c < 0x20)
			*c = ' ';
	if (status != 403)
		proxy__count_error(conn);
	body = xasprintf("airlock: %s\n", clean);
	msg = xasprintf("HTTP/1.1 %d %s\r\nx-airlock-error: %s\r\nContent-Type: text/plain\r\n"
	                "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                status, proxy_http__reason(status), clean, strlen(body), body);
	proxy__write_client(conn, msg, strlen(msg));
	free(body);
	free(clean);
	proxy__conn_finish(conn);
}

/* Whether CONN already has an approval for its current destination. */
static bool proxy_http__approved(const struct proxy__conn *conn, const char *host, uint16_t port)
{
	for (size_t i = 0; i < conn->n_approved; i++) {
		const char *a = conn->approved[i];
		const char *colon = strrchr(a, ':');

		if ((size_t)(colon - a) == strlen(host) && strncmp(a, host, strlen(host)) == 0 &&
		    (uint16_t)atoi(colon + 1) == port)
			return true;
	}
	return false;
}

/* Handles client bytes of an HTTP connection for as long as it can. */
void proxy_http__process(struct proxy__conn *conn)
{
	while (!conn->closing && !conn->finishing) {
		if (conn->state == PROXY__HEAD) {
			const char *err = NULL;
			size_t skip = 0, headlen;
			int status;

			while (skip < conn->inlen &&
			       (conn->in[skip] == '\r' || conn->in[skip] == '\n'))
				skip++;
			proxy__consume(conn, skip);
			if (conn->inlen == 0) {
				if (conn->client_eof)
					proxy__conn_finish(conn);
				break;
			}
			headlen = proxy_http__head_end(conn->in, conn->inlen);
			if (headlen > PROXY_MAX_HEAD ||
			    (headlen == 0 && conn->inlen > PROXY_MAX_HEAD)) {
				proxy_http__error(conn, 431, "request head larger than 64 KiB");
				return;
			}
			if (headlen == 0) {
				if (conn->client_eof)
					proxy_http__error(conn, 400, "incomplete request head");
				break;
			}
			proxy_http__req_free(&conn->req);
			status = proxy_http__parse_request(conn->in, headlen, &conn->req, &err);
			if (status != 0) {
				proxy_http__error(conn, status, err);
				return;
			}
			proxy__consume(conn, headlen);
			if (conn->req.connect) {
				proxy__ask(conn, conn->req.host, PROXY_PROTO_HTTPS, conn->req.port);
				return;
			}
			if (proxy_http__approved(conn, conn->req.host, conn->req.port)) {
				free(conn->host);
				conn->host = xstrdup(conn->req.host);
				conn->proto = PROXY_PROTO_HTTP;
				conn->port = conn->req.port;
				conn->proxy->stats.allowed++;
				proxy__connect(conn);
				return;
			}
			proxy__ask(conn, conn->req.host, PROXY_PROTO_HTTP, conn->req.port);
			return;
		} else if (conn->state == PROXY__BODY) {
			ssize_t n;

			if (conn->inlen == 0)
				break;
			n = proxy_http__framer_feed(&conn->req_framer, conn->in, conn->inlen);
			if (n < 0) {
				proxy__count_error(conn);
				proxy__conn_close(conn);
				return;
			}
			if (n > 0) {
				char *copy = xmalloc((size_t)n);

				memcpy(copy, conn->in, (size_t)n);
				proxy__write_peer(conn, copy, (size_t)n);
				proxy__consume(conn, (size_t)n);
			}
			if (!conn->req_framer.done)
				break;
			conn->state = PROXY__WAIT;
		} else {
			break;
		}
	}
	proxy__update_reading(conn);
}

/* Continues after the decision on the request's destination. */
void proxy_http__decided(struct proxy__conn *conn, bool allow, const char *reason)
{
	if (conn->closing)
		return;
	if (!allow) {
		char *why = xasprintf("%s:%u (%s) denied: %s", conn->host, conn->port,
		                      proxy_proto_name(conn->proto),
		                      reason != NULL ? reason : "not allowed");
		proxy_http__error(conn, 403, why);
		free(why);
		return;
	}
	if (!conn->req.connect) {
		conn->approved =
		    xreallocarray(conn->approved, conn->n_approved + 1, sizeof *conn->approved);
		conn->approved[conn->n_approved++] = xasprintf("%s:%u", conn->host, conn->port);
	}
	proxy__connect(conn);
}

/* Continues once the upstream connection is up, or failed. */
void proxy_http__connected(struct proxy__conn *conn, int status)
{
	char *head;

	if (conn->closing)
		return;
	if (status < 0) {
		char *why = xasprintf("cannot %s %s:%u: %s",
		                      status <= -3000 && status > -3100 ? "resolve" : "connect to",
		                      conn->host, conn->port, uv_strerror(status));
		proxy_http__error(conn, 502, why);
		free(why);
		return;
	}
	if (conn->req.connect) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

		conn->peer->reusable = false;
		proxy__write_client_copy(conn, ok, sizeof ok - 1);
		proxy__enter_tunnel(conn);
		return;
	}
	head = conn->req.upstream_head;
	conn->req.upstream_head = NULL;
	proxy__write_peer(conn, head, conn->req.upstream_len);
	conn->resp_pending = true;
	conn->resp_in_body = false;
	conn->resp_close = false;
	conn->uplen = 0;
	proxy_http__framer_init(&conn->req_framer, conn->req.framing, conn->req.length);
	conn->state = conn->req_framer.done ? PROXY__WAIT : PROXY__BODY;
	proxy_http__process(conn);
}

/* Ends the response in flight: the next request may come, or the connection ends. */
static void proxy_http__response_done(struct proxy__conn *conn)
{
	conn->resp_pending = false;
	conn->resp_in_body = false;
	if (conn->resp_close && conn->peer != NULL)
		conn->peer->reusable = false;
	if (conn->resp_framer.framing == PROXY__FRAME_EOF || conn->state != PROXY__WAIT ||
	    !conn->req.keep_alive) {
		/* An EOF-framed response, or one that came before the body ended. */
		proxy__conn_finish(conn);
		return;
	}
	conn->state = PROXY__HEAD;
	conn->head_since = uv_now(conn->proxy->loop); /* the next head has its own time */
	proxy_http__process(conn);
}

/* Parses a response head; sets the framer and resp_close. Returns the status or -1. */
static int proxy_http__parse_response(struct proxy__conn *conn, const char *head, size_t len)
{
	const char *eol = memchr(head, '\n', len);
	struct proxy_http__headers h = {0};
	enum proxy__framing framing;
	int status;
	bool http10;

	if (eol == NULL || len < 12 || strncmp(head, "HTTP/1.", 7) != 0 ||
	    (head[7] != '0' && head[7] != '1') || head[8] != ' ' ||
	    !isdigit((unsigned char)head[9]) || !isdigit((unsigned char)head[10]) ||
	    !isdigit((unsigned char)head[11]))
		return -1;
	http10 = head[7] == '0';
	status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
	if (proxy_http__headers(eol + 1, head + len, &h, NULL, NULL) < 0)
		return -1;
	if (conn->req.head_method || (status >= 100 && status < 200) || status == 204 ||
	    status == 304)
		framing = PROXY__FRAME_NONE;
	else if (h.chunked)
		framing = PROXY__FRAME_CHUNKED;
	else if (h.has_length)
		framing = PROXY__FRAME_LENGTH;
	else
		framing = PROXY__FRAME_EOF;
	proxy_http__framer_init(&conn->resp_framer, framing, h.length);
	conn->resp_close =
	    h.conn_close || (http10 && !h.conn_keep_alive) || framing == PROXY__FRAME_EOF;
	return status;
}

/* Relays body bytes of the response; BUF is taken. Returns false when CONN ended. */
static bool proxy_http__relay_body(struct proxy__conn *conn, char *buf, size_t len, bool owned)
{
	ssize_t n = proxy_http__framer_feed(&conn->resp_framer, buf, len);

	if (n < 0) {
		if (owned)
			proxy__buf_free(conn->proxy, buf);
		proxy__conn_close(conn);
		return false;
	}
	if (owned && (size_t)n == len) {
		proxy__write_client_buf(conn, buf, len);
	} else {
		if (n > 0)
			proxy__write_client_copy(conn, buf, (size_t)n);
		if (owned)
			proxy__buf_free(conn->proxy, buf);
	}
	if ((size_t)n < len && conn->peer != NULL)
		conn->peer->reusable = false; /* bytes beyond the response */
	if (conn->resp_framer.done)
		proxy_http__response_done(conn);
	return true;
}

/* Handles upstream bytes (BUF taken) or end of stream. */
void proxy_http__peer_read(struct proxy__conn *conn, ssize_t nread, char *buf)
{
	if (nread < 0) {
		if (!conn->resp_pending) {
			/* An idle keep-alive connection closed by the server. */
			if (conn->peer != NULL)
				conn->peer->reusable = false;
			return;
		}
		if (conn->resp_in_body && conn->resp_framer.framing == PROXY__FRAME_EOF) {
			conn->resp_framer.done = true;
			proxy_http__response_done(conn);
		} else if (!conn->resp_in_body && conn->uplen == 0 && conn->client_writes == 0) {
			proxy_http__error(conn, 502,
			                  "the server closed the connection without a "
			                  "response");
		} else {
			proxy__conn_close(conn); /* a truncated response */
		}
		return;
	}
	if (!conn->resp_pending) {
		proxy__buf_free(conn->proxy, buf);
		if (conn->peer != NULL)
			conn->peer->reusable = false;
		return;
	}
	if (conn->resp_in_body) {
		if (proxy_http__relay_body(conn, buf, (size_t)nread, true))
			proxy__update_reading(conn);
		return;
	}
	if (conn->uplen + (size_t)nread > conn->upcap) {
		conn->upcap = conn->uplen + (size_t)nread + 4096;
		conn->up = xrealloc(conn->up, conn->upcap);
	}
	memcpy(conn->up + conn->uplen, buf, (size_t)nread);
	conn->uplen += (size_t)nread;
	proxy__buf_free(conn->proxy, buf);
	while (conn->resp_pending && !conn->resp_in_body && !conn->closing) {
		size_t headlen = proxy_http__head_end(conn->up, conn->uplen);
		int status;

		if (headlen == 0 && conn->uplen > PROXY_MAX_HEAD)
			headlen = conn->uplen + 1;
		if (headlen > PROXY_MAX_HEAD) {
			proxy_http__error(conn, 502, "response head larger than 64 KiB");
			return;
		}
		if (headlen == 0)
			break;
		status = proxy_http__parse_response(conn, conn->up, headlen);
		if (status < 0) {
			proxy_http__error(conn, 502, "malformed response from the server");
			return;
		}
		proxy__write_client_copy(conn, conn->up, headlen);
		memmove(conn->up, conn->up + headlen, conn->uplen - headlen);
		conn->uplen -= headlen;
		if (status == 101) {
			conn->resp_pending = false;
			conn->state = PROXY__TUNNEL;
			conn->peer->reusable = false;
			if (conn->uplen > 0)
				proxy__write_client_copy(conn, conn->up, conn->uplen);
			conn->uplen = 0;
			if (conn->inlen > 0) {
				char *copy = xmalloc(conn->inlen);

				memcpy(copy, conn->in, conn->inlen);
				proxy__write_peer(conn, copy, conn->inlen);
				conn->inlen = 0;
			}
			break;
		}
		if (status >= 100 && status < 200)
			continue; /* an interim response: the real one follows */
		conn->resp_in_body = true;
		if (conn->resp_framer.done) {
			if (conn->uplen > 0 && conn->peer != NULL)
				conn->peer->reusable = false;
			conn->uplen = 0;
			proxy_http__response_done(conn);
			break;
		}
		if (conn->uplen > 0) {
			size_t n = conn->uplen;

			conn->uplen = 0;
			if (!proxy_http__relay_body(conn, conn->up, n, false))
				return;
		}
		break;
	}
	proxy__update_reading(conn);
}
