/*
 * Proxy routing for network `proxy` (SPEC section 3): how a command in a
 * network namespace of its own (only `lo`) still reaches airlock's proxy
 * and the host loopback ports it was given, and nothing else.
 *
 *   outer stage (host netns)              inner stage (sandbox netns)
 *   127.0.0.1:P (proxy) <- bridge <- DIR/P (Unix) <- bridge <- 127.0.0.1:P <- command
 *
 * The outer stage reads the proxy variables (HTTP_PROXY ... WSS_PROXY,
 * ALL_PROXY and their lower-case forms), keeps the endpoints on the loopback
 * interface (127.0.0.0/8, ::1, localhost), adds the --host-port ports, and
 * binds one Unix socket per port in a fresh 0700 directory DIR. A bridge
 * process (forked before bubblewrap, killed after it, and removing DIR when
 * it goes, also when the helper dies) connects each accepted Unix connection
 * to the real endpoint. DIR is bound read-only into the sandbox at the same
 * path, and PROXY_ROUTE_ENV tells the inner stage DIR and the ports.
 *
 * The inner stage, before seccomp (it needs AF_UNIX, which the proxy filter
 * denies to the command), checks that `lo` is up (bubblewrap brings it up;
 * if not, SIOCSIFFLAGS), listens on 127.0.0.1:P (the same port number, or an
 * ephemeral one if P cannot be bound, e.g. below 1024), forks a bridge
 * process that connects each accepted connection to DIR/P, and rewrites the
 * proxy variables to http(s)/socks://127.0.0.1:P'. Anything else fails:
 * other addresses are unreachable (ENETUNREACH) and other loopback ports
 * refuse. Network `proxy` with no loopback proxy endpoint fails closed.
 * Host ports are routed in `proxy` mode only (under `restricted` the
 * seccomp filter refuses AF_INET sockets; under `enabled` they are reachable
 * anyway).
 */
#ifndef AIRLOCK_SANDBOX_PROXY_ROUTE_H
#define AIRLOCK_SANDBOX_PROXY_ROUTE_H

#include "sandbox/sandbox.h"

#include <sys/types.h>

/* How the outer stage tells the inner stage the route: "DIR|P1,P2,...". */
#define PROXY_ROUTE_ENV "AIRLOCK_SANDBOX__ROUTE"
/* The most endpoints (proxy ports plus host ports) routed. */
#define PROXY_ROUTE_MAX 32

struct proxy_route {
	char dir[64];                 /* the 0700 directory holding the Unix sockets */
	int ports[PROXY_ROUTE_MAX];   /* loopback port behind DIR/<port> */
	int targets[PROXY_ROUTE_MAX]; /* address family of the host endpoint (AF_INET or AF_INET6)
	                               */
	size_t n;
	pid_t bridge; /* the outer bridge process */
};

/*
 * Outer stage, before planning: sets the route up for OPTS. Returns NULL
 * when the network mode is not `proxy` (nothing to route); dies with a
 * clear message when it is and no proxy variable names a loopback endpoint,
 * or when a socket cannot be made.
 */
struct proxy_route *proxy_route_outer_start(const struct sandbox_opts *opts);
/* Adds the read-only bind of the socket directory to PLAN (before its "--"). */
void proxy_route_outer_plan(const struct proxy_route *route, struct sandbox_plan *plan);
/* After the run: stops the bridge, removes the directory, frees ROUTE (NULL is fine). */
void proxy_route_outer_stop(struct proxy_route *route);

/*
 * Inner stage, before seccomp: when PROXY_ROUTE_ENV is set, listens on the
 * loopback ports, starts the inner bridge and rewrites the proxy variables;
 * dies on failure. Does nothing when the variable is absent.
 */
void proxy_route_inner_setup(void);

/*
 * Parses a proxy URL VALUE (`[scheme://][user@]host[:port][/...]`). When its
 * host is a loopback address or `localhost`, returns its port (the scheme's
 * default when absent: http 80, https 443, socks* 1080) and sets *FAMILY;
 * otherwise returns 0.
 */
int proxy_route_loopback_port(const char *value, int *family);

#endif
