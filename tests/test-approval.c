/*
 * Tests of the approval queue: decisions without a prompt (rules, caches,
 * config, policy), shared prompts for equal keys, every answer's effect,
 * cancel, deny-all, change notifications, and the audit lines they write
 * (one per answered prompt, one per request passed without a prompt).
 */
#include "test.h"

#include "../core/approval.h"
#include "../core/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

/* What one requester saw. */
struct approval_test__rec {
	int calls;
	int frees;
	bool allowed;
	bool sandboxed;
	bool prompted;
	enum audit_by by;
	enum audit_scope scope;
	char rule[256];
};

/* Records a result. */
static void approval_test__cb(const struct approval_result *res, void *data)
{
	struct approval_test__rec *r = data;

	r->calls++;
	r->allowed = res->allowed;
	r->sandboxed = res->sandboxed;
	r->prompted = res->prompted;
	r->by = res->by;
	r->scope = res->scope;
	snprintf(r->rule, sizeof r->rule, "%s", res->rule != NULL ? res->rule : "");
}

/* Counts frees. */
static void approval_test__free(void *data)
{
	((struct approval_test__rec *)data)->frees++;
}

/* Counts change notifications. */
static void approval_test__changed(void *data)
{
	(*(int *)data)++;
}

/* How many lines the audit log at PATH has, and whether it contains NEEDLE. */
static int approval_test__lines(const char *path)
{
	char *text = test_read_file(path, NULL);
	int n = 0;

	for (char *p = text; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* The fixture: a home with rules, an audit log, a queue under POLICY. */
struct approval_test__env {
	char *home;
	char *log;
	struct rules *rules;
	struct audit *audit;
	struct approval_queue *q;
	int changed;
};

/* Sets up ENV with RULES_TEXT in HOME/rules/team.rules. */
static int approval_test__setup(struct approval_test__env *env, enum decide_approval policy,
                                const char *rules_text)
{
	static const char *const allowed[] = {"*.Allowed.org"};
	static const char *const denied[] = {".denied.org"}; /* the name and its subdomains */
	struct approval_config cfg = {.approval = policy};
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
	cfg.denied_domains = denied;
	cfg.n_denied_domains = 1;
	env->q = approval_queue_new(&cfg);
	approval_queue_set_changed(env->q, approval_test__changed, &env->changed);
	free(dir);
	free(file);
	return 0;
}

/* Frees ENV. */
static void approval_test__teardown(struct approval_test__env *env)
{
	approval_queue_free(env->q);
	audit_close(env->audit);
	rules_free(env->rules);
	free(env->home);
	free(env->log);
}

static const char approval_test__rules[] =
    "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n"
    "prefix_rule(pattern=[\"docker\"], decision=\"forbidden\")\n"
    "network_rule(host=\"ok.io\", decision=\"allow\")\n"
    "network_rule(host=\"bad.io\", decision=\"deny\")\n"
    "network_rule(host=\"ask.io\", decision=\"prompt\")\n";

TEST(approval_exec_without_prompt)
{
	struct approval_test__env env;
	struct approval_test__rec a = {0}, b = {0}, c = {0}, d = {0};
	char *make[] = {"make", "-j4", NULL};
	char *docker[] = {"docker", "ps", NULL};
	char *ls[] = {"ls", NULL};
	char *npm[] = {"npm", "install", NULL};
	struct approval_request req = {
	    .kind = APPROVAL_EXEC, .cwd = "/ws", .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE};

	if (approval_test__setup(&env, DECIDE_APPROVAL_ON_REQUEST, approval_test__rules) != 0)
		return 1;
	req.argv = make, req.argc = 2;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, approval_test__free, &a), 0);
	ASSERT(a.calls == 1 && a.frees == 1 && a.allowed && !a.sandboxed && !a.prompted);
	ASSERT_EQ(a.by, AUDIT_BY_RULE);
	ASSERT_EQ(a.scope, AUDIT_SCOPE_RULE);
	ASSERT_CONTAINS(a.rule, "team.rules:1");
	req.argv = docker;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, approval_test__free, &b), 0);
	ASSERT(b.calls == 1 && !b.allowed && b.by == AUDIT_BY_RULE);
	ASSERT_CONTAINS(b.rule, "team.rules:2");
	req.argv = ls, req.argc = 1;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, approval_test__free, &c), 0);
	ASSERT(c.allowed && c.sandboxed && c.by == AUDIT_BY_POLICY);
	/* on-request: an ordinary command runs sandboxed without asking. */
	req.argv = npm, req.argc = 2;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &d), 0);
	ASSERT(d.allowed && d.sandboxed);
	ASSERT_EQ(approval_pending(env.q), 0);
	ASSERT_EQ(env.changed, 0);
	ASSERT_EQ(approval_test__lines(env.log), 4);
	approval_test__teardown(&env);
	return 0;
}

