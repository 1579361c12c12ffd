/*
 * Tests of the decision function: the corpus in tests/data/decisions.tsv
 * (every command under the four approval policies), the `p` prefix, the
 * matched-rules report, sandbox modes, and the on-failure denial detector.
 */
#include "test.h"

#include "../core/decide.h"
#include "../core/safe-commands.h"
#include "../core/xmalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

/* Loads the rules file REL (under the source tree), or NULL. */
static struct rules *decide_test__rules_from(const char *rel)
{
	char *path = test_srcpath(rel);
	struct rules *r = rules_new();
	char *cause = NULL;

	if (rules_load_file(r, path, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		rules_free(r);
		r = NULL;
	}
	free(path);
	return r;
}

/* Loads tests/data/decisions.rules, or NULL. */
static struct rules *decide_test__rules(void)
{
	return decide_test__rules_from("tests/data/decisions.rules");
}

/* The corpus word for a result. */
static const char *decide_test__word(const struct decide_result *res)
{
	switch (res->decision) {
	case DECIDE_ALLOW:
		return res->sandboxed ? "sbx" : "run";
	case DECIDE_PROMPT:
		return "ask";
	case DECIDE_FORBIDDEN:
		return "no";
	}
	return "?";
}

/* Judges every command of the corpus TSV (source-relative) with rules RULES_REL; 0 or failure. */
static int decide_test__corpus(const char *tsv, const char *rules_rel, int min_cases)
{
	static const enum decide_approval policies[] = {
	    DECIDE_APPROVAL_UNTRUSTED, DECIDE_APPROVAL_ON_FAILURE, DECIDE_APPROVAL_ON_REQUEST,
	    DECIDE_APPROVAL_NEVER};
	char *path = test_srcpath(tsv);
	char *text = test_read_file(path, NULL);
	struct rules *rules = decide_test__rules_from(rules_rel);
	int lineno = 0, cases = 0, failures = 0;

	ASSERT(text != NULL);
	ASSERT(rules != NULL);
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *exp, *flags, *cmd, **argv;
		char got[64] = "";
		size_t argc;

		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		exp = line;
		flags = strchr(exp, '\t');
		ASSERT(flags != NULL);
		*flags++ = '\0';
		cmd = strchr(flags, '\t');
		ASSERT(cmd != NULL);
		*cmd++ = '\0';
		/* "\n" in the file stands for a newline inside the command. */
		for (char *p = cmd; (p = strstr(p, "\\n")) != NULL;) {
			*p = '\n';
			memmove(p + 1, p + 2, strlen(p + 2) + 1);
		}
		ASSERT_EQ(shell_split_words(cmd, &argv, &argc), 0);
		for (size_t i = 0; i < 4; i++) {
			struct decide_input in = {.argc = argc,
			                          .argv = argv,
			                          .cwd = "/ws",
			                          .approval = policies[i],
			                          .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
			                          .escalate = strcmp(flags, "esc") == 0,
			                          .rules = rules};
			struct decide_result res;

			decide_command(&in, &res);
			if (i > 0)
				strcat(got, "/");
			strcat(got, decide_test__word(&res));
			ASSERT(res.reason != NULL && res.reason[0] != '\0');
			decide_result_free(&res);
		}
		cases++;
		if (strcmp(got, exp) != 0) {
			fprintf(stderr, "%s:%d: %s [%s]: expected %s, got %s\n", tsv, lineno, cmd,
			        flags, exp, got);
			failures++;
		}
		shell_split_words_free(argv);
	}
	fprintf(stderr, "%d commands x 4 policies judged\n", cases);
	ASSERT_EQ(failures, 0);
	ASSERT(cases >= min_cases);
	rules_free(rules);
	free(text);
	free(path);
	return 0;
}

TEST(decide_corpus_under_every_policy)
{
	return decide_test__corpus("tests/data/decisions.tsv", "tests/data/decisions.rules", 150);
}

/*
 * Forbidden and prompt rules cannot be dodged by naming the program by a
 * path, by a wrapper (env, nice, timeout, sudo, command, exec, xargs ...) or
 * by hiding the command in an opaque script; allow rules never reach into
 * an opaque script or through sudo; host_executable pins which paths count.
 */
TEST(decide_dodges_of_rules_corpus)
{
	return decide_test__corpus("tests/data/decisions.dodge.tsv",
	                           "tests/data/decisions.dodge.rules", 90);
}

