/*
 * Proxy routing (see proxy-route.h): endpoint discovery from the proxy
 * variables, the channel between the stages, and the two bridge processes.
 *
 * The inner bridge is a poll loop over its listening sockets on 127.0.0.1;
 * the outer bridge a loop over the channel. Each accepted connection costs
 * the inner bridge one stream socketpair, one end of which travels over the
 * channel (SCM_RIGHTS, with the port it is for as the message's data); the
 * outer bridge connects to that port on the host and relays. A relay is two
 * threads (one per direction) that move bytes with blocking splice(2)
 * through a pipe (read/write in 64 KiB steps where splice is not
 * supported), so a slow reader naturally stops the writer (backpressure by
 * the kernel's socket and pipe buffers). At EOF a relay half-closes its
 * target (shutdown SHUT_WR); the second relay to finish closes both
 * sockets. The outer bridge trusts nothing in a message: it takes exactly a
 * port it routes and one socket, else drops the message (and any
 * descriptor). A bridge is a process of its own, forked before any thread
 * exists: the outer one before bubblewrap runs, the inner one before
 * seccomp and exec, so the command never holds an AF_UNIX socket or the
 * channel and never runs with the bridge's threads. The inner bridge is the
 * one process in the sandbox without the seccomp filter, so it is made
 * non-dumpable: the command (same uid, no capabilities) cannot open its
 * memory or take its descriptors through /proc to borrow its AF_UNIX rights.
 * Both bridges die with their parent (PR_SET_PDEATHSIG) and leave nothing:
 * no socket of the route has a name.
 */
#include "sandbox/proxy-route.h"

#include "core/proxy-vars.h"
#include "core/splice-move.h"
#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Stack of a relay thread. */
#define PROXY_ROUTE_STACK (256 * 1024)

/* Where the parts of a proxy URL are. */
struct proxy_route_url {
	size_t host_start; /* after scheme:// and user@ */
	size_t host_end;   /* after host and :port */
	int port;
	int family;
	bool loopback;
};

/* Parses a proxy URL VALUE into U; returns false when it is not host[:port]-shaped. */
static bool proxy_route_parse(const char *value, struct proxy_route_url *u)
{
	const char *p = value, *scheme_end = strstr(value, "://"), *h, *he, *at;
	char host[256];
	size_t hn;
	int port = 0;

	memset(u, 0, sizeof *u);
	if (scheme_end != NULL)
		p = scheme_end + 3;
	he = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(he - p));
	while (at != NULL) {
		p = at + 1;
		at = memchr(p, '@', (size_t)(he - p));
	}
	u->host_start = (size_t)(p - value);
	h = p;
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(he - h));

		if (close == NULL)
			return false;
		hn = (size_t)(close - h - 1);
		if (hn >= sizeof host)
			return false;
		memcpy(host, h + 1, hn);
		p = close + 1;
	} else {
		const char *colon = memchr(h, ':', (size_t)(he - h));

		p = colon != NULL ? colon : he;
		hn = (size_t)(p - h);
		if (hn >= sizeof host)
			return false;
		memcpy(host, h, hn);
	}
	host[hn] = '\0';
	if (hn == 0)
		return false;
	if (p < he) {
		char *end;
		long v;

		if (*p != ':')
			return false;
		v = strtol(p + 1, &end, 10);
		if (end != he || v < 1 || v > 65535)
			return false;
		port = (int)v;
	} else if (scheme_end != NULL) {
		size_t sn = (size_t)(scheme_end - value);

		if (sn == 5 && strncasecmp(value, "https", 5) == 0)
			port = 443;
		else if (sn >= 5 && strncasecmp(value, "socks", 5) == 0)
			port = 1080;
		else
			port = 80;
	} else {
		port = 80;
	}
	u->host_end = (size_t)(he - value);
	u->port = port;
	{
		struct in_addr a4;
		struct in6_addr a6;

		if (strcasecmp(host, "localhost") == 0) {
			u->family = AF_INET;
			u->loopback = true;
		} else if (inet_pton(AF_INET, host, &a4) == 1) {
			u->family = AF_INET;
			u->loopback = (ntohl(a4.s_addr) >> 24) == 127;
		} else if (inet_pton(AF_INET6, host, &a6) == 1) {
			u->family = AF_INET6;
			u->loopback = IN6_IS_ADDR_LOOPBACK(&a6);
		}
	}
	return true;
}