TEST(approval_exec_shared_prompt_and_session_answer)
{
	struct approval_test__env env;
	struct approval_test__rec a = {0}, b = {0}, c = {0}, d = {0};
	char *npm[] = {"npm", "install", NULL};
	struct approval_request req = {.kind = APPROVAL_EXEC,
	                               .argv = npm,
	                               .argc = 2,
	                               .cwd = "/ws",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE};
	const struct approval_prompt *p;
	uint64_t w1, w2, w3;
	char *log;

	if (approval_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED, approval_test__rules) != 0)
		return 1;
	w1 = approval_request(env.q, &req, approval_test__cb, approval_test__free, &a);
	w2 = approval_request(env.q, &req, approval_test__cb, approval_test__free, &b);
	ASSERT(w1 > 0 && w2 > 0 && w1 != w2);
	ASSERT_EQ(approval_pending(env.q), 1);
	/* Another cwd is another key: a second prompt, behind the first. */
	req.cwd = "/other";
	w3 = approval_request(env.q, &req, approval_test__cb, approval_test__free, &c);
	ASSERT(w3 > 0);
	ASSERT_EQ(approval_pending(env.q), 2);
	ASSERT_EQ(env.changed, 3);
	p = approval_current(env.q);
	ASSERT(p != NULL);
	ASSERT_EQ(p->kind, APPROVAL_EXEC);
	ASSERT_EQ(p->n_waiters, 2);
	/* Under untrusted an approval runs it in the sandbox (SPEC 4 step 4). */
	ASSERT_STR_EQ(p->title, "Run it in the sandbox?");
	ASSERT_STR_EQ(p->subject, "npm install");
	ASSERT_STR_EQ(p->cwd, "/ws");
	ASSERT_EQ(p->n_options, 4);
	ASSERT_EQ(p->options[0].key, 'y');
	ASSERT_STR_EQ(p->options[0].label, "Yes, run it once");
	ASSERT_STR_EQ(p->options[1].label,
	              "Yes, and don't ask again for this command this session");
	ASSERT_STR_EQ(p->options[2].label,
	              "Yes, and don't ask again for commands that start with `npm install`");
	ASSERT_STR_EQ(p->options[3].label, "No");
	ASSERT_EQ(p->options[3].answer, APPROVAL_DENY);
	ASSERT(approval_nth(env.q, 1) != NULL);
	ASSERT_STR_EQ(approval_nth(env.q, 1)->cwd, "/other");
	ASSERT(approval_nth(env.q, 2) == NULL);
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_DENY_BLOCK), -EINVAL);
	ASSERT_EQ(approval_answer(env.q, 9999, APPROVAL_ONCE), -ENOENT);

	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_SESSION), 0);
	ASSERT(a.calls == 1 && a.frees == 1 && a.allowed && a.prompted && a.sandboxed);
	ASSERT(b.calls == 1 && b.frees == 1 && b.allowed && b.by == AUDIT_BY_USER && b.sandboxed);
	ASSERT_EQ(b.scope, AUDIT_SCOPE_SESSION);
	ASSERT_EQ(c.calls, 0);
	ASSERT_EQ(approval_pending(env.q), 1);
	/* One audit line for the answered prompt, requests: 2. */
	log = test_read_file(env.log, NULL);
	ASSERT_CONTAINS(log, "\"subject\":[\"npm\",\"install\"]");
	ASSERT_CONTAINS(log, "\"by\":\"user\",\"prompted\":true,\"scope\":\"session\"");
	ASSERT_CONTAINS(log, "\"requests\":2");
	free(log);
	ASSERT_EQ(approval_test__lines(env.log), 1);

	/* The cache now passes the same command in /ws without a prompt. */
	req.cwd = "/ws";
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, approval_test__free, &d), 0);
	ASSERT(d.allowed && !d.prompted && d.by == AUDIT_BY_SESSION && d.sandboxed);
	ASSERT(approval_session_exec_allowed(env.q, 2, npm, "/ws", DECIDE_SANDBOX_WORKSPACE_WRITE));
	ASSERT(!approval_session_exec_allowed(env.q, 2, npm, "/ws", DECIDE_SANDBOX_READ_ONLY));
	ASSERT_EQ(approval_test__lines(env.log), 2);
	/* Freeing the queue denies what still waits, without audit lines. */
	approval_test__teardown(&env);
	ASSERT(c.calls == 1 && c.frees == 1 && !c.allowed);
	return 0;
}

