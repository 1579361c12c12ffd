/*
 * Tests that run the real airlock-sandbox helper (AIRLOCK_SANDBOX_EXE, or the
 * build tree's) around small commands, as root and as an unprivileged user:
 * file-system confinement, protected paths, none paths, leftovers on the
 * host, the seccomp filter on every ABI (through tests/sandbox-probe),
 * capabilities and namespaces, the exit codes of malformed input and of a
 * host without user namespaces, and the Landlock path. Each test makes its
 * own workspace under the test's directory; what the host cannot do is
 * skipped loudly.
 */
#include "test.h"

#include "core/xmalloc.h"
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <grp.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#define WW "{\"type\":\"workspace-write\"}"
#define RO "{\"type\":\"read-only\"}"
#define T  30 /* seconds a helper run may take */

/* The helper under test; caller frees. */
static char *sbx_exe(void)
{
	const char *e = getenv("AIRLOCK_SANDBOX_EXE");

	return e != NULL ? xstrdup(e) : test_buildpath("airlock-sandbox");
}

/* The probe program; caller frees. */
static char *sbx_probe(void)
{
	return test_buildpath("tests/sandbox-probe");
}

/* A fresh workspace directory NAME under the test's directory, owned by UID. */
static char *sbx_ws(const char *name, uid_t uid)
{
	char *ws = xasprintf("%s/%s", test_tmpdir(), name);

	mkdir(ws, 0755);
	if (uid != (uid_t)-1 && chown(ws, uid, uid) != 0) {
		/* the test's assertions will show it */
	}
	return ws;
}

/*
 * Runs the helper with legacy POLICY (or, when FS is not NULL, the split FS
 * policy with network "restricted"), cwd WS, extra helper flags EXTRA
 * (NULL-terminated, may be NULL) and the command CMD, as UID.
 */
static int sbx_run(struct test_run *r, uid_t uid, const char *ws, const char *policy,
                   const char *fs, char *const *extra, char *const *cmd)
{
	char *exe = sbx_exe();
	char *argv[64];
	size_t n = 0;
	int rc;

	argv[n++] = exe;
	argv[n++] = "--sandbox-policy-cwd";
	argv[n++] = (char *)ws;
	if (fs != NULL) {
		argv[n++] = "--file-system-sandbox-policy";
		argv[n++] = (char *)fs;
		argv[n++] = "--network-sandbox-policy";
		argv[n++] = "\"restricted\"";
	} else {
		argv[n++] = "--sandbox-policy";
		argv[n++] = (char *)policy;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 40; i++)
		argv[n++] = extra[i];
	argv[n++] = "--";
	for (size_t i = 0; cmd[i] != NULL && n < 62; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	rc = test_run(r, argv, NULL, ws, NULL, uid, T);
	free(exe);
	return rc;
}

/* Runs `sh -c SCRIPT` in the sandbox; returns the exit status (output in *r). */
static int sbx_sh(struct test_run *r, uid_t uid, const char *ws, const char *policy,
                  const char *script)
{
	char *cmd[] = {"sh", "-c", (char *)script, NULL};

	if (sbx_run(r, uid, ws, policy, NULL, NULL, cmd) != 0)
		return -1;
	return r->status;
}

/* Runs the probe with ARG1 [ARG2] under POLICY; returns its exit status. */
static int sbx_probe_run(uid_t uid, const char *ws, const char *policy, const char *a1,
                         const char *a2)
{
	struct test_run r;
	char *probe = sbx_probe();
	char *cmd[] = {probe, (char *)a1, (char *)a2, NULL};
	int status;

	if (sbx_run(&r, uid, ws, policy, NULL, NULL, cmd) != 0) {
		free(probe);
		return -1;
	}
	status = r.status;
	if (status != 0)
		fprintf(stderr, "  probe %s %s: %s%s", a1, a2 ? a2 : "", r.out, r.err);
	test_run_free(&r);
	free(probe);
	return status;
}

/* The names in DIR, sorted, one per line; caller frees. */
static char *sbx_listing(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	char *s = xstrdup("");

	for (int i = 0; i < n; i++) {
		char *t = xasprintf("%s%s\n", s, names[i]->d_name);
		free(s);
		s = t;
		free(names[i]);
	}
	free(names);
	return s;
}

/* True when UID can create a user namespace here (else the helper cannot run at all). */
static bool sbx_userns_usable(uid_t uid)
{
	char *argv[] = {"unshare", "--user", "true", NULL};
	struct test_run r;
	bool ok = test_run(&r, argv, NULL, "/", NULL, uid, T) == 0 && r.status == 0;

	test_run_free(&r);
	return ok;
}

/*
 * Defines test_sandbox_NAME_root and test_sandbox_NAME_user around
 * NAME_as(uid); both skip, loudly, on a host where that user cannot create a
 * user namespace.
 */
#define BOTH(name)                                                                                 \
	static int name##_as(uid_t uid);                                                           \
	TEST(sandbox_##name##_root)                                                                \
	{                                                                                          \
		if (!sbx_userns_usable((uid_t)-1))                                                 \
			SKIP("this host cannot create user namespaces (`unshare --user` fails)");  \
		return name##_as((uid_t)-1);                                                       \
	}                                                                                          \
	TEST(sandbox_##name##_user)                                                                \
	{                                                                                          \
		long u = test_unprivileged_uid();                                                  \
		if (u < 0)                                                                         \
			SKIP("%s", test_unprivileged_skip_reason());                               \
		if (!sbx_userns_usable((uid_t)u))                                                  \
			SKIP("unprivileged users cannot create user namespaces here (enable "      \
			     "them to test this)");                                                \
		return name##_as((uid_t)u);                                                        \
	}                                                                                          \
	static int name##_as(uid_t uid)

BOTH(write_cwd_not_etc)
{
	char *ws = sbx_ws("ws", uid), *f = xasprintf("%s/made", ws);
	struct stat st;

	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "write", f), 0);
	ASSERT_EQ(stat(f, &st), 0);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "write", "/etc/airlock-sandbox-test"), EROFS);
	ASSERT_EQ(stat("/etc/airlock-sandbox-test", &st), -1);
	free(f);
	free(ws);
	return 0;
}

BOTH(tmp_writable_unless_excluded)
{
	char *ws = sbx_ws("ws", uid), *f = xasprintf("/tmp/airlock-sbx-%d", (int)getpid());
	struct stat st;

	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "write", f), 0);
	ASSERT_EQ(stat(f, &st), 0);
	unlink(f);
	ASSERT_EQ(sbx_probe_run(uid, ws,
	                        "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true}",
	                        "write", f),
	          EROFS);
	ASSERT_EQ(stat(f, &st), -1);
	free(f);
	free(ws);
	return 0;
}

BOTH(read_only_writes_nothing)
{
	char *ws = sbx_ws("ws", uid), *f = xasprintf("%s/x", ws), *before, *after, *tmp_before;
	struct test_run r;

	before = sbx_listing(ws);
	tmp_before = sbx_listing("/tmp");
	ASSERT_EQ(sbx_probe_run(uid, ws, RO, "write", f), EROFS);
	ASSERT_EQ(sbx_probe_run(uid, ws, RO, "write", "/tmp/airlock-ro-test"), EROFS);
	ASSERT_EQ(sbx_sh(&r, uid, ws, RO, "mkdir d || touch y || echo z > z; exit 0"), 0);
	test_run_free(&r);
	after = sbx_listing(ws);
	ASSERT_STR_EQ(after, before);
	free(after);
	after = sbx_listing("/tmp");
	ASSERT_NOT_CONTAINS(after, "airlock-ro-test");
	free(after);
	free(tmp_before);
	free(before);
	free(f);
	free(ws);
	return 0;
}

