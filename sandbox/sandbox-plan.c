/*
 * The plan: a pure function from (resolved policy, options, host facts) to
 * the exact bubblewrap argv, in the order SPEC section 3 gives.
 *
 * Mounts come in groups. Readable roots are read-only binds over either the
 * host root or an empty tmpfs root; then a fresh /dev; then writable roots;
 * then read entries nested inside writable ones (and whatever lies below
 * them, in path order, so nesting stays right); then protected subpaths;
 * then `none` paths and hidden directories. An entry whose access equals
 * that of the entry above it needs no mount. The plan never touches the
 * host: every question about the file system goes to struct sandbox_facts.
 *
 * Missing protected paths inside a writable root are covered (an empty
 * read-only tmpfs; /dev/null for a file inside .git) so they cannot be created;
 * bubblewrap creates the mount point on the host, so the plan lists it for
 * removal after the run. A symlink on the way to a protected path cannot be
 * covered by a mount (mounts follow it), so the plan refuses to run (fails
 * closed) and says which path to fix.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Compares the parent part of PATH with DIR. */
bool sandbox__is_child(const char *dir, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = strcmp(dir, "/") == 0 ? 0 : strlen(dir);

	return slash != NULL && (size_t)(slash - path) == n && strncmp(dir, path, n) == 0 &&
	       slash[1] != '\0';
}

/* Joins a directory and a name into a new path. */
char *sandbox__join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
}

/* Index of the most specific entry of RES at or above PATH (strictly above if STRICT), or -1. */
static int sandbox_plan_owner(const struct policy_resolved *res, const char *path, bool strict)
{
	int best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < res->n_entries; i++) {
		const char *p = res->entries[i].path;
		size_t len = strlen(p);
		if (!policy_path_is_under(p, path) || (strict && strcmp(p, path) == 0))
			continue;
		if (best < 0 || len > best_len) {
			best = (int)i;
			best_len = len;
		}
	}
	return best;
}

/* Finds the writable root that owns PATH, if any. */
const char *sandbox__writable_root(const struct policy_resolved *res,
                                   const struct sandbox_facts *facts, const char *path)
{
	int i;

	if (res->kind != POLICY_FS_RESTRICTED)
		return sandbox_facts_kind(facts, "/") == SANDBOX_DIR ? "/" : NULL;
	i = sandbox_plan_owner(res, path, false);
	if (i < 0 || res->entries[i].access != POLICY_ACCESS_WRITE ||
	    sandbox_facts_kind(facts, res->entries[i].path) != SANDBOX_DIR)
		return NULL;
	return res->entries[i].path;
}

/*
 * The names inside a git directory that redirect git, make it run code or
 * read another repository. Missing ones are covered by read-only files git
 * reads as nothing: an empty config, config.worktree or alternates, an
 * empty hooks directory, and a commondir of "." (this same directory; git
 * refuses an empty one). A linked worktree's git directory takes its config
 * and hooks from the common one, and always has its commondir.
 */
static const struct {
	const char *name;
	bool dir;
	enum sandbox_target how, worktree_how;
} sandbox_plan_git_names[] = {
    {"config", false, SANDBOX_TARGET_RO, SANDBOX_TARGET_RO_PRESENT},
    {"config.worktree", false, SANDBOX_TARGET_RO, SANDBOX_TARGET_RO},
    {"commondir", false, SANDBOX_TARGET_RO, SANDBOX_TARGET_RO_PRESENT},
    {"hooks", true, SANDBOX_TARGET_RO, SANDBOX_TARGET_RO_PRESENT},
    {"objects/info/alternates", false, SANDBOX_TARGET_RO, SANDBOX_TARGET_RO_PRESENT},
};

/* Calls FN for PATH with the writable root it lies under. */
static int sandbox_plan_emit(const struct sandbox_plan_in *in, const struct sandbox_facts *facts,
                             const char *path, bool dir, enum sandbox_target how,
                             sandbox_target_fn fn, void *ctx)
{
	return fn(ctx, path, dir, how, sandbox__writable_root(in->res, facts, path));
}

/*
 * Emits the protected items of git directory G: its redirecting names, then
 * `modules` and `worktrees` read-only (no new entry can appear in them) with
 * each existing entry pinned writable and protected the same way, nested.
 */
