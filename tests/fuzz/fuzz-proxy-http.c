/*
 * libFuzzer target for the proxy's HTTP parsing: any request head is parsed
 * or refused with a status and a reason; a parsed one has a lower-cased
 * host, a port in 1..65535, and (unless CONNECT) an upstream head in origin
 * form that ends the head and carries no Proxy-Connection or
 * Proxy-Authorization header. The input is also fed to the chunked framer
 * whole and byte by byte: both must consume the same bytes and agree on
 * where the body ends. Domain patterns never crash on any split of it.
 */
#include "core/proxy-private.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Aborts unless the parsed request REQ keeps the parser's promises. */
static void fuzz__check_request(const struct proxy__http_req *req)
{
	if (req->host == NULL || req->host[0] == '\0' || req->port == 0)
		abort();
	for (const char *c = req->host; *c != '\0'; c++)
		if (isupper((unsigned char)*c))
			abort();
	if (req->connect)
		return;
	if (req->upstream_head == NULL || req->upstream_len < 4 ||
	    memcmp(req->upstream_head + req->upstream_len - 4, "\r\n\r\n", 4) != 0 ||
	    strchr(req->upstream_head, ' ') == NULL || strchr(req->upstream_head, ' ')[1] != '/')
		abort();
	for (const char *l = req->upstream_head; l != NULL; l = strstr(l, "\r\n")) {
		l += l == req->upstream_head ? 0 : 2;
		if (strncasecmp(l, "proxy-connection:", 17) == 0 ||
		    strncasecmp(l, "proxy-authorization:", 20) == 0)
			abort();
		if (*l == '\0')
			break;
		if (strstr(l, "\r\n") == NULL)
			break;
	}
}

/* Checks one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct proxy__http_req req;
	struct proxy__framer whole, bytes;
	const char *err = NULL;
	ssize_t n_whole;
	size_t n_bytes = 0;
	bool bad = false;
	int st;

	st = proxy_http__parse_request(s, size, &req, &err);
	if (st == 0) {
		fuzz__check_request(&req);
		proxy_http__req_free(&req);
	} else if ((st != 400 && st != 501) || err == NULL) {
		abort();
	}
	proxy_http__framer_init(&whole, PROXY__FRAME_CHUNKED, 0);
	proxy_http__framer_init(&bytes, PROXY__FRAME_CHUNKED, 0);
	n_whole = proxy_http__framer_feed(&whole, s, size);
	for (size_t i = 0; i < size && !bytes.done; i++) {
		ssize_t k = proxy_http__framer_feed(&bytes, s + i, 1);

		if (k < 0) {
			bad = true;
			break;
		}
		n_bytes += (size_t)k;
	}
	if ((n_whole < 0) != bad)
		abort();
	if (!bad && ((size_t)n_whole != n_bytes || whole.done != bytes.done))
		abort();
	if (size > 0) {
		size_t cut = data[0] % size;
		char *a = strndup(s, cut), *b = strndup(s + cut, size - cut);

		(void)proxy_domain_match(a, b);
		free(a);
		free(b);
	}
	return 0;
}
