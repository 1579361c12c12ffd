/*
 * End-to-end tests of `airlock check` and `airlock rules`: the built binary
 * when its dispatch knows the subcommand, else (loudly) the cmd_* entry
 * points in a child process with their output captured. Either way the
 * JSON is parsed and checked field by field, and rules files are compared
 * byte for byte after a removal.
 */
#include "test.h"

#include "../core/xmalloc.h"
#include "../tui/cli.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Whether the built binary dispatches SUB (it prints JSON / a rule list). */
static bool check_test__has_binary(const char *sub)
{
	char *exe = test_buildpath("airlock");
	struct test_run r;
	bool ok;
	char *argv_check[] = {exe, "check", "--", "true", NULL};
	char *argv_rules[] = {exe, "rules", "--home", "/nonexistent", "list", NULL};

	if (test_run(&r, strcmp(sub, "check") == 0 ? argv_check : argv_rules, NULL, NULL, NULL,
	             (uid_t)-1, 20) != 0) {
		free(exe);
		return false;
	}
	ok = strcmp(sub, "check") == 0 ? r.status == 0 && r.out[0] == '{'
	                               : r.status == 0 && r.outlen == 0;
	test_run_free(&r);
	free(exe);
	return ok;
}

/* Runs FN(ARG) in a child with stdout/stderr captured into R. */
static int check_test__direct(struct test_run *r, int (*fn)(void *), void *arg)
{
	char *out = xasprintf("%s/.out", test_tmpdir()), *err = xasprintf("%s/.err", test_tmpdir());
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(e, 2);
		st = fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(st);
	}
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = test_read_file(out, &r->outlen);
	r->err = test_read_file(err, &r->errlen);
	free(out);
	free(err);
	return 0;
}

/* The arguments of a `check` run. */
struct check_test__args {
	const char *home;
	const char *cwd;
	const char *approval;
	const char *sandbox_policy; /* or NULL */
	char **argv;
	int argc;
};

/* cmd_check with ARG's options. */
static int check_test__cmd_check(void *arg)
{
	const struct check_test__args *a = arg;
	struct cli_options opts = {.mode = CLI_MODE_CHECK,
	                           .sandbox = "workspace-write",
	                           .approval = a->approval,
	                           .network = "off",
	                           .cwd = (char *)a->cwd,
	                           .home = (char *)a->home,
	                           .sandbox_policy = (char *)a->sandbox_policy,
	                           .argv = a->argv,
	                           .argc = a->argc};

	return cmd_check(&opts);
}

/* Runs `airlock check` with A, through the binary when it can. */
static int check_test__check(struct test_run *r, const struct check_test__args *a, bool binary)
{
	char *exe, *argv[32];
	int n = 0, rc;

	if (!binary)
		return check_test__direct(r, check_test__cmd_check, (void *)a);
	exe = test_buildpath("airlock");
	argv[n++] = exe;
	argv[n++] = "check";
	argv[n++] = "--home";
	argv[n++] = (char *)a->home;
	argv[n++] = "-C";
	argv[n++] = (char *)a->cwd;
	argv[n++] = "-a";
	argv[n++] = (char *)a->approval;
	if (a->sandbox_policy != NULL) {
		argv[n++] = "--sandbox-policy";
		argv[n++] = (char *)a->sandbox_policy;
	}
	argv[n++] = "--";
	for (int i = 0; i < a->argc && n < 31; i++)
		argv[n++] = a->argv[i];
	argv[n] = NULL;
	rc = test_run(r, argv, NULL, NULL, NULL, (uid_t)-1, 20);
	free(exe);
	return rc;
}

/* Makes HOME/rules/team.rules with TEXT and an empty workspace; returns 0. */
static int check_test__setup(char **home, char **ws, const char *text)
{
	char *dir, *file;

	*home = xasprintf("%s/home", test_tmpdir());
	*ws = xasprintf("%s/ws", test_tmpdir());
	dir = xasprintf("%s/rules", *home);
	file = xasprintf("%s/team.rules", dir);
	if (mkdir(*home, 0700) != 0 || mkdir(dir, 0700) != 0 || mkdir(*ws, 0700) != 0 ||
	    test_write_file(file, text) != 0)
		return -1;
	free(dir);
	free(file);
	return 0;
}

