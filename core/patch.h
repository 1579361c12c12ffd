/*
 * apply_patch: the file-change format of the agent protocol (SPEC section 8).
 *
 * Three steps, each usable on its own:
 *   1. patch_parse() turns the text into a model (struct patch); pure, no I/O.
 *   2. patch_plan_new() reads the files, locates every hunk and computes every
 *      resulting file in memory; nothing on disk changes.
 *   3. patch_plan_commit() writes the results, all or nothing (see below).
 * patch_apply() does the three in a row. patch_paths() lists what a patch
 * touches (for the session approval cache) and patch_plan_diff() renders the
 * plan as a unified diff (for the prompt).
 *
 * The grammar (one item per line; a trailing "\r" on a line is ignored; as
 * in Codex, marker and header lines may have white space around them, a
 * patch may come wrapped in a shell heredoc, `<<EOF` (or `<<'EOF'`,
 * `<<"EOF"`, after `apply_patch `) ... `EOF`, and blank lines may follow
 * "*** End of File"):
 *
 *   *** Begin Patch                      first line, exactly
 *   *** Add File: PATH                   then lines "+TEXT": the new file
 *   *** Delete File: PATH
 *   *** Update File: PATH
 *   *** Move to: NEWPATH                 optional, right after Update
 *   @@                                   a hunk; "@@ TEXT" first finds the
 *                                        line TEXT and looks for the hunk
 *                                        after it. The first hunk of a file
 *                                        may omit its "@@". A unified
 *                                        diff's "@@ -1,2 +1,3 @@" counts
 *                                        as a bare "@@" (no numbers used).
 *    TEXT / -TEXT / +TEXT                context, removed, added line; an
 *                                        empty line is an empty context line
 *   *** End of File                      the hunk must match at the end
 *   *** End Patch                        last line, exactly
 *
 * Locating a hunk: its old lines (context and removed) are searched from the
 * end of the previous hunk on, first byte for byte, then ignoring trailing
 * white space, then ignoring white space at both ends, then with Unicode
 * dashes, quotes and non-breaking spaces folded to ASCII. Context lines keep
 * the file's own text; only removed lines go and added lines come in. A hunk
 * with no old lines inserts after its "@@ TEXT" line, or at the end of the
 * file. A file with CRLF line ends keeps them, added lines included; a file
 * with no final newline keeps having none.
 *
 * Paths are relative to the request's cwd. Refused whatever the answer to any
 * prompt: absolute paths, paths that leave cwd ("..", or a symbolic link
 * leading out), and protected paths (SPEC section 3: .git/config, .git/hooks,
 * the same under .git/modules/NAME and .git/worktrees/NAME, and .airlock,
 * .codex, .agents, .claude, .vscode, .envrc), in any directory of the tree,
 * plus what config.json adds (struct patch_options).
 * Updating or adding through a symbolic link inside cwd writes its target;
 * deleting or moving a symbolic link itself is refused (it would act on the
 * target, or turn the link into a file).
 * A path may appear once per patch (a move target counts). "Add File" over an
 * existing file replaces it, and so does "Move to" onto an existing regular
 * file (as Codex does; a rollback writes it back).
 *
 * The guarantee of patch_plan_commit(): every new content is first written
 * to a temporary file beside its target; if any of that fails, the temporary
 * files are removed and nothing has changed. Then the renames and unlinks run;
 * if one of those fails (rare: the directory changed under us), the steps
 * already done are undone from the in-memory copies of the old contents, and
 * the error is returned. A crash of the process during that second phase can
 * leave some files changed and others not: that is the one window the design
 * does not cover. Path components are opened with O_NOFOLLOW from cwd at write
 * time, so a directory swapped for a symbolic link after planning makes the
 * write fail instead of escaping.
 *
 * Error messages (the `cause` strings) have an exact first line, documented
 * per function below; more lines may follow (the text that was not found).
 */
#ifndef AIRLOCK_PATCH_H
#define AIRLOCK_PATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Hard limits: a patch text, and a file that a patch reads or writes. */
#define PATCH_MAX_TEXT (16u * 1024 * 1024)
#define PATCH_MAX_FILE (64u * 1024 * 1024)

enum patch_kind {
	PATCH_ADD,
	PATCH_DELETE,
	PATCH_UPDATE,
};

/* One line of a hunk: kind is ' ' (context), '-' (removed) or '+' (added). */
struct patch_line {
	char kind;
	char *text; /* without the kind character or the newline; owned */
};

struct patch_hunk {
	char *context; /* the TEXT of "@@ TEXT", or NULL for a bare "@@"; owned */
	struct patch_line *lines;
	size_t n_lines;
	bool end_of_file; /* followed by "*** End of File" */
	int line;         /* line number of the hunk in the patch text */
};

struct patch_file {
	enum patch_kind kind;
	char *path;    /* as written, relative; owned */
	char *move_to; /* PATCH_UPDATE only, or NULL; owned */
	char *content; /* PATCH_ADD: the whole new file ("" when empty); owned */
	size_t content_len;
	struct patch_hunk *hunks; /* PATCH_UPDATE only */
	size_t n_hunks;
	int line; /* line number of the "*** ... File:" header */
};

struct patch {
	struct patch_file *files;
	size_t n_files;
};

/*
 * What config.json adds to the protected paths (SPEC sections 3 and 9);
 * NULL wherever a `const struct patch_options *` is taken means none.
 */