static int sandbox_plan_git_items(const struct sandbox_plan_in *in,
                                  const struct sandbox_facts *facts, const char *g, int depth,
                                  bool worktree, sandbox_target_fn fn, void *ctx)
{
	static const char *const subs[] = {"modules", "worktrees"};
	int rc = 0;

	char *info = sandbox__join(g, "objects/info");
	/* Never cover a missing object directory: git writes there. */
	bool has_info = sandbox_facts_kind(facts, info) == SANDBOX_DIR;

	free(info);
	for (size_t i = 0;
	     rc == 0 && i < sizeof sandbox_plan_git_names / sizeof sandbox_plan_git_names[0]; i++) {
		char *p = sandbox__join(g, sandbox_plan_git_names[i].name);
		enum sandbox_target how = worktree ? sandbox_plan_git_names[i].worktree_how
		                                   : sandbox_plan_git_names[i].how;
		if (strchr(sandbox_plan_git_names[i].name, '/') != NULL && !has_info)
			how = SANDBOX_TARGET_RO_PRESENT;
		rc = sandbox_plan_emit(in, facts, p, sandbox_plan_git_names[i].dir, how, fn, ctx);
		free(p);
	}
	/* What the config points git at: hooks kept in the worktree, included files (a
	 * missing one is covered by an empty file: git refuses a directory there). */
	for (size_t i = 0; rc == 0 && i < facts->n_git_refs; i++) {
		const struct sandbox_git_ref *r = &facts->git_refs[i];
		if (strcmp(r->gitdir, g) == 0)
			rc = sandbox_plan_emit(in, facts, r->path, r->dir,
			                       r->dir ? SANDBOX_TARGET_RO : SANDBOX_TARGET_RO_FILE,
			                       fn, ctx);
	}
	if (depth > 4 || worktree || sandbox_facts_kind(facts, g) != SANDBOX_DIR)
		return rc;
	for (size_t s = 0; rc == 0 && s < 2; s++) {
		char *sub = sandbox__join(g, subs[s]);
		rc = sandbox_plan_emit(in, facts, sub, true, SANDBOX_TARGET_RO, fn, ctx);
		for (size_t i = 0; rc == 0 && i < facts->n; i++) {
			const struct sandbox_fact *e = &facts->v[i];
			if (e->kind != SANDBOX_DIR || !sandbox__is_child(sub, e->path))
				continue;
			char *child = xstrdup(e->path); /* FN may grow the table */
			rc = sandbox_plan_emit(in, facts, child, true, SANDBOX_TARGET_PIN, fn, ctx);
			if (rc == 0)
				rc = sandbox_plan_git_items(in, facts, child, depth + 1, s == 1, fn,
				                            ctx);
			free(child);
		}
		free(sub);
	}
	return rc;
}

/* True when the directory G looks like a git directory (it has HEAD). */
static bool sandbox_plan_is_repo(const struct sandbox_facts *facts, const char *g)
{
	char *head = sandbox__join(g, "HEAD");
	bool repo = sandbox_facts_kind(facts, head) != SANDBOX_MISSING;

	free(head);
	return repo;
}

/* True when the git directory G is a linked worktree's (it has a commondir). */
static bool sandbox_plan_is_worktree(const struct sandbox_facts *facts, const char *g)
{
	char *p = sandbox__join(g, "commondir");
	bool wt = sandbox_facts_kind(facts, p) == SANDBOX_FILE;

	free(p);
	return wt;
}

/* True when the directory W is itself a bare repository (HEAD, objects and refs at its top). */
static bool sandbox_plan_is_bare(const struct sandbox_facts *facts, const char *w)
{
	static const char *const names[] = {"HEAD", "objects", "refs"};
	bool bare = true;

	for (size_t i = 0; bare && i < 3; i++) {
		char *p = sandbox__join(w, names[i]);
		bare = sandbox_facts_kind(facts, p) != SANDBOX_MISSING;
		free(p);
	}
	return bare;
}

/*
 * Pins every directory from the writable root above G down to G itself, so
 * that no part of the way to a git dir the plan protects can be renamed
 * (and another put in its place).
 */
