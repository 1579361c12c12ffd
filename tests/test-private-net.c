/*
 * Private networks closed (SPEC 11), on a network the test makes: a
 * network namespace of its own (as root) whose loopback also holds
 * 10.203.0.1, with a server listening there, and a mount namespace whose
 * /etc/hosts names it private-host.test. The proxy (the real one, with a
 * decider that allows every host, as `allowed_domains: ["*"]` would) must
 * refuse the address, the name, the cloud metadata address and [fd00::1]
 * before it asks anyone and before it connects anywhere: the server
 * accepts nothing. With network.allow_private ["10.203.0.0/24"] the same
 * server answers through it.
 *
 * The server's address is made local by a route (`ip route add local
 * 10.203.0.0/24 dev lo`), as another host's would be reachable, not by an
 * address on an interface: an address of the proxy's own machine stays
 * closed whatever allow_private says (services listening on 0.0.0.0 answer
 * there as on loopback, which is host_loopback_ports' to open), and the
 * test checks that too, with 10.203.0.9 added to lo.
 */
#include "test.h"

#include "../core/xmalloc.h"
#include "test-proxy-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#define PRIVATE_NET_ADDR "10.203.0.1"
#define PRIVATE_NET_PORT 18080
#define PRIVATE_NET_OWN  "10.203.0.9" /* an address of the namespace's own lo */

/* The server on the private address: it counts what it accepts. */
struct private_net__server {
	int fd;
	pthread_t thread;
	atomic_int accepted;
};

