/*
 * `airlock exec` end to end: the real binary, the real helper, the real
 * sandbox. Exit statuses (the command's own, 128+N, 126, 125, 2), what runs
 * sandboxed and what a rule lets run outside, and the audit lines written
 * before and after; what a sandboxed command may not see (secret-looking
 * variables, airlock's socket directories).
 */
#include "test.h"

#include "core/sandbox-command.h"
#include "core/xmalloc.h"
#include "test-proxy-util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Runs `airlock exec ARGS...` with a private AIRLOCK_HOME under the test's
 * directory. A test that opened loopback ports to the proxy
 * (AIRLOCK_PROXY_TEST_LOOPBACK_PORTS) gets the build of airlock that has the
 * hatch (tests/airlock-hatch); the installed one has none.
 */
static int exec__run(struct test_run *r, const char *const *args)
{
	char *bin = test_buildpath(getenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS") != NULL
	                               ? "tests/airlock-hatch"
	                               : "airlock");
	char *home = xasprintf("AIRLOCK_HOME=%s/home", test_tmpdir());
	char *env[] = {home, NULL};
	char *argv[40];
	size_t n = 0;
	int rc;

	argv[n++] = bin;
	argv[n++] = "exec";
	for (size_t i = 0; args[i] != NULL && n < 39; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	rc = test_run(r, argv, NULL, NULL, env, (uid_t)-1, 30);
	free(home);
	free(bin);
	return rc;
}

/* Writes TEXT as the rules file home/rules/NAME. */
static int exec__rules(const char *name, const char *text)
{
	char *dir = xasprintf("%s/home/rules", test_tmpdir());
	char *path = xasprintf("%s/%s", dir, name);
	char *home = xasprintf("%s/home", test_tmpdir());
	int rc;

	mkdir(home, 0700);
	mkdir(dir, 0700);
	rc = test_write_file(path, text);
	free(home);
	free(dir);
	free(path);
	return rc;
}

/* The audit log's text, or an empty string. */
static char *exec__audit(void)
{
	char *path = xasprintf("%s/home/audit.jsonl", test_tmpdir());
	char *text = test_read_file(path, NULL);

	free(path);
	return text != NULL ? text : xstrdup("");
}

TEST(exec_runs_sandboxed_with_the_commands_status)
{
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(exec__run(&r, (const char *[]){"--", "sh", "-c",
	                                         "echo out; echo err >&2; echo $AIRLOCK_SANDBOX; "
	                                         "exit 7",
	                                         NULL}),
	          0);
	ASSERT_EQ(r.status, 7);
	ASSERT_STR_EQ(r.out, "out\n1\n");
	ASSERT_STR_EQ(r.err, "err\n");
	test_run_free(&r);

	char *audit = exec__audit();
	ASSERT_CONTAINS(audit, "\"kind\":\"exec\"");
	ASSERT_CONTAINS(audit, "\"decision\":\"allow\"");
	ASSERT_CONTAINS(audit, "\"sandboxed\":true");
	ASSERT_CONTAINS(audit, "\"kind\":\"exit\"");
	ASSERT_CONTAINS(audit, "\"code\":7");
	free(audit);
	return 0;
}

/*
 * The exec line is in the audit log before the command runs, whatever
 * audit.sync says: the sandboxed command itself reads it there.
 */
TEST(exec_audit_line_is_written_before_the_command_runs)
{
	static const char *const modes[] = {"batch", "always"};

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	for (size_t m = 0; m < 2; m++) {
		char *log = xasprintf("%s/home/audit.jsonl", test_tmpdir());
		char *config = xasprintf("%s/home/config.json", test_tmpdir());
		char *text = xasprintf("{\"audit\": {\"sync\": \"%s\"}}\n", modes[m]);
		char *marker = xasprintf("marker-%s", modes[m]);
		struct test_run r;

		ASSERT_EQ(exec__rules("empty.rules", ""), 0);
		ASSERT_EQ(test_write_file(config, text), 0);
		ASSERT_EQ(exec__run(&r, (const char *[]){"--", "sh", "-c", "tail -n 1 \"$1\"", "sh",
		                                         log, marker, NULL}),
		          0);
		ASSERT_EQ(r.status, 0);
		ASSERT_CONTAINS(r.out, "\"kind\":\"exec\"");
		ASSERT_CONTAINS(r.out, marker);
		test_run_free(&r);
		free(marker);
		free(text);
		free(config);
		free(log);
	}
	return 0;
}

/*
 * -a reject:rules under exec: a prompt rule's command is refused by its kind
 * (SPEC 12), on stderr and in the audit line, as in the TUI; without the
 * reject it is refused only because exec never prompts.
 */
TEST(exec_reject_names_the_kind_it_refused)
{
	struct test_run r;
	char *audit;

	ASSERT_EQ(exec__rules("default.rules",
	                      "prefix_rule(pattern=[\"git\", \"push\"], decision=\"prompt\")\n"),
	          0);
	ASSERT_EQ(exec__run(&r, (const char *[]){"-a", "reject:rules", "--", "git", "push", NULL}), 0);
	ASSERT(r.status != 0);
	ASSERT_CONTAINS(r.err, "rejected by policy (reject:rules)");
	test_run_free(&r);
	audit = exec__audit();
	ASSERT_CONTAINS(audit, "rejected by policy (reject:rules)");
	ASSERT_CONTAINS(audit, "\"decision\":\"deny\"");
	free(audit);
	ASSERT_EQ(exec__run(&r, (const char *[]){"-a", "on-request", "--", "git", "push", NULL}), 0);
	ASSERT(r.status != 0);
	ASSERT_NOT_CONTAINS(r.err, "reject:");
	ASSERT_CONTAINS(r.err, "exec never prompts");
	test_run_free(&r);
	return 0;
}

TEST(exec_writes_the_workspace_not_etc)
{
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(
	    exec__run(&r, (const char *[]){"--", "sh", "-c",
	                                   "echo hi > made && touch /etc/airlock-exec-test", NULL}),
	    0);
	ASSERT_EQ(r.status, 1);
	ASSERT_CONTAINS(r.err, "Read-only file system");
	test_run_free(&r);
	char *made = xasprintf("%s/made", test_tmpdir());
	char *text = test_read_file(made, NULL);
	ASSERT_STR_EQ(text, "hi\n");
	free(text);
	free(made);
	ASSERT(access("/etc/airlock-exec-test", F_OK) != 0);
	return 0;
}

TEST(exec_signal_becomes_128_plus_n)
{
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(exec__run(&r, (const char *[]){"--", "sh", "-c", "kill -TERM $$", NULL}), 0);
	ASSERT_EQ(r.status, 128 + 15);
	test_run_free(&r);
	return 0;
}

TEST(exec_forbidden_rule_is_126_and_runs_nothing)
{
	struct test_run r;

	ASSERT_EQ(exec__rules("team.rules",
	                      "prefix_rule(pattern=[\"touch\"], decision=\"forbidden\", "
	                      "justification=\"no touching\")\n"),
	          0);
	ASSERT_EQ(exec__run(&r, (const char *[]){"--", "touch", "ran", NULL}), 0);
	ASSERT_EQ(r.status, 126);
	ASSERT_CONTAINS(r.err, "airlock: forbidden by ");
	ASSERT_CONTAINS(r.err, "team.rules:1: ");
	test_run_free(&r);
	char *ran = xasprintf("%s/ran", test_tmpdir());
	ASSERT(access(ran, F_OK) != 0);
	free(ran);
	char *audit = exec__audit();
	ASSERT_CONTAINS(audit, "\"decision\":\"deny\"");
	ASSERT_CONTAINS(audit, "\"by\":\"rule\"");
	ASSERT_CONTAINS(audit, "team.rules:1");
	ASSERT_NOT_CONTAINS(audit, "\"kind\":\"exit\"");
	free(audit);
	return 0;
}

TEST(exec_never_refuses_what_would_prompt)
{
	struct test_run r;

	/* rm -f is dangerous: it prompts under every policy but never, where it is refused. */
	ASSERT_EQ(test_write_file("victim", "x"), 0);
	ASSERT_EQ(exec__run(&r, (const char *[]){"--", "rm", "-f", "victim", NULL}), 0);
	ASSERT_EQ(r.status, 126);
	ASSERT_CONTAINS(r.err, "airlock: denied: ");
	test_run_free(&r);
	ASSERT_EQ(access("victim", F_OK), 0);
	/* A prompt rule is refused the same way. */
	ASSERT_EQ(exec__rules("p.rules", "prefix_rule(pattern=[\"echo\"], decision=\"prompt\")\n"),
	          0);
	ASSERT_EQ(exec__run(&r, (const char *[]){"--", "echo", "hi", NULL}), 0);
	ASSERT_EQ(r.status, 126);
	ASSERT_STR_EQ(r.out, "");
	test_run_free(&r);
	return 0;
}

TEST(exec_allow_rule_runs_outside_the_sandbox)
{
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	/* (through env: an allow rule never covers a shell's -c script, SPEC 4) */
	ASSERT_EQ(exec__rules("a.rules", "prefix_rule(pattern=[\"env\"], decision=\"allow\")\n"),
	          0);
	ASSERT_EQ(exec__run(&r, (const char *[]){"--", "env", "sh", "-c",
	                                         "echo sandbox=${AIRLOCK_SANDBOX:-no}", NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "sandbox=no\n");
	test_run_free(&r);
	char *audit = exec__audit();
	ASSERT_CONTAINS(audit, "\"by\":\"rule\"");
	ASSERT_CONTAINS(audit, "\"sandboxed\":false");
	free(audit);
	return 0;
}

TEST(exec_broken_rules_file_exits_2_with_position)
{
	struct test_run r;

	ASSERT_EQ(exec__rules("bad.rules", "prefix_rule(pattern=[\"ls\"], decision=\"maybe\")\n"),
	          0);
	ASSERT_EQ(exec__run(&r, (const char *[]){"--", "touch", "ran", NULL}), 0);
	ASSERT_EQ(r.status, 2);
	ASSERT_CONTAINS(r.err, "bad.rules:1:38: ");
	test_run_free(&r);
	ASSERT(access("ran", F_OK) != 0);
	return 0;
}

/* Runs every policy fixture through exec: the valid ones run `true`, the invalid ones exit 2. */
static int exec__policy_fixtures(void)
{
	static const char *const valid[] = {"valid-read-only.json", "valid-workspace-write.json",
	                                    "valid-danger-full-access.json",
	                                    "valid-read-only-restricted.json"};
	static const char *const invalid[] = {
	    "invalid-relative-root.json", "invalid-truncated.json", "invalid-unknown-field.json",
	    "invalid-unknown-type.json"};
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		char *rel = xasprintf("fixtures/policies/%s", valid[i]);
		char *path = test_datapath(rel);
		char *json = test_read_file(path, NULL);
		struct test_run r;
		ASSERT(json != NULL);
		ASSERT_EQ(
		    exec__run(&r, (const char *[]){"--sandbox-policy", json, "--", "true", NULL}),
		    0);
		if (r.status != 0)
			fprintf(stderr, "%s: %s", valid[i], r.err);
		ASSERT_EQ(r.status, 0);
		test_run_free(&r);
		free(json);
		free(path);
		free(rel);
	}
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		char *rel = xasprintf("fixtures/policies/%s", invalid[i]);
		char *path = test_datapath(rel);
		char *json = test_read_file(path, NULL);
		struct test_run r;
		ASSERT(json != NULL);
		ASSERT_EQ(exec__run(&r, (const char *[]){"--sandbox-policy", json, "--", "touch",
		                                         "ran", NULL}),
		          0);
		ASSERT_EQ(r.status, 2);
		ASSERT_CONTAINS(r.err, "airlock: --sandbox-policy: ");
		test_run_free(&r);
		ASSERT(access("ran", F_OK) != 0);
		free(json);
		free(path);
		free(rel);
	}
	return 0;
}

TEST(exec_shared_policy_fixtures)
{
	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	/* The workspace-write fixture names an extra writable root in /tmp: made for
	 * the run when it is missing, and then removed again, so the host keeps
	 * nothing of the test. */
	static const char extra[] = "/tmp/airlock-fixture-extra";
	bool made = mkdir(extra, 0755) == 0;
	int rc = exec__policy_fixtures();

	if (made && rmdir(extra) != 0) {
		fprintf(stderr, "rmdir %s: %s\n", extra, strerror(errno));
		rc = 1;
	}
	return rc;
}

TEST(exec_missing_helper_is_125)
{
	struct test_run r;
	char *bin = test_buildpath("airlock");
	char *argv[] = {bin, "exec", "--", "true", NULL};
	char *home = xasprintf("AIRLOCK_HOME=%s", test_tmpdir());
	char *env[] = {"AIRLOCK_SANDBOX_EXE=/nonexistent/airlock-sandbox", home, NULL};

	ASSERT_EQ(test_run(&r, argv, NULL, NULL, env, (uid_t)-1, 20), 0);
	free(home);
	ASSERT_EQ(r.status, 125);
	ASSERT_CONTAINS(r.err, "airlock: cannot find the sandbox helper");
	test_run_free(&r);
	free(bin);
	return 0;
}

/* Writes config.json into the private home. */
static int exec__config(const char *json)
{
	char *home = xasprintf("%s/home", test_tmpdir());
	char *path = xasprintf("%s/config.json", home);
	int rc;

	mkdir(home, 0700);
	rc = test_write_file(path, json);
	free(path);
	free(home);
	return rc;
}

/*
 * The proxy's loopback hatch is in test builds only: the installed airlock
 * refuses a loopback literal whatever AIRLOCK_PROXY_TEST_LOOPBACK_PORTS says,
 * while the test build reaches its server there.
 */
TEST(exec_installed_airlock_has_no_loopback_hatch)
{
	struct tserver srv;
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(tserver_http_start(&srv), 0);
	char *url = xasprintf("http://127.0.0.1:%d/hello", srv.port);
	char *bin = test_buildpath("airlock");
	char *home = xasprintf("AIRLOCK_HOME=%s/home", test_tmpdir());
	char *const env[] = {home, "AIRLOCK_PROXY_TEST_LOOPBACK_PORTS=*", NULL};
	char *const argv[] = {bin,  "exec", "-n",        "ask",       "--", "curl",         "-s",
	                      "--noproxy", "",     "-o",        "/dev/null", "-w", "%{http_code}", url,
	                      NULL};
	const char *const curl[] = {"-n", "ask",       "--", "curl",         "-s", "--noproxy", "",
	                            "-o", "/dev/null", "-w", "%{http_code}", url,  NULL};

	ASSERT_EQ(exec__config("{\"network\":{\"allowed_domains\":[\"127.0.0.1\"]}}"), 0);
	ASSERT_EQ(test_run(&r, argv, NULL, NULL, env, (uid_t)-1, 30), 0);
	ASSERT_STR_EQ(r.out, "403");
	ASSERT_CONTAINS(r.err, "127.0.0.1 is a loopback address");
	test_run_free(&r);
	ASSERT_EQ(srv.requests, 0);
	/* The test build (what exec__run takes once the variable is set) has the hatch. */
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "*", 1);
	ASSERT_EQ(exec__run(&r, curl), 0);
	ASSERT_STR_EQ(r.out, "200");
	test_run_free(&r);
	ASSERT_EQ(srv.requests, 1);
	tserver_stop(&srv);
	free(home);
	free(bin);
	free(url);
	return 0;
}