TEST(approval_rule_answer_amends_rules_at_once)
{
	struct approval_test__env env;
	struct approval_test__rec a = {0}, b = {0}, c = {0};
	char *push[] = {"cargo", "publish", "--dry-run", NULL};
	char *push2[] = {"cargo", "publish", NULL};
	char *prefix[] = {"cargo", "publish", NULL};
	struct approval_request req = {.kind = APPROVAL_EXEC,
	                               .argv = push,
	                               .argc = 3,
	                               .cwd = "/ws",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	                               .escalate = true,
	                               .justification = "publish the crate",
	                               .prefix_rule = prefix};
	const struct approval_prompt *p;
	char *text, *path;

	if (approval_test__setup(&env, DECIDE_APPROVAL_ON_REQUEST, approval_test__rules) != 0)
		return 1;
	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &a) > 0);
	/* A different command covered by the same prefix waits too. */
	req.argv = push2, req.argc = 2;
	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &b) > 0);
	ASSERT_EQ(approval_pending(env.q), 2);
	p = approval_current(env.q);
	ASSERT_CONTAINS(p->reason, "publish the crate");
	ASSERT_EQ(p->prefix_len, 2);
	ASSERT_STR_EQ(p->options[2].label,
	              "Yes, and don't ask again for commands that start with `cargo publish`");
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_RULE), 0);
	ASSERT(a.allowed && a.scope == AUDIT_SCOPE_RULE && a.prompted);
	/* The second prompt is resolved by the new rule, without a prompt. */
	ASSERT(b.calls == 1 && b.allowed && !b.prompted && b.by == AUDIT_BY_RULE);
	ASSERT_CONTAINS(b.rule, "default.rules:1");
	ASSERT_EQ(approval_pending(env.q), 0);
	path = xasprintf("%s/rules/default.rules", env.home);
	text = test_read_file(path, NULL);
	ASSERT_STR_EQ(text, "prefix_rule(pattern=[\"cargo\", \"publish\"], decision=\"allow\")\n");
	free(text);
	/* And later requests are allowed by the rule, outside the sandbox. */
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, approval_test__free, &c), 0);
	ASSERT(c.allowed && !c.sandboxed && c.by == AUDIT_BY_RULE);
	ASSERT_EQ(approval_test__lines(env.log), 3);
	free(path);
	approval_test__teardown(&env);
	return 0;
}

TEST(approval_retry_after_denial_and_policy_never)
{
	struct approval_test__env env;
	struct approval_test__rec a = {0}, b = {0}, c = {0};
	char *npm[] = {"npm", "install", NULL};
	char *make[] = {"make", NULL};
	char *interp[] = {"python3", "-c", "1", NULL};
	struct approval_request req = {.kind = APPROVAL_EXEC,
	                               .argv = npm,
	                               .argc = 2,
	                               .cwd = "/ws",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	                               .retry = true};
	const struct approval_prompt *p;

	if (approval_test__setup(&env, DECIDE_APPROVAL_ON_FAILURE, approval_test__rules) != 0)
		return 1;
	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &a) > 0);
	p = approval_current(env.q);
	ASSERT_CONTAINS(p->reason, "looks denied");
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_ONCE), 0);
	ASSERT(a.allowed && !a.sandboxed && a.scope == AUDIT_SCOPE_ONCE);
	/* A retry of a command an allow rule runs outside the sandbox: no prompt. */
	req.argv = make, req.argc = 1;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, approval_test__free, &b), 0);
	ASSERT(b.allowed && !b.sandboxed);
	/* An interpreter gets no `p` option. */
	req.argv = interp, req.argc = 3;
	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &c) > 0);
	p = approval_current(env.q);
	ASSERT_EQ(p->n_options, 3);
	ASSERT(p->prefix == NULL);
	approval_deny_all(env.q);
	ASSERT(c.calls == 1 && !c.allowed && c.prompted);
	approval_test__teardown(&env);

	/* never: what would prompt is refused at once, by policy (also under a prompt rule). */
	if (approval_test__setup(
	        &env, DECIDE_APPROVAL_NEVER,
	        "prefix_rule(pattern=[\"git\", \"push\"], decision=\"prompt\")\n") != 0)
		return 1;
	memset(&a, 0, sizeof a);
	req.argv = npm, req.argc = 2;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, approval_test__free, &a), 0);
	ASSERT(a.calls == 1 && !a.allowed && a.by == AUDIT_BY_POLICY);
	{
		char *push[] = {"git", "push", NULL};

		memset(&b, 0, sizeof b);
		req.argv = push;
		req.retry = false;
		ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &b), 0);
		ASSERT(b.calls == 1 && !b.allowed && b.by == AUDIT_BY_POLICY);
		ASSERT_STR_EQ(b.rule, "");
	}
	ASSERT_EQ(approval_pending(env.q), 0);
	approval_test__teardown(&env);
	return 0;
}