/* Accepts and answers each connection with a small HTTP response, until closed. */
static void *private_net__serve(void *data)
{
	struct private_net__server *s = data;
	static const char reply[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nprivate";

	for (;;) {
		char buf[4096];
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		atomic_fetch_add(&s->accepted, 1);
		(void)!read(c, buf, sizeof buf);
		(void)!write(c, reply, sizeof reply - 1);
		close(c);
	}
}

/* Runs ARGV (an ip(8) command); returns its exit status, or -1 when it cannot run. */
static int private_net__ip(const char *const *args)
{
	struct test_run r;
	char *argv[8];
	size_t n = 0;
	int status;

	argv[n++] = access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
	for (size_t i = 0; args[i] != NULL && n < 7; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (test_run(&r, argv, NULL, NULL, NULL, (uid_t)-1, 10) != 0)
		return -1;
	status = r.status;
	if (status != 0)
		fprintf(stderr, "ip: %s", r.err);
	test_run_free(&r);
	return status;
}

/* Sends a GET for http://HOST:PORT/ through the proxy; returns the status, *BODY the reply. */
static int private_net__get(int proxy_port, const char *host, int port, char **reply)
{
	int fd = tcp_connect_local(proxy_port), status = 0;
	char *req =
	    xasprintf("GET http://%s:%d/ HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port, host, port);

	*reply = NULL;
	if (fd < 0) {
		free(req);
		return -1;
	}
	send_all(fd, req, strlen(req));
	free(req);
	*reply = read_http_response(fd, &status);
	close(fd);
	return status;
}

TEST(proxy_private_networks_closed_in_a_network_namespace)
{
	static const char *const refused[][2] = {
	    {PRIVATE_NET_ADDR, "private"},
	    {"private-host.test", "private"},
	    {"169.254.169.254", "cloud metadata"},
	    {"[fd00::1]", "private"},
	};
	struct private_net__server srv = {.fd = -1};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PRIVATE_NET_PORT)};
	char *hosts = xasprintf("%s/hosts", test_tmpdir()), *reply;
	struct tproxy t;

	if (geteuid() != 0)
		SKIP("making a network namespace with an address of its own needs root");
	if (access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0)
		SKIP("ip(8) is not installed (apt-get install iproute2)");
	if (access("/etc/hosts", F_OK) != 0) { /* a minimal debootstrap makes none */
		free(hosts);
		SKIP("no /etc/hosts to bind the test's own over, for its name");
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
		SKIP("cannot make a network and mount namespace: %s", strerror(errno));
	/* The namespace's own loopback, with a private network routed to it (no veth needed). */
	ASSERT_EQ(private_net__ip((const char *[]){"link", "set", "lo", "up", NULL}), 0);
	ASSERT_EQ(private_net__ip((const char *[]){"route", "add", "local", "10.203.0.0/24", "dev",
	                                           "lo", NULL}),
	          0);
	ASSERT_EQ(private_net__ip((const char *[]){"addr", "add", PRIVATE_NET_OWN "/32", "dev",
	                                           "lo", NULL}),
	          0);
	/* A name for it, in this mount namespace's /etc/hosts only. */
	ASSERT_EQ(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ASSERT_EQ(test_write_file(hosts, "127.0.0.1 localhost\n" PRIVATE_NET_ADDR
	                                 " private-host.test\n"),
	          0);
	ASSERT_EQ(mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL), 0);

	inet_pton(AF_INET, PRIVATE_NET_ADDR, &sin.sin_addr);
	srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT(srv.fd >= 0);
	ASSERT_EQ(bind(srv.fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ASSERT_EQ(listen(srv.fd, 16), 0);
	ASSERT_EQ(pthread_create(&srv.thread, NULL, private_net__serve, &srv), 0);
	/* The server is there: a direct connection is served (so a refusal is the proxy's). */
	{
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_EQ(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
		close(fd);
		for (int i = 0; i < 200 && atomic_load(&srv.accepted) == 0; i++)
			usleep(5000);
		ASSERT_EQ(atomic_load(&srv.accepted), 1);
	}

	/* Every host allowed (the decider says yes to all): these are refused all the same. */
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "", 1);
	ASSERT_EQ(tproxy_start(&t, TDEC_ALLOW), 0);
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		int port = i < 2 ? PRIVATE_NET_PORT : 80;
		int status = private_net__get(t.http_port, refused[i][0], port, &reply);

		if (status != 403 || reply == NULL || strstr(reply, refused[i][1]) == NULL) {
			fprintf(stderr, "GET http://%s:%d/: %d %s\n", refused[i][0], port, status,
			        reply != NULL ? reply : "(no reply)");
			free(reply);
			return 1;
		}
		free(reply);
	}
	ASSERT_EQ(tproxy_calls(&t), 0); /* nobody was asked: refused before any prompt */
	ASSERT_EQ(tproxy_refusals(&t), 4);
	ASSERT_EQ(atomic_load(&srv.accepted), 1); /* and nothing connected out */
	ASSERT_EQ(tproxy_stop(&t), 0);

	/* allow_private opens exactly that network: the server answers through the proxy. */
	static const char *const open[] = {"10.203.0.0/24"};
	ASSERT_EQ(tproxy_start_with(&t, TDEC_ALLOW, open, 1), 0);
	int status = private_net__get(t.http_port, PRIVATE_NET_ADDR, PRIVATE_NET_PORT, &reply);
	if (status != 200)
		fprintf(stderr, "allowed: %d %s\n", status, reply != NULL ? reply : "(none)");
	ASSERT_EQ(status, 200);
	ASSERT_CONTAINS(reply, "private");
	free(reply);
	ASSERT_EQ(private_net__get(t.http_port, "private-host.test", PRIVATE_NET_PORT, &reply),
	          200);
	free(reply);
	ASSERT_EQ(atomic_load(&srv.accepted), 3);
	/* The metadata address is no part of that entry. */
	ASSERT_EQ(private_net__get(t.http_port, "169.254.169.254", 80, &reply), 403);
	free(reply);
	/* An address of this machine in that range stays closed: the entry opens no host service. */
	ASSERT_EQ(private_net__get(t.http_port, PRIVATE_NET_OWN, PRIVATE_NET_PORT, &reply), 403);
	ASSERT_CONTAINS(reply, "an address of this machine");
	free(reply);
	ASSERT_EQ(atomic_load(&srv.accepted), 3);
	ASSERT_EQ(tproxy_stop(&t), 0);

	shutdown(srv.fd, SHUT_RDWR);
	close(srv.fd);
	pthread_join(srv.thread, NULL);
	free(hosts);
	return 0;
}
