/*
 * The managed policy (core/managed.c): the pure parser (every key, every
 * error with its line and column), the allowed_* checks a flag or config
 * value meets, and the ownership checks managed_load() makes before it reads
 * a byte (as root, on files made here in a private temporary directory).
 * The real binary under a managed file is tests/e2e/managed-cli.sh.
 */
#include "test.h"

#include "core/approval.h"
#include "core/decide.h"
#include "core/managed.h"
#include "core/rules.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(managed_parser_reads_every_key)
{
	struct managed m;
	char *cause = NULL;
	const char *text =
	    "{\"allowed_approval_policies\": [\"on-request\", \"never\"],\n"
	    " \"allowed_network_modes\": [\"off\", \"ask\"],\n"
	    " \"allowed_sandbox_policies\": [\"read-only\", \"workspace-write\"],\n"
	    " \"allow_unsandboxed\": false,\n"
	    " \"rules\": \"/etc/airlock/rules\",\n"
	    " \"network\": {\"allowed_domains\": [], \"denied_domains\": [\"*.pastebin.com\"],\n"
	    "             \"allow_private\": [\"10.1.0.0/16\"]},\n"
	    " \"protected_paths\": [\".env\"],\n"
	    " \"decider\": {\"command\": [\"/usr/lib/acme/decide\", \"--fast\"], \"timeout_ms\": "
	    "500}}\n";

	ASSERT_EQ(managed_parse(&m, text, "m.json", &cause), 0);
	ASSERT(m.present);
	ASSERT_STR_EQ(m.path, "m.json");
	ASSERT(m.approval_policies.set);
	ASSERT_EQ(m.approval_policies.n, 2);
	ASSERT_STR_EQ(m.approval_policies.v[1], "never");
	ASSERT(m.approval_policies.v[2] == NULL);
	ASSERT_EQ(m.network_modes.n, 2);
	ASSERT_EQ(m.sandbox_policies.n, 2);
	ASSERT(!m.allow_unsandboxed);
	ASSERT_STR_EQ(m.rules_dir, "/etc/airlock/rules");
	ASSERT(m.allowed_domains.set);
	ASSERT_EQ(m.allowed_domains.n, 0);
	ASSERT_STR_EQ(m.denied_domains.v[0], "*.pastebin.com");
	ASSERT_STR_EQ(m.allow_private.v[0], "10.1.0.0/16");
	ASSERT_STR_EQ(m.protected_paths.v[0], ".env");
	ASSERT_EQ(m.decider_argc, 2);
	ASSERT_STR_EQ(m.decider_argv[0], "/usr/lib/acme/decide");
	ASSERT(m.decider_argv[2] == NULL);
	ASSERT_EQ(m.decider_timeout_ms, 500);
	/* What the lists allow and refuse. */
	ASSERT(managed_allows(&m.approval_policies, "never"));
	ASSERT(!managed_allows(&m.approval_policies, "on-failure"));
	ASSERT(!managed_allows(&m.network_modes, "on"));
	ASSERT(managed_allows(&m.protected_paths, ".env"));
	managed_free(&m);

	/* Every key is optional: {} is a policy in force that allows everything. */
	ASSERT_EQ(managed_parse(&m, "{}", "m.json", &cause), 0);
	ASSERT(m.present);
	ASSERT(m.allow_unsandboxed);
	ASSERT(!m.approval_policies.set);
	ASSERT(managed_allows(&m.approval_policies, "never"));
	ASSERT(m.decider_argv == NULL);
	ASSERT_EQ(m.decider_timeout_ms, MANAGED_DECIDER_TIMEOUT_MS);
	managed_free(&m);
	return 0;
}