TEST(approval_network_checks_and_answers)
{
	struct approval_test__env env;
	struct approval_test__rec r[10];
	struct approval_request req = {.kind = APPROVAL_NETWORK, .protocol = "https", .port = 443};
	const struct approval_prompt *p;
	char *text, *path;
	uint64_t w;

	memset(r, 0, sizeof r);
	if (approval_test__setup(&env, DECIDE_APPROVAL_ON_FAILURE, approval_test__rules) != 0)
		return 1;
	req.host = "OK.io";
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[0]), 0);
	ASSERT(r[0].allowed && r[0].by == AUDIT_BY_RULE);
	req.host = "bad.io";
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[1]), 0);
	ASSERT(!r[1].allowed && r[1].by == AUDIT_BY_RULE);
	req.host = "x.allowed.org";
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[2]), 0);
	ASSERT(r[2].allowed && r[2].by == AUDIT_BY_CONFIG);
	req.host = "denied.org";
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[3]), 0);
	ASSERT(!r[3].allowed && r[3].by == AUDIT_BY_CONFIG);
	struct approval_test__rec sub = {0};
	req.host = "cdn.Denied.org";
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &sub), 0);
	ASSERT(!sub.allowed && sub.by == AUDIT_BY_CONFIG);

	/* Two requests for one destination, any case: one prompt. */
	req.host = "Site.com";
	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &r[4]) > 0);
	req.host = "site.COM";
	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &r[5]) > 0);
	/* Another port: another prompt. */
	req.port = 8443;
	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &r[6]) > 0);
	ASSERT_EQ(approval_pending(env.q), 2);
	p = approval_current(env.q);
	ASSERT_STR_EQ(p->subject, "site.com:443 (https)");
	ASSERT_EQ(p->n_options, 6);
	ASSERT_STR_EQ(p->options[1].label, "Yes, allow site.com for this session");
	ASSERT_STR_EQ(p->options[2].label, "Yes, always allow site.com");
	ASSERT_STR_EQ(p->options[3].label, "No, and block site.com for this session");
	ASSERT_EQ(p->options[3].key, 'd');
	ASSERT_STR_EQ(p->options[4].label, "No, and always block site.com"); /* b, SPEC 11 */
	ASSERT_EQ(p->options[4].key, 'b');
	ASSERT_STR_EQ(p->options[5].label, "No");
	/* Deny and block: both waiters denied, the other port too, without a prompt. */
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_DENY_BLOCK), 0);
	ASSERT(r[4].calls == 1 && !r[4].allowed && r[4].prompted);
	ASSERT(r[5].calls == 1 && !r[5].allowed && r[5].frees == 1);
	ASSERT(r[6].calls == 1 && !r[6].allowed && !r[6].prompted && r[6].by == AUDIT_BY_SESSION);
	ASSERT_EQ(approval_pending(env.q), 0);
	req.port = 80;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[7]), 0);
	ASSERT(!r[7].allowed);

	/* A prompt rule prompts; "always allow" writes a network rule... */
	req.host = "ask.io";
	req.port = 443;
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &r[8]) > 0);
	p = approval_current(env.q);
	ASSERT_CONTAINS(p->reason, "team.rules:5");
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_RULE), 0);
	ASSERT(r[8].allowed && r[8].scope == AUDIT_SCOPE_RULE);
	path = xasprintf("%s/rules/default.rules", env.home);
	text = test_read_file(path, NULL);
	ASSERT_STR_EQ(text,
	              "network_rule(host=\"ask.io\", protocol=\"https\", decision=\"allow\")\n");
	free(text);
	/* ...but the team's prompt rule is stricter and still asks. */
	w = approval_request(env.q, &req, approval_test__cb, NULL, &r[9]);
	ASSERT(w > 0);
	ASSERT_EQ(approval_cancel(env.q, w), 0);
	/* For a host no rule names, "always allow" passes it from then on. */
	req.host = "fresh.io";
	memset(r, 0, sizeof r);
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &r[0]) > 0);
	p = approval_current(env.q);
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_RULE), 0);
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[1]), 0);
	ASSERT(r[1].allowed && r[1].by == AUDIT_BY_RULE);
	ASSERT_CONTAINS(r[1].rule, "default.rules:2");
	/* Without a protocol, "always allow" writes a rule for every protocol. */
	{
		struct approval_request any = {
		    .kind = APPROVAL_NETWORK, .host = "any.io", .port = 22};

		ASSERT(approval_request(env.q, &any, approval_test__cb, NULL, &r[5]) > 0);
		p = approval_current(env.q);
		ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_RULE), 0);
		ASSERT(r[5].allowed && r[5].scope == AUDIT_SCOPE_RULE);
		any.protocol = "socks5";
		ASSERT_EQ(approval_request(env.q, &any, approval_test__cb, NULL, &r[6]), 0);
		ASSERT(r[6].allowed && r[6].by == AUDIT_BY_RULE);
	}
	/* The session allow cache is per (host, protocol, port). */
	req.host = "s.io";
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &r[2]) > 0);
	p = approval_current(env.q);
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_SESSION), 0);
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[3]), 0);
	ASSERT(r[3].allowed && r[3].by == AUDIT_BY_SESSION);
	req.port = 8080;
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &r[4]) > 0);
	free(path);
	approval_test__teardown(&env);
	return 0;
}

