/*
 * Tests of the session proxy (core/proxy-session*) with the real approval
 * queue, and of proxy routing through the sandbox helper with real clients
 * inside (curl, python3 urllib, git). A "human" on the loop thread answers
 * every prompt with the answer the test scripted (or none), and counts the
 * prompts it saw, so each test states exactly how many prompts it expects.
 * The destinations are servers on 127.0.0.1 started by the test; inside the
 * sandbox NO_PROXY is emptied so that they count as remote hosts reached
 * through the proxy (with the real NO_PROXY, 127.0.0.1 goes direct, which is
 * what the host-port test uses).
 */
#include "test.h"
#include "test-proxy-util.h"

#include "../core/approval.h"
#include "../core/audit.h"
#include "../core/proxy-session.h"
#include "../core/rules.h"
#include "../core/proxy-vars.h"
#include "../core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A session proxy on a loop thread with a scripted human. */
struct tsess {
	uv_loop_t loop;
	uv_timer_t tick;
	pthread_t thread;
	struct approval_queue *queue;
	struct proxy_session *session;
	struct rules *rules;
	struct audit *audit;
	char *home;
	int http_port, socks_port;
	pthread_mutex_t mu;
	/* under mu */
	int autoanswer; /* -1: leave prompts pending; else an enum approval_answer */
	int prompts;    /* distinct prompts seen */
	size_t pending, waiters;
	struct proxy_stats stats;
	bool stop;
	/* loop thread only */
	uint64_t last_id;
	bool stopped;
};

/* Every 2 ms: publish, answer the current prompt as scripted, or stop. */
static void tsess_tick(uv_timer_t *timer)
{
	struct tsess *t = timer->data;
	const struct approval_prompt *p;
	uint64_t answer_id = 0;
	int answer = -1;
	bool stop;

	pthread_mutex_lock(&t->mu);
	p = approval_current(t->queue);
	t->pending = approval_pending(t->queue);
	t->waiters = p != NULL ? p->n_waiters : 0;
	if (t->session != NULL)
		proxy_get_stats(proxy_session_proxy(t->session), &t->stats);
	if (p != NULL && p->id != t->last_id) {
		t->last_id = p->id;
		t->prompts++;
	}
	if (p != NULL && t->autoanswer >= 0) {
		answer_id = p->id;
		answer = t->autoanswer;
	}
	stop = t->stop && !t->stopped;
	pthread_mutex_unlock(&t->mu);
	if (answer_id != 0)
		approval_answer(t->queue, answer_id, (enum approval_answer)answer);
	if (stop) {
		t->stopped = true;
		uv_timer_stop(timer);
		uv_close((uv_handle_t *)&t->tick, NULL);
		proxy_session_close(t->session, NULL, NULL);
		t->session = NULL;
	}
}