/* One bad managed file and the exact message it must produce. */
static const struct {
	const char *text;
	const char *cause;
} managed_bad_cases[] = {
    {"{\"allowed_network_modes\": [\"off\", \"wide\"]}",
     "m.json:1:2: \"allowed_network_modes\": [1]: \"wide\" is not one of off, ask, on"},
    {"{\"allowed_approval_policies\": \"never\"}",
     "m.json:1:2: \"allowed_approval_policies\": must be an array of strings"},
    {"{\"allowed_sandbox_policies\": [\"full\"]}",
     "m.json:1:2: \"allowed_sandbox_policies\": [0]: \"full\" is not one of read-only, "
     "workspace-write, danger-full-access"},
    {"{\"allow_unsandboxed\": \"no\"}", "m.json:1:2: \"allow_unsandboxed\": must be true or false"},
    {"{\"rules\": \"rel/rules\"}",
     "m.json:1:2: \"rules\": must be the absolute path of a directory of *.rules files"},
    {"{\n  \"network\": {\n    \"allowed_domain\": []\n  }\n}",
     "m.json:3:5: unknown key \"network.allowed_domain\""},
    {"{\"network\": {\"allow_private\": [\"10.0.0.0/33\"]}}",
     "m.json:1:14: \"network.allow_private\": [0]: \"10.0.0.0/33\": the prefix length must "
     "be 0 to 32"},
    {"{\"decider\": {\"command\": [\"decide\"]}}",
     "m.json:1:14: \"decider.command\": must be a non-empty array of strings whose first is an "
     "absolute path"},
    {"{\"decider\": {\"command\": []}}",
     "m.json:1:14: \"decider.command\": must be a non-empty array of strings whose first is an "
     "absolute path"},
    {"{\"decider\": {\"command\": [\"/d\"], \"timeout_ms\": 0}}",
     "m.json:1:33: \"decider.timeout_ms\": must be a whole number of milliseconds from 1 to "
     "600000"},
    {"{\"decider\": {\"timeout_ms\": 100}}",
     "m.json:1:2: \"decider\": a timeout_ms needs a command"},
    {"{\"allow_unsandboxed\": false, \"allowed_sandbox_policies\": [\"danger-full-access\"]}",
     "m.json:1:30: \"allowed_sandbox_policies\" lists danger-full-access, but "
     "allow_unsandboxed is false"},
    {"{\"sandbox\": \"read-only\"}", "m.json:1:2: unknown key \"sandbox\""},
    {"{\"rules\": \"/a\", \"rules\": \"/b\"}", "m.json:1:17: duplicate key \"rules\""},
    {"{\"protected_paths\": [\"a\\u0000b\"]}",
     "m.json:1:24: a string holds a NUL character (\\u0000)"},
    {"[]", "m.json:1:1: the top level must be an object"},
    {"{\"rules\": \"/a\"", "m.json:1:15: malformed JSON"},
};

TEST(managed_parser_errors_name_the_key_and_place)
{
	for (size_t i = 0; i < sizeof managed_bad_cases / sizeof managed_bad_cases[0]; i++) {
		struct managed m;
		char *cause = NULL;

		ASSERT_EQ(managed_parse(&m, managed_bad_cases[i].text, "m.json", &cause), -EINVAL);
		ASSERT_STR_EQ(cause, managed_bad_cases[i].cause);
		ASSERT(!m.present);
		free(cause);
	}
	return 0;
}

TEST(managed_refusal_names_the_value_and_the_key)
{
	struct managed m;
	char *cause = NULL;

	ASSERT_EQ(managed_parse(&m,
	                        "{\"allowed_approval_policies\": [\"on-request\", \"reject\"], "
	                        "\"allowed_network_modes\": [\"off\"], \"allow_unsandboxed\": false}",
	                        "/etc/airlock/managed.json", &cause),
	          0);
	ASSERT_EQ(managed_refuse(&m, "on-request", "-a", "off", "-n", "workspace-write", "-s", &cause),
	          0);
	/* reject:KIND,... is the policy "reject". */
	ASSERT_EQ(managed_refuse(&m, "reject:sandbox,rules", "-a", NULL, NULL, NULL, NULL, &cause), 0);
	ASSERT_EQ(managed_refuse(&m, "never", "--ask-for-approval", NULL, NULL, NULL, NULL, &cause),
	          -EPERM);
	ASSERT_STR_EQ(cause, "--ask-for-approval \"never\" is not allowed by the managed policy "
	                     "/etc/airlock/managed.json: allowed_approval_policies allows "
	                     "on-request, reject");
	free(cause);
	ASSERT_EQ(managed_refuse(&m, NULL, NULL, "on", "config.json network.mode", NULL, NULL,
	                         &cause),
	          -EPERM);
	ASSERT_STR_EQ(cause, "config.json network.mode \"on\" is not allowed by the managed policy "
	                     "/etc/airlock/managed.json: allowed_network_modes allows off");
	free(cause);
	/* allow_unsandboxed: false refuses danger-full-access even with no list. */
	ASSERT_EQ(managed_refuse(&m, NULL, NULL, NULL, NULL, "danger-full-access", "--sandbox",
	                         &cause),
	          -EPERM);
	ASSERT_CONTAINS(cause, "--sandbox \"danger-full-access\"");
	ASSERT_CONTAINS(cause, "allow_unsandboxed is false");
	free(cause);
	managed_free(&m);
	/* No managed file: nothing is refused. */
	memset(&m, 0, sizeof m);
	ASSERT_EQ(managed_refuse(&m, "never", "-a", "on", "-n", "danger-full-access", "-s", &cause),
	          0);
	return 0;
}