BOTH(git_commit_works_config_hooks_read_only)
{
	char *ws = sbx_ws("repo", uid);
	char *init[] = {"sh", "-c",
	                "git init -q . && git config user.name t && git config user.email t@e && "
	                "echo a > f && git add f && git commit -qm one",
	                NULL};
	struct test_run r;
	struct stat st;

	ASSERT_EQ(test_run(&r, init, NULL, ws, NULL, uid, T), 0);
	if (r.status != 0)
		fprintf(stderr, "git setup: %s%s\n", r.out, r.err);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW,
	                 /* -A, as agents do: the covers of missing protected paths
	                  * (.envrc here) must be nothing git would try to add. */
	                 "echo b >> f && echo new > g && git add -A && git commit -qm two && "
	                 "test -z \"$(git status --porcelain)\" && echo COMMITTED; "
	                 "echo '[core]' >> .git/config && echo CONFIG-WRITTEN; "
	                 "touch .git/hooks/pre-commit && echo HOOK-WRITTEN; "
	                 "rm -rf .git/hooks && echo HOOKS-REMOVED; "
	                 "mv .git/config .git/config.old && echo CONFIG-MOVED; exit 0"),
	          0);
	ASSERT_CONTAINS(r.out, "COMMITTED");
	ASSERT_NOT_CONTAINS(r.out, "CONFIG-WRITTEN");
	ASSERT_NOT_CONTAINS(r.out, "HOOK-WRITTEN");
	ASSERT_NOT_CONTAINS(r.out, "HOOKS-REMOVED");
	ASSERT_NOT_CONTAINS(r.out, "CONFIG-MOVED");
	ASSERT_CONTAINS(r.err, "Read-only file system");
	test_run_free(&r);
	char *hook = xasprintf("%s/.git/hooks/pre-commit", ws);
	ASSERT_EQ(stat(hook, &st), -1);
	free(hook);
	char *log[] = {"git", "log", "--oneline", NULL};
	ASSERT_EQ(test_run(&r, log, NULL, ws, NULL, uid, T), 0);
	ASSERT_CONTAINS(r.out, "two");
	test_run_free(&r);
	free(ws);
	return 0;
}

BOTH(agent_dirs_read_only)
{
	static const char *const dirs[] = {".airlock", ".codex", ".agents", ".claude", ".vscode"};
	char *ws = sbx_ws("ws", uid);
	struct test_run r;

	for (size_t i = 0; i < 5; i++) {
		char *d = xasprintf("%s/%s", ws, dirs[i]);
		mkdir(d, 0755);
		ASSERT_EQ(
		    chown(d, uid == (uid_t)-1 ? getuid() : uid, uid == (uid_t)-1 ? getgid() : uid),
		    0);
		free(d);
	}
	char *envrc = xasprintf("%s/.envrc", ws);
	ASSERT_EQ(test_write_file(envrc, "export A=1\n"), 0);
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW,
	                 "for d in .airlock .codex .agents .claude .vscode; do touch $d/x && echo "
	                 "WROTE-$d; rm -rf $d && echo REMOVED-$d; done; echo B >> .envrc && echo "
	                 "WROTE-envrc; rm -f .envrc && echo REMOVED-envrc; touch ok && echo WS-OK"),
	          0);
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	ASSERT_NOT_CONTAINS(r.out, "REMOVED");
	ASSERT_CONTAINS(r.out, "WS-OK");
	test_run_free(&r);
	char *text = test_read_file(envrc, NULL);
	ASSERT_STR_EQ(text, "export A=1\n");
	free(text);
	free(envrc);
	free(ws);
	return 0;
}

BOTH(symlinked_protected_path_refused)
{
	char *ws = sbx_ws("ws", uid);
	char *cmd = xasprintf("git init -q %s && mkdir %s/evil && rm -rf %s/.git/hooks && ln -s "
	                      "%s/evil %s/.git/hooks",
	                      ws, ws, ws, ws, ws);
	char *setup[] = {"sh", "-c", cmd, NULL};
	struct test_run r;
	struct stat st;

	ASSERT_EQ(test_run(&r, setup, NULL, ws, NULL, uid, T), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	int st_rc = sbx_sh(&r, uid, ws, WW, "touch .git/hooks/pre-commit; touch ran");
	if (st_rc != 125)
		fprintf(stderr, "out: %s\nerr: %s\n", r.out, r.err);
	ASSERT_EQ(st_rc, 125);
	ASSERT_CONTAINS(r.err, "airlock: ");
	ASSERT_CONTAINS(r.err, "/.git/hooks is a symbolic link inside the writable root");
	test_run_free(&r);
	char *p = xasprintf("%s/evil/pre-commit", ws), *ran = xasprintf("%s/ran", ws);
	ASSERT_EQ(stat(p, &st), -1);
	ASSERT_EQ(stat(ran, &st), -1);
	free(p);
	free(ran);
	free(cmd);
	free(ws);
	return 0;
}

BOTH(missing_protected_paths_cannot_be_created_nothing_left)
{
	char *ws = sbx_ws("ws", uid), *before = sbx_listing(ws), *tmp_before = sbx_listing("/tmp");
	struct test_run r;

	ASSERT_EQ(
	    sbx_sh(&r, uid, ws, WW,
	           "mkdir .vscode && echo MADE-vscode; mkdir -p .claude/x && echo MADE-claude; "
	           "echo x > .envrc && test -s .envrc && echo MADE-envrc; "
	           "mkdir .agents/y && echo MADE-agents; touch fine && echo WS-OK"),
	    0);
	ASSERT_NOT_CONTAINS(r.out, "MADE");
	ASSERT_CONTAINS(r.out, "WS-OK");
	test_run_free(&r);
	char *after = sbx_listing(ws), *want = xasprintf("%sfine\n", before);
	ASSERT_STR_EQ(after, want);
	free(after);
	after = sbx_listing("/tmp");
	for (size_t i = 0; i < 7; i++) {
		static const char *const names[] = {".airlock\n", ".codex\n",  ".agents\n",
		                                    ".claude\n",  ".vscode\n", ".envrc\n",
		                                    ".git\n"};
		if (strstr(tmp_before, names[i]) == NULL)
			ASSERT_NOT_CONTAINS(after, names[i]);
	}
	free(after);
	free(want);
	free(before);
	free(tmp_before);
	free(ws);
	return 0;
}

BOTH(none_paths_unreadable)
{
	char *ws = sbx_ws("ws", uid), *secret = xasprintf("%s/secret", ws);
	char *key = xasprintf("%s/key", ws), *inner = xasprintf("%s/secret/id", ws);
	char *fs = xasprintf(
	    "{\"kind\":\"restricted\",\"entries\":["
	    "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	    "\"access\":\"write\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"%s\"},\"access\":\"none\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"%s\"},\"access\":\"none\"}]}",
	    secret, key);
	char *cmd[] = {
	    "sh", "-c",
	    "cat secret/id && echo READ-ID; ls secret && echo LISTED; touch secret/n && "
	    "echo WROTE; printf '[%s]' \"$(cat key)\"; echo x > key && echo KEY-WRITTEN; "
	    "exit 0",
	    NULL};
	struct test_run r;

	mkdir(secret, 0755);
	ASSERT_EQ(test_write_file(inner, "TOPSECRET\n"), 0);
	ASSERT_EQ(test_write_file(key, "KEYDATA\n"), 0);
	ASSERT_EQ(sbx_run(&r, uid, ws, NULL, fs, NULL, cmd), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_NOT_CONTAINS(r.out, "TOPSECRET");
	ASSERT_NOT_CONTAINS(r.out, "READ-ID");
	ASSERT_NOT_CONTAINS(r.out, "LISTED");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	ASSERT_NOT_CONTAINS(r.out, "KEYDATA");
	ASSERT_CONTAINS(r.out, "[]");
	test_run_free(&r);
	char *text = test_read_file(key, NULL);
	ASSERT_STR_EQ(text, "KEYDATA\n");
	free(text);
	free(fs);
	free(inner);
	free(key);
	free(secret);
	free(ws);
	return 0;
}

BOTH(sockets_only_unix)
{
	char *ws = sbx_ws("ws", uid);
	static const char *const denied[] = {"inet", "inet6", "netlink", "packet", "vsock"};

	for (size_t i = 0; i < 5; i++)
		ASSERT_EQ(sbx_probe_run(uid, ws, WW, "socket", denied[i]), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "socket", "unix"), 0);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "socketpair", NULL), 0);
	/* Datagram Unix sockets could carry an address in sendmsg() to a host socket. */
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "socket", "unix-dgram"), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "socket", "unix-raw"), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "sendmsg-addr", "/dev/log"), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "sendto-addr", NULL), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "connect-unix", "/dev/log"), EPERM);
	free(ws);
	return 0;
}

BOTH(ptrace_io_uring_vm_denied)
{
	char *ws = sbx_ws("ws", uid);

	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "ptrace", NULL), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "io_uring_setup", NULL), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "process_vm_readv", NULL), EPERM);
	free(ws);
	return 0;
}

/* pid 1 (bubblewrap's init) has no seccomp filter: its memory must be out of reach. */
BOTH(init_process_memory_out_of_reach)
{
	char *ws = sbx_ws("ws", uid);
	int rc = sbx_probe_run(uid, ws, WW, "pid1-mem", NULL);

	/* Landlock refuses (EACCES); without Landlock /proc/1 is hidden (ENOENT). */
	ASSERT(rc == EACCES || rc == ENOENT);
	free(ws);
	return 0;
}

