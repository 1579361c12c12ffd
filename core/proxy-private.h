/*
 * What the proxy's files share and nobody else sees: the proxy and
 * connection structs and the cross-file helpers (double underscore).
 *
 * A connection (struct proxy__conn) owns its client handle, at most one
 * upstream peer (a separately allocated handle, so a keep-alive client can
 * move to another destination while the old peer finishes closing), an
 * input buffer of client bytes not yet used, and, for HTTP, an input buffer
 * of upstream bytes. It counts what is still open (handles, a name lookup
 * in flight) in `refs` and is freed when that drops to zero after close.
 */
#ifndef AIRLOCK_PROXY_PRIVATE_H
#define AIRLOCK_PROXY_PRIVATE_H

#include "proxy-address.h"
#include "proxy.h"

#include <sys/socket.h>
#include <sys/types.h>

/* The size of each read buffer handed from one side to the other. */
#define PROXY__READ_SIZE (64 * 1024)
/* Read buffers kept for reuse (fresh ones would be page-faulted in each time). */
#define PROXY__POOL 64

struct proxy__conn;

struct proxy_query {
	struct proxy *proxy;
	struct proxy_query *next; /* in proxy->queries */
	struct proxy_dest dest;
	char *host;                  /* dest.host points here */
	struct proxy__conn *waiters; /* doubly linked through wnext/wprev */
	size_t n_waiters;
	bool answering; /* inside proxy_query_answer(): freed there */
};

struct proxy {
	uv_loop_t *loop;
	struct proxy_decider decider;
	uv_tcp_t listen_http;
	uv_tcp_t listen_socks;
	int n_listeners; /* initialised listeners not yet closed */
	int http_port;
	int socks_port;
	struct proxy__conn *conns; /* doubly linked through next/prev */
	struct proxy_query *queries;
	struct proxy_stats stats;
	struct proxy_address_cidr *allow_private; /* config network.allow_private */
	size_t n_allow_private;
	/* This machine's own interface addresses, listed at most once a second. */
	struct proxy_address *own;
	size_t n_own;
	uint64_t own_at; /* uv_now() when listed; 0: never */
	/* proxy_test_loopback_ports(): loopback literals tests may reach (0: any port) */
	int *test_loopback;
	size_t n_test_loopback;
	struct proxy_splice *splice; /* tunnels handed to splice threads */
	bool no_splice;              /* AIRLOCK_PROXY_NO_SPLICE: keep tunnels on the loop */
	char *pool[PROXY__POOL];     /* free read buffers */
	size_t n_pool;
	bool closing;
	void (*close_cb)(void *);
	void *close_arg;
	/* Connections whose request head (HTTP) or greeting/request (SOCKS) is late are closed. */
	uint64_t head_timeout_ms;
	uv_timer_t sweep; /* runs every head_timeout_ms / 4 */
	bool sweep_open;  /* initialised, not yet closed */
};

enum proxy__kind {
	PROXY__SNIFF, /* nothing read yet */
	PROXY__HTTP,
	PROXY__SOCKS,
};

enum proxy__state {
	PROXY__HEAD,       /* HTTP: reading a request head */
	PROXY__GREET,      /* SOCKS: reading the method greeting */
	PROXY__REQUEST,    /* SOCKS: reading the CONNECT request */
	PROXY__DECIDE,     /* waiting on a query */
	PROXY__CONNECTING, /* resolving or connecting upstream */
	PROXY__BODY,       /* HTTP: relaying a request body */
	PROXY__WAIT,       /* HTTP: request sent, waiting for its response */
	PROXY__TUNNEL,     /* CONNECT, SOCKS, or an HTTP upgrade: raw relay */
	PROXY__DONE,       /* finishing: no more requests */
};

/* Follows where a message body ends without changing its bytes. */
enum proxy__framing {
	PROXY__FRAME_NONE,   /* no body */
	PROXY__FRAME_LENGTH, /* Content-Length */
	PROXY__FRAME_CHUNKED,
	PROXY__FRAME_EOF, /* responses only: until the server closes */
};