/* The loop thread. */
static void *tsess_main(void *arg)
{
	struct tsess *t = arg;

	uv_run(&t->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Starts a session with APPROVAL and config domain lists; rules from HOME/rules. */
static int tsess_start(struct tsess *t, enum decide_approval approval, const char *const *allowed,
                       size_t n_allowed, const char *const *denied, size_t n_denied)
{
	char *cause = NULL, *log;
	int rc;

	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	t->autoanswer = -1;
	t->home = xasprintf("%s/home", test_tmpdir());
	mkdir(t->home, 0700);
	t->rules = rules_new();
	if (rules_load_all(t->rules, t->home, NULL, &cause) != 0) {
		fprintf(stderr, "rules: %s\n", cause);
		free(cause);
		return -1;
	}
	log = xasprintf("%s/audit.jsonl", t->home);
	t->audit = audit_open(log, &cause);
	free(log);
	if (t->audit == NULL) {
		fprintf(stderr, "audit: %s\n", cause);
		free(cause);
		return -1;
	}
	struct approval_config cfg = {
	    .approval = approval,
	    .rules = t->rules,
	    .home = t->home,
	    .audit = t->audit,
	    .allowed_domains = allowed,
	    .n_allowed_domains = n_allowed,
	    .denied_domains = denied,
	    .n_denied_domains = n_denied,
	};
	t->queue = approval_queue_new(&cfg);
	/* The test servers listen on loopback, which the proxy otherwise never reaches. */
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "*", 0);
	uv_loop_init(&t->loop);
	rc = proxy_session_start(&t->loop, t->queue, &t->session);
	if (rc < 0)
		return rc;
	t->http_port = proxy_session_http_port(t->session);
	t->socks_port = proxy_session_socks_port(t->session);
	uv_timer_init(&t->loop, &t->tick);
	t->tick.data = t;
	uv_timer_start(&t->tick, tsess_tick, 2, 2);
	return pthread_create(&t->thread, NULL, tsess_main, t) == 0 ? 0 : -1;
}

/* Stops the session and frees everything; returns uv_loop_close's result. */
static int tsess_stop(struct tsess *t)
{
	int rc;

	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	rc = uv_loop_close(&t->loop);
	approval_queue_free(t->queue);
	rules_free(t->rules);
	audit_close(t->audit);
	free(t->home);
	return rc;
}

/* Sets how the scripted human answers from now on. */
static void tsess_auto(struct tsess *t, int answer)
{
	pthread_mutex_lock(&t->mu);
	t->autoanswer = answer;
	pthread_mutex_unlock(&t->mu);
}

/* Returns the number of prompts seen so far. */
static int tsess_prompts(struct tsess *t)
{
	int n;

	usleep(10000); /* let the tick publish the latest state */
	pthread_mutex_lock(&t->mu);
	n = t->prompts;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* Returns the number of prompts pending now. */
static size_t tsess_pending(struct tsess *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->pending;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* Waits until the current prompt has N waiters; returns what it saw. */
static size_t tsess_wait_waiters(struct tsess *t, size_t n, int ms)
{
	size_t seen = 0;

	for (int i = 0; i < ms; i++) {
		pthread_mutex_lock(&t->mu);
		seen = t->waiters;
		pthread_mutex_unlock(&t->mu);
		if (seen >= n)
			break;
		usleep(1000);
	}
	return seen;
}

/* One GET through the session's HTTP port on a new connection; returns the status. */
static int tsess_get(struct tsess *t, const char *host, int port, char **resp)
{
	int fd = tcp_connect_local(t->http_port), status = 0;
	char *req = xasprintf("GET http://%s:%d/ HTTP/1.1\r\nHost: %s\r\n\r\n", host, port, host);
	char *r;

	send_all(fd, req, strlen(req));
	free(req);
	r = read_http_response(fd, &status);
	close(fd);
	if (resp != NULL)
		*resp = r;
	else
		free(r);
	return status;
}

/* How many lines of the session's audit log contain every one of the NULL-terminated WORDS. */
static int audit_lines(const char *const *words)
{
	char *path = xasprintf("%s/home/audit.jsonl", test_tmpdir()), *text, *line, *save = NULL;
	int n = 0;

	text = test_read_file(path, NULL);
	free(path);
	if (text == NULL)
		return 0;
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		bool all = true;

		for (const char *const *w = words; *w != NULL; w++)
			all = all && strstr(line, *w) != NULL;
		n += all;
	}
	free(text);
	return n;
}

TEST(proxy_env_lists_every_variable)
{
	static const char *const http_vars[] = {
	    "HTTP_PROXY",
	    "HTTPS_PROXY",
	    "http_proxy",
	    "https_proxy",
	    "FTP_PROXY",
	    "ftp_proxy",
	    "YARN_HTTP_PROXY",
	    "YARN_HTTPS_PROXY",
	    "npm_config_http_proxy",
	    "npm_config_https_proxy",
	    "npm_config_proxy",
	    "PIP_PROXY",
	    "BUNDLE_HTTP_PROXY",
	    "BUNDLE_HTTPS_PROXY",
	    "DOCKER_HTTP_PROXY",
	    "DOCKER_HTTPS_PROXY",
	    "WS_PROXY",
	    "WSS_PROXY",
	};
	char **env = proxy_env_build(3128, 1080);
	size_t n = 0;

	while (env[n] != NULL)
		n++;
	ASSERT_EQ(n, PROXY_ENV_COUNT);
	for (size_t i = 0; i < sizeof http_vars / sizeof http_vars[0]; i++) {
		char *want = xasprintf("%s=http://127.0.0.1:3128", http_vars[i]);
		bool found = false;

		for (size_t k = 0; k < n; k++)
			found = found || strcmp(env[k], want) == 0;
		if (!found)
			fprintf(stderr, "missing %s\n", want);
		ASSERT(found);
		free(want);
	}
	bool all = false, all_lc = false, np = false, np_lc = false;
	for (size_t k = 0; k < n; k++) {
		all = all || strcmp(env[k], "ALL_PROXY=socks5h://127.0.0.1:1080") == 0;
		all_lc = all_lc || strcmp(env[k], "all_proxy=socks5h://127.0.0.1:1080") == 0;
		np = np || strcmp(env[k], "NO_PROXY=localhost,127.0.0.1,::1") == 0;
		np_lc = np_lc || strcmp(env[k], "no_proxy=localhost,127.0.0.1,::1") == 0;
	}
	ASSERT(all && all_lc && np && np_lc);
	proxy_env_free(env);
	return 0;
}

TEST(proxy_session_fs_policy_splits)
{
	char *cause = NULL;
	char *fs = proxy_session_fs_policy(
	    "{\"type\":\"workspace-write\",\"network_access\":false}", &cause);

	ASSERT(fs != NULL);
	ASSERT_CONTAINS(fs, "\"kind\":\"restricted\"");
	ASSERT_CONTAINS(fs, "current_working_directory");
	free(fs);
	ASSERT(proxy_session_fs_policy("{\"type\":\"nope\"}", &cause) == NULL);
	ASSERT(cause != NULL);
	free(cause);
	return 0;
}

TEST(proxy_session_once_session_deny_block)
{
	struct tserver srv;
	struct tsess t;
	char *resp = NULL;

	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	/* Once: allowed, and the next connection asks again. */
	tsess_auto(&t, APPROVAL_ONCE);
	ASSERT_EQ(tsess_get(&t, "127.0.0.1", srv.port, NULL), 200);
	ASSERT_EQ(tsess_prompts(&t), 1);
	/* Session: asked once more, then never again. */
	tsess_auto(&t, APPROVAL_SESSION);
	ASSERT_EQ(tsess_get(&t, "127.0.0.1", srv.port, NULL), 200);
	ASSERT_EQ(tsess_prompts(&t), 2);
	tsess_auto(&t, -1);
	ASSERT_EQ(tsess_get(&t, "127.0.0.1", srv.port, NULL), 200);
	ASSERT_EQ(tsess_get(&t, "127.0.0.1", srv.port, NULL), 200);
	ASSERT_EQ(tsess_prompts(&t), 2);
	/* Deny: 403 naming the host; asked again next time. */
	tsess_auto(&t, APPROVAL_DENY);
	ASSERT_EQ(tsess_get(&t, "[::ffff:127.0.0.1]", srv.port, &resp), 403);
	ASSERT_CONTAINS(resp, "x-airlock-error: ::ffff:127.0.0.1:");
	free(resp);
	ASSERT_EQ(tsess_prompts(&t), 3);
	/* Deny and block: then refused without a prompt, on any port and protocol. */
	tsess_auto(&t, APPROVAL_DENY_BLOCK);
	ASSERT_EQ(tsess_get(&t, "[::ffff:127.0.0.1]", srv.port, NULL), 403);
	ASSERT_EQ(tsess_prompts(&t), 4);
	tsess_auto(&t, -1);
	ASSERT_EQ(tsess_get(&t, "[::ffff:127.0.0.1]", srv.port, &resp), 403);
	ASSERT_CONTAINS(resp, "blocked for this session");
	free(resp);
	ASSERT_EQ(tsess_get(&t, "[::ffff:127.0.0.1]", srv.port + 1 > 65535 ? 1 : srv.port + 1, NULL), 403);
	ASSERT_EQ(tsess_prompts(&t), 4);
	/* Only the four allowed requests reached the server. */
	ASSERT_EQ(atomic_load(&srv.requests), 4);
	ASSERT_EQ(tsess_stop(&t), 0);
	/* Audit: answered prompts and cached decisions are lines of their own. */
	{
		const char *prompted_session[] = {"\"kind\":\"network\"", "\"scope\":\"session\"",
		                                  "\"decision\":\"allow\"", "\"prompted\":true",
		                                  NULL};
		const char *cached[] = {"\"by\":\"session\"", "\"prompted\":false", NULL};
		ASSERT_EQ(audit_lines(prompted_session), 1);
		ASSERT(audit_lines(cached) >= 4);
	}
	tserver_stop(&srv);
	return 0;
}

TEST(proxy_session_concurrent_requests_one_prompt)
{
	enum { N = 50 };
	struct tserver srv;
	struct tsess t;
	int fds[N];

	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	for (int i = 0; i < N; i++) {
		char *req = xasprintf("GET http://127.0.0.1:%d/c%d HTTP/1.1\r\n\r\n", srv.port, i);

		fds[i] = tcp_connect_local(t.http_port);
		ASSERT(fds[i] >= 0);
		ASSERT_EQ(send_all(fds[i], req, strlen(req)), 0);
		free(req);
	}
	ASSERT_EQ(tsess_wait_waiters(&t, N, 5000), N);
	ASSERT_EQ(tsess_pending(&t), 1); /* one prompt for all fifty */
	ASSERT_EQ(atomic_load(&srv.connections), 0);
	tsess_auto(&t, APPROVAL_ONCE);
	for (int i = 0; i < N; i++) {
		int status;
		char want[32], *resp = read_http_response(fds[i], &status);

		ASSERT_EQ(status, 200);
		snprintf(want, sizeof want, "line=GET /c%d ", i);
		ASSERT_CONTAINS(resp, want);
		free(resp);
		close(fds[i]);
	}
	ASSERT_EQ(tsess_prompts(&t), 1);
	ASSERT_EQ(atomic_load(&srv.requests), N);
	ASSERT_EQ(tsess_stop(&t), 0);
	{
		const char *one[] = {"\"kind\":\"network\"", "\"prompted\":true", "\"requests\":50",
		                     NULL};
		ASSERT_EQ(audit_lines(one), 1);
	}
	tserver_stop(&srv);
	return 0;
}

TEST(proxy_session_denied_domains_beat_allows)
{
	/* (A loopback literal: a name leading to loopback is refused before any of this.) */
	static const char *const allowed[] = {"*.localhost", "127.0.0.2"};
	/* Exact form: the approval queue matches config domains itself (exact and "*.x"). */
	static const char *const denied[] = {"127.0.0.2"};
	struct tserver srv;
	struct tsess t;
	char *rules_dir, *rules_file, *resp = NULL;

	ASSERT_EQ(tserver_http_start(&srv), 0);
	/* An allow rule for the host too. */
	rules_dir = xasprintf("%s/home", test_tmpdir());
	mkdir(rules_dir, 0700);
	free(rules_dir);
	rules_dir = xasprintf("%s/home/rules", test_tmpdir());
	mkdir(rules_dir, 0700);
	rules_file = xasprintf("%s/default.rules", rules_dir);
	ASSERT_EQ(test_write_file(rules_file, "network_rule(host=\"127.0.0.2\", protocol=\"http\", "
	                                      "decision=\"allow\")\n"),
	          0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, allowed, 2, denied, 1), 0);
	tsess_auto(&t, APPROVAL_SESSION); /* would allow for the session, if it were asked */
	ASSERT_EQ(tsess_get(&t, "127.0.0.2", srv.port, &resp), 403);
	ASSERT_CONTAINS(resp, "denied_domains");
	free(resp);
	ASSERT_EQ(tsess_prompts(&t), 0);
	/* Another host: allowed once for the session by the human, then cached. */
	ASSERT_EQ(tsess_get(&t, "127.0.0.1", srv.port, NULL), 200);
	ASSERT_EQ(tsess_prompts(&t), 1);
	ASSERT_EQ(atomic_load(&srv.requests), 1);
	ASSERT_EQ(tsess_stop(&t), 0);
	free(rules_file);
	free(rules_dir);
	tserver_stop(&srv);
	return 0;
}

TEST(proxy_session_never_refuses_without_prompt)
{
	struct tserver srv;
	struct tsess t;
	char *resp = NULL;

	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_NEVER, NULL, 0, NULL, 0), 0);
	ASSERT_EQ(tsess_get(&t, "127.0.0.1", srv.port, &resp), 403);
	ASSERT_CONTAINS(resp, "x-airlock-error: 127.0.0.1:");
	ASSERT_CONTAINS(resp, "never");
	free(resp);
	ASSERT_EQ(tsess_prompts(&t), 0);
	ASSERT_EQ(atomic_load(&srv.connections), 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&srv);
	return 0;
}

