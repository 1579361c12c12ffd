/*
 * Tests of extra permissions that keep the sandbox (SPEC 12): the protocol's
 * "with_additional_permissions", "permissions" and request_permissions; the
 * canonical sets (links and `..` resolved, `/` refused for writing, hosts
 * without wildcards) and their keys; how they extend a policy (a `none`
 * path stays closed); the directory a read-only denial names; and the
 * approval queue's prompts and session cache for them, where an answer for
 * one set of permissions never covers another.
 */
#include "test.h"

#include "../core/approval.h"
#include "../core/policy-permissions.h"
#include "../core/protocol.h"
#include "../core/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(protocol_parses_additional_permissions_and_request_permissions)
{
	struct protocol_request r;
	char *cause = NULL, *again;
	const char *line =
	    "{\"id\":\"5\",\"op\":\"exec\",\"command\":[\"touch\",\"/out/x\"],\"cwd\":\"/ws\","
	    "\"sandbox_permissions\":\"with_additional_permissions\",\"justification\":\"build\","
	    "\"permissions\":{\"write\":[\"/out\"],\"read\":[\"/ref\",\"/doc\"],"
	    "\"network\":[\"example.com:443\"]}}";

	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.permissions, PROTOCOL_WITH_ADDITIONAL_PERMISSIONS);
	ASSERT_EQ(r.additions.n_write, 1);
	ASSERT_STR_EQ(r.additions.write[0], "/out");
	ASSERT_EQ(r.additions.n_read, 2);
	ASSERT_STR_EQ(r.additions.read[1], "/doc");
	ASSERT_EQ(r.additions.n_network, 1);
	ASSERT_STR_EQ(r.additions.network[0], "example.com:443");
	again = protocol_request_format(&r);
	ASSERT_CONTAINS(again, "\"sandbox_permissions\":\"with_additional_permissions\"");
	ASSERT_CONTAINS(again, "\"permissions\":{\"write\":[\"/out\"],\"read\":[\"/ref\",\"/doc\"],"
	                       "\"network\":[\"example.com:443\"]}");
	protocol_request_free(&r);
	/* What it formats reads back the same. */
	ASSERT_EQ(protocol_parse(again, strlen(again) - 1, &r, &cause), 0);
	ASSERT_EQ(r.additions.n_read, 2);
	protocol_request_free(&r);
	free(again);

	line = "{\"id\":\"6\",\"op\":\"request_permissions\",\"justification\":\"caches\","
	       "\"permissions\":{\"write\":[\"/cache\"]}}";
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_REQUEST_PERMISSIONS);
	ASSERT_STR_EQ(r.justification, "caches");
	ASSERT_EQ(r.additions.n_write, 1);
	again = protocol_request_format(&r);
	ASSERT_STR_EQ(again, "{\"id\":\"6\",\"op\":\"request_permissions\",\"permissions\":{"
	                     "\"write\":[\"/cache\"]},\"justification\":\"caches\"}\n");
	free(again);
	protocol_request_free(&r);
	return 0;
}

