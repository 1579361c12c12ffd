/*
 * The decider (SPEC 11) with real programs: the example in man/examples
 * (allow read-only git, deny hosts not on its list) and small shell
 * scripts that sleep, crash or print garbage. Then the approval queue
 * with a decider: what it is asked (only what would prompt: its input
 * lines are counted), how its answers reach requesters and the audit log,
 * and `b` ("No, and always block HOST"), and prompts withdrawn when their
 * requester goes.
 */
#include "test.h"

#include "../core/approval.h"
#include "../core/config.h"
#include "../core/decider.h"
#include "../core/rules.h"
#include "../core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define DECIDER_TEST_PYTHON "/usr/bin/python3"

/* One answer, as a test records it. */
struct decider_test__answer {
	bool done;
	bool failed;
	enum decider_verdict verdict;
	char reason[512];
};

/* Records an answer. */
static void decider_test__cb(enum decider_verdict v, const char *reason, bool failed, void *data)
{
	struct decider_test__answer *a = data;

	a->done = true;
	a->failed = failed;
	a->verdict = v;
	snprintf(a->reason, sizeof a->reason, "%s", reason);
}

/* Runs LOOP until *DONE or for at most MS milliseconds. */
static void decider_test__run(uv_loop_t *loop, const bool *done, uint64_t ms)
{
	uint64_t end = uv_hrtime() + ms * 1000000;

	while (!*done && uv_hrtime() < end) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

/* Frees D and lets LOOP close its handles. */
static void decider_test__close(uv_loop_t *loop, struct decider *d)
{
	decider_free(d);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
}

/* Runs LOOP until *CALLS is not 0 or for at most MS milliseconds. */
static void decider_test__run_calls(uv_loop_t *loop, const int *calls, uint64_t ms)
{
	uint64_t end = uv_hrtime() + ms * 1000000;

	while (*calls == 0 && uv_hrtime() < end) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

/* How many lines the file at PATH has (0 when it is missing). */
static int decider_test__lines(const char *path)
{
	char *text = test_read_file(path, NULL);
	int n = 0;

	for (char *p = text; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* Skips the test where python3 is missing (the example decider is Python). */
#define DECIDER_TEST_NEED_PYTHON()                                                                 \
	do {                                                                                       \
		if (access(DECIDER_TEST_PYTHON, X_OK) != 0)                                        \
			SKIP("%s is not installed (the example decider is Python)",               \
			     DECIDER_TEST_PYTHON);                                                 \
	} while (0)

TEST(decider_example_allows_read_only_git_and_denies_unlisted_hosts)
{
	DECIDER_TEST_NEED_PYTHON();
	char *script = test_srcpath("man/examples/decider.py");
	char *log = xasprintf("%s/asked", test_tmpdir());
	char *argv[] = {DECIDER_TEST_PYTHON, script, "--host", "*.example.org", "--log", log};
	struct decider_spec spec = {.argv = argv, .argc = 6, .timeout_ms = 10000, .quiet = true};
	struct decider_test__answer git = {0}, host = {0}, listed = {0}, patch = {0};
	char *git_log[] = {"git", "log", "--oneline"}, *files[] = {"/w/a.c"};
	uv_loop_t loop;

	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	ASSERT_EQ(decider_starts(d), 0); /* started at the first question, not before */
	struct decider_query q1 = {.kind = "exec", .words = git_log, .n_words = 3, .cwd = "/w"};
	struct decider_query q2 = {.kind = "network", .host = "evil.test", .port = 443};
	struct decider_query q3 = {.kind = "network", .host = "pkg.example.org", .port = 443};
	struct decider_query q4 = {.kind = "patch", .words = files, .n_words = 1};
	struct decider_query q5 = {.kind = "exec", .words = git_log, .n_words = 3, .outside = 1};
	struct decider_test__answer outside = {0};
	/* Four questions outstanding at once, each answered by its id. */
	ASSERT(decider_ask(d, &q1, decider_test__cb, &git) > 0);
	ASSERT(decider_ask(d, &q2, decider_test__cb, &host) > 0);
	ASSERT(decider_ask(d, &q3, decider_test__cb, &listed) > 0);
	ASSERT(decider_ask(d, &q4, decider_test__cb, &patch) > 0);
	ASSERT(decider_ask(d, &q5, decider_test__cb, &outside) > 0);
	ASSERT_EQ(decider_outstanding(d), 5);
	decider_test__run(&loop, &patch.done, 10000);
	decider_test__run(&loop, &git.done, 1000);
	ASSERT(git.done && host.done && listed.done && patch.done);
	ASSERT(!git.failed && git.verdict == DECIDER_ALLOW);
	ASSERT_CONTAINS(git.reason, "only reads");
	ASSERT(!host.failed && host.verdict == DECIDER_DENY);
	ASSERT_CONTAINS(host.reason, "evil.test is not on the decider's list");
	ASSERT(!listed.failed && listed.verdict == DECIDER_ALLOW);
	ASSERT(!patch.failed && patch.verdict == DECIDER_ASK);
	/* Read-only git that would run outside the sandbox: a human decides. */
	decider_test__run(&loop, &outside.done, 2000);
	ASSERT(!outside.failed && outside.verdict == DECIDER_ASK);
	ASSERT_CONTAINS(outside.reason, "outside the sandbox");
	ASSERT_EQ(decider_starts(d), 1);
	ASSERT_EQ(decider_outstanding(d), 0);
	/* What it was asked: the shapes of SPEC 11, one line each. */
	ASSERT_EQ(decider_test__lines(log), 5);
	char *asked = test_read_file(log, NULL);
	ASSERT_CONTAINS(asked, "\"kind\":\"exec\",\"subject\":[\"git\",\"log\",\"--oneline\"]");
	ASSERT_CONTAINS(asked, "\"outside\":false}");
	ASSERT_CONTAINS(asked, "\"outside\":true}");
	ASSERT_CONTAINS(asked, "\"subject\":\"evil.test:443\"");
	ASSERT_CONTAINS(asked, "\"kind\":\"patch\",\"subject\":[\"/w/a.c\"]");
	free(asked);
	decider_test__close(&loop, d);
	free(script);
	free(log);
	return 0;
}

/* Whether a process whose command line holds WORD runs (zombies aside). */
static bool decider_test__running(const char *word)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		char *path, *cmd, *stat;
		size_t len = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		path = xasprintf("/proc/%s/cmdline", e->d_name);
		cmd = test_read_file(path, &len);
		free(path);
		path = xasprintf("/proc/%s/stat", e->d_name);
		stat = test_read_file(path, NULL);
		free(path);
		for (size_t i = 0; cmd != NULL && i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		found = cmd != NULL && strstr(cmd, word) != NULL && stat != NULL &&
		        strstr(stat, ") Z ") == NULL;
		free(cmd);
		free(stat);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

TEST(decider_slow_answer_fails_at_the_timeout)
{
	/* A child of its own that sleeps: it goes with the decider. */
	char *argv[] = {"/bin/sh", "-c", "sleep 31.25; true"};
	struct decider_spec spec = {.argv = argv, .argc = 3, .timeout_ms = 200, .quiet = true};
	struct decider_test__answer a = {0};
	char *words[] = {"make"};
	struct decider_query q = {.kind = "exec", .words = words, .n_words = 1};
	uv_loop_t loop;
	uint64_t t0 = uv_hrtime();

	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	ASSERT(decider_ask(d, &q, decider_test__cb, &a) > 0);
	decider_test__run(&loop, &a.done, 5000);
	ASSERT(a.done && a.failed && a.verdict == DECIDER_ASK);
	ASSERT_CONTAINS(a.reason, "did not answer within 200 ms");
	ASSERT((uv_hrtime() - t0) / 1000000 < 3000);
	for (int i = 0; i < 200 && decider_test__running("31.25"); i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(10000);
	}
	ASSERT(!decider_test__running("31.25"));
	decider_test__close(&loop, d);
	return 0;
}

TEST(decider_that_crashes_is_restarted_once_a_minute_at_most)
{
	char *starts = xasprintf("%s/starts", test_tmpdir());
	char *cmd = xasprintf("echo started >> '%s'; exit 3", starts);
	char *argv[] = {"/bin/sh", "-c", cmd};
	struct decider_spec spec = {.argv = argv, .argc = 3, .timeout_ms = 5000, .quiet = true};
	struct decider_test__answer a[3] = {0};
	char *words[] = {"make"};
	struct decider_query q = {.kind = "exec", .words = words, .n_words = 1};
	uv_loop_t loop;

	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	decider_ask(d, &q, decider_test__cb, &a[0]);
	decider_test__run(&loop, &a[0].done, 5000);
	ASSERT(a[0].done && a[0].failed);
	/* The first death: started again at the next question. */
	decider_ask(d, &q, decider_test__cb, &a[1]);
	decider_test__run(&loop, &a[1].done, 5000);
	ASSERT(a[1].done && a[1].failed);
	ASSERT_EQ(decider_starts(d), 2);
	/* The second, within the minute: not again; the question fails at once. */
	ASSERT_EQ(decider_ask(d, &q, decider_test__cb, &a[2]), 0);
	ASSERT(a[2].done && a[2].failed && a[2].verdict == DECIDER_ASK);
	ASSERT_CONTAINS(a[2].reason, "at most once a minute");
	ASSERT_EQ(decider_starts(d), 2);
	ASSERT_EQ(decider_test__lines(starts), 2);
	decider_test__close(&loop, d);
	free(starts);
	free(cmd);
	return 0;
}

TEST(decider_garbage_and_wrong_answers_are_failures)
{
	static const char *const scripts[] = {
	    "read l; echo 'this is not json'; exec sleep 30",
	    "read l; echo '{\"id\":\"1\",\"decision\":\"maybe\"}'; exec sleep 30",
	    "read l; echo '[\"allow\"]'; exec sleep 30",
	    "read l; head -c 70000 /dev/zero | tr '\\0' x; exec sleep 30",
	};
	for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
		char *argv[] = {"/bin/sh", "-c", (char *)scripts[i]};
		struct decider_spec spec = {.argv = argv, .argc = 3, .timeout_ms = 5000, .quiet = true};
		struct decider_test__answer a = {0};
		char *words[] = {"make"};
		struct decider_query q = {.kind = "exec", .words = words, .n_words = 1};
		uv_loop_t loop;

		ASSERT_EQ(uv_loop_init(&loop), 0);
		struct decider *d = decider_new(&loop, &spec);
		ASSERT(decider_ask(d, &q, decider_test__cb, &a) > 0);
		decider_test__run(&loop, &a.done, 4000);
		ASSERT(a.done && a.failed && a.verdict == DECIDER_ASK);
		ASSERT(strstr(a.reason, "out of form") != NULL || strstr(a.reason, "too long") != NULL);
		decider_test__close(&loop, d);
	}
	return 0;
}

TEST(decider_missing_program_fails_at_once)
{
	char *argv[] = {"/nonexistent/decider"};
	struct decider_spec spec = {.argv = argv, .argc = 1, .quiet = true};
	struct decider_test__answer a = {0};
	char *words[] = {"make"};
	struct decider_query q = {.kind = "exec", .words = words, .n_words = 1};
	uv_loop_t loop;

	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	ASSERT_EQ(decider_ask(d, &q, decider_test__cb, &a), 0);
	ASSERT(a.done && a.failed);
	ASSERT_CONTAINS(a.reason, "cannot start the decider /nonexistent/decider");
	decider_test__close(&loop, d);
	return 0;
}

/* ---- the approval queue with a decider ------------------------------------ */

/* What one requester saw. */
struct decider_test__res {
	int calls;
	bool allowed;
	bool prompted;
	enum audit_by by;
	char reason[512];
};

/* Records a queue result. */
static void decider_test__res_cb(const struct approval_result *res, void *data)
{
	struct decider_test__res *r = data;

	r->calls++;
	r->allowed = res->allowed;
	r->prompted = res->prompted;
	r->by = res->by;
	snprintf(r->reason, sizeof r->reason, "%s",
	         res->typed_reason != NULL ? res->typed_reason : res->reason);
}

/* A home with RULES_TEXT in rules/team.rules, an audit log and a queue. */
struct decider_test__env {
	char *home;
	char *log;
	struct rules *rules;
	struct audit *audit;
	struct approval_queue *q;
};

/* Sets up ENV under POLICY with DECIDER (may be NULL). */
static int decider_test__setup(struct decider_test__env *env, enum decide_approval policy,
                               const char *rules_text, struct decider *decider)
{
	static const char *const allowed[] = {"allowed.example"};
	struct approval_config cfg = {.approval = policy, .decider = decider};
	char *dir, *file, *cause = NULL;
	static int serial;

	memset(env, 0, sizeof *env);
	env->home = xasprintf("%s/home%d", test_tmpdir(), serial++);
	env->log = xasprintf("%s/audit.jsonl", env->home);
	dir = xasprintf("%s/rules", env->home);
	file = xasprintf("%s/team.rules", dir);
	ASSERT_EQ(mkdir(env->home, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(test_write_file(file, rules_text), 0);
	env->rules = rules_new();
	ASSERT_EQ(rules_load_all(env->rules, env->home, NULL, &cause), 0);
	env->audit = audit_open(env->log, &cause);
	ASSERT(env->audit != NULL);
	cfg.rules = env->rules;
	cfg.home = env->home;
	cfg.audit = env->audit;
	cfg.allowed_domains = allowed;
	cfg.n_allowed_domains = 1;
	env->q = approval_queue_new(&cfg);
	free(dir);
	free(file);
	return 0;
}

/* Frees ENV. */
static void decider_test__teardown(struct decider_test__env *env)
{
	approval_queue_free(env->q);
	audit_close(env->audit);
	rules_free(env->rules);
	free(env->home);
	free(env->log);
}

TEST(approval_decider_is_asked_only_what_would_prompt)
{
	DECIDER_TEST_NEED_PYTHON();
	char *script = test_srcpath("man/examples/decider.py");
	char *asked = xasprintf("%s/asked", test_tmpdir());
	char *argv[] = {DECIDER_TEST_PYTHON, script, "--host", "ok.example", "--log", asked};
	struct decider_spec spec = {.argv = argv, .argc = 6, .timeout_ms = 10000, .quiet = true};
	struct decider_test__res r[10] = {0};
	struct decider_test__env env;
	uv_loop_t loop;
	char *cat[] = {"cat", "notes.txt"}, *ls[] = {"ls", "-l"}, *touch[] = {"touch", "x"},
	     *rm[] = {"rm", "-f", "x"}, *gitls[] = {"git", "ls-files"};

	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	ASSERT_EQ(decider_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED,
	                              "prefix_rule(pattern=[\"ls\"], decision=\"allow\")\n"
	                              "prefix_rule(pattern=[\"rm\"], decision=\"forbidden\")\n"
	                              "network_rule(host=\"ruled.example\", decision=\"allow\")\n",
	                              d),
	          0);
	struct approval_request ex = {.kind = APPROVAL_EXEC, .cwd = "/w", .from = "agent"};
	struct approval_request net = {.kind = APPROVAL_NETWORK, .protocol = "https", .port = 443};

	/* Decided without it: a known-safe command, rules, config's domains. */
	ex.argv = cat, ex.argc = 2;
	ASSERT_EQ(approval_request(env.q, &ex, decider_test__res_cb, NULL, &r[0]), 0);
	ex.argv = ls;
	ASSERT_EQ(approval_request(env.q, &ex, decider_test__res_cb, NULL, &r[1]), 0);
	ex.argv = rm, ex.argc = 3;
	ASSERT_EQ(approval_request(env.q, &ex, decider_test__res_cb, NULL, &r[2]), 0);
	net.host = "ruled.example";
	ASSERT_EQ(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[3]), 0);
	net.host = "allowed.example";
	ASSERT_EQ(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[4]), 0);
	ASSERT(r[0].allowed && r[1].allowed && !r[2].allowed && r[3].allowed && r[4].allowed);
	ASSERT_EQ(decider_starts(d), 0);

	/* Would prompt: the decider allows read-only git (no prompt, by decider)... */
	ex.argv = gitls, ex.argc = 2;
	ASSERT(approval_request(env.q, &ex, decider_test__res_cb, NULL, &r[5]) > 0);
	ASSERT_EQ(approval_pending(env.q), 0); /* unseen while the decider decides */
	decider_test__run_calls(&loop, &r[5].calls, 10000);
	ASSERT(r[5].calls == 1 && r[5].allowed && !r[5].prompted && r[5].by == AUDIT_BY_DECIDER);
	ASSERT_CONTAINS(r[5].reason, "a git command that only reads");
	/* ...denies a host with its reason... */
	net.host = "evil.example";
	ASSERT(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[6]) > 0);
	decider_test__run_calls(&loop, &r[6].calls, 10000);
	ASSERT(r[6].calls == 1 && !r[6].allowed && r[6].by == AUDIT_BY_DECIDER);
	ASSERT_CONTAINS(r[6].reason, "evil.example is not on the decider's list of hosts");
	/* ...and asks a human about the rest: the prompt appears, with its word. */
	ex.argv = touch;
	ASSERT(approval_request(env.q, &ex, decider_test__res_cb, NULL, &r[7]) > 0);
	for (int i = 0; i < 10000 && approval_pending(env.q) == 0; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	ASSERT_EQ(approval_pending(env.q), 1);
	ASSERT_CONTAINS(approval_current(env.q)->reason, "decider: not a read-only git command");
	ASSERT_EQ(approval_answer(env.q, approval_current(env.q)->id, APPROVAL_SESSION), 0);
	ASSERT(r[7].calls == 1 && r[7].allowed && r[7].prompted && r[7].by == AUDIT_BY_USER);
	/* The session cache decides the same command from now on: not asked again. */
	ASSERT_EQ(approval_request(env.q, &ex, decider_test__res_cb, NULL, &r[8]), 0);
	ASSERT(r[8].allowed && r[8].by == AUDIT_BY_SESSION);
	ASSERT_EQ(decider_test__lines(asked), 3);
	ASSERT_EQ(decider_starts(d), 1);

	/* The audit log: by decider, with its reason. */
	char *audit = test_read_file(env.log, NULL);
	ASSERT_CONTAINS(audit, "\"subject\":\"evil.example:443\",\"protocol\":\"https\","
	                       "\"decision\":\"deny\",\"by\":\"decider\"");
	ASSERT_CONTAINS(audit, "\"reason\":\"evil.example is not on the decider's list of hosts\"");
	ASSERT_CONTAINS(audit, "\"by\":\"decider\",\"prompted\":false");
	free(audit);
	decider_test__teardown(&env);
	decider_test__close(&loop, d);
	free(script);
	free(asked);
	return 0;
}

TEST(approval_decider_failure_prompts_or_under_never_denies)
{
	char *argv[] = {"/bin/sh", "-c", "exec sleep 30"};
	struct decider_spec spec = {.argv = argv, .argc = 3, .timeout_ms = 150, .quiet = true};
	struct decider_test__res r[4] = {0};
	struct decider_test__env a, n;
	char *touch[] = {"touch", "x"}, *rm[] = {"rm", "-f", "x"};
	uv_loop_t loop;

	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	/* A human can answer: a slow decider leaves the prompt. */
	ASSERT_EQ(decider_test__setup(&a, DECIDE_APPROVAL_UNTRUSTED, "", d), 0);
	struct approval_request ex = {.kind = APPROVAL_EXEC, .argv = touch, .argc = 2, .cwd = "/w"};
	ASSERT(approval_request(a.q, &ex, decider_test__res_cb, NULL, &r[0]) > 0);
	for (int i = 0; i < 5000 && approval_pending(a.q) == 0; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	ASSERT_EQ(approval_pending(a.q), 1);
	ASSERT_CONTAINS(approval_current(a.q)->reason, "did not answer within 150 ms");
	ASSERT_EQ(r[0].calls, 0);
	decider_test__teardown(&a);

	/* Nobody can (policy never): refused, by policy, saying why. */
	decider_free(d);
	d = decider_new(&loop, &spec);
	ASSERT_EQ(decider_test__setup(&n, DECIDE_APPROVAL_NEVER, "", d), 0);
	ex.argv = rm, ex.argc = 3;
	ASSERT(approval_request(n.q, &ex, decider_test__res_cb, NULL, &r[1]) > 0);
	decider_test__run_calls(&loop, &r[1].calls, 5000);
	ASSERT(r[1].calls == 1 && !r[1].allowed && r[1].by == AUDIT_BY_POLICY);
	ASSERT_CONTAINS(r[1].reason, "the decider failed: the decider did not answer");
	ASSERT_EQ(approval_pending(n.q), 0);
	decider_test__teardown(&n);
	decider_test__close(&loop, d);
	return 0;
}

TEST(approval_withdrawn_prompt_leaves_an_audit_line)
{
	char *argv[] = {"/bin/sh", "-c", "exec sleep 30"};
	struct decider_spec spec = {.argv = argv, .argc = 3, .timeout_ms = 20000, .quiet = true};
	struct decider_test__env env;
	char *touch[] = {"touch", "x"}, *mk[] = {"mkdir", "y"};
	uv_loop_t loop;
	uint64_t w;

	ASSERT_EQ(uv_loop_init(&loop), 0);
	ASSERT_EQ(decider_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED, "", NULL), 0);
	struct approval_request ex = {.kind = APPROVAL_EXEC, .argv = touch, .argc = 2, .cwd = "/w"};
	w = approval_request(env.q, &ex, decider_test__res_cb, NULL, NULL);
	ASSERT(w > 0);
	ASSERT_EQ(approval_pending(env.q), 1);
	ASSERT_EQ(approval_cancel(env.q, w), 0);
	ASSERT_EQ(approval_pending(env.q), 0);
	char *audit = test_read_file(env.log, NULL);
	ASSERT_CONTAINS(audit, "\"subject\":[\"touch\",\"x\"],\"decision\":\"deny\","
	                       "\"by\":\"withdrawn\"");
	free(audit);
	decider_test__teardown(&env);

	/* Withdrawn while the decider is asked: its question goes too. */
	struct decider *d = decider_new(&loop, &spec);
	ASSERT_EQ(decider_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED, "", d), 0);
	ex.argv = mk;
	w = approval_request(env.q, &ex, decider_test__res_cb, NULL, NULL);
	ASSERT(w > 0);
	ASSERT_EQ(decider_outstanding(d), 1);
	ASSERT_EQ(approval_cancel(env.q, w), 0);
	ASSERT_EQ(decider_outstanding(d), 0);
	ASSERT_EQ(approval_pending(env.q), 0);
	audit = test_read_file(env.log, NULL);
	ASSERT_CONTAINS(audit, "\"subject\":[\"mkdir\",\"y\"],\"decision\":\"deny\","
	                       "\"by\":\"withdrawn\"");
	free(audit);
	decider_test__teardown(&env);
	decider_test__close(&loop, d);
	return 0;
}

TEST(approval_b_always_blocks_the_host_with_a_deny_rule)
{
	struct decider_test__env env;
	struct decider_test__res r[4] = {0};
	const struct approval_prompt *p;
	char *cause = NULL;
	size_t i;

	ASSERT_EQ(decider_test__setup(&env, DECIDE_APPROVAL_ON_REQUEST, "", NULL), 0);
	struct approval_request net = {
	    .kind = APPROVAL_NETWORK, .host = "Tracker.Example", .protocol = "https", .port = 443};
	ASSERT(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[0]) > 0);
	p = approval_current(env.q);
	for (i = 0; i < p->n_options && p->options[i].key != 'b'; i++)
		;
	ASSERT(i < p->n_options);
	ASSERT_STR_EQ(p->options[i].label, "No, and always block tracker.example");
	ASSERT_EQ(p->options[p->n_options - 1].answer, APPROVAL_DENY); /* esc still denies last */
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_DENY_RULE), 0);
	ASSERT(r[0].calls == 1 && !r[0].allowed && r[0].prompted);
	char *path = xasprintf("%s/rules/default.rules", env.home);
	char *text = test_read_file(path, NULL);
	ASSERT_CONTAINS(text, "network_rule(host=\"tracker.example\", decision=\"deny\")");
	free(text);
	/* Same session, any port or protocol: refused by the rule, no prompt, no lookup. */
	net.protocol = "http", net.port = 80;
	ASSERT_EQ(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[1]), 0);
	ASSERT(!r[1].allowed && r[1].by == AUDIT_BY_RULE);
	ASSERT(approval_network_refused_by_name(env.q, "tracker.example", "https", 443));
	/* However it is spelt: case, a trailing dot. */
	ASSERT(approval_network_refused_by_name(env.q, "TRACKER.Example.", "https", 443));
	net.host = "Tracker.Example.";
	ASSERT_EQ(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[3]), 0);
	ASSERT(!r[3].allowed && r[3].by == AUDIT_BY_RULE);
	net.host = "Tracker.Example";
	ASSERT_EQ(approval_pending(env.q), 0);
	char *audit = test_read_file(env.log, NULL);
	ASSERT_CONTAINS(audit, "\"by\":\"user\",\"prompted\":true,\"scope\":\"rule\"");
	free(audit);
	/* After a restart: the rule is read back from the file and still refuses. */
	approval_queue_free(env.q);
	rules_free(env.rules);
	env.rules = rules_new();
	ASSERT_EQ(rules_load_all(env.rules, env.home, NULL, &cause), 0);
	struct approval_config cfg = {.approval = DECIDE_APPROVAL_ON_REQUEST,
	                              .rules = env.rules,
	                              .home = env.home,
	                              .audit = env.audit};
	env.q = approval_queue_new(&cfg);
	ASSERT_EQ(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[2]), 0);
	ASSERT(!r[2].allowed && r[2].by == AUDIT_BY_RULE);
	ASSERT_EQ(approval_pending(env.q), 0);
	free(path);
	decider_test__teardown(&env);
	return 0;
}