struct patch_options {
	/* config protected_paths: relative ones are under cwd, absolute ones
	 * as given; each is protected with everything below it */
	char *const *protected_paths;
	size_t n_protected_paths;
	bool git_protection_full; /* config git_protection "full": all of .git */
};

/*
 * Parses TEXT (LEN bytes) into *OUT (free with patch_free). Returns 0, or
 * -EINVAL with *CAUSE set (caller frees), first line one of:
 *   line 1: the first line must be "*** Begin Patch"
 *   line N: the last line must be "*** End Patch"
 *   line N: expected "*** Add File: ", "*** Delete File: " or "*** Update File: ", got "..."
 *   line N: empty path
 *   line N: PATH: a line of an added file must start with "+", got "..."
 *   line N: PATH: hunk K: a line must start with " ", "-" or "+", got "..."
 *   line N: PATH: hunk K: the hunk has no lines
 *   line N: PATH: the update has no hunk
 *   line N: the patch changes no file
 *   line N: a NUL byte in the patch
 *   the patch is over 16777216 bytes
 */
int patch_parse(const char *text, size_t len, struct patch **out, char **cause);
void patch_free(struct patch *p);

/*
 * Every path the patch touches (move targets included), made absolute against
 * CWD and normalised lexically ("." and "x/.." removed; no symbolic link is
 * followed), sorted, without duplicates. Returns a NULL-terminated array
 * (free with patch_paths_free) and its length in *N if N is not NULL.
 */
char **patch_paths(const struct patch *p, const char *cwd, size_t *n);
void patch_paths_free(char **paths);

/*
 * Checks one path of a patch against the rules above without touching the
 * file system beyond following symbolic links already there. Returns 0, or
 * -EPERM/-EINVAL with *CAUSE (first line):
 *   PATH: absolute paths are refused
 *   PATH: the path leaves the working directory
 *   PATH: protected path, never written by a patch
 *   PATH: a symbolic link leads out of the working directory
 */
int patch_check_path(const char *cwd, const char *path, const struct patch_options *opts,
                     char **cause);

/*
 * Agents write absolute paths, or "../x", that land outside CWD but maybe
 * inside a writable root (SPEC 5: what counts is where a path lands). When
 * some path of P is absolute or leaves CWD, every path of P is rewritten
 * relative to "/" (made absolute against CWD, normalised, the leading "/"
 * dropped) and true is returned: plan P against "/" then, and judge where
 * its paths land (patch_plan_paths) against the writable roots. False, and
 * P unchanged, when every path stays under CWD.
 */
bool patch_rebase(struct patch *p, const char *cwd);

struct patch_plan;

/*
 * Where the plan's files land: absolute, every existing symbolic link
 * followed, one per file plus one per move target, in patch order.
 * NULL-terminated; free with patch_paths_free. N may be NULL.
 */
char **patch_plan_paths(const struct patch_plan *plan, size_t *n);

/*
 * Plans P against directory CWD: checks every path, reads the files, locates
 * the hunks and computes the results. Returns 0 with *OUT (free with
 * patch_plan_free), or a negative errno with *CAUSE, first line one of the
 * patch_check_path() messages, or:
 *   PATH: touched more than once in this patch
 *   PATH: a symbolic link: not deleted (a patch changes regular files only)
 *   PATH: a symbolic link: not moved (a patch changes regular files only)
 *   PATH: cannot read: STRERROR            (Update/Delete of a missing file...)
 *   PATH: not a regular file
 *   PATH: binary file (contains a NUL byte), not patched
 *   PATH: over 67108864 bytes, not patched
 *   PATH: hunk K: could not find the context line "TEXT"
 *   PATH: hunk K: could not find the lines to replace:
 *   PATH: hunk K: could not find the lines to replace at the end of the file:
 *   cwd: cannot open: STRERROR
 * The two "could not find the lines" messages are followed by the lines
 * searched for, one per line, each indented by four spaces.
 */
int patch_plan_new(const struct patch *p, const char *cwd, const struct patch_options *opts,
                   struct patch_plan **out, char **cause);
void patch_plan_free(struct patch_plan *plan);

/*
 * The plan as a unified diff ("--- a/PATH", "+++ b/PATH", "@@ -L,N +L,N @@"
 * with three lines of context; /dev/null for added and deleted files; a move
 * shows both names). Caller frees.
 */
char *patch_plan_diff(const struct patch_plan *plan);

/*
 * Writes the plan, all or nothing (see the guarantee above). Returns 0, or a
 * negative errno with *CAUSE, first line "PATH: cannot write: STRERROR" (or
 * "cannot create directory", "cannot rename", "cannot remove"), followed by
 * "(no file was changed)" or "(rolled back)" or, if a rollback step failed
 * too, "(rollback failed: files may be partly changed)".
 */
int patch_plan_commit(struct patch_plan *plan, char **cause);

/*
 * Parses, plans and commits TEXT in CWD. Returns 0 or a negative errno with
 * *CAUSE from one of the steps above.
 */
int patch_apply(const char *text, size_t len, const char *cwd, const struct patch_options *opts,
                char **cause);

/*
 * Parses, plans and renders TEXT against CWD as a unified diff; NULL with
 * *CAUSE on failure. Caller frees.
 */
char *patch_diff(const char *text, size_t len, const char *cwd, const struct patch_options *opts,
                 char **cause);

#endif