TEST(protocol_refuses_malformed_permissions)
{
	static const struct {
		const char *line, *error;
	} cases[] = {
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"with_additional_permissions\"}",
	     "missing field \"permissions\""},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"permissions\":{\"write\":[\"/x\"]}}",
	     "field \"permissions\" needs \"sandbox_permissions\":\"with_additional_permissions\""},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"require_escalated\",\"permissions\":{\"write\":[\"/x\"]}}",
	     "field \"permissions\" needs \"sandbox_permissions\":\"with_additional_permissions\""},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"with_additional_permissions\",\"permissions\":{}}",
	     "field \"permissions\" must be an object of \"write\", \"read\" and \"network\" "
	     "arrays of strings, with at least one entry"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"with_additional_permissions\","
	     "\"permissions\":{\"write\":[]}}",
	     "field \"permissions\" must be an object of \"write\", \"read\" and \"network\" "
	     "arrays of strings, with at least one entry"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"with_additional_permissions\","
	     "\"permissions\":{\"exec\":[\"/x\"]}}",
	     "field \"permissions\" must be an object of \"write\", \"read\" and \"network\" "
	     "arrays of strings, with at least one entry"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"with_additional_permissions\","
	     "\"permissions\":{\"write\":\"/x\"}}",
	     "field \"permissions\" must be an object of \"write\", \"read\" and \"network\" "
	     "arrays of strings, with at least one entry"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"with_additional_permissions\","
	     "\"permissions\":{\"write\":[\"out\"]}}",
	     "field \"permissions.write\" must hold absolute paths"},
	    {"{\"id\":\"7\",\"op\":\"request_permissions\",\"permissions\":{\"read\":[\"../x\"]}}",
	     "field \"permissions.read\" must hold absolute paths"},
	    {"{\"id\":\"7\",\"op\":\"request_permissions\"}", "missing field \"permissions\""},
	    {"{\"id\":\"7\",\"op\":\"request_permissions\",\"permissions\":{\"write\":[\"/x\"]},"
	     "\"cwd\":\"/\"}",
	     "unknown field \"cwd\" for op \"request_permissions\""},
	    {"{\"id\":\"7\",\"op\":\"request_permissions\",\"permissions\":{\"write\":[\"/x\"],"
	     "\"write\":[\"/y\"]}}",
	     "duplicate field \"permissions.write\" at byte 67"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct protocol_request r;
		char *cause = NULL;

		ASSERT_EQ(protocol_parse(cases[i].line, strlen(cases[i].line), &r, &cause), -EINVAL);
		ASSERT_STR_EQ(cause, cases[i].error);
		/* A repeated key is found before the id is read. */
		if (strstr(cases[i].error, "duplicate") == NULL)
			ASSERT_STR_EQ(r.id, "7");
		free(cause);
		protocol_request_free(&r);
	}
	return 0;
}