BOTH(other_abis_cannot_bypass)
{
	char *ws = sbx_ws("ws", uid), *probe = sbx_probe();
	char *direct[] = {probe, "int80-getpid", NULL};
	struct test_run r;

	/* x32: the kernel may lack it (ENOSYS) or the filter denies it; never a socket. */
	int x32 = sbx_probe_run(uid, ws, WW, "x32-socket", NULL);
	ASSERT_NE(x32, 0);
	ASSERT(x32 == EPERM || x32 == ENOSYS || x32 == 128 + 31);
	ASSERT_EQ(test_run(&r, direct, NULL, ws, NULL, uid, T), 0);
	int can32 = r.status == 0;
	test_run_free(&r);
	if (!can32) {
		free(probe);
		free(ws);
		SKIP("this kernel has no 32-bit syscall entry (int 0x80): x32 checked, i386 not");
	}
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "int80-socketcall", NULL), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "int80-socket", NULL), EPERM);
	/* The 32-bit entry itself still works inside (getpid), so the denials are the filter's. */
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "int80-getpid", NULL), 0);
	free(probe);
	free(ws);
	return 0;
}

BOTH(no_privileges_own_pid_ns_minimal_dev)
{
	char *ws = sbx_ws("ws", uid);
	struct test_run r;

	ASSERT_EQ(
	    sbx_sh(&r, uid, ws, WW,
	           "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapInh|CapAmb):' "
	           "/proc/self/status; echo pid=$$; ls /proc | grep -c '^[0-9]'; ls /dev | tr "
	           "'\\n' ' '; echo; env | grep ^AIRLOCK_ | sort"),
	    0);
	ASSERT_CONTAINS(r.out, "NoNewPrivs:\t1");
	ASSERT_CONTAINS(r.out, "CapEff:\t0000000000000000");
	ASSERT_CONTAINS(r.out, "CapPrm:\t0000000000000000");
	ASSERT_CONTAINS(r.out, "CapBnd:\t0000000000000000");
	ASSERT_CONTAINS(r.out, "CapAmb:\t0000000000000000");
	ASSERT_CONTAINS(r.out, "pid=2\n");
	ASSERT_CONTAINS(r.out, "null ");
	ASSERT_CONTAINS(r.out, "urandom ");
	ASSERT_NOT_CONTAINS(r.out, "kmsg");
	ASSERT_NOT_CONTAINS(r.out, "mem ");
	ASSERT_NOT_CONTAINS(r.out, "sda");
	ASSERT_CONTAINS(r.out, "\nAIRLOCK_SANDBOX=1\n");
	ASSERT_CONTAINS(r.out, "\nAIRLOCK_SANDBOX_NETWORK_DISABLED=1\n");
	ASSERT_NOT_CONTAINS(r.out, "AIRLOCK_SANDBOX__INNER");
	test_run_free(&r);
	free(ws);
	return 0;
}

BOTH(malformed_policy_exits_2_runs_nothing)
{
	char *ws = sbx_ws("ws", uid), *ran = xasprintf("%s/ran", ws);
	struct test_run r;
	struct stat st;

	ASSERT_EQ(sbx_sh(&r, uid, ws, "{\"type\":\"workspace-write\",", "touch ran"), 2);
	ASSERT_CONTAINS(r.err, "airlock: --sandbox-policy: invalid JSON at line 1");
	test_run_free(&r);
	ASSERT_EQ(
	    sbx_sh(&r, uid, ws, "{\"type\":\"workspace-write\",\"writable_root\":[]}", "touch ran"),
	    2);
	ASSERT_CONTAINS(r.err, "unknown field \"writable_root\"");
	test_run_free(&r);
	ASSERT_EQ(stat(ran, &st), -1);
	free(ran);
	free(ws);
	return 0;
}

BOTH(no_user_namespace_exits_125_says_what_to_do)
{
	char *ws = sbx_ws("ws", uid), *exe = sbx_exe(), *ran = xasprintf("%s/ran", ws);
	/* A real kernel limit: inside a new user namespace, allow no further ones. */
	char *script = xasprintf("echo 0 > /proc/sys/user/max_user_namespaces || exit 77; exec %s "
	                         "--sandbox-policy-cwd %s --sandbox-policy '" WW "' -- touch %s",
	                         exe, ws, ran);
	char *argv[] = {"unshare", "--user", "--map-root-user", "sh", "-c", script, NULL};
	struct test_run r;
	struct stat st;

	ASSERT_EQ(test_run(&r, argv, NULL, ws, NULL, uid, T), 0);
	if (r.status == 77 || strstr(r.err, "unshare failed") != NULL) {
		test_run_free(&r);
		SKIP("cannot make a user namespace to lower max_user_namespaces in");
	}
	ASSERT_EQ(r.status, 125);
	ASSERT_CONTAINS(r.err, "airlock: cannot create the sandbox's user namespace");
	/* No guessed sysctls (they differ from kernel to kernel): doctor knows this host. */
	ASSERT_CONTAINS(r.err, "run `airlock doctor` for what to do on this host");
	/* One line. */
	ASSERT_EQ(strchr(r.err, '\n') - r.err + 1, (long)r.errlen);
	ASSERT_EQ(stat(ran, &st), -1);
	test_run_free(&r);
	free(script);
	free(ran);
	free(exe);
	free(ws);
	return 0;
}

TEST(sandbox_inner_stage_refused_outside)
{
	char *exe = sbx_exe();
	char *argv[] = {exe,
	                "--apply-seccomp-then-exec",
	                "--network-sandbox-policy",
	                "restricted",
	                "--",
	                "sh",
	                "-c",
	                "echo RAN",
	                NULL};
	struct stat st;
	struct test_run r;
	char *forged;

	ASSERT_EQ(test_run(&r, argv, NULL, NULL, NULL, (uid_t)-1, T), 0);
	ASSERT_EQ(r.status, 125);
	ASSERT_NOT_CONTAINS(r.out, "RAN");
	ASSERT_CONTAINS(r.err, "refusing to run outside");
	test_run_free(&r);
	/* A forged marker naming our own user namespace is refused too. */
	ASSERT_EQ(stat("/proc/self/ns/user", &st), 0);
	forged = xasprintf("AIRLOCK_SANDBOX__INNER=%llu:2:-1", (unsigned long long)st.st_ino);
	char *env[] = {forged, NULL};
	ASSERT_EQ(test_run(&r, argv, NULL, NULL, env, (uid_t)-1, T), 0);
	ASSERT_EQ(r.status, 125);
	ASSERT_NOT_CONTAINS(r.out, "RAN");
	ASSERT_CONTAINS(r.err, "not inside the sandbox");
	test_run_free(&r);
	free(forged);
	free(exe);
	return 0;
}

/*
 * Calls the in-process inner stage (what the vendored bubblewrap calls in
 * place of an exec) with ARGV in a child whose stderr is a file, with the
 * marker MARKER (NULL: none); returns the child's exit status and its
 * stderr in *ERR (caller frees).
 */
static int sbx_hook_in_child(char **argv, const char *marker, char **err)
{
	char *path = xasprintf("%s/hook-err", test_tmpdir());
	int st = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(99);
		if (marker != NULL)
			setenv("AIRLOCK_SANDBOX__INNER", marker, 1);
		else
			unsetenv("AIRLOCK_SANDBOX__INNER");
		sandbox_inner_hook(argv);
		fputs("RETURNED\n", stderr);
		fflush(NULL);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		st = -1;
	*err = test_read_file(path, NULL);
	if (*err == NULL)
		*err = xstrdup("");
	free(path);
	return st < 0 ? -1 : WEXITSTATUS(st);
}

/*
 * The inner stage run in-process by the vendored bubblewrap refuses to run
 * outside the sandbox just as the exec'd one does (above), and hands back
 * an argv that is not its own for bubblewrap to exec.
 */
TEST(sandbox_inprocess_inner_stage_refused_outside)
{
	char *argv[] = {"airlock-sandbox", "--apply-seccomp-then-exec", "--network-sandbox-policy",
	                "\"restricted\"", "--", "sh", "-c", "echo RAN", NULL};
	char *other[] = {"sh", "-c", "echo RAN", NULL};
	struct stat st;
	char *err, *forged;

	ASSERT_EQ(sbx_hook_in_child(argv, NULL, &err), 125);
	ASSERT_CONTAINS(err, "refusing to run outside");
	ASSERT_NOT_CONTAINS(err, "RETURNED");
	free(err);
	ASSERT_EQ(stat("/proc/self/ns/user", &st), 0);
	forged = xasprintf("%llu:2:-1", (unsigned long long)st.st_ino);
	ASSERT_EQ(sbx_hook_in_child(argv, forged, &err), 125);
	ASSERT_CONTAINS(err, "not inside the sandbox");
	free(err);
	ASSERT_EQ(sbx_hook_in_child(other, forged, &err), 0);
	ASSERT_CONTAINS(err, "RETURNED");
	free(err);
	free(forged);
	return 0;
}

