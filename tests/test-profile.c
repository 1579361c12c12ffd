/*
 * Permission profiles, rejection by kind and timeouts (SPEC section 12),
 * through the real binary: a profile's split policy enforced by the real
 * helper in a real sandbox; the built-in profiles planned exactly as the
 * legacy flags they stand for (the helper's own --print-bwrap-args, run
 * through a wrapper that adds it); the usage errors; `exec --timeout`; and
 * the approval queue refusing the rejected kinds of prompt unasked, with
 * the kind in its audit line.
 */
#include "test.h"

#include "core/approval.h"
#include "core/audit.h"
#include "core/protocol.h"
#include "core/rules.h"
#include "core/xmalloc.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Writes config.json TEXT into the test's home (made if missing). */
static int profile__config(const char *text)
{
	char *home = xasprintf("%s/home", test_tmpdir());
	char *path = xasprintf("%s/config.json", home);
	int rc;

	mkdir(home, 0700);
	rc = test_write_file(path, text);
	free(path);
	free(home);
	return rc;
}

/* Runs `airlock ARGS...` with the test's home; EXTRA_ENV may be NULL. */
static int profile__run(struct test_run *r, const char *extra_env, const char *const *args)
{
	char *bin = test_buildpath("airlock");
	char *home = xasprintf("AIRLOCK_HOME=%s/home", test_tmpdir());
	char *env[] = {home, (char *)extra_env, NULL};
	char *argv[40];
	size_t n = 0;
	int rc;

	argv[n++] = bin;
	for (size_t i = 0; args[i] != NULL && n < 39; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	rc = test_run(r, argv, NULL, NULL, env, (uid_t)-1, 30);
	free(home);
	free(bin);
	return rc;
}

TEST(profile_minimal_workspace_none_is_enforced)
{
	struct test_run r;
	char *ws = xasprintf("%s/ws", test_tmpdir());
	char *secret = xasprintf("%s/ws/secret", test_tmpdir());
	char *secret_file = xasprintf("%s/ws/secret/key.txt", test_tmpdir());
	char *outside = xasprintf("%s/outside.txt", test_tmpdir());
	char *made = xasprintf("%s/ws/made", test_tmpdir());

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(mkdir(ws, 0755), 0);
	ASSERT_EQ(mkdir(secret, 0755), 0);
	ASSERT_EQ(test_write_file(secret_file, "the-secret-words\n"), 0);
	ASSERT_EQ(test_write_file(outside, "outside-words\n"), 0);
	char *cfg = xasprintf("{\"permissions\": {\"tight\": {\"filesystem\": {\":minimal\": "
	                      "\"read\", \":workspace\": \"write\", \"%s\": \"none\"}, "
	                      "\"network\": \"off\"}}}",
	                      secret);
	ASSERT_EQ(profile__config(cfg), 0);
	free(cfg);

	/* The workspace is written. */
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "-p", "tight", "-C", ws, "--", "sh", "-c",
	                                        "echo hi > made", NULL}),
	          0);
	ASSERT_STR_EQ(r.err, "");
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	char *text = test_read_file(made, NULL);
	ASSERT_STR_EQ(text, "hi\n");
	free(text);

	/* The `none` subfolder cannot be read, nor listed. */
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "-p", "tight", "-C", ws, "--", "sh", "-c",
	                                        "cat secret/key.txt; ls secret", NULL}),
	          0);
	ASSERT_NE(r.status, 0);
	ASSERT_NOT_CONTAINS(r.out, "the-secret-words");
	ASSERT_NOT_CONTAINS(r.out, "key.txt");
	test_run_free(&r);

	/* /etc is readable (:minimal) but not writable. */
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "-p", "tight", "-C", ws, "--", "sh", "-c",
	                                        "test -r /etc/passwd && echo etc-readable; "
	                                        "touch /etc/airlock-profile-test",
	                                        NULL}),
	          0);
	ASSERT_NE(r.status, 0);
	ASSERT_CONTAINS(r.out, "etc-readable");
	test_run_free(&r);
	ASSERT(access("/etc/airlock-profile-test", F_OK) != 0);

	/* What :minimal leaves out (here, the test's own directory) is not there at all. */
	char *cat = xasprintf("cat %s", outside);
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "-p", "tight", "-C", ws, "--", "sh", "-c",
	                                        cat, NULL}),
	          0);
	ASSERT_NE(r.status, 0);
	ASSERT_NOT_CONTAINS(r.out, "outside-words");
	test_run_free(&r);
	free(cat);

	/* check names the profile in force; default_permissions picks it with no -p. */
	cfg = xasprintf("{\"default_permissions\": \"tight\", \"permissions\": {\"tight\": "
	                "{\"filesystem\": {\":minimal\": \"read\", \":workspace\": \"write\", "
	                "\"%s\": \"none\"}}}}",
	                secret);
	ASSERT_EQ(profile__config(cfg), 0);
	free(cfg);
	ASSERT_EQ(profile__run(&r, NULL, (const char *[]){"check", "--", "ls", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "\"permissions\":\"tight\"");
	test_run_free(&r);
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "-C", ws, "--", "cat", "secret/key.txt",
	                                        NULL}),
	          0);
	ASSERT_NE(r.status, 0);
	ASSERT_NOT_CONTAINS(r.out, "the-secret-words");
	test_run_free(&r);
	/* A legacy flag on the command line wins over the configured default. */
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "-s", "workspace-write", "-C", ws, "--",
	                                        "cat", "secret/key.txt", NULL}),
	          0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "the-secret-words");
	test_run_free(&r);

	free(ws);
	free(secret);
	free(secret_file);
	free(outside);
	free(made);
	return 0;
}