/*
 * Under a managed allow_unsandboxed: false (SPEC 11) a patch that writes
 * outside the writable roots is refused with no prompt, whatever the
 * approval policy; one inside them is judged as before.
 */
TEST(approval_sandbox_only_refuses_patches_outside_the_roots)
{
	static const enum decide_approval policies[] = {
	    DECIDE_APPROVAL_UNTRUSTED, DECIDE_APPROVAL_ON_FAILURE, DECIDE_APPROVAL_ON_REQUEST,
	    DECIDE_APPROVAL_NEVER};
	char *outside[] = {"/etc/x.conf", NULL}, *inside[] = {"/ws/a.c", NULL};

	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
		struct approval_test__env env;
		struct approval_test__rec r[2];
		struct approval_request req = {.kind = APPROVAL_PATCH,
		                               .paths = outside,
		                               .n_paths = 1,
		                               .outside_roots = true,
		                               .diff = "--- a\n+++ b\n"};

		memset(r, 0, sizeof r);
		if (approval_test__setup(&env, policies[i], approval_test__rules) != 0)
			return 1;
		rules_set_sandbox_only(env.rules, true);
		ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[0]), 0);
		ASSERT(r[0].calls == 1 && !r[0].allowed);
		ASSERT_EQ(approval_pending(env.q), 0);
		req.paths = inside, req.outside_roots = false;
		approval_request(env.q, &req, approval_test__cb, NULL, &r[1]);
		ASSERT(r[1].calls == 1 || approval_pending(env.q) == 1);
		approval_deny_all(env.q);
		approval_test__teardown(&env);
	}
	return 0;
}

TEST(approval_patch_policies_and_cancel)
{
	struct approval_test__env env;
	struct approval_test__rec r[6];
	char *two[] = {"/ws/b.c", "/ws/a.c", NULL};
	char *one[] = {"/ws/a.c", NULL};
	char *three[] = {"/ws/a.c", "/ws/b.c", "/ws/c.c", NULL};
	struct approval_request req = {
	    .kind = APPROVAL_PATCH, .paths = two, .n_paths = 2, .diff = "--- a\n+++ b\n"};
	const struct approval_prompt *p;
	uint64_t w;

	memset(r, 0, sizeof r);
	if (approval_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED, approval_test__rules) != 0)
		return 1;
	w = approval_request(env.q, &req, approval_test__cb, approval_test__free, &r[0]);
	ASSERT(w > 0);
	/* Cancel: its free callback runs, not its callback; the prompt goes. */
	ASSERT_EQ(approval_cancel(env.q, w), 0);
	ASSERT(r[0].calls == 0 && r[0].frees == 1);
	ASSERT_EQ(approval_pending(env.q), 0);
	ASSERT_EQ(approval_cancel(env.q, w), -ENOENT);

	ASSERT(approval_request(env.q, &req, approval_test__cb, approval_test__free, &r[1]) > 0);
	p = approval_current(env.q);
	ASSERT_STR_EQ(p->title, "Apply file changes?");
	ASSERT_STR_EQ(p->diff, "--- a\n+++ b\n");
	ASSERT_EQ(p->n_options, 3);
	ASSERT_STR_EQ(p->options[1].label, "Yes, and don't ask again for these files this session");
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_SESSION), 0);
	ASSERT(r[1].allowed);
	ASSERT(approval_session_path_allowed(env.q, "/ws/a.c"));
	/* A subset passes; a set with one new path prompts. */
	req.paths = one, req.n_paths = 1;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[2]), 0);
	ASSERT(r[2].allowed && r[2].by == AUDIT_BY_SESSION);
	req.paths = three, req.n_paths = 3;
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &r[3]) > 0);
	approval_deny_all(env.q);
	ASSERT(r[3].calls == 1 && !r[3].allowed);
	approval_test__teardown(&env);

	/* on-request: only outside the roots prompts; never: outside is refused. */
	if (approval_test__setup(&env, DECIDE_APPROVAL_ON_REQUEST, approval_test__rules) != 0)
		return 1;
	req.outside_roots = false;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[4]), 0);
	ASSERT(r[4].allowed && r[4].by == AUDIT_BY_POLICY);
	req.outside_roots = true;
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &r[5]) > 0);
	approval_test__teardown(&env);
	if (approval_test__setup(&env, DECIDE_APPROVAL_NEVER, approval_test__rules) != 0)
		return 1;
	memset(r, 0, sizeof r);
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[0]), 0);
	ASSERT(!r[0].allowed);
	req.outside_roots = false;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &r[1]), 0);
	ASSERT(r[1].allowed);
	approval_test__teardown(&env);
	return 0;
}