TEST(sandbox_stdio_and_exit_status_pass_through)
{
	char *ws = sbx_ws("ws", (uid_t)-1);
	struct test_run r;

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT_EQ(sbx_sh(&r, (uid_t)-1, ws, WW, "echo out; echo err >&2; exit 7"), 7);
	ASSERT_STR_EQ(r.out, "out\n");
	ASSERT_STR_EQ(r.err, "err\n");
	test_run_free(&r);
	ASSERT_EQ(sbx_sh(&r, (uid_t)-1, ws, WW, "kill -TERM $$"), 128 + 15);
	test_run_free(&r);
	char *cmd[] = {"no-such-command-airlock", NULL};
	ASSERT_EQ(sbx_run(&r, (uid_t)-1, ws, WW, NULL, NULL, cmd), 0);
	ASSERT_EQ(r.status, 127);
	ASSERT_CONTAINS(r.err, "no-such-command-airlock");
	test_run_free(&r);
	free(ws);
	return 0;
}

BOTH(landlock_fallback)
{
	char *ws = sbx_ws("ws", uid), *f = xasprintf("%s/x", ws);
	char *extra[] = {"--use-legacy-landlock", NULL};
	char *probe = sbx_probe();
	char *cmd[] = {probe, "write", f, NULL};
	char *sock[] = {probe, "socket", "inet", NULL};
	struct test_run r;

	ASSERT_EQ(sbx_run(&r, uid, ws, RO, NULL, extra, cmd), 0);
	if (r.status == 125 && strstr(r.err, "no usable Landlock") != NULL) {
		test_run_free(&r);
		SKIP("this kernel has no Landlock (the helper said so and exited 125)");
	}
	ASSERT_EQ(r.status, EACCES);
	test_run_free(&r);
	ASSERT_EQ(sbx_run(&r, uid, ws, RO, NULL, extra, sock), 0);
	ASSERT_EQ(r.status, EPERM);
	test_run_free(&r);
	/* No capability survives, even run as root, and the host's hostname stays. */
	char *caps[] = {"sh", "-c",
	                "grep -E '^Cap(Eff|Prm|Inh|Amb):' /proc/self/status | grep -v "
	                "'0000000000000000$'; hostname airlock-probe 2>/dev/null && echo SET; true",
	                NULL};
	char host[256], host_after[256];
	ASSERT_EQ(gethostname(host, sizeof host), 0);
	ASSERT_EQ(sbx_run(&r, uid, ws, RO, NULL, extra, caps), 0);
	ASSERT_STR_EQ(r.out, "");
	test_run_free(&r);
	ASSERT_EQ(gethostname(host_after, sizeof host_after), 0);
	ASSERT_STR_EQ(host_after, host);
	/* Restricted reading: the workspace and the platform, nothing else. */
	char *outside = xasprintf("%s/outside", test_tmpdir());
	ASSERT_EQ(test_write_file(outside, "secret\n"), 0);
	/* (The probe lives in the build tree, unreadable here: cat from /usr instead.) */
	char *rd[] = {"cat", outside, NULL};
	ASSERT_EQ(sbx_run(&r, uid, ws,
	                  "{\"type\":\"read-only\",\"access\":{\"type\":\"restricted\"}}", NULL,
	                  extra, rd),
	          0);
	ASSERT_EQ(r.status, 1);
	ASSERT_CONTAINS(r.err, "Permission denied");
	ASSERT_NOT_CONTAINS(r.out, "secret");
	test_run_free(&r);
	free(outside);
	/* What Landlock cannot express fails closed. */
	ASSERT_EQ(sbx_run(&r, uid, ws, WW, NULL, extra, cmd), 0);
	ASSERT_EQ(r.status, 125);
	ASSERT_CONTAINS(r.err, "airlock: --use-legacy-landlock cannot keep the protected paths");
	test_run_free(&r);
	free(probe);
	free(f);
	free(ws);
	return 0;
}

BOTH(proc_mount_refused_retries_without_proc)
{
	char *ws = sbx_ws("ws", uid), *exe = sbx_exe(), *before = sbx_listing(ws);
	/* A real kernel refusal: in a user namespace whose /proc is not fully visible (a
	 * tmpfs over /proc/acpi, as container runtimes do), a new proc cannot be mounted.
	 * First the premise, as bubblewrap would meet it: a nested user, mount and pid
	 * namespace mounting its own proc. Exit 78: the kernel let that through. */
	char *script = xasprintf("mount -t tmpfs none /proc/acpi || exit 77; "
	                         "unshare --user --map-root-user --mount --pid --fork --mount-proc "
	                         "true 2>/dev/null && exit 78; exec %s "
	                         "--sandbox-policy-cwd %s --sandbox-policy '" WW "' -- sh -c 'echo "
	                         "RAN-$AIRLOCK_SANDBOX'",
	                         exe, ws);
	char *argv[] = {"unshare",      "--user", "--map-root-user",
	                "--mount",      "--pid",  "--fork",
	                "--mount-proc", "sh",     "-c",
	                script,         NULL};
	struct test_run r;

	ASSERT_EQ(test_run(&r, argv, NULL, ws, NULL, uid, T), 0);
	if (r.status == 77 || strstr(r.err, "unshare failed") != NULL) {
		test_run_free(&r);
		free(before);
		free(script);
		free(exe);
		free(ws);
		SKIP("cannot build a namespace with a partly covered /proc here (no /proc/acpi?)");
	}
	if (r.status == 78) {
		test_run_free(&r);
		free(before);
		free(script);
		free(exe);
		free(ws);
		SKIP("this kernel lets a nested user namespace mount proc over a partly covered "
		     "/proc, so bubblewrap's proc mount is never refused: no retry to test");
	}
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "RAN-1\n");
	ASSERT_CONTAINS(r.err, "airlock: bubblewrap cannot mount /proc here (Can't mount proc");
	ASSERT_CONTAINS(r.err, "running again without --proc /proc\n");
	test_run_free(&r);
	char *after = sbx_listing(ws);
	ASSERT_STR_EQ(after, before);
	free(after);
	free(before);
	free(script);
	free(exe);
	free(ws);
	return 0;
}

TEST(sandbox_sigterm_takes_the_sandbox_down)
{
	char *ws = sbx_ws("ws", (uid_t)-1), *exe = sbx_exe(), *late = xasprintf("%s/late", ws);
	char *before = sbx_listing(ws);
	char *argv[] = {exe,  "--sandbox-policy-cwd", ws,  "--sandbox-policy", WW, "--", "sh",
	                "-c", "sleep 2; touch late",  NULL};
	struct stat st;
	int status;
	pid_t pid = fork();

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		if (chdir(ws) != 0)
			_exit(127);
		execv(exe, argv);
		_exit(127);
	}
	usleep(500 * 1000);
	ASSERT_EQ(kill(pid, SIGTERM), 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
	usleep(2500 * 1000);
	ASSERT_EQ(stat(late, &st), -1);
	char *after = sbx_listing(ws);
	ASSERT_STR_EQ(after, before);
	free(after);
	free(before);
	free(late);
	free(exe);
	free(ws);
	return 0;
}

static pid_t sbx_spawn(uid_t uid, const char *ws, const char *script);

/* An interrupt is the command's: it reaches it inside, and the sandbox lives on. */
TEST(sandbox_sigint_reaches_the_command)
{
	char *ws = sbx_ws("ws", (uid_t)-1), *mark = xasprintf("%s/interrupted", ws);
	char *ready = xasprintf("%s/ready", ws);
	struct stat st;
	int status;
	/* The trap runs, then the command goes on and chooses its own status. */
	pid_t pid = sbx_spawn((uid_t)-1, ws,
	                      "trap 'touch interrupted' INT; touch ready; "
	                      "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.2; done; exit 7");

	if (!test_sandbox_usable())
		SKIP("%s", test_sandbox_skip_reason());
	ASSERT(pid > 0);
	for (int i = 0; i < 100 && stat(ready, &st) != 0; i++)
		usleep(20 * 1000);
	ASSERT_EQ(stat(ready, &st), 0);
	ASSERT_EQ(kill(pid, SIGINT), 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 7);
	ASSERT_EQ(stat(mark, &st), 0);
	free(ready);
	free(mark);
	free(ws);
	return 0;
}

