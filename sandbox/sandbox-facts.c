/*
 * The host file-system facts the plan depends on, gathered before planning.
 *
 * The plan (sandbox-plan.c) is a pure function; whatever it needs to know
 * about the host (does a path exist, is it a directory, a file or a symlink,
 * where does a `.git` file point, which submodules and worktrees a git
 * directory has) is looked up in a table filled here with lstat, readdir and
 * one read per `.git` file. Gathering asks the same generator the plan uses
 * for protected paths (sandbox__protected_targets), so the two cannot drift.
 * A path the table does not hold counts as missing.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SANDBOX_GITDIR_MAX       4096 /* longest `.git` file read */
#define SANDBOX_GIT_CHILDREN_MAX 256  /* submodules/worktrees looked at per git dir */
#define SANDBOX_GIT_DEPTH_MAX    4    /* nesting of submodules followed */
#define SANDBOX_GIT_REFS_MAX     32   /* paths taken from one git config */

/* Finds PATH's slot in the table, or NULL. */
static struct sandbox_fact *sandbox_facts_find(const struct sandbox_facts *f, const char *path)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].path, path) == 0)
			return &f->v[i];
	return NULL;
}

/* Records one fact, replacing an older one for the same path. */
void sandbox_facts_set(struct sandbox_facts *f, const char *path, enum sandbox_kind kind,
                       const char *gitdir)
{
	struct sandbox_fact *e = sandbox_facts_find(f, path);

	if (e == NULL) {
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 32;
			f->v = xreallocarray(f->v, f->cap, sizeof *f->v);
		}
		e = &f->v[f->n++];
		e->path = xstrdup(path);
	} else {
		free(e->gitdir);
	}
	e->kind = kind;
	e->gitdir = gitdir != NULL ? xstrdup(gitdir) : NULL;
	e->readonly = false;
}

/* Marks a recorded directory as not creatable-in. */
void sandbox_facts_set_readonly(struct sandbox_facts *f, const char *path)
{
	struct sandbox_fact *e = sandbox_facts_find(f, path);

	if (e != NULL)
		e->readonly = true;
}

/* Looks up whether entries can be created in a directory. */
bool sandbox_facts_creatable(const struct sandbox_facts *f, const char *path)
{
	const struct sandbox_fact *e = sandbox_facts_find(f, path);

	return e != NULL && e->kind == SANDBOX_DIR && !e->readonly;
}

/*
 * True when this user may create entries in the directory of ST by its mode
 * bits alone: inside the sandbox no capability overrides them (bubblewrap's
 * own, in its user namespace, cover only this user's files).
 */
static bool sandbox_facts_mode_allows(const struct stat *st, mode_t user, mode_t group,
                                      mode_t other)
{
	gid_t groups[SANDBOX_MAX_LIST];
	int n;

	if (st->st_uid == geteuid())
		return (st->st_mode & user) != 0;
	if (st->st_gid == getegid())
		return (st->st_mode & group) != 0;
	n = getgroups(SANDBOX_MAX_LIST, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == st->st_gid)
			return (st->st_mode & group) != 0;
	return (st->st_mode & other) != 0;
}

/* True when this user may create entries in the directory of ST (mode bits alone). */
static bool sandbox_facts_mode_writable(const struct stat *st)
{
	return sandbox_facts_mode_allows(st, S_IWUSR, S_IWGRP, S_IWOTH);
}

/*
 * True when the sandbox could reach PATH's directory: every directory on the
 * way searchable by this user's mode bits (inside, no capability overrides
 * them). A socket in another user's private directory needs no cover, and
 * bubblewrap could not make one there.
 */
static bool sandbox_facts_reachable(const char *path)
{
	char *p = xstrdup(path);
	bool ok = true;
	struct stat st;

	for (char *s = strrchr(p, '/'); ok && s != NULL && s != p; s = strrchr(p, '/')) {
		*s = '\0';
		ok = stat(p, &st) == 0 && sandbox_facts_mode_allows(&st, S_IXUSR, S_IXGRP, S_IXOTH);
	}
	free(p);
	return ok;
}

/* Looks up what a path is; unknown paths are missing. */
enum sandbox_kind sandbox_facts_kind(const struct sandbox_facts *f, const char *path)
{
	const struct sandbox_fact *e = sandbox_facts_find(f, path);

	return e != NULL ? e->kind : SANDBOX_MISSING;
}

/* Looks up the gitdir recorded for a `.git` file. */
const char *sandbox_facts_gitdir(const struct sandbox_facts *f, const char *path)
{
	const struct sandbox_fact *e = sandbox_facts_find(f, path);

	return e != NULL ? e->gitdir : NULL;
}