/* ---- through the sandbox helper --------------------------------------------- */

/* The helper's path. */
static char *sandbox_helper(void)
{
	const char *e = getenv("AIRLOCK_SANDBOX_EXE");

	return e != NULL ? xstrdup(e) : test_buildpath("airlock-sandbox");
}

/*
 * Runs SCRIPT with sh in the sandbox (network proxy, file system: root read,
 * the test directory write) with the session's proxy environment (NO_PROXY
 * emptied unless KEEP_NO_PROXY) plus EXTRA_ENV. HOST_PORT > 0 adds --host-port.
 */
static int sandbox_sh(struct tsess *t, const char *script, bool keep_no_proxy,
                      const char *extra_env, int host_port, struct test_run *r)
{
	char *helper = sandbox_helper();
	char *fs =
	    xasprintf("{\"kind\":\"restricted\",\"entries\":["
	              "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},"
	              "\"access\":\"read\"},"
	              "{\"path\":{\"type\":\"path\",\"path\":\"%s\"},\"access\":\"write\"}]}",
	              test_tmpdir());
	char port[16];
	char *argv[16];
	char *env[PROXY_ENV_COUNT + 4];
	char **penv = t != NULL ? proxy_env_build(t->http_port, t->socks_port) : NULL;
	size_t a = 0, e = 0;
	int rc;

	argv[a++] = helper;
	argv[a++] = "--sandbox-policy-cwd";
	argv[a++] = (char *)test_tmpdir();
	argv[a++] = "--file-system-sandbox-policy";
	argv[a++] = fs;
	argv[a++] = "--network-sandbox-policy";
	argv[a++] = "\"proxy\"";
	if (host_port > 0) {
		snprintf(port, sizeof port, "%d", host_port);
		argv[a++] = "--host-port";
		argv[a++] = port;
	}
	argv[a++] = "--";
	argv[a++] = "sh";
	argv[a++] = "-c";
	argv[a++] = (char *)script;
	argv[a] = NULL;
	for (size_t i = 0; penv != NULL && penv[i] != NULL; i++) {
		if (!keep_no_proxy && strncasecmp(penv[i], "no_proxy=", 9) == 0)
			penv[i][9] = '\0';
		env[e++] = penv[i];
	}
	if (extra_env != NULL)
		env[e++] = (char *)extra_env;
	env[e++] = "HOME=/nonexistent-home"; /* no user config for git, curl, pip */
	env[e] = NULL;
	rc = test_run(r, argv, NULL, test_tmpdir(), env, (uid_t)-1, 60);
	proxy_env_free(penv);
	free(fs);
	free(helper);
	return rc;
}

/* Skips when the sandbox cannot run here at all (no user namespaces, no bwrap). */
static int sandbox_usable(void)
{
	struct test_run r;
	char *helper = sandbox_helper();
	char *argv[] = {helper,
	                "--sandbox-policy-cwd",
	                (char *)test_tmpdir(),
	                "--sandbox-policy",
	                "{\"type\":\"read-only\"}",
	                "--",
	                "true",
	                NULL};
	int ok = test_run(&r, argv, NULL, NULL, NULL, (uid_t)-1, 30) == 0 && r.status == 0;

	if (!ok)
		fprintf(stderr, "sandbox helper: status %d: %s\n", r.status, r.err);
	test_run_free(&r);
	free(helper);
	return ok;
}

TEST(proxy_sandbox_curl_once_session_deny)
{
	struct tserver srv, other;
	struct tsess t;
	struct test_run r;
	char *script;

	if (access("/usr/bin/curl", X_OK) != 0)
		SKIP("curl is not installed");
	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tserver_http_start(&other), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	script = xasprintf("curl -sS -m 20 http://127.0.0.1:%d/inside", srv.port);
	/* Once. */
	tsess_auto(&t, APPROVAL_ONCE);
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "line=GET /inside HTTP/1.1");
	test_run_free(&r);
	ASSERT_EQ(tsess_prompts(&t), 1);
	/* Session, then no prompt (a prompt would stay unanswered and curl time out). */
	tsess_auto(&t, APPROVAL_SESSION);
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	tsess_auto(&t, -1);
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "line=GET /inside HTTP/1.1");
	test_run_free(&r);
	ASSERT_EQ(tsess_prompts(&t), 2);
	free(script);
	/* Deny: curl sees 403 and the reason; the other server sees nothing. */
	tsess_auto(&t, APPROVAL_DENY);
	script = xasprintf("curl -sS -m 20 -D - -o /dev/null http://[::ffff:127.0.0.1]:%d/",
	                   other.port);
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	ASSERT_CONTAINS(r.out, "HTTP/1.1 403 Forbidden");
	ASSERT_CONTAINS(r.out, "x-airlock-error: ::ffff:127.0.0.1:");
	test_run_free(&r);
	free(script);
	ASSERT_EQ(atomic_load(&other.connections), 0);
	/* python3 urllib through the same proxy variables (session-approved destination). */
	tsess_auto(&t, -1);
	script =
	    xasprintf("/usr/bin/python3 -c 'import urllib.request as u; "
	              "print(u.urlopen(\"http://127.0.0.1:%d/py\", timeout=20).read().decode())'",
	              srv.port);
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	if (r.status == 127)
		fprintf(stderr, "python3 missing inside: %s\n", r.err);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "line=GET /py HTTP/1.1");
	test_run_free(&r);
	free(script);
	ASSERT_EQ(tsess_prompts(&t), 3);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&srv);
	tserver_stop(&other);
	return 0;
}

TEST(proxy_sandbox_always_writes_rule_for_next_session)
{
	struct tserver srv;
	struct tsess t;
	struct test_run r;
	char *script, *rules_file, *text;

	if (access("/usr/bin/curl", X_OK) != 0)
		SKIP("curl is not installed");
	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	ASSERT_EQ(tserver_http_start(&srv), 0);
	script = xasprintf("curl -sS -m 20 --socks5-hostname \"${ALL_PROXY#socks5h://}\" "
	                   "http://127.0.0.1:%d/always",
	                   srv.port);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	tsess_auto(&t, APPROVAL_RULE);
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "line=GET /always HTTP/1.1");
	test_run_free(&r);
	ASSERT_EQ(tsess_prompts(&t), 1);
	ASSERT_EQ(tsess_stop(&t), 0);
	rules_file = xasprintf("%s/home/rules/default.rules", test_tmpdir());
	text = test_read_file(rules_file, NULL);
	ASSERT_CONTAINS(text, "network_rule(host=\"127.0.0.1\"");
	free(text);
	free(rules_file);
	/* A new session loads the rule: no prompt. */
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	tsess_auto(&t, -1);
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	ASSERT_EQ(tsess_prompts(&t), 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	free(script);
	tserver_stop(&srv);
	return 0;
}