BOTH(home_read_only_socket_dir_hidden)
{
	char *ws = sbx_ws("ws", uid), *home = xasprintf("%s/home", ws);
	char *agent = sbx_ws("agent", uid), *sock = xasprintf("%s/agent/sock", test_tmpdir());
	char *cfg = xasprintf("%s/config.json", home);
	char *extra[] = {"--protect-home", home, "--hide", agent, NULL};
	char *cmd[] = {
	    "sh",
	    "-c",
	    "echo '{}' > home/config.json && echo HOME-WRITTEN; touch home/rules && echo "
	    "RULES-MADE; cat home/config.json; ls -A \"$1\" | wc -l; cat \"$1/sock\" && echo "
	    "SOCK-SEEN; touch ok && echo WS-OK",
	    "sh",
	    agent,
	    NULL};
	struct test_run r;

	mkdir(home, 0755);
	ASSERT_EQ(chown(home, uid == (uid_t)-1 ? getuid() : uid, uid == (uid_t)-1 ? getgid() : uid),
	          0);
	ASSERT_EQ(test_write_file(cfg, "{\"sandbox\":\"read-only\"}\n"), 0);
	ASSERT_EQ(test_write_file(sock, "socket-ish\n"), 0);
	ASSERT_EQ(sbx_run(&r, uid, ws, WW, NULL, extra, cmd), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_NOT_CONTAINS(r.out, "HOME-WRITTEN");
	ASSERT_NOT_CONTAINS(r.out, "RULES-MADE");
	ASSERT_CONTAINS(r.out, "{\"sandbox\":\"read-only\"}\n0\n");
	ASSERT_NOT_CONTAINS(r.out, "SOCK-SEEN");
	ASSERT_CONTAINS(r.out, "WS-OK");
	test_run_free(&r);
	char *text = test_read_file(cfg, NULL);
	ASSERT_STR_EQ(text, "{\"sandbox\":\"read-only\"}\n");
	free(text);
	free(cfg);
	free(sock);
	free(agent);
	free(home);
	free(ws);
	return 0;
}

/* Starts the helper in WS as UID in the background, running SCRIPT; returns its pid. */
static pid_t sbx_spawn(uid_t uid, const char *ws, const char *script)
{
	char *exe = sbx_exe();
	char *argv[] = {
	    exe,  "--sandbox-policy-cwd", (char *)ws, "--sandbox-policy", WW, "--", "sh",
	    "-c", (char *)script,         NULL};
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		if (chdir(ws) != 0 || (uid != (uid_t)-1 && (setgroups(0, NULL) != 0 ||
		                                            setgid(uid) != 0 || setuid(uid) != 0)))
			_exit(127);
		execv(exe, argv);
		_exit(127);
	}
	free(exe);
	return pid;
}

BOTH(concurrent_sandboxes_share_covers)
{
	char *ws = sbx_ws("ws", uid), *before = sbx_listing(ws);
	struct test_run r;
	int status;

	/* A starts first and makes the covers; B starts while A runs and finds them; A ends
	 * first and must not take them away from B. */
	pid_t a = sbx_spawn(uid, ws, "sleep 1");
	ASSERT(a > 0);
	usleep(300 * 1000);
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW,
	                 "sleep 2; mkdir .vscode/x && echo MADE-vscode; mkdir .claude/y && echo "
	                 "MADE-claude; echo x > .envrc && test -s .envrc && echo MADE-envrc; mkdir "
	                 ".agents/z && echo MADE-agents; echo DONE"),
	          0);
	ASSERT_EQ(waitpid(a, &status, 0), a);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_NOT_CONTAINS(r.out, "MADE");
	test_run_free(&r);
	char *after = sbx_listing(ws);
	ASSERT_STR_EQ(after, before);
	free(after);
	free(before);
	free(ws);
	return 0;
}

/* ---- containment: what a hostile command tries (issue: close every way out) ---- */

/* The host's domain name, to compare before and after a run. */
static char *sbx_domainname(void)
{
	char *s = test_read_file("/proc/sys/kernel/domainname", NULL);

	if (s == NULL)
		return xstrdup("");
	s[strcspn(s, "\n")] = '\0';
	return s;
}

BOTH(kernel_settings_and_hostname_out_of_reach)
{
	char *ws = sbx_ws("ws", uid), *before = sbx_domainname(), *script;
	char host[256], host_after[256];
	struct test_run r;

	ASSERT_EQ(gethostname(host, sizeof host), 0);
	/* Writes back the value the host has (harmless if it went through), then looks for
	 * anything writable under /proc that is not a process's own. */
	script = xasprintf(
	    "printf %%s '%s' > /proc/sys/kernel/domainname && echo WROTE-sys; "
	    "hostname airlock-probe && echo WROTE-hostname; "
	    "echo 0 > /proc/sys/kernel/sysrq 2>/dev/null && echo WROTE-sysrq; "
	    "find /proc -maxdepth 3 -writable ! -path '/proc/[0-9]*' ! -path '/proc/self*' "
	    "! -path '/proc/thread-self*' ! -path '/proc/pressure*' 2>/dev/null | sed 's/^/W /'; "
	    "echo DONE",
	    before);
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW, script), 0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	ASSERT_NOT_CONTAINS(r.out, "W /proc");
	test_run_free(&r);
	ASSERT_EQ(gethostname(host_after, sizeof host_after), 0);
	ASSERT_STR_EQ(host_after, host);
	free(script);
	free(before);
	free(ws);
	return 0;
}

BOTH(host_keyring_unreachable)
{
	char *ws = sbx_ws("ws", uid);

	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "keyctl", NULL), EPERM);
	ASSERT_EQ(sbx_probe_run(uid, ws, WW, "add_key", NULL), EPERM);
	free(ws);
	return 0;
}