/* ---- airlock exec with a decider (the real binary) ------------------------- */

/* Runs `airlock exec ARGS...` with AIRLOCK_HOME in the test's directory. */
static int decider_test__exec(struct test_run *r, const char *const *args)
{
	char *bin = test_buildpath("airlock");
	char *home = xasprintf("AIRLOCK_HOME=%s/home", test_tmpdir());
	char *env[] = {home, NULL};
	char *argv[24];
	size_t n = 0;
	int rc;

	argv[n++] = bin;
	argv[n++] = "exec";
	for (size_t i = 0; args[i] != NULL && n < 23; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	rc = test_run(r, argv, NULL, NULL, env, (uid_t)-1, 30);
	free(home);
	free(bin);
	return rc;
}

/* Writes home/config.json with a decider of COMMAND (a JSON array) and TIMEOUT_MS. */
static int decider_test__config(const char *command, unsigned timeout_ms)
{
	char *home = xasprintf("%s/home", test_tmpdir());
	char *path = xasprintf("%s/config.json", home);
	char *json = xasprintf("{\"decider\": {\"command\": %s, \"timeout_ms\": %u}}\n", command,
	                       timeout_ms);
	int rc;

	mkdir(home, 0700);
	rc = test_write_file(path, json);
	free(json);
	free(path);
	free(home);
	return rc;
}

/* The exec lines of the audit log. */
static char *decider_test__audit(void)
{
	char *path = xasprintf("%s/home/audit.jsonl", test_tmpdir());
	char *text = test_read_file(path, NULL);

	free(path);
	return text != NULL ? text : xstrdup("");
}

TEST(exec_decider_is_asked_what_would_prompt_and_fails_closed)
{
	DECIDER_TEST_NEED_PYTHON();
	char *script = test_srcpath("man/examples/decider.py");
	char *asked = xasprintf("%s/asked", test_tmpdir());
	char *made = xasprintf("%s/x", test_tmpdir());
	char *cmd = xasprintf("[\"%s\", \"%s\", \"--log\", \"%s\"]", DECIDER_TEST_PYTHON, script,
	                      asked);
	char *rules = xasprintf("%s/home/rules", test_tmpdir());
	char *rules_file = xasprintf("%s/team.rules", rules);
	struct test_run r;

	ASSERT_EQ(decider_test__config(cmd, 10000), 0);
	ASSERT_EQ(mkdir(rules, 0700), 0);
	ASSERT_EQ(test_write_file(rules_file, "prefix_rule(pattern=[\"rm\"], decision=\"forbidden\")\n"),
	          0);
	/* Would prompt: asked; the example leaves it to a human, and exec has none. */
	ASSERT_EQ(decider_test__exec(&r, (const char *[]){"-a", "untrusted", "--", "touch", made,
	                                                  NULL}),
	          0);
	ASSERT_EQ(r.status, 126);
	ASSERT_CONTAINS(r.err, "the decider asks: not a read-only git command");
	test_run_free(&r);
	ASSERT(access(made, F_OK) != 0);
	/* A forbidden rule decides: never asked. */
	ASSERT_EQ(decider_test__exec(&r, (const char *[]){"--", "rm", "-f", made, NULL}), 0);
	ASSERT_EQ(r.status, 126);
	ASSERT_CONTAINS(r.err, "forbidden by");
	test_run_free(&r);
	ASSERT_EQ(decider_test__lines(asked), 1);
	if (test_sandbox_usable()) {
		/* Known-safe under never: runs, not asked. */
		ASSERT_EQ(decider_test__exec(&r, (const char *[]){"--", "cat", "/dev/null", NULL}), 0);
		ASSERT_EQ(r.status, 0);
		test_run_free(&r);
		ASSERT_EQ(decider_test__lines(asked), 1);
		/* Allowed by the decider: runs, in the sandbox, as a human's "once" would. */
		ASSERT_EQ(decider_test__exec(&r, (const char *[]){"-a", "untrusted", "--", "git",
		                                                  "rev-parse", "--is-bare-repository",
		                                                  NULL}),
		          0);
		ASSERT_NE(r.status, 126);
		test_run_free(&r);
		ASSERT_EQ(decider_test__lines(asked), 2);
		char *audit = decider_test__audit();
		ASSERT_CONTAINS(audit, "\"subject\":[\"git\",\"rev-parse\",\"--is-bare-repository\"],"
		                       "\"decision\":\"allow\",\"by\":\"decider\",\"prompted\":false,"
		                       "\"scope\":\"once\",\"sandboxed\":true");
		ASSERT_CONTAINS(audit, "\"reason\":\"a git command that only reads\"");
		free(audit);
	}

	/* A decider that says no, with its reason: on stderr and in the audit log. */
	char *deny = xasprintf("%s/deny.sh", test_tmpdir());
	ASSERT_EQ(test_write_file(deny, "while read -r l; do\n"
	                                "  id=${l#*\\\"id\\\":\\\"}; id=${id%%\\\"*}\n"
	                                "  printf '{\"id\":\"%s\",\"decision\":\"deny\","
	                                "\"reason\":\"no touching here\"}\\n' \"$id\"\n"
	                                "done\n"),
	          0);
	free(cmd);
	cmd = xasprintf("[\"/bin/sh\", \"%s\"]", deny);
	ASSERT_EQ(decider_test__config(cmd, 10000), 0);
	ASSERT_EQ(decider_test__exec(&r, (const char *[]){"-a", "untrusted", "--", "touch", made,
	                                                  NULL}),
	          0);
	ASSERT_EQ(r.status, 126);
	ASSERT_STR_EQ(r.err, "airlock: denied by the decider: no touching here\n");
	test_run_free(&r);
	char *audit = decider_test__audit();
	ASSERT_CONTAINS(audit, "\"decision\":\"deny\",\"by\":\"decider\"");
	ASSERT_CONTAINS(audit, "\"reason\":\"no touching here\"");
	free(audit);

	/* One that sleeps past its timeout: refused at the timeout, not after the sleep. */
	ASSERT_EQ(decider_test__config("[\"/bin/sh\", \"-c\", \"exec sleep 30\"]", 300), 0);
	uint64_t t0 = uv_hrtime();
	ASSERT_EQ(decider_test__exec(&r, (const char *[]){"-a", "untrusted", "--", "touch", made,
	                                                  NULL}),
	          0);
	ASSERT_EQ(r.status, 126);
	ASSERT_CONTAINS(r.err, "the decider failed: the decider did not answer within 300 ms");
	ASSERT((uv_hrtime() - t0) / 1000000 < 10000);
	test_run_free(&r);
	ASSERT(access(made, F_OK) != 0);
	free(deny);
	free(cmd);
	free(rules);
	free(rules_file);
	free(script);
	free(asked);
	free(made);
	return 0;
}

TEST(approval_decider_judges_network_under_never)
{
	DECIDER_TEST_NEED_PYTHON();
	char *script = test_srcpath("man/examples/decider.py");
	char *asked = xasprintf("%s/asked", test_tmpdir());
	char *argv[] = {DECIDER_TEST_PYTHON, script, "--host", "ok.example", "--log", asked};
	struct decider_spec spec = {.argv = argv, .argc = 6, .timeout_ms = 10000, .quiet = true};
	struct decider_test__res r[3] = {0};
	struct decider_test__env env;
	uv_loop_t loop;

	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	ASSERT_EQ(decider_test__setup(&env, DECIDE_APPROVAL_NEVER,
	                              "network_rule(host=\"blocked.example\", decision=\"deny\")\n",
	                              d),
	          0);
	/* Under never a name nothing refuses is the decider's: the proxy looks it up. */
	ASSERT(!approval_network_refused_by_name(env.q, "ok.example", "https", 443));
	ASSERT(approval_network_refused_by_name(env.q, "blocked.example", "https", 443));
	struct approval_request net = {
	    .kind = APPROVAL_NETWORK, .host = "ok.example", .protocol = "https", .port = 443};
	ASSERT(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[0]) > 0);
	decider_test__run_calls(&loop, &r[0].calls, 10000);
	ASSERT(r[0].calls == 1 && r[0].allowed && r[0].by == AUDIT_BY_DECIDER);
	net.host = "elsewhere.example";
	ASSERT(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[1]) > 0);
	decider_test__run_calls(&loop, &r[1].calls, 10000);
	ASSERT(r[1].calls == 1 && !r[1].allowed && r[1].by == AUDIT_BY_DECIDER);
	/* A deny rule decides without it. */
	net.host = "blocked.example";
	ASSERT_EQ(approval_request(env.q, &net, decider_test__res_cb, NULL, &r[2]), 0);
	ASSERT(!r[2].allowed && r[2].by == AUDIT_BY_RULE);
	ASSERT_EQ(approval_pending(env.q), 0);
	ASSERT_EQ(decider_test__lines(asked), 2);
	decider_test__teardown(&env);
	decider_test__close(&loop, d);
	free(script);
	free(asked);
	return 0;
}