static int sandbox_plan_pin_chain(const struct sandbox_plan_in *in,
                                  const struct sandbox_facts *facts, const char *g,
                                  sandbox_target_fn fn, void *ctx)
{
	const char *root = sandbox__writable_root(in->res, facts, g);
	size_t rl;
	char *p;
	int rc = 0;

	if (root == NULL)
		return 0;
	rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	p = xstrdup(g);
	for (char *s = p + rl + 1; rc == 0 && s <= p + strlen(g); s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		rc = fn(ctx, p, true, SANDBOX_TARGET_PIN, root);
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/*
 * Protects the git dir G that a `.git` file names. A linked worktree's git
 * dir takes its config and hooks from the common git dir its commondir
 * names: that one is protected whole, G among its worktrees (its
 * `worktrees` directory is made read-only first and G pinned after, so the
 * order matters).
 */
static int sandbox_plan_linked_gitdir(const struct sandbox_plan_in *in,
                                      const struct sandbox_facts *facts, const char *g,
                                      sandbox_target_fn fn, void *ctx)
{
	bool worktree = sandbox_plan_is_worktree(facts, g);
	char *cd = sandbox__join(g, "commondir");
	const char *named = worktree ? sandbox_facts_gitdir(facts, cd) : NULL;
	char *common = named != NULL && sandbox_facts_kind(facts, named) == SANDBOX_DIR
	                   ? xstrdup(named)
	                   : NULL;
	char *wts = common != NULL ? sandbox__join(common, "worktrees") : NULL;
	int rc = 0;

	free(cd);
	if (common != NULL) {
		rc = sandbox_plan_pin_chain(in, facts, common, fn, ctx);
		if (rc == 0)
			rc = sandbox_plan_git_items(in, facts, common, 0, false, fn, ctx);
	}
	if (rc == 0 && (wts == NULL || !sandbox__is_child(wts, g))) {
		rc = sandbox_plan_pin_chain(in, facts, g, fn, ctx);
		if (rc == 0)
			rc = sandbox_plan_git_items(in, facts, g, 0, worktree, fn, ctx);
	}
	free(wts);
	free(common);
	return rc;
}

/* Emits the protected targets under writable root W. */
static int sandbox_plan_root_targets(const struct sandbox_plan_in *in,
                                     const struct sandbox_facts *facts, const char *w,
                                     sandbox_target_fn fn, void *ctx)
{
	char *dotgit = sandbox__join(w, ".git");
	enum sandbox_kind k = sandbox_facts_kind(facts, dotgit);
	const char *gitdir = sandbox_facts_gitdir(facts, dotgit);
	bool full = in->git == SANDBOX_GIT_FULL;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < policy_n_protected_names; i++) {
		char *p = sandbox__join(w, policy_protected_names[i].name);
		rc = fn(ctx, p, policy_protected_names[i].dir, SANDBOX_TARGET_RO, w);
		free(p);
	}
	if (rc == 0 && k == SANDBOX_FILE) {
		/* The .git file itself, so it cannot be pointed elsewhere. */
		rc = fn(ctx, dotgit, false, SANDBOX_TARGET_RO, w);
		if (rc == 0 && gitdir != NULL && full)
			rc = sandbox_plan_emit(in, facts, gitdir, true, SANDBOX_TARGET_RO, fn, ctx);
		else if (rc == 0 && gitdir != NULL)
			rc = sandbox_plan_linked_gitdir(in, facts, gitdir, fn, ctx);
	} else if (rc == 0 && k == SANDBOX_DIR && !full && sandbox_plan_is_repo(facts, dotgit)) {
		/* Pinned in place, so it can be neither renamed nor replaced. */
		rc = fn(ctx, dotgit, true, SANDBOX_TARGET_PIN, w);
		if (rc == 0)
			rc = sandbox_plan_git_items(in, facts, dotgit, 0, false, fn, ctx);
	} else if (rc == 0 && k != SANDBOX_MISSING) {
		/* Full protection, or a .git directory without HEAD (no repository to git;
		 * say, a mount point another sandbox left behind): read-only whole. A missing
		 * .git is left to the check after the run, so `git init` works inside. */
		rc = fn(ctx, dotgit, true, SANDBOX_TARGET_RO, w);
	}
	/* A workspace that is itself a bare repository. */
	if (rc == 0 && k == SANDBOX_MISSING && sandbox_plan_is_bare(facts, w))
		rc = full ? fn(ctx, w, true, SANDBOX_TARGET_RO, w)
		          : sandbox_plan_git_items(in, facts, w, 0, false, fn, ctx);
	for (size_t i = 0; rc == 0 && i < in->n_protected_paths; i++) {
		const char *pp = in->protected_paths[i];
		char *p = pp[0] == '/' ? xstrdup(pp) : sandbox__join(w, pp);
		if (policy_path_is_under(w, p))
			rc = fn(ctx, p, true, SANDBOX_TARGET_RO, w);
		free(p);
	}
	free(dotgit);
	return rc;
}

/* Walks every writable root and option for the paths to keep read-only. */
int sandbox__protected_targets(const struct sandbox_plan_in *in, const struct sandbox_facts *facts,
                               sandbox_target_fn fn, void *ctx)
{
	const struct policy_resolved *res = in->res;
	int rc = 0;

	if (res->kind == POLICY_FS_RESTRICTED) {
		for (size_t i = 0; rc == 0 && i < res->n_entries; i++) {
			const char *w = res->entries[i].path;
			if (res->entries[i].access == POLICY_ACCESS_WRITE &&
			    sandbox_facts_kind(facts, w) == SANDBOX_DIR)
				rc = sandbox_plan_root_targets(in, facts, w, fn, ctx);
		}
	}
	for (size_t i = 0; rc == 0 && i < in->n_protect_home; i++)
		rc = sandbox_plan_emit(in, facts, in->protect_home[i], true, SANDBOX_TARGET_RO, fn,
		                       ctx);
	return rc;
}

/* Appends one argument to the plan. */
static void sandbox_plan_add(struct sandbox_plan *plan, const char *arg)
{
	if (plan->argc + 2 > plan->cap) {
		plan->cap = plan->cap ? plan->cap * 2 : 64;
		plan->argv = xreallocarray(plan->argv, plan->cap, sizeof *plan->argv);
	}
	plan->argv[plan->argc++] = xstrdup(arg);
	plan->argv[plan->argc] = NULL;
}

/* Appends OP SRC DEST (or OP DEST when SRC is NULL). */
static void sandbox_plan_op(struct sandbox_plan *plan, const char *op, const char *src,
                            const char *dest)
{
	sandbox_plan_add(plan, op);
	if (src != NULL)
		sandbox_plan_add(plan, src);
	sandbox_plan_add(plan, dest);
}

/* Appends an empty read-only directory over PATH, with MODE ("0555", "0000") or bwrap's default. */
static void sandbox_plan_empty_dir(struct sandbox_plan *plan, const char *path, const char *mode)
{
	if (mode != NULL)
		sandbox_plan_op(plan, "--perms", NULL, mode);
	sandbox_plan_op(plan, "--tmpfs", NULL, path);
	sandbox_plan_op(plan, "--remount-ro", NULL, path);
}

/* Remembers PATH for removal after the run (bubblewrap creates it as a mount point). */
static void sandbox_plan_cleanup(struct sandbox_plan *plan, const char *path)
{
	for (size_t i = 0; i < plan->n_cleanup; i++)
		if (strcmp(plan->cleanup[i], path) == 0)
			return;
	plan->cleanup = xreallocarray(plan->cleanup, plan->n_cleanup + 1, sizeof *plan->cleanup);
	plan->cleanup[plan->n_cleanup++] = xstrdup(path);
}

/* State of the protected-path pass. */
struct sandbox_plan_protect {
	struct sandbox_plan *plan;
	const struct sandbox_facts *facts;
	char **done; /* targets already made read-only; a path below one is skipped */
	size_t n_done;
	char **pins; /* pinned (writable) targets: below a done target, they reopen it */
	size_t n_pins;
	char **cause;
};

/* True when TARGET lies in a read-only target already made, with no pin between. */
static bool sandbox_plan_covered(const struct sandbox_plan_protect *st, const char *target)
{
	for (size_t i = 0; i < st->n_done; i++) {
		bool reopened = false;
		if (!policy_path_is_under(st->done[i], target))
			continue;
		for (size_t j = 0; !reopened && j < st->n_pins; j++)
			reopened = strcmp(st->pins[j], st->done[i]) != 0 &&
			           policy_path_is_under(st->done[i], st->pins[j]) &&
			           policy_path_is_under(st->pins[j], target);
		if (!reopened)
			return true;
	}
	return false;
}

/*
 * Records that PATH was made read-only (or covered): the pins below it are
 * hidden now, and may be made again on top.
 */
static void sandbox_plan_closed(struct sandbox_plan_protect *st, const char *path)
{
	size_t kept = 0;

	sandbox_facts_list_add(&st->done, &st->n_done, path);
	for (size_t i = 0; i < st->n_pins; i++) {
		if (strcmp(st->pins[i], path) != 0 && policy_path_is_under(path, st->pins[i]))
			free(st->pins[i]);
		else
			st->pins[kept++] = st->pins[i];
	}
	st->n_pins = kept;
}

/* True when PATH has a component named .git below its first RL bytes (its root). */
static bool sandbox_plan_inside_git(const char *path, size_t rl)
{
	for (const char *s = strstr(path + rl, "/.git"); s != NULL; s = strstr(s + 1, "/.git"))
		if (s[5] == '/')
			return true;
	return false;
}

/*
 * Covers the missing path P (a file when FILE) so that it cannot be created;
 * AS_FILE: a file is covered by a file wherever it lies.
 */
static void sandbox_plan_cover(struct sandbox_plan_protect *st, const char *p, bool file, size_t rl,
                               bool as_file)
{
	/* A missing file is covered by an empty read-only directory: git ignores those
	 * (it refuses to add a device, so a /dev/null cover would break `git add -A`).
	 * Inside .git, where git reads the file (config), the cover is a read-only file
	 * bound onto itself (sandbox-covers.c makes it, readable, empty or "."). */
	if (file && (as_file || sandbox_plan_inside_git(p, rl)))
		sandbox_plan_op(st->plan, "--ro-bind", p, p);
	else
		sandbox_plan_empty_dir(st->plan, p, NULL);
	sandbox_plan_cleanup(st->plan, p);
}

/*
 * Protects one target as HOW says: read-only (or its first missing component
 * covered), read-only only when present, or pinned in place. A symlink on the
 * way fails the plan: a mount follows it, so neither could be kept.
 */
static int sandbox_plan_protect_one(void *ctx, const char *target, bool dir,
                                    enum sandbox_target how, const char *root)
{
	struct sandbox_plan_protect *st = ctx;
	size_t rl;
	char *p;
	int rc = 0;
	bool made = false;

	/* A pin reopens what a read-only target above it closed (an entry of .git/modules). */
	if (root == NULL || (how != SANDBOX_TARGET_PIN && sandbox_plan_covered(st, target)))
		return 0; /* not writable inside, or read-only already */
	rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strlen(target) <= rl + 1) {
		/* The writable root itself (or "/"): all of it read-only; a root is pinned. */
		if (how != SANDBOX_TARGET_PIN) {
			sandbox_plan_op(st->plan, "--ro-bind", target, target);
			sandbox_plan_closed(st, target);
		}
		return 0;
	}
	p = xstrdup(target);
	for (char *s = p + rl + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		enum sandbox_kind k = sandbox_facts_kind(st->facts, p);
		if (k == SANDBOX_SYMLINK) {
			*st->cause =
			    xasprintf("%s is a symbolic link inside the writable root %s, so "
			              "%s cannot be kept read-only; replace the link with a "
			              "real %s (or remove it) and run again",
			              p, root, target, c == '\0' && !dir ? "file" : "directory");
			rc = -ELOOP;
			break;
		}
		if (k == SANDBOX_MISSING) {
			/* Only where this user could create it (the parent's mode bits): else
			 * the command cannot either, and bubblewrap could not make the mount
			 * point. */
			char *slash = strrchr(p, '/');
			*slash = '\0';
			bool creatable = sandbox_facts_creatable(st->facts, *p ? p : "/");
			*slash = '/';
			if (creatable &&
			    (how == SANDBOX_TARGET_RO || how == SANDBOX_TARGET_RO_FILE)) {
				sandbox_plan_cover(st, p, c == '\0' && !dir, rl,
				                   how == SANDBOX_TARGET_RO_FILE);
				made = true;
			}
			break;
		}
		if (c == '\0') {
			if (how == SANDBOX_TARGET_PIN) {
				/* A directory the plan made read-only stays so (a pin reopens
				 * only what lies below one: an entry of .git/worktrees), and a
				 * pin in sight is not made again: a second bind from the host
				 * would hide every mount made inside the first. */
				bool skip = false;
				for (size_t i = 0; !skip && i < st->n_done; i++)
					skip = strcmp(st->done[i], p) == 0;
				for (size_t i = 0; !skip && i < st->n_pins; i++)
					skip = strcmp(st->pins[i], p) == 0;
				if (k == SANDBOX_DIR && !skip) {
					sandbox_plan_op(st->plan, "--bind", p, p);
					sandbox_facts_list_add(&st->pins, &st->n_pins, p);
					sandbox_facts_list_add(&st->plan->git_dirs,
					                       &st->plan->n_git_dirs, p);
				}
			} else {
				sandbox_plan_op(st->plan, "--ro-bind", p, p);
				made = true;
			}
			break;
		}
		if (k != SANDBOX_DIR)
			break; /* a file on the way: the target cannot exist */
		*s = c;
	}
	if (made)
		sandbox_plan_closed(st, p);
	free(p);
	return rc;
}