/* A requester of the random test: how often each callback ran. */
struct approval_test__slot {
	int calls;
	int frees;
	uint64_t waiter; /* while queued */
	bool done;
	bool cancelled;
};

/* Counts a random requester's callback. */
static void approval_test__slot_cb(const struct approval_result *res, void *data)
{
	struct approval_test__slot *s = data;

	(void)res;
	s->calls++;
}

/* Counts a random requester's free, which ends it. */
static void approval_test__slot_free(void *data)
{
	struct approval_test__slot *s = data;

	s->frees++;
	s->done = true;
}

TEST(approval_random_operations_keep_invariants)
{
	enum { N = 3000 };
	static struct approval_test__slot slots[N];
	static const char *const hosts[] = {"a.io", "B.io", "c.io", "ok.io", "bad.io", "ask.io"};
	static char *cmds[][3] = {{"npm", "install", NULL}, {"cargo", "test", NULL},
	                          {"make", NULL, NULL},     {"rm", "-rf", NULL},
	                          {"ls", NULL, NULL},       {"python3", "x.py", NULL}};
	static char *paths[][2] = {{"/ws/a", NULL}, {"/ws/b", NULL}, {"/ws/c", NULL}};
	struct approval_test__env env;
	uint64_t seed = 42;
	size_t lines_before, prompts_answered = 0;

	if (approval_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED, approval_test__rules) != 0)
		return 1;
	memset(slots, 0, sizeof slots);
	for (int i = 0; i < N; i++) {
		unsigned op;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		op = (unsigned)(seed >> 33);
		if (op % 10 < 6) {
			struct approval_request req = {.cwd = "/ws",
			                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE};
			uint64_t w;

			switch (op % 3) {
			case 0:
				req.kind = APPROVAL_EXEC;
				req.argv = cmds[(op >> 4) % 6];
				req.argc = req.argv[1] == NULL ? 1 : 2;
				req.retry = (op >> 8) % 4 == 0;
				break;
			case 1:
				req.kind = APPROVAL_NETWORK;
				req.host = hosts[(op >> 4) % 6];
				req.protocol = (op >> 8) % 2 ? "https" : "http";
				req.port = (op >> 9) % 2 ? 443 : 80;
				break;
			default:
				req.kind = APPROVAL_PATCH;
				req.paths = paths[(op >> 4) % 3];
				req.n_paths = 1;
				break;
			}
			w = approval_request(env.q, &req, approval_test__slot_cb,
			                     approval_test__slot_free, &slots[i]);
			if (w == 0)
				ASSERT(slots[i].done && slots[i].calls == 1);
			else
				slots[i].waiter = w;
		} else if (op % 10 < 8 && approval_current(env.q) != NULL) {
			const struct approval_prompt *p = approval_current(env.q);
			const struct approval_option *o = &p->options[(op >> 4) % p->n_options];

			ASSERT_EQ(approval_answer(env.q, p->id, o->answer), 0);
			prompts_answered++;
		} else if (op % 10 == 8) {
			int j = (int)((op >> 4) % (unsigned)(i + 1));

			if (slots[j].waiter != 0 && !slots[j].done) {
				ASSERT_EQ(approval_cancel(env.q, slots[j].waiter), 0);
				slots[j].cancelled = true;
			} else if (slots[j].waiter != 0) {
				ASSERT_EQ(approval_cancel(env.q, slots[j].waiter), -ENOENT);
			}
		} else if (op % 50 == 9) {
			approval_deny_all(env.q);
			ASSERT_EQ(approval_pending(env.q), 0);
		}
		/* The FIFO's prompts and their waiters are consistent. */
		{
			size_t n = 0;

			while (approval_nth(env.q, n) != NULL) {
				ASSERT(approval_nth(env.q, n)->n_waiters > 0);
				n++;
			}
			ASSERT_EQ(n, approval_pending(env.q));
		}
	}
	lines_before = (size_t)approval_test__lines(env.log);
	ASSERT(prompts_answered > 0);
	approval_test__teardown(&env);
	/* Every requester ended exactly once: a callback and a free, or (cancelled) a free. */
	for (int i = 0; i < N; i++) {
		if (slots[i].calls == 0 && slots[i].frees == 0)
			continue; /* not a request */
		ASSERT_EQ(slots[i].frees, 1);
		ASSERT_EQ(slots[i].calls, slots[i].cancelled ? 0 : 1);
	}
	ASSERT(lines_before > 0);
	return 0;
}

/* One request of the SPEC 4 table and what it gets under each policy. */
struct approval_test__table_case {
	const char *cmd;    /* words, split on blanks */
	const char *flags;  /* "", "esc" (escalation asked), "retry", "full" (danger-full-access) */
	const char *exp[4]; /* untrusted, on-failure, on-request, never */
};