/* Returns the port of a loopback proxy URL, or 0. */
int proxy_route_loopback_port(const char *value, int *family)
{
	struct proxy_route_url u;

	if (value == NULL || !proxy_route_parse(value, &u) || !u.loopback)
		return 0;
	*family = u.family;
	return u.port;
}

/* ---- the bridges ------------------------------------------------------------- */

/* One routed port: where the inner bridge listens, where the outer one connects. */
struct proxy_route_listener {
	int fd;   /* inner: the listening socket on 127.0.0.1 */
	int port; /* the host endpoint's port, which names the route on the channel */
	struct sockaddr_storage target; /* outer: the host endpoint */
	socklen_t target_len;
};

/* Room for the one descriptor a channel message carries. */
union proxy_route_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* One bridged connection, shared by its two relay threads. */
struct proxy_route_pair {
	int fd[2];
	atomic_int left; /* relays still running */
};

/* One direction of a pair. */
struct proxy_route_relay {
	struct proxy_route_pair *pair;
	int from, to;
};

/* Copies one direction until EOF or error; the last relay closes the pair. */
static void *proxy_route_relay_main(void *arg)
{
	struct proxy_route_relay *r = arg;
	struct proxy_route_pair *pair = r->pair;
	bool ok = splice_move(r->from, r->to) > 0;

	if (ok) {
		shutdown(r->to, SHUT_WR);
	} else {
		shutdown(r->to, SHUT_RDWR);
		shutdown(r->from, SHUT_RDWR);
	}
	free(r);
	if (atomic_fetch_sub(&pair->left, 1) == 1) {
		close(pair->fd[0]);
		close(pair->fd[1]);
		free(pair);
	}
	return NULL;
}

/* Starts the two relays of a new pair A <-> B; closes both on failure. */
static void proxy_route_start_pair(int a, int b)
{
	struct proxy_route_pair *pair = xcalloc(1, sizeof *pair);
	pthread_attr_t attr;
	int started = 0;

	pair->fd[0] = a;
	pair->fd[1] = b;
	atomic_store(&pair->left, 2);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PROXY_ROUTE_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 2; i++) {
		struct proxy_route_relay *r = xcalloc(1, sizeof *r);
		pthread_t th;

		r->pair = pair;
		r->from = pair->fd[i];
		r->to = pair->fd[1 - i];
		if (pthread_create(&th, &attr, proxy_route_relay_main, r) != 0) {
			free(r);
			break;
		}
		started++;
	}
	pthread_attr_destroy(&attr);
	if (started == 2)
		return;
	shutdown(a, SHUT_RDWR);
	shutdown(b, SHUT_RDWR);
	if (started == 0 || atomic_fetch_sub(&pair->left, 1) == 1) {
		close(a);
		close(b);
		free(pair);
	}
}