/* Runs exec with ARGS through a helper wrapper that prints the plan; returns the plan. */
static char *profile__plan(const char *wrapper, const char *const *args)
{
	struct test_run r;
	char *env = xasprintf("AIRLOCK_SANDBOX_EXE=%s", wrapper);
	char *plan = NULL;

	if (profile__run(&r, env, args) == 0) {
		if (r.status == 0 && r.err[0] == '\0')
			plan = xstrdup(r.out);
		else
			fprintf(stderr, "exec exited %d: %s\n", r.status, r.err);
		test_run_free(&r);
	}
	free(env);
	return plan;
}

TEST(profile_builtins_plan_as_the_legacy_flags)
{
	char *helper = test_buildpath("airlock-sandbox");
	char *wrapper = xasprintf("%s/plan-helper", test_tmpdir());
	char *body = xasprintf("#!/bin/sh\nexec '%s' --print-bwrap-args \"$@\"\n", helper);
	char *extra = xasprintf("%s/extra-root", test_tmpdir());
	static const char *const pairs[][2] = {
	    {":read-only", "read-only"},
	    {":workspace", "workspace-write"},
	    {":danger-full-access", "danger-full-access"},
	};

	ASSERT_EQ(test_write_file(wrapper, body), 0);
	ASSERT_EQ(chmod(wrapper, 0755), 0);
	ASSERT_EQ(mkdir(extra, 0755), 0);
	/* A configured writable root is part of what -s workspace-write gives. */
	char *cfg = xasprintf("{\"writable_roots\": [\"%s\"]}", extra);
	ASSERT_EQ(profile__config(cfg), 0);
	free(cfg);
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		for (int net = 0; net < 2; net++) {
			const char *n = net ? "on" : "off";
			char *a = profile__plan(wrapper, (const char *[]){"exec", "-p", pairs[i][0],
			                                                  "-n", n, "--", "true", NULL});
			char *b = profile__plan(wrapper, (const char *[]){"exec", "-s", pairs[i][1],
			                                                  "-n", n, "--", "true", NULL});
			ASSERT(a != NULL);
			ASSERT(b != NULL);
			ASSERT_STR_EQ(a, b);
			if (i < 2) {
				/* A real plan, not two empty outputs. */
				ASSERT_CONTAINS(a, "--unshare-user");
				ASSERT_CONTAINS(a, i == 0 ? "--ro-bind" : extra);
			}
			free(a);
			free(b);
		}
	}
	free(extra);
	free(body);
	free(wrapper);
	free(helper);
	return 0;
}

