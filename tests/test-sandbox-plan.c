/*
 * Unit tests of the helper's pure parts: the argv parser, and the plan,
 * which must produce the EXACT bubblewrap argv for every policy shape from
 * a hand-made table of host facts (nothing on this host is looked at), and
 * the seccomp filter as exported by libseccomp.
 */
#include "test.h"

#include "core/policy.h"
#include "core/xmalloc.h"
#include "sandbox/sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXE "/usr/libexec/airlock-sandbox"

static char *const plan_cmd[] = {"true", NULL};

/*
 * A fact table from "KIND PATH" lines: d(ir), r (a directory this user cannot
 * create entries in), f(ile), l(ink), g(it file: "g PATH GITDIR").
 */
static void facts_from(struct sandbox_facts *f, const char *const *lines)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; lines[i] != NULL; i++) {
		char kind = lines[i][0];
		char *path = xstrdup(lines[i] + 2), *gitdir = NULL;
		if (kind == 'g') {
			gitdir = strchr(path, ' ');
			*gitdir++ = '\0';
		}
		sandbox_facts_set(f, path,
		                  kind == 'd' || kind == 'r' ? SANDBOX_DIR
		                  : kind == 'l'              ? SANDBOX_SYMLINK
		                                             : SANDBOX_FILE,
		                  gitdir);
		if (kind == 'r')
			sandbox_facts_set_readonly(f, path);
		free(path);
	}
}