TEST(decider_question_keeps_words_and_reasons_are_one_clean_line)
{
	char *seen = xasprintf("%s/seen", test_tmpdir());
	char *script = xasprintf("%s/d.sh", test_tmpdir());
	char *argv[] = {"/bin/sh", script};
	struct decider_spec spec = {.argv = argv, .argc = 2, .timeout_ms = 5000, .quiet = true};
	struct decider_test__answer a = {0};
	char *words[] = {"git", "log\n--output=/etc/x", "bad\xff"};
	struct decider_query q = {.kind = "exec", .words = words, .n_words = 3};
	uv_loop_t loop;

	/* It answers with a reason that holds an escape sequence and a newline. */
	ASSERT_EQ(test_write_file(script,
	                          "read -r l; printf '%s\\n' \"$l\" > \"$0.seen\"\n"
	                          "printf '{\"id\":\"1\",\"decision\":\"deny\",\"reason\":"
	                          "\"red \\\\u001b[31m\\\\nsecond line\"}\\n'\n"
	                          "exec sleep 30\n"),
	          0);
	free(seen);
	seen = xasprintf("%s.seen", script);
	ASSERT_EQ(uv_loop_init(&loop), 0);
	struct decider *d = decider_new(&loop, &spec);
	ASSERT(decider_ask(d, &q, decider_test__cb, &a) > 0);
	decider_test__run(&loop, &a.done, 4000);
	ASSERT(a.done && !a.failed && a.verdict == DECIDER_DENY);
	ASSERT_STR_EQ(a.reason, "red  [31m second line");
	/* The question: one line, the words whole (a newline escaped, not a space). */
	char *line = test_read_file(seen, NULL);
	ASSERT_CONTAINS(line, "\"subject\":[\"git\",\"log\\n--output=/etc/x\",\"bad\xef\xbf\xbd\"]");
	ASSERT_EQ(decider_test__lines(seen), 1);
	free(line);
	decider_test__close(&loop, d);
	free(seen);
	free(script);
	return 0;
}