/* Adds a path to a list of the facts, once. */
void sandbox_facts_list_add(char ***v, size_t *n, const char *path)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], path) == 0)
			return;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(path);
}

/* Records a kernel file system's mount point (once). */
void sandbox_facts_add_kernel_mount(struct sandbox_facts *f, const char *path)
{
	sandbox_facts_list_add(&f->kernel_mounts, &f->n_kernel_mounts, path);
}

/* Frees a list of paths. */
static void sandbox_facts_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Reads /proc/net/unix (this network namespace's Unix sockets) for the ones
 * bound to a path that is a socket now, and the host's IPC directories
 * that exist ($XDG_RUNTIME_DIR, /run/user/UID, tmux's, X11's, screen's).
 */
static void sandbox_facts_gather_host_ipc(struct sandbox_facts *f)
{
	FILE *fp = fopen("/proc/net/unix", "re");
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *dirs[] = {
	    xdg != NULL && xdg[0] == '/' ? policy_path_normalize(xdg) : NULL,
	    xasprintf("/run/user/%u", (unsigned)getuid()),
	    xasprintf("/tmp/tmux-%u", (unsigned)getuid()),
	    xstrdup("/tmp/.X11-unix"),
	    xstrdup("/tmp/.ICE-unix"),
	    xstrdup("/run/screen"),
	};

	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		if (dirs[i] != NULL && lstat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			sandbox_facts_list_add(&f->ipc_dirs, &f->n_ipc_dirs, dirs[i]);
		free(dirs[i]);
	}
	if (fp == NULL)
		return;
	while (getline(&line, &cap, fp) > 0) {
		/* Num RefCount Protocol Flags Type St Inode Path: the path is the rest of the
		 * line after the 7th field (it may hold spaces). */
		char *path = line;
		for (int n = 0; n < 7 && path != NULL; n++) {
			path += strspn(path, " ");
			path = strchr(path, ' ');
		}
		if (path != NULL) {
			path += strspn(path, " ");
			path[strcspn(path, "\n")] = '\0';
		}
		if (path == NULL || path[0] != '/')
			continue; /* unbound, or abstract (@name) */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && sandbox_facts_reachable(path))
			sandbox_facts_list_add(&f->host_sockets, &f->n_host_sockets, path);
	}
	free(line);
	fclose(fp);
}

/* The file systems whose files are the kernel's settings, not data. */
bool sandbox_facts_is_kernel_fs(const char *fstype)
{
	static const char *const kinds[] = {
	    "proc",    "sysfs",       "devtmpfs",  "debugfs",  "tracefs",    "securityfs",
	    "cgroup",  "cgroup2",     "bpf",       "configfs", "pstore",     "efivarfs",
	    "fusectl", "binfmt_misc", "selinuxfs", "nfsd",     "rpc_pipefs", "hugetlbfs",
	    "mqueue",  "autofs",      "devpts",    "smackfs",  "apparmorfs",
	};

	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (strcmp(fstype, kinds[i]) == 0)
			return true;
	return false;
}

/*
 * Decodes a mountinfo path field in place (the kernel writes space, tab,
 * newline and backslash as \ooo octal escapes).
 */
static void sandbox_facts_unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Reads /proc/self/mountinfo for the mount points of kernel file systems. */
static void sandbox_facts_gather_kernel_mounts(struct sandbox_facts *f)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (fp == NULL)
		return;
	while (getline(&line, &cap, fp) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE ... */
		char *fields[5] = {0}, *save = NULL, *tok = strtok_r(line, " ", &save);
		size_t n = 0;
		while (tok != NULL && n < 5) {
			fields[n++] = tok;
			tok = strtok_r(NULL, " ", &save);
		}
		while (tok != NULL && strcmp(tok, "-") != 0)
			tok = strtok_r(NULL, " ", &save);
		if (n < 5 || tok == NULL || (tok = strtok_r(NULL, " ", &save)) == NULL)
			continue;
		if (!sandbox_facts_is_kernel_fs(tok))
			continue;
		sandbox_facts_unescape(fields[4]);
		sandbox_facts_add_kernel_mount(f, fields[4]);
	}
	free(line);
	fclose(fp);
}

/* Frees the fact table and zeroes it. */
void sandbox_facts_free(struct sandbox_facts *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].gitdir);
	}
	free(f->v);
	sandbox_facts_list_free(f->kernel_mounts, f->n_kernel_mounts);
	sandbox_facts_list_free(f->host_sockets, f->n_host_sockets);
	sandbox_facts_list_free(f->ipc_dirs, f->n_ipc_dirs);
	for (size_t i = 0; i < f->n_git_refs; i++) {
		free(f->git_refs[i].gitdir);
		free(f->git_refs[i].path);
	}
	free(f->git_refs);
	memset(f, 0, sizeof *f);
}