BOTH(no_proc_never_shows_the_hosts)
{
	char *ws = sbx_ws("ws", uid);
	char *extra[] = {"--no-proc", NULL};
	char *cmd[] = {"sh", "-c", "ls -A /proc | wc -l; echo x > /proc/x && echo WROTE; true",
	               NULL};
	struct test_run r;

	ASSERT_EQ(sbx_run(&r, uid, ws, WW, NULL, extra, cmd), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_STR_EQ(r.out, "0\n");
	test_run_free(&r);
	free(ws);
	return 0;
}

TEST(sandbox_kernel_fs_under_a_writable_root_read_only)
{
	char *ws = sbx_ws("ws", (uid_t)-1), *sys = xasprintf("%s/sys", ws);
	struct test_run r;
	int rc;

	if (getuid() != 0)
		SKIP("mounting a sysfs needs root");
	if (!sbx_userns_usable((uid_t)-1))
		SKIP("this host cannot create user namespaces (`unshare --user` fails)");
	ASSERT_EQ(mkdir(sys, 0755), 0);
	if (mount("sysfs", sys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		SKIP("cannot mount a sysfs here: %s", strerror(errno));
	/* Anything the kernel would let the command write there (access(2): no write is
	 * made, some of these files act when written). */
	rc = sbx_sh(&r, (uid_t)-1, ws, WW,
	            "ls sys/kernel >/dev/null && echo LISTED; find sys -maxdepth 4 -type f -writable "
	            "2>/dev/null | head -3 | sed 's/^/WROTE /'; echo DONE");
	umount2(sys, MNT_DETACH);
	ASSERT_EQ(rc, 0);
	ASSERT_CONTAINS(r.out, "LISTED");
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	test_run_free(&r);
	free(sys);
	free(ws);
	return 0;
}

/* A repository in WS made by UID with one commit. */
static void sbx_git_repo(uid_t uid, const char *ws)
{
	struct test_run r;
	char *cmd[] = {"sh", "-c",
	               "git init -q . && git config user.email t@t && git config user.name t && "
	               "echo a > a && git add a && git commit -qm a",
	               NULL};

	test_run(&r, cmd, NULL, ws, NULL, uid, T);
	test_run_free(&r);
}

/* The mount points and per-mount options of a sandbox's own /proc/self/mountinfo, run
 * as UID under POLICY, through the probe's without-syscall NR when NR >= 0; caller frees. */
static char *sbx_mounts(uid_t uid, const char *ws, const char *policy, long nr)
{
	char *exe = sbx_exe(), *probe = sbx_probe(), *nrs = xasprintf("%ld", nr), *out;
	char *argv[] = {probe, "without-syscall", nrs, "--", exe, "--sandbox-policy-cwd", (char *)ws,
	                "--sandbox-policy", (char *)policy, "--", "cut", "-d", " ", "-f", "5,6",
	                "/proc/self/mountinfo", NULL};
	struct test_run r;

	if (test_run(&r, nr >= 0 ? argv : argv + 4, NULL, ws, NULL, uid, T) != 0 ||
	    r.status != 0)
		out = xasprintf("run failed (%d): %s", r.status, r.err);
	else
		out = xstrdup(r.out);
	test_run_free(&r);
	free(nrs);
	free(probe);
	free(exe);
	return out;
}

/*
 * bubblewrap takes a mount's flags without reading the whole mount table
 * when nothing is mounted below it (vendor/patches): listmount(2) tells on
 * Linux 6.8 and later; where it fails, as on older kernels, the table is
 * read. Both ways give the same mounts with the same flags, for a git
 * workspace (pinned files, covers) under both policies.
 */
BOTH(mount_flags_same_without_listmount)
{
	char *ws = sbx_ws("ws", uid);
	/* Not /tmp: what other runs leave there for a moment would change the plan. */
	static const char *const policies[] = {
	    "{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,"
	    "\"exclude_tmpdir_env_var\":true}",
	    RO};

	sbx_git_repo(uid, ws);
	for (size_t i = 0; i < 2; i++) {
		char *with = sbx_mounts(uid, ws, policies[i], -1);
		char *without = sbx_mounts(uid, ws, policies[i], 458 /* listmount */);

		ASSERT_CONTAINS(with, "/proc/sys ro,");
		if (i == 0)
			ASSERT_CONTAINS(with, "/.git/config ro,");
		ASSERT_STR_EQ(without, with);
		free(with);
		free(without);
	}
	free(ws);
	return 0;
}

/*
 * A readable root whose file system is read-only on the host only at the
 * superblock (`mount -o remount,ro` of one of its mounts), while the mount
 * the sandbox binds is itself read-write: fstatvfs() reports ST_RDONLY for
 * either, so the bind-mount patch took the mount for read-only and left the
 * sandbox's bind read-write at the mount level (the mount table, read
 * without listmount, says "rw" and bubblewrap remounts it). When the host
 * makes the file system writable again during the run, the command can
 * write to its read-only root (no Landlock: --no-landlock, as on a kernel
 * without it).
 */
BOTH(read_only_root_stays_read_only_when_the_host_remounts_it)
{
	char *ws = sbx_ws("ws", uid), *fs = xasprintf("%s/fs", test_tmpdir());
	char *data = xasprintf("%s/data", test_tmpdir());
	char *ready = xasprintf("%s/ready", ws), *go = xasprintf("%s/go", ws);
	char *policy = xasprintf(
	    "{\"kind\":\"restricted\",\"entries\":["
	    "{\"path\":{\"type\":\"path\",\"path\":\"/usr\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/bin\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/lib\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/lib64\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/etc\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"%s\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	    "\"access\":\"write\"}]}",
	    data);
	char *script = xasprintf(
	    "grep ' %s ' /proc/self/mountinfo | cut -d' ' -f6 | sed 's/^/OPTS /'; touch ready; "
	    "i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
	    "echo x > %s/planted && echo WROTE; true",
	    data, data);
	char *no_ll[] = {"--no-landlock", NULL};
	char *cmd[] = {"sh", "-c", script, NULL};
	struct test_run r;
	int status;
	pid_t host;

	if (getuid() != 0)
		SKIP("mounting a tmpfs needs root");
	ASSERT_EQ(unshare(CLONE_NEWNS), 0);
	ASSERT_EQ(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ASSERT_EQ(mkdir(fs, 0755), 0);
	ASSERT_EQ(mkdir(data, 0755), 0);
	ASSERT_EQ(mount("tmpfs", fs, "tmpfs", 0, "size=64k,mode=0777"), 0);
	ASSERT_EQ(mount(fs, data, NULL, MS_BIND, NULL), 0);
	ASSERT_EQ(mount(NULL, data, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL), 0);
	/* The superblock read-only; the mount at DATA stays read-write. */
	ASSERT_EQ(mount(NULL, fs, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	host = fork();
	if (host == 0) {
		/* The host makes the file system writable again once the command runs. */
		for (int i = 0; i < 400 && access(ready, F_OK) != 0; i++)
			usleep(50 * 1000);
		if (mount(NULL, fs, NULL, MS_REMOUNT, NULL) != 0)
			_exit(1);
		_exit(open(go, O_WRONLY | O_CREAT, 0644) >= 0 ? 0 : 2);
	}
	ASSERT(host > 0);
	ASSERT_EQ(sbx_run(&r, uid, ws, NULL, policy, no_ll, cmd), 0);
	ASSERT_EQ(waitpid(host, &status, 0), host);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	umount2(data, MNT_DETACH);
	umount2(fs, MNT_DETACH);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "OPTS ro,");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	test_run_free(&r);
	free(script);
	free(policy);
	free(go);
	free(ready);
	free(data);
	free(fs);
	free(ws);
	return 0;
}

/* The descriptors of process PID, one "N -> TARGET" a line; caller frees. */
static char *sbx_fds_of(pid_t pid)
{
	char *dir = xasprintf("/proc/%d/fd", (int)pid), *s = xstrdup("");
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char link[512], *path, *t;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof link - 1);
		link[n > 0 ? n : 0] = '\0';
		t = xasprintf("%s%s -> %s\n", s, de->d_name, link);
		free(s);
		s = t;
		free(path);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	return s;
}

/*
 * Runs a proxy-mode sandbox as UID in WS (with --no-proc when NO_PROC) and
 * returns the descriptors of its proxy bridge (the helper's program whose
 * parent is the command), or NULL when none was found; caller frees.
 */
static char *sbx_bridge_fds(uid_t uid, const char *ws, bool no_proc)
{
	char *exe = sbx_exe(), *ready = xasprintf("%s/ready", ws), *go = xasprintf("%s/go", ws);
	char *fds = NULL, *proxy;
	char *fs = "{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\","
	           "\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},{\"path\":{\"type\":"
	           "\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	           "\"access\":\"write\"}]}";
	char *argv[] = {exe, "--sandbox-policy-cwd", (char *)ws, "--file-system-sandbox-policy", fs,
	                "--network-sandbox-policy", "\"proxy\"", "--no-proc", "--", "sh", "-c",
	                "touch ready; i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; "
	                "i=$((i+1)); done",
	                NULL};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sin;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status;
	pid_t helper;

	unlink(ready);
	unlink(go);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(lfd, 8) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) != 0)
		goto out;
	proxy = xasprintf("http://127.0.0.1:%d", ntohs(sin.sin_port));
	setenv("HTTP_PROXY", proxy, 1);
	free(proxy);
	helper = fork();
	if (helper == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		if (chdir(ws) != 0 || (uid != (uid_t)-1 && (setgroups(0, NULL) != 0 ||
		                                            setgid(uid) != 0 || setuid(uid) != 0)))
			_exit(127);
		if (!no_proc) /* drop it: the rest moves up one */
			memmove(argv + 7, argv + 8, 5 * sizeof *argv);
		execv(exe, argv);
		_exit(127);
	}
	if (helper < 0)
		goto out;
	for (int i = 0; i < 400 && access(ready, F_OK) != 0; i++)
		usleep(50 * 1000);
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		char *st = xasprintf("/proc/%s/status", de->d_name);
		char *cmd = xasprintf("/proc/%s/cmdline", de->d_name);
		char *text = test_read_file(st, NULL), *mine = test_read_file(cmd, NULL);
		char *line = text != NULL ? strstr(text, "\nPPid:") : NULL, *pcmd = NULL;

		if (line != NULL) {
			char *pc = xasprintf("/proc/%ld/cmdline", strtol(line + 6, NULL, 10));
			pcmd = test_read_file(pc, NULL);
			free(pc);
		}
		if (pcmd != NULL && mine != NULL && strcmp(pcmd, "sh") == 0 &&
		    strcmp(mine, exe) == 0) {
			char *more = sbx_fds_of((pid_t)atoi(de->d_name));
			char *t = xasprintf("%s%s", fds != NULL ? fds : "", more);
			free(fds);
			free(more);
			fds = t;
		}
		free(mine);
		free(pcmd);
		free(text);
		free(cmd);
		free(st);
	}
	if (d != NULL)
		closedir(d);
	close(open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	if (waitpid(helper, &status, 0) != helper || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		free(fds);
		fds = NULL;
	}
out:
	if (lfd >= 0)
		close(lfd);
	free(go);
	free(ready);
	free(exe);
	return fds;
}

/*
 * The proxy bridge inside the sandbox is a fork of the inner stage that
 * never execs. With the inner stage run in-process by bubblewrap (not
 * exec'd), what bubblewrap's child held close-on-exec at that point (its
 * eventfd shared with the sandbox's init and the monitor outside) stayed
 * open in the bridge, where an exec had closed it before. The bridge holds
 * only its own: the standard three, its listening socket(s), the route's
 * channel and the filter's pipe; also without a /proc inside (--no-proc).
 */
BOTH(proxy_bridge_holds_only_its_own_descriptors)
{
	char *ws = sbx_ws("ws", uid);

	for (int no_proc = 0; no_proc < 2; no_proc++) {
		char *fds = sbx_bridge_fds(uid, ws, no_proc);

		ASSERT(fds != NULL);
		fprintf(stderr, "  the bridge's descriptors%s:\n%s", no_proc ? " (--no-proc)" : "",
		        fds);
		ASSERT_NOT_CONTAINS(fds, "eventfd");
		ASSERT_NOT_CONTAINS(fds, "signalfd");
		ASSERT_NOT_CONTAINS(fds, "pidfd");
		free(fds);
	}
	free(ws);
	return 0;
}

BOTH(git_metadata_cannot_be_redirected_or_replaced)
{
	char *ws = sbx_ws("ws", uid), *p;
	struct test_run r;
	struct stat st;

	sbx_git_repo(uid, ws);
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW,
	                 "mv .git .git-away && echo MOVED-git; "
	                 "mkdir -p .git/modules/evil && echo MADE-module; "
	                 "mkdir -p .git/worktrees/evil && echo MADE-worktree; "
	                 "echo '[core]' >> .git/config && echo WROTE-config; "
	                 "echo .. > .git/commondir && echo WROTE-commondir; "
	                 "echo /tmp > .git/objects/info/alternates && echo WROTE-alternates; "
	                 "echo x > .git/config.worktree && echo WROTE-config.worktree; "
	                 "touch .git/hooks/pre-commit && echo WROTE-hook; "
	                 "echo b > b && git add b && git commit -qm b && echo COMMITTED; "
	                 "git stash list >/dev/null && echo STASH-OK; "
	                 "git checkout -q -b topic && echo CHECKOUT-OK; echo DONE"),
	          0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_NOT_CONTAINS(r.out, "MOVED");
	ASSERT_NOT_CONTAINS(r.out, "MADE");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	ASSERT_CONTAINS(r.out, "COMMITTED");
	ASSERT_CONTAINS(r.out, "STASH-OK");
	ASSERT_CONTAINS(r.out, "CHECKOUT-OK");
	test_run_free(&r);
	p = xasprintf("%s/.git/HEAD", ws);
	ASSERT_EQ(stat(p, &st), 0);
	free(p);
	/* Nothing of the protection is left on the host. */
	p = xasprintf("%s/.git/modules", ws);
	ASSERT_EQ(stat(p, &st), -1);
	free(p);

	/* What the mounts cannot cover is moved aside after the run, and said: a commondir
	 * planted in the protected .git, a new nested repository with a config that would
	 * run code, a gitdir file pointing at an attacker's directory. */
	ASSERT_EQ(
	    sbx_sh(&r, uid, ws, WW,
	           "echo ../evil > .git/commondir; mkdir evil && printf '[core]\\n\\t"
	           "fsmonitor = touch PWNED\\n' > evil/config; "
	           "mkdir nested && cd nested && git init -q . && "
	           "printf '[core]\\n\\tfsmonitor = touch PWNED\\n' >> .git/config && "
	           "cd .. && mkdir linked && echo 'gitdir: ../evil' > linked/.git; echo DONE"),
	    0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_CONTAINS(r.err, "airlock: git repository");
	test_run_free(&r);
	static const char *const gone[] = {".git/commondir", "nested/.git/config",
	                                   "nested/.git/hooks", "linked/.git"};
	for (size_t i = 0; i < 4; i++) {
		p = xasprintf("%s/%s", ws, gone[i]);
		if (lstat(p, &st) == 0)
			fprintf(stderr, "  %s is still in place after the run\n", p);
		ASSERT(lstat(p, &st) != 0);
		free(p);
	}
	/* Host git there runs nothing planted. */
	{
		char *st_cmd[] = {"sh", "-c",
		                  "git status >/dev/null 2>&1; cd nested && git status "
		                  ">/dev/null 2>&1; cd ../linked && git status >/dev/null "
		                  "2>&1; true",
		                  NULL};
		test_run(&r, st_cmd, NULL, ws, NULL, uid, T);
		test_run_free(&r);
		p = xasprintf("%s/PWNED", ws);
		ASSERT_EQ(stat(p, &st), -1);
		free(p);
		p = xasprintf("%s/nested/PWNED", ws);
		ASSERT_EQ(stat(p, &st), -1);
		free(p);
	}
	free(ws);
	return 0;
}

BOTH(git_works_where_protected_files_are_missing)
{
	char *ws = sbx_ws("ws", uid), *cfg;
	struct test_run r;
	struct stat st;

	sbx_git_repo(uid, ws);
	/* No .git/config: its cover must read as an empty file, not fail (EACCES). */
	cfg = xasprintf("%s/.git/config", ws);
	ASSERT_EQ(unlink(cfg), 0);
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW,
	                 "git status --short && echo STATUS-OK; echo x >> .git/config && echo "
	                 "WROTE; echo DONE"),
	          0);
	ASSERT_CONTAINS(r.out, "STATUS-OK");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	test_run_free(&r);
	ASSERT_EQ(stat(cfg, &st), -1); /* the cover is gone again */
	free(cfg);
	free(ws);
	return 0;
}

