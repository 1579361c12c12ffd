/*
 * Extra permissions a command runs with while it stays in the sandbox
 * (SPEC section 12): directories it may also write, directories it may also
 * read, and network destinations (host:port) it may reach through the proxy
 * without a prompt. An agent asks for them with
 * "sandbox_permissions":"with_additional_permissions" or the
 * request_permissions op, `airlock submit` with --add-write, --add-read and
 * --add-host, and a typed command's retry with `w`.
 *
 * A set is always kept canonical: directories are real paths (symbolic
 * links and `..` resolved, so the prompt names what is really opened, and a
 * link swapped later cannot redirect the grant), hosts lower-cased, every
 * list sorted with no duplicates. Two requests for the same additions, in
 * any order or spelling, give the same key, and the session cache keys
 * exec approvals with it. Additions only ever add entries to the split
 * policy the helper enforces: the helper still keeps protected paths
 * read-only inside every writable root, an entry the policy marks `none`
 * cannot be opened, and nothing here runs a command outside the sandbox.
 */
#ifndef AIRLOCK_POLICY_PERMISSIONS_H
#define AIRLOCK_POLICY_PERMISSIONS_H

#include "policy.h"

#include <stdbool.h>
#include <stddef.h>

/* Most entries in one set (each kind); a longer list is refused. */
#define POLICY_PERMISSIONS_MAX 64

struct policy_permissions {
	char **write; /* real, absolute directories, sorted; never "/" */
	size_t n_write;
	char **read; /* real, absolute directories, sorted */
	size_t n_read;
	char **hosts; /* "host:port", host lower-cased, sorted */
	size_t n_hosts;
};

/* Whether P adds nothing (P may be NULL). */
bool policy_permissions_empty(const struct policy_permissions *p);
void policy_permissions_free(struct policy_permissions *p);
/* *DST becomes a copy of SRC (SRC may be NULL: empty). */
void policy_permissions_copy(struct policy_permissions *dst, const struct policy_permissions *src);

/*
 * Adds the directory PATH (absolute) for writing (WRITE) or reading.
 * Returns 0, or -EINVAL / -errno with *CAUSE (caller frees), one of:
 *   "PATH": not an absolute path
 *   "PATH": No such file or directory (or another errno's text)
 *   "PATH": not a directory
 *   "PATH": write access to / is the whole file system (ask to run outside the sandbox instead)
 *   too many directories (over 64)
 * Links are followed: the set holds where PATH really is.
 */
int policy_permissions_add_dir(struct policy_permissions *p, bool write, const char *path,
                               char **cause);
/*
 * Adds the destination HOSTPORT ("host:port", "[v6]:port"). A host is a DNS
 * name (letters, digits, `-`, dots between non-empty labels) or an IPv4 or
 * bracketed IPv6 address; no wildcard; the port 1-65535. Returns 0 or
 * -EINVAL with *CAUSE ("HOST: a host must be HOST:PORT with a name or address
 * and no wildcard", "too many hosts (over 64)").
 */
int policy_permissions_add_host(struct policy_permissions *p, const char *hostport, char **cause);

/* Adds everything of B to A. */
void policy_permissions_merge(struct policy_permissions *a, const struct policy_permissions *b);
/* Whether everything A adds is in B (an empty A is always covered). */
bool policy_permissions_covered(const struct policy_permissions *a,
                                const struct policy_permissions *b);
/* Whether P grants HOST (lower-case) at PORT. */
bool policy_permissions_has_host(const struct policy_permissions *p, const char *host,
                                 unsigned port);

/*
 * The key of P for caches: "w|N|LEN:path...|r|N|...|h|N|..." ("" when
 * empty). Different sets never share a key. Caller frees.
 */
char *policy_permissions_key(const struct policy_permissions *p);
/*
 * P for a human, one part per kind: "write /a, /b; read /c; network
 * example.com:443" ("nothing" when empty). Caller frees.
 */
char *policy_permissions_describe(const struct policy_permissions *p);

/*
 * Adds P's directories to SPLIT (a restricted file-system policy: an
 * unrestricted one already allows everything and is left alone): an entry
 * write or read per directory. Returns 0, or -EPERM with *CAUSE when a
 * directory lies at or under an entry SPLIT marks `none` (resolved against
 * CWD and TMPDIR): such a path stays closed.
 */
int policy_permissions_apply(const struct policy_permissions *p, struct policy_split *split,
                             const char *cwd, const char *tmpdir, char **cause);

/*
 * The directory a denial names: the last "PATH: Read-only file system" in
 * the output TEXT (LEN bytes; PATH bare or in quotes), PATH made absolute
 * against CWD, then its parent directory (the one the command could not
 * write in) with links resolved. NULL when no such path is found, its
 * parent does not exist, or it is "/". Caller frees.
 */
char *policy_permissions_denied_dir(const char *text, size_t len, const char *cwd);

#endif