/* Reads a `.git` file's "gitdir: P" line; returns P made absolute, or NULL. */
static char *sandbox_facts_read_gitdir(const char *dotgit)
{
	char buf[SANDBOX_GITDIR_MAX + 1], *p, *nl, *abs;
	int fd = open(dotgit, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, SANDBOX_GITDIR_MAX);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* A commondir holds a bare path; a `.git` file "gitdir: PATH". */
	if (strlen(dotgit) >= 10 && strcmp(dotgit + strlen(dotgit) - 10, "/commondir") == 0)
		p = buf;
	else if (strncmp(buf, "gitdir:", 7) != 0)
		return NULL;
	else
		p = buf + 7;
	while (*p == ' ' || *p == '\t')
		p++;
	if ((nl = strpbrk(p, "\r\n")) != NULL)
		*nl = '\0';
	if (*p == '\0')
		return NULL;
	if (*p == '/')
		return policy_path_normalize(p);
	/* Relative to the directory holding the .git file. */
	char *dir = xstrdup(dotgit);
	*strrchr(dir, '/') = '\0';
	char *joined = xasprintf("%s/%s", dir, p);
	abs = policy_path_normalize(joined);
	free(joined);
	free(dir);
	return abs;
}

/* Records what PATH is (once), reading the gitdir of a `.git` file. */
static enum sandbox_kind sandbox_facts_record(struct sandbox_facts *f, const char *path)
{
	struct sandbox_fact *e = sandbox_facts_find(f, path);
	struct stat st;
	enum sandbox_kind kind;
	char *gitdir = NULL;
	const char *base = strrchr(path, '/');

	if (e != NULL)
		return e->kind;
	if (lstat(path, &st) != 0)
		kind = SANDBOX_MISSING;
	else if (S_ISDIR(st.st_mode))
		kind = SANDBOX_DIR;
	else if (S_ISREG(st.st_mode))
		kind = SANDBOX_FILE;
	else if (S_ISLNK(st.st_mode))
		kind = SANDBOX_SYMLINK;
	else
		kind = SANDBOX_OTHER;
	if (kind == SANDBOX_FILE && base != NULL &&
	    (strcmp(base, "/.git") == 0 || strcmp(base, "/commondir") == 0))
		gitdir = sandbox_facts_read_gitdir(path);
	sandbox_facts_set(f, path, kind, gitdir);
	if (kind == SANDBOX_DIR && !sandbox_facts_mode_writable(&st))
		sandbox_facts_set_readonly(f, path);
	free(gitdir);
	return kind;
}

/* Records every component of PATH below ROOT, stopping at the first that is not a directory. */
static void sandbox_facts_record_chain(struct sandbox_facts *f, const char *root, const char *path)
{
	size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	char *p;

	if (strlen(path) <= rl + 1) {
		sandbox_facts_record(f, path); /* the root itself */
		return;
	}
	p = xstrdup(path);

	for (char *s = p + rl + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			enum sandbox_kind k = sandbox_facts_record(f, p);
			*s = c;
			if (k != SANDBOX_DIR || c == '\0')
				break;
		}
	}
	free(p);
}

/* Records the subdirectories of DIR (bounded), so the plan can list them. */
static void sandbox_facts_record_children(struct sandbox_facts *f, const char *dir)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	if (sandbox_facts_record(f, dir) != SANDBOX_DIR || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < SANDBOX_GIT_CHILDREN_MAX) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", dir, de->d_name);
		sandbox_facts_record(f, p);
		free(p);
		n++;
	}
	closedir(d);
}

/* Records the paths G's config points git at (once per git dir). */
static void sandbox_facts_record_git_refs(struct sandbox_facts *f, const char *g)
{
	struct sandbox_gitconfig_ref refs[SANDBOX_GIT_REFS_MAX];
	int n;

	for (size_t i = 0; i < f->n_git_refs; i++)
		if (strcmp(f->git_refs[i].gitdir, g) == 0)
			return;
	n = sandbox_gitconfig_paths(g, refs, SANDBOX_GIT_REFS_MAX);
	for (int i = 0; i < n; i++) {
		f->git_refs = xreallocarray(f->git_refs, f->n_git_refs + 1, sizeof *f->git_refs);
		f->git_refs[f->n_git_refs++] =
		    (struct sandbox_git_ref){xstrdup(g), refs[i].path, refs[i].dir};
	}
}

