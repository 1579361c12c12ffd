/*
 * The policy model shared by airlock and airlock-sandbox (SPEC section 2).
 *
 * Two shapes exist. The legacy policy (`{"type":"workspace-write",...}`) is
 * what users and the CLI write; the split policy (a file-system policy plus a
 * network policy) is what the helper enforces. A legacy policy converts to a
 * split one; a split policy is resolved against a working directory into
 * concrete absolute paths with one access each; a split policy serialises
 * back to JSON so the CLI can hand it to the helper.
 *
 * Parsing is strict: unknown fields, unknown types and relative paths where
 * absolute ones are needed are errors, reported through `char **cause` (one
 * line, caller frees). Functions return 0 or a negative errno (-EINVAL for a
 * bad policy). Every struct here owns its strings; free it with its _free.
 */
#ifndef AIRLOCK_POLICY_H
#define AIRLOCK_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/* ---- legacy policies ----------------------------------------------------- */

enum policy_type {
	POLICY_DANGER_FULL_ACCESS,
	POLICY_READ_ONLY,
	POLICY_WORKSPACE_WRITE,
	POLICY_EXTERNAL_SANDBOX,
};

/* `access` (read-only) or `read_only_access` (workspace-write). */
struct policy_read_access {
	bool restricted;                /* false: {"type":"full-access"} */
	bool include_platform_defaults; /* restricted only */
	char **readable_roots;          /* absolute, restricted only */
	size_t n_readable_roots;
};

struct policy_legacy {
	enum policy_type type;
	/* read-only/workspace-write: bool; external-sandbox: "enabled" = true. */
	bool network_access;
	struct policy_read_access access;
	char **writable_roots; /* workspace-write only, absolute */
	size_t n_writable_roots;
	bool exclude_tmpdir_env_var;
	bool exclude_slash_tmp;
};

/* ---- split policies ------------------------------------------------------ */

/* Ordered by tie precedence: on equal paths the larger value wins. */
enum policy_access {
	POLICY_ACCESS_READ,
	POLICY_ACCESS_WRITE,
	POLICY_ACCESS_NONE,
};

enum policy_special {
	POLICY_SPECIAL_NONE, /* the entry is a plain path */
	POLICY_SPECIAL_ROOT,
	POLICY_SPECIAL_MINIMAL,
	POLICY_SPECIAL_CWD, /* current_working_directory */
	POLICY_SPECIAL_TMPDIR,
	POLICY_SPECIAL_SLASH_TMP,
};

struct policy_fs_entry {
	enum policy_special special;
	char *path; /* absolute, normalised; NULL when special != NONE */
	enum policy_access access;
};

enum policy_fs_kind {
	POLICY_FS_RESTRICTED,
	POLICY_FS_UNRESTRICTED,
	POLICY_FS_EXTERNAL_SANDBOX,
};

struct policy_fs {
	enum policy_fs_kind kind;
	struct policy_fs_entry *entries; /* restricted only */
	size_t n_entries;
};

enum policy_net {
	POLICY_NET_RESTRICTED,
	POLICY_NET_ENABLED,
	POLICY_NET_PROXY,
};

struct policy_split {
	struct policy_fs fs;
	enum policy_net net;
};

/* A split policy resolved against a cwd: concrete paths, one access each. */
struct policy_resolved_entry {
	char *path; /* absolute, normalised */
	enum policy_access access;
};

struct policy_resolved {
	enum policy_fs_kind kind;
	/* Restricted only: sorted by path (parents before children), no duplicates. */
	struct policy_resolved_entry *entries;
	size_t n_entries;
	enum policy_net net;
};

/*
 * The names kept read-only inside every writable root (SPEC section 3), and
 * refused to patches at any depth: the agents' and editors' settings.
 */
struct policy_protected_name {
	const char *name;
	bool dir; /* a directory (else a file) */
};
extern const struct policy_protected_name policy_protected_names[];
extern const size_t policy_n_protected_names;

/* The directories `minimal` stands for (those that exist are mounted). */
extern const char *const policy_minimal_paths[];
extern const size_t policy_n_minimal_paths;

/* ---- parsing ------------------------------------------------------------- */

/* Parses a legacy policy (JSON text). Returns 0 or -EINVAL with *cause set. */
int policy_legacy_parse(const char *json, struct policy_legacy *out, char **cause);
/* Parses a file-system split policy (JSON text). Returns 0 or -EINVAL. */
int policy_fs_parse(const char *json, struct policy_fs *out, char **cause);
/* Parses a network policy: JSON `"restricted"` (or the bare word). */
int policy_net_parse(const char *json, enum policy_net *out, char **cause);

/*
 * Parses either shape: a legacy policy (has "type"), converted to split, or a
 * file-system split policy (has "kind"), paired with network `restricted`.
 */
int policy_parse(const char *json, struct policy_split *out, char **cause);
/* Reads FILE and parses it as policy_parse does; *cause names the file. */
int policy_load_file(const char *file, struct policy_split *out, char **cause);

/* ---- conversion, resolution, queries -------------------------------------- */

/* Converts a legacy policy to the split shape (SPEC 2, as Codex does). */
void policy_legacy_to_split(const struct policy_legacy *legacy, struct policy_split *out);

/*
 * Resolves SPLIT against CWD (absolute) and TMPDIR (the $TMPDIR value, may be
 * NULL; ignored unless absolute) into concrete entries. Specials become paths:
 * root "/", minimal each of policy_minimal_paths, slash_tmp "/tmp". Equal
 * paths merge with none > write > read. Returns 0, or -EINVAL with *cause
 * when CWD is not absolute.
 */
int policy_resolve(const struct policy_split *split, const char *cwd, const char *tmpdir,
                   struct policy_resolved *out, char **cause);

/*
 * The access PATH (absolute) gets under a resolved policy: the entry with the
 * longest matching path prefix (by whole components) wins. Unrestricted and
 * external-sandbox policies give write; a path under no entry gives none.
 */
enum policy_access policy_resolved_access(const struct policy_resolved *res, const char *path);

/* True when A and B are the same policy (entries compared in order). */
bool policy_split_equal(const struct policy_split *a, const struct policy_split *b);

/* ---- serialisation -------------------------------------------------------- */

/* The file-system policy as compact JSON; caller frees. */
char *policy_fs_to_json(const struct policy_fs *fs);
/* The network policy as JSON (`"restricted"`, with quotes); caller frees. */
char *policy_net_to_json(enum policy_net net);
/* Names: "read"/"write"/"none", "restricted"/"enabled"/"proxy", etc. Static. */
const char *policy_access_name(enum policy_access access);
const char *policy_net_name(enum policy_net net);
const char *policy_special_name(enum policy_special special);
const char *policy_type_name(enum policy_type type);

/*
 * Lexically normalises an absolute path: collapses "//" and ".", resolves
 * ".." against the parent, drops a trailing "/". Returns NULL when PATH is
 * not absolute. Caller frees.
 */
char *policy_path_normalize(const char *path);

/*
 * True when PATH is DIR or lies below it, comparing whole components ("/a"
 * covers "/a/b", not "/ab"); a trailing slash on DIR is ignored, and "/"
 * covers every absolute path.
 */
bool policy_path_is_under(const char *dir, const char *path);

/* ---- freeing -------------------------------------------------------------- */

void policy_legacy_free(struct policy_legacy *legacy);
void policy_fs_free(struct policy_fs *fs);
void policy_split_free(struct policy_split *split);
void policy_resolved_free(struct policy_resolved *res);

#endif