TEST(config_decider_and_attention_keys)
{
	struct config c;
	char *cause = NULL;

	ASSERT_EQ(config_parse(&c,
	                       "{\"decider\": {\"command\": [\"/usr/bin/decide\", \"--strict\"], "
	                       "\"timeout_ms\": 750}, \"attention\": \"osc9\"}",
	                       "config.json", &cause),
	          0);
	ASSERT_EQ(c.n_decider_command, 2);
	ASSERT_STR_EQ(c.decider_command[0], "/usr/bin/decide");
	ASSERT_STR_EQ(c.decider_command[1], "--strict");
	ASSERT_EQ(c.decider_timeout_ms, 750);
	ASSERT_STR_EQ(c.attention, "osc9");
	config_free(&c);
	static const char *const bad[][2] = {
	    {"{\"decider\": {\"command\": [\"decide\"]}}", "not an absolute path"},
	    {"{\"decider\": {\"command\": []}}", "must name a program"},
	    {"{\"decider\": {\"command\": [\"/d\"], \"timeout_ms\": 0}}", "milliseconds"},
	    {"{\"decider\": {\"command\": [\"/d\"], \"wait\": 1}}", "unknown key"},
	    {"{\"attention\": \"loud\"}", "\"loud\" is not one of bell, osc9, none"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ASSERT_EQ(config_parse(&c, bad[i][0], "config.json", &cause), -EINVAL);
		ASSERT_CONTAINS(cause, bad[i][1]);
		free(cause);
		cause = NULL;
	}
	return 0;
}
