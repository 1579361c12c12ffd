/*
 * Tests of the rules files: the interop fixtures (valid ones load, invalid
 * ones fail at the exact FILE:LINE:COL their first line names), a table of
 * malformed inputs with their positions, matching, load order, and the
 * amendments: atomic appends (also from two processes at once), no
 * duplicates, a missing final newline fixed, and removal that keeps every
 * other byte.
 */
#include "test.h"

#include "../core/rules-trust.h"
#include "../core/rules.h"
#include "../core/shell-split.h"
#include "../core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The heap count of rules_reloads_keep_memory_flat: ASan's, or glibc's. */
#if defined(__SANITIZE_ADDRESS__)
#define RULES_TEST__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RULES_TEST__ASAN 1
#endif
#endif
#ifdef RULES_TEST__ASAN
/* ASan's own count (its header is not always installed). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#define RULES_TEST__ASAN 0
#include <malloc.h>
#endif

/* Loads TEXT as "t.rules"; returns the rc, *CAUSE set on error. */
static int rules_test__load(struct rules *r, const char *text, char **cause)
{
	return rules_load_buffer(r, "t.rules", text, strlen(text), cause);
}

/* True when the words of CMD match some prefix rule of R with decision D. */
static int rules_test__decision(const struct rules *r, const char *cmd)
{
	struct rules_matches m = {0};
	char **argv;
	size_t argc;
	int d = -1;

	if (shell_split_words(cmd, &argv, &argc) != 0)
		return -2;
	rules_match_command(r, argc, argv, &m);
	if (m.n > 0)
		d = (int)rules_matches_strictest(&m);
	rules_matches_free(&m);
	shell_split_words_free(argv);
	return d;
}

TEST(rules_fixture_valid_team_loads)
{
	char *path = test_datapath("fixtures/rules/valid-team.rules");
	struct rules *r = rules_new();
	char *cause = NULL;
	const struct rules_rule *net;

	ASSERT_EQ(rules_load_file(r, path, &cause), 0);
	ASSERT(cause == NULL);
	ASSERT_EQ(rules_count(r), 7);
	ASSERT_EQ(rules_get(r, 0)->kind, RULES_KIND_PREFIX);
	ASSERT_EQ(rules_get(r, 0)->line, 2);
	ASSERT_EQ(rules_get(r, 0)->decision, RULES_PROMPT);
	ASSERT_STR_EQ(rules_get(r, 0)->justification, "talks to the remote");
	ASSERT_STR_EQ(rules_get(r, 0)->pattern_text, "[\"git\", [\"push\", \"fetch\", \"pull\"]]");
	ASSERT_STR_EQ(rules_get(r, 1)->text,
	              "prefix_rule(pattern=[\"npm\", \"test\"], decision=\"allow\")");
	ASSERT_EQ(rules_get(r, 1)->line, 10);
	ASSERT_EQ(rules_get(r, 3)->decision, RULES_FORBIDDEN);
	ASSERT_STR_EQ(rules_get(r, 3)->pattern_text, "[\"rm\", \"-rf\", \"/\"]");
	ASSERT_EQ(rules_get(r, 5)->kind, RULES_KIND_NETWORK);
	ASSERT_STR_EQ(rules_get(r, 5)->host, "registry.example.com");
	ASSERT_STR_EQ(rules_get(r, 5)->protocol, "https");
	ASSERT_STR_EQ(rules_get(r, 0)->file, path);

	ASSERT_EQ(rules_test__decision(r, "git push origin main"), RULES_PROMPT);
	ASSERT_EQ(rules_test__decision(r, "git fetch"), RULES_PROMPT);
	ASSERT_EQ(rules_test__decision(r, "git status"), -1);
	ASSERT_EQ(rules_test__decision(r, "git"), -1);
	ASSERT_EQ(rules_test__decision(r, "npm test -- --watch"), RULES_ALLOW);
	ASSERT_EQ(rules_test__decision(r, "npm install"), -1);
	ASSERT_EQ(rules_test__decision(r, "rm -rf /"), RULES_FORBIDDEN);
	ASSERT_EQ(rules_test__decision(r, "rm -rf /tmp"), -1);
	ASSERT_EQ(rules_test__decision(r, "docker run x"), RULES_FORBIDDEN);
	ASSERT_EQ(rules_test__decision(r, "make"), RULES_ALLOW);

	net = rules_match_network(r, "Registry.Example.COM", "https");
	ASSERT(net != NULL);
	ASSERT_EQ(net->decision, RULES_ALLOW);
	ASSERT(rules_match_network(r, "registry.example.com", "http") == NULL);
	net = rules_match_network(r, "example.com", "http");
	ASSERT(net != NULL);
	ASSERT_EQ(net->decision, RULES_FORBIDDEN);
	ASSERT_STR_EQ(rules_decision_name(net->kind, net->decision), "deny");
	ASSERT(rules_match_network(r, "sub.example.com", "http") == NULL);
	rules_free(r);
	free(path);
	return 0;
}

TEST(rules_fixtures_invalid_report_exact_position)
{
	char *dir = test_datapath("fixtures/rules");
	DIR *d = opendir(dir);
	struct dirent *e;
	int seen = 0;

	ASSERT(d != NULL);
	while ((e = readdir(d)) != NULL) {
		char *path, *text, *cause = NULL, *want;
		struct rules *r;
		unsigned line, col;

		if (strncmp(e->d_name, "invalid-", 8) != 0)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		text = test_read_file(path, NULL);
		ASSERT(text != NULL);
		ASSERT_EQ(sscanf(text, "# error at %u:%u", &line, &col), 2);
		r = rules_new();
		ASSERT_EQ(rules_load_file(r, path, &cause), -EINVAL);
		ASSERT_EQ(rules_count(r), 0); /* nothing of a broken file is used */
		want = xasprintf("%s:%u:%u: ", path, line, col);
		if (cause == NULL || strncmp(cause, want, strlen(want)) != 0) {
			fprintf(stderr, "%s: expected \"%s...\", got \"%s\"\n", e->d_name, want,
			        cause ? cause : "(null)");
			return 1;
		}
		fprintf(stderr, "%s\n", cause);
		seen++;
		free(want);
		free(cause);
		free(text);
		free(path);
		rules_free(r);
	}
	closedir(d);
	free(dir);
	ASSERT(seen >= 4);
	return 0;
}

