/*
 * Proxy routing for network `proxy` (SPEC section 3): how a command in a
 * network namespace of its own (only `lo`) still reaches airlock's proxy
 * and the host loopback ports it was given, and nothing else.
 *
 *   outer stage (host netns)                 inner stage (sandbox netns)
 *   127.0.0.1:P (proxy) <- outer bridge <= channel <= inner bridge <- 127.0.0.1:P <- command
 *
 * The outer stage reads the proxy variables (HTTP_PROXY ... WSS_PROXY,
 * ALL_PROXY and their lower-case forms), keeps the endpoints on the loopback
 * interface (127.0.0.0/8, ::1, localhost) and adds the --host-port ports.
 * The two stages are joined by a channel with no name anywhere: a connected
 * AF_UNIX SOCK_SEQPACKET socketpair made before bubblewrap runs. Its inner
 * end is inherited through bubblewrap (not close-on-exec; bubblewrap's own
 * monitor and init close what they inherit) and PROXY_ROUTE_ENV names its
 * descriptor and the ports; the outer end stays with the outer bridge, a
 * process forked before bubblewrap that dies with the helper. For every
 * connection the inner bridge makes a fresh stream socketpair and sends one
 * end, with the port it is for, over the channel (SCM_RIGHTS); the outer
 * bridge connects that end to the real endpoint on the host. No socket has a
 * path, so there is nothing in the file system that another sandbox (or any
 * process) could find, rename, replace or connect to, and nothing to leave
 * behind when the helper is killed.
 *
 * The inner stage, before seccomp (it needs AF_UNIX, which the proxy filter
 * denies to the command), checks that `lo` is up (bubblewrap brings it up;
 * if not, SIOCSIFFLAGS), listens on 127.0.0.1:P (the same port number, or an
 * ephemeral one if P cannot be bound, e.g. below 1024), forks the inner
 * bridge (the one holder of the channel inside; the command never gets it),
 * and rewrites the proxy variables to http(s)/socks://127.0.0.1:P'. Anything
 * else fails: other addresses are unreachable (ENETUNREACH) and other
 * loopback ports refuse. Network `proxy` with no loopback proxy endpoint
 * fails closed. Host ports are routed in `proxy` mode only (under
 * `restricted` the seccomp filter refuses AF_INET sockets; under `enabled`
 * they are reachable anyway).
 */
#ifndef AIRLOCK_SANDBOX_PROXY_ROUTE_H
#define AIRLOCK_SANDBOX_PROXY_ROUTE_H

#include "sandbox/sandbox.h"

#include <sys/types.h>

/* How the outer stage tells the inner stage the route: "FD|P1,P2,..." (FD: the channel). */
#define PROXY_ROUTE_ENV "AIRLOCK_SANDBOX__ROUTE"
/* The most endpoints (proxy ports plus host ports) routed. */
#define PROXY_ROUTE_MAX 32

struct proxy_route {
	int chan;                     /* the inner stage's end of the channel (inherited) */
	int ports[PROXY_ROUTE_MAX];   /* loopback ports routed */
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
/* After the run: stops the bridge, closes the channel, frees ROUTE (NULL is fine). */
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