/* Writes TEXT to PATH with MODE, owned by UID. */
static int managed__write(const char *path, const char *text, mode_t mode, uid_t uid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	close(fd);
	if (chown(path, uid, uid) != 0 || chmod(path, mode) != 0)
		return -1;
	return 0;
}

TEST(managed_file_must_be_roots_and_kept_from_others)
{
	char dir[] = "/tmp/airlock-managed-XXXXXX";
	char *file, *link, *sub, *subfile, *rules, *rulesfile, *cause = NULL;
	struct managed m;

	if (geteuid() != 0)
		SKIP("not root: the managed file must be root's, and only root can make one");
	ASSERT(mkdtemp(dir) != NULL);
	file = xasprintf("%s/managed.json", dir);
	link = xasprintf("%s/link.json", dir);
	sub = xasprintf("%s/sub", dir);
	subfile = xasprintf("%s/sub/managed.json", dir);
	rules = xasprintf("%s/rules", dir);
	rulesfile = xasprintf("%s/rules/team.rules", dir);

	/* Missing: no policy, no error. */
	ASSERT_EQ(managed_load(&m, file, &cause), 0);
	ASSERT(!m.present);

	/* Root's, 0644, in root's 0700 directory under /tmp (sticky): read. */
	ASSERT_EQ(managed__write(file, "{\"allowed_network_modes\": [\"off\"]}", 0644, 0), 0);
	ASSERT_EQ(managed_load(&m, file, &cause), 0);
	ASSERT(m.present);
	ASSERT_EQ(m.network_modes.n, 1);
	managed_free(&m);

	/* Group-writable: stops. */
	ASSERT_EQ(chmod(file, 0664), 0);
	ASSERT_EQ(managed_load(&m, file, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "writable by its group");
	ASSERT(!m.present);
	free(cause);
	ASSERT_EQ(chmod(file, 0646), 0);
	ASSERT_EQ(managed_load(&m, file, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "writable by others");
	free(cause);

	/* A user's: stops, whatever its mode. */
	ASSERT_EQ(chmod(file, 0644), 0);
	ASSERT_EQ(chown(file, 65534, 65534), 0);
	ASSERT_EQ(managed_load(&m, file, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "owned by uid 65534, not root");
	free(cause);
	ASSERT_EQ(chown(file, 0, 0), 0);

	/* A symbolic link to a good file: stops (a link is a second path). */
	ASSERT_EQ(symlink(file, link), 0);
	ASSERT_EQ(managed_load(&m, link, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "is a symbolic link");
	free(cause);

	/* A good file in a directory others may write (no sticky bit): stops. */
	ASSERT_EQ(mkdir(sub, 0755), 0);
	ASSERT_EQ(managed__write(subfile, "{}", 0644, 0), 0);
	ASSERT_EQ(managed_load(&m, subfile, &cause), 0);
	managed_free(&m);
	ASSERT_EQ(chmod(sub, 0777), 0);
	ASSERT_EQ(managed_load(&m, subfile, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "/sub is writable by others");
	free(cause);
	ASSERT_EQ(chmod(sub, 0755), 0);
	ASSERT_EQ(chown(sub, 65534, 65534), 0);
	ASSERT_EQ(managed_load(&m, subfile, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "/sub is owned by uid 65534");
	free(cause);
	ASSERT_EQ(chown(sub, 0, 0), 0);

	/* The managed rules: the directory and each file are checked as well. */
	{
		char *text = xasprintf("{\"rules\": \"%s\"}", rules);

		ASSERT_EQ(managed__write(file, text, 0644, 0), 0);
		free(text);
	}
	ASSERT_EQ(managed_load(&m, file, &cause), 0); /* named but absent: none yet */
	managed_free(&m);
	ASSERT_EQ(mkdir(rules, 0755), 0);
	ASSERT_EQ(managed__write(rulesfile, "prefix_rule(pattern=[\"rm\"], decision=\"forbidden\")\n",
	                         0644, 0),
	          0);
	ASSERT_EQ(managed_load(&m, file, &cause), 0);
	ASSERT_STR_EQ(m.rules_dir, rules);
	managed_free(&m);
	ASSERT_EQ(chown(rulesfile, 65534, 65534), 0);
	ASSERT_EQ(managed_load(&m, file, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "\"rules\": ");
	ASSERT_CONTAINS(cause, "team.rules is owned by uid 65534");
	ASSERT(!m.present);
	free(cause);

	ASSERT_EQ(unlink(rulesfile), 0);
	ASSERT_EQ(rmdir(rules), 0);
	ASSERT_EQ(unlink(subfile), 0);
	ASSERT_EQ(rmdir(sub), 0);
	ASSERT_EQ(unlink(link), 0);
	ASSERT_EQ(unlink(file), 0);
	ASSERT_EQ(rmdir(dir), 0);
	free(file);
	free(link);
	free(sub);
	free(subfile);
	free(rules);
	free(rulesfile);
	return 0;
}

/* What a requester of the approval queue saw. */
struct managed_test__seen {
	int calls;
	bool allowed;
	bool prompted;
};

/* Records one result. */
static void managed_test__cb(const struct approval_result *res, void *data)
{
	struct managed_test__seen *s = data;

	s->calls++;
	s->allowed = res->allowed;
	s->prompted = res->prompted;
}

/* Whether prompt PR offers ANSWER. */
static bool managed_test__offers(const struct approval_prompt *pr, enum approval_answer answer)
{
	for (size_t i = 0; i < pr->n_options; i++)
		if (pr->options[i].answer == answer)
			return true;
	return false;
}

TEST(managed_rules_bind_over_user_rules_session_grants_and_p)
{
	static const char *const allowed[] = {"ask.example"};
	char *home = xasprintf("%s/home", test_tmpdir()), *mdir = xasprintf("%s/managed", test_tmpdir());
	char *rules_dir = xasprintf("%s/rules", home), *file, *cause = NULL, *log;
	char *push[] = {"git", "push", "origin", NULL}, *reset[] = {"git", "reset", "--hard", NULL};
	struct managed_test__seen seen = {0};
	struct approval_request req = {.kind = APPROVAL_EXEC, .argc = 3, .argv = push, .cwd = "/",
	                               .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE};
	const struct approval_prompt *pr;
	struct rules *rules;
	struct audit *audit;
	struct approval_queue *q;

	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mkdir(rules_dir, 0700), 0);
	ASSERT_EQ(mkdir(mdir, 0755), 0);
	/* The user's rules: what a `p` answer writes for `git`, and a host allowed for good. */
	file = xasprintf("%s/default.rules", rules_dir);
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"git\"], decision=\"allow\")\n"
	                                "network_rule(host=\"ask.example\", decision=\"allow\")\n"),
	          0);
	free(file);
	file = xasprintf("%s/team.rules", mdir);
	ASSERT_EQ(test_write_file(
	              file, "prefix_rule(pattern=[\"git\", \"push\"], decision=\"prompt\", "
	                    "justification=\"pushes are reviewed\")\n"
	                    "prefix_rule(pattern=[\"git\", \"reset\"], decision=\"forbidden\", "
	                    "justification=\"history stays\")\n"
	                    "network_rule(host=\"ask.example\", decision=\"prompt\")\n"),
	          0);
	free(file);
	rules = rules_new();
	rules_set_managed(rules, mdir);
	ASSERT_EQ(rules_load_all(rules, home, NULL, &cause), 0);
	log = xasprintf("%s/audit.jsonl", home);
	audit = audit_open(log, &cause);
	ASSERT(audit != NULL);
	q = approval_queue_new(&(struct approval_config){.approval = DECIDE_APPROVAL_ON_REQUEST,
	                                                 .rules = rules,
	                                                 .home = home,
	                                                 .audit = audit,
	                                                 .allowed_domains = allowed,
	                                                 .n_allowed_domains = 1});

	/* The managed forbidden rule wins over the user's allow rule. */
	req.argv = reset;
	ASSERT_EQ(approval_request(q, &req, managed_test__cb, NULL, &seen), 0);
	ASSERT_EQ(seen.calls, 1);
	ASSERT(!seen.allowed);

	/* The managed prompt rule asks, though the user's rule allows: no session or `p` answer. */
	req.argv = push;
	ASSERT(approval_request(q, &req, managed_test__cb, NULL, &seen) > 0);
	pr = approval_current(q);
	ASSERT(pr != NULL);
	ASSERT(!managed_test__offers(pr, APPROVAL_SESSION));
	ASSERT(!managed_test__offers(pr, APPROVAL_RULE));
	ASSERT(managed_test__offers(pr, APPROVAL_ONCE));
	ASSERT_EQ(approval_answer(q, pr->id, APPROVAL_SESSION), -EINVAL);
	ASSERT_EQ(approval_answer(q, pr->id, APPROVAL_ONCE), 0);
	ASSERT_EQ(seen.calls, 2);
	ASSERT(seen.allowed);
	/* And again: an answer is never remembered for it. */
	ASSERT(approval_request(q, &req, managed_test__cb, NULL, &seen) > 0);
	ASSERT_EQ(approval_pending(q), 1);
	approval_deny_all(q);

	/* A network prompt rule of the managed policy: no allow rule, config list or session passes it. */
	req = (struct approval_request){
	    .kind = APPROVAL_NETWORK, .host = "ask.example", .protocol = "https", .port = 443};
	ASSERT(approval_request(q, &req, managed_test__cb, NULL, &seen) > 0);
	pr = approval_current(q);
	ASSERT(pr != NULL);
	ASSERT(!managed_test__offers(pr, APPROVAL_SESSION));
	ASSERT(!managed_test__offers(pr, APPROVAL_RULE));
	ASSERT_EQ(approval_answer(q, pr->id, APPROVAL_ONCE), 0);
	ASSERT(seen.allowed);
	ASSERT(approval_request(q, &req, managed_test__cb, NULL, &seen) > 0);
	approval_deny_all(q);

	approval_queue_free(q);
	audit_close(audit);
	rules_free(rules);
	free(log);
	free(rules_dir);
	free(mdir);
	free(home);
	return 0;
}

TEST(managed_rules_are_never_removed)
{
	char *mdir = xasprintf("%s/managed-rm", test_tmpdir()), *file, *cause = NULL, *text;
	struct rules *rules = rules_new();

	ASSERT_EQ(mkdir(mdir, 0755), 0);
	file = xasprintf("%s/team.rules", mdir);
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"rm\"], decision=\"forbidden\", "
	                                "justification=\"no\")\n"),
	          0);
	rules_set_managed(rules, mdir);
	ASSERT_EQ(rules_load_all(rules, NULL, NULL, &cause), 0);
	ASSERT_EQ(rules_count(rules), 1);
	ASSERT(rules_get(rules, 0)->managed);
	ASSERT_EQ(rules_remove(rules_get(rules, 0), &cause), -EPERM);
	ASSERT_CONTAINS(cause, "a rule of the managed policy");
	free(cause);
	text = test_read_file(file, NULL);
	ASSERT_CONTAINS(text, "forbidden");
	free(text);
	rules_free(rules);
	free(file);
	free(mdir);
	return 0;
}

/* Decides ARGV (NULL-terminated) under RULES, policy on-request: the decision. */
static enum decide_decision managed_test__decide(struct rules *rules, char *const argv[])
{
	struct decide_input in = {.cwd = "/", .approval = DECIDE_APPROVAL_ON_REQUEST,
	                          .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE, .rules = rules};
	struct decide_result res;
	enum decide_decision d;

	while (argv[in.argc] != NULL)
		in.argc++;
	in.argv = argv;
	decide_command(&in, &res);
	d = res.decision;
	decide_result_free(&res);
	return d;
}

TEST(managed_rules_see_through_the_users_pins)
{
	char *home = xasprintf("%s/pin-home", test_tmpdir()), *mdir = xasprintf("%s/pin-managed", test_tmpdir());
	char *dir = xasprintf("%s/rules", home), *file, *cause = NULL;
	char *by_path[] = {"/usr/bin/git", "push", NULL};
	char *by_shell[] = {"/bin/bash", "-c", "git push origin", NULL};
	char *by_env[] = {"/usr/bin/env", "git", "push", NULL};
	struct rules *rules;

	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(mkdir(mdir, 0755), 0);
	/* The user pins git, bash and env to paths that are never used. */
	file = xasprintf("%s/default.rules", dir);
	ASSERT_EQ(test_write_file(file, "host_executable(name=\"git\", paths=[\"/nowhere/git\"])\n"
	                                "host_executable(name=\"bash\", paths=[\"/nowhere/bash\"])\n"
	                                "host_executable(name=\"env\", paths=[\"/nowhere/env\"])\n"),
	          0);
	free(file);
	file = xasprintf("%s/team.rules", mdir);
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"git\", \"push\"], "
	                                "decision=\"forbidden\", justification=\"CI pushes\")\n"),
	          0);
	free(file);
	rules = rules_new();
	rules_set_managed(rules, mdir);
	ASSERT_EQ(rules_load_all(rules, home, NULL, &cause), 0);
	ASSERT_EQ(managed_test__decide(rules, by_path), DECIDE_FORBIDDEN);
	ASSERT_EQ(managed_test__decide(rules, by_shell), DECIDE_FORBIDDEN);
	ASSERT_EQ(managed_test__decide(rules, by_env), DECIDE_FORBIDDEN);
	rules_free(rules);

	/* The administrator's own pin counts: a git elsewhere is not the git its rules mean. */
	file = xasprintf("%s/pins.rules", mdir);
	ASSERT_EQ(test_write_file(file, "host_executable(name=\"git\", paths=[\"/usr/bin/git\"])\n"), 0);
	free(file);
	rules = rules_new();
	rules_set_managed(rules, mdir);
	ASSERT_EQ(rules_load_all(rules, home, NULL, &cause), 0);
	ASSERT_EQ(managed_test__decide(rules, by_path), DECIDE_FORBIDDEN);
	by_path[0] = "/opt/other/git";
	ASSERT_EQ(managed_test__decide(rules, by_path), DECIDE_ALLOW);
	rules_free(rules);
	free(dir);
	free(mdir);
	free(home);
	return 0;
}