TEST(rules_malformed_positions_table)
{
	static const struct {
		const char *text;
		const char *where; /* "LINE:COL" */
		const char *msg;   /* part of the message */
	} cases[] = {
	    {"prefix_rule(pattern=[\"ls\"], decision=\"maybe\")", "1:38", "decision must be"},
	    {"prefix_rule(pattern=[\"ls\"]", "1:27",
	     "end of input inside the call opened on line 1"},
	    {"prefix_rule(\n  pattern=[\"ls\",\n", "3:1", "end of input"},
	    {"\n\nfoo()", "3:1", "unknown function 'foo'"},
	    {"prefix_rule(pattern=\"ls\")", "1:21", "pattern must be a list"},
	    {"prefix_rule(pattern=[])", "1:21", "pattern must not be empty"},
	    {"prefix_rule(pattern=[\"a\", []])", "1:27", "alternatives must not be empty"},
	    {"prefix_rule(pattern=[\"a\", [[\"b\"]]])", "1:28", "alternatives must be strings"},
	    {"prefix_rule(decision=\"allow\")", "1:1", "prefix_rule needs pattern="},
	    {"prefix_rule(pattern=[\"a\"], pattern=[\"b\"])", "1:28", "given twice"},
	    {"prefix_rule(pattern=[\"a\"], colour=\"red\")", "1:28", "no argument 'colour'"},
	    {"prefix_rule([\"a\"])", "1:13", "keyword argument"},
	    {"prefix_rule(pattern [\"a\"])", "1:21", "expected '='"},
	    {"prefix_rule pattern", "1:13", "expected '('"},
	    {"prefix_rule(pattern=[\"a\" \"b\"])", "1:26", "expected ',' or ']'"},
	    {"prefix_rule(pattern=[\"a\"] decision=\"allow\")", "1:27", "expected ',' or ')'"},
	    {"prefix_rule(pattern=[\"a\"], decision=allow)", "1:37", "expected a string or a list"},
	    {"prefix_rule(pattern=[\"a\"], decision=[\"allow\"])", "1:37",
	     "decision must be a string"},
	    {"prefix_rule(pattern=[\"a\"], justification=[])", "1:42",
	     "justification must be a string"},
	    {"prefix_rule(pattern=[\"a\\q\"])", "1:24", "unknown escape"},
	    {"prefix_rule(pattern=[\"a\\x4\"])", "1:24", "bad escape"},
	    {"prefix_rule(pattern=[\"a\\0\"])", "1:24", "bad escape"},
	    {"prefix_rule(pattern=[\"ab\n\"])", "1:22", "string not closed"},
	    {"prefix_rule(pattern=['ab)", "1:22", "string not closed"},
	    {"prefix_rule(pattern=[\"a\"]) @", "1:28", "unexpected character '@'"},
	    {"prefix_rule(pattern=[\"a\"], decision=\"allow\"))", "1:45", "expected a rule"},
	    {"prefix_rule(pattern=[1])", "1:22", "unexpected character '1'"},
	    {"prefix_rule(pattern=[\"git\"], match=[\"ls\"])", "1:37",
	     "match example \"ls\" does not match"},
	    {"prefix_rule(pattern=[\"git\"], not_match=[\"git x\"])", "1:41", "not_match example"},
	    {"prefix_rule(pattern=[\"git\"], match=\"git\")", "1:36", "must be a list of examples"},
	    {"prefix_rule(pattern=[\"git\"], match=[\"'git\"])", "1:37", "unclosed quote"},
	    {"prefix_rule(pattern=[\"git\"], match=[\"\"])", "1:37", "example is empty"},
	    {"prefix_rule(pattern=[\"git\"], match=[[\"git\", [\"x\"]]])", "1:45",
	     "example words must be strings"},
	    {"network_rule(host=\"x.org\")", "1:1", "network_rule needs decision="},
	    {"network_rule(decision=\"allow\")", "1:1", "network_rule needs host="},
	    {"network_rule(host=\"x.org\", decision=\"forbidden\")", "1:37",
	     "\"allow\", \"prompt\" or \"deny\""},
	    {"network_rule(host=\"x.org\", protocol=\"ftp\", decision=\"deny\")", "1:37",
	     "protocol must be"},
	    {"network_rule(host=\"a b\", decision=\"deny\")", "1:19", "not a host name"},
	    {"network_rule(host=\"\", decision=\"deny\")", "1:19", "must not be empty"},
	    {"network_rule(host=\"x.org\", pattern=[\"a\"], decision=\"deny\")", "1:28",
	     "no argument 'pattern'"},
	    {"prefix_rule(pattern=[\"ok\"])\n# fine\nprefix_rule(pattern=[\"x\"], "
	     "decision=\"nope\")",
	     "3:37", "decision"},
	    {"prefix_rule(pattern=[[[[[[[[[[\"a\"]]]]]]]]]])", "1:29", "nested too deeply"},
	    {"\tprefix_rule(pattern=[\"a\"], decision=\"x\")", "1:38", "decision"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct rules *r = rules_new();
		char *cause = NULL, *want = xasprintf("t.rules:%s: ", cases[i].where);

		if (rules_test__load(r, cases[i].text, &cause) != -EINVAL || cause == NULL ||
		    strncmp(cause, want, strlen(want)) != 0 ||
		    strstr(cause, cases[i].msg) == NULL) {
			fprintf(stderr, "case %zu `%s`:\n  expected %s...%s\n  got      %s\n", i,
			        cases[i].text, want, cases[i].msg, cause ? cause : "(loaded)");
			return 1;
		}
		ASSERT_EQ(rules_count(r), 0);
		free(cause);
		free(want);
		rules_free(r);
	}
	return 0;
}

TEST(rules_syntax_accepted)
{
	static const char text[] =
	    "# comment line\n"
	    "prefix_rule(pattern=['a', \"b\"],)  # trailing comma, both quotes\n"
	    "prefix_rule(\n\tpattern\n=\n[\n'c'\n,\n]\n,\n)\n"
	    "prefix_rule(pattern=[\"q\\\"\\\\\\n\\t\\x41\\u00e9\\101\"]) "
	    "prefix_rule(pattern=[\"two\"])\n"
	    "prefix_rule(pattern=[\"m\"], match=[\"m\", ['m', 'x y'], \"m 'a b'\"], "
	    "not_match=[\"n\"])\n"
	    "network_rule(host=\"*.Example.ORG\", decision=\"prompt\")\r\n"
	    "network_rule(host='api.x.io', protocol='HTTPS', decision='deny', "
	    "justification='no')\n";
	struct rules *r = rules_new();
	char *cause = NULL;
	const struct rules_rule *net;

	if (rules_test__load(r, text, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	ASSERT_EQ(rules_count(r), 7);
	ASSERT_EQ(rules_get(r, 0)->decision, RULES_ALLOW); /* Codex's default */
	ASSERT_EQ(rules_get(r, 1)->line, 3);
	ASSERT_STR_EQ(rules_get(r, 1)->pattern[0].alts[0], "c");
	ASSERT_STR_EQ(rules_get(r, 2)->pattern[0].alts[0], "q\"\\\n\tA\xc3\xa9"
	                                                   "A");
	ASSERT_EQ(rules_get(r, 3)->line, 12);
	ASSERT_EQ(rules_get(r, 3)->col, 50);
	ASSERT_STR_EQ(rules_get(r, 5)->host, "*.example.org");
	net = rules_match_network(r, "www.example.org", "https");
	ASSERT(net != NULL && net->decision == RULES_PROMPT);
	ASSERT(rules_match_network(r, "example.org", NULL) == NULL);
	ASSERT(rules_match_network(r, "badexample.org", NULL) == NULL);
	net = rules_match_network(r, "API.x.io", "https");
	ASSERT(net != NULL && net->decision == RULES_FORBIDDEN);
	ASSERT(rules_match_network(r, "api.x.io", "http") == NULL);
	rules_free(r);
	return 0;
}

TEST(rules_match_prefix_strictest_wins)
{
	static const char text[] =
	    "prefix_rule(pattern=[\"git\"], decision=\"allow\")\n"
	    "prefix_rule(pattern=[\"git\", [\"push\", \"fetch\"]], decision=\"prompt\")\n"
	    "prefix_rule(pattern=[\"git\", \"push\", \"--force\"], decision=\"forbidden\")\n"
	    "prefix_rule(pattern=[[\"python\", \"python3\"], \"-m\", \"pytest\"])\n"
	    "prefix_rule(pattern=[[\"x\", \"x\"], \"y\"], decision=\"prompt\")\n";
	static const struct {
		const char *cmd;
		int decision;
		size_t matches;
	} cases[] = {
	    {"git status", RULES_ALLOW, 1},
	    {"git", RULES_ALLOW, 1},
	    {"git push", RULES_PROMPT, 2},
	    {"git fetch origin", RULES_PROMPT, 2},
	    {"git push --force origin", RULES_FORBIDDEN, 3},
	    {"git push origin --force", RULES_PROMPT, 2},
	    {"gitk", -1, 0},
	    {"python3 -m pytest -x", RULES_ALLOW, 1},
	    {"python -m pytest", RULES_ALLOW, 1},
	    {"python -m pip", -1, 0},
	    {"x y", RULES_PROMPT, 1},
	    {"", -1, 0},
	};
	struct rules *r = rules_new();

	ASSERT_EQ(rules_test__load(r, text, NULL), 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct rules_matches m = {0};
		char **argv;
		size_t argc;

		ASSERT_EQ(shell_split_words(cases[i].cmd, &argv, &argc), 0);
		rules_match_command(r, argc, argv, &m);
		if (m.n != cases[i].matches ||
		    (m.n > 0 && (int)rules_matches_strictest(&m) != cases[i].decision)) {
			fprintf(stderr, "`%s`: %zu matches\n", cases[i].cmd, m.n);
			return 1;
		}
		/* Matches come in load order. */
		for (size_t j = 1; j < m.n; j++)
			ASSERT(m.v[j - 1]->line < m.v[j]->line);
		rules_matches_free(&m);
		shell_split_words_free(argv);
	}
	rules_free(r);
	return 0;
}

TEST(rules_load_dirs_in_name_order)
{
	const char *tmp = test_tmpdir();
	char *home = xasprintf("%s/home", tmp), *ws = xasprintf("%s/ws", tmp);
	char *p;
	struct rules *r = rules_new();
	char *cause = NULL;

	p = xasprintf("%s/rules", home);
	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/.airlock", ws);
	ASSERT_EQ(mkdir(ws, 0700), 0);
	ASSERT_EQ(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/.airlock/rules", ws);
	ASSERT_EQ(mkdir(p, 0700), 0);
	free(p);
#define W(path, text)                                                                              \
	do {                                                                                       \
		char *f__ = xasprintf path;                                                        \
		ASSERT_EQ(test_write_file(f__, text), 0);                                          \
		free(f__);                                                                         \
	} while (0)
	W(("%s/rules/b.rules", home), "prefix_rule(pattern=[\"b\"])\n");
	W(("%s/rules/a.rules", home), "prefix_rule(pattern=[\"a\"])\n");
	W(("%s/rules/c.txt", home), "not rules at all\n");
	W(("%s/rules/.hidden.rules", home), "broken(\n");
	/* (prompt: an untrusted workspace's allow rules would be dropped, SPEC 6) */
	W(("%s/.airlock/rules/0.rules", ws), "prefix_rule(pattern=[\"w\"], decision=\"prompt\")\n");
	ASSERT_EQ(rules_load_all(r, home, ws, &cause), 0);
	ASSERT_EQ(rules_count(r), 3);
	ASSERT_STR_EQ(rules_get(r, 0)->pattern[0].alts[0], "a");
	ASSERT_STR_EQ(rules_get(r, 1)->pattern[0].alts[0], "b");
	ASSERT_STR_EQ(rules_get(r, 2)->pattern[0].alts[0], "w");
	ASSERT_CONTAINS(rules_get(r, 2)->file, "/ws/.airlock/rules/0.rules");
	rules_free(r);

	/* A broken workspace file stops loading with its position. */
	W(("%s/.airlock/rules/1.rules", ws), "prefix_rule(pattern=[\"x\"], decision=\"yes\")\n");
	r = rules_new();
	ASSERT_EQ(rules_load_all(r, home, ws, &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "/ws/.airlock/rules/1.rules:1:37: ");
	free(cause);
	rules_free(r);
	/* Missing directories are no rules, not an error. */
	r = rules_new();
	ASSERT_EQ(rules_load_all(r, "/nonexistent/home", "/nonexistent/ws", NULL), 0);
	ASSERT_EQ(rules_count(r), 0);
	rules_free(r);
#undef W
	free(home);
	free(ws);
	return 0;
}

TEST(rules_amend_appends_exactly_once)
{
	const char *home = test_tmpdir();
	char *path = xasprintf("%s/rules/default.rules", home);
	char *words[] = {"git", "push", NULL};
	char *words2[] = {"it's \"quoted\"", "new\nline", NULL};
	struct rules *r = rules_new();
	char *text, *cause = NULL;
	struct rules *again;

	/* No file, no directory yet. */
	ASSERT_EQ(rules_amend_prefix(r, home, 2, words, RULES_ALLOW, &cause), 0);
	text = test_read_file(path, NULL);
	ASSERT_STR_EQ(text, "prefix_rule(pattern=[\"git\", \"push\"], decision=\"allow\")\n");
	free(text);
	ASSERT_EQ(rules_count(r), 1);
	ASSERT_EQ(rules_get(r, 0)->line, 1);
	ASSERT_STR_EQ(rules_get(r, 0)->file, path);
	ASSERT_EQ(rules_test__decision(r, "git push origin"), RULES_ALLOW);

	/* The same rule again: the file does not change. */
	ASSERT_EQ(rules_amend_prefix(r, home, 2, words, RULES_ALLOW, &cause), 0);
	ASSERT_EQ(rules_count(r), 1);

	/* Existing bytes are kept exactly, a missing final newline is added. */
	ASSERT_EQ(test_write_file(path, "# mine\r\n\tprefix_rule(pattern=[\"ls\"])  # keep"), 0);
	ASSERT_EQ(rules_amend_network(r, home, "Registry.npmjs.org", "https", RULES_ALLOW, &cause),
	          0);
	text = test_read_file(path, NULL);
	ASSERT_STR_EQ(text, "# mine\r\n\tprefix_rule(pattern=[\"ls\"])  # keep\n"
	                    "network_rule(host=\"Registry.npmjs.org\", protocol=\"https\", "
	                    "decision=\"allow\")\n");
	free(text);
	ASSERT_EQ(rules_count(r), 2);
	ASSERT_EQ(rules_get(r, 1)->line, 3);
	ASSERT(rules_match_network(r, "registry.npmjs.org", "https") != NULL);

	/* Odd words are quoted so the file still loads and means the same. */
	ASSERT_EQ(rules_amend_prefix(r, home, 2, words2, RULES_PROMPT, &cause), 0);
	again = rules_new();
	ASSERT_EQ(rules_load_file(again, path, &cause), 0);
	ASSERT_EQ(rules_count(again), 3);
	ASSERT_STR_EQ(rules_get(again, 2)->pattern[0].alts[0], "it's \"quoted\"");
	ASSERT_STR_EQ(rules_get(again, 2)->pattern[1].alts[0], "new\nline");
	ASSERT_EQ(rules_get(again, 2)->decision, RULES_PROMPT);
	ASSERT_EQ(rules_get(r, 2)->start, rules_get(again, 2)->start);
	rules_free(again);

	/* No temporary files are left behind. */
	{
		char *dir = xasprintf("%s/rules", home);
		DIR *d = opendir(dir);
		struct dirent *e;

		ASSERT(d != NULL);
		while ((e = readdir(d)) != NULL)
			ASSERT(strstr(e->d_name, ".tmp.") == NULL);
		closedir(d);
		free(dir);
	}
	ASSERT_EQ(rules_append_line(path, "two\nlines", &cause), -EINVAL);
	free(cause);
	/* A rule that would not load is never appended: the file stays as it was. */
	text = test_read_file(path, NULL);
	ASSERT_EQ(rules_amend_network(r, home, "x.io", "ftp", RULES_ALLOW, &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "protocol must be");
	free(cause);
	ASSERT_EQ(rules_amend_network(r, home, "two words", NULL, RULES_ALLOW, &cause), -EINVAL);
	free(cause);
	{
		char *now = test_read_file(path, NULL);

		ASSERT_STR_EQ(now, text);
		free(now);
	}
	free(text);
	ASSERT_EQ(rules_count(r), 3);
	rules_free(r);
	free(path);
	return 0;
}

TEST(rules_amend_concurrent_processes_lose_nothing)
{
	const char *home = test_tmpdir();
	char *path = xasprintf("%s/rules/default.rules", home);
	enum { PER_CHILD = 200 };
	pid_t pids[2];
	struct rules *r;
	char *text, *cause = NULL;
	size_t lines = 0;

	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		ASSERT(pids[c] >= 0);
		if (pids[c] == 0) {
			for (int i = 0; i < PER_CHILD; i++) {
				char w[32];
				char *words[] = {"cmd", w, NULL};

				snprintf(w, sizeof w, "c%d-%d", c, i);
				if (rules_amend_prefix(NULL, home, 2, words, RULES_ALLOW, NULL) !=
				    0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int c = 0; c < 2; c++) {
		int st;

		ASSERT_EQ(waitpid(pids[c], &st, 0), pids[c]);
		ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	text = test_read_file(path, NULL);
	ASSERT(text != NULL);
	for (char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	ASSERT_EQ(lines, 2 * PER_CHILD);
	r = rules_new();
	ASSERT_EQ(rules_load_file(r, path, &cause), 0);
	ASSERT_EQ(rules_count(r), 2 * PER_CHILD);
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < PER_CHILD; i += 37) {
			char cmd[64];

			snprintf(cmd, sizeof cmd, "cmd c%d-%d", c, i);
			ASSERT_EQ(rules_test__decision(r, cmd), RULES_ALLOW);
		}
	rules_free(r);
	free(text);
	free(path);
	return 0;
}

TEST(rules_remove_keeps_every_other_byte)
{
	const char *tmp = test_tmpdir();
	char *path = xasprintf("%s/x.rules", tmp);
	static const char before[] =
	    "# header\n"
	    "prefix_rule(pattern=[\"a\"])\n"
	    "prefix_rule(\n    pattern=[\"b\"],\n    decision=\"prompt\",\n)  # about b\n"
	    "prefix_rule(pattern=[\"c\"]) prefix_rule(pattern=[\"d\"])\n"
	    "network_rule(host=\"h.io\", decision=\"deny\")";
	struct rules *r = rules_new();
	char *text, *cause = NULL;

	ASSERT_EQ(test_write_file(path, before), 0);
	ASSERT_EQ(rules_load_file(r, path, &cause), 0);
	ASSERT_EQ(rules_count(r), 5);
	/* A multi-line rule and its trailing comment go with their lines. */
	ASSERT_EQ(rules_remove(rules_get(r, 1), &cause), 0);
	text = test_read_file(path, NULL);
	ASSERT_STR_EQ(text, "# header\n"
	                    "prefix_rule(pattern=[\"a\"])\n"
	                    "prefix_rule(pattern=[\"c\"]) prefix_rule(pattern=[\"d\"])\n"
	                    "network_rule(host=\"h.io\", decision=\"deny\")");
	free(text);
	/* The set is stale now: a removal by old offsets is refused. */
	ASSERT_EQ(rules_remove(rules_get(r, 2), &cause), -ESTALE);
	free(cause);
	rules_free(r);

	r = rules_new();
	ASSERT_EQ(rules_load_file(r, path, &cause), 0);
	/* A rule sharing its line with another: only its own bytes go. */
	ASSERT_EQ(rules_remove(rules_get(r, 1), &cause), 0);
	text = test_read_file(path, NULL);
	ASSERT_STR_EQ(text, "# header\n"
	                    "prefix_rule(pattern=[\"a\"])\n"
	                    " prefix_rule(pattern=[\"d\"])\n"
	                    "network_rule(host=\"h.io\", decision=\"deny\")");
	free(text);
	rules_free(r);

	r = rules_new();
	ASSERT_EQ(rules_load_file(r, path, &cause), 0);
	/* The last line, without a final newline. */
	ASSERT_EQ(rules_remove(rules_get(r, 2), &cause), 0);
	text = test_read_file(path, NULL);
	ASSERT_STR_EQ(text, "# header\n"
	                    "prefix_rule(pattern=[\"a\"])\n"
	                    " prefix_rule(pattern=[\"d\"])\n");
	free(text);
	rules_free(r);
	free(path);
	return 0;
}

TEST(rules_quote_and_format)
{
	char *q = rules_quote("a\"b\\c\nd\te\x01");
	char *words[] = {"git", "say \"hi\"", NULL};
	char *line;

	ASSERT_STR_EQ(q, "\"a\\\"b\\\\c\\nd\\te\\x01\"");
	free(q);
	line = rules_format_prefix(2, words, RULES_FORBIDDEN);
	ASSERT_STR_EQ(line,
	              "prefix_rule(pattern=[\"git\", \"say \\\"hi\\\"\"], decision=\"forbidden\")");
	free(line);
	line = rules_format_network("h.io", NULL, RULES_FORBIDDEN);
	ASSERT_STR_EQ(line, "network_rule(host=\"h.io\", decision=\"deny\")");
	free(line);
	return 0;
}

TEST(rules_index_pairs_and_fallback_keep_load_order)
{
	struct rules *r = rules_new();
	char *text = xstrdup("");
	char *argv[] = {"a5", "b7", "c", NULL};
	struct rules_matches m = {0};

	/* Interleave one-word rules, pair-indexed rules and a 9x9 (fallback) rule. */
	for (int i = 0; i < 3; i++) {
		char *t =
		    xasprintf("%sprefix_rule(pattern=[\"a5\"])\n"
		              "prefix_rule(pattern=[\"a5\", \"b7\"])\n"
		              "prefix_rule(pattern=[[\"a1\",\"a2\",\"a3\",\"a4\",\"a5\",\"a6\","
		              "\"a7\",\"a8\",\"a9\"], [\"b1\",\"b2\",\"b3\",\"b4\",\"b5\",\"b6\","
		              "\"b7\",\"b8\",\"b9\"], \"c\"])\n"
		              "prefix_rule(pattern=[[\"a5\", \"a5\"], [\"b7\", \"b7\"], \"c\"])\n"
		              "prefix_rule(pattern=[\"a5\", \"b8\"])\n",
		              text);

		free(text);
		text = t;
	}
	ASSERT_EQ(rules_test__load(r, text, NULL), 0);
	ASSERT_EQ(rules_count(r), 15);
	rules_match_command(r, 3, argv, &m);
	ASSERT_EQ(m.n, 12);
	for (size_t i = 0; i < m.n; i++) {
		ASSERT_EQ(rules_get(r, m.v[i]->index), m.v[i]);
		ASSERT(m.v[i]->line % 5 != 0); /* never the a5 b8 rule */
		if (i > 0)
			ASSERT(m.v[i - 1]->index < m.v[i]->index);
	}
	rules_matches_free(&m);
	free(text);
	rules_free(r);
	return 0;
}

/*
 * Codex users' own files load: a .codex/rules style file with multi-line
 * triple-quoted strings, host_executable, Codex's protocol names and a
 * bracketed IPv6 host with a port; a blank justification is an error.
 */
TEST(rules_codex_style_file_loads)
{
	char *path = test_datapath("codex/development.rules");
	struct rules *r = rules_new();
	char *cause = NULL;
	const struct rules_rule *rule;

	ASSERT_EQ(rules_load_file(r, path, &cause), 0);
	ASSERT(cause == NULL);
	ASSERT_EQ(rules_count(r), 10);
	rule = rules_get(r, 0);
	ASSERT_EQ(rule->kind, RULES_KIND_HOST_EXECUTABLE);
	ASSERT_STR_EQ(rule->exe_name, "git");
	ASSERT_EQ(rule->n_exe_paths, 2);
	ASSERT_STR_EQ(rule->exe_paths[1], "/usr/local/bin/git");
	rule = rules_get(r, 1);
	ASSERT_EQ(rule->line, 13);
	ASSERT_STR_EQ(rule->justification,
	              "Talks to the remote: the user\nwants to see every push and fetch.");
	ASSERT_STR_EQ(rules_get(r, 2)->justification, "Builds stay inside target/.");
	/* Lines after a multi-line string are still counted right. */
	ASSERT_EQ(rules_get(r, 2)->line, 25);
	ASSERT_EQ(rules_get(r, 3)->line, 31);
	ASSERT_EQ(rules_test__decision(r, "rm -rf x"), RULES_FORBIDDEN);
	/* host_executable: the pinned paths count for git, another does not. */
	ASSERT_STR_EQ(rules_resolve_program(r, "/usr/bin/git"), "git");
	ASSERT(rules_resolve_program(r, "/tmp/git") == NULL);
	ASSERT_STR_EQ(rules_resolve_program(r, "/bin/rm"), "rm");
	ASSERT_STR_EQ(rules_resolve_program(r, "rm"), "rm");
	/* Codex's protocol names map onto the proxy's. */
	rule = rules_match_network(r, "crates.io", "https");
	ASSERT(rule != NULL && rule->decision == RULES_ALLOW);
	rule = rules_match_network(r, "proxy.internal", "https");
	ASSERT(rule != NULL && rule->decision == RULES_PROMPT);
	rule = rules_match_network(r, "a.socks.example", "socks5");
	ASSERT(rule != NULL && rule->decision == RULES_ALLOW);
	ASSERT(rules_match_network(r, "dns.example", "socks5") == NULL);
	/* [::1]:8080 allows that port only; unknown port: an allow never applies. */
	rule = rules_match_network_port(r, "::1", "http", 8080);
	ASSERT(rule != NULL && rule->decision == RULES_ALLOW);
	ASSERT(rules_match_network_port(r, "::1", "http", 8081) == NULL);
	ASSERT(rules_match_network(r, "::1", "http") == NULL);
	rule = rules_match_network(r, "FE80::1", "https");
	ASSERT(rule != NULL && rule->decision == RULES_FORBIDDEN);
	rules_free(r);
	free(path);

	/* Codex's validation and the new forms' errors, with their positions. */
	{
		static const struct {
			const char *text;
			const char *where;
			const char *msg;
		} bad[] = {
		    {"prefix_rule(pattern=[\"a\"], justification=\"  \")", "1:42",
		     "justification must not be blank"},
		    {"prefix_rule(pattern=[\"a\"], justification=\"\")", "1:42",
		     "justification must not be blank"},
		    {"prefix_rule(pattern=[\"a\"], justification=\"\"\"x\"\")", "1:42",
		     "triple-quoted string not closed"},
		    {"host_executable(name=\"git\")", "1:1", "needs paths="},
		    {"host_executable(name=\"/usr/bin/git\", paths=[])", "1:22", "bare name"},
		    {"host_executable(name=\"git\", paths=[\"git\"])", "1:36", "must be absolute"},
		    {"host_executable(name=\"git\", paths=[\"/usr/bin/gitx\"])", "1:36",
		     "end in /git"},
		    {"network_rule(host=\"[::1\", decision=\"allow\")", "1:19", "bracketed IPv6"},
		    {"network_rule(host=\"[zz::1]\", decision=\"allow\")", "1:19",
		     "bracketed IPv6"},
		    {"network_rule(host=\"[::1]:0\", decision=\"allow\")", "1:19", "1-65535"},
		    {"network_rule(host=\"a.b:99999\", decision=\"allow\")", "1:19", "1-65535"},
		    {"network_rule(host=\"a\", protocol=\"quic\", decision=\"allow\")", "1:33",
		     "socks5_udp"},
		};

		for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
			char *want = xasprintf("t.rules:%s: ", bad[i].where);

			r = rules_new();
			cause = NULL;
			ASSERT_EQ(rules_test__load(r, bad[i].text, &cause), -EINVAL);
			ASSERT(cause != NULL);
			if (strncmp(cause, want, strlen(want)) != 0 ||
			    strstr(cause, bad[i].msg) == NULL)
				fprintf(stderr, "case %zu: %s\n", i, cause);
			ASSERT(strncmp(cause, want, strlen(want)) == 0);
			ASSERT_CONTAINS(cause, bad[i].msg);
			free(cause);
			free(want);
			rules_free(r);
		}
	}
	return 0;
}

TEST(rules_file_that_is_not_utf8_is_an_error)
{
	struct rules *r = rules_new();
	char *cause = NULL;

	/* A Latin-1 é in a comment on line 2: refused with its place, nothing loaded. */
	ASSERT_EQ(rules_test__load(r,
	                           "prefix_rule(pattern=[\"ls\"], decision=\"allow\")\n"
	                           "# caf\xe9\n",
	                           &cause),
	          -EINVAL);
	ASSERT_STR_EQ(cause, "t.rules:2:6: not UTF-8 (byte 0xe9)");
	free(cause);
	cause = NULL;
	/* Valid UTF-8 is fine, anywhere. */
	ASSERT_EQ(rules_test__load(
	              r, "# café ✓\nprefix_rule(pattern=[\"ls\"], decision=\"allow\")\n", &cause),
	          0);
	rules_free(r);
	/* The same from a file on disk, as airlock loads them: refused too. */
	char *dir = xasprintf("%s/rules", test_tmpdir()), *file = xasprintf("%s/x.rules", dir);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"ls\"], decision=\"allow\")\n"
	                                "# caf\xe9\n"),
	          0);
	r = rules_new();
	ASSERT_EQ(rules_load_dir(r, dir, &cause), -EINVAL);
	char *want = xasprintf("%s:2:6: not UTF-8 (byte 0xe9)", file);
	ASSERT_STR_EQ(cause, want);
	free(want);
	free(cause);
	rules_free(r);
	free(file);
	free(dir);
	return 0;
}

/* SHA-256 known answers (FIPS 180-4 examples, and a message over two blocks). */
TEST(rules_trust_sha256_known_answers)
{
	static const struct {
		const char *msg;
		const char *hex;
	} cases[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmno"
	     "pqrlmnopqrsmnopqrstnopqrstu",
	     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	};
	char hex[65];

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		rules_trust_sha256_hex(cases[i].msg, strlen(cases[i].msg), hex);
		ASSERT_STR_EQ(hex, cases[i].hex);
	}
	return 0;
}

/* Loads HOME's and WS's rules into a new set, filling INFO; NULL on error. */
static struct rules *rules_test__load_ws(const char *home, const char *ws,
                                         struct rules_workspace_info *info)
{
	struct rules *r = rules_new();
	char *cause = NULL;

	if (rules_load_all_info(r, home, ws, info, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		rules_free(r);
		return NULL;
	}
	return r;
}

/*
 * A repository's own rules restrict only until `airlock trust` pins them;
 * editing one byte untrusts them; a planted host_executable never loosens
 * the user's rules; revoking untrusts; a rules dir one level down is
 * another workspace, never read for this one.
 */
TEST(rules_workspace_trust_pins_content)
{
	const char *tmp = test_tmpdir();
	char *home = xasprintf("%s/home", tmp), *ws = xasprintf("%s/ws", tmp);
	char *f1 = xasprintf("%s/.codex/rules/dev.rules", ws);
	char *f2 = xasprintf("%s/.airlock/rules/a.rules", ws);
	char *d, *cause = NULL, *list = NULL;
	struct rules_workspace_info info;
	struct rules *r;

	ASSERT_EQ(mkdir(home, 0700), 0);
	d = xasprintf("%s/rules", home);
	ASSERT_EQ(mkdir(d, 0700), 0);
	free(d);
	d = xasprintf("%s/rules/user.rules", home);
	ASSERT_EQ(test_write_file(d, "prefix_rule(pattern=[\"rm\"], decision=\"forbidden\")\n"), 0);
	free(d);
	ASSERT_EQ(mkdir(ws, 0700), 0);
	d = xasprintf("%s/.codex", ws);
	ASSERT_EQ(mkdir(d, 0700), 0);
	free(d);
	d = xasprintf("%s/.codex/rules", ws);
	ASSERT_EQ(mkdir(d, 0700), 0);
	free(d);
	d = xasprintf("%s/.airlock", ws);
	ASSERT_EQ(mkdir(d, 0700), 0);
	free(d);
	d = xasprintf("%s/.airlock/rules", ws);
	ASSERT_EQ(mkdir(d, 0700), 0);
	free(d);
	ASSERT_EQ(test_write_file(f1,
	                          "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n"
	                          "prefix_rule(pattern=[\"git\", \"push\"], decision=\"prompt\")\n"
	                          "host_executable(name=\"rm\", paths=[\"/nowhere/rm\"])\n"
	                          "network_rule(host=\"evil.example\", decision=\"allow\")\n"),
	          0);
	ASSERT_EQ(test_write_file(f2, "prefix_rule(pattern=[\"curl\"], decision=\"forbidden\")\n"),
	          0);

	/* Untrusted: forbidden and prompt apply, allow and the path pin do not. */
	r = rules_test__load_ws(home, ws, &info);
	ASSERT(r != NULL);
	ASSERT_EQ(info.files, 2);
	ASSERT(!info.trusted);
	ASSERT_EQ(info.ignored_allow, 3);
	ASSERT_EQ(rules_test__decision(r, "make all"), -1);
	ASSERT_EQ(rules_test__decision(r, "git push"), RULES_PROMPT);
	ASSERT_EQ(rules_test__decision(r, "curl x"), RULES_FORBIDDEN);
	ASSERT_STR_EQ(rules_resolve_program(r, "/bin/rm"), "rm");
	ASSERT(rules_match_network(r, "evil.example", "https") == NULL);
	/* .airlock/rules loads before .codex/rules. */
	ASSERT_CONTAINS(rules_get(r, 1)->file, "/ws/.airlock/rules/a.rules");
	ASSERT_CONTAINS(rules_get(r, 2)->file, "/ws/.codex/rules/dev.rules");
	rules_free(r);

	/* Trusted: everything applies. */
	ASSERT_EQ(rules_trust_pin(home, ws, &cause), 0);
	r = rules_test__load_ws(home, ws, &info);
	ASSERT(r != NULL);
	ASSERT(info.trusted);
	ASSERT_EQ(info.ignored_allow, 0);
	ASSERT_EQ(rules_test__decision(r, "make all"), RULES_ALLOW);
	ASSERT(rules_resolve_program(r, "/bin/rm") == NULL);
	rules_free(r);
	ASSERT_EQ(rules_trust_list(home, &list, &cause), 0);
	ASSERT_CONTAINS(list, "/ws\ttrusted\t2 files\n");
	free(list);

	/* One byte changed: untrusted again. */
	ASSERT_EQ(test_write_file(f2, "prefix_rule(pattern=[\"curl\"], decision=\"forbidden\") \n"),
	          0);
	r = rules_test__load_ws(home, ws, &info);
	ASSERT(r != NULL);
	ASSERT(!info.trusted);
	ASSERT_EQ(rules_test__decision(r, "make all"), -1);
	rules_free(r);
	ASSERT_EQ(rules_trust_list(home, &list, &cause), 0);
	ASSERT_CONTAINS(list, "/ws\tchanged\t2 files\n");
	free(list);
	/* A new file untrusts too. */
	ASSERT_EQ(rules_trust_pin(home, ws, &cause), 0);
	d = xasprintf("%s/.codex/rules/more.rules", ws);
	ASSERT_EQ(test_write_file(d, "prefix_rule(pattern=[\"npm\"])\n"), 0);
	r = rules_test__load_ws(home, ws, &info);
	ASSERT(r != NULL && !info.trusted && info.files == 3);
	rules_free(r);
	ASSERT_EQ(unlink(d), 0);
	free(d);
	r = rules_test__load_ws(home, ws, &info);
	ASSERT(r != NULL && info.trusted);
	rules_free(r);
	/* Revoked: untrusted; revoking twice says there was nothing. */
	ASSERT_EQ(rules_trust_revoke(home, ws, &cause), 0);
	ASSERT_EQ(rules_trust_revoke(home, ws, &cause), 1);
	r = rules_test__load_ws(home, ws, &info);
	ASSERT(r != NULL && !info.trusted);
	rules_free(r);
	/* A workspace named another way (a trailing slash, a symlink) is the same one. */
	ASSERT_EQ(rules_trust_pin(home, ws, &cause), 0);
	d = xasprintf("%s/link", tmp);
	ASSERT_EQ(symlink(ws, d), 0);
	r = rules_test__load_ws(home, d, &info);
	ASSERT(r != NULL && info.trusted);
	rules_free(r);
	free(d);
	/* A subdirectory is not this workspace: its rules are its own, untrusted. */
	d = xasprintf("%s/pkg", ws);
	ASSERT_EQ(mkdir(d, 0700), 0);
	r = rules_test__load_ws(home, d, &info);
	ASSERT(r != NULL && !info.trusted && info.files == 0);
	rules_free(r);
	free(d);
	free(f1);
	free(f2);
	free(home);
	free(ws);
	return 0;
}

/*
 * Choosing `p` never rewrites default.rules: a user appending 1000 lines
 * at the same moment (O_APPEND, no lock, as `echo ... >>` does) loses none
 * of them, every amended rule is there once, the file loads, and a
 * symlinked default.rules stays a symlink; `rules remove` keeps it a
 * symlink too, and the line numbers an amend reports are where the rule is.
 */
TEST(rules_amend_appends_beside_a_user_editing)
{
	const char *tmp = test_tmpdir();
	char *home = xasprintf("%s/home", tmp), *dir = xasprintf("%s/home/rules", tmp);
	char *real = xasprintf("%s/dotfiles-default.rules", tmp);
	char *path = xasprintf("%s/default.rules", dir);
	enum { USER_LINES = 1000, AMENDS = 100 };
	struct rules *r;
	struct stat st;
	char *text, *cause = NULL;
	size_t user = 0, amended = 0;
	pid_t pid;
	int status;

	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(test_write_file(real, "# the user's own file, kept in dotfiles\n"), 0);
	ASSERT_EQ(symlink(real, path), 0);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_APPEND);

		if (fd < 0)
			_exit(1);
		for (int i = 0; i < USER_LINES; i++) {
			char line[96];
			int n =
			    snprintf(line, sizeof line,
			             "prefix_rule(pattern=[\"user%d\"], decision=\"prompt\")\n", i);

			if (write(fd, line, (size_t)n) != n)
				_exit(1);
		}
		_exit(0);
	}
	r = rules_new();
	for (int i = 0; i < AMENDS; i++) {
		char w[32];
		char *words[] = {"amend", w, NULL};

		snprintf(w, sizeof w, "a%d", i);
		ASSERT_EQ(rules_amend_prefix(r, home, 2, words, RULES_ALLOW, &cause), 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(lstat(path, &st), 0);
	ASSERT(S_ISLNK(st.st_mode));
	text = test_read_file(path, NULL);
	ASSERT(text != NULL);
	for (char *p = strstr(text, "\"user"); p != NULL; p = strstr(p + 1, "\"user"))
		user++;
	for (char *p = strstr(text, "\"amend\""); p != NULL; p = strstr(p + 1, "\"amend\""))
		amended++;
	ASSERT_EQ(user, USER_LINES);
	ASSERT_EQ(amended, AMENDS);
	/* Each rule added to R points at the line that holds it. */
	for (size_t i = 0; i < rules_count(r); i++) {
		const struct rules_rule *rule = rules_get(r, i);
		unsigned line = 1;

		for (size_t k = 0; k < rule->start; k++)
			line += text[k] == '\n';
		ASSERT_EQ(line, rule->line);
		ASSERT(strncmp(text + rule->start, "prefix_rule(pattern=[\"amend\"", 28) == 0);
	}
	rules_free(r);
	r = rules_new();
	ASSERT_EQ(rules_load_file(r, path, &cause), 0);
	ASSERT_EQ(rules_count(r), USER_LINES + AMENDS);
	/* Remove one: the file is rewritten through the link, the link stays. */
	ASSERT_EQ(rules_remove(rules_get(r, 0), &cause), 0);
	ASSERT_EQ(lstat(path, &st), 0);
	ASSERT(S_ISLNK(st.st_mode));
	rules_free(r);
	r = rules_new();
	ASSERT_EQ(rules_load_file(r, real, &cause), 0);
	ASSERT_EQ(rules_count(r), USER_LINES + AMENDS - 1);
	rules_free(r);
	free(text);
	free(home);
	free(dir);
	free(real);
	free(path);
	return 0;
}

/*
 * Live reload: a rule added, removed or broken in a rules file is obeyed by
 * the next decision after rules_refresh (one stat per watched path); a
 * broken edit keeps the last good rules of that file, restricting only,
 * and says why; a rule pointer taken before a reload stays valid.
 */
TEST(rules_refresh_follows_edits)
{
	const char *tmp = test_tmpdir();
	char *home = xasprintf("%s/home", tmp), *dir = xasprintf("%s/home/rules", tmp);
	char *file = xasprintf("%s/team.rules", dir), *cause = NULL;
	struct rules *r = rules_new();
	const struct rules_rule *old;
	bool changed;

	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n"
	                                "prefix_rule(pattern=[\"curl\"], decision=\"prompt\")\n"),
	          0);
	ASSERT_EQ(rules_load_all(r, home, NULL, &cause), 0);
	ASSERT_EQ(rules_test__decision(r, "make"), RULES_ALLOW);
	old = rules_get(r, 1);
	/* Nothing changed: no reload. */
	ASSERT_EQ(rules_refresh(r, &changed, &cause), 0);
	ASSERT(!changed);
	/* A forbidden rule added in a new file: obeyed at once. */
	{
		char *f2 = xasprintf("%s/zz.rules", dir);

		ASSERT_EQ(
		    test_write_file(f2, "prefix_rule(pattern=[\"rm\"], decision=\"forbidden\")\n"),
		    0);
		ASSERT_EQ(rules_refresh(r, &changed, &cause), 0);
		ASSERT(changed);
		ASSERT_EQ(rules_test__decision(r, "rm x"), RULES_FORBIDDEN);
		free(f2);
	}
	/* The old pointer still reads (it lives until rules_free). */
	ASSERT_STR_EQ(old->pattern[0].alts[0], "curl");
	/* `rules remove` of the make rule: gone from the next decision on. */
	ASSERT_EQ(rules_remove(rules_get(r, 0), &cause), 0);
	ASSERT_EQ(rules_refresh(r, &changed, &cause), 0);
	ASSERT(changed);
	ASSERT_EQ(rules_test__decision(r, "make"), -1);
	ASSERT_EQ(rules_get(r, 0)->line, 1); /* curl moved up: lines cite what is there */
	ASSERT_STR_EQ(rules_get(r, 0)->pattern[0].alts[0], "curl");
	/* A broken edit: the last good rules stay, restricting only; allow ones go. */
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"curl\"], decision=\"prompt\")\n"
	                                "prefix_rule(pattern=[\"npm\"], decision=\"allow\")\n"),
	          0);
	ASSERT_EQ(rules_refresh(r, &changed, &cause), 0);
	ASSERT_EQ(rules_test__decision(r, "npm"), RULES_ALLOW);
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"curl\"], decision=\"prompt\")\n"
	                                "prefix_rule(pattern=[\"npm\"], decision=\"allow\"\n"),
	          0);
	cause = NULL;
	ASSERT_EQ(rules_refresh(r, &changed, &cause), -EINVAL);
	ASSERT(changed);
	ASSERT(cause != NULL);
	ASSERT_CONTAINS(cause, "team.rules:");
	free(cause);
	cause = NULL;
	ASSERT(rules_broken(r) != NULL);
	ASSERT_EQ(rules_test__decision(r, "curl x"), RULES_PROMPT);
	ASSERT_EQ(rules_test__decision(r, "npm"), -1);
	ASSERT_EQ(rules_test__decision(r, "rm x"), RULES_FORBIDDEN);
	/* Fixed: loads again, the mark goes. */
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"curl\"], decision=\"prompt\")\n"
	                                "prefix_rule(pattern=[\"npm\"], decision=\"allow\")\n "),
	          0);
	ASSERT_EQ(rules_refresh(r, &changed, &cause), 0);
	ASSERT(rules_broken(r) == NULL);
	ASSERT_EQ(rules_test__decision(r, "npm"), RULES_ALLOW);
	/* The cost of a refresh that finds nothing changed: a few stats. */
	{
		struct timespec a, b;
		double ns;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < 1000; i++)
			rules_refresh(r, NULL, NULL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1000;
		fprintf(stderr, "rules_refresh with nothing changed: %.0f ns\n", ns);
	}
	rules_free(r);
	free(file);
	free(dir);
	free(home);
	return 0;
}