BOTH(bare_workspace_hooks_read_only)
{
	char *ws = sbx_ws("ws", uid);
	struct test_run r;
	char *init[] = {"git", "init", "-q", "--bare", ".", NULL};

	test_run(&r, init, NULL, ws, NULL, uid, T);
	test_run_free(&r);
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW,
	                 "echo x > hooks/post-update && echo WROTE-hook; echo x >> config && echo "
	                 "WROTE-config; echo DONE"),
	          0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	test_run_free(&r);
	free(ws);
	return 0;
}

/* Workspace-write with no /tmp or $TMPDIR root: the test's directory is outside the roots. */
#define WW_NO_TMP                                                                                  \
	"{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,\"exclude_tmpdir_env_var\":"     \
	"true}"

BOTH(landlock_refuses_writes_outside_the_roots)
{
	char *ws = sbx_ws("ws", uid), *outside = sbx_ws("outside", uid), *made;
	char *cmd[] = {"python3", "-c",
	               "import os\n"
	               "try:\n"
	               "    os.close(os.open('planted', os.O_CREAT | os.O_WRONLY, dir_fd=3))\n"
	               "    print('WROTE')\n"
	               "except OSError as e:\n"
	               "    print('refused', e.errno)\n",
	               NULL};
	char *no_ll[] = {"--no-landlock", NULL};
	struct test_run r;
	struct stat st;
	int fd;

	if (access("/usr/bin/python3", X_OK) != 0)
		SKIP("no python3");
	/* A directory outside every writable root, reached through a descriptor the command
	 * inherited: the mounts do not stop that (the descriptor is of the host's mount). */
	fd = open(outside, O_RDONLY | O_DIRECTORY);
	ASSERT(fd >= 0);
	if (fd != 3) {
		ASSERT_EQ(dup2(fd, 3), 3);
		close(fd);
	}
	made = xasprintf("%s/planted", outside);
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) < 2) {
		close(3);
		SKIP("this kernel has no Landlock (ABI 2 or later): writes hold by mounts alone");
	}
	ASSERT_EQ(sbx_run(&r, uid, ws, WW_NO_TMP, NULL, NULL, cmd), 0);
	ASSERT_CONTAINS(r.out, "refused 13");
	test_run_free(&r);
	ASSERT_EQ(stat(made, &st), -1);
	/* Without Landlock the write scope is gone: mounts alone (this is what it adds). */
	ASSERT_EQ(sbx_run(&r, uid, ws, WW_NO_TMP, NULL, no_ll, cmd), 0);
	ASSERT_CONTAINS(r.out, "WROTE");
	test_run_free(&r);
	close(3);
	free(made);
	free(outside);
	free(ws);
	return 0;
}

BOTH(host_sockets_hidden_when_the_network_is_shared)
{
	char *ws = sbx_ws("ws", uid), *dir = sbx_ws("ipc", uid);
	/* A space in the name: /proc/net/unix lists the path as the rest of the line. */
	char *sock = xasprintf("%s/host socket", dir), *keep = xasprintf("--host-socket=%s", sock);
	char *fs =
	    xasprintf("{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\","
	              "\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},{\"path\":{"
	              "\"type\":\"path\",\"path\":\"%s\"},\"access\":\"write\"}]}",
	              ws);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *exe = sbx_exe(), *probe = sbx_probe();
	struct test_run r;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock);
	ASSERT(lfd >= 0);
	ASSERT_EQ(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ASSERT_EQ(chmod(sock, 0777), 0);
	ASSERT_EQ(listen(lfd, 8), 0);
	for (int kept = 0; kept < 2; kept++) {
		char *argv[] = {exe,
		                "--sandbox-policy-cwd",
		                ws,
		                "--file-system-sandbox-policy",
		                fs,
		                "--network-sandbox-policy",
		                "\"enabled\"",
		                kept ? keep : "--no-proc",
		                "--",
		                probe,
		                "connect-unix",
		                sock,
		                NULL};
		/* (--no-proc stands in for "no extra flag" in the first run) */
		ASSERT_EQ(test_run(&r, argv, NULL, ws, NULL, uid, T), 0);
		if (kept)
			ASSERT_EQ(r.status, 0);
		else
			ASSERT_NE(r.status, 0);
		test_run_free(&r);
	}
	close(lfd);
	unlink(sock);
	free(exe);
	free(probe);
	free(fs);
	free(keep);
	free(sock);
	free(dir);
	free(ws);
	return 0;
}