TEST(profile_usage_errors_exit_2)
{
	const char *const *const cases[] = {
	    (const char *[]){"exec", "-p", ":workspace", "-s", "read-only", "--", "true", NULL},
	    (const char *[]){"exec", "-s", "read-only", "--permissions", ":read-only", "--", "true",
	                     NULL},
	    (const char *[]){"exec", "-p", ":workspace", "-w", "/tmp", "--", "true", NULL},
	    (const char *[]){"exec", "-p", ":workspace", "--sandbox-policy",
	                     "{\"type\":\"read-only\"}", "--", "true", NULL},
	    (const char *[]){"check", "-p", ":workspace", "-s", "read-only", "--", "ls", NULL},
	    (const char *[]){"-p", ":workspace", "-s", "read-only", NULL},
	    (const char *[]){"exec", "-p", "no-such-profile", "--", "true", NULL},
	    (const char *[]){"exec", "-a", "reject:rules,nonsense", "--", "true", NULL},
	    (const char *[]){"exec", "--timeout", "0", "--", "true", NULL},
	    (const char *[]){"exec", "--timeout", "soon", "--", "true", NULL},
	    (const char *[]){"check", "--timeout", "1", "--", "ls", NULL},
	};
	struct test_run r;
	char *ran = xasprintf("%s/ran", test_tmpdir());

	ASSERT_EQ(profile__config("{}"), 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ASSERT_EQ(profile__run(&r, NULL, cases[i]), 0);
		if (r.status != 2)
			fprintf(stderr, "case %zu: status %d, stderr %s\n", i, r.status, r.err);
		ASSERT_EQ(r.status, 2);
		ASSERT_CONTAINS(r.err, "airlock: ");
		test_run_free(&r);
	}
	/* The combination is named, and nothing ran. */
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "-p", ":workspace", "-s", "read-only", "--",
	                                        "touch", ran, NULL}),
	          0);
	ASSERT_EQ(r.status, 2);
	ASSERT_CONTAINS(r.err, "--permissions :workspace cannot be combined with --sandbox");
	test_run_free(&r);
	ASSERT(access(ran, F_OK) != 0);
	free(ran);

	/* config.json: built-in names are not redefinable; the default must exist. */
	static const char *const bad[] = {
	    "{\"permissions\": {\":workspace\": {\"filesystem\": {\":root\": \"read\"}}}}",
	    "{\"default_permissions\": \"nope\"}",
	    "{\"permissions\": {\"x\": {\"filesystem\": {\"relative/path\": \"read\"}}}}",
	    "{\"permissions\": {\"x\": {\"filesystem\": {\":home\": \"read\"}}}}",
	    "{\"permissions\": {\"x\": {\"filesystem\": {\"/a\": \"exec\"}}}}",
	    "{\"permissions\": {\"x\": {\"filesystem\": {}, \"network\": \"maybe\"}}}",
	    "{\"permissions\": {\"x\": {\"filesystem\": {}, \"extra\": 1}}}",
	    "{\"permissions\": {\"x\": {\"filesystem\": {\"/a\": \"read\", \"/a\": \"none\"}}}}",
	    "{\"approval\": {\"reject\": [\"everything\"]}}",
	    "{\"approval\": {\"policy\": \"never\"}, \"ask_for_approval\": \"never\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ASSERT_EQ(profile__config(bad[i]), 0);
		ASSERT_EQ(profile__run(&r, NULL, (const char *[]){"check", "--", "ls", NULL}), 0);
		if (r.status != 2)
			fprintf(stderr, "config %zu: status %d\n", i, r.status);
		ASSERT_EQ(r.status, 2);
		ASSERT_CONTAINS(r.err, "config.json");
		test_run_free(&r);
	}
	return 0;
}

