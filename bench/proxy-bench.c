/*
 * The proxy's benchmark tool, run by bench/proxy-*.sh (never by the tests).
 * Every measurement is paired: the proxied and the direct variant run
 * alternately in the same process against the same local server, so drift
 * of the machine affects both; the tool prints per-variant medians and the
 * ratio or difference of the medians, one `key=value` per line.
 *
 *   proxy-bench throughput MIB ROUNDS
 *       read MIB MiB from a local source server, directly vs through a
 *       CONNECT tunnel of the proxy (approved by an allow-all decider),
 *       and through a bare relay (accept, connect, splice_move: one more
 *       loopback TCP hop and nothing else), the ceiling of any proxy.
 *   proxy-bench bridge-throughput MIB ROUNDS HELPER
 *       the same, but the proxied client runs inside the sandbox (network
 *       proxy), so the bytes also cross both bridges of proxy routing;
 *       the direct client is the same program outside, without a proxy.
 *   proxy-bench latency ROUNDS
 *       time to a first echoed byte on a new connection: direct vs
 *       CONNECT through the proxy to an already approved destination.
 *   proxy-bench client HOST PORT BYTES
 *       (internal) read BYTES from HOST:PORT through $HTTPS_PROXY's CONNECT,
 *       or directly when HTTPS_PROXY is unset; prints the seconds taken.
 */
#include "core/proxy-session.h"
#include "core/proxy.h"
#include "core/splice-move.h"
#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_BUF (256 * 1024)

/* Seconds on the monotonic clock. */
static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sorts for medians. */
static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of N values (sorts V). */
static double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The per-round ratios A[i] / B[i] (before A and B are sorted); caller frees. */
static double *bench_ratios(const double *a, const double *b, int n)
{
	double *r = xcalloc((size_t)n, sizeof *r);

	for (int i = 0; i < n; i++)
		r[i] = a[i] / b[i];
	return r;
}

/* Connects to 127.0.0.1:PORT; dies on failure. */
static int bench_connect(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		perror("proxy-bench: connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Sends a CONNECT for HOST:PORT on FD and reads the 200 head; dies otherwise. */
static void bench_connect_tunnel(int fd, const char *host, int port)
{
	char req[300], head[512];
	size_t len = 0;

	snprintf(req, sizeof req, "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port, host,
	         port);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		perror("proxy-bench: write");
		exit(1);
	}
	while (len < sizeof head - 1) {
		ssize_t n = read(fd, head + len, 1);

		if (n <= 0) {
			fprintf(stderr, "proxy-bench: the proxy closed the tunnel\n");
			exit(1);
		}
		len++;
		head[len] = '\0';
		if (len >= 4 && strcmp(head + len - 4, "\r\n\r\n") == 0)
			break;
	}
	if (strncmp(head, "HTTP/1.1 200", 12) != 0) {
		fprintf(stderr, "proxy-bench: CONNECT refused: %s\n", head);
		exit(1);
	}
}

/* Reads until EOF; returns the byte count. */
static size_t bench_drain(int fd)
{
	char *buf = xmalloc(BENCH_BUF);
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, BENCH_BUF)) > 0)
		total += (size_t)n;
	free(buf);
	return total;
}

/* ---- servers --------------------------------------------------------------- */

struct bench_server {
	int fd, port;
	size_t bytes; /* source: bytes per connection; 0: echo */
};

/* Serves one connection: a source writes BYTES then closes; an echo echoes. */
static void *bench_server_conn(void *arg)
{
	int *p = arg, fd = p[0];
	size_t bytes = (size_t)p[1] * 1024 * 1024;
	char *buf = xcalloc(1, BENCH_BUF);

	free(p);
	if (bytes > 0) {
		while (bytes > 0) {
			size_t n = bytes < BENCH_BUF ? bytes : BENCH_BUF;
			ssize_t w = write(fd, buf, n);

			if (w <= 0)
				break;
			bytes -= (size_t)w;
		}
	} else {
		ssize_t n;

		while ((n = read(fd, buf, BENCH_BUF)) > 0)
			if (write(fd, buf, (size_t)n) != n)
				break;
	}
	free(buf);
	close(fd);
	return NULL;
}

/* Accept loop of a bench server. */
static void *bench_server_main(void *arg)
{
	struct bench_server *s = arg;

	for (;;) {
		int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC), one = 1;
		int *p;
		pthread_t th;

		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		p = xmalloc(2 * sizeof *p);
		p[0] = c;
		p[1] = (int)(s->bytes / (1024 * 1024));
		pthread_create(&th, NULL, bench_server_conn, p);
		pthread_detach(th);
	}
	return NULL;
}

/* Starts a server on 127.0.0.1:0 (a source of MIB MiB, or an echo when 0). */
static void bench_server_start(struct bench_server *s, size_t mib)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof sin;
	pthread_t th;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->bytes = mib * 1024 * 1024;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(s->fd, 128) < 0 || getsockname(s->fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("proxy-bench: server");
		exit(1);
	}
	s->port = ntohs(sin.sin_port);
	pthread_create(&th, NULL, bench_server_main, s);
	pthread_detach(th);
}