/* Kernel file systems mounted inside a writable root (a sysfs, a proc): read-only. */
static void sandbox_plan_kernel_mounts(const struct sandbox_plan_in *in,
                                       const struct sandbox_facts *facts, struct sandbox_plan *plan)
{
	for (size_t i = 0; i < facts->n_kernel_mounts; i++) {
		const char *m = facts->kernel_mounts[i];
		bool below = false;
		/* /proc and /dev are the sandbox's own. */
		if (policy_path_is_under("/proc", m) || policy_path_is_under("/dev", m) ||
		    sandbox__writable_root(in->res, facts, m) == NULL ||
		    policy_resolved_access(in->res, m) != POLICY_ACCESS_WRITE)
			continue;
		/* A read-only bind is recursive: one at the top of a tree of them is enough. */
		for (size_t j = 0; !below && j < facts->n_kernel_mounts; j++)
			below = j != i && policy_path_is_under(facts->kernel_mounts[j], m) &&
			        strcmp(facts->kernel_mounts[j], m) != 0 &&
			        !policy_path_is_under("/proc", facts->kernel_mounts[j]) &&
			        !policy_path_is_under("/dev", facts->kernel_mounts[j]) &&
			        policy_resolved_access(in->res, facts->kernel_mounts[j]) ==
			            POLICY_ACCESS_WRITE;
		if (!below)
			sandbox_plan_op(plan, "--ro-bind", m, m);
	}
}

