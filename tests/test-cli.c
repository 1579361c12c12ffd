/*
 * The command line as a user meets it: --help and --version, usage errors
 * with exit 2 and one `airlock:` line, config.json defaults and their
 * errors (a key given twice among them, in config.json or a policy; --help
 * and --version work whatever the file holds), and the man page documenting
 * every option --help lists. A word before `--` that is not a subcommand is a
 * usage error; --use-legacy-landlock reaches the helper.
 */
#include "test.h"

#include "build-config.h"
#include "core/sandbox-command.h"
#include "core/xmalloc.h"
#include "tui/cli.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Runs the built airlock with ARGS (NULL-terminated) and AIRLOCK_HOME=HOME. */
static int cli__run(struct test_run *r, const char *home, const char *const *args)
{
	char *bin = test_buildpath("airlock");
	char *argv[32];
	char *env[3] = {NULL};
	size_t n = 0;
	int rc;

	argv[n++] = bin;
	for (size_t i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	env[0] = xasprintf("AIRLOCK_HOME=%s", home != NULL ? home : test_tmpdir());
	rc = test_run(r, argv, NULL, NULL, env, (uid_t)-1, 20);
	free(env[0]);
	free(bin);
	return rc;
}

TEST(cli_help_and_version)
{
	struct test_run r;

	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"--help", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "Usage: airlock [OPTIONS] [-- CMD ARG...]");
	ASSERT_CONTAINS(r.out, "(default: on-failure)");
	test_run_free(&r);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "--help", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "Usage: airlock exec [OPTIONS] -- CMD ARG...");
	ASSERT_CONTAINS(r.out, "(default: never)");
	test_run_free(&r);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"-V", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "airlock " PACKAGE_VERSION "\n");
	test_run_free(&r);
	return 0;
}

/* One bad command line and the one line it must print. */
struct cli_usage_case {
	const char *args[8];
	const char *err;
};

static const struct cli_usage_case cli_usage_cases[] = {
    {{"exec", NULL}, "airlock: exec needs a command: airlock exec [OPTIONS] -- CMD ARG...\n"},
    {{"exec", "-s", "bogus", "--", "true", NULL},
     "airlock: --sandbox: \"bogus\" is not one of read-only, workspace-write, "
     "danger-full-access\n"},
    {{"exec", "-a", "sometimes", "--", "true", NULL},
     "airlock: --ask-for-approval: \"sometimes\" is not one of untrusted, on-failure, "
     "on-request, never\n"},
    {{"exec", "-n", "wifi", "--", "true", NULL},
     "airlock: --network: \"wifi\" is not one of off, ask, on\n"},
    {{"exec", "--frobnicate", "--", "true", NULL},
     "airlock: unknown option --frobnicate (see airlock exec --help)\n"},
    {{"exec", "-s", NULL}, "airlock: -s needs a value (see airlock exec --help)\n"},
    {{"exec", "-C", "/nonexistent/dir", "--", "true", NULL},
     "airlock: --cd /nonexistent/dir: No such file or directory\n"},
    {{"exec", "-w", "/nonexistent/root", "--", "true", NULL},
     "airlock: --writable-root /nonexistent/root: No such file or directory\n"},
    {{"exec", "--sandbox-policy", "{\"type\":\"workspace-read\"}", "--", "touch", "ran", NULL},
     NULL /* message is the policy module's; checked below for the prefix */},
};

TEST(cli_usage_errors_exit_2)
{
	for (size_t i = 0; i < sizeof cli_usage_cases / sizeof cli_usage_cases[0]; i++) {
		struct test_run r;
		ASSERT_EQ(cli__run(&r, NULL, cli_usage_cases[i].args), 0);
		ASSERT_EQ(r.status, 2);
		if (cli_usage_cases[i].err != NULL)
			ASSERT_STR_EQ(r.err, cli_usage_cases[i].err);
		else
			ASSERT_CONTAINS(r.err, "airlock: --sandbox-policy: ");
		test_run_free(&r);
	}
	/* A malformed policy runs nothing. */
	struct stat st;
	char *ran = xasprintf("%s/ran", test_tmpdir());
	ASSERT(stat(ran, &st) != 0);
	free(ran);
	return 0;
}

TEST(cli_bad_config_exits_2)
{
	struct test_run r;
	char *cfg = xasprintf("%s/config.json", test_tmpdir());

	ASSERT_EQ(test_write_file(cfg, "{\"sandbox\": \"read-only\",\n \"colour\": true}\n"), 0);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "--", "true", NULL}), 0);
	ASSERT_EQ(r.status, 2);
	char *want = xasprintf("airlock: %s:2:2: unknown key \"colour\"\n", cfg);
	ASSERT_STR_EQ(r.err, want);
	free(want);
	free(cfg);
	test_run_free(&r);
	return 0;
}

