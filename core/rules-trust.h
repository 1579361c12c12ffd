/*
 * Trust in a workspace's own rules (SPEC section 6). A repository's
 * `.airlock/rules/ *.rules` and `.codex/rules/ *.rules` came with its code:
 * until the user trusts them they may only restrict (forbidden, prompt);
 * their allow rules and host_executable pins are ignored. `airlock trust`
 * pins the files' content, a SHA-256 per file, in HOME/trust.json:
 *
 *   {"version": 1, "workspaces": {"/real/path/of/ws": {"trusted_at": "...",
 *     "files": {".airlock/rules/a.rules": "<64 hex>", ...}}}}
 *
 * A workspace is trusted while the set of its rules files and their hashes
 * is exactly the pinned one: any edit, a new file or a removed one makes
 * it untrusted again. The loader hashes the very bytes it parses
 * (rules_load_workspace in rules.h), so no change can slip in between the
 * check and the use. trust.json is written under an flock on
 * HOME/trust.json.lock by a temporary file renamed over it.
 */
#ifndef AIRLOCK_RULES_TRUST_H
#define AIRLOCK_RULES_TRUST_H

#include <stdbool.h>
#include <stddef.h>

/* SHA-256 of LEN bytes of DATA as 64 lower-case hex digits and a NUL in HEX. */
void rules_trust_sha256_hex(const void *data, size_t len, char hex[65]);

/*
 * The names of DIR's rules files (`*.rules`, not hidden), sorted with
 * strcmp: the order every loader reads them in. A missing DIR (and with
 * NOTDIR_IS_MISSING, a DIR that is not a directory) has none. Returns 0, or
 * -errno with *cause when CAUSE is not NULL; caller frees each name and
 * *NAMES.
 */
int rules_dir_names(const char *dir, bool notdir_is_missing, char ***names, size_t *n,
                    char **cause);

/* A workspace's rules files: names relative to it, and their hashes. */
struct rules_trust_files {
	char **names;  /* ".airlock/rules/x.rules", load order */
	char **hashes; /* 64 hex digits each */
	size_t n;
};
void rules_trust_files_free(struct rules_trust_files *f);

/*
 * Lists WORKSPACE's rules files in load order (.airlock/rules then
 * .codex/rules, names sorted) and hashes them into OUT. *REAL gets the
 * workspace's real path (caller frees). Returns 0 or -errno with *cause.
 */
int rules_trust_scan(const char *workspace, char **real, struct rules_trust_files *out,
                     char **cause);

/*
 * Whether HOME/trust.json pins exactly FILES for the workspace whose real
 * path is REAL. A missing or unreadable trust.json trusts nothing.
 */
bool rules_trust_matches(const char *home, const char *real, const struct rules_trust_files *files);

/* Pins WORKSPACE's current rules files in HOME/trust.json. Returns 0 or -errno with *cause. */
int rules_trust_pin(const char *home, const char *workspace, char **cause);
/* Removes WORKSPACE's pin. Returns 0 (removed), 1 (there was none), or -errno with *cause. */
int rules_trust_revoke(const char *home, const char *workspace, char **cause);
/*
 * The trusted workspaces, one line each into *OUT (caller frees):
 * PATH<TAB>trusted|changed<TAB>N files. Returns 0 or -errno with *cause.
 */
int rules_trust_list(const char *home, char **out, char **cause);

#endif