/*
 * The outcome word of one request: "run" / "sbx" (allowed without a prompt,
 * outside / inside the sandbox), "no" (refused without a prompt), or for a
 * prompt "ask:TITLE-INITIAL:Y=..,N=.." with what `y` and `n` each lead to.
 */
static int approval_test__outcome(struct approval_test__env *env, struct approval_request *req,
                                  char *out, size_t size)
{
	struct approval_test__rec a = {0}, b = {0};
	const struct approval_prompt *p;
	uint64_t w = approval_request(env->q, req, approval_test__cb, NULL, &a);
	char title;

	if (w == 0) {
		snprintf(out, size, "%s", !a.allowed ? "no" : a.sandboxed ? "sbx" : "run");
		return 0;
	}
	p = approval_current(env->q);
	ASSERT(p != NULL);
	/* I: "Run it in the sandbox?", O: "Run outside the sandbox?", C: "Run this command?" */
	title = strstr(p->title, "outside") != NULL ? 'O' : strstr(p->title, "in the sandbox") ? 'I' : 'C';
	/* The denying option's label says what it does. */
	ASSERT_EQ(p->options[p->n_options - 1].answer, APPROVAL_DENY);
	ASSERT_EQ(approval_answer(env->q, p->id, APPROVAL_ONCE), 0);
	ASSERT(approval_request(env->q, req, approval_test__cb, NULL, &b) > 0);
	p = approval_current(env->q);
	bool keep = strcmp(p->options[p->n_options - 1].label, "No, keep it sandboxed") == 0;
	ASSERT(keep || strcmp(p->options[p->n_options - 1].label, "No") == 0);
	ASSERT_EQ(approval_answer(env->q, p->id, APPROVAL_DENY), 0);
	ASSERT(a.calls == 1 && b.calls == 1 && a.prompted && b.prompted);
	snprintf(out, size, "ask:%c:y=%s,n=%s%s", title, a.allowed ? a.sandboxed ? "sbx" : "run" : "no",
	         b.allowed ? b.sandboxed ? "sbx" : "run" : "no", keep ? "(keep)" : "");
	/* "keep it sandboxed" is offered exactly when `n` keeps (or leaves) it sandboxed. */
	ASSERT(keep == (strcmp(req->retry ? "sbx" : (b.allowed ? (b.sandboxed ? "sbx" : "run") : "no"),
	                       "sbx") == 0 || req->retry));
	return 0;
}