TEST(cli_repeated_keys_exit_2)
{
	struct test_run r;
	struct stat st;
	char *cfg = xasprintf("%s/config.json", test_tmpdir());
	char *ran = xasprintf("%s/ran", test_tmpdir());
	char *want;

	/* A policy that cJSON read as its first "type": it ran unsandboxed. */
	ASSERT_EQ(
	    cli__run(&r, NULL,
	             (const char *[]){"exec", "--sandbox-policy",
	                              "{\"type\":\"danger-full-access\",\"type\":\"read-only\"}",
	                              "--", "touch", "ran", NULL}),
	    0);
	ASSERT_STR_EQ(r.err,
	              "airlock: --sandbox-policy: duplicate key \"type\" at line 1, column 30\n");
	ASSERT_EQ(r.status, 2);
	test_run_free(&r);
	ASSERT(stat(ran, &st) != 0);
	ASSERT_EQ(cli__run(&r, NULL,
	                   (const char *[]){"check", "--sandbox-policy",
	                                    "{\"type\":\"read-only\",\"t\\u0079pe\":\"read-only\"}",
	                                    "--", "ls", NULL}),
	          0);
	ASSERT_STR_EQ(r.err,
	              "airlock: --sandbox-policy: duplicate key \"type\" at line 1, column 21\n");
	ASSERT_EQ(r.status, 2);
	ASSERT_STR_EQ(r.out, "");
	test_run_free(&r);

	/* config.json, at the top level and nested. */
	ASSERT_EQ(test_write_file(cfg, "{\"sandbox\": \"danger-full-access\",\n"
	                               " \"sandbox\": \"read-only\"}\n"),
	          0);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "--", "touch", "ran", NULL}), 0);
	want = xasprintf("airlock: %s:2:2: duplicate key \"sandbox\"\n", cfg);
	ASSERT_STR_EQ(r.err, want);
	ASSERT_EQ(r.status, 2);
	free(want);
	test_run_free(&r);
	ASSERT_EQ(test_write_file(cfg, "{\"network\": {\"allowed_domains\": [\"a.test\"],\n"
	                               "             \"allowed_domains\": [\"*\"]}}\n"),
	          0);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "--", "touch", "ran", NULL}), 0);
	want = xasprintf("airlock: %s:2:14: duplicate key \"network.allowed_domains\"\n", cfg);
	ASSERT_STR_EQ(r.err, want);
	ASSERT_EQ(r.status, 2);
	free(want);
	test_run_free(&r);
	ASSERT(stat(ran, &st) != 0);

	/* --help and --version work whatever config.json holds; anything else stops. */
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"--help", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "Usage: airlock [OPTIONS] [-- CMD ARG...]");
	ASSERT_STR_EQ(r.err, "");
	test_run_free(&r);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "-h", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "Usage: airlock exec [OPTIONS] -- CMD ARG...");
	test_run_free(&r);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"check", "--version", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "airlock " PACKAGE_VERSION "\n");
	test_run_free(&r);
	ASSERT_EQ(test_write_file(cfg, "{\"sandbox\": \n"), 0);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "--version", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "airlock " PACKAGE_VERSION "\n");
	test_run_free(&r);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "--", "--help", NULL}), 0);
	ASSERT_EQ(r.status, 2);
	ASSERT_CONTAINS(r.err, "config.json:2:1: malformed JSON");
	test_run_free(&r);
	free(ran);
	free(cfg);
	return 0;
}

TEST(cli_man_page_documents_every_option)
{
	char *man_path = test_srcpath("man/airlock.1");
	char *man = test_read_file(man_path, NULL);
	struct test_run r;

	ASSERT(man != NULL);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"--help", NULL}), 0);
	/* Every long option in --help appears in the man page, with roff's \- escapes. */
	const char *p = r.out;
	int seen = 0;
	while ((p = strstr(p, "--")) != NULL) {
		size_t len = 2;
		while ((p[len] >= 'a' && p[len] <= 'z') || p[len] == '-')
			len++;
		if (len > 3) {
			char *word = xstrndup(p + 2, len - 2);
			char *roff = xasprintf("\\-\\-%s", word);
			for (char *q = roff + 4; *q; q++)
				if (*q == '-') {
					/* a hyphen inside an option name is written \- too */
					size_t off = (size_t)(q - roff);
					char *w = xasprintf("%.*s\\%s", (int)off, roff, q);
					free(roff);
					roff = w;
					q = roff + off + 1;
				}
			ASSERT_CONTAINS(man, roff);
			free(roff);
			free(word);
			seen++;
		}
		p += len;
	}
	ASSERT(seen >= 10);
	test_run_free(&r);
	free(man);
	free(man_path);
	return 0;
}