/* How many of RULES's prefix rules match ARGV (NULL-terminated), and the strictest. */
static size_t managed_test__match(const struct rules *rules, char *const argv[],
                                  enum rules_decision *strictest)
{
	struct rules_matches m = {0};
	size_t argc = 0, n;

	while (argv[argc] != NULL)
		argc++;
	rules_match_command(rules, argc, argv, &m);
	n = m.n;
	*strictest = rules_matches_strictest(&m);
	rules_matches_free(&m);
	return n;
}

/*
 * The managed rules are checked as the managed file is (root's, kept from
 * others, no link) at every read, not only at start: a file swapped later
 * for a user's, made group-writable, or a link, and a directory others may
 * write, are not read; the last good managed rules still bind, restricting
 * only, and the set says why (the status bar's broken mark). Putting it
 * right is read again.
 */
TEST(managed_rules_are_checked_again_at_every_reload)
{
	char *mdir = xasprintf("%s/managed-reload", test_tmpdir()), *file, *swap, *other;
	char *cause = NULL;
	char *reset[] = {"git", "reset", "--hard", NULL}, *make[] = {"make", NULL};
	char *status[] = {"git", "status", NULL}, *curl[] = {"curl", "x", NULL};
	static const char good[] = "prefix_rule(pattern=[\"git\", \"reset\"], decision=\"forbidden\", "
	                           "justification=\"history stays\")\n"
	                           "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n";
	static const char loose[] = "prefix_rule(pattern=[\"git\"], decision=\"allow\")\n"
	                            "prefix_rule(pattern=[\"curl\"], decision=\"allow\")\n";
	enum rules_decision d;
	struct rules *rules;
	bool changed = false;

	if (geteuid() != 0)
		SKIP("not root: the managed rules must be root's, and only root can make them");
	ASSERT_EQ(mkdir(mdir, 0755), 0);
	file = xasprintf("%s/team.rules", mdir);
	swap = xasprintf("%s/.swap", mdir);
	other = xasprintf("%s/elsewhere.rules", test_tmpdir());
	ASSERT_EQ(managed__write(file, good, 0644, 0), 0);
	rules = rules_new();
	rules_set_managed(rules, mdir);
	ASSERT_EQ(rules_load_all(rules, NULL, NULL, &cause), 0);
	ASSERT_EQ(rules_count(rules), 2);
	ASSERT_EQ(managed_test__match(rules, reset, &d), 1);
	ASSERT_EQ(d, RULES_FORBIDDEN);

	/* Swapped for a user's file (rename over it): not read; the last good rules restrict. */
	ASSERT_EQ(managed__write(swap, loose, 0644, 65534), 0);
	ASSERT_EQ(rename(swap, file), 0);
	ASSERT_EQ(rules_refresh(rules, &changed, &cause), -EINVAL);
	ASSERT(changed);
	ASSERT_CONTAINS(rules_broken(rules), "managed rules not read");
	ASSERT_CONTAINS(rules_broken(rules), "team.rules is owned by uid 65534");
	free(cause);
	cause = NULL;
	ASSERT_EQ(managed_test__match(rules, reset, &d), 1);
	ASSERT_EQ(d, RULES_FORBIDDEN);                           /* still binds */
	ASSERT_EQ(managed_test__match(rules, make, &d), 0);      /* only it allowed: refused */
	ASSERT_EQ(managed_test__match(rules, status, &d), 0);    /* the swap's allow: never read */
	ASSERT(rules_count(rules) == 1 && rules_get(rules, 0)->managed);

	/* Put right (root's again): read again, the mark gone. */
	ASSERT_EQ(managed__write(swap, good, 0644, 0), 0);
	ASSERT_EQ(rename(swap, file), 0);
	ASSERT_EQ(rules_refresh(rules, &changed, &cause), 0);
	ASSERT(changed);
	ASSERT(rules_broken(rules) == NULL);
	ASSERT_EQ(managed_test__match(rules, make, &d), 1);

	/* Made group-writable and changed in place: not read. */
	ASSERT_EQ(chmod(file, 0664), 0);
	ASSERT_EQ(managed__write(file, loose, 0664, 0), 0);
	ASSERT_EQ(rules_refresh(rules, &changed, &cause), -EINVAL);
	ASSERT_CONTAINS(rules_broken(rules), "writable by its group");
	free(cause);
	cause = NULL;
	ASSERT_EQ(managed_test__match(rules, curl, &d), 0);
	ASSERT_EQ(managed_test__match(rules, reset, &d), 1);
	ASSERT_EQ(d, RULES_FORBIDDEN);

	/* A symbolic link to a root's file elsewhere: not read. */
	ASSERT_EQ(managed__write(other, loose, 0644, 0), 0);
	ASSERT_EQ(unlink(file), 0);
	ASSERT_EQ(symlink(other, file), 0);
	ASSERT_EQ(rules_refresh(rules, &changed, &cause), -EINVAL);
	ASSERT_CONTAINS(rules_broken(rules), "is a symbolic link");
	free(cause);
	cause = NULL;
	ASSERT_EQ(managed_test__match(rules, status, &d), 0);
	ASSERT_EQ(managed_test__match(rules, reset, &d), 1);
	ASSERT_EQ(d, RULES_FORBIDDEN);

	/* A good file again, but in a directory others may write: not read. */
	ASSERT_EQ(unlink(file), 0);
	ASSERT_EQ(managed__write(file, loose, 0644, 0), 0);
	ASSERT_EQ(chmod(mdir, 0777), 0);
	ASSERT_EQ(rules_refresh(rules, &changed, &cause), -EINVAL);
	ASSERT_CONTAINS(rules_broken(rules), "managed-reload is writable by others");
	free(cause);
	cause = NULL;
	ASSERT_EQ(managed_test__match(rules, curl, &d), 0);
	ASSERT_EQ(managed_test__match(rules, reset, &d), 1);
	ASSERT_EQ(d, RULES_FORBIDDEN);
	ASSERT_EQ(chmod(mdir, 0755), 0);
	ASSERT_EQ(rules_refresh(rules, &changed, &cause), 0);
	ASSERT(rules_broken(rules) == NULL);
	ASSERT_EQ(managed_test__match(rules, curl, &d), 1); /* root's own edit: read */
	rules_free(rules);

	/* A first load (start) with a user's file fails, as the managed file itself would. */
	ASSERT_EQ(chown(file, 65534, 65534), 0);
	rules = rules_new();
	rules_set_managed(rules, mdir);
	ASSERT_EQ(rules_load_all(rules, NULL, NULL, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "managed rules not read");
	free(cause);
	rules_free(rules);
	free(file);
	free(swap);
	free(other);
	free(mdir);
	return 0;
}