/* Joins the plan's argv with spaces, then " | cleanup: ..." when it has any. */
static char *plan_text(const struct sandbox_plan *p)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < p->argc; i++) {
		char *t = xasprintf("%s%s%s", s, i ? " " : "", p->argv[i]);
		free(s);
		s = t;
	}
	for (size_t i = 0; i < p->n_cleanup; i++) {
		char *t = xasprintf("%s%s%s", s, i ? " " : " | cleanup: ", p->cleanup[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Options for one plan beyond the policy. */
struct plan_case {
	const char *policy;  /* legacy or split-fs JSON */
	enum policy_net net; /* used with a split-fs policy */
	const char *tmpdir;
	const char *const *facts;
	bool no_proc;
	bool hide_pid1;
	enum sandbox_git_protection git;
	char *const *protected_paths;
	size_t n_protected_paths;
	char *const *protect_home;
	size_t n_protect_home;
	char *const *hide;
	size_t n_hide;
};

/* Plans case C with cwd /ws; returns the text, or "ERROR: cause". */
static char *plan_case_run(const struct plan_case *c)
{
	struct policy_split s;
	struct policy_resolved res;
	struct sandbox_facts f;
	struct sandbox_plan p;
	char *cause = NULL, *out;

	if (policy_parse(c->policy, &s, &cause) != 0) {
		out = xasprintf("BAD POLICY: %s", cause);
		free(cause);
		return out;
	}
	if (strstr(c->policy, "\"kind\"") != NULL)
		s.net = c->net;
	policy_resolve(&s, "/ws", c->tmpdir, &res, NULL);
	facts_from(&f, c->facts);
	struct sandbox_plan_in in = {
	    .res = &res,
	    .command_cwd = "/ws",
	    .exe = EXE,
	    .no_proc = c->no_proc,
	    .hide_pid1 = c->hide_pid1,
	    .git = c->git,
	    .protected_paths = c->protected_paths,
	    .n_protected_paths = c->n_protected_paths,
	    .protect_home = c->protect_home,
	    .n_protect_home = c->n_protect_home,
	    .hide = c->hide,
	    .n_hide = c->n_hide,
	    .command = plan_cmd,
	};
	if (sandbox_plan_build(&in, &f, &p, &cause) != 0) {
		out = xasprintf("ERROR: %s", cause);
		free(cause);
	} else {
		out = plan_text(&p);
		sandbox_plan_free(&p);
	}
	sandbox_facts_free(&f);
	policy_resolved_free(&res);
	policy_split_free(&s);
	return out;
}

/* The kernel's knobs under the sandbox's /proc, read-only (SPEC 3). */
#define PROC_KNOBS                                                                                 \
	"--ro-bind-try /proc/sys /proc/sys --ro-bind-try /proc/sysrq-trigger /proc/sysrq-trigger " \
	"--ro-bind-try /proc/irq /proc/irq --ro-bind-try /proc/bus /proc/bus --ro-bind-try "       \
	"/proc/fs /proc/fs --ro-bind-try /proc/acpi /proc/acpi --ro-bind-try /proc/scsi "          \
	"/proc/scsi --ro-bind-try /proc/mtrr /proc/mtrr --ro-bind-try /proc/driver /proc/driver "

#define NS_TAIL                                                                                    \
	"--unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-net --proc "           \
	"/proc " PROC_KNOBS "--cap-drop ALL "                                                      \
	"--chdir /ws -- " EXE " --apply-seccomp-then-exec --network-sandbox-policy "               \
	"\"restricted\" --fs-restricted -- true"

/* The protected names of a writable root W with nothing in it (all covered, all cleaned up). */
#define COVER_ALL(W)                                                                               \
	"--tmpfs " W "/.airlock --remount-ro " W "/.airlock --tmpfs " W "/.codex --remount-ro " W  \
	"/.codex --tmpfs " W "/.agents --remount-ro " W "/.agents --tmpfs " W                      \
	"/.claude --remount-ro " W "/.claude --tmpfs " W "/.vscode --remount-ro " W                \
	"/.vscode --tmpfs " W "/.envrc --remount-ro " W "/.envrc"
#define CLEAN_ALL(W)                                                                               \
	W "/.airlock " W "/.codex " W "/.agents " W "/.claude " W "/.vscode " W "/.envrc"

static const char *const facts_basic[] = {"d /",    "d /ws",  "d /tmp", "d /usr",
                                          "d /etc", "l /bin", "f " EXE, NULL};

TEST(sandbox_plan_read_only)
{
	struct plan_case c = {.policy = "{\"type\":\"read-only\"}", .facts = facts_basic};
	char *t = plan_case_run(&c);

	ASSERT_STR_EQ(t, "--new-session --die-with-parent --ro-bind / / --dev /dev " NS_TAIL);
	free(t);
	return 0;
}

TEST(sandbox_plan_hides_pid1_without_landlock)
{
	struct plan_case c = {
	    .policy = "{\"type\":\"read-only\"}", .facts = facts_basic, .hide_pid1 = true};
	char *t = plan_case_run(&c);

	/* Right after the new /proc, so the command never sees bubblewrap's init. */
	ASSERT_STR_EQ(
	    t, "--new-session --die-with-parent --ro-bind / / --dev /dev --unshare-user "
	       "--unshare-pid --unshare-ipc --unshare-uts --unshare-net --proc /proc " PROC_KNOBS
	       "--tmpfs /proc/1 --cap-drop ALL --chdir /ws -- /usr/libexec/airlock-sandbox "
	       "--apply-seccomp-then-exec --network-sandbox-policy \"restricted\" "
	       "--fs-restricted --no-landlock -- true");
	free(t);
	/* Without a proc of its own: an empty read-only /proc, never the host's. */
	c.no_proc = true;
	t = plan_case_run(&c);
	ASSERT_NOT_CONTAINS(t, "/proc/1");
	ASSERT_NOT_CONTAINS(t, "--proc /proc");
	ASSERT_CONTAINS(t,
	                "--unshare-net --perms 0555 --tmpfs /proc --remount-ro /proc --cap-drop");
	free(t);
	return 0;
}

TEST(sandbox_plan_workspace_write_empty_roots)
{
	struct plan_case c = {.policy = "{\"type\":\"workspace-write\"}",
	                      .tmpdir = "/var/tmp/me",
	                      .facts = facts_basic};
	char *t = plan_case_run(&c);

	/* TMPDIR does not exist: no bind, nothing protected under it. */
	ASSERT_STR_EQ(t,
	              "--new-session --die-with-parent --ro-bind / / --dev /dev --bind /tmp /tmp "
	              "--bind /ws /ws " COVER_ALL("/tmp") " " COVER_ALL(
	                  "/ws") " " NS_TAIL " | cleanup: " CLEAN_ALL("/tmp") " " CLEAN_ALL("/ws"));
	free(t);
	return 0;
}

TEST(sandbox_plan_workspace_write_git_repo)
{
	static const char *const facts[] = {"d /",
	                                    "d /ws",
	                                    "f " EXE,
	                                    "d /ws/.git",
	                                    "f /ws/.git/HEAD",
	                                    "f /ws/.git/config",
	                                    "d /ws/.git/hooks",
	                                    "d /ws/.git/objects",
	                                    "d /ws/.git/objects/info",
	                                    "d /ws/.git/modules",
	                                    "d /ws/.git/modules/sub",
	                                    "f /ws/.git/modules/sub/config",
	                                    "d /ws/.git/modules/sub/hooks",
	                                    "d /ws/.git/worktrees",
	                                    "d /ws/.git/worktrees/wt",
	                                    "d /ws/.vscode",
	                                    "f /ws/.envrc",
	                                    "d /ws/.airlock",
	                                    "d /ws/.codex",
	                                    "d /ws/.agents",
	                                    "d /ws/.claude",
	                                    "d /ws/extra",
	                                    NULL};
	struct plan_case c = {.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,"
	                                "\"writable_roots\":[\"/ws/extra\",\"/nonexistent\"]}",
	                      .facts = facts};
	char *t = plan_case_run(&c);

	/* /ws/extra is inside /ws (already writable): one bind; its own protected names are
	 * covered. */
	ASSERT_STR_EQ(
	    t, "--new-session --die-with-parent --ro-bind / / --dev /dev --bind /ws /ws "
	       "--ro-bind /ws/.airlock /ws/.airlock --ro-bind /ws/.codex /ws/.codex --ro-bind "
	       "/ws/.agents /ws/.agents --ro-bind /ws/.claude /ws/.claude --ro-bind "
	       "/ws/.vscode /ws/.vscode --ro-bind /ws/.envrc /ws/.envrc --bind /ws/.git "
	       "/ws/.git --ro-bind /ws/.git/config /ws/.git/config --ro-bind "
	       "/ws/.git/config.worktree /ws/.git/config.worktree --ro-bind /ws/.git/commondir "
	       "/ws/.git/commondir --ro-bind /ws/.git/hooks /ws/.git/hooks --ro-bind "
	       "/ws/.git/objects/info/alternates /ws/.git/objects/info/alternates --ro-bind "
	       "/ws/.git/modules /ws/.git/modules --bind /ws/.git/modules/sub "
	       "/ws/.git/modules/sub --ro-bind /ws/.git/modules/sub/config "
	       "/ws/.git/modules/sub/config --ro-bind /ws/.git/modules/sub/config.worktree "
	       "/ws/.git/modules/sub/config.worktree --ro-bind /ws/.git/modules/sub/commondir "
	       "/ws/.git/modules/sub/commondir --ro-bind /ws/.git/modules/sub/hooks "
	       "/ws/.git/modules/sub/hooks --tmpfs /ws/.git/modules/sub/modules --remount-ro "
	       "/ws/.git/modules/sub/modules --tmpfs /ws/.git/modules/sub/worktrees "
	       "--remount-ro /ws/.git/modules/sub/worktrees --ro-bind /ws/.git/worktrees "
	       "/ws/.git/worktrees --bind /ws/.git/worktrees/wt /ws/.git/worktrees/wt "
	       "--ro-bind /ws/.git/worktrees/wt/config.worktree "
	       "/ws/.git/worktrees/wt/config.worktree --tmpfs /ws/extra/.airlock --remount-ro "
	       "/ws/extra/.airlock --tmpfs /ws/extra/.codex --remount-ro /ws/extra/.codex "
	       "--tmpfs /ws/extra/.agents --remount-ro /ws/extra/.agents --tmpfs "
	       "/ws/extra/.claude --remount-ro /ws/extra/.claude --tmpfs /ws/extra/.vscode "
	       "--remount-ro /ws/extra/.vscode --tmpfs /ws/extra/.envrc --remount-ro "
	       "/ws/extra/.envrc --unshare-user --unshare-pid --unshare-ipc --unshare-uts "
	       "--unshare-net --proc /proc " PROC_KNOBS
	       "--cap-drop ALL --chdir /ws -- /usr/libexec/airlock-sandbox "
	       "--apply-seccomp-then-exec --network-sandbox-policy \"restricted\" "
	       "--fs-restricted -- true | cleanup: /ws/.git/config.worktree /ws/.git/commondir "
	       "/ws/.git/objects/info/alternates /ws/.git/modules/sub/config.worktree "
	       "/ws/.git/modules/sub/commondir /ws/.git/modules/sub/modules "
	       "/ws/.git/modules/sub/worktrees /ws/.git/worktrees/wt/config.worktree "
	       "/ws/extra/.airlock /ws/extra/.codex /ws/extra/.agents /ws/extra/.claude "
	       "/ws/extra/.vscode /ws/extra/.envrc");
	free(t);
	return 0;
}

TEST(sandbox_plan_git_file_and_full_protection)
{
	static const char *const facts[] = {"d /",
	                                    "d /ws",
	                                    "f " EXE,
	                                    "g /ws/.git /repo/.git/worktrees/ws",
	                                    "d /repo",
	                                    "d /repo/.git",
	                                    "f /repo/.git/HEAD",
	                                    "d /repo/.git/worktrees",
	                                    "d /repo/.git/worktrees/ws",
	                                    "f /repo/.git/worktrees/ws/config",
	                                    "g /repo/.git/worktrees/ws/commondir /repo/.git",
	                                    NULL};
	static const char *const dotdirs =
	    "--tmpfs /ws/.airlock --remount-ro /ws/.airlock --tmpfs /ws/.codex --remount-ro "
	    "/ws/.codex --tmpfs /ws/.agents --remount-ro /ws/.agents --tmpfs /ws/.claude "
	    "--remount-ro /ws/.claude --tmpfs /ws/.vscode --remount-ro /ws/.vscode --tmpfs "
	    "/ws/.envrc --remount-ro /ws/.envrc";
	struct plan_case c = {.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true}",
	                      .facts = facts};
	char *t = plan_case_run(&c), *want;

	/* The gitdir is outside every writable root: already read-only, only the .git file is
	 * bound. */
	want =
	    xasprintf("--new-session --die-with-parent --ro-bind / / --dev /dev --bind /ws /ws %s "
	              "--ro-bind /ws/.git /ws/.git " NS_TAIL
	              " | cleanup: /ws/.airlock /ws/.codex /ws/.agents /ws/.claude /ws/.vscode "
	              "/ws/.envrc",
	              dotdirs);
	ASSERT_STR_EQ(t, want);
	free(t);
	free(want);

	/* Gitdir inside a writable root: its config and hooks are protected too. */
	c.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,\"writable_roots\":"
	           "[\"/repo\"]}";
	t = plan_case_run(&c);
	/* /repo comes first (sorted); the gitdir's items are protected there, and not twice. */
	ASSERT_STR_EQ(
	    t, "--new-session --die-with-parent --ro-bind / / --dev /dev --bind /repo /repo "
	       "--bind /ws /ws --tmpfs /repo/.airlock --remount-ro /repo/.airlock --tmpfs "
	       "/repo/.codex --remount-ro /repo/.codex --tmpfs /repo/.agents --remount-ro "
	       "/repo/.agents --tmpfs /repo/.claude --remount-ro /repo/.claude --tmpfs "
	       "/repo/.vscode --remount-ro /repo/.vscode --tmpfs /repo/.envrc --remount-ro "
	       "/repo/.envrc --bind /repo/.git /repo/.git --ro-bind /repo/.git/config "
	       "/repo/.git/config --ro-bind /repo/.git/config.worktree "
	       "/repo/.git/config.worktree --ro-bind /repo/.git/commondir /repo/.git/commondir "
	       "--tmpfs /repo/.git/hooks --remount-ro /repo/.git/hooks --tmpfs "
	       "/repo/.git/modules --remount-ro /repo/.git/modules --ro-bind "
	       "/repo/.git/worktrees /repo/.git/worktrees --bind /repo/.git/worktrees/ws "
	       "/repo/.git/worktrees/ws --ro-bind /repo/.git/worktrees/ws/config "
	       "/repo/.git/worktrees/ws/config --ro-bind "
	       "/repo/.git/worktrees/ws/config.worktree "
	       "/repo/.git/worktrees/ws/config.worktree --ro-bind "
	       "/repo/.git/worktrees/ws/commondir /repo/.git/worktrees/ws/commondir --tmpfs "
	       "/ws/.airlock --remount-ro /ws/.airlock --tmpfs /ws/.codex --remount-ro "
	       "/ws/.codex --tmpfs /ws/.agents --remount-ro /ws/.agents --tmpfs /ws/.claude "
	       "--remount-ro /ws/.claude --tmpfs /ws/.vscode --remount-ro /ws/.vscode --tmpfs "
	       "/ws/.envrc --remount-ro /ws/.envrc --ro-bind /ws/.git /ws/.git --unshare-user "
	       "--unshare-pid --unshare-ipc --unshare-uts --unshare-net --proc /proc " PROC_KNOBS
	       "--cap-drop ALL --chdir /ws -- /usr/libexec/airlock-sandbox "
	       "--apply-seccomp-then-exec --network-sandbox-policy \"restricted\" "
	       "--fs-restricted -- true | cleanup: /repo/.airlock /repo/.codex /repo/.agents "
	       "/repo/.claude /repo/.vscode /repo/.envrc /repo/.git/config "
	       "/repo/.git/config.worktree /repo/.git/commondir /repo/.git/hooks "
	       "/repo/.git/modules /repo/.git/worktrees/ws/config.worktree /ws/.airlock "
	       "/ws/.codex /ws/.agents /ws/.claude /ws/.vscode /ws/.envrc");
	free(t);

	/* git_protection full: all of a .git directory read-only. */
	static const char *const facts2[] = {
	    "d /", "d /ws", "f " EXE, "d /ws/.git", "f /ws/.git/HEAD", "d /ws/.git/hooks", NULL};
	c.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true}";
	c.facts = facts2;
	c.git = SANDBOX_GIT_FULL;
	t = plan_case_run(&c);
	want =
	    xasprintf("--new-session --die-with-parent --ro-bind / / --dev /dev --bind /ws /ws %s "
	              "--ro-bind /ws/.git /ws/.git " NS_TAIL
	              " | cleanup: /ws/.airlock /ws/.codex /ws/.agents /ws/.claude /ws/.vscode "
	              "/ws/.envrc",
	              dotdirs);
	ASSERT_STR_EQ(t, want);
	free(want);
	free(t);
	return 0;
}

TEST(sandbox_plan_restricted_read_tmpfs_root)
{
	struct plan_case c = {
	    .policy = "{\"type\":\"read-only\",\"network_access\":true,\"access\":{\"type\":"
	              "\"restricted\",\"readable_roots\":[\"/opt/x\",\"/usr/share\"]}}",
	    .facts = facts_basic};
	char *t = plan_case_run(&c);

	/* minimal: /bin (a symlink: bound through), /usr, /etc; not /sbin /lib /lib64 (absent);
	 * /usr/share is inside /usr (no second bind); /opt/x is absent. Network enabled: no
	 * --unshare-net. */
	ASSERT_STR_EQ(t,
	              "--new-session --die-with-parent --tmpfs / --ro-bind /bin /bin --ro-bind "
	              "/etc /etc --ro-bind /usr /usr --ro-bind /ws /ws --dev /dev --unshare-user "
	              "--unshare-pid --unshare-ipc --unshare-uts --proc /proc " PROC_KNOBS
	              "--cap-drop ALL --chdir /ws -- " EXE
	              " --apply-seccomp-then-exec --network-sandbox-policy \"enabled\" "
	              "--fs-restricted -- true");
	free(t);
	/* Without the platform defaults the helper is not readable: it is bound in. */
	c.policy = "{\"type\":\"read-only\",\"access\":{\"type\":\"restricted\","
	           "\"include_platform_defaults\":false,\"readable_roots\":[\"/etc\"]}}";
	t = plan_case_run(&c);
	ASSERT_STR_EQ(t, "--new-session --die-with-parent --tmpfs / --ro-bind /etc /etc --ro-bind "
	                 "/ws /ws --dev /dev --ro-bind " EXE " " EXE " " NS_TAIL);
	free(t);
	return 0;
}

TEST(sandbox_plan_none_paths_and_nesting)
{
	static const char *const facts[] = {"d /",
	                                    "d /ws",
	                                    "f " EXE,
	                                    "d /ws/secret",
	                                    "f /ws/key",
	                                    "d /ws/docs",
	                                    "d /ws/docs/out",
	                                    "d /home",
	                                    "d /ws/.git",
	                                    "f /ws/.git/HEAD",
	                                    "f /ws/.git/config",
	                                    "d /ws/.git/hooks",
	                                    NULL};
	struct plan_case c = {
	    .policy =
	        "{\"kind\":\"restricted\",\"entries\":["
	        "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},\"access\":"
	        "\"read\"},"
	        "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}"
	        "},\"access\":\"write\"},"
	        "{\"path\":{\"type\":\"path\",\"path\":\"/ws/secret\"},\"access\":\"none\"},"
	        "{\"path\":{\"type\":\"path\",\"path\":\"/ws/key\"},\"access\":\"none\"},"
	        "{\"path\":{\"type\":\"path\",\"path\":\"/ws/gone\"},\"access\":\"none\"},"
	        "{\"path\":{\"type\":\"path\",\"path\":\"/home/u/.ssh\"},\"access\":\"none\"},"
	        "{\"path\":{\"type\":\"path\",\"path\":\"/ws/docs\"},\"access\":\"read\"},"
	        "{\"path\":{\"type\":\"path\",\"path\":\"/ws/docs/out\"},\"access\":\"write\"}]}",
	    .net = POLICY_NET_PROXY,
	    .facts = facts};
	char *t = plan_case_run(&c), *want;

	/* Read inside write and write inside that come after the writable binds, in path order;
	 * none dirs are empty 0000 tmpfs, none files /dev/null; a missing none path in a writable
	 * root is taken (and cleaned up); one under a read-only tree is left alone. */
	want = xstrdup(
	    "--new-session --die-with-parent --ro-bind / / --dev /dev --bind /ws /ws "
	    "--ro-bind /ws/docs /ws/docs --bind /ws/docs/out /ws/docs/out --tmpfs "
	    "/ws/.airlock --remount-ro /ws/.airlock --tmpfs /ws/.codex --remount-ro "
	    "/ws/.codex --tmpfs /ws/.agents --remount-ro /ws/.agents --tmpfs /ws/.claude "
	    "--remount-ro /ws/.claude --tmpfs /ws/.vscode --remount-ro /ws/.vscode --tmpfs "
	    "/ws/.envrc --remount-ro /ws/.envrc --bind /ws/.git /ws/.git --ro-bind "
	    "/ws/.git/config /ws/.git/config --ro-bind /ws/.git/config.worktree "
	    "/ws/.git/config.worktree --ro-bind /ws/.git/commondir /ws/.git/commondir "
	    "--ro-bind /ws/.git/hooks /ws/.git/hooks --tmpfs /ws/.git/modules --remount-ro "
	    "/ws/.git/modules --tmpfs /ws/.git/worktrees --remount-ro /ws/.git/worktrees "
	    "--tmpfs /ws/docs/out/.airlock --remount-ro /ws/docs/out/.airlock --tmpfs "
	    "/ws/docs/out/.codex --remount-ro /ws/docs/out/.codex --tmpfs "
	    "/ws/docs/out/.agents --remount-ro /ws/docs/out/.agents --tmpfs "
	    "/ws/docs/out/.claude --remount-ro /ws/docs/out/.claude --tmpfs "
	    "/ws/docs/out/.vscode --remount-ro /ws/docs/out/.vscode --tmpfs "
	    "/ws/docs/out/.envrc --remount-ro /ws/docs/out/.envrc --perms 0000 --tmpfs "
	    "/ws/gone --remount-ro /ws/gone --ro-bind /dev/null /ws/key --perms 0000 "
	    "--tmpfs /ws/secret --remount-ro /ws/secret --unshare-user --unshare-pid "
	    "--unshare-ipc --unshare-uts --unshare-net --proc /proc " PROC_KNOBS
	    "--cap-drop ALL --chdir /ws -- /usr/libexec/airlock-sandbox "
	    "--apply-seccomp-then-exec --network-sandbox-policy \"proxy\" --fs-restricted -- "
	    "true | cleanup: /ws/.airlock /ws/.codex /ws/.agents /ws/.claude /ws/.vscode "
	    "/ws/.envrc /ws/.git/config.worktree /ws/.git/commondir /ws/.git/modules "
	    "/ws/.git/worktrees /ws/docs/out/.airlock /ws/docs/out/.codex "
	    "/ws/docs/out/.agents /ws/docs/out/.claude /ws/docs/out/.vscode "
	    "/ws/docs/out/.envrc /ws/gone");
	ASSERT_STR_EQ(t, want);
	free(want);
	free(t);

	/* Something readable inside a none path: refused (fail closed). */
	c.policy =
	    "{\"kind\":\"restricted\",\"entries\":["
	    "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/secret\"},\"access\":\"none\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/secret/pub\"},\"access\":\"read\"}]}";
	t = plan_case_run(&c);
	ASSERT_STR_EQ(t,
	              "ERROR: /ws/secret/pub: a read path inside the none path /ws/secret is not "
	              "supported");
	free(t);
	return 0;
}

TEST(sandbox_plan_symlinked_protected_path_refused)
{
	static const char *const facts[] = {"d /",
	                                    "d /ws",
	                                    "f " EXE,
	                                    "d /ws/.git",
	                                    "f /ws/.git/HEAD",
	                                    "f /ws/.git/config",
	                                    "l /ws/.git/hooks",
	                                    NULL};
	static const char *const facts2[] = {"d /", "d /ws", "f " EXE, "l /ws/.vscode", NULL};
	struct plan_case c = {.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true}",
	                      .facts = facts};
	char *t = plan_case_run(&c);

	ASSERT_STR_EQ(t,
	              "ERROR: /ws/.git/hooks is a symbolic link inside the writable root /ws, so "
	              "/ws/.git/hooks cannot be kept read-only; replace the link with a real "
	              "directory (or remove it) and run again");
	free(t);
	c.facts = facts2;
	t = plan_case_run(&c);
	ASSERT_CONTAINS(t, "ERROR: /ws/.vscode is a symbolic link inside the writable root /ws");
	free(t);
	return 0;
}