TEST(approval_prompts_run_where_spec4_says_under_every_policy)
{
	static const struct approval_test__table_case cases[] = {
	    /* known-safe, unknown, prompt rule, dangerous, allow rule, forbidden rule */
	    {"cat README", "", {"sbx", "sbx", "sbx", "sbx"}},
	    {"npm install", "", {"ask:I:y=sbx,n=no", "sbx", "sbx", "sbx"}},
	    {"git push origin", "",
	     {"ask:I:y=sbx,n=no", "ask:I:y=sbx,n=no", "ask:I:y=sbx,n=no", "no"}},
	    {"rm -rf build", "", {"ask:I:y=sbx,n=no", "ask:I:y=sbx,n=no", "ask:I:y=sbx,n=no", "no"}},
	    {"sudo rm -f x", "", {"ask:I:y=sbx,n=no", "ask:I:y=sbx,n=no", "ask:I:y=sbx,n=no", "no"}},
	    {"make all", "", {"run", "run", "run", "run"}},
	    {"docker ps", "", {"no", "no", "no", "no"}},
	    {"/usr/bin/docker ps", "", {"no", "no", "no", "no"}},
	    /* escalation: outside when approved; `n` keeps it sandboxed when that needs no approval */
	    {"cat README", "esc",
	     {"ask:O:y=run,n=sbx(keep)", "ask:O:y=run,n=sbx(keep)", "ask:O:y=run,n=sbx(keep)",
	      "no"}},
	    {"npm install", "esc",
	     {"ask:O:y=run,n=no", "ask:O:y=run,n=sbx(keep)", "ask:O:y=run,n=sbx(keep)", "no"}},
	    {"git push origin", "esc",
	     {"ask:O:y=run,n=no", "ask:O:y=run,n=no", "ask:O:y=run,n=no", "no"}},
	    {"rm -rf build", "esc", {"ask:O:y=run,n=no", "ask:O:y=run,n=no", "ask:O:y=run,n=no", "no"}},
	    {"make all", "esc", {"run", "run", "run", "run"}},
	    {"docker ps", "esc", {"no", "no", "no", "no"}},
	    /* the retry after a denial: outside when approved, the sandboxed run stands when not */
	    {"npm install", "retry",
	     {"ask:O:y=run,n=no(keep)", "ask:O:y=run,n=no(keep)", "ask:O:y=run,n=no(keep)", "no"}},
	    {"make all", "retry", {"run", "run", "run", "run"}},
	    {"docker ps", "retry", {"no", "no", "no", "no"}},
	    /* danger-full-access: nothing is sandboxed, an approval runs it as is */
	    {"npm install", "full", {"ask:C:y=run,n=no", "run", "run", "run"}},
	    {"git push origin", "full",
	     {"ask:C:y=run,n=no", "ask:C:y=run,n=no", "ask:C:y=run,n=no", "no"}},
	};
	static const enum decide_approval policies[] = {
	    DECIDE_APPROVAL_UNTRUSTED, DECIDE_APPROVAL_ON_FAILURE, DECIDE_APPROVAL_ON_REQUEST,
	    DECIDE_APPROVAL_NEVER};
	char rules[512];
	int failures = 0;

	snprintf(rules, sizeof rules, "%s%s", approval_test__rules,
	         "prefix_rule(pattern=[\"git\", \"push\"], decision=\"prompt\")\n");
	for (size_t pi = 0; pi < 4; pi++) {
		struct approval_test__env env;

		if (approval_test__setup(&env, policies[pi], rules) != 0)
			return 1;
		for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
			char **argv, got[128];
			size_t argc;
			struct approval_request req = {
			    .kind = APPROVAL_EXEC,
			    .cwd = "/ws",
			    .sandbox = strcmp(cases[i].flags, "full") == 0
			                   ? DECIDE_SANDBOX_DANGER_FULL_ACCESS
			                   : DECIDE_SANDBOX_WORKSPACE_WRITE,
			    .escalate = strcmp(cases[i].flags, "esc") == 0,
			    .retry = strcmp(cases[i].flags, "retry") == 0,
			};

			ASSERT_EQ(shell_split_words(cases[i].cmd, &argv, &argc), 0);
			req.argv = argv;
			req.argc = argc;
			if (approval_test__outcome(&env, &req, got, sizeof got) != 0)
				return 1;
			if (strcmp(got, cases[i].exp[pi]) != 0) {
				fprintf(stderr, "%s [%s] under %s: expected %s, got %s\n", cases[i].cmd,
				        cases[i].flags, decide_approval_name(policies[pi]),
				        cases[i].exp[pi], got);
				failures++;
			}
			shell_split_words_free(argv);
		}
		ASSERT_EQ(approval_pending(env.q), 0);
		approval_test__teardown(&env);
	}
	ASSERT_EQ(failures, 0);
	return 0;
}

TEST(approval_session_answers_remember_inside_or_outside)
{
	struct approval_test__env env;
	struct approval_test__rec a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
	char *npm[] = {"npm", "install", NULL};
	struct approval_request req = {.kind = APPROVAL_EXEC,
	                               .argv = npm,
	                               .argc = 2,
	                               .cwd = "/ws",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE};
	const struct approval_prompt *p;
	char *path;

	if (approval_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED, approval_test__rules) != 0)
		return 1;
	/* Approved in the sandbox for the session: the next run is sandboxed, no prompt. */
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &a) > 0);
	p = approval_current(env.q);
	ASSERT_STR_EQ(p->title, "Run it in the sandbox?");
	ASSERT_STR_EQ(p->options[p->n_options - 1].label, "No");
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_SESSION), 0);
	ASSERT(a.allowed && a.sandboxed);
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &b), 0);
	ASSERT(b.allowed && b.sandboxed && b.by == AUDIT_BY_SESSION);
	/* That approval does not cover an escalation: it prompts, and an escalation waiter
	 * never shares a sandboxed prompt. */
	req.escalate = true;
	ASSERT(approval_request(env.q, &req, approval_test__cb, NULL, &c) > 0);
	p = approval_current(env.q);
	ASSERT_STR_EQ(p->title, "Run outside the sandbox?");
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_SESSION), 0);
	ASSERT(c.allowed && !c.sandboxed);
	/* Approved outside for the session: later runs, escalated or not, run outside. */
	req.escalate = false;
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &d), 0);
	ASSERT(d.allowed && !d.sandboxed && d.by == AUDIT_BY_SESSION);
	/* A forbidden rule added now beats the session's approval. */
	path = xasprintf("%s/rules/zz-late.rules", env.home);
	ASSERT_EQ(test_write_file(path, "prefix_rule(pattern=[\"npm\"], decision=\"forbidden\")\n"),
	          0);
	ASSERT_EQ(approval_request(env.q, &req, approval_test__cb, NULL, &e), 0);
	ASSERT(e.calls == 1 && !e.allowed && e.by == AUDIT_BY_RULE);
	ASSERT_CONTAINS(e.rule, "zz-late.rules:1");
	free(path);
	approval_test__teardown(&env);
	return 0;
}