TEST(check_prints_one_json_object)
{
	char *home, *ws;
	char *cmd[] = {"bash", "-lc", "git push origin && ls -la", NULL};
	struct check_test__args a = {.approval = "on-request", .argv = cmd, .argc = 3};
	bool binary = check_test__has_binary("check");
	struct test_run r;
	cJSON *o, *m, *c;

	if (!binary)
		fprintf(stderr, "NOTE: the airlock binary does not dispatch `check` yet; "
		                "testing cmd_check directly\n");
	ASSERT_EQ(
	    check_test__setup(&home, &ws,
	                      "prefix_rule(pattern=[\"git\", \"push\"], decision=\"prompt\")\n"),
	    0);
	a.home = home;
	a.cwd = ws;
	ASSERT_EQ(check_test__check(&r, &a, binary), 0);
	ASSERT_EQ(r.status, 0);
	o = cJSON_Parse(r.out);
	ASSERT(o != NULL);
	ASSERT_STR_EQ(cJSON_GetObjectItem(o, "decision")->valuestring, "prompt");
	/* Approved, a prompt rule's command runs in the sandbox (SPEC 4 step 4). */
	ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(o, "sandboxed")));
	m = cJSON_GetObjectItem(o, "matched_rules");
	ASSERT_EQ(cJSON_GetArraySize(m), 1);
	ASSERT_CONTAINS(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "file")->valuestring,
	                "/home/rules/team.rules");
	ASSERT_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "line")->valueint, 1);
	ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "decision")->valuestring,
	              "prompt");
	ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "pattern")->valuestring,
	              "[\"git\", \"push\"]");
	c = cJSON_GetObjectItem(o, "commands");
	ASSERT_EQ(cJSON_GetArraySize(c), 2);
	ASSERT_STR_EQ(cJSON_GetArrayItem(cJSON_GetArrayItem(c, 1), 1)->valuestring, "-la");
	ASSERT(cJSON_IsString(cJSON_GetObjectItem(o, "reason")));
	/* Exactly one object, one line. */
	ASSERT_EQ(strchr(r.out, '\n') - r.out + 1, (long)r.outlen);
	cJSON_Delete(o);
	test_run_free(&r);

	/* A known-safe command under untrusted: allowed, sandboxed. */
	{
		char *ls[] = {"cat", "README", NULL};

		a.argv = ls;
		a.argc = 2;
		a.approval = "untrusted";
		ASSERT_EQ(check_test__check(&r, &a, binary), 0);
		ASSERT_EQ(r.status, 0);
		ASSERT_CONTAINS(r.out, "\"decision\":\"allow\",\"sandboxed\":true");
		ASSERT_CONTAINS(r.out, "\"matched_rules\":[]");
		ASSERT_CONTAINS(r.out, "\"commands\":[[\"cat\",\"README\"]]");
		test_run_free(&r);
	}
	/* A full-access policy: allowed without the sandbox; a bad one is exit 2. */
	{
		char *npm[] = {"npm", "install", NULL};

		a.argv = npm;
		a.approval = "on-failure";
		a.sandbox_policy = "{\"type\":\"danger-full-access\"}";
		ASSERT_EQ(check_test__check(&r, &a, binary), 0);
		ASSERT_EQ(r.status, 0);
		ASSERT_CONTAINS(r.out, "\"decision\":\"allow\",\"sandboxed\":false");
		ASSERT_CONTAINS(r.out, "\"prefix\":[\"npm\",\"install\"]");
		test_run_free(&r);
		a.sandbox_policy = "{\"type\":\"nope\"}";
		ASSERT_EQ(check_test__check(&r, &a, binary), 0);
		ASSERT_EQ(r.status, 2);
		ASSERT_EQ(r.outlen, 0);
		test_run_free(&r);
	}
	free(home);
	free(ws);
	return 0;
}

TEST(check_malformed_rules_exit_2_with_position)
{
	char *home, *ws, *wsrules;
	char *cmd[] = {"ls", NULL};
	struct check_test__args a = {.approval = "never", .argv = cmd, .argc = 1};
	bool binary = check_test__has_binary("check");
	struct test_run r;

	ASSERT_EQ(check_test__setup(&home, &ws, "prefix_rule(pattern=[\"ls\"])\n"), 0);
	wsrules = xasprintf("%s/.airlock", ws);
	ASSERT_EQ(mkdir(wsrules, 0700), 0);
	free(wsrules);
	wsrules = xasprintf("%s/.airlock/rules", ws);
	ASSERT_EQ(mkdir(wsrules, 0700), 0);
	free(wsrules);
	wsrules = xasprintf("%s/.airlock/rules/bad.rules", ws);
	ASSERT_EQ(test_write_file(wsrules, "\n  prefix_rule(pattern=[\"ls\"], decision=\"yes\")\n"),
	          0);
	a.home = home;
	a.cwd = ws;
	ASSERT_EQ(check_test__check(&r, &a, binary), 0);
	ASSERT_EQ(r.status, 2);
	ASSERT_CONTAINS(r.err, "/ws/.airlock/rules/bad.rules:2:40: decision must be");
	ASSERT_EQ(r.outlen, 0);
	test_run_free(&r);
	free(wsrules);
	free(home);
	free(ws);
	return 0;
}