TEST(sandbox_plan_options_home_hide_protected_no_proc)
{
	static const char *const facts[] = {"d /",
	                                    "d /ws",
	                                    "f " EXE,
	                                    "d /ws/.git",
	                                    "f /ws/.git/HEAD",
	                                    "f /ws/.git/config",
	                                    "d /ws/.git/hooks",
	                                    "d /ws/.airlock",
	                                    "d /ws/.codex",
	                                    "d /ws/.agents",
	                                    "d /ws/.claude",
	                                    "d /ws/.vscode",
	                                    "f /ws/.envrc",
	                                    "d /ws/home",
	                                    "d /run/airlock",
	                                    "f /ws/Makefile",
	                                    NULL};
	static char *const prot[] = {"Makefile", "/ws/ci/deploy", "/elsewhere"};
	static char *const home[] = {"/ws/home", "/root/.config/airlock"};
	static char *const hide[] = {"/run/airlock", "/ws/sock"};
	struct plan_case c = {.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,"
	                                "\"network_access\":true}",
	                      .facts = facts,
	                      .no_proc = true,
	                      .protected_paths = prot,
	                      .n_protected_paths = 3,
	                      .protect_home = home,
	                      .n_protect_home = 2,
	                      .hide = hide,
	                      .n_hide = 2};
	char *t = plan_case_run(&c);

	ASSERT_STR_EQ(
	    t, "--new-session --die-with-parent --ro-bind / / --dev /dev --bind /ws /ws "
	       "--ro-bind /ws/.airlock /ws/.airlock --ro-bind /ws/.codex /ws/.codex --ro-bind "
	       "/ws/.agents /ws/.agents --ro-bind /ws/.claude /ws/.claude --ro-bind "
	       "/ws/.vscode /ws/.vscode --ro-bind /ws/.envrc /ws/.envrc --bind /ws/.git "
	       "/ws/.git --ro-bind /ws/.git/config /ws/.git/config --ro-bind "
	       "/ws/.git/config.worktree /ws/.git/config.worktree --ro-bind /ws/.git/commondir "
	       "/ws/.git/commondir --ro-bind /ws/.git/hooks /ws/.git/hooks --tmpfs "
	       "/ws/.git/modules --remount-ro /ws/.git/modules --tmpfs /ws/.git/worktrees "
	       "--remount-ro /ws/.git/worktrees --ro-bind /ws/Makefile /ws/Makefile --tmpfs "
	       "/ws/ci --remount-ro /ws/ci --ro-bind /ws/home /ws/home --perms 0000 --tmpfs "
	       "/run/airlock --remount-ro /run/airlock --perms 0000 --tmpfs /ws/sock "
	       "--remount-ro /ws/sock --unshare-user --unshare-pid --unshare-ipc --unshare-uts "
	       "--perms 0555 --tmpfs /proc --remount-ro /proc --cap-drop ALL --chdir /ws -- "
	       "/usr/libexec/airlock-sandbox --apply-seccomp-then-exec "
	       "--network-sandbox-policy \"enabled\" --fs-restricted -- true | cleanup: "
	       "/ws/.git/config.worktree /ws/.git/commondir /ws/.git/modules "
	       "/ws/.git/worktrees /ws/ci /ws/sock");
	free(t);
	return 0;
}