TEST(permissions_are_canonical_and_refuse_what_would_escape)
{
	struct policy_permissions p = {0}, q = {0};
	const char *tmp = test_tmpdir();
	char *a = xasprintf("%s/a", tmp), *b = xasprintf("%s/b", tmp);
	char *dotdot = xasprintf("%s/a/../b", tmp), *link = xasprintf("%s/etc-link", tmp);
	char *root = xasprintf("%s/root-link", tmp), *file = xasprintf("%s/file", tmp);
	char *real_b, *cause = NULL, *k1, *k2;

	ASSERT_EQ(mkdir(a, 0700), 0);
	ASSERT_EQ(mkdir(b, 0700), 0);
	ASSERT_EQ(symlink("/etc", link), 0);
	ASSERT_EQ(symlink("/", root), 0);
	ASSERT_EQ(test_write_file(file, "x"), 0);
	real_b = realpath(b, NULL);
	/* `..` is resolved: what is opened is where the path really lands. */
	ASSERT_EQ(policy_permissions_add_dir(&p, true, dotdot, &cause), 0);
	ASSERT_EQ(p.n_write, 1);
	ASSERT_STR_EQ(p.write[0], real_b);
	/* A link to /etc is /etc, and the prompt says so. */
	ASSERT_EQ(policy_permissions_add_dir(&p, true, link, &cause), 0);
	ASSERT_STR_EQ(p.write[0], "/etc");
	char *described = policy_permissions_describe(&p);
	char *want = xasprintf("write /etc, %s", real_b);
	ASSERT_STR_EQ(described, want);
	free(described);
	free(want);
	/* Writing / (or a link to it) is the whole file system: refused. */
	ASSERT_EQ(policy_permissions_add_dir(&p, true, "/", &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "write access to / is the whole file system");
	free(cause);
	ASSERT_EQ(policy_permissions_add_dir(&p, true, root, &cause), -EINVAL);
	free(cause);
	ASSERT_EQ(policy_permissions_add_dir(&p, true, "/usr/../", &cause), -EINVAL);
	free(cause);
	/* Reading / adds nothing the default policy does not give; taken. */
	ASSERT_EQ(policy_permissions_add_dir(&p, false, "/", &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&p, true, "relative", &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "not an absolute path");
	free(cause);
	ASSERT_EQ(policy_permissions_add_dir(&p, true, "/nonexistent-airlock-dir", &cause),
	          -ENOENT);
	free(cause);
	ASSERT_EQ(policy_permissions_add_dir(&p, true, file, &cause), -ENOTDIR);
	free(cause);
	ASSERT_EQ(p.n_write, 2);

	/* Hosts: a name or address and a port; never a wildcard. */
	static const char *const bad[] = {"*.example.com:443", "*:443",         "example.com",
	                                  "example.com:*",     "example.com:0", "example.com:65536",
	                                  "a..b:80",           ".a.b:80",       "-a.b:80",
	                                  "a b:80",            ":80",           "[]:80",
	                                  "[zz]:80",           "example.com:+80", "x:080"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ASSERT_EQ(policy_permissions_add_host(&p, bad[i], &cause), -EINVAL);
		ASSERT_CONTAINS(cause, "no wildcard");
		free(cause);
	}
	ASSERT_EQ(policy_permissions_add_host(&p, "Registry.Example.COM:443", &cause), 0);
	ASSERT_EQ(policy_permissions_add_host(&p, "[::1]:8080", &cause), 0);
	ASSERT_EQ(policy_permissions_add_host(&p, "10.0.0.1:22", &cause), 0);
	ASSERT_EQ(p.n_hosts, 3);
	ASSERT(policy_permissions_has_host(&p, "registry.example.com", 443));
	ASSERT(!policy_permissions_has_host(&p, "registry.example.com", 80));
	ASSERT(!policy_permissions_has_host(&p, "example.com", 443));
	ASSERT(policy_permissions_has_host(&p, "::1", 8080));

	/* The same set in another order and spelling has the same key. */
	ASSERT_EQ(policy_permissions_add_host(&q, "10.0.0.1:22", &cause), 0);
	ASSERT_EQ(policy_permissions_add_host(&q, "[::1]:8080", &cause), 0);
	ASSERT_EQ(policy_permissions_add_host(&q, "registry.example.com:443", &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&q, false, "/", &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&q, true, b, &cause), 0);
	ASSERT(!policy_permissions_covered(&p, &q));
	ASSERT(policy_permissions_covered(&q, &p));
	ASSERT_EQ(policy_permissions_add_dir(&q, true, link, &cause), 0);
	k1 = policy_permissions_key(&p);
	k2 = policy_permissions_key(&q);
	ASSERT_STR_EQ(k1, k2);
	free(k2);
	/* A write is not a read: another key. */
	struct policy_permissions r = {0};
	ASSERT_EQ(policy_permissions_add_dir(&r, false, b, &cause), 0);
	k2 = policy_permissions_key(&r);
	struct policy_permissions w = {0};
	ASSERT_EQ(policy_permissions_add_dir(&w, true, b, &cause), 0);
	char *k3 = policy_permissions_key(&w);
	ASSERT(strcmp(k2, k3) != 0);
	ASSERT(!policy_permissions_covered(&w, &r));
	free(k1);
	free(k2);
	free(k3);
	policy_permissions_free(&r);
	policy_permissions_free(&w);
	policy_permissions_free(&p);
	policy_permissions_free(&q);
	free(real_b);
	free(a);
	free(b);
	free(dotdot);
	free(link);
	free(root);
	free(file);
	return 0;
}

TEST(permissions_extend_a_policy_but_never_open_a_none_path)
{
	struct policy_split split;
	struct policy_permissions p = {0};
	struct policy_resolved res;
	const char *tmp = test_tmpdir();
	char *out = xasprintf("%s/out", tmp), *ref = xasprintf("%s/ref", tmp);
	char *secret = xasprintf("%s/ws/secret", tmp), *ws = xasprintf("%s/ws", tmp);
	char *cause = NULL, *json;

	ASSERT_EQ(mkdir(out, 0700), 0);
	ASSERT_EQ(mkdir(ref, 0700), 0);
	ASSERT_EQ(mkdir(ws, 0700), 0);
	ASSERT_EQ(mkdir(secret, 0700), 0);
	char *real_out = realpath(out, NULL), *real_ref = realpath(ref, NULL);
	char *real_ws = realpath(ws, NULL), *real_secret = realpath(secret, NULL);
	json = xasprintf("{\"kind\":\"restricted\",\"entries\":["
	                 "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"minimal\"}},"
	                 "\"access\":\"read\"},"
	                 "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":"
	                 "\"current_working_directory\"}},\"access\":\"write\"},"
	                 "{\"path\":{\"type\":\"path\",\"path\":\"%s\"},\"access\":\"none\"}]}",
	                 real_secret);
	ASSERT_EQ(policy_parse(json, &split, &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&p, true, out, &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&p, false, ref, &cause), 0);
	ASSERT_EQ(policy_permissions_apply(&p, &split, real_ws, NULL, &cause), 0);
	ASSERT_EQ(policy_resolve(&split, real_ws, NULL, &res, &cause), 0);
	ASSERT_EQ(policy_resolved_access(&res, real_out), POLICY_ACCESS_WRITE);
	ASSERT_EQ(policy_resolved_access(&res, real_ref), POLICY_ACCESS_READ);
	ASSERT_EQ(policy_resolved_access(&res, real_secret), POLICY_ACCESS_NONE);
	ASSERT_EQ(policy_resolved_access(&res, "/var/log"), POLICY_ACCESS_NONE);
	policy_resolved_free(&res);
	policy_split_free(&split);
	policy_permissions_free(&p);

	/* The `none` path, or one under it, cannot be opened, for writing or reading. */
	ASSERT_EQ(policy_parse(json, &split, &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&p, false, secret, &cause), 0);
	ASSERT_EQ(policy_permissions_apply(&p, &split, real_ws, NULL, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "closed by the sandbox policy");
	free(cause);
	policy_split_free(&split);
	policy_permissions_free(&p);

	/* An unrestricted policy allows everything already: left as it is. */
	ASSERT_EQ(policy_parse("{\"kind\":\"unrestricted\"}", &split, &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&p, true, out, &cause), 0);
	ASSERT_EQ(policy_permissions_apply(&p, &split, real_ws, NULL, &cause), 0);
	ASSERT_EQ(split.fs.n_entries, 0);
	policy_split_free(&split);
	policy_permissions_free(&p);
	free(json);
	free(real_out);
	free(real_ref);
	free(real_ws);
	free(real_secret);
	free(out);
	free(ref);
	free(secret);
	free(ws);
	return 0;
}

TEST(permissions_read_the_directory_a_denial_names)
{
	const char *tmp = test_tmpdir();
	char *real = realpath(tmp, NULL), *sub = xasprintf("%s/sub", real), *dir, *text;

	ASSERT_EQ(mkdir(sub, 0700), 0);
	text = xasprintf("touch: cannot touch '%s/sub/x': Read-only file system\r\n", real);
	dir = policy_permissions_denied_dir(text, strlen(text), "/");
	ASSERT_STR_EQ(dir, sub);
	free(dir);
	free(text);
	text = xasprintf("bash: line 1: %s/sub/y.txt: Read-only file system\n", real);
	dir = policy_permissions_denied_dir(text, strlen(text), "/");
	ASSERT_STR_EQ(dir, sub);
	free(dir);
	free(text);
	/* Relative to the command's directory; the last denial counts. */
	text = xasprintf("mkdir: cannot create directory '/nope/a': Read-only file system\n"
	                 "mkdir: cannot create directory ‘sub/new’: Read-only file system\n");
	dir = policy_permissions_denied_dir(text, strlen(text), real);
	ASSERT_STR_EQ(dir, sub); /* the quotes of a UTF-8 locale */
	free(dir);
	free(text);
	text = xasprintf("mkdir: cannot create directory '/nope/a': Read-only file system\n"
	                 "mkdir: cannot create directory 'sub/new': Read-only file system\n");
	dir = policy_permissions_denied_dir(text, strlen(text), real);
	ASSERT_STR_EQ(dir, sub);
	free(dir);
	free(text);
	/* Nothing to offer: no such message, a parent that is missing, or /. */
	text = xstrdup("touch: cannot touch '/x': Permission denied\n");
	ASSERT(policy_permissions_denied_dir(text, strlen(text), "/") == NULL);
	free(text);
	text = xstrdup("touch: cannot touch '/nope/x': Read-only file system\n");
	ASSERT(policy_permissions_denied_dir(text, strlen(text), "/") == NULL);
	free(text);
	text = xstrdup("touch: cannot touch '/x': Read-only file system\n");
	ASSERT(policy_permissions_denied_dir(text, strlen(text), "/") == NULL);
	free(text);
	free(sub);
	free(real);
	return 0;
}

/* What one requester saw. */
struct permissions_test__rec {
	int calls;
	bool allowed, sandboxed, prompted;
	enum audit_by by;
	char permissions[256];
	char write_dir[256];
};

/* Records a result. */
static void permissions_test__cb(const struct approval_result *res, void *data)
{
	struct permissions_test__rec *r = data;

	r->calls++;
	r->allowed = res->allowed;
	r->sandboxed = res->sandboxed;
	r->prompted = res->prompted;
	r->by = res->by;
	snprintf(r->permissions, sizeof r->permissions, "%s",
	         res->permissions != NULL ? res->permissions : "");
	snprintf(r->write_dir, sizeof r->write_dir, "%s",
	         res->write_dir != NULL ? res->write_dir : "");
}

/* A queue under POLICY with RULES, its audit log in the test's directory. */
struct permissions_test__env {
	char *home, *log;
	struct rules *rules;
	struct audit *audit;
	struct approval_queue *q;
};

/* Sets ENV up. */
static int permissions_test__setup_reject(struct permissions_test__env *env,
                                          enum decide_approval policy, const char *rules_text,
                                          unsigned reject)
{
	static const char *const denied[] = {"evil.example"};
	static int serial;
	struct approval_config cfg = {.approval = policy,
	                              .reject = reject,
	                              .denied_domains = denied,
	                              .n_denied_domains = 1};
	char *dir, *file, *cause = NULL;

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
	env->q = approval_queue_new(&cfg);
	free(dir);
	free(file);
	return 0;
}

/* Sets ENV up with no reject policy. */
static int permissions_test__setup(struct permissions_test__env *env, enum decide_approval policy,
                                   const char *rules_text)
{
	return permissions_test__setup_reject(env, policy, rules_text, 0);
}

/* Frees ENV. */
static void permissions_test__teardown(struct permissions_test__env *env)
{
	approval_queue_free(env->q);
	audit_close(env->audit);
	rules_free(env->rules);
	free(env->home);
	free(env->log);
}

TEST(approval_extra_permissions_prompt_and_their_session_key)
{
	struct permissions_test__env env;
	struct permissions_test__rec a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, f = {0};
	struct policy_permissions out = {0}, other = {0};
	char *touch[] = {"touch", "/x/f", NULL}, *docker[] = {"docker", "ps", NULL};
	char *cause = NULL, *log;
	const struct approval_prompt *p;
	struct approval_request req = {.kind = APPROVAL_EXEC,
	                               .argv = touch,
	                               .argc = 2,
	                               .cwd = "/ws",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	                               .justification = "writes the build output",
	                               .permissions = &out};

	if (permissions_test__setup(&env, DECIDE_APPROVAL_ON_REQUEST,
	                            "prefix_rule(pattern=[\"docker\"], decision=\"forbidden\")\n"
	                            "prefix_rule(pattern=[\"git\", \"push\"], decision=\"prompt\", "
	                            "justification=\"talks to the remote\")\n") != 0)
		return 1;
	ASSERT_EQ(policy_permissions_add_dir(&out, true, "/tmp", &cause), 0);
	ASSERT_EQ(policy_permissions_add_dir(&other, true, "/var", &cause), 0);
	/* on-request runs `touch` sandboxed unasked; with extra permissions it asks. */
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &a) > 0);
	p = approval_current(env.q);
	ASSERT(p != NULL);
	ASSERT_STR_EQ(p->title, "Run with extra permissions, still sandboxed?");
	ASSERT_STR_EQ(p->subject, "touch /x/f");
	ASSERT_STR_EQ(p->reason,
	              "Adds write /tmp. The command stays sandboxed. writes the build output");
	ASSERT_EQ(p->n_options, 3);
	ASSERT_STR_EQ(p->options[0].label, "Yes, with these permissions, once");
	ASSERT_EQ(p->options[0].key, 'y');
	ASSERT_STR_EQ(p->options[1].label,
	              "Yes, and for this command with these permissions this session");
	ASSERT_EQ(p->options[1].key, 'a');
	ASSERT_STR_EQ(p->options[2].label, "No");
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_SESSION), 0);
	ASSERT(a.calls == 1 && a.allowed && a.sandboxed && a.prompted);
	ASSERT_STR_EQ(a.permissions, "write /tmp");
	/* The same command with the same permissions: covered, still sandboxed. */
	ASSERT_EQ(approval_request(env.q, &req, permissions_test__cb, NULL, &b), 0);
	ASSERT(b.allowed && b.sandboxed && !b.prompted && b.by == AUDIT_BY_SESSION);
	ASSERT_STR_EQ(b.permissions, "write /tmp");
	/* Other permissions: asked again. */
	req.permissions = &other;
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &c) > 0);
	ASSERT_EQ(approval_pending(env.q), 1);
	ASSERT_CONTAINS(approval_current(env.q)->reason, "Adds write /var.");
	ASSERT_EQ(approval_answer(env.q, approval_current(env.q)->id, APPROVAL_DENY), 0);
	ASSERT(c.calls == 1 && !c.allowed);
	/* The session answer never lets the command out of the sandbox. */
	req.permissions = NULL;
	req.escalate = true;
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &d) > 0);
	ASSERT_STR_EQ(approval_current(env.q)->title, "Run outside the sandbox?");
	approval_deny_all(env.q);
	/* A forbidden rule refuses, extra permissions or not. */
	req.escalate = false;
	req.permissions = &out;
	req.argv = docker;
	ASSERT_EQ(approval_request(env.q, &req, permissions_test__cb, NULL, &e), 0);
	ASSERT(e.calls == 1 && !e.allowed && e.by == AUDIT_BY_RULE);
	/* A prompt rule's reason is named in the extra-permissions prompt. */
	char *push[] = {"git", "push", NULL};
	struct permissions_test__rec g = {0};
	req.argv = push;
	req.justification = NULL;
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &g) > 0);
	ASSERT_STR_EQ(approval_current(env.q)->title,
	              "Run with extra permissions, still sandboxed?");
	ASSERT_CONTAINS(approval_current(env.q)->reason,
	                "Adds write /tmp. The command stays sandboxed. (");
	ASSERT_CONTAINS(approval_current(env.q)->reason, "talks to the remote");
	ASSERT_EQ(approval_answer(env.q, approval_current(env.q)->id, APPROVAL_ONCE), 0);
	ASSERT(g.allowed && g.sandboxed);
	log = test_read_file(env.log, NULL);
	ASSERT_CONTAINS(log, "\"permissions\":\"write /tmp\"");
	free(log);
	permissions_test__teardown(&env);

	/* Policy never: refused, no prompt. */
	if (permissions_test__setup(&env, DECIDE_APPROVAL_NEVER, "") != 0)
		return 1;
	req.argv = touch;
	ASSERT_EQ(approval_request(env.q, &req, permissions_test__cb, NULL, &f), 0);
	ASSERT(f.calls == 1 && !f.allowed && !f.prompted);
	ASSERT_EQ(approval_pending(env.q), 0);
	permissions_test__teardown(&env);
	policy_permissions_free(&out);
	policy_permissions_free(&other);
	return 0;
}