TEST(exec_timeout_ends_the_command_with_124)
{
	struct test_run r;
	struct timespec a, b;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(profile__config("{}"), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "--timeout", "1", "--", "sleep", "10", NULL}),
	          0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ASSERT_EQ(r.status, 124);
	test_run_free(&r);
	/* About a second: well past the timeout, well short of the command's own 10 s. */
	ASSERT(took >= 0.9);
	ASSERT(took < 6.0);
	char *path = xasprintf("%s/home/audit.jsonl", test_tmpdir());
	char *audit = test_read_file(path, NULL);
	ASSERT(audit != NULL);
	ASSERT_CONTAINS(audit, "\"code\":124");
	free(audit);
	free(path);

	/* One that ignores SIGTERM is killed 2 s later: still 124. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "--timeout", "0.5", "--", "sh", "-c",
	                                        "trap '' TERM; sleep 10; sleep 10", NULL}),
	          0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ASSERT_EQ(r.status, 124);
	test_run_free(&r);
	ASSERT(took < 8.0);

	/* A command that ends in time keeps its own status. */
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "--timeout", "5", "--", "sh", "-c", "exit 3",
	                                        NULL}),
	          0);
	ASSERT_EQ(r.status, 3);
	test_run_free(&r);
	return 0;
}

/* True when a process whose command line holds the word WORD is alive. */
static bool profile__running(const char *word)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (d != NULL && !found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char *path = xasprintf("/proc/%s/cmdline", de->d_name);
		size_t len = 0;
		char *cmd = test_read_file(path, &len);

		for (size_t i = 0; cmd != NULL && i < len && !found; i += strlen(cmd + i) + 1)
			found = strcmp(cmd + i, word) == 0;
		free(cmd);
		free(path);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/*
 * A command an allow rule runs outside the sandbox has no helper to end what
 * it started: when its time runs out, its children end with it (SPEC 12),
 * even those in a process group of their own (perl: a shell script would
 * be opaque, and no allow rule runs one outside).
 */
TEST(exec_timeout_ends_an_unsandboxed_commands_children)
{
	char *rules_dir = xasprintf("%s/home/rules", test_tmpdir());
	char *rules = xasprintf("%s/default.rules", rules_dir);
	struct test_run r;

	ASSERT_EQ(profile__config("{}"), 0);
	mkdir(rules_dir, 0700);
	ASSERT_EQ(test_write_file(rules, "prefix_rule(pattern=[\"perl\"], decision=\"allow\")\n"), 0);
	ASSERT(!profile__running("31.7771"));
	ASSERT_EQ(profile__run(&r, NULL,
	                       (const char *[]){"exec", "--timeout", "0.5", "--", "perl", "-e",
	                                        "for (1 .. 2) { if (!fork) { setpgrp(0, 0); "
	                                        "exec 'sleep', '31.7771' } } 1 while wait > 0",
	                                        NULL}),
	          0);
	ASSERT_EQ(r.status, 124);
	test_run_free(&r);
	bool left = false;
	for (int i = 0; i < 50 && (left = profile__running("31.7771")); i++)
		usleep(20 * 1000);
	if (left) {
		char *cmd[] = {"pkill", "-f", "sleep 31.7771", NULL};
		test_run(&r, cmd, NULL, NULL, NULL, (uid_t)-1, 10);
		test_run_free(&r);
	}
	ASSERT(!left);
	free(rules);
	free(rules_dir);
	return 0;
}

/* What one request got from the queue. */
struct profile__seen {
	int calls;
	bool allowed;
	char rejected[32];
	char reason[256];
};

/* The queue's callback: records the result. */
static void profile__cb(const struct approval_result *res, void *data)
{
	struct profile__seen *s = data;

	s->calls++;
	s->allowed = res->allowed;
	snprintf(s->rejected, sizeof s->rejected, "%s", res->rejected ? res->rejected : "");
	snprintf(s->reason, sizeof s->reason, "%s", res->reason ? res->reason : "");
}

/* Submits an exec of ARGV (ESCALATE: require_escalated) to Q; *SEEN gets the result. */
static uint64_t profile__exec(struct approval_queue *q, char *const *argv, bool escalate,
                              struct profile__seen *seen)
{
	size_t argc = 0;

	while (argv[argc] != NULL)
		argc++;
	memset(seen, 0, sizeof *seen);
	struct approval_request req = {
	    .kind = APPROVAL_EXEC,
	    .argc = argc,
	    .argv = argv,
	    .cwd = "/ws",
	    .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	    .escalate = escalate,
	    .from = "agent",
	};
	return approval_request(q, &req, profile__cb, NULL, seen);
}

TEST(reject_kinds_refuse_unasked_and_keep_the_others)
{
	char *rules_dir = xasprintf("%s/home/rules", test_tmpdir());
	char *home = xasprintf("%s/home", test_tmpdir());
	char *rules_file = xasprintf("%s/default.rules", rules_dir);
	char *log = xasprintf("%s/audit.jsonl", test_tmpdir());
	char *cause = NULL;
	struct profile__seen s;
	char *deploy[] = {"deploy", "now", NULL};
	char *touch[] = {"touch", "/etc/x", NULL};
	unsigned mask;

	ASSERT_EQ(approval_reject_parse("rules", &mask), 0);
	ASSERT_EQ(mask, APPROVAL_REJECT_RULES);
	ASSERT_EQ(approval_reject_parse("sandbox,network,patches", &mask), 0);
	ASSERT_EQ(mask,
	          APPROVAL_REJECT_SANDBOX | APPROVAL_REJECT_NETWORK | APPROVAL_REJECT_PATCHES);
	ASSERT(approval_reject_parse("", &mask) != 0);
	ASSERT(approval_reject_parse("rules,", &mask) != 0);
	ASSERT(approval_reject_parse("rule", &mask) != 0);

	mkdir(home, 0700);
	mkdir(rules_dir, 0700);
	ASSERT_EQ(test_write_file(rules_file,
	                          "prefix_rule(pattern=[\"deploy\"], decision=\"prompt\")\n"),
	          0);
	struct rules *rules = rules_new();
	ASSERT_EQ(rules_load_all(rules, home, "/ws", &cause), 0);
	struct audit *audit = audit_open(log, &cause);
	ASSERT(audit != NULL);

	/* reject:rules: the prompt rule's command is refused unasked; an escalation asks. */
	struct approval_config cfg = {
	    .approval = DECIDE_APPROVAL_ON_REQUEST,
	    .reject = APPROVAL_REJECT_RULES,
	    .rules = rules,
	    .home = home,
	    .audit = audit,
	};
	struct approval_queue *q = approval_queue_new(&cfg);
	ASSERT_EQ(profile__exec(q, deploy, false, &s), 0);
	ASSERT_EQ(s.calls, 1);
	ASSERT(!s.allowed);
	ASSERT_STR_EQ(s.rejected, "rules");
	ASSERT_CONTAINS(s.reason, "reject:rules");
	ASSERT_EQ(approval_pending(q), 0);
	/* Nor is it asked inside a script, under an escalation, or for a dangerous command. */
	char *script[] = {"bash", "-c", "echo hi; deploy now", NULL};
	ASSERT_EQ(profile__exec(q, script, false, &s), 0);
	ASSERT_STR_EQ(s.rejected, "rules");
	ASSERT_EQ(profile__exec(q, deploy, true, &s), 0);
	ASSERT_STR_EQ(s.rejected, "rules");
	char *rm[] = {"rm", "-rf", "build", NULL};
	ASSERT_EQ(profile__exec(q, rm, false, &s), 0);
	ASSERT_STR_EQ(s.rejected, "rules");
	ASSERT(profile__exec(q, touch, true, &s) > 0);
	ASSERT_EQ(approval_pending(q), 1);
	ASSERT_EQ(s.calls, 0);
	approval_queue_free(q);
	ASSERT_EQ(s.calls, 1); /* denied as the queue goes */

	/* reject:sandbox: the other way round. */
	cfg.reject = APPROVAL_REJECT_SANDBOX;
	q = approval_queue_new(&cfg);
	ASSERT(profile__exec(q, deploy, false, &s) > 0);
	ASSERT_EQ(approval_pending(q), 1);
	struct profile__seen s2;
	ASSERT_EQ(profile__exec(q, touch, true, &s2), 0);
	ASSERT_EQ(s2.calls, 1);
	ASSERT(!s2.allowed);
	ASSERT_STR_EQ(s2.rejected, "sandbox");
	approval_queue_free(q);

	/* reject:network: a destination is refused unasked (and by its name alone). */
	cfg.reject = APPROVAL_REJECT_NETWORK;
	q = approval_queue_new(&cfg);
	ASSERT(approval_network_refused_by_name(q, "example.org", "https", 443));
	struct approval_request net = {.kind = APPROVAL_NETWORK,
	                               .host = "example.org",
	                               .protocol = "https",
	                               .port = 443};
	memset(&s, 0, sizeof s);
	ASSERT_EQ(approval_request(q, &net, profile__cb, NULL, &s), 0);
	ASSERT(!s.allowed);
	ASSERT_STR_EQ(s.rejected, "network");
	approval_queue_free(q);

	audit_close(audit);
	char *text = test_read_file(log, NULL);
	ASSERT(text != NULL);
	/* Each refusal is by policy, unprompted, with its kind in the reason. */
	ASSERT_CONTAINS(text, "\"subject\":[\"deploy\",\"now\"]");
	ASSERT_CONTAINS(text, "\"decision\":\"deny\",\"by\":\"policy\",\"prompted\":false");
	ASSERT_CONTAINS(text, "\"reason\":\"rejected by policy (reject:rules)");
	ASSERT_CONTAINS(text, "\"reason\":\"rejected by policy (reject:sandbox)");
	ASSERT_CONTAINS(text, "\"reason\":\"rejected by policy (reject:network)");
	free(text);
	rules_free(rules);
	free(rules_file);
	free(rules_dir);
	free(home);
	free(log);
	return 0;
}

/* Parses LINE as a request; returns protocol_parse's result, *CAUSE for the caller to free. */
static int profile__parse(const char *line, struct protocol_request *req, char **cause)
{
	*cause = NULL;
	return protocol_parse(line, strlen(line), req, cause);
}

TEST(protocol_timeout_ms_and_the_events_that_say_so)
{
	struct protocol_request req;
	struct protocol_event ev;
	char *cause, *line;

	/* timeout_ms on exec: whole milliseconds from 1 to a week, and formatted back. */
	ASSERT_EQ(profile__parse("{\"id\":\"1\",\"op\":\"exec\",\"command\":[\"true\"],\"cwd\":\"/\","
	                         "\"timeout_ms\":2000}",
	                         &req, &cause),
	          0);
	ASSERT_EQ(req.timeout_ms, 2000);
	line = protocol_request_format(&req);
	ASSERT_CONTAINS(line, "\"timeout_ms\":2000");
	free(line);
	protocol_request_free(&req);
	static const char *const bad[] = {
	    "0", "-5", "1.5", "\"2000\"", "true", "604800001", "1e300", "null",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *l = xasprintf("{\"id\":\"1\",\"op\":\"exec\",\"command\":[\"true\"],\"cwd\":\"/\","
		                    "\"timeout_ms\":%s}",
		                    bad[i]);
		ASSERT(profile__parse(l, &req, &cause) != 0);
		ASSERT_CONTAINS(cause, "timeout_ms");
		free(cause);
		protocol_request_free(&req);
		free(l);
	}
	/* Only exec takes it. */
	ASSERT(profile__parse("{\"id\":\"1\",\"op\":\"cancel\",\"target\":\"2\",\"timeout_ms\":5}", &req,
	                      &cause) != 0);
	free(cause);
	protocol_request_free(&req);

	/* The exit event says timed_out only when it did, and a client reads it back. */
	line = protocol_event_exit_timed("1", 124, true, true);
	ASSERT_CONTAINS(line, "\"timed_out\":true");
	ASSERT_EQ(protocol_event_parse(line, strlen(line) - 1, &ev, &cause), 0);
	ASSERT(ev.timed_out);
	ASSERT_EQ(ev.code, 124);
	protocol_event_free(&ev);
	free(line);
	line = protocol_event_exit("1", 0, true);
	ASSERT_NOT_CONTAINS(line, "timed_out");
	ASSERT_EQ(protocol_event_parse(line, strlen(line) - 1, &ev, &cause), 0);
	ASSERT(!ev.timed_out);
	protocol_event_free(&ev);
	free(line);

	/* A decision refused by a reject policy names the kind. */
	line = protocol_event_decision_rejected("1", PROTOCOL_DENIED, "rejected by policy", "rules");
	ASSERT_CONTAINS(line, "\"rejected\":\"rules\"");
	ASSERT_CONTAINS(line, "\"reason\":\"rejected by policy\"");
	free(line);
	line = protocol_event_decision_reason("1", PROTOCOL_DENIED, NULL);
	ASSERT_NOT_CONTAINS(line, "rejected");
	free(line);
	return 0;
}