TEST(sandbox_plan_unrestricted)
{
	struct plan_case c = {.policy = "{\"type\":\"danger-full-access\"}", .facts = facts_basic};
	char *t = plan_case_run(&c);

	ASSERT_STR_EQ(t, "--new-session --die-with-parent --bind / / --dev /dev --unshare-user "
	                 "--unshare-pid --unshare-ipc --unshare-uts --proc /proc " PROC_KNOBS
	                 "--cap-drop ALL --chdir /ws -- " EXE
	                 " --apply-seccomp-then-exec --network-sandbox-policy \"enabled\" -- true");
	free(t);
	return 0;
}

/* Parses a NULL-terminated ARGV with the helper's parser; returns its rc and *cause. */
static int parse(struct sandbox_opts *o, char **cause, char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	*cause = NULL;
	return sandbox_args_parse(argc, argv, o, cause);
}

TEST(sandbox_args_contract)
{
	struct sandbox_opts o;
	char *cause;
	char fs[] =
	    "{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\",\"value\":"
	    "{\"kind\":\"root\"}},\"access\":\"read\"}]}";

	{
		char *argv[] = {"h",
		                "--sandbox-policy-cwd",
		                "/ws",
		                "--sandbox-policy",
		                "{\"type\":\"read-only\"}",
		                "--file-system-sandbox-policy",
		                fs,
		                "--network-sandbox-policy=\"restricted\"",
		                "--host-port",
		                "3000",
		                "--protected-path",
		                "Makefile",
		                "--hide",
		                "/run/x",
		                "--protect-home",
		                "/root/.config/airlock",
		                "--git-protection",
		                "full",
		                "--no-proc",
		                "--",
		                "ls",
		                "-l",
		                NULL};
		ASSERT_EQ(parse(&o, &cause, argv), 0);
		ASSERT_STR_EQ(o.policy_cwd, "/ws");
		ASSERT_STR_EQ(o.command_cwd, "/ws");
		ASSERT_EQ(o.n_host_ports, 1);
		ASSERT_EQ(o.host_ports[0], 3000);
		ASSERT_EQ(o.git, SANDBOX_GIT_FULL);
		ASSERT(o.no_proc);
		ASSERT_STR_EQ(o.command[0], "ls");
		ASSERT_STR_EQ(o.command[1], "-l");
		ASSERT_EQ(o.policy.fs.n_entries, 1);
		sandbox_args_free(&o);
	}
	{
		/* Legacy and split disagree. */
		char *argv[] = {"h",
		                "--sandbox-policy-cwd",
		                "/ws",
		                "--sandbox-policy",
		                "{\"type\":\"workspace-write\"}",
		                "--file-system-sandbox-policy",
		                fs,
		                "--network-sandbox-policy",
		                "restricted",
		                "--",
		                "ls",
		                NULL};
		ASSERT_EQ(parse(&o, &cause, argv), -EINVAL);
		ASSERT_CONTAINS(cause, "disagree");
		free(cause);
		sandbox_args_free(&o);
	}
	static const struct {
		const char *flag, *value, *wanted;
	} bad[] = {
	    {"--sandbox-policy", "{\"type\":\"read-only\"",
	     "--sandbox-policy: invalid JSON at line 1"},
	    {"--sandbox-policy", "{\"type\":\"read-only\",\"x\":1}", "unknown field \"x\""},
	    {"--file-system-sandbox-policy", "{\"kind\":\"restricted\",\"entries\":[]}",
	     "go together"},
	    {"--host-port", "70000", "not a port"},
	    {"--git-protection", "some", "expected safe or full"},
	    {"--hide", "run/x", "\"run/x\" is not an absolute path"},
	    {"--command-cwd", "rel", "--command-cwd: \"rel\" is not an absolute path"},
	    {"--bogus", "1", "unknown option \"--bogus\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[] = {"h",
		                "--sandbox-policy-cwd",
		                "/ws",
		                "--sandbox-policy",
		                "{\"type\":\"read-only\"}",
		                (char *)bad[i].flag,
		                (char *)bad[i].value,
		                "--",
		                "ls",
		                NULL};
		if (strcmp(bad[i].flag, "--sandbox-policy") == 0) {
			argv[3] = "--no-proc";
			argv[4] = "--no-proc";
		}
		ASSERT_EQ(parse(&o, &cause, argv), -EINVAL);
		ASSERT_CONTAINS(cause, bad[i].wanted);
		free(cause);
		sandbox_args_free(&o);
	}
	{
		char *argv[] = {"h", "--sandbox-policy", "{\"type\":\"read-only\"}", "--", "ls",
		                NULL};
		ASSERT_EQ(parse(&o, &cause, argv), -EINVAL);
		ASSERT_CONTAINS(cause, "--sandbox-policy-cwd DIR is required");
		free(cause);
		sandbox_args_free(&o);
	}
	{
		char *argv[] = {"h",
		                "--sandbox-policy-cwd",
		                "/ws",
		                "--sandbox-policy",
		                "{\"type\":\"read-only\"}",
		                NULL};
		ASSERT_EQ(parse(&o, &cause, argv), -EINVAL);
		ASSERT_CONTAINS(cause, "no command");
		free(cause);
		sandbox_args_free(&o);
	}
	return 0;
}