/* Connects to L's host endpoint; returns the socket or -1. */
static int proxy_route_connect(const struct proxy_route_listener *l)
{
	int fd = socket(l->target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&l->target, l->target_len) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Points stdin, stdout and stderr at /dev/null, so the bridge holds no caller pipe. */
static void proxy_route_quiet(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

/* Sends PORT and the descriptor FD over CHAN as one message; 0 or -1 (errno set). */
static int proxy_route_send(int chan, int port, int fd)
{
	union proxy_route_cmsg u;
	struct iovec iov = {.iov_base = &port, .iov_len = sizeof port};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c;
	ssize_t n;

	memset(&u, 0, sizeof u);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fd);
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	do
		n = sendmsg(chan, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof port ? 0 : -1;
}

/*
 * Receives one message from CHAN into *PORT and *FD (-1 unless the message
 * is exactly a port and one socket). Returns 1, 0 at EOF, -1 on error.
 */
static int proxy_route_recv(int chan, int *port, int *fd)
{
	union proxy_route_cmsg u;
	struct iovec iov = {.iov_base = port, .iov_len = sizeof *port};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c;
	struct stat st;
	ssize_t n;

	*port = 0;
	*fd = -1;
	do
		n = recvmsg(chan, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	/* The buffer holds one descriptor: the kernel drops any more (MSG_CTRUNC). */
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof *fd) && *fd < 0)
			memcpy(fd, CMSG_DATA(c), sizeof *fd);
	if (*fd >= 0 && (n != (ssize_t)sizeof *port || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	                 fstat(*fd, &st) != 0 || !S_ISSOCK(st.st_mode))) {
		close(*fd);
		*fd = -1;
	}
	return 1;
}

/* The outer bridge: connects each socket that comes on CHAN to its endpoint; never returns. */
static void __attribute__((noreturn))
proxy_route_outer_bridge(int chan, const struct proxy_route_listener *ls, size_t n)
{
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int port, fd, t = -1;
		int rc = proxy_route_recv(chan, &port, &fd);

		if (rc <= 0)
			_exit(0); /* the inner side is gone (or the channel broke) */
		if (fd < 0)
			continue;
		for (size_t i = 0; i < n && t < 0; i++)
			if (ls[i].port == port)
				t = proxy_route_connect(&ls[i]);
		if (t < 0) {
			/* An unknown port, or refused: the command sees its connection end. */
			close(fd);
			continue;
		}
		proxy_route_start_pair(fd, t);
	}
}

/*
 * The inner bridge: hands each connection accepted on LS over to the outer
 * bridge through CHAN, as one end of a fresh socketpair; never returns.
 */