/* True when PATH is one of the host sockets the user keeps, or holds one. */
static bool sandbox_plan_keeps(const struct sandbox_plan_in *in, const char *path)
{
	for (size_t i = 0; i < in->n_keep_sockets; i++)
		if (policy_path_is_under(path, in->keep_sockets[i]))
			return true;
	return false;
}

/*
 * With the network shared and the file system restricted, the host's IPC
 * stays closed: its IPC directories become empty tmpfs, and every other
 * Unix socket bound to a path (tmux's, ssh-agent's, D-Bus's, docker's...)
 * gets /dev/null over it, unless --host-socket keeps it. (Under `restricted`
 * and `proxy` the filter already denies connect() and AF_UNIX sockets.)
 */
/* True when the host IPC directory DIR is hidden whole (an empty tmpfs) by the plan. */
static bool sandbox_plan_ipc_hidden(const struct sandbox_plan_in *in, const char *dir)
{
	return !sandbox_plan_keeps(in, dir) &&
	       policy_resolved_access(in->res, dir) != POLICY_ACCESS_NONE;
}

static void sandbox_plan_host_ipc(const struct sandbox_plan_in *in,
                                  const struct sandbox_facts *facts, struct sandbox_plan *plan)
{
	for (size_t i = 0; i < facts->n_ipc_dirs; i++)
		if (sandbox_plan_ipc_hidden(in, facts->ipc_dirs[i]))
			sandbox_plan_empty_dir(plan, facts->ipc_dirs[i], "0000");
	for (size_t i = 0; i < facts->n_host_sockets; i++) {
		const char *s = facts->host_sockets[i];
		bool hidden = false;
		for (size_t j = 0; !hidden && j < facts->n_ipc_dirs; j++)
			hidden = policy_path_is_under(facts->ipc_dirs[j], s) &&
			         sandbox_plan_ipc_hidden(in, facts->ipc_dirs[j]);
		if (!hidden && !sandbox_plan_keeps(in, s) &&
		    policy_resolved_access(in->res, s) != POLICY_ACCESS_NONE)
			sandbox_plan_op(plan, "--ro-bind", "/dev/null", s);
	}
}