/* The filter as libseccomp's pseudo code; caller frees. */
static char *seccomp_text(enum policy_net net, bool fs_restricted)
{
	void *ctx;
	char *cause = NULL, *text;
	int fd = memfd_create("pfc", 0);
	off_t len;

	if (fd < 0 || sandbox_seccomp_build(net, fs_restricted, &ctx, &cause) != 0)
		return NULL;
	seccomp_export_pfc(ctx, fd);
	seccomp_release(ctx);
	len = lseek(fd, 0, SEEK_END);
	text = xcalloc((size_t)len + 1, 1);
	if (pread(fd, text, (size_t)len, 0) != len) {
		free(text);
		text = NULL;
	}
	close(fd);
	return text;
}

TEST(sandbox_seccomp_filter_covers_every_abi)
{
	char *t = seccomp_text(POLICY_NET_RESTRICTED, true);

	ASSERT(t != NULL);
	/* x86_64 and x32 (same audit arch, x32 numbers have bit 30 set), and i386. */
	ASSERT_CONTAINS(t, "if ($arch == 3221225534)");
	ASSERT_CONTAINS(t, "filter for syscall \"socket\" (1073741865)");
	ASSERT_CONTAINS(t, "if ($arch == 1073741827)");
	ASSERT_CONTAINS(t, "filter for syscall \"socket\" (359)");
	/* socketcall: socket(1), connect(3), sendto(11) denied by call number. */
	const char *sc = strstr(t, "filter for syscall \"socketcall\" (102)");
	ASSERT(sc != NULL);
	for (int call = 1; call <= 11; call += call == 1 ? 2 : 8) {
		/* socketcall SOCKET (1), CONNECT (3), SENDTO (11): the next line denies it. */
		char *want = xasprintf("if ($a0 == %d)\n", call);
		const char *at = strstr(sc, want);
		ASSERT(at != NULL);
		at += strlen(want);
		at += strspn(at, " ");
		ASSERT(strncmp(at, "action ERRNO(1);", 16) == 0);
		free(want);
	}
	ASSERT_CONTAINS(t, "action KILL_PROCESS;");
	free(t);

	t = seccomp_text(POLICY_NET_PROXY, true);
	ASSERT(t != NULL);
	ASSERT_NOT_CONTAINS(t, "\"connect\"");
	ASSERT_CONTAINS(t, "\"ptrace\"");
	free(t);

	t = seccomp_text(POLICY_NET_ENABLED, true);
	ASSERT(t != NULL);
	ASSERT_NOT_CONTAINS(t, "\"ptrace\"");
	ASSERT_CONTAINS(t, "\"io_uring_setup\"");
	ASSERT_CONTAINS(t, "if ($a0 == 40)");
	free(t);
	return 0;
}