/* Records a git directory's protected items, submodules (nested) and worktrees. */
static void sandbox_facts_record_gitdir(struct sandbox_facts *f, const char *g, int depth)
{
	char *p;

	if (depth > SANDBOX_GIT_DEPTH_MAX || sandbox_facts_record(f, g) != SANDBOX_DIR)
		return;
	p = sandbox__join(g, "HEAD");
	sandbox_facts_record(f, p);
	free(p);
	p = sandbox__join(g, "commondir");
	sandbox_facts_record(f, p);
	free(p);
	sandbox_facts_record_git_refs(f, g);
	p = xasprintf("%s/modules", g);
	sandbox_facts_record_children(f, p);
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].kind == SANDBOX_DIR && sandbox__is_child(p, f->v[i].path)) {
			char *c = xstrdup(f->v[i].path);
			sandbox_facts_record_gitdir(f, c, depth + 1);
			free(c);
		}
	}
	free(p);
	p = xasprintf("%s/worktrees", g);
	sandbox_facts_record_children(f, p);
	free(p);
}

/* Records a directory W that may be a bare repository: its HEAD, objects, refs (and items). */
static void sandbox_facts_record_bare(struct sandbox_facts *f, const char *w)
{
	static const char *const names[] = {"HEAD", "objects", "refs"};

	for (size_t i = 0; i < 3; i++) {
		char *p = sandbox__join(w, names[i]);
		bool there = sandbox_facts_record(f, p) != SANDBOX_MISSING;
		free(p);
		if (!there)
			return;
	}
	sandbox_facts_record_gitdir(f, w, 0);
}

/* Target callback of the gather step: records the target's component chain. */
static int sandbox_facts_target(void *ctx, const char *path, bool dir, enum sandbox_target how,
                                const char *root)
{
	struct sandbox_facts *f = ctx;

	(void)dir;
	(void)how;
	if (root != NULL)
		sandbox_facts_record_chain(f, root, path);
	else
		sandbox_facts_record(f, path);
	return 0;
}

/* Looks at the host for everything the plan of IN will ask about. */
void sandbox_facts_gather(struct sandbox_facts *f, const struct sandbox_plan_in *in)
{
	const struct policy_resolved *res = in->res;

	if (in->exe != NULL)
		sandbox_facts_record(f, in->exe);
	for (size_t i = 0; i < policy_n_minimal_paths; i++)
		sandbox_facts_record(f, policy_minimal_paths[i]);
	for (size_t i = 0; i < res->n_entries; i++)
		sandbox_facts_record(f, res->entries[i].path);
	for (size_t i = 0; i < in->n_hide; i++)
		sandbox_facts_target(f, in->hide[i], true, SANDBOX_TARGET_RO,
		                     sandbox__writable_root(res, f, in->hide[i]));
	/* Git layout first: the protected targets depend on it. */
	for (size_t i = 0; i < res->n_entries; i++) {
		const char *w = res->entries[i].path;
		if (res->entries[i].access != POLICY_ACCESS_WRITE ||
		    sandbox_facts_kind(f, w) != SANDBOX_DIR)
			continue;
		char *dotgit = sandbox__join(w, ".git");
		enum sandbox_kind k = sandbox_facts_record(f, dotgit);
		if (k == SANDBOX_MISSING)
			sandbox_facts_record_bare(f, w);
		if (k == SANDBOX_DIR) {
			sandbox_facts_record_gitdir(f, dotgit, 0);
		} else if (k == SANDBOX_FILE && sandbox_facts_gitdir(f, dotgit) != NULL) {
			char *g = xstrdup(sandbox_facts_gitdir(f, dotgit));
			const char *root = sandbox__writable_root(res, f, g);
			if (root != NULL)
				sandbox_facts_record_chain(f, root, g);
			sandbox_facts_record_gitdir(f, g, 0);
			/* A linked worktree's: the common git dir it names holds the config
			 * and hooks git uses. */
			char *cd = sandbox__join(g, "commondir");
			const char *common = sandbox_facts_gitdir(f, cd);
			if (common != NULL) {
				char *c = xstrdup(common);
				if ((root = sandbox__writable_root(res, f, c)) != NULL)
					sandbox_facts_record_chain(f, root, c);
				sandbox_facts_record_gitdir(f, c, 0);
				free(c);
			}
			free(cd);
			free(g);
		}
		free(dotgit);
	}
	sandbox__protected_targets(in, f, sandbox_facts_target, f);
	sandbox_facts_gather_kernel_mounts(f);
	if (res->net == POLICY_NET_ENABLED && res->kind == POLICY_FS_RESTRICTED)
		sandbox_facts_gather_host_ipc(f);
}