TEST(exec_network_ask_allows_only_what_config_and_rules_allow)
{
	struct tserver srv;
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(tserver_http_start(&srv), 0);
	char *url = xasprintf("http://127.0.0.1:%d/hello", srv.port);
	const char *const curl[] = {"-n", "ask",       "--", "curl",         "-s", "--noproxy", "",
	                            "-o", "/dev/null", "-w", "%{http_code}", url,  NULL};

	/* Named in allowed_domains, yet this machine: refused by policy before anything else
	 * (SPEC 11), the reason on stderr. */
	ASSERT_EQ(exec__config("{\"network\":{\"allowed_domains\":[\"127.0.0.1\"]}}"), 0);
	ASSERT_EQ(exec__run(&r, curl), 0);
	ASSERT_STR_EQ(r.out, "403");
	ASSERT_CONTAINS(r.err, "127.0.0.1 is a loopback address");
	test_run_free(&r);
	ASSERT_EQ(srv.requests, 0);
	{
		/* Its one network line: deny, by policy, nobody asked. */
		char *log = exec__audit(), *line = strstr(log, "\"kind\":\"network\""), *end;
		ASSERT(line != NULL);
		end = strchrnul(line, '\n');
		ASSERT(*end == '\n');
		*end = '\0';
		ASSERT_CONTAINS(line, "\"decision\":\"deny\"");
		ASSERT_CONTAINS(line, "\"by\":\"policy\"");
		ASSERT_CONTAINS(line, "\"prompted\":false");
		ASSERT(strstr(end + 1, "\"kind\":\"network\"") == NULL);
		free(log);
	}
	/* From here on the proxy may reach the test server's loopback port (tests only). */
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "*", 1);
	ASSERT_EQ(exec__config("{}"), 0);

	/* Nothing allows it: 403 from the proxy, one line on stderr, the server never asked. */
	ASSERT_EQ(exec__run(&r, curl), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "403");
	ASSERT_CONTAINS(r.err, "airlock: network access to 127.0.0.1:");
	ASSERT_CONTAINS(r.err, "(http) denied: ");
	test_run_free(&r);
	ASSERT_EQ(srv.requests, 0);

	/* allowed_domains lets it through. */
	ASSERT_EQ(exec__config("{\"network\":{\"allowed_domains\":[\"127.0.0.1\"]}}"), 0);
	ASSERT_EQ(exec__run(&r, curl), 0);
	ASSERT_STR_EQ(r.out, "200");
	ASSERT_STR_EQ(r.err, "");
	test_run_free(&r);
	ASSERT_EQ(srv.requests, 1);

	/* A deny rule beats allowed_domains. */
	ASSERT_EQ(exec__rules("net.rules", "network_rule(host=\"127.0.0.1\", decision=\"deny\")\n"),
	          0);
	ASSERT_EQ(exec__run(&r, curl), 0);
	ASSERT_STR_EQ(r.out, "403");
	test_run_free(&r);
	ASSERT_EQ(srv.requests, 1);

	char *audit = exec__audit();
	ASSERT_CONTAINS(audit, "\"kind\":\"network\"");
	ASSERT_CONTAINS(audit, "\"by\":\"config\"");
	ASSERT_CONTAINS(audit, "\"by\":\"rule\"");
	free(audit);
	tserver_stop(&srv);
	free(url);
	return 0;
}