TEST(cli_unknown_words_are_usage_errors)
{
	static const char *const cases[][4] = {
	    {"doctr", NULL},
	    {"foo", NULL},
	    {"foo", "bar", NULL},
	    {"-n", "off", "foo", NULL},
	};
	struct test_run r;
	struct stat st;
	char *ran = xasprintf("%s/ran", test_tmpdir());

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *word = strcmp(cases[i][0], "-n") == 0 ? cases[i][2] : cases[i][0];
		char *want =
		    xasprintf("airlock: unknown command \"%s\" (see airlock --help; to run it "
		              "in the TUI: airlock -- %s)\n",
		              word, word);
		/* No terminal here: before the fix these reached the TUI, which said so. */
		ASSERT_EQ(cli__run(&r, NULL, cases[i]), 0);
		ASSERT_EQ(r.status, 2);
		ASSERT_STR_EQ(r.err, want);
		ASSERT_STR_EQ(r.out, "");
		test_run_free(&r);
		free(want);
	}
	/* Not even a command that would leave a trace runs. */
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"touch", ran, NULL}), 0);
	ASSERT_EQ(r.status, 2);
	test_run_free(&r);
	ASSERT(stat(ran, &st) != 0);
	free(ran);

	/* After `--` a word is the command the TUI runs: the parser takes it. */
	struct cli_options opts;
	char *argv[] = {"airlock", "--home", (char *)test_tmpdir(), "--", "foo", "bar", NULL};
	ASSERT_EQ(cli_options_parse(&opts, CLI_MODE_TUI, 6, argv), 0);
	ASSERT_EQ(opts.argc, 2);
	ASSERT_STR_EQ(opts.argv[0], "foo");
	ASSERT_STR_EQ(opts.argv[1], "bar");
	ASSERT(!opts.legacy_landlock);
	cli_options_free(&opts);
	return 0;
}

TEST(cli_use_legacy_landlock_reaches_the_helper)
{
	char *script = xasprintf("%s/fake-helper", test_tmpdir());
	char *args = xasprintf("%s/args", test_tmpdir());
	char *body = xasprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\n", args);
	char *env = xasprintf("AIRLOCK_SANDBOX_EXE=%s", script);
	char *bin = test_buildpath("airlock");
	char *home = xasprintf("AIRLOCK_HOME=%s", test_tmpdir());
	struct test_run r;
	char *seen;

	ASSERT_EQ(test_write_file(script, body), 0);
	ASSERT_EQ(chmod(script, 0755), 0);
	/* exec: accepted (it was an unknown option) and passed on to the helper. */
	char *with[] = {bin,    "exec", "--use-legacy-landlock", "-s", "read-only", "--",
	                "true", NULL};
	char *envv[] = {home, env, NULL};
	ASSERT_EQ(test_run(&r, with, NULL, NULL, envv, (uid_t)-1, 20), 0);
	ASSERT_STR_EQ(r.err, "");
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	seen = test_read_file(args, NULL);
	ASSERT(seen != NULL);
	ASSERT_CONTAINS(seen, "\n--use-legacy-landlock\n");
	free(seen);
	/* Without it, the helper is not asked for it. */
	char *without[] = {bin, "exec", "-s", "read-only", "--", "true", NULL};
	ASSERT_EQ(test_run(&r, without, NULL, NULL, envv, (uid_t)-1, 20), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	seen = test_read_file(args, NULL);
	ASSERT(seen != NULL);
	ASSERT_NOT_CONTAINS(seen, "--use-legacy-landlock");
	free(seen);

	/* check takes it too. */
	ASSERT_EQ(cli__run(&r, NULL,
	                   (const char *[]){"check", "--use-legacy-landlock", "--", "ls", NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "\"decision\"");
	test_run_free(&r);

	/* The TUI's options carry it to every sandboxed command's helper argv. */
	struct cli_options opts;
	char *argv[] = {"airlock", "--home", (char *)test_tmpdir(), "--use-legacy-landlock", NULL};
	ASSERT_EQ(cli_options_parse(&opts, CLI_MODE_TUI, 4, argv), 0);
	ASSERT(opts.legacy_landlock);
	char *cmd[] = {"true", NULL};
	struct sandbox_command sc = {
	    .helper = "/bin/true", .cwd = "/", .policy_json = "{}", .argv = cmd};
	cli_options_sandbox(&opts, &sc);
	char **hargv = sandbox_command_argv(&sc);
	bool found = false;
	for (size_t i = 0; hargv[i] != NULL && strcmp(hargv[i], "--") != 0; i++)
		found = found || strcmp(hargv[i], "--use-legacy-landlock") == 0;
	ASSERT(found);
	sandbox_command_argv_free(hargv);
	cli_options_free(&opts);

	free(home);
	free(bin);
	free(env);
	free(body);
	free(args);
	free(script);
	return 0;
}

TEST(cli_home_flag_moves_the_audit_log)
{
	struct test_run r;
	char *other = xasprintf("%s/other-home", test_tmpdir());
	char *moved = xasprintf("%s/audit.jsonl", other);
	char *env_log = xasprintf("%s/audit.jsonl", test_tmpdir());

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(mkdir(other, 0700), 0);
	ASSERT_EQ(cli__run(&r, NULL, (const char *[]){"exec", "--home", other, "--", "true", NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	/* --home wins over AIRLOCK_HOME, for the log as for config and rules. */
	ASSERT_EQ(access(moved, F_OK), 0);
	ASSERT(access(env_log, F_OK) != 0);
	free(env_log);
	free(moved);
	free(other);
	return 0;
}