/* Bytes the allocator holds for the program now (ASan's count under ASan). */
static size_t rules_test__heap(void)
{
#if RULES_TEST__ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* Writes N prefix rules to PATH, the first one's program named by GEN (so each write differs). */
static int rules_test__write_many(const char *path, int n, int gen)
{
	FILE *f = fopen(path, "w");

	ASSERT(f != NULL);
	for (int i = 0; i < n; i++)
		fprintf(f, "prefix_rule(pattern=[\"tool%d\", \"sub%d\"], decision=\"allow\")\n",
		        i == 0 ? gen : i, i);
	ASSERT_EQ(fclose(f), 0);
	return 0;
}

TEST(rules_reloads_keep_memory_flat)
{
	const char *tmp = test_tmpdir();
	char *home = xasprintf("%s/home", tmp), *dir = xasprintf("%s/home/rules", tmp);
	char *file = xasprintf("%s/team.rules", dir), *cause = NULL;
	struct rules *r = rules_new();
	size_t base, one, settled = 0, after;
	bool changed;

	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(rules_test__write_many(file, 1000, 0), 0);
	base = rules_test__heap();
	ASSERT_EQ(rules_load_all(r, home, NULL, &cause), 0);
	one = rules_test__heap() - base; /* one generation of 1000 rules */
	for (int gen = 1; gen <= 40; gen++) {
		ASSERT_EQ(rules_test__write_many(file, 1000, 100000 + gen), 0);
		ASSERT_EQ(rules_refresh(r, &changed, &cause), 0);
		ASSERT(changed);
		if (gen == 5)
			settled = rules_test__heap();
	}
	after = rules_test__heap();
	fprintf(stderr, "one generation: %zu bytes; after 5 reloads: +%zu; after 40: +%zu\n", one,
	        settled - base, after - base);
	/* 35 more reloads cost less than one more copy of the rules (before: 35 copies). */
	ASSERT(after < settled + one);
	ASSERT_EQ(rules_test__decision(r, "tool100040 sub0"), RULES_ALLOW);
	rules_free(r);
	free(home);
	free(dir);
	free(file);
	return 0;
}