TEST(sandbox_plan_not_a_repo_and_uncreatable_dirs)
{
	static const char *const facts[] = {"d /",           "d /ws",
	                                    "f " EXE,        "d /ws/.git",
	                                    "r /ws/locked",  "d /ws/.airlock",
	                                    "d /ws/.codex",  "d /ws/.agents",
	                                    "d /ws/.claude", "d /ws/.vscode",
	                                    "f /ws/.envrc",  "r /ro",
	                                    "r /ro/.git",    NULL};
	static char *const prot[] = {"locked/sub", "new/sub"};
	struct plan_case c = {.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,"
	                                "\"writable_roots\":[\"/ro\"]}",
	                      .facts = facts,
	                      .protected_paths = prot,
	                      .n_protected_paths = 2};
	char *t = plan_case_run(&c);

	/* /ws/.git has no HEAD: not a repository, kept read-only whole. /ws/locked/sub cannot
	 * be created by this user: nothing to cover. /ws/new is covered (and cleaned up).
	 * /ro is writable by policy but not by its mode: nothing can be created in it. */
	ASSERT_STR_EQ(t, "--new-session --die-with-parent --ro-bind / / --dev /dev --bind /ro /ro "
	                 "--bind /ws /ws --ro-bind /ro/.git /ro/.git --ro-bind /ws/.airlock "
	                 "/ws/.airlock --ro-bind /ws/.codex /ws/.codex --ro-bind /ws/.agents "
	                 "/ws/.agents --ro-bind /ws/.claude /ws/.claude --ro-bind /ws/.vscode "
	                 "/ws/.vscode --ro-bind /ws/.envrc /ws/.envrc --ro-bind /ws/.git /ws/.git "
	                 "--tmpfs /ws/new --remount-ro /ws/new " NS_TAIL " | cleanup: /ws/new");
	free(t);
	return 0;
}

TEST(sandbox_plan_protecting_a_whole_writable_root)
{
	static const char *const facts[] = {"d /",
	                                    "d /ws",
	                                    "f " EXE,
	                                    "d /ws/.airlock",
	                                    "d /ws/.codex",
	                                    "d /ws/.agents",
	                                    "d /ws/.claude",
	                                    "d /ws/.vscode",
	                                    "f /ws/.envrc",
	                                    "d /ws/.git",
	                                    "f /ws/.git/HEAD",
	                                    "d /ws/.git/hooks",
	                                    "f /ws/.git/config",
	                                    NULL};
	static char *const home[] = {"/ws"};
	struct plan_case c = {.policy = "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true}",
	                      .facts = facts,
	                      .protect_home = home,
	                      .n_protect_home = 1};
	char *t = plan_case_run(&c);

	/* The airlock home is the workspace itself: all of it read-only, after its parts. */
	ASSERT_CONTAINS(t, "--remount-ro /ws/.git/worktrees --ro-bind /ws /ws --unshare-user");
	free(t);
	return 0;
}