TEST(approval_request_permissions_retry_w_and_host_grants)
{
	struct permissions_test__env env;
	struct permissions_test__rec a = {0}, b = {0}, c = {0}, d = {0};
	struct policy_permissions grant = {0};
	char *touch[] = {"touch", "/x/f", NULL};
	char *cause = NULL;
	const struct approval_prompt *p;

	if (permissions_test__setup(&env, DECIDE_APPROVAL_ON_FAILURE, "") != 0)
		return 1;
	ASSERT_EQ(policy_permissions_add_dir(&grant, true, "/tmp", &cause), 0);
	ASSERT_EQ(policy_permissions_add_host(&grant, "pypi.org:443", &cause), 0);
	struct approval_request req = {.kind = APPROVAL_PERMISSIONS,
	                               .cwd = "/ws",
	                               .justification = "caches",
	                               .permissions = &grant,
	                               .origin = "agent client 1"};
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &a) > 0);
	p = approval_current(env.q);
	ASSERT_STR_EQ(p->title, "Grant extra permissions, still sandboxed?");
	ASSERT_STR_EQ(p->subject, "write /tmp; network pypi.org:443");
	ASSERT_CONTAINS(p->reason, "they stay sandboxed. caches");
	ASSERT_EQ(p->n_options, 2);
	ASSERT_EQ(p->options[0].key, 'y');
	ASSERT_EQ(p->options[1].key, 'n');
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_ONCE), 0);
	ASSERT(a.allowed && a.prompted);

	/* The retry after a read-only denial offers `w`, which keeps the sandbox. */
	struct approval_request retry = {.kind = APPROVAL_EXEC,
	                                 .argv = touch,
	                                 .argc = 2,
	                                 .cwd = "/ws",
	                                 .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	                                 .retry = true,
	                                 .write_dir = "/x",
	                                 .from = "input"};
	ASSERT(approval_request(env.q, &retry, permissions_test__cb, NULL, &b) > 0);
	p = approval_current(env.q);
	ASSERT_EQ(p->n_options, 5);
	ASSERT_EQ(p->options[3].key, 'w');
	ASSERT_STR_EQ(p->options[3].label, "Retry with write access to /x, still sandboxed");
	ASSERT_EQ(p->options[4].key, 'n');
	ASSERT_EQ(approval_answer(env.q, p->id, APPROVAL_WRITE_DIR), 0);
	ASSERT(b.allowed && b.sandboxed && b.prompted);
	ASSERT_STR_EQ(b.write_dir, "/x");
	/* Without a named directory there is no `w`. */
	retry.write_dir = NULL;
	ASSERT(approval_request(env.q, &retry, permissions_test__cb, NULL, &c) > 0);
	ASSERT_EQ(approval_current(env.q)->n_options, 4);
	ASSERT_EQ(approval_answer(env.q, approval_current(env.q)->id, APPROVAL_WRITE_DIR),
	          -EINVAL);
	approval_deny_all(env.q);

	/* A granted host passes with no prompt; another port of it still asks. */
	struct approval_request net = {.kind = APPROVAL_NETWORK,
	                               .host = "PyPI.org",
	                               .protocol = "https",
	                               .port = 443,
	                               .grants = &grant};
	ASSERT_EQ(approval_request(env.q, &net, permissions_test__cb, NULL, &d), 0);
	ASSERT(d.allowed && !d.prompted);
	net.port = 80;
	ASSERT(approval_request(env.q, &net, permissions_test__cb, NULL, &d) > 0);
	approval_deny_all(env.q);
	permissions_test__teardown(&env);
	policy_permissions_free(&grant);
	return 0;
}