/* ---- the proxy on its thread, allowing everything ---------------------------- */

/* Allows every destination. */
static void bench_allow(void *data, struct proxy_query *q)
{
	(void)data;
	proxy_query_answer(q, true, NULL);
}

static uv_loop_t bench_loop;

/* Runs the proxy's loop. */
static void *bench_proxy_main(void *arg)
{
	(void)arg;
	uv_run(&bench_loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Starts an allow-all proxy on a thread; returns its HTTP port. */
static int bench_proxy_start(void)
{
	struct proxy_decider d = {.decide = bench_allow};
	struct proxy *p;
	pthread_t th;

	uv_loop_init(&bench_loop);
	p = proxy_new(&bench_loop, &d);
	if (proxy_start(p) < 0) {
		fprintf(stderr, "proxy-bench: cannot start the proxy\n");
		exit(1);
	}
	pthread_create(&th, NULL, bench_proxy_main, NULL);
	pthread_detach(th);
	return proxy_http_port(p);
}

/* ---- a bare relay: one more hop, no proxy --------------------------------------- */

struct bench_relay {
	int fd, target_port;
};

/* Relays each accepted connection's target to it (the source's direction only). */
static void *bench_relay_main(void *arg)
{
	struct bench_relay *r = arg;

	for (;;) {
		int c = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC), t;

		if (c < 0)
			continue;
		t = bench_connect(r->target_port);
		if (splice_move(t, c) < 0)
			perror("proxy-bench: relay");
		close(t);
		close(c);
	}
	return NULL;
}

/* Starts a bare relay on 127.0.0.1:0 to TARGET_PORT; returns its port. */
static int bench_relay_start(int target_port)
{
	static struct bench_relay r;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof sin;
	pthread_t th;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r.target_port = target_port;
	r.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r.fd < 0 || bind(r.fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(r.fd, 16) < 0 ||
	    getsockname(r.fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("proxy-bench: relay");
		exit(1);
	}
	pthread_create(&th, NULL, bench_relay_main, &r);
	pthread_detach(th);
	return ntohs(sin.sin_port);
}

/* ---- measurements ------------------------------------------------------------- */

/* MiB/s of reading everything from PORT (through a CONNECT tunnel to TUNNEL_TO when > 0). */
static double bench_read_rate(int port, int tunnel_to)
{
	double t0 = bench_now();
	int fd = bench_connect(port);
	size_t n;

	if (tunnel_to > 0)
		bench_connect_tunnel(fd, "127.0.0.1", tunnel_to);
	n = bench_drain(fd);
	close(fd);
	return (double)n / (bench_now() - t0) / 1048576.0;
}

/* Direct vs CONNECT vs a bare relay, in process. */
static int bench_throughput(size_t mib, int rounds)
{
	struct bench_server src;
	int pport, rport;
	double *d = xcalloc((size_t)rounds, sizeof *d), *p = xcalloc((size_t)rounds, sizeof *p);
	double *b = xcalloc((size_t)rounds, sizeof *b);

	bench_server_start(&src, mib);
	pport = bench_proxy_start();
	rport = bench_relay_start(src.port);
	for (int i = 0; i < rounds; i++) {
		d[i] = bench_read_rate(src.port, 0);
		p[i] = bench_read_rate(pport, src.port);
		b[i] = bench_read_rate(rport, 0);
	}
	double *r = bench_ratios(p, d, rounds), *rb = bench_ratios(b, d, rounds);
	printf("size_mib=%zu rounds=%d\ndirect_mib_s=%.0f\nconnect_mib_s=%.0f\nbare_relay_mib_s=%.0f\n"
	       "ratio_median_of_pairs=%.2f\nbare_relay_ratio_median_of_pairs=%.2f\n",
	       mib, rounds, bench_median(d, (size_t)rounds), bench_median(p, (size_t)rounds),
	       bench_median(b, (size_t)rounds), bench_median(r, (size_t)rounds),
	       bench_median(rb, (size_t)rounds));
	free(r);
	free(rb);
	free(d);
	free(p);
	free(b);
	return 0;
}

/* Runs ARGV with extra environment ENV; returns the seconds it printed. */
static double bench_run_client(char *const argv[], char *const env[])
{
	int fds[2], status;
	char out[128] = "";
	ssize_t n;
	pid_t pid;

	if (pipe(fds) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof out - 1);
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (n <= 0 || status != 0) {
		fprintf(stderr, "proxy-bench: client failed (status %d)\n", status);
		exit(1);
	}
	out[n] = '\0';
	return atof(out);
}

/* Direct vs CONNECT through the proxy and both sandbox bridges. */
static int bench_bridge_throughput(size_t mib, int rounds, const char *helper, const char *self)
{
	struct bench_server src;
	int pport;
	char port[16], bytes[32], proxyenv[64];
	double *d = xcalloc((size_t)rounds, sizeof *d), *p = xcalloc((size_t)rounds, sizeof *p);
	const char *fs = "{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\","
	                 "\"value\":{\"kind\":\"root\"}},\"access\":\"read\"}]}";

	bench_server_start(&src, mib);
	pport = bench_proxy_start();
	snprintf(port, sizeof port, "%d", src.port);
	snprintf(bytes, sizeof bytes, "%zu", mib * 1024 * 1024);
	snprintf(proxyenv, sizeof proxyenv, "HTTPS_PROXY=http://127.0.0.1:%d", pport);
	char *direct[] = {(char *)self, "client", "127.0.0.1", port, bytes, NULL};
	char *sandboxed[] = {(char *)helper,
	                     "--sandbox-policy-cwd",
	                     "/",
	                     "--file-system-sandbox-policy",
	                     (char *)fs,
	                     "--network-sandbox-policy",
	                     "\"proxy\"",
	                     "--",
	                     (char *)self,
	                     "client",
	                     "127.0.0.1",
	                     port,
	                     bytes,
	                     NULL};
	char *env[] = {proxyenv, NULL};

	unsetenv("HTTPS_PROXY");
	for (int i = 0; i < rounds; i++) {
		d[i] = (double)mib / bench_run_client(direct, NULL);
		p[i] = (double)mib / bench_run_client(sandboxed, env);
	}
	double *r = bench_ratios(p, d, rounds);
	double md = bench_median(d, (size_t)rounds), mp = bench_median(p, (size_t)rounds);
	printf("size_mib=%zu rounds=%d\ndirect_mib_s=%.0f\nsandbox_bridge_connect_mib_s=%.0f\n"
	       "ratio_median_of_pairs=%.2f\n",
	       mib, rounds, md, mp, bench_median(r, (size_t)rounds));
	free(r);
	free(d);
	free(p);
	return 0;
}

/* The client run by bridge-throughput: prints the seconds a whole read took. */
static int bench_client(const char *host, int port, size_t bytes)
{
	const char *proxy = getenv("HTTPS_PROXY");
	double t0 = bench_now();
	int fd;
	size_t n;

	if (proxy != NULL) {
		const char *colon = strrchr(proxy, ':');

		fd = bench_connect(colon != NULL ? atoi(colon + 1) : 0);
		bench_connect_tunnel(fd, host, port);
	} else {
		fd = bench_connect(port);
	}
	n = bench_drain(fd);
	close(fd);
	if (n != bytes) {
		fprintf(stderr, "proxy-bench: got %zu bytes of %zu\n", n, bytes);
		return 1;
	}
	printf("%.6f\n", bench_now() - t0);
	return 0;
}

/* Time to the first echoed byte of a new connection: direct vs CONNECT. */
static int bench_latency(int rounds)
{
	struct bench_server echo;
	int pport;
	double *d = xcalloc((size_t)rounds, sizeof *d), *p = xcalloc((size_t)rounds, sizeof *p);
	double *diff = xcalloc((size_t)rounds, sizeof *diff);
	char c = 'x';

	bench_server_start(&echo, 0);
	pport = bench_proxy_start();
	for (int i = 0; i < rounds; i++) {
		double t0 = bench_now();
		int fd = bench_connect(echo.port);

		if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
			exit(1);
		d[i] = (bench_now() - t0) * 1e3;
		close(fd);
		t0 = bench_now();
		fd = bench_connect(pport);
		bench_connect_tunnel(fd, "127.0.0.1", echo.port);
		if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
			exit(1);
		p[i] = (bench_now() - t0) * 1e3;
		close(fd);
		diff[i] = p[i] - d[i];
	}
	double md = bench_median(d, (size_t)rounds), mp = bench_median(p, (size_t)rounds);
	printf("rounds=%d\ndirect_ms=%.3f\nconnect_ms=%.3f\nadded_ms_median_of_pairs=%.3f\n",
	       rounds, md, mp, bench_median(diff, (size_t)rounds));
	free(d);
	free(p);
	free(diff);
	return 0;
}

/* Prints the usage line and returns 2. */
static int bench_usage(void)
{
	fprintf(stderr, "usage: proxy-bench throughput MIB ROUNDS | bridge-throughput MIB ROUNDS "
	                "HELPER | latency ROUNDS | client HOST PORT "
	                "BYTES\n");
	return 2;
}

/* Dispatches on the subcommand. */
int main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	/* The bench servers listen on loopback, which the proxy otherwise never reaches. */
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "*", 1);
	if (argc < 2)
		return bench_usage();
	if (strcmp(argv[1], "throughput") == 0 && argc == 4)
		return bench_throughput((size_t)atol(argv[2]), atoi(argv[3]));
	if (strcmp(argv[1], "bridge-throughput") == 0 && argc == 5) {
		n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			return 1;
		self[n] = '\0';
		return bench_bridge_throughput((size_t)atol(argv[2]), atoi(argv[3]), argv[4], self);
	}
	if (strcmp(argv[1], "latency") == 0 && argc == 3)
		return bench_latency(atoi(argv[2]));
	if (strcmp(argv[1], "client") == 0 && argc == 5)
		return bench_client(argv[2], atoi(argv[3]), (size_t)atoll(argv[4]));
	return bench_usage();
}