static void __attribute__((noreturn))
proxy_route_inner_bridge(int chan, const struct proxy_route_listener *ls, size_t n)
{
	struct pollfd pfd[PROXY_ROUTE_MAX + 1];

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = ls[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[n].fd = chan; /* only to notice that the outer bridge is gone */
	pfd[n].events = 0;
	for (;;) {
		int rc = poll(pfd, n + 1, -1);

		if (rc < 0 && errno != EINTR)
			_exit(0);
		if (rc > 0 && pfd[n].revents != 0)
			_exit(0);
		for (size_t i = 0; rc > 0 && i < n; i++) {
			int c, sp[2], one = 1;

			if (!(pfd[i].revents & POLLIN))
				continue;
			c = accept4(ls[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
				close(c);
				continue;
			}
			if (proxy_route_send(chan, ls[i].port, sp[1]) < 0) {
				int e = errno;

				close(sp[0]);
				close(sp[1]);
				close(c);
				if (e == EPIPE || e == ECONNRESET || e == ENOTCONN)
					_exit(0);
				continue;
			}
			close(sp[1]);
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			proxy_route_start_pair(c, sp[0]);
		}
	}
}

/* ---- outer stage --------------------------------------------------------------- */

/* Adds PORT (FAMILY of the host endpoint) to ROUTE unless present. */
static void proxy_route_add(struct proxy_route *route, int port, int family)
{
	for (size_t i = 0; i < route->n; i++)
		if (route->ports[i] == port)
			return;
	if (route->n == PROXY_ROUTE_MAX)
		sandbox_die("proxy routing: more than %d loopback endpoints", PROXY_ROUTE_MAX);
	route->ports[route->n] = port;
	route->targets[route->n] = family;
	route->n++;
}

/* Finds the endpoints, makes the channel and starts the outer bridge. */
struct proxy_route *proxy_route_outer_start(const struct sandbox_opts *opts)
{
	struct proxy_route_listener ls[PROXY_ROUTE_MAX];
	struct proxy_route *route;
	char *env, *p;
	int chan[2];
	pid_t parent = getpid(), pid;

	if (opts->policy.net != POLICY_NET_PROXY)
		return NULL;
	route = xcalloc(1, sizeof *route);
	for (size_t i = 0; i < proxy_n_vars; i++) {
		int family = AF_INET,
		    port = proxy_route_loopback_port(getenv(proxy_vars[i].name), &family);

		if (port > 0)
			proxy_route_add(route, port, family);
	}
	if (route->n == 0)
		sandbox_die("network mode \"proxy\" needs airlock's proxy, but none of HTTP_PROXY, "
		            "HTTPS_PROXY, ALL_PROXY (or the other proxy variables) points to a "
		            "proxy on 127.0.0.1: refusing to run with no network route (use "
		            "airlock's -n ask, which starts the proxy and sets them)");
	for (size_t i = 0; i < opts->n_host_ports; i++)
		proxy_route_add(route, opts->host_ports[i], AF_INET);
	for (size_t i = 0; i < route->n; i++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ls[i].target;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ls[i].target;

		ls[i].fd = -1;
		ls[i].port = route->ports[i];
		memset(&ls[i].target, 0, sizeof ls[i].target);
		if (route->targets[i] == AF_INET6) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)route->ports[i]);
			sin6->sin6_addr = in6addr_loopback;
			ls[i].target_len = sizeof *sin6;
		} else {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)route->ports[i]);
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			ls[i].target_len = sizeof *sin;
		}
	}
	/* The inner end crosses bubblewrap (and a system bwrap's exec): not close-on-exec. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0 ||
	    fcntl(chan[1], F_SETFD, 0) < 0)
		sandbox_die("proxy routing: socketpair: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		sandbox_die("proxy routing: fork: %s", strerror(errno));
	if (pid == 0) {
		close(chan[1]);
		/* An interrupt is the command's (the helper passes it on), not the bridge's. */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		prctl(PR_SET_DUMPABLE, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		proxy_route_quiet();
		proxy_route_outer_bridge(chan[0], ls, route->n);
	}
	close(chan[0]);
	route->chan = chan[1];
	route->bridge = pid;
	/* Tell the inner stage: "FD|P1,P2,...". */
	env = xmalloc(16 + route->n * 7);
	p = env + sprintf(env, "%d|", route->chan);
	for (size_t i = 0; i < route->n; i++)
		p += sprintf(p, "%s%d", i > 0 ? "," : "", route->ports[i]);
	setenv(PROXY_ROUTE_ENV, env, 1);
	free(env);
	return route;
}

/* Stops the outer bridge and closes the channel: nothing of the route stays. */
void proxy_route_outer_stop(struct proxy_route *route)
{
	if (route == NULL)
		return;
	/*
	 * Without waiting for the bridge (the helper exits next and the
	 * bridge is reaped by whoever inherits it): saves its exit time.
	 */
	if (route->bridge > 0)
		kill(route->bridge, SIGKILL);
	close(route->chan);
	unsetenv(PROXY_ROUTE_ENV);
	free(route);
}

/* ---- inner stage ----------------------------------------------------------------- */

/* Brings `lo` up unless it is up already (bubblewrap normally did). */
static void proxy_route_lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		sandbox_die("proxy routing: socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		sandbox_die("proxy routing: SIOCGIFFLAGS lo: %s", strerror(errno));
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			sandbox_die("proxy routing: cannot bring lo up (SIOCSIFFLAGS): %s",
			            strerror(errno));
	}
	close(fd);
}

/* Listens on 127.0.0.1:PORT, or an ephemeral port if that fails; returns the port used. */
static int proxy_route_listen_local(int port, int *fdp)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		sandbox_die("proxy routing: socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		sin.sin_port = 0;
		if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
			sandbox_die("proxy routing: bind 127.0.0.1: %s", strerror(errno));
	}
	if (listen(fd, 128) < 0 || getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		sandbox_die("proxy routing: listen on 127.0.0.1:%d: %s", port, strerror(errno));
	*fdp = fd;
	return ntohs(sin.sin_port);
}