TEST(decide_reports_rules_commands_and_prefix)
{
	struct rules *rules = decide_test__rules();
	char *argv[] = {"bash", "-lc", "git push origin && npm test", NULL};
	struct decide_input in = {.argc = 3,
	                          .argv = argv,
	                          .cwd = "/ws",
	                          .approval = DECIDE_APPROVAL_ON_REQUEST,
	                          .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	                          .rules = rules};
	struct decide_result res;

	ASSERT(rules != NULL);
	decide_command(&in, &res);
	ASSERT_EQ(res.decision, DECIDE_PROMPT);
	ASSERT_EQ(res.split.n, 2);
	ASSERT_STR_EQ(res.split.cmds[0].argv[2], "origin");
	ASSERT_STR_EQ(res.split.cmds[1].argv[1], "test");
	ASSERT_EQ(res.matches.n, 2);
	ASSERT_EQ(res.matches.v[0]->line, 2);
	ASSERT_STR_EQ(res.matches.v[0]->pattern_text, "[\"git\", \"push\"]");
	ASSERT_EQ(res.matches.v[1]->line, 3);
	ASSERT_STR_EQ(res.matches.v[1]->pattern_text, "[\"npm\", [\"test\", \"run\"]]");
	ASSERT_CONTAINS(res.reason, "talks to the remote");
	ASSERT_CONTAINS(res.matches.v[0]->file, "decisions.rules");
	ASSERT(res.prefix == NULL); /* two commands: no `p` */
	decide_result_free(&res);

	/* One command, no rule: the prefix is program + first non-option word. */
	{
		char *a2[] = {"npm", "install", "--save", "left-pad", NULL};

		in.argv = a2;
		in.argc = 4;
		in.approval = DECIDE_APPROVAL_UNTRUSTED;
		decide_command(&in, &res);
		ASSERT_EQ(res.decision, DECIDE_PROMPT);
		ASSERT_EQ(res.prefix_len, 2);
		ASSERT_STR_EQ(res.prefix[0], "npm");
		ASSERT_STR_EQ(res.prefix[1], "install");
		decide_result_free(&res);
	}
	/* A shell script of one plain command offers that command's prefix... */
	{
		char *a4[] = {"bash", "-lc", "npm install left-pad", NULL};
		char *a5[] = {"bash", "-lc", "npm install > log", NULL};

		in.argv = a4;
		in.argc = 3;
		decide_command(&in, &res);
		ASSERT_EQ(res.split.n, 1);
		ASSERT_EQ(res.prefix_len, 2);
		ASSERT_STR_EQ(res.prefix[0], "npm");
		ASSERT_STR_EQ(res.prefix[1], "install");
		decide_result_free(&res);
		/* ...an opaque one offers none. */
		in.argv = a5;
		decide_command(&in, &res);
		ASSERT(res.split.opaque);
		ASSERT(res.prefix == NULL);
		decide_result_free(&res);
	}
	/* A rule matched: no prefix. */
	{
		char *a3[] = {"git", "push", NULL};

		in.argv = a3;
		in.argc = 2;
		decide_command(&in, &res);
		ASSERT(res.prefix == NULL);
		ASSERT(res.rule != NULL);
		ASSERT_EQ(res.rule->line, 2);
		decide_result_free(&res);
	}
	rules_free(rules);
	return 0;
}