/*
 * The kernel's writable knobs under the sandbox's /proc, bound read-only:
 * as root, writing /proc/sys (core_pattern, ...) would change the host.
 */
static const char *const sandbox_plan_proc_knobs[] = {
    "/proc/sys",  "/proc/sysrq-trigger", "/proc/irq",  "/proc/bus",    "/proc/fs",
    "/proc/acpi", "/proc/scsi",          "/proc/mtrr", "/proc/driver",
};

/* The access of the entry above entry I (-1: nothing above, i.e. not visible). */
static int sandbox_plan_parent_access(const struct policy_resolved *res, size_t i)
{
	int j = sandbox_plan_owner(res, res->entries[i].path, true);

	return j < 0 ? -1 : (int)res->entries[j].access;
}

/* True when PATH exists in a shape that can be bound (directory, file, device, symlink). */
static bool sandbox_plan_bindable(const struct sandbox_facts *facts, const char *path)
{
	enum sandbox_kind k = sandbox_facts_kind(facts, path);

	/* A symlink is bound through (bubblewrap follows the source), e.g. /bin -> usr/bin. */
	return k == SANDBOX_DIR || k == SANDBOX_FILE || k == SANDBOX_OTHER || k == SANDBOX_SYMLINK;
}

/* The file-system part of a restricted policy (SPEC 3, step 2). */
static int sandbox_plan_restricted(const struct sandbox_plan_in *in,
                                   const struct sandbox_facts *facts, struct sandbox_plan *plan,
                                   char **cause)
{
	const struct policy_resolved *res = in->res;
	size_t n = res->n_entries;
	bool *late = xcalloc(n + 1, sizeof *late);
	int root = -1, rc = 0;

	for (size_t i = 0; i < n; i++) {
		int j = sandbox_plan_owner(res, res->entries[i].path, true);
		if (strcmp(res->entries[i].path, "/") == 0)
			root = (int)res->entries[i].access;
		if (j >= 0 && res->entries[j].access == POLICY_ACCESS_NONE &&
		    res->entries[i].access != POLICY_ACCESS_NONE) {
			*cause = xasprintf("%s: a %s path inside the none path %s is not supported",
			                   res->entries[i].path,
			                   policy_access_name(res->entries[i].access),
			                   res->entries[j].path);
			free(late);
			return -EINVAL;
		}
		/* Read inside write, and everything below such an entry, is mounted late. */
		late[i] = j >= 0 && (late[j] || (res->entries[i].access == POLICY_ACCESS_READ &&
		                                 res->entries[j].access == POLICY_ACCESS_WRITE));
	}
	if (root == POLICY_ACCESS_READ)
		sandbox_plan_op(plan, "--ro-bind", "/", "/");
	else if (root == POLICY_ACCESS_WRITE)
		sandbox_plan_op(plan, "--bind", "/", "/");
	else
		sandbox_plan_op(plan, "--tmpfs", NULL, "/");
	for (size_t i = 0; i < n; i++) {
		const struct policy_resolved_entry *e = &res->entries[i];
		if (strcmp(e->path, "/") != 0 && !late[i] && e->access == POLICY_ACCESS_READ &&
		    sandbox_plan_parent_access(res, i) != POLICY_ACCESS_READ &&
		    sandbox_plan_bindable(facts, e->path))
			sandbox_plan_op(plan, "--ro-bind", e->path, e->path);
	}
	sandbox_plan_op(plan, "--dev", NULL, "/dev");
	for (size_t i = 0; i < n; i++) {
		const struct policy_resolved_entry *e = &res->entries[i];
		if (strcmp(e->path, "/") != 0 && !late[i] && e->access == POLICY_ACCESS_WRITE &&
		    sandbox_plan_parent_access(res, i) != POLICY_ACCESS_WRITE &&
		    sandbox_plan_bindable(facts, e->path))
			sandbox_plan_op(plan, "--bind", e->path, e->path);
	}
	for (size_t i = 0; i < n; i++) {
		const struct policy_resolved_entry *e = &res->entries[i];
		if (late[i] && e->access != POLICY_ACCESS_NONE &&
		    (int)e->access != sandbox_plan_parent_access(res, i) &&
		    sandbox_plan_bindable(facts, e->path))
			sandbox_plan_op(plan,
			                e->access == POLICY_ACCESS_WRITE ? "--bind" : "--ro-bind",
			                e->path, e->path);
	}
	free(late);
	(void)rc;
	return 0;
}