BOTH(covers_left_by_a_killed_helper_break_nothing)
{
	char *ws = sbx_ws("ws", uid), *before = sbx_listing(ws), *p;
	struct test_run r;
	int status;
	struct stat st;

	/* SIGKILL: the helper cannot remove its covers; the kernel ends the sandbox. */
	pid_t a = sbx_spawn(uid, ws, "sleep 30");
	ASSERT(a > 0);
	for (int i = 0; i < 100; i++) {
		p = xasprintf("%s/.airlock", ws);
		bool made = stat(p, &st) == 0;
		free(p);
		if (made)
			break;
		usleep(50 * 1000);
	}
	usleep(200 * 1000);
	kill(a, SIGKILL);
	ASSERT_EQ(waitpid(a, &status, 0), a);
	/* What is left is harmless to the user's tools, airlock's rules reader and git. */
	char *cmd[] = {
	    "sh", "-c",
	    "cat .airlock/rules/default.rules 2>&1; ls .vscode >/dev/null && echo LS-OK; "
	    "git init -q . && echo GIT-INIT-OK",
	    NULL};
	ASSERT_EQ(test_run(&r, cmd, NULL, ws, NULL, uid, T), 0);
	ASSERT_NOT_CONTAINS(r.out, "Permission denied");
	ASSERT_CONTAINS(r.out, "No such file or directory");
	ASSERT_CONTAINS(r.out, "LS-OK");
	ASSERT_CONTAINS(r.out, "GIT-INIT-OK");
	test_run_free(&r);
	/* The next run anywhere on the host removes them (its journal names them). */
	p = xasprintf("%s/.git", ws);
	char *elsewhere = sbx_ws("elsewhere", uid);
	ASSERT_EQ(sbx_sh(&r, uid, elsewhere, WW, "true"), 0);
	test_run_free(&r);
	free(elsewhere);
	char *after = sbx_listing(ws), *want = xasprintf("%s.git\n", before);
	ASSERT_STR_EQ(after, want);
	free(want);
	free(after);
	free(p);
	free(before);
	free(ws);
	return 0;
}

BOTH(linked_worktree_common_dir_protected)
{
	char *top = sbx_ws("top", uid), *main_dir = xasprintf("%s/main", top);
	char *wt = xasprintf("%s/wt", top), *policy;
	struct test_run r;

	ASSERT_EQ(mkdir(main_dir, 0755), 0);
	if (uid != (uid_t)-1)
		ASSERT_EQ(chown(main_dir, uid, uid), 0);
	sbx_git_repo(uid, main_dir);
	char *add[] = {"git", "worktree", "add", "-q", wt, NULL};
	ASSERT_EQ(test_run(&r, add, NULL, main_dir, NULL, uid, T), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	/* The worktree is the workspace; the folder holding the main repository is writable. */
	policy = xasprintf("{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,"
	                   "\"exclude_tmpdir_env_var\":true,\"writable_roots\":[\"%s\"]}",
	                   top);
	ASSERT_EQ(
	    sbx_sh(&r, uid, wt, policy,
	           "git config core.fsmonitor 'touch PWNED' && echo WROTE-config; "
	           "touch ../main/.git/hooks/pre-commit && echo WROTE-hook; "
	           "mv ../main ../main-away && echo MOVED-main; "
	           "mv ../main/.git/worktrees ../main/.git/wt-away && echo MOVED-worktrees; "
	           "echo c > c && git add c && git commit -qm c && echo COMMITTED; echo DONE"),
	    0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_CONTAINS(r.out, "COMMITTED");
	ASSERT_NOT_CONTAINS(r.out, "WROTE");
	ASSERT_NOT_CONTAINS(r.out, "MOVED");
	test_run_free(&r);
	free(policy);
	free(wt);
	free(main_dir);
	free(top);
	return 0;
}

BOTH(paths_the_git_config_names_read_only)
{
	char *ws = sbx_ws("ws", uid), *p;
	struct test_run r;
	char *cfg[] = {"sh", "-c",
	               "git config core.hooksPath .husky && mkdir -p .husky && "
	               "git config include.path ../team.gitconfig && echo '[user]' > "
	               "team.gitconfig && git config --add include.path ../other.gitconfig",
	               NULL};

	sbx_git_repo(uid, ws);
	ASSERT_EQ(test_run(&r, cfg, NULL, ws, NULL, uid, T), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	ASSERT_EQ(
	    sbx_sh(&r, uid, ws, WW,
	           "echo 'touch PWNED' > .husky/pre-commit && echo WROTE-hook; "
	           "printf '[core]\\n\\tfsmonitor = touch PWNED\\n' >> team.gitconfig && "
	           "echo WROTE-include; echo x > other.gitconfig && echo WROTE-other; "
	           "echo b > b && git add b && git commit -qm b && echo COMMITTED; echo DONE"),
	    0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_CONTAINS(r.out, "COMMITTED");
	ASSERT_NOT_CONTAINS(r.out, "WROTE-hook");
	ASSERT_NOT_CONTAINS(r.out, "WROTE-include");
	ASSERT_NOT_CONTAINS(r.out, "WROTE-other");
	test_run_free(&r);
	p = xasprintf("%s/PWNED", ws);
	struct stat st;
	ASSERT_EQ(stat(p, &st), -1);
	free(p);
	free(ws);
	return 0;
}

BOTH(gitlink_to_an_embedded_repository_is_reported)
{
	char *ws = sbx_ws("ws", uid);
	struct test_run r;
	char *nested[] = {"sh", "-c",
	                  "mkdir old && cd old && git init -q . && git -c user.email=t@t -c "
	                  "user.name=t commit -q --allow-empty -m o",
	                  NULL};

	sbx_git_repo(uid, ws);
	ASSERT_EQ(test_run(&r, nested, NULL, ws, NULL, uid, T), 0);
	ASSERT_EQ(r.status, 0);
	test_run_free(&r);
	/* An existing repository registered as a gitlink: host git status enters it. */
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW, "git add old 2>/dev/null; echo DONE"), 0);
	ASSERT_CONTAINS(r.out, "DONE");
	ASSERT_CONTAINS(r.err, "old/.git (registered as a gitlink in the index of");
	test_run_free(&r);
	/* A run that leaves the index alone says nothing of it. */
	ASSERT_EQ(sbx_sh(&r, uid, ws, WW, "true"), 0);
	ASSERT_NOT_CONTAINS(r.err, "gitlink");
	test_run_free(&r);
	free(ws);
	return 0;
}

/* True when a process whose command line holds MARKER is running. */
static bool sbx_running_with(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		char path[300], buf[512];
		ssize_t n;
		int fd;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n > 0 ? n : 0] = '\0';
		found = strstr(buf, marker) != NULL;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

BOTH(sigterm_at_any_moment_ends_the_run)
{
	char *ws = sbx_ws("ws", uid), *before = sbx_listing(ws);

	/* SIGTERM while the helper still plans, forks bubblewrap, or runs the command:
	 * each time the helper ends, and takes the command and its covers with it. */
	for (int i = 0; i < 12; i++) {
		char *marker = xasprintf("30.%d%d", (int)getpid(), i);
		char *script = xasprintf("sleep %s", marker);
		pid_t a = sbx_spawn(uid, ws, script);
		int status = 0;
		ASSERT(a > 0);
		usleep((useconds_t)(i * 4000));
		kill(a, SIGTERM);
		for (int t = 0; t < 100 && waitpid(a, &status, WNOHANG) == 0; t++)
			usleep(50 * 1000);
		ASSERT(kill(a, 0) != 0 || errno != 0); /* reaped */
		usleep(200 * 1000);
		if (sbx_running_with(marker))
			fprintf(stderr, "  the command (sleep %s) outlived its helper\n", marker);
		ASSERT(!sbx_running_with(marker));
		free(script);
		free(marker);
	}
	char *after = sbx_listing(ws);
	ASSERT_STR_EQ(after, before);
	free(after);
	free(before);
	free(ws);
	return 0;
}