TEST(decide_prefix_never_a_bare_interpreter)
{
	static const struct {
		const char *cmd;
		const char *prefix; /* words joined by one space, or NULL for none */
	} cases[] = {
	    {.cmd = "git push origin main", .prefix = "git push"},
	    {.cmd = "npm install", .prefix = "npm install"},
	    {.cmd = "make -j4", .prefix = "make"},
	    {.cmd = "ls -la", .prefix = "ls"},
	    {.cmd = "cargo", .prefix = "cargo"},
	    {.cmd = "python manage.py migrate", .prefix = "python manage.py"},
	    {.cmd = "python", .prefix = NULL},
	    {.cmd = "python3 -c 'print(1)'", .prefix = NULL},
	    {.cmd = "python3.11 -m pip", .prefix = NULL},
	    {.cmd = "bash -c ls", .prefix = NULL},
	    {.cmd = "sh", .prefix = NULL},
	    {.cmd = "node -e 1", .prefix = NULL},
	    {.cmd = "perl -pe s/a/b/", .prefix = NULL},
	    {.cmd = "ruby -e 1", .prefix = NULL},
	    {.cmd = "env FOO=1 make", .prefix = NULL},
	    {.cmd = "sudo apt install x", .prefix = NULL},
	    {.cmd = "xargs ls", .prefix = NULL},
	    {.cmd = "rm -rf build", .prefix = NULL},
	    {.cmd = "echo 'a\nb'", .prefix = NULL},
	    {.cmd = "printf 'a\nb'", .prefix = NULL},
	    /* options and their values are skipped (SPEC 5) */
	    {.cmd = "git -C sub push", .prefix = "git push"},
	    {.cmd = "git -c user.name=x -C sub commit -m y", .prefix = "git commit"},
	    {.cmd = "git --git-dir .git --work-tree=. push", .prefix = "git push"},
	    {.cmd = "git -Csub push", .prefix = "git push"},
	    {.cmd = "git -C sub", .prefix = NULL},
	    {.cmd = "/usr/bin/git -C sub fetch", .prefix = "/usr/bin/git fetch"},
	    {.cmd = "make -C dir clean all", .prefix = "make clean"},
	    {.cmd = "make -f Makefile.ci -j 4 test", .prefix = "make test"},
	    {.cmd = "make -j test", .prefix = "make test"},
	    {.cmd = "make --directory dir install", .prefix = "make install"},
	    {.cmd = "npm --prefix web install", .prefix = "npm install"},
	    {.cmd = "npm -w pkg run build", .prefix = "npm run"},
	    {.cmd = "cargo --config x.toml build", .prefix = "cargo build"},
	    {.cmd = "cargo -Z unstable-options build", .prefix = "cargo build"},
	    {.cmd = "docker -H tcp://x --context c run img", .prefix = "docker run"},
	    {.cmd = "kubectl -n prod --context ctx delete pod x", .prefix = "kubectl delete"},
	    {.cmd = "kubectl --namespace prod get pods", .prefix = "kubectl get"},
	    {.cmd = "python3 -m pip install x", .prefix = NULL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char **argv, **prefix;
		size_t argc, n;
		char got[256] = "";

		ASSERT_EQ(shell_split_words(cases[i].cmd, &argv, &argc), 0);
		prefix = decide_prefix(argc, argv, &n);
		for (size_t j = 0; prefix != NULL && j < n; j++) {
			if (j > 0)
				strcat(got, " ");
			strcat(got, prefix[j]);
		}
		if (cases[i].prefix == NULL && prefix != NULL) {
			fprintf(stderr, "%s: expected no prefix, got \"%s\"\n", cases[i].cmd, got);
			return 1;
		}
		if (cases[i].prefix != NULL)
			ASSERT_STR_EQ(got, cases[i].prefix);
		shell_split_words_free(prefix);
		shell_split_words_free(argv);
	}
	return 0;
}

TEST(decide_sandbox_modes_and_names)
{
	char *argv[] = {"npm", "install", NULL};
	struct decide_input in = {.argc = 2,
	                          .argv = argv,
	                          .cwd = "/ws",
	                          .approval = DECIDE_APPROVAL_ON_FAILURE,
	                          .sandbox = DECIDE_SANDBOX_DANGER_FULL_ACCESS};
	struct decide_result res;
	enum decide_approval a;
	enum decide_sandbox s;

	decide_command(&in, &res);
	ASSERT_EQ(res.decision, DECIDE_ALLOW);
	ASSERT_EQ(res.sandboxed, 0);
	decide_result_free(&res);
	in.sandbox = DECIDE_SANDBOX_READ_ONLY;
	decide_command(&in, &res);
	ASSERT_EQ(res.decision, DECIDE_ALLOW);
	ASSERT_EQ(res.sandboxed, 1);
	decide_result_free(&res);
	/* No rules at all and an empty command. */
	in.argc = 0;
	decide_command(&in, &res);
	ASSERT_EQ(res.decision, DECIDE_FORBIDDEN);
	decide_result_free(&res);

	ASSERT_EQ(decide_approval_parse("on-request", &a), 0);
	ASSERT_EQ(a, DECIDE_APPROVAL_ON_REQUEST);
	ASSERT_EQ(decide_approval_parse("sometimes", &a), -EINVAL);
	ASSERT_EQ(decide_sandbox_parse("read-only", &s), 0);
	ASSERT_EQ(s, DECIDE_SANDBOX_READ_ONLY);
	ASSERT_EQ(decide_sandbox_parse("none", &s), -EINVAL);
	ASSERT_STR_EQ(decide_approval_name(DECIDE_APPROVAL_NEVER), "never");
	ASSERT_STR_EQ(decide_sandbox_name(DECIDE_SANDBOX_WORKSPACE_WRITE), "workspace-write");
	ASSERT_STR_EQ(decide_decision_name(DECIDE_FORBIDDEN), "forbidden");
	return 0;
}

TEST(decide_looks_denied_detects_sandbox_denials)
{
	static const struct {
		int status;
		int sig;
		const char *out;
		bool denied;
	} cases[] = {
	    {.status = 1,
	     .out = "touch: cannot touch '/etc/x': Permission denied\n",
	     .denied = true},
	    {.status = 1, .out = "mkdir: Read-only file system", .denied = true},
	    {.status = 2, .out = "OPERATION NOT PERMITTED", .denied = true},
	    {.status = 6, .out = "curl: (7) Network is unreachable", .denied = true},
	    {.status = 0, .out = "Permission denied (but it worked)", .denied = false},
	    {.status = 1, .out = "error: tests failed", .denied = false},
	    {.status = 1, .out = "", .denied = false},
	    {.status = 128 + SIGSYS, .sig = SIGSYS, .out = "", .denied = true},
	    {.status = 128 + SIGKILL, .sig = SIGKILL, .out = "killed", .denied = false},
	    {.status = 1, .out = "permission\ndenied", .denied = false},
	    /* git remote add on the protected config; git push to a local remote; curl */
	    {.status = 255,
	     .out = "error: could not write config file .git/config: Device or resource busy",
	     .denied = true},
	    {.status = 1,
	     .out = "remote: error: unable to create temporary object directory",
	     .denied = true},
	    {.status = 128,
	     .out = "fatal: Unable to create '/r/.git/index.lock': x",
	     .denied = true},
	    {.status = 255, .out = "error: could not lock config file .git/config", .denied = true},
	    {.status = 7,
	     .out =
	         "curl: (7) Failed to connect to 127.0.0.1 port 8080: Couldn't connect to server",
	     .denied = true},
	    {.status = 0, .out = "Couldn't connect (but it worked)", .denied = false},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		bool got = decide_looks_denied(cases[i].status, cases[i].sig, cases[i].out,
		                               strlen(cases[i].out));

		if (got != cases[i].denied) {
			fprintf(stderr, "case %zu (%s): expected %d\n", i, cases[i].out,
			        cases[i].denied);
			return 1;
		}
	}
	return 0;
}

TEST(decide_safe_and_dangerous_tables)
{
	static const struct {
		const char *cmd;
		bool safe;
		bool dangerous;
	} cases[] = {
	    {.cmd = "cat x", .safe = true},
	    {.cmd = "/usr/bin/git log -p", .safe = true},
	    {.cmd = "git log --output=x", .safe = false},
	    {.cmd = "git", .safe = false},
	    {.cmd = "git branch -vv", .safe = true},
	    {.cmd = "git branch --delete x", .safe = false},
	    {.cmd = "sed -n 10p", .safe = true},
	    {.cmd = "sed -n 1,2,3p x", .safe = false},
	    {.cmd = "sed -n p x", .safe = false},
	    {.cmd = "sed -n 5pw x", .safe = false},
	    {.cmd = "find . -fprint0 x", .safe = false},
	    {.cmd = "rm -rf x", .dangerous = true},
	    {.cmd = "rm -r x", .dangerous = false},
	    {.cmd = "rm -- -f", .dangerous = false},
	    {.cmd = "sudo -E rm --force x", .dangerous = true},
	    {.cmd = "echo rm -rf x", .safe = true, .dangerous = false},
	    {.cmd = "git rm -f x", .dangerous = false},
	    /* Codex's read-only tools, one line each */
	    {.cmd = "base64 file", .safe = true},
	    {.cmd = "base64 -d file", .safe = true},
	    {.cmd = "base64 -o out file", .safe = false},
	    {.cmd = "base64 --output=out file", .safe = false},
	    {.cmd = "base32 file", .safe = true},
	    {.cmd = "tac log", .safe = true},
	    {.cmd = "numfmt --to=iec 1048576", .safe = true},
	    {.cmd = "expr 1 + 2", .safe = true},
	    {.cmd = "paste a b", .safe = true},
	    {.cmd = "fold -w 80 x", .safe = true},
	    {.cmd = "expand x", .safe = true},
	    {.cmd = "unexpand x", .safe = true},
	    {.cmd = "comm a b", .safe = true},
	    {.cmd = "join a b", .safe = true},
	    {.cmd = "column -t x", .safe = true},
	    {.cmd = "cksum x", .safe = true},
	    {.cmd = "b2sum x", .safe = true},
	    {.cmd = "sha224sum x", .safe = true},
	    {.cmd = "sha384sum x", .safe = true},
	    {.cmd = "/usr/bin/tac x", .safe = true},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char **argv;
		size_t argc;

		ASSERT_EQ(shell_split_words(cases[i].cmd, &argv, &argc), 0);
		if (safe_commands_is_known_safe(argc, argv) != cases[i].safe ||
		    safe_commands_is_dangerous(argc, argv) != cases[i].dangerous) {
			fprintf(stderr, "%s: expected safe=%d dangerous=%d\n", cases[i].cmd,
			        cases[i].safe, cases[i].dangerous);
			return 1;
		}
		shell_split_words_free(argv);
	}
	ASSERT(safe_commands_is_interpreter("/usr/bin/python3"));
	ASSERT(safe_commands_is_wrapper("sudo"));
	ASSERT(!safe_commands_is_wrapper("git"));
	return 0;
}