/* cmd_rules with the argv in ARG. */
static int check_test__cmd_rules(void *arg)
{
	char **argv = arg;
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return cmd_rules(argc, argv);
}

/* Runs `airlock rules ARGS...` (ARGV starts with "rules"). */
static int check_test__rules(struct test_run *r, char **argv, bool binary)
{
	char *exe, *full[16];
	int n = 0, rc;

	if (!binary)
		return check_test__direct(r, check_test__cmd_rules, argv);
	exe = test_buildpath("airlock");
	full[n++] = exe;
	for (int i = 0; argv[i] != NULL && n < 15; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	rc = test_run(r, full, NULL, NULL, NULL, (uid_t)-1, 20);
	free(exe);
	return rc;
}

TEST(check_rules_list_and_remove)
{
	char *home, *ws, *file, *text;
	bool binary = check_test__has_binary("rules");
	struct test_run r;
	static const char before[] =
	    "# team\n"
	    "prefix_rule(pattern=[\"make\"])\n"
	    "prefix_rule(\n  pattern=[\"git\", \"push\"],\n  decision=\"prompt\",\n)\n"
	    "network_rule(host=\"h.io\", decision=\"deny\")  # no\n";

	if (!binary)
		fprintf(stderr, "NOTE: the airlock binary does not dispatch `rules` yet; "
		                "testing cmd_rules directly\n");
	ASSERT_EQ(check_test__setup(&home, &ws, before), 0);
	file = xasprintf("%s/rules/team.rules", home);
	{
		char *argv[] = {"rules", "--home", home, "list", NULL};

		ASSERT_EQ(check_test__rules(&r, argv, binary), 0);
		ASSERT_EQ(r.status, 0);
		text = xasprintf("1\t%s:2\tprefix_rule(pattern=[\"make\"])\n"
		                 "2\t%s:3\tprefix_rule(pattern=[\"git\", \"push\"], "
		                 "decision=\"prompt\",)\n"
		                 "3\t%s:7\tnetwork_rule(host=\"h.io\", decision=\"deny\")\n",
		                 file, file, file);
		ASSERT_STR_EQ(r.out, text);
		free(text);
		test_run_free(&r);
	}
	{
		char *argv[] = {"rules", "remove", "2", "--home", home, NULL};

		ASSERT_EQ(check_test__rules(&r, argv, binary), 0);
		ASSERT_EQ(r.status, 0);
		test_run_free(&r);
		text = test_read_file(file, NULL);
		ASSERT_STR_EQ(text, "# team\n"
		                    "prefix_rule(pattern=[\"make\"])\n"
		                    "network_rule(host=\"h.io\", decision=\"deny\")  # no\n");
		free(text);
	}
	{
		char *argv[] = {"rules", "--home", home, "remove", "9", NULL};

		ASSERT_EQ(check_test__rules(&r, argv, binary), 0);
		ASSERT_EQ(r.status, 1);
		ASSERT_CONTAINS(r.err, "no rule 9");
		test_run_free(&r);
	}
	{
		char *argv[] = {"rules", "--home", home, "remove", "x", NULL};

		ASSERT_EQ(check_test__rules(&r, argv, binary), 0);
		ASSERT_EQ(r.status, 2);
		test_run_free(&r);
	}
	{
		char *argv[] = {"rules", "--home", home, NULL};

		ASSERT_EQ(check_test__rules(&r, argv, binary), 0);
		ASSERT_EQ(r.status, 2);
		test_run_free(&r);
	}
	/* AIRLOCK_HOME is the default home; a broken file is exit 2 with its place. */
	ASSERT_EQ(test_write_file(file, "prefix_rule(\n"), 0);
	{
		char *argv[] = {"rules", "list", NULL};

		setenv("AIRLOCK_HOME", home, 1);
		ASSERT_EQ(check_test__rules(&r, argv, false), 0);
		ASSERT_EQ(r.status, 2);
		text = xasprintf("%s:2:1: end of input", file);
		ASSERT_CONTAINS(r.err, text);
		free(text);
		test_run_free(&r);
	}
	free(file);
	free(home);
	free(ws);
	return 0;
}

/*
 * A workspace's own rules: `check` applies their forbidden rules at once,
 * ignores their allow rules (and says so, in its JSON and on stderr) until
 * `airlock trust` pins them, and ignores them again after a one-byte edit.
 */
TEST(check_workspace_rules_need_trust)
{
	char *home, *ws, *p, *exe = test_buildpath("airlock");
	char *make[] = {"make", "all", NULL}, *push[] = {"git", "push", NULL};
	struct check_test__args a = {.approval = "on-request", .argv = make, .argc = 2};
	struct test_run r;

	ASSERT_EQ(check_test__setup(&home, &ws, "# nothing of the user's\n"), 0);
	a.home = home;
	a.cwd = ws;
	p = xasprintf("%s/.codex", ws);
	ASSERT_EQ(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/.codex/rules", ws);
	ASSERT_EQ(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/.codex/rules/repo.rules", ws);
	ASSERT_EQ(test_write_file(p, "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n"
	                             "prefix_rule(pattern=[\"git\", \"push\"], decision=\"forbidden\")\n"),
	          0);

	/* Untrusted: make stays in the sandbox, the forbidden rule holds. */
	ASSERT_EQ(check_test__check(&r, &a, true), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "\"decision\":\"allow\",\"sandboxed\":true");
	ASSERT_CONTAINS(r.out,
	                "\"workspace_rules\":{\"files\":1,\"trusted\":false,\"ignored_allow_rules\":1}");
	ASSERT_CONTAINS(r.err, "not trusted (airlock trust)");
	test_run_free(&r);
	a.argv = push;
	ASSERT_EQ(check_test__check(&r, &a, true), 0);
	ASSERT_CONTAINS(r.out, "\"decision\":\"forbidden\"");
	test_run_free(&r);

	/* airlock trust pins them: make runs outside. */
	{
		char *argv[] = {exe, "trust", "--home", home, ws, NULL};

		ASSERT_EQ(test_run(&r, argv, NULL, NULL, NULL, (uid_t)-1, 20), 0);
		ASSERT_EQ(r.status, 0);
		ASSERT_CONTAINS(r.out, "trusted ");
		ASSERT_CONTAINS(r.out, ".codex/rules/repo.rules\tsha256:");
		test_run_free(&r);
	}
	a.argv = make;
	ASSERT_EQ(check_test__check(&r, &a, true), 0);
	ASSERT_CONTAINS(r.out, "\"decision\":\"allow\",\"sandboxed\":false");
	ASSERT_CONTAINS(r.out,
	                "\"workspace_rules\":{\"files\":1,\"trusted\":true,\"ignored_allow_rules\":0}");
	test_run_free(&r);

	/* One byte changed: untrusted again. */
	ASSERT_EQ(test_write_file(p, "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n"
	                             "prefix_rule(pattern=[\"git\", \"push\"], decision=\"forbidden\") \n"),
	          0);
	ASSERT_EQ(check_test__check(&r, &a, true), 0);
	ASSERT_CONTAINS(r.out, "\"decision\":\"allow\",\"sandboxed\":true");
	test_run_free(&r);
	{
		char *list[] = {exe, "trust", "--home", home, "--list", NULL};
		char *revoke[] = {exe, "trust", "--home", home, "--revoke", ws, NULL};

		ASSERT_EQ(test_run(&r, list, NULL, NULL, NULL, (uid_t)-1, 20), 0);
		ASSERT_EQ(r.status, 0);
		ASSERT_CONTAINS(r.out, "\tchanged\t1 file\n");
		test_run_free(&r);
		ASSERT_EQ(test_run(&r, revoke, NULL, NULL, NULL, (uid_t)-1, 20), 0);
		ASSERT_EQ(r.status, 0);
		test_run_free(&r);
		ASSERT_EQ(test_run(&r, revoke, NULL, NULL, NULL, (uid_t)-1, 20), 0);
		ASSERT_EQ(r.status, 1);
		test_run_free(&r);
	}
	free(p);
	free(exe);
	free(home);
	free(ws);
	return 0;
}