/* The `none` entries of a restricted policy: empty, unreadable in their place. */
static int sandbox_plan_none(const struct sandbox_plan_in *in, const struct sandbox_facts *facts,
                             struct sandbox_plan *plan, char **cause)
{
	const struct policy_resolved *res = in->res;

	for (size_t i = 0; i < res->n_entries; i++) {
		const struct policy_resolved_entry *e = &res->entries[i];
		int above = sandbox_plan_parent_access(res, i);
		if (e->access != POLICY_ACCESS_NONE || above < 0 || above == POLICY_ACCESS_NONE)
			continue; /* not visible anyway */
		switch (sandbox_facts_kind(facts, e->path)) {
		case SANDBOX_DIR:
			sandbox_plan_empty_dir(plan, e->path, "0000");
			break;
		case SANDBOX_FILE:
		case SANDBOX_OTHER:
			sandbox_plan_op(plan, "--ro-bind", "/dev/null", e->path);
			break;
		case SANDBOX_SYMLINK:
			*cause =
			    xasprintf("%s (access none) is a symbolic link; name its target in "
			              "the policy instead",
			              e->path);
			return -ELOOP;
		case SANDBOX_MISSING:
			/* Only a writable parent could create it: keep the name taken. */
			if (above == POLICY_ACCESS_WRITE) {
				sandbox_plan_empty_dir(plan, e->path, "0000");
				sandbox_plan_cleanup(plan, e->path);
			}
			break;
		}
	}
	return 0;
}

/* The --hide directories: an empty read-only tmpfs over each visible one. */
static void sandbox_plan_hide(const struct sandbox_plan_in *in, const struct sandbox_facts *facts,
                              struct sandbox_plan *plan)
{
	for (size_t i = 0; i < in->n_hide; i++) {
		const char *d = in->hide[i];
		bool inside_hidden = false;
		for (size_t j = 0; !inside_hidden && j < facts->n_ipc_dirs; j++)
			inside_hidden = policy_path_is_under(facts->ipc_dirs[j], d) &&
			                sandbox_plan_ipc_hidden(in, facts->ipc_dirs[j]);
		if (inside_hidden)
			continue; /* under an empty tmpfs already (and nothing can be made there) */
		enum sandbox_kind k = sandbox_facts_kind(facts, d);
		bool writable = sandbox__writable_root(in->res, facts, d) != NULL;
		if (policy_resolved_access(in->res, d) == POLICY_ACCESS_NONE)
			continue;
		if (k == SANDBOX_DIR) {
			sandbox_plan_empty_dir(plan, d, "0000");
		} else if (k == SANDBOX_MISSING && writable) {
			sandbox_plan_empty_dir(plan, d, "0000");
			sandbox_plan_cleanup(plan, d);
		} else if (k == SANDBOX_FILE || k == SANDBOX_OTHER) {
			sandbox_plan_op(plan, "--ro-bind", "/dev/null", d);
		}
	}
}

/* Builds the bubblewrap argv: session, file system, namespaces, inner stage. */
int sandbox_plan_build(const struct sandbox_plan_in *in, const struct sandbox_facts *facts,
                       struct sandbox_plan *plan, char **cause)
{
	const struct policy_resolved *res = in->res;
	struct sandbox_plan_protect st = {.plan = plan, .facts = facts, .cause = cause};
	char *net;
	int rc = 0;