TEST(proxy_sandbox_git_clone_over_http)
{
	struct tserver files;
	struct tsess t;
	struct test_run r;
	char *script, *root;

	if (access("/usr/bin/git", X_OK) != 0)
		SKIP("git is not installed");
	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	/* A bare repository served by a dumb HTTP server. */
	root = xasprintf("%s/srv", test_tmpdir());
	script =
	    xasprintf("set -e; mkdir -p %s && cd %s && git init -q -b main src && cd src && "
	              "echo hello > file.txt && git add file.txt && "
	              "git -c user.name=t -c user.email=t@t commit -q -m one && cd .. && "
	              "git clone -q --bare src repo.git && cd repo.git && git update-server-info",
	              root, root);
	{
		char *argv[] = {"sh", "-c", script, NULL};
		char *env[] = {"HOME=/nonexistent-home", "GIT_CONFIG_NOSYSTEM=1", NULL};
		ASSERT_EQ(test_run(&r, argv, NULL, NULL, env, (uid_t)-1, 30), 0);
		if (r.status != 0)
			fprintf(stderr, "%s", r.err);
		ASSERT_EQ(r.status, 0);
		test_run_free(&r);
	}
	free(script);
	ASSERT_EQ(tserver_files_start(&files, root), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	tsess_auto(&t, APPROVAL_SESSION);
	script =
	    xasprintf("git clone -q http://127.0.0.1:%d/repo.git %s/clone && cat %s/clone/file.txt",
	              files.port, test_tmpdir(), test_tmpdir());
	ASSERT_EQ(sandbox_sh(&t, script, false, "GIT_CONFIG_NOSYSTEM=1", 0, &r), 0);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "hello\n");
	test_run_free(&r);
	ASSERT_EQ(tsess_prompts(&t), 1);
	ASSERT(atomic_load(&files.requests) >= 2);
	ASSERT_EQ(tsess_stop(&t), 0);
	free(script);
	free(root);
	tserver_stop(&files);
	return 0;
}

TEST(proxy_sandbox_fails_closed_without_proxy)
{
	struct test_run r;

	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	/* No proxy variable at all. */
	ASSERT_EQ(sandbox_sh(NULL, "echo ran", false, NULL, 0, &r), 0);
	ASSERT_EQ(r.status, 125);
	ASSERT_NOT_CONTAINS(r.out, "ran");
	ASSERT_CONTAINS(r.err, "airlock: network mode \"proxy\" needs airlock's proxy");
	test_run_free(&r);
	/* Only a proxy that is not on the loopback interface: unusable, same. */
	ASSERT_EQ(
	    sandbox_sh(NULL, "echo ran", false, "HTTPS_PROXY=http://proxy.example.com:3128", 0, &r),
	    0);
	ASSERT_EQ(r.status, 125);
	ASSERT_NOT_CONTAINS(r.out, "ran");
	test_run_free(&r);
	return 0;
}

TEST(proxy_sandbox_direct_egress_and_sockets)
{
	struct tserver srv;
	struct tsess t;
	struct test_run r;
	char *script;

	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	if (access("/usr/bin/python3", X_OK) != 0)
		SKIP("python3 is not installed");
	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	script = xasprintf(
	    "/usr/bin/python3 - <<'EOF'\n"
	    "import socket, errno\n"
	    "def try_connect(addr):\n"
	    "    s = socket.socket()\n"
	    "    try:\n"
	    "        s.connect(addr); return 'connected'\n"
	    "    except OSError as e: return errno.errorcode[e.errno]\n"
	    "print('host-server', try_connect(('127.0.0.1', %d)))\n"
	    "print('remote', try_connect(('192.0.2.1', 80)))\n"
	    "try:\n"
	    "    socket.socket(socket.AF_UNIX); print('unix', 'allowed')\n"
	    "except OSError as e: print('unix', errno.errorcode[e.errno])\n"
	    "a, b = socket.socketpair(); a.send(b'x'); print('socketpair', b.recv(1).decode())\n"
	    "import os\n"
	    "bridges = [p for p in os.listdir('/proc') if p.isdigit() and p != '1' and\n"
	    "           open('/proc/%%s/comm' %% p).read().strip() == 'airlock-sandbox']\n"
	    "print('bridges', len(bridges))\n"
	    "for p in bridges:\n"
	    "    for what in ('mem',):\n"
	    "        try:\n"
	    "            (open if what == 'mem' else os.listdir)('/proc/%%s/%%s' %% (p, what))\n"
	    "            print('bridge', what, 'open')\n"
	    "        except PermissionError: print('bridge', what, 'denied')\n"
	    "EOF\n",
	    srv.port);
	ASSERT_EQ(sandbox_sh(&t, script, true, NULL, 0, &r), 0);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "host-server ECONNREFUSED\n");
	ASSERT_CONTAINS(r.out, "remote ENETUNREACH\n");
	ASSERT_CONTAINS(r.out, "unix EPERM\n");
	ASSERT_CONTAINS(r.out, "socketpair x\n");
	/*
	 * The inner bridge (no seccomp filter) is out of the command's reach
	 * (pid 1 is bubblewrap's init, not ours).
	 */
	ASSERT_CONTAINS(r.out, "bridges 1\n");
	ASSERT_CONTAINS(r.out, "bridge mem denied\n");
	ASSERT_NOT_CONTAINS(r.out, " open\n");
	test_run_free(&r);
	free(script);
	ASSERT_EQ(atomic_load(&srv.connections), 0);
	ASSERT_EQ(tsess_prompts(&t), 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&srv);
	return 0;
}

TEST(proxy_sandbox_host_port_is_bridged)
{
	struct tserver srv, other;
	struct tsess t;
	struct test_run r;
	char *script;

	if (access("/usr/bin/curl", X_OK) != 0)
		SKIP("curl is not installed");
	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tserver_http_start(&other), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	/* NO_PROXY keeps 127.0.0.1 direct: the bridged port answers, another does not. */
	script =
	    xasprintf("curl -sS -m 10 http://127.0.0.1:%d/dev-server; echo; "
	              "curl -sS -m 10 http://127.0.0.1:%d/other; echo rc=$?; "
	              "echo route-mounts=$(grep -c airlock-route /proc/self/mountinfo)",
	              srv.port, other.port);
	ASSERT_EQ(sandbox_sh(&t, script, true, NULL, srv.port, &r), 0);
	ASSERT_CONTAINS(r.out, "line=GET /dev-server HTTP/1.1");
	ASSERT_CONTAINS(r.out, "rc=7");
	/* No route directory inside: the route is a descriptor, with no path. */
	ASSERT_CONTAINS(r.out, "route-mounts=0\n");
	test_run_free(&r);
	free(script);
	ASSERT_EQ(atomic_load(&other.connections), 0);
	ASSERT_EQ(tsess_prompts(&t), 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&srv);
	tserver_stop(&other);
	return 0;
}

TEST(proxy_sandbox_rewrites_a_port_it_cannot_bind)
{
	struct tserver proxy;
	struct test_run r;
	char *env;
	int port = 0;

	if (access("/usr/bin/curl", X_OK) != 0)
		SKIP("curl is not installed");
	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	/* A "proxy" on a privileged port (root only): unbindable inside the sandbox. */
	for (int p = 1023; p > 900 && port == 0; p--)
		if (tserver_http_start_on(&proxy, p) == 0)
			port = p;
		else
			close(proxy.fd);
	if (port == 0)
		SKIP("cannot bind a port below 1024 here (not root?)");
	env = xasprintf("HTTP_PROXY=http://user@localhost:%d/", port);
	ASSERT_EQ(sandbox_sh(NULL,
	                     "echo \"$HTTP_PROXY\"; curl -sS -m 10 --noproxy '' "
	                     "-x \"$HTTP_PROXY\" http://example.test/through",
	                     false, env, 0, &r),
	          0);
	if (r.status != 0)
		fprintf(stderr, "%s", r.err);
	ASSERT_EQ(r.status, 0);
	/* Rewritten to 127.0.0.1 and a port of the sandbox's own, user and path kept. */
	ASSERT_CONTAINS(r.out, "http://user@127.0.0.1:");
	{
		char *was = xasprintf("127.0.0.1:%d/", port);
		ASSERT_NOT_CONTAINS(r.out, was);
		free(was);
	}
	ASSERT_CONTAINS(r.out, "line=GET http://example.test/through HTTP/1.1");
	test_run_free(&r);
	free(env);
	tserver_stop(&proxy);
	return 0;
}