/* Rewrites every proxy variable that pointed at routed port PORTS[i] to LOCAL[i]. */
static void proxy_route_rewrite_env(const int *ports, const int *local, size_t n)
{
	for (size_t v = 0; v < proxy_n_vars; v++) {
		const char *value = getenv(proxy_vars[v].name);
		struct proxy_route_url u;

		if (value == NULL || !proxy_route_parse(value, &u) || !u.loopback)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (ports[i] != u.port)
				continue;
			char *nv = xasprintf("%.*s127.0.0.1:%d%s", (int)u.host_start, value,
			                     local[i], value + u.host_end);
			setenv(proxy_vars[v].name, nv, 1);
			free(nv);
			break;
		}
	}
}

/* True when FD is a connected AF_UNIX SOCK_SEQPACKET socket: the route's channel. */
static bool proxy_route_is_channel(int fd)
{
	int type = 0, domain = 0;
	socklen_t tl = sizeof type, dl = sizeof domain;
	struct sockaddr_un peer;
	socklen_t pl = sizeof peer;

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_SEQPACKET &&
	       getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 && domain == AF_UNIX &&
	       getpeername(fd, (struct sockaddr *)&peer, &pl) == 0;
}

/* Sets up the listeners, the inner bridge and the variables inside the sandbox. */
void proxy_route_inner_setup(void)
{
	struct proxy_route_listener ls[PROXY_ROUTE_MAX];
	int ports[PROXY_ROUTE_MAX], local[PROXY_ROUTE_MAX], chan;
	const char *env = getenv(PROXY_ROUTE_ENV);
	char *spec, *bar, *end, *tok, *save = NULL;
	size_t n = 0;
	long v;
	pid_t parent = getpid(), pid;

	if (env == NULL)
		return;
	spec = xstrdup(env);
	unsetenv(PROXY_ROUTE_ENV);
	bar = strchr(spec, '|');
	if (bar == NULL)
		sandbox_die("proxy routing: malformed %s", PROXY_ROUTE_ENV);
	*bar = '\0';
	v = strtol(spec, &end, 10);
	if (end == spec || *end != '\0' || v < 3 || v > 65535)
		sandbox_die("proxy routing: malformed %s", PROXY_ROUTE_ENV);
	chan = (int)v;
	if (!proxy_route_is_channel(chan))
		sandbox_die(
		    "proxy routing: descriptor %d is not the route's channel from the outer "
		    "stage",
		    chan);
	/* Whatever happens below, the command never inherits it. */
	if (fcntl(chan, F_SETFD, FD_CLOEXEC) < 0)
		sandbox_die("proxy routing: fcntl: %s", strerror(errno));
	for (tok = strtok_r(bar + 1, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int port = atoi(tok);

		if (port < 1 || port > 65535 || n == PROXY_ROUTE_MAX)
			sandbox_die("proxy routing: malformed %s", PROXY_ROUTE_ENV);
		ports[n++] = port;
	}
	free(spec);
	proxy_route_lo_up();
	for (size_t i = 0; i < n; i++) {
		local[i] = proxy_route_listen_local(ports[i], &ls[i].fd);
		ls[i].port = ports[i];
		ls[i].target_len = 0;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		sandbox_die("proxy routing: fork: %s", strerror(errno));
	if (pid == 0) {
		/*
		 * Not dumpable: the command (same uid, no capabilities) cannot
		 * reach this unfiltered process through /proc/PID/mem or fd/.
		 */
		prctl(PR_SET_DUMPABLE, 0);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* In the command's process group: its interrupts are not the bridge's. */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		if (getppid() != parent)
			_exit(0);
		proxy_route_quiet();
		proxy_route_inner_bridge(chan, ls, n);
	}
	for (size_t i = 0; i < n; i++)
		close(ls[i].fd);
	close(chan);
	proxy_route_rewrite_env(ports, local, n);
}