TEST(approval_extra_permissions_never_pass_what_refuses)
{
	struct permissions_test__env env;
	struct permissions_test__rec a = {0}, b = {0}, c = {0}, d = {0};
	struct policy_permissions out = {0};
	char *touch[] = {"touch", "/x/f", NULL};
	char *cause = NULL;

	/* reject:sandbox refuses extra permissions unasked, and request_permissions too. */
	if (permissions_test__setup_reject(&env, DECIDE_APPROVAL_ON_REQUEST, "",
	                                   APPROVAL_REJECT_SANDBOX) != 0)
		return 1;
	ASSERT_EQ(policy_permissions_add_dir(&out, true, "/tmp", &cause), 0);
	ASSERT_EQ(policy_permissions_add_host(&out, "evil.example:443", &cause), 0);
	ASSERT_EQ(policy_permissions_add_host(&out, "127.0.0.1:22", &cause), 0);
	struct approval_request req = {.kind = APPROVAL_EXEC,
	                               .argv = touch,
	                               .argc = 2,
	                               .cwd = "/ws",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	                               .permissions = &out};
	ASSERT_EQ(approval_request(env.q, &req, permissions_test__cb, NULL, &a), 0);
	ASSERT(a.calls == 1 && !a.allowed && !a.prompted);
	struct approval_request grant = {.kind = APPROVAL_PERMISSIONS, .permissions = &out};
	ASSERT_EQ(approval_request(env.q, &grant, permissions_test__cb, NULL, &b), 0);
	ASSERT(b.calls == 1 && !b.allowed);
	ASSERT_EQ(approval_pending(env.q), 0);

	/* A granted host that the config denies, or that the proxy refused itself, stays refused. */
	struct approval_request net = {.kind = APPROVAL_NETWORK,
	                               .host = "evil.example",
	                               .protocol = "https",
	                               .port = 443,
	                               .grants = &out};
	ASSERT_EQ(approval_request(env.q, &net, permissions_test__cb, NULL, &c), 0);
	ASSERT(c.calls == 1 && !c.allowed && c.by == AUDIT_BY_CONFIG);
	net.host = "127.0.0.1";
	net.port = 22;
	net.refuse = "a loopback address";
	ASSERT_EQ(approval_request(env.q, &net, permissions_test__cb, NULL, &d), 0);
	ASSERT(d.calls == 1 && !d.allowed && d.by == AUDIT_BY_POLICY);
	permissions_test__teardown(&env);
	policy_permissions_free(&out);
	return 0;
}