/* ---- the route's bridge: nothing a sibling sandbox can reach, nothing left behind ------- */

/* Skips unless the helper runs as UID (-1: this user) here. */
static int route_usable(uid_t uid)
{
	struct test_run r;
	char *helper = sandbox_helper();
	char *argv[] = {helper,
	                "--sandbox-policy-cwd",
	                "/",
	                "--sandbox-policy",
	                "{\"type\":\"read-only\"}",
	                "--",
	                "true",
	                NULL};
	int ok = test_run(&r, argv, NULL, "/", NULL, uid, 30) == 0 && r.status == 0;

	test_run_free(&r);
	free(helper);
	return ok;
}

/* A fresh directory NAME under the test's directory, owned by UID; caller frees. */
static char *route_ws(const char *name, uid_t uid)
{
	char *ws = xasprintf("%s/%s", test_tmpdir(), name);

	mkdir(ws, 0755);
	if (uid != (uid_t)-1 && chown(ws, uid, uid) != 0) {
		/* the test's assertions will show it */
	}
	return ws;
}

/*
 * Starts the helper in WS as UID (-1: this user), in a process group of its
 * own, in network `proxy` mode (root read, WS write) with HTTP_PROXY set to
 * PROXY_URL and no other proxy variable, running `sh -c SCRIPT` with its
 * output in WS/out. Returns its pid.
 */
static pid_t route_spawn(uid_t uid, const char *ws, const char *proxy_url, const char *script)
{
	char *helper = sandbox_helper();
	char *fs =
	    xasprintf("{\"kind\":\"restricted\",\"entries\":["
	              "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},"
	              "\"access\":\"read\"},"
	              "{\"path\":{\"type\":\"path\",\"path\":\"%s\"},\"access\":\"write\"}]}",
	              ws);
	char *out = xasprintf("%s/out", ws);
	char *argv[] = {helper,
	                "--sandbox-policy-cwd",
	                (char *)ws,
	                "--file-system-sandbox-policy",
	                fs,
	                "--network-sandbox-policy",
	                "\"proxy\"",
	                "--",
	                "sh",
	                "-c",
	                (char *)script,
	                NULL};
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0);
		if (null < 0 || fd < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    chdir(ws) != 0)
			_exit(127);
		/* Only what the helper made is seen in its tree: not the runner's descriptors. */
		for (int i = 3; i < 1024; i++)
			close(i);
		for (size_t i = 0; i < proxy_n_vars; i++)
			unsetenv(proxy_vars[i].name);
		unsetenv("NO_PROXY");
		unsetenv("no_proxy");
		setenv("HTTP_PROXY", proxy_url, 1);
		setenv("HOME", "/nonexistent-home", 1);
		if (uid != (uid_t)-1 &&
		    (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0))
			_exit(127);
		execv(helper, argv);
		_exit(127);
	}
	free(out);
	free(fs);
	free(helper);
	return pid;
}

/* Waits up to MS milliseconds for PATH to exist; true when it does. */
static bool route_wait_file(const char *path, int ms)
{
	struct stat st;

	for (int i = 0; i < ms / 10 && stat(path, &st) != 0; i++)
		usleep(10 * 1000);
	return stat(path, &st) == 0;
}

/* Waits up to MS milliseconds for PID; returns its wait status, or -1 (then kills it). */
static int route_wait_pid(pid_t pid, int ms)
{
	int status;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10 * 1000);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* The parent of PID from /proc, or 0. */
static pid_t route_ppid(pid_t pid)
{
	char path[64], buf[512];
	char *stat, *p;
	int ppid = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	stat = test_read_file(path, NULL);
	if (stat == NULL)
		return 0;
	snprintf(buf, sizeof buf, "%s", stat);
	free(stat);
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

/* PID and all its descendants (at most MAX) into PIDS; returns how many. */
static size_t route_tree(pid_t pid, pid_t *pids, size_t max)
{
	size_t n = 1;
	bool grew = true;

	pids[0] = pid;
	while (grew && n < max) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		grew = false;
		while (d != NULL && n < max && (e = readdir(d)) != NULL) {
			pid_t p = (pid_t)atoi(e->d_name), pp;
			bool have = false;

			if (p <= 0)
				continue;
			for (size_t i = 0; i < n; i++)
				have = have || pids[i] == p;
			if (have || (pp = route_ppid(p)) == 0)
				continue;
			for (size_t i = 0; i < n && !have; i++)
				have = pids[i] == pp;
			if (have) {
				pids[n++] = p;
				grew = true;
			}
		}
		if (d != NULL)
			closedir(d);
	}
	return n;
}

/*
 * The paths of the Unix sockets held by the processes PIDS (as the host's
 * /proc/net/unix names them) and of their descriptors of files in /tmp
 * outside the test's directory, one per line, and in *N_FDS how many of
 * their descriptors were seen; caller frees.
 */
static char *route_socket_paths(const pid_t *pids, size_t n, size_t *n_fds)
{
	unsigned long inodes[512];
	size_t ni = 0;
	char *table = test_read_file("/proc/net/unix", NULL), *line, *save = NULL;
	char *paths = xstrdup("");

	*n_fds = 0;
	for (size_t i = 0; i < n; i++) {
		char dir[64], link[320], target[256];
		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pids[i]);
		d = opendir(dir);
		while (d != NULL && (e = readdir(d)) != NULL) {
			ssize_t len;
			unsigned long ino;

			if (e->d_name[0] == '.')
				continue;
			snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
			len = readlink(link, target, sizeof target - 1);
			if (len < 0)
				continue;
			target[len] = '\0';
			(*n_fds)++;
			if (strncmp(target, "/tmp/", 5) == 0 &&
			    strncmp(target, test_tmpdir(), strlen(test_tmpdir())) != 0) {
				char *t = xasprintf("%s%s\n", paths, target);
				free(paths);
				paths = t;
			}
			if (sscanf(target, "socket:[%lu]", &ino) == 1 && ni < 512)
				inodes[ni++] = ino;
		}
		if (d != NULL)
			closedir(d);
	}
	for (line = strtok_r(table, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long ino;
		int path_at = 0;

		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %n", &ino, &path_at) != 1 ||
		    line[path_at] == '\0')
			continue;
		for (size_t i = 0; i < ni; i++) {
			if (inodes[i] == ino) {
				char *t = xasprintf("%s%s\n", paths, line + path_at);
				free(paths);
				paths = t;
				break;
			}
		}
	}
	free(table);
	return paths;
}

/*
 * PATHS (from route_socket_paths) and the directories that hold them: every
 * name of A's that a sibling could look for, one per line; caller frees.
 */
static char *route_names(const char *paths)
{
	char *s = xstrdup("");

	for (const char *p = paths; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		const char *slash = memrchr(p, '/', len);
		char *t = xasprintf("%s%.*s\n", s, (int)len, p);

		free(s);
		s = t;
		if (slash != NULL && slash > p) {
			t = xasprintf("%s%.*s\n", s, (int)(slash - p), p);
			free(s);
			s = t;
		}
		p += len + (p[len] != '\0');
	}
	return s;
}

