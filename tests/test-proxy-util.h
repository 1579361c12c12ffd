/*
 * Helpers of the proxy tests: small servers on 127.0.0.1 (an HTTP/1.1 server
 * that echoes what it got, a TCP echo server), each on its own threads with
 * blocking sockets; a proxy running on a libuv loop in a thread, with a
 * scripted decider; and blocking client helpers with deadlines. Everything
 * listens on 127.0.0.1 ephemeral ports and stops when the test ends.
 */
#ifndef AIRLOCK_TEST_PROXY_UTIL_H
#define AIRLOCK_TEST_PROXY_UTIL_H

#include "../core/proxy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* A server on its own accept thread; one thread per connection. */
struct tserver {
	int fd;
	int port;
	pthread_t thread;
	atomic_int requests;    /* HTTP requests served / echo connections */
	atomic_int connections; /* accepted */
	bool http;
	char *root; /* files server: serves GET/HEAD of files under it (owned) */
};

/* Starts the echo-everything HTTP server. Returns 0 or -errno. */
int tserver_http_start(struct tserver *s);
/* Starts the same server on 127.0.0.1:PORT. */
int tserver_http_start_on(struct tserver *s, int port);
/* Starts an HTTP server of the files under ROOT (404 for anything else). */
int tserver_files_start(struct tserver *s, const char *root);
/* Starts the TCP echo server. */
int tserver_echo_start(struct tserver *s);
/* Stops accepting (connection threads end with their clients). */
void tserver_stop(struct tserver *s);

/* How the scripted decider answers. */
enum tdecider_mode {
	TDEC_ALLOW,
	TDEC_DENY,
	TDEC_HOLD, /* keep the query until tproxy_answer() */
};

/* A proxy on a loop thread with a scripted decider. */
struct tproxy {
	uv_loop_t loop;
	struct proxy *proxy;
	int http_port, socks_port;
	pthread_t thread;
	uv_timer_t tick; /* publishes held waiters, applies answers, stops */
	pthread_mutex_t mu;
	/* shared with the test's thread, under mu */
	enum tdecider_mode mode;
	const char *deny_reason;
	int calls;    /* decide() calls */
	int cancels;  /* cancel() calls */
	int refusals; /* refused() calls: destinations the proxy refused before asking */
	char last_refusal[512];
	size_t held_waiters;
	int answer; /* -1 none, 0 deny, 1 allow: applied to the held query */
	bool stop;
	char last_host[256];
	char last_proto[16];
	int last_port;
	struct proxy_stats stats; /* copied each tick */
	/* loop thread only */
	struct proxy_query *held;
	bool stopped;
};

/*
 * Starts the proxy and its thread in MODE. Returns 0 or -errno. Unless the
 * test set AIRLOCK_PROXY_TEST_LOOPBACK_PORTS itself (to "" for none), the
 * proxy may reach loopback literals, where the test servers listen.
 */
int tproxy_start(struct tproxy *t, enum tdecider_mode mode);
/* As tproxy_start, with N network.allow_private ENTRIES set before it listens. */
int tproxy_start_with(struct tproxy *t, enum tdecider_mode mode, const char *const *entries,
                      size_t n);
/* Closes the proxy (cancelling held queries), ends the loop, joins, checks the loop closes. */
int tproxy_stop(struct tproxy *t);
/* Answers the held query on the loop thread (waits until it is answered). */
void tproxy_answer(struct tproxy *t, bool allow);
/* Waits up to MS milliseconds until a query is held with N waiters; returns the count seen. */
size_t tproxy_wait_waiters(struct tproxy *t, size_t n, int ms);
/* Reads a counter under the lock. */
int tproxy_calls(struct tproxy *t);
/* Reads the refused() count under the lock. */
int tproxy_refusals(struct tproxy *t);
/* Sets the decider's mode. */
void tproxy_set_mode(struct tproxy *t, enum tdecider_mode mode, const char *reason);

/* Connects to 127.0.0.1:PORT with 10 s send/receive timeouts; returns fd or -1. */
int tcp_connect_local(int port);
/* Sends all of BUF; returns 0 or -1. */
int send_all(int fd, const void *buf, size_t len);
/*
 * Reads one HTTP response (head plus a Content-Length or chunked body, or
 * until EOF) into a malloc'd NUL-terminated string. Returns NULL on
 * timeout/EOF before a head. *STATUS gets the status code.
 */
char *read_http_response(int fd, int *status);
/* Reads exactly LEN bytes; returns 0 or -1. */
int recv_all(int fd, void *buf, size_t len);
/* Reads until EOF (or timeout); returns the byte count, the bytes in a malloc'd buffer. */
size_t recv_to_eof(int fd, char **out);

#endif