TEST(approval_extra_permissions_ask_under_untrusted_and_stay_apart)
{
	struct permissions_test__env env;
	struct permissions_test__rec a = {0}, b = {0}, c = {0};
	struct policy_permissions out = {0};
	char *ls[] = {"ls", NULL}, *npm[] = {"npm", "install", NULL};
	char *cause = NULL;

	if (permissions_test__setup(&env, DECIDE_APPROVAL_UNTRUSTED, "") != 0)
		return 1;
	ASSERT_EQ(policy_permissions_add_dir(&out, false, "/tmp", &cause), 0);
	/* A known-safe command runs unasked, but not with extra permissions. */
	struct approval_request req = {.kind = APPROVAL_EXEC,
	                               .argv = ls,
	                               .argc = 1,
	                               .cwd = "/ws",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
	                               .permissions = &out};
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &a) > 0);
	ASSERT_STR_EQ(approval_current(env.q)->title,
	              "Run with extra permissions, still sandboxed?");
	ASSERT_CONTAINS(approval_current(env.q)->reason, "Adds read /tmp.");
	ASSERT_EQ(approval_answer(env.q, approval_current(env.q)->id, APPROVAL_SESSION), 0);
	ASSERT(a.allowed && a.sandboxed);
	/* The session answer for extra permissions is not one for the plain command. */
	req.argv = npm;
	req.argc = 2;
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &b) > 0);
	ASSERT_EQ(approval_answer(env.q, approval_current(env.q)->id, APPROVAL_SESSION), 0);
	req.permissions = NULL;
	ASSERT(approval_request(env.q, &req, permissions_test__cb, NULL, &c) > 0);
	ASSERT(approval_current(env.q) != NULL);
	ASSERT(strstr(approval_current(env.q)->title, "extra permissions") == NULL);
	approval_deny_all(env.q);
	ASSERT(c.calls == 1 && !c.allowed);
	permissions_test__teardown(&env);
	policy_permissions_free(&out);
	return 0;
}