/* True when process PID is gone (or a zombie) within MS milliseconds. */
static bool route_gone(pid_t pid, int ms)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (int i = 0; i <= ms / 10; i++) {
		char *stat = test_read_file(path, NULL), *p;
		bool gone = stat == NULL ||
		            ((p = strrchr(stat, ')')) != NULL && (p[1] == '\0' || p[2] == 'Z'));

		free(stat);
		if (gone)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* Defines proxy_route_NAME_root and proxy_route_NAME_user around NAME_as(uid). */
#define ROUTE_BOTH(name)                                                                           \
	static int route_##name##_as(uid_t uid);                                                   \
	TEST(proxy_route_##name##_root)                                                            \
	{                                                                                          \
		if (!route_usable((uid_t)-1))                                                      \
			SKIP("the sandbox cannot run on this host");                               \
		return route_##name##_as((uid_t)-1);                                               \
	}                                                                                          \
	TEST(proxy_route_##name##_user)                                                            \
	{                                                                                          \
		long u = test_unprivileged_uid();                                                  \
		if (u < 0)                                                                         \
			SKIP("%s", test_unprivileged_skip_reason());                               \
		if (!route_usable((uid_t)u))                                                       \
			SKIP("the sandbox cannot run as an unprivileged user here (user "          \
			     "namespaces off for them?)");                                         \
		return route_##name##_as((uid_t)u);                                                \
	}                                                                                          \
	static int route_##name##_as(uid_t uid)

/*
 * A proxy-mode sandbox A waits while a sibling B (workspace-write, /tmp
 * writable, host network) attacks its bridge. From the host, no process of
 * A's holds a socket with a name or a file in /tmp: there is nothing of A's
 * in the file system to find, rename or replace. B looks everywhere it can
 * (/tmp, sockets under the shared directories, /proc/net/unix, every
 * descriptor and mount in its /proc) and tries to move each of A's names
 * (there are none; it would put them back at once, so that this test does not
 * break other sandboxes when run against an older helper). A's proxied
 * request then still reaches the proxy, and its sandbox has no route mount.
 * (A waits for B at most 20 s, so that a failed run leaves no process behind.)
 */
ROUTE_BOTH(bridge_out_of_a_siblings_reach)
{
	struct tserver proxy;
	struct test_run r;
	char *ws_a = route_ws("a", uid), *ws_b = route_ws("b", uid);
	char *ready = xasprintf("%s/ready", ws_a), *go = xasprintf("%s/go", ws_a);
	char *out = xasprintf("%s/out", ws_a), *url, *paths, *names, *text;
	char *b_argv[80];
	size_t n, n_fds, b = 0;
	pid_t pids[64], a;
	int status;

	if (access("/usr/bin/curl", X_OK) != 0)
		SKIP("curl is not installed");
	ASSERT_EQ(tserver_http_start(&proxy), 0);
	url = xasprintf("http://127.0.0.1:%d", proxy.port);
	a = route_spawn(uid, ws_a, url,
	                "grep -c airlock-route /proc/self/mountinfo | sed 's/^/MOUNTS /'; "
	                "touch ready; i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; "
	                "i=$((i+1)); done; "
	                "curl -sS -m 10 --noproxy '' -x \"$HTTP_PROXY\" "
	                "http://example.test/after-the-sibling");
	ASSERT(a > 0);
	if (!route_wait_file(ready, 20000)) {
		route_wait_pid(a, 0);
		text = test_read_file(out, NULL);
		fprintf(stderr, "A never got ready: %s\n", text);
		free(text);
		ASSERT(false);
	}
	/* From the host: what of A's has a name. */
	n = route_tree(a, pids, 64);
	paths = route_socket_paths(pids, n, &n_fds);
	names = route_names(paths);
	/* B, as an attacker, given A's names. */
	b_argv[b++] = sandbox_helper();
	b_argv[b++] = "--sandbox-policy-cwd";
	b_argv[b++] = ws_b;
	b_argv[b++] = "--sandbox-policy";
	b_argv[b++] = "{\"type\":\"workspace-write\",\"network_access\":true}";
	b_argv[b++] = "--";
	b_argv[b++] = "sh";
	b_argv[b++] = "-c";
	b_argv[b++] =
	    "touch /tmp/.sibling-probe-$$ && echo TMP-WRITABLE && rm -f /tmp/.sibling-probe-$$; "
	    "ls -a /tmp | grep -i airlock-route | sed 's/^/SEEN /'; "
	    "find /tmp /var/tmp /dev/shm /run -type s 2>/dev/null | grep -i airlock-route "
	    "| sed 's/^/SEEN /'; "
	    "grep -i airlock-route /proc/net/unix | sed 's/^/SEEN /'; "
	    "ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -i airlock-route | sed 's/^/SEEN /'; "
	    "cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -i airlock-route | sed 's/^/SEEN /'; "
	    "for s in \"$@\"; do "
	    "  [ -e \"$s\" ] && echo \"REACHED $s\"; "
	    "  [ -S \"$s\" ] && mv \"$s\" \"$s.x\" && echo \"MOVED $s\" && mv \"$s.x\" \"$s\"; "
	    "done; echo DONE";
	b_argv[b++] = "sh";
	for (char *p = names; *p != '\0' && b < 78;) {
		size_t len = strcspn(p, "\n");

		b_argv[b++] = xstrndup(p, len);
		p += len + (p[len] != '\0');
	}
	b_argv[b] = NULL;
	ASSERT_EQ(test_run(&r, b_argv, NULL, ws_b, NULL, uid, 30), 0);
	free(b_argv[0]);
	for (size_t i = 10; i < b; i++)
		free(b_argv[i]);
	if (r.status != 0)
		fprintf(stderr, "B: %s", r.err);
	/* A goes on and uses its route. */
	ASSERT_EQ(test_write_file(go, ""), 0);
	status = route_wait_pid(a, 30000);
	text = test_read_file(out, NULL);
	if (status != 0)
		fprintf(stderr, "A: status %d: %s\n", status, text);
	ASSERT(n >= 3);    /* the helper, its bridge, bubblewrap, ... */
	ASSERT(n_fds > 0); /* (their descriptors were seen) */
	ASSERT_STR_EQ(paths, "");
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "TMP-WRITABLE\n");
	ASSERT_CONTAINS(r.out, "DONE\n");
	ASSERT_NOT_CONTAINS(r.out, "REACHED ");
	ASSERT_NOT_CONTAINS(r.out, "MOVED ");
	for (char *p = names; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		char *name = xstrndup(p, len);

		ASSERT_NOT_CONTAINS(r.out, name);
		free(name);
		p += len + (p[len] != '\0');
	}
	test_run_free(&r);
	ASSERT_EQ(status, 0);
	ASSERT_CONTAINS(text, "MOUNTS 0\n");
	ASSERT_CONTAINS(text, "line=GET http://example.test/after-the-sibling HTTP/1.1");
	free(text);
	free(names);
	free(paths);
	tserver_stop(&proxy);
	free(url);
	free(out);
	free(go);
	free(ready);
	free(ws_b);
	free(ws_a);
	return 0;
}

/*
 * SIGKILL of the helper alone, then of the helper with its whole process
 * group (its outer bridge too): every process of the run is gone soon after,
 * and nothing of what the run had in the file system is left.
 */
ROUTE_BOTH(sigkill_leaves_nothing_in_tmp)
{
	struct tserver proxy;
	char *ws = route_ws("ws", uid), *ready = xasprintf("%s/ready", ws), *url;

	ASSERT_EQ(tserver_http_start(&proxy), 0);
	url = xasprintf("http://127.0.0.1:%d", proxy.port);
	for (int group = 0; group < 2; group++) {
		pid_t pids[64], a;
		size_t n, n_fds;
		char *paths, *names;
		struct stat st;

		unlink(ready);
		a = route_spawn(uid, ws, url, "touch ready; sleep 30");
		ASSERT(a > 0);
		ASSERT(route_wait_file(ready, 20000));
		n = route_tree(a, pids, 64);
		paths = route_socket_paths(pids, n, &n_fds);
		names = route_names(paths);
		ASSERT(n >= 3);
		ASSERT_EQ(kill(group ? -a : a, SIGKILL), 0);
		ASSERT_EQ(waitpid(a, NULL, 0), a);
		for (size_t i = 1; i < n; i++) {
			if (!route_gone(pids[i], 3000))
				fprintf(stderr, "pid %d outlived the helper (SIGKILL of the %s)\n",
				        (int)pids[i], group ? "process group" : "helper");
			ASSERT(route_gone(pids[i], 0));
		}
		for (char *p = names; *p != '\0';) {
			size_t len = strcspn(p, "\n");
			char *name = xstrndup(p, len);

			if (lstat(name, &st) == 0)
				fprintf(stderr, "left after SIGKILL of the %s: %s\n",
				        group ? "process group" : "helper", name);
			ASSERT(lstat(name, &st) != 0);
			free(name);
			p += len + (p[len] != '\0');
		}
		free(names);
		free(paths);
	}
	tserver_stop(&proxy);
	free(url);
	free(ready);
	free(ws);
	return 0;
}

/* ---- requests whose client goes away while their prompt waits (SPEC 11) ------ */

/* Waits up to MS for the session's pending prompts to be N; returns what it saw. */
static size_t tsess_wait_pending(struct tsess *t, size_t n, int ms)
{
	size_t seen = 0;

	for (int i = 0; i < ms; i++) {
		pthread_mutex_lock(&t->mu);
		seen = t->pending;
		pthread_mutex_unlock(&t->mu);
		if (seen == n)
			break;
		usleep(1000);
	}
	return seen;
}

/* The session proxy's counters as last published. */
static struct proxy_stats tsess_stats(struct tsess *t)
{
	struct proxy_stats s;

	usleep(10000);
	pthread_mutex_lock(&t->mu);
	s = t->stats;
	pthread_mutex_unlock(&t->mu);
	return s;
}

/*
 * Opens a connection to the session proxy and sends a request for
 * 127.0.0.1:PORT in dialect KIND (0: CONNECT, 1: absolute-form GET, 2:
 * SOCKS5 CONNECT); returns the socket.
 */
static int tsess_request(struct tsess *t, int kind, int port)
{
	int fd = tcp_connect_local(kind == 2 ? t->socks_port : t->http_port);
	char *req;

	if (fd < 0)
		return -1;
	if (kind == 2) {
		const unsigned char greet[3] = {5, 1, 0};
		unsigned char reply[2];
		unsigned char conn[10] = {5, 1, 0, 1, 127, 0, 0, 1, (unsigned char)(port >> 8),
		                          (unsigned char)port};

		if (send_all(fd, greet, sizeof greet) != 0 || recv_all(fd, reply, 2) != 0 ||
		    send_all(fd, conn, sizeof conn) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (kind == 0)
		req = xasprintf("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port,
		                port);
	else
		req = xasprintf("POST http://127.0.0.1:%d/gone HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		                "Content-Length: 5\r\n\r\nhello",
		                port);
	if (send_all(fd, req, strlen(req)) != 0) {
		close(fd);
		fd = -1;
	}
	free(req);
	return fd;
}

TEST(proxy_session_withdraws_a_request_whose_client_left)
{
	static const char *const names[] = {"CONNECT", "GET", "SOCKS5"};
	const char *withdrawn[] = {"\"kind\":\"network\"", "\"by\":\"withdrawn\"", NULL};
	struct tserver srv, echo;
	struct tsess t;

	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tserver_echo_start(&echo), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	for (int kind = 0; kind < 3; kind++) {
		int port = kind == 1 ? srv.port : echo.port;
		int fd = tsess_request(&t, kind, port);

		fprintf(stderr, "%s: the client closes while its prompt waits\n", names[kind]);
		ASSERT(fd >= 0);
		ASSERT_EQ(tsess_wait_pending(&t, 1, 5000), 1);
		close(fd);
		/* Gone at once: the prompt leaves the queue, with an audit line. */
		ASSERT_EQ(tsess_wait_pending(&t, 0, 2000), 0);
		ASSERT_EQ(audit_lines(withdrawn), kind + 1);
		ASSERT_EQ(tsess_stats(&t).withdrawn, (uint64_t)kind + 1);
	}
	/* A broken connection (RST) too. */
	{
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		int fd = tsess_request(&t, 0, echo.port);

		ASSERT(fd >= 0);
		ASSERT_EQ(tsess_wait_pending(&t, 1, 5000), 1);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd);
		ASSERT_EQ(tsess_wait_pending(&t, 0, 2000), 0);
		ASSERT_EQ(audit_lines(withdrawn), 4);
	}
	/* Nothing of them connected, and a human answering now finds nothing to answer. */
	tsess_auto(&t, APPROVAL_ONCE);
	usleep(50000);
	ASSERT_EQ(atomic_load(&srv.connections), 0);
	ASSERT_EQ(atomic_load(&echo.connections), 0);
	ASSERT_EQ(tsess_prompts(&t), 4);
	ASSERT_EQ(tsess_stats(&t).open, 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&srv);
	tserver_stop(&echo);
	return 0;
}

TEST(proxy_session_one_client_leaving_keeps_the_prompt_for_the_others)
{
	const char *withdrawn[] = {"\"by\":\"withdrawn\"", NULL};
	const char *answered[] = {"\"kind\":\"network\"", "\"prompted\":true", "\"requests\":2",
	                          NULL};
	struct tserver echo;
	struct tsess t;
	int fds[3];
	size_t n = 0;

	ASSERT_EQ(tserver_echo_start(&echo), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	for (int i = 0; i < 3; i++) {
		fds[i] = tsess_request(&t, 0, echo.port);
		ASSERT(fds[i] >= 0);
	}
	ASSERT_EQ(tsess_wait_waiters(&t, 3, 5000), 3);
	close(fds[1]);
	/* The prompt stays, for two. */
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&t.mu);
		n = t.waiters;
		pthread_mutex_unlock(&t.mu);
		if (n == 2)
			break;
		usleep(1000);
	}
	ASSERT_EQ(n, 2);
	ASSERT_EQ(tsess_pending(&t), 1);
	ASSERT_EQ(audit_lines(withdrawn), 0);
	tsess_auto(&t, APPROVAL_ONCE);
	for (int i = 0; i < 3; i += 2) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		char head[sizeof ok] = {0}, got[5] = {0};

		ASSERT_EQ(recv_all(fds[i], head, sizeof ok - 1), 0);
		ASSERT_STR_EQ(head, ok);
		ASSERT_EQ(send_all(fds[i], "ping", 4), 0);
		ASSERT_EQ(recv_all(fds[i], got, 4), 0);
		ASSERT_STR_EQ(got, "ping");
		close(fds[i]);
	}
	ASSERT_EQ(tsess_prompts(&t), 1);
	ASSERT_EQ(atomic_load(&echo.connections), 2);
	ASSERT_EQ(tsess_stop(&t), 0);
	ASSERT_EQ(audit_lines(answered), 1);
	ASSERT_EQ(audit_lines(withdrawn), 0);
	tserver_stop(&echo);
	return 0;
}

/*
 * A client that shuts only its sending side (SHUT_WR) while its CONNECT
 * waits: on the wire that is the FIN of a client that closed or was killed,
 * so it counts as going away (see core/proxy.h); a client that is still
 * reading is told why in the refusal, and nothing connects.
 */
TEST(proxy_session_half_close_while_waiting_withdraws_and_says_why)
{
	const char *withdrawn[] = {"\"by\":\"withdrawn\"", NULL};
	struct tserver echo;
	struct tsess t;
	char *resp;
	int fd, status = 0;

	ASSERT_EQ(tserver_echo_start(&echo), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	fd = tsess_request(&t, 0, echo.port);
	ASSERT(fd >= 0);
	ASSERT_EQ(send_all(fd, "early", 5), 0);
	ASSERT_EQ(tsess_wait_pending(&t, 1, 5000), 1);
	ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
	ASSERT_EQ(tsess_wait_pending(&t, 0, 2000), 0);
	resp = read_http_response(fd, &status);
	ASSERT_EQ(status, 403);
	ASSERT_CONTAINS(resp, "x-airlock-error: 127.0.0.1:");
	ASSERT_CONTAINS(resp, "withdrawn: the client closed its side");
	free(resp);
	close(fd);
	ASSERT_EQ(audit_lines(withdrawn), 1);
	ASSERT_EQ(atomic_load(&echo.connections), 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&echo);
	return 0;
}

/*
 * Clients that come and go fast, in every way (a close before the head is
 * complete, right after it, while the prompt waits, with a RST), many at a
 * time: no prompt stays behind, no connection stays open, nothing connects.
 */
TEST(proxy_session_fast_open_close_leaves_nothing_behind)
{
	enum { ROUNDS = 150 };
	struct tserver echo;
	struct tsess t;
	struct proxy_stats st;

	ASSERT_EQ(tserver_echo_start(&echo), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	for (int i = 0; i < ROUNDS; i++) {
		int fd = tsess_request(&t, i % 3, echo.port);

		if (fd < 0)
			fprintf(stderr, "round %d: %s\n", i, strerror(errno));
		ASSERT(fd >= 0);
		if (i % 4 == 1)
			usleep(2000); /* sometimes after its prompt was queued */
		if (i % 5 == 2) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		}
		if (i % 7 == 3)
			shutdown(fd, SHUT_WR);
		close(fd);
	}
	ASSERT_EQ(tsess_wait_pending(&t, 0, 5000), 0);
	for (int i = 0; i < 2000; i++) {
		st = tsess_stats(&t);
		if (st.open == 0)
			break;
	}
	ASSERT_EQ(st.open, 0);
	ASSERT_EQ(st.allowed, 0);
	tsess_auto(&t, APPROVAL_ONCE);
	usleep(50000);
	ASSERT_EQ(tsess_pending(&t), 0);
	ASSERT_EQ(atomic_load(&echo.connections), 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&echo);
	return 0;
}

/*
 * Through the sandbox's bridges, as in the TUI: curl inside, killed by
 * timeout(1) while its CONNECT's prompt waits, while the command goes on;
 * the command itself reads the audit log a second later and finds the
 * withdrawn line (the prompt did not wait for the command's end).
 */
TEST(proxy_sandbox_killed_client_is_withdrawn_while_the_command_runs)
{
	struct tserver echo;
	struct tsess t;
	struct test_run r;
	char *script;

	if (access("/usr/bin/curl", X_OK) != 0)
		SKIP("curl is not installed");
	if (!sandbox_usable())
		SKIP("the sandbox cannot run on this host");
	ASSERT_EQ(tserver_echo_start(&echo), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	script = xasprintf("timeout 1 curl -sS -p -x \"$HTTPS_PROXY\" http://127.0.0.1:%d/; "
	                   "echo curl=$?; sleep 1; "
	                   "echo withdrawn=$(grep -c '\"by\":\"withdrawn\"' %s/home/audit.jsonl)",
	                   echo.port, test_tmpdir());
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	ASSERT_CONTAINS(r.out, "curl=124");
	ASSERT_CONTAINS(r.out, "withdrawn=1");
	test_run_free(&r);
	free(script);
	ASSERT_EQ(tsess_prompts(&t), 1);
	ASSERT_EQ(tsess_pending(&t), 0);
	/* One that stays a while, then twelve more on its prompt, killed together. */
	script = xasprintf("timeout 3 curl -sS -p -x \"$HTTPS_PROXY\" http://127.0.0.1:%d/ & "
	                   "sleep 0.3; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do "
	                   "timeout 1 curl -sS -p -x \"$HTTPS_PROXY\" http://127.0.0.1:%d/ & done; "
	                   "sleep 2; echo withdrawn=$(grep -c '\"by\":\"withdrawn\"' "
	                   "%s/home/audit.jsonl); wait",
	                   echo.port, echo.port, test_tmpdir());
	ASSERT_EQ(sandbox_sh(&t, script, false, NULL, 0, &r), 0);
	/* After the twelve went, the prompt still waited for the first one. */
	ASSERT_CONTAINS(r.out, "withdrawn=1");
	test_run_free(&r);
	free(script);
	ASSERT_EQ(tsess_pending(&t), 0);
	ASSERT_EQ(tsess_prompts(&t), 2);
	{
		const char *two[] = {"\"by\":\"withdrawn\"", NULL};

		ASSERT_EQ(audit_lines(two), 2);
	}
	ASSERT_EQ(atomic_load(&echo.connections), 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&echo);
	return 0;
}

/*
 * What a client sends while its prompt waits is kept, not lost, now that the
 * proxy reads it meanwhile: a request body sent with the head (200 KiB:
 * more than the proxy holds, so it stops reading part way and goes on after
 * the answer), a pipelined second request, and a tunnel's first bytes.
 */
TEST(proxy_session_bytes_sent_while_the_prompt_waits_go_through)
{
	enum { BODY = 200 * 1024 };
	struct tserver srv, echo;
	struct tsess t;
	char *body = xmalloc(BODY + 1), *req, *resp;
	int fd;

	memset(body, 'b', BODY);
	body[BODY] = '\0';
	body[BODY - 1] = 'z';
	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(tserver_echo_start(&echo), 0);
	ASSERT_EQ(tsess_start(&t, DECIDE_APPROVAL_ON_FAILURE, NULL, 0, NULL, 0), 0);
	/* A body and a pipelined request, all sent before the answer. */
	fd = tcp_connect_local(t.http_port);
	req = xasprintf("POST http://127.0.0.1:%d/up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
	                "%s"
	                "GET http://127.0.0.1:%d/next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	                srv.port, BODY, body, srv.port);
	ASSERT_EQ(send_all(fd, req, strlen(req)), 0);
	free(req);
	ASSERT_EQ(tsess_wait_pending(&t, 1, 5000), 1);
	usleep(100000);
	ASSERT_EQ(tsess_pending(&t), 1); /* still waiting: a busy client is not a gone one */
	tsess_auto(&t, APPROVAL_ONCE);
	/* Both responses, read to the end (the second closes): they may come in one read. */
	ASSERT(recv_to_eof(fd, &resp) > 0);
	ASSERT(strncmp(resp, "HTTP/1.1 200 ", 13) == 0);
	ASSERT_CONTAINS(resp, "line=POST /up HTTP/1.1");
	ASSERT(strstr(resp, body) != NULL);
	ASSERT_CONTAINS(strstr(resp, body), "HTTP/1.1 200 ");
	ASSERT_CONTAINS(strstr(resp, body), "line=GET /next HTTP/1.1");
	free(resp);
	close(fd);
	/* A tunnel's first bytes, sent before the answer. */
	tsess_auto(&t, -1);
	fd = tsess_request(&t, 0, echo.port);
	ASSERT(fd >= 0);
	ASSERT_EQ(send_all(fd, "early", 5), 0);
	ASSERT_EQ(tsess_wait_pending(&t, 1, 5000), 1);
	tsess_auto(&t, APPROVAL_ONCE);
	{
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\nearly";
		char got[sizeof ok] = {0};

		ASSERT_EQ(recv_all(fd, got, sizeof ok - 1), 0);
		ASSERT_STR_EQ(got, ok);
	}
	close(fd);
	ASSERT_EQ(tsess_stats(&t).withdrawn, 0);
	ASSERT_EQ(tsess_stop(&t), 0);
	tserver_stop(&srv);
	tserver_stop(&echo);
	free(body);
	return 0;
}