TEST(exec_network_off_and_ask_block_direct_connections)
{
	struct tserver srv;
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(tserver_http_start(&srv), 0);
	ASSERT_EQ(exec__config("{\"network\":{\"allowed_domains\":[\"127.0.0.1\"]}}"), 0);
	char *url = xasprintf("http://127.0.0.1:%d/", srv.port);
	/* --noproxy '*': curl connects directly, which must fail in both modes. */
	ASSERT_EQ(exec__run(&r, (const char *const[]){"-n", "ask", "--", "curl", "-s", "--noproxy",
	                                              "*", url, NULL}),
	          0);
	ASSERT_EQ(r.status, 7);
	test_run_free(&r);
	ASSERT_EQ(exec__run(&r, (const char *const[]){"-n", "off", "--", "curl", "-s", url, NULL}),
	          0);
	ASSERT_NE(r.status, 0);
	test_run_free(&r);
	ASSERT_EQ(srv.requests, 0);
	tserver_stop(&srv);
	free(url);
	return 0;
}

TEST(exec_cannot_replace_airlocks_own_programs)
{
	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	/* A build tree inside the workspace: the helper lives where the command may write. */
	char *helper = test_buildpath("airlock-sandbox");
	char *copy = xasprintf("%s/airlock-sandbox", test_tmpdir());
	char *cp_argv[] = {"cp", helper, copy, NULL};
	struct test_run r;

	ASSERT_EQ(test_run(&r, cp_argv, NULL, NULL, NULL, (uid_t)-1, 10), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	size_t before = 0, after = 0;
	free(test_read_file(copy, &before));

	char *bin = test_buildpath("airlock");
	char *home = xasprintf("AIRLOCK_HOME=%s/home", test_tmpdir());
	char *exe = xasprintf("AIRLOCK_SANDBOX_EXE=%s", copy);
	char *env[] = {home, exe, NULL};
	char *argv[] = {bin,
	                "exec",
	                "--",
	                "sh",
	                "-c",
	                "cp /bin/true x && mv -f x airlock-sandbox; unlink airlock-sandbox; "
	                "touch made",
	                NULL};
	ASSERT_EQ(test_run(&r, argv, NULL, NULL, env, (uid_t)-1, 30), 0);
	ASSERT_CONTAINS(r.err, "airlock-sandbox");
	test_run_free(&r);
	/* The workspace stayed writable, the helper did not change. */
	ASSERT_EQ(access("made", F_OK), 0);
	free(test_read_file(copy, &after));
	ASSERT_EQ(after, before);
	free(exe);
	free(home);
	free(bin);
	free(copy);
	free(helper);
	return 0;
}

TEST(exec_honours_config_protected_paths_and_git_protection)
{
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(exec__config("{\"protected_paths\":[\"secrets\"],\"git_protection\":\"full\"}"),
	          0);
	ASSERT_EQ(mkdir("secrets", 0755), 0);
	ASSERT_EQ(mkdir(".git", 0755), 0);
	ASSERT_EQ(test_write_file(".git/HEAD", "ref: refs/heads/main\n"), 0);
	ASSERT_EQ(exec__run(&r, (const char *const[]){"--", "sh", "-c",
	                                              "touch secrets/x && echo SECRET-WRITTEN; "
	                                              "touch .git/packed-refs && echo GIT-WRITTEN; "
	                                              "touch ok && echo WS-OK",
	                                              NULL}),
	          0);
	ASSERT_NOT_CONTAINS(r.out, "SECRET-WRITTEN");
	ASSERT_NOT_CONTAINS(r.out, "GIT-WRITTEN");
	ASSERT_CONTAINS(r.out, "WS-OK");
	test_run_free(&r);
	ASSERT(access("secrets/x", F_OK) != 0);
	ASSERT(access(".git/packed-refs", F_OK) != 0);
	return 0;
}

TEST(exec_missing_program_is_127_in_and_out_of_the_sandbox)
{
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(exec__run(&r, (const char *const[]){"--", "/no/such/program", NULL}), 0);
	ASSERT_EQ(r.status, 127);
	ASSERT_CONTAINS(r.err, "/no/such/program");
	test_run_free(&r);
	/* Outside the sandbox the spawn itself fails, and airlock says so. */
	ASSERT_EQ(exec__run(&r, (const char *const[]){"-s", "danger-full-access", "--",
	                                              "/no/such/program", NULL}),
	          0);
	ASSERT_EQ(r.status, 127);
	ASSERT_CONTAINS(r.err, "airlock: cannot run /no/such/program");
	ASSERT_NOT_CONTAINS(r.err, "LeakSanitizer");
	test_run_free(&r);
	return 0;
}

/*
 * Runs `airlock exec ARGS...` as UID ((uid_t)-1: this user) with AIRLOCK_HOME
 * HOME and the extra environment ENV (NULL-terminated, may be NULL).
 */
static int exec__run_as(struct test_run *r, uid_t uid, const char *home, char *const *extra,
                        const char *const *args)
{
	char *bin = test_buildpath("airlock");
	char *h = xasprintf("AIRLOCK_HOME=%s", home);
	char *env[16] = {h};
	char *argv[40];
	size_t n = 0, e = 1;
	int rc;

	for (size_t i = 0; extra != NULL && extra[i] != NULL && e < 15; i++)
		env[e++] = extra[i];
	env[e] = NULL;
	argv[n++] = bin;
	argv[n++] = "exec";
	for (size_t i = 0; args[i] != NULL && n < 39; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	rc = test_run(r, argv, NULL, NULL, env, uid, 30);
	free(h);
	free(bin);
	return rc;
}

/* The secret-looking variables the filter tests set, and one that is not. */
static char *exec__secrets[] = {"GITHUB_TOKEN=ghp-1",
                                "AWS_SECRET_ACCESS_KEY=aws-2",
                                "my_api_key=key-3",
                                "DB_Password=pw-4",
                                "GCP_CREDENTIALS=c-5",
                                "PLAIN_VALUE=plain",
                                NULL};

/* Prints each of the variables above as [value]. */
#define EXEC__SECRETS_SCRIPT                                                                       \
	"echo \"[$GITHUB_TOKEN][$AWS_SECRET_ACCESS_KEY][$my_api_key][$DB_Password]"                \
	"[$GCP_CREDENTIALS][$PLAIN_VALUE][${FIXED_TOKEN-unset}]\""

TEST(exec_filters_secrets_from_the_environment)
{
	char *home = xasprintf("%s/home", test_tmpdir());
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	/* Sandboxed, by default: only the plain variable gets in. */
	ASSERT_EQ(exec__run_as(&r, (uid_t)-1, home, exec__secrets,
	                       (const char *const[]){"--", "sh", "-c", EXEC__SECRETS_SCRIPT, NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "[][][][][][plain][unset]\n");
	test_run_free(&r);
	/* The same under -n ask (the proxy's variables are set after the filter ran). */
	ASSERT_EQ(exec__run_as(&r, (uid_t)-1, home, exec__secrets,
	                       (const char *const[]){
	                           "-n", "ask", "--", "sh", "-c",
	                           EXEC__SECRETS_SCRIPT "; echo ${HTTP_PROXY:+proxy}", NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "[][][][][][plain][unset]\nproxy\n");
	test_run_free(&r);

	/* environment.keep lets named ones in (exact names); environment.set adds fixed ones. */
	ASSERT_EQ(exec__config("{\"environment\":{\"keep\":[\"GITHUB_TOKEN\",\"MY_API_KEY\"],"
	                       "\"set\":{\"FIXED_TOKEN\":\"fixed\",\"PLAIN_VALUE\":\"set\"}}}"),
	          0);
	ASSERT_EQ(exec__run_as(&r, (uid_t)-1, home, exec__secrets,
	                       (const char *const[]){"--", "sh", "-c", EXEC__SECRETS_SCRIPT, NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "[ghp-1][][][][][set][fixed]\n");
	test_run_free(&r);

	/* A mistyped environment key is a malformed config: exit 2, nothing runs. */
	ASSERT_EQ(exec__config("{\"environment\":{\"kept\":[\"X\"]}}"), 0);
	ASSERT_EQ(exec__run_as(&r, (uid_t)-1, home, NULL,
	                       (const char *const[]){"--", "touch", "ran", NULL}),
	          0);
	ASSERT_EQ(r.status, 2);
	ASSERT_CONTAINS(r.err, "unknown key \"environment.kept\"");
	test_run_free(&r);
	ASSERT(access("ran", F_OK) != 0);

	/* Outside the sandbox (an allow rule) the whole environment passes. */
	ASSERT_EQ(exec__config("{}"), 0);
	ASSERT_EQ(exec__rules("a.rules", "prefix_rule(pattern=[\"env\"], decision=\"allow\")\n"),
	          0);
	ASSERT_EQ(exec__run_as(&r, (uid_t)-1, home, exec__secrets,
	                       (const char *const[]){"--", "env", "sh", "-c", EXEC__SECRETS_SCRIPT,
	                                             NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "[ghp-1][aws-2][key-3][pw-4][c-5][plain][unset]\n");
	test_run_free(&r);
	free(home);
	return 0;
}

TEST(exec_secret_names_and_environment_unit)
{
	static const char *const secret[] = {
	    "GITHUB_TOKEN", "token",        "AWS_SECRET_ACCESS_KEY",
	    "my_api_key",   "Passwordless", "GCP_CREDENTIAL_FILE",
	    "KEYTIMEOUT",   "x_secret_y"};
	static const char *const plain[] = {"PATH", "HOME", "TERM",      "SSH_AUTH_SOCK",
	                                    "KE_Y", "TOKE", "CREDENTIA", "PASSWD"};
	for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
		ASSERT(sandbox_command_secret_name(secret[i], strlen(secret[i])));
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		ASSERT(!sandbox_command_secret_name(plain[i], strlen(plain[i])));
	/* Only the name counts, not the value. */
	ASSERT(!sandbox_command_secret_name("NAME=TOKEN", 4));

	char *base[] = {"PATH=/bin", "GITHUB_TOKEN=a", "NPM_TOKEN=b", "HOME=/h", "CI=0", NULL};
	char *keep[] = {"NPM_TOKEN", "GITHUB"};
	char *set[] = {"CI=1", "EXTRA_KEY=k"};
	struct sandbox_command sc = {
	    .env_keep = keep, .n_env_keep = 2, .env_set = set, .n_env_set = 2};
	char **env = sandbox_command_env(&sc, base);
	ASSERT_STR_EQ(env[0], "PATH=/bin");
	ASSERT_STR_EQ(env[1], "NPM_TOKEN=b");
	ASSERT_STR_EQ(env[2], "HOME=/h");
	ASSERT_STR_EQ(env[3], "CI=1");
	ASSERT_STR_EQ(env[4], "EXTRA_KEY=k");
	ASSERT(env[5] == NULL);
	free(env);
	return 0;
}

/* Binds a listening Unix socket at PATH (mode 0600); returns the fd or -1. */
static int exec__listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 8) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * What a sandboxed command tries against airlock's socket directories: list
 * them, make them, make a directory and bind a socket inside, connect to
 * the TUI's socket. Each success prints a line in capitals.
 */
static const char exec__socket_attack[] =
    "for d in \"$1\" \"$2\"; do\n"
    "  [ -n \"$(ls -A \"$d\" 2>/dev/null)\" ] && echo \"LISTED $d\"\n"
    "  mkdir \"$d\" 2>/dev/null && echo \"MADE $d\"\n"
    "  mkdir \"$d/sub\" 2>/dev/null && echo \"MADE $d/sub\"\n"
    "  /usr/bin/python3 -c 'import socket,sys\n"
    "s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); print(\"BOUND\", sys.argv[1])' "
    "\"$d/9.sock\" 2>/dev/null\n"
    "done\n"
    "/usr/bin/python3 -c 'import socket,sys\n"
    "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(\"CONNECTED\")' "
    "\"$3\" 2>/dev/null\n"
    "echo done\n";

/* Removes what the attack may have left in DIR (only its own names). */
static void exec__socket_cleanup(const char *dir)
{
	char *sub = xasprintf("%s/sub", dir), *sock = xasprintf("%s/9.sock", dir);

	rmdir(sub);
	unlink(sock);
	free(sub);
	free(sock);
}

/*
 * Runs the attack as UID (HOME its AIRLOCK_HOME) under network MODE, with the
 * TUI's directory XDG/airlock holding a live socket; passes when nothing of
 * it worked and /tmp/airlock-<uid> is as it was. A sandbox the helper refused
 * to set up (125: nothing ran, so nothing got out) is no pass either: its
 * message goes to *REFUSED (caller frees) for the caller to report.
 */
static int exec__socket_dirs_hidden(uid_t uid, const char *home, const char *mode, char **refused)
{
	uid_t id = uid == (uid_t)-1 ? getuid() : uid;
	char *xdg = xasprintf("%s/run-%ld-%s", test_tmpdir(), (long)id, mode);
	char *dir = xasprintf("%s/airlock", xdg), *sock = xasprintf("%s/1.sock", dir);
	char *tmp = xasprintf("/tmp/airlock-%ld", (long)id);
	char *xdg_env = xasprintf("XDG_RUNTIME_DIR=%s", xdg);
	char *env[] = {xdg_env, NULL};
	struct stat before, after;
	bool existed = lstat(tmp, &before) == 0;
	struct test_run r;
	int lfd, rc;

	ASSERT_EQ(mkdir(xdg, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	lfd = exec__listen(sock);
	ASSERT(lfd >= 0);
	if (uid != (uid_t)-1) {
		ASSERT_EQ(chown(xdg, uid, (gid_t)-1), 0);
		ASSERT_EQ(chown(dir, uid, (gid_t)-1), 0);
		ASSERT_EQ(chown(sock, uid, (gid_t)-1), 0);
	}
	rc = exec__run_as(&r, uid, home, env,
	                  (const char *const[]){"-n", mode, "--", "sh", "-c", exec__socket_attack,
	                                        "sh", dir, tmp, sock, NULL});
	close(lfd);
	exec__socket_cleanup(dir);
	exec__socket_cleanup(tmp);
	if (!existed)
		rmdir(tmp);
	ASSERT_EQ(rc, 0);
	if (r.status == 125 && *refused == NULL)
		*refused = xasprintf("as uid %ld, -n %s: %s", (long)id, mode, r.err);
	if (r.status == 125 && r.outlen == 0) {
		test_run_free(&r);
		free(xdg);
		free(dir);
		free(sock);
		free(tmp);
		free(xdg_env);
		return 0;
	}
	if (r.status != 0 || strcmp(r.out, "done\n") != 0)
		fprintf(stderr, "as uid %ld, -n %s: exit %d\n%s%s", (long)id, mode, r.status, r.out,
		        r.err);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "done\n");
	test_run_free(&r);
	/* Nothing was left on the host: no /tmp/airlock-<uid> that was not there. */
	if (!existed)
		ASSERT(lstat(tmp, &after) != 0 && errno == ENOENT);
	else
		ASSERT(lstat(tmp, &after) == 0 && after.st_ino == before.st_ino);
	free(xdg);
	free(dir);
	free(sock);
	free(tmp);
	free(xdg_env);
	return 0;
}

TEST(exec_hides_every_airlock_socket_dir)
{
	long other = test_unprivileged_uid();

	if (access("/usr/bin/python3", X_OK) != 0)
		SKIP("no /usr/bin/python3 to bind and connect Unix sockets inside the sandbox");
	char *home = xasprintf("%s/home", test_tmpdir()), *refused = NULL;
	ASSERT_EQ(mkdir(home, 0700), 0);
	/* Network on: seccomp lets bind and connect through, so only the hiding stops them. */
	ASSERT_EQ(exec__socket_dirs_hidden((uid_t)-1, home, "off", &refused), 0);
	ASSERT_EQ(exec__socket_dirs_hidden((uid_t)-1, home, "on", &refused), 0);
	free(home);
	if (other >= 0 && geteuid() == 0) {
		/* As a user whose /tmp/airlock-<uid> does not exist: it cannot be made first. */
		char *uhome = xasprintf("%s/uhome", test_tmpdir());
		ASSERT_EQ(mkdir(uhome, 0700), 0);
		ASSERT_EQ(chown(uhome, (uid_t)other, (gid_t)-1), 0);
		ASSERT_EQ(exec__socket_dirs_hidden((uid_t)other, uhome, "off", &refused), 0);
		ASSERT_EQ(exec__socket_dirs_hidden((uid_t)other, uhome, "on", &refused), 0);
		free(uhome);
	}
	if (refused != NULL) {
		int rc = test_skip("the sandbox helper refused to run (125), so that case was not "
		                   "checked: %s",
		                   refused);
		free(refused);
		return rc;
	}
	if (other < 0 || geteuid() != 0)
		SKIP("%s: checked as this user only", test_unprivileged_skip_reason());
	return 0;
}

/* Connects to the Unix socket PATH from inside `exec -n on`; returns the probe's status. */
static int exec__connect_inside(const char *path)
{
	struct test_run r;
	char *probe = test_buildpath("tests/sandbox-probe");
	int rc, status;

	rc = exec__run(&r, (const char *const[]){"-n", "on", "--", probe, "connect-unix", path, NULL});
	status = rc == 0 ? r.status : -1;
	test_run_free(&r);
	free(probe);
	return status;
}

TEST(exec_network_on_hides_host_sockets_unless_config_keeps_them)
{
	char *dir = xasprintf("%s/ipc", test_tmpdir()), *sock = xasprintf("%s/dev.sock", dir);
	char *cfg;
	int lfd;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(mkdir(dir, 0755), 0);
	lfd = exec__listen(sock);
	ASSERT(lfd >= 0);
	/* A host socket outside the workspace: hidden with the network on. */
	ASSERT_NE(exec__connect_inside(sock), 0);
	/* network.host_sockets opens exactly it. */
	cfg = xasprintf("{\"network\":{\"host_sockets\":[\"%s\"]}}", sock);
	ASSERT_EQ(exec__config(cfg), 0);
	ASSERT_EQ(exec__connect_inside(sock), 0);
	/* A relative path is a config error. */
	ASSERT_EQ(exec__config("{\"network\":{\"host_sockets\":[\"dev.sock\"]}}"), 0);
	ASSERT_EQ(exec__connect_inside(sock), 2);
	close(lfd);
	unlink(sock);
	rmdir(dir);
	free(cfg);
	free(sock);
	free(dir);
	return 0;
}

TEST(exec_and_check_words_that_are_not_utf8_stay_valid_json)
{
	const char *args[] = {"--", "printf", "bad\xff", NULL};
	char *bin = test_buildpath("airlock");
	char *check[] = {bin, "check", "--", "printf", "bad\xff", NULL};
	struct test_run r;
	char *log;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(exec__run(&r, args), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	log = exec__audit();
	ASSERT(strchr(log, '\xff') == NULL);
	ASSERT_CONTAINS(log, "\"bad\xef\xbf\xbd\"");
	ASSERT_CONTAINS(log, "\"subject_b64\":[\"cHJpbnRm\",\"YmFk/w==\"]");
	ASSERT_CONTAINS(log, "\"from\":\"cli\"");
	ASSERT_CONTAINS(log, "\"cwd\":\"");
	free(log);
	ASSERT_EQ(test_run(&r, check, NULL, NULL, NULL, (uid_t)-1, 20), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT(strchr(r.out, '\xff') == NULL);
	ASSERT_CONTAINS(r.out, "\"bad\xef\xbf\xbd\"");
	test_run_free(&r);
	free(bin);
	return 0;
}

/* How many processes run with exactly the argv WORDS (N of them). */
static int exec__count_procs(const char *const *words, size_t n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char *path, *text, *w;
		size_t len, i = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		path = xasprintf("/proc/%s/cmdline", e->d_name);
		text = test_read_file(path, &len);
		free(path);
		if (text == NULL)
			continue;
		for (w = text; i < n && w < text + len; w += strlen(w) + 1, i++)
			if (strcmp(w, words[i]) != 0)
				break;
		if (i == n && w == text + len)
			count++;
		free(text);
	}
	closedir(d);
	return count;
}

/*
 * kill -9 of `airlock exec` leaves no sandboxed command running: the helper
 * dies with its parent (it gets SIGTERM and ends the sandbox), within 1 s.
 */
TEST(exec_killed_leaves_no_command_running)
{
	char *bin = test_buildpath("airlock");
	char *home = xasprintf("%s/home", test_tmpdir());
	char *started = xasprintf("%s/started", test_tmpdir());
	char marker[64];
	const char *sleeper[] = {"sleep", marker};
	pid_t pid;
	int st;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	snprintf(marker, sizeof marker, "%d.%d", 900 + getpid() % 97, getpid());
	char *script = xasprintf("echo x > started; exec sleep %s", marker);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		setenv("AIRLOCK_HOME", home, 1);
		if (chdir(test_tmpdir()) != 0)
			_exit(99);
		execl(bin, bin, "exec", "--", "sh", "-c", script, (char *)NULL);
		_exit(98);
	}
	for (int i = 0; i < 1000 && access(started, F_OK) != 0; i++)
		usleep(10000);
	ASSERT_EQ(access(started, F_OK), 0);
	for (int i = 0; i < 200 && exec__count_procs(sleeper, 2) == 0; i++)
		usleep(10000);
	ASSERT_EQ(exec__count_procs(sleeper, 2), 1);
	ASSERT_EQ(kill(pid, SIGKILL), 0);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	int left = 1;
	for (int i = 0; i < 100 && (left = exec__count_procs(sleeper, 2)) != 0; i++)
		usleep(10000);
	ASSERT_EQ(left, 0);
	/* The helper removed its covers (.airlock, .codex, ...) as it went: nothing new here. */
	for (int i = 0; i < 100; i++) {
		DIR *d = opendir(test_tmpdir());
		struct dirent *e;
		int extra = 0;

		ASSERT(d != NULL);
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
			    strcmp(e->d_name, "home") != 0 && strcmp(e->d_name, "started") != 0) {
				if (i == 99)
					fprintf(stderr, "left in the workspace: %s\n", e->d_name);
				extra++;
			}
		closedir(d);
		if (extra == 0)
			break;
		ASSERT(i < 99);
		usleep(10000);
	}
	free(script);
	free(started);
	free(home);
	free(bin);
	return 0;
}

/* A repository planted by the sandboxed command: the helper's report is an audit line. */
TEST(exec_git_report_goes_to_the_audit_log)
{
	const char *args[] = {"--", "sh", "-c", "mkdir -p sub/.git/hooks && echo x > sub/.git/config",
	                      NULL};
	struct test_run r;
	char *log;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(exec__run(&r, args), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	log = exec__audit();
	ASSERT_CONTAINS(log, "\"kind\":\"git\"");
	ASSERT_CONTAINS(log, "/sub/.git\",\"reason\":");
	ASSERT_CONTAINS(log, "\"moved\":[");
	free(log);
	return 0;
}

/*
 * A slowloris from inside `exec -n ask`: 500 connections that never finish
 * their request head do not slow a normal request (under 100 ms), and the
 * proxy closes them once network.head_timeout_ms (here 1 s) has passed.
 */
TEST(exec_proxy_slowloris_is_timed_out)
{
	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	static const char script[] =
	    "import os, socket, sys, time\n"
	    "h, port = os.environ['HTTP_PROXY'].split('//')[1].rstrip('/').rsplit(':', 1)\n"
	    "port = int(port)\n"
	    "url = sys.argv[1]\n"
	    "slow = []\n"
	    "for i in range(500):\n"
	    "    c = socket.create_connection((h, port))\n"
	    "    c.sendall(b'GET ' + url.encode() + b' HTTP/1.1\\r\\nHost: x\\r\\n')\n"
	    "    slow.append(c)\n"
	    "t = time.monotonic()\n"
	    "c = socket.create_connection((h, port))\n"
	    "c.sendall(b'GET ' + url.encode() + b' HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n'\n"
	    "          b'Connection: close\\r\\n\\r\\n')\n"
	    "data = b''\n"
	    "while True:\n"
	    "    d = c.recv(65536)\n"
	    "    if not d:\n"
	    "        break\n"
	    "    data += d\n"
	    "took = time.monotonic() - t\n"
	    "print(data.split(b'\\r\\n')[0].decode(), 'fast' if took < 0.1 else 'slow %.3f' % took)\n"
	    "time.sleep(2.5)\n"
	    "closed = 0\n"
	    "for c in slow:\n"
	    "    c.settimeout(2)\n"
	    "    try:\n"
	    "        closed += c.recv(1) == b''\n"
	    "    except OSError:\n"
	    "        closed += 1\n"
	    "print('closed', closed)\n";
	struct tserver srv;
	struct test_run r;
	char *py = xasprintf("%s/slow.py", test_tmpdir());

	if (access("/usr/bin/python3", X_OK) != 0)
		SKIP("python3 is not installed");
	ASSERT_EQ(test_write_file(py, script), 0);
	ASSERT_EQ(tserver_http_start(&srv), 0);
	setenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS", "*", 1);
	char *url = xasprintf("http://127.0.0.1:%d/hello", srv.port);
	const char *const args[] = {"-n", "ask", "--", "python3", py, url, NULL};
	ASSERT_EQ(exec__config("{\"network\":{\"allowed_domains\":[\"127.0.0.1\"],"
	                       "\"head_timeout_ms\":1000}}"),
	          0);
	ASSERT_EQ(exec__run(&r, args), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "HTTP/1.1 200 OK fast\nclosed 500\n");
	test_run_free(&r);
	tserver_stop(&srv);
	free(url);
	free(py);
	return 0;
}