	memset(plan, 0, sizeof *plan);
	/* 1. session */
	sandbox_plan_add(plan, "--new-session");
	sandbox_plan_add(plan, "--die-with-parent");
	/* 2. file system */
	if (res->kind == POLICY_FS_RESTRICTED) {
		rc = sandbox_plan_restricted(in, facts, plan, cause);
	} else {
		sandbox_plan_op(plan, "--bind", "/", "/");
		sandbox_plan_op(plan, "--dev", NULL, "/dev");
	}
	if (rc == 0)
		rc = sandbox__protected_targets(in, facts, sandbox_plan_protect_one, &st);
	for (size_t i = 0; rc == 0 && res->kind == POLICY_FS_RESTRICTED && i < res->n_entries;
	     i++) {
		const char *w = res->entries[i].path;
		if (res->entries[i].access != POLICY_ACCESS_WRITE ||
		    sandbox_facts_kind(facts, w) != SANDBOX_DIR)
			continue;
		sandbox_facts_list_add(&plan->write_roots, &plan->n_write_roots, w);
		if (sandbox_plan_is_bare(facts, w))
			sandbox_facts_list_add(&plan->git_dirs, &plan->n_git_dirs, w);
	}
	for (size_t i = 0; i < st.n_done; i++)
		free(st.done[i]);
	free(st.done);
	for (size_t i = 0; i < st.n_pins; i++)
		free(st.pins[i]);
	free(st.pins);
	if (rc == 0 && res->kind == POLICY_FS_RESTRICTED)
		rc = sandbox_plan_none(in, facts, plan, cause);
	if (rc < 0) {
		sandbox_plan_free(plan);
		return rc;
	}
	sandbox_plan_kernel_mounts(in, facts, plan);
	sandbox_plan_host_ipc(in, facts, plan);
	sandbox_plan_hide(in, facts, plan);
	if (in->exe != NULL && policy_resolved_access(res, in->exe) == POLICY_ACCESS_NONE)
		sandbox_plan_op(plan, "--ro-bind", in->exe, in->exe);
	/* 3. namespaces, /proc, capabilities */
	sandbox_plan_add(plan, "--unshare-user");
	sandbox_plan_add(plan, "--unshare-pid");
	sandbox_plan_add(plan, "--unshare-ipc");
	sandbox_plan_add(plan, "--unshare-uts");
	if (res->net != POLICY_NET_ENABLED)
		sandbox_plan_add(plan, "--unshare-net");
	if (!in->no_proc) {
		sandbox_plan_op(plan, "--proc", NULL, "/proc");
		for (size_t i = 0;
		     i < sizeof sandbox_plan_proc_knobs / sizeof *sandbox_plan_proc_knobs; i++)
			sandbox_plan_op(plan, "--ro-bind-try", sandbox_plan_proc_knobs[i],
			                sandbox_plan_proc_knobs[i]);
		if (in->hide_pid1)
			sandbox_plan_op(plan, "--tmpfs", NULL, "/proc/1");
	} else {
		/* No proc of its own: never the host's (every process, every command line). */
		sandbox_plan_empty_dir(plan, "/proc", "0555");
	}
	sandbox_plan_op(plan, "--cap-drop", NULL, "ALL");
	if (in->command_cwd != NULL)
		sandbox_plan_op(plan, "--chdir", NULL, in->command_cwd);
	/* 4. the inner stage */
	sandbox_plan_add(plan, "--");
	sandbox_plan_add(plan, in->exe);
	sandbox_plan_add(plan, "--apply-seccomp-then-exec");
	net = policy_net_to_json(res->net);
	sandbox_plan_op(plan, "--network-sandbox-policy", NULL, net);
	free(net);
	if (res->kind == POLICY_FS_RESTRICTED)
		sandbox_plan_add(plan, "--fs-restricted");
	if (in->hide_pid1)
		sandbox_plan_add(plan, "--no-landlock"); /* pid 1 hidden instead of scoped */
	for (size_t i = 0; in->landlock && res->kind == POLICY_FS_RESTRICTED && i < res->n_entries;
	     i++)
		if (res->entries[i].access == POLICY_ACCESS_WRITE &&
		    sandbox_plan_bindable(facts, res->entries[i].path))
			sandbox_plan_op(plan, "--write-root", NULL, res->entries[i].path);
	sandbox_plan_add(plan, "--");
	for (size_t i = 0; in->command[i] != NULL; i++)
		sandbox_plan_add(plan, in->command[i]);
	return 0;
}

/* Frees the plan and zeroes it. */
void sandbox_plan_free(struct sandbox_plan *plan)
{
	for (size_t i = 0; i < plan->argc; i++)
		free(plan->argv[i]);
	free(plan->argv);
	for (size_t i = 0; i < plan->n_cleanup; i++)
		free(plan->cleanup[i]);
	free(plan->cleanup);
	for (size_t i = 0; i < plan->n_git_dirs; i++)
		free(plan->git_dirs[i]);
	free(plan->git_dirs);
	for (size_t i = 0; i < plan->n_write_roots; i++)
		free(plan->write_roots[i]);
	free(plan->write_roots);
	memset(plan, 0, sizeof *plan);
}