struct proxy__framer {
	enum proxy__framing framing;
	uint64_t remaining; /* LENGTH: bytes left; CHUNKED: bytes left in the chunk */
	int cstate;         /* CHUNKED: where in the chunk syntax */
	unsigned linelen;   /* CHUNKED: length of the current size/trailer line */
	bool done;
};

/* An upstream connection; freed in its close callback. */
struct proxy__peer {
	uv_tcp_t tcp;
	struct proxy__conn *conn; /* NULL once detached */
	char *host;               /* the destination it was connected to */
	enum proxy_proto proto;
	uint16_t port;
	bool connected;
	bool eof;
	bool reusable; /* HTTP: may carry the next request */
};

/* What a parsed HTTP request head says. */
struct proxy__http_req {
	char *method;
	bool connect;
	char *host; /* lower-cased, no brackets */
	uint16_t port;
	char *upstream_head; /* the head to send upstream (origin-form), or NULL for CONNECT */
	size_t upstream_len;
	enum proxy__framing framing;
	uint64_t length;
	bool keep_alive;
	bool head_method;
};

struct proxy__conn {
	struct proxy *proxy;
	struct proxy__conn *next, *prev;
	uv_tcp_t client;
	int refs;
	bool closing;
	bool finishing; /* close once every write to the client is flushed */
	bool client_eof;
	int client_writes; /* writes to the client not yet completed */
	int peer_writes;   /* writes to the peer not yet completed */
	bool handoff;      /* a tunnel: give it to splice threads once flushed */
	enum proxy__kind kind;
	enum proxy__state state;
	bool reading_client;
	bool reading_peer;

	uint64_t head_since; /* uv_now() when it began to wait for a request head */
	char *in; /* client bytes not yet used */
	size_t inlen, incap;

	/* The destination being decided on or connected to. */
	char *host;
	enum proxy_proto proto;
	uint16_t port;
	struct proxy_query *query; /* while waiting */
	struct proxy__conn *wnext, *wprev;
	/* HTTP: destinations approved on this connection (one keep-alive, one approval). */
	char **approved;
	size_t n_approved;

	/*
	 * The addresses of the current destination, resolved once and checked
	 * (SPEC 11) before it is asked about; the connection goes to exactly
	 * these (no second lookup). RESOLVE_ERR is a failed lookup, reported
	 * once the destination was decided.
	 */
	bool have_addrs;
	bool resolve_for_connect; /* the lookup serves proxy__connect, not proxy__ask */
	struct sockaddr_storage *addrs;
	size_t n_addrs, next_addr;
	int resolve_err;

	/* Upstream connection attempts. */
	struct proxy__peer *peer;
	uv_getaddrinfo_t gai;
	bool gai_busy;
	uv_connect_t connect_req;
	int connect_err;

	/* HTTP request and response in flight. */
	struct proxy__http_req req;
	struct proxy__framer req_framer;
	bool resp_pending; /* a request was sent and its response is not complete */
	bool resp_in_body;
	struct proxy__framer resp_framer;
	bool resp_close; /* the response said Connection: close (or was EOF-framed) */
	char *up;        /* upstream head bytes not yet parsed */
	size_t uplen, upcap;
	/* SOCKS reply address type to use (always IPv4 zeros). */
};

/* ---- proxy.c: connection plumbing ---------------------------------------- */

/* Closes CONN at once (idempotent); it is freed when its handles are closed. */
void proxy__conn_close(struct proxy__conn *conn);
/* Closes CONN once everything written to the client has been flushed. */
void proxy__conn_finish(struct proxy__conn *conn);
/* Writes LEN bytes of BUF (taken: freed after the write) to the client. */
void proxy__write_client(struct proxy__conn *conn, char *buf, size_t len);
/* Writes LEN bytes of the read buffer BUF (taken, back to the pool after) to the client. */
void proxy__write_client_buf(struct proxy__conn *conn, char *buf, size_t len);
/* Returns a read buffer to the pool. */
void proxy__buf_free(struct proxy *proxy, char *buf);
/* Writes a copy of LEN bytes of DATA to the client. */
void proxy__write_client_copy(struct proxy__conn *conn, const void *data, size_t len);
/* Writes LEN bytes of BUF (taken) to the upstream peer. */
void proxy__write_peer(struct proxy__conn *conn, char *buf, size_t len);
/* Removes the first N bytes of the client input buffer. */
void proxy__consume(struct proxy__conn *conn, size_t n);
/* Starts or stops reading each side according to state and write queues. */
void proxy__update_reading(struct proxy__conn *conn);
/*
 * Asks whether CONN may reach HOST:PORT over PROTO (HOST copied), joining a
 * pending query for the same destination; continues in proxy__decided().
 */
void proxy__ask(struct proxy__conn *conn, const char *host, enum proxy_proto proto, uint16_t port);
/* Connects CONN's upstream to conn->host:port; continues in proxy__connected(). */
void proxy__connect(struct proxy__conn *conn);
/* Counts one malformed request or failed connection. */
void proxy__count_error(struct proxy__conn *conn);

/*
 * Makes CONN an established tunnel (after its reply is queued): early client
 * bytes go upstream, and it is handed to splice threads once flushed.
 */
void proxy__enter_tunnel(struct proxy__conn *conn);

/* ---- proxy-splice.c: tunnels off the loop ------------------------------------ */

struct proxy_splice;
/* Makes the registry of splice tunnels. */
struct proxy_splice *proxy_splice__new(void);
/* Starts two threads relaying blocking sockets A and B (taken on success). 0 or -errno. */
int proxy_splice__start(struct proxy_splice *reg, int a, int b);
/* Shuts every tunnel down; the registry goes when its last thread ends. */
void proxy_splice__close(struct proxy_splice *reg);

/* ---- proxy-http.c ------------------------------------------------------------ */

/*
 * Parses a request head of LEN bytes (ending with an empty line) into REQ.
 * Returns 0, or an HTTP status (400, 501) with *ERR set to a static text.
 */
int proxy_http__parse_request(const char *head, size_t len, struct proxy__http_req *req,
                              const char **err);
void proxy_http__req_free(struct proxy__http_req *req);
/* Starts FR for FRAMING with LENGTH bytes (LENGTH framing). */
void proxy_http__framer_init(struct proxy__framer *fr, enum proxy__framing framing,
                             uint64_t length);
/* Consumes body bytes of BUF up to its end; returns how many, or -1 on bad chunk syntax. */
ssize_t proxy_http__framer_feed(struct proxy__framer *fr, const char *buf, size_t len);
/* Handles new client bytes of an HTTP connection. */
void proxy_http__process(struct proxy__conn *conn);
/* Continues an HTTP connection after its query was answered. */
void proxy_http__decided(struct proxy__conn *conn, bool allow, const char *reason);
/* Continues an HTTP connection once its upstream is connected (status 0) or failed. */
void proxy_http__connected(struct proxy__conn *conn, int status);
/* Handles bytes (BUF taken) or end of stream (nread < 0) from the upstream peer. */
void proxy_http__peer_read(struct proxy__conn *conn, ssize_t nread, char *buf);
/* Sends a complete error response with `x-airlock-error: WHY` and finishes CONN. */
void proxy_http__error(struct proxy__conn *conn, int status, const char *why);

/* ---- proxy-socks.c ----------------------------------------------------------- */

/* Handles new client bytes of a SOCKS connection. */
void proxy_socks__process(struct proxy__conn *conn);
/* Continues a SOCKS connection after its query was answered. */
void proxy_socks__decided(struct proxy__conn *conn, bool allow, const char *reason);
/* Continues a SOCKS connection once its upstream is connected (status 0) or failed. */
void proxy_socks__connected(struct proxy__conn *conn, int status);

#endif
