/*
 * What patch.c and patch-plan.c share and nothing else uses: path
 * normalisation and checks, and the fault injection the tests use to prove
 * that a commit is all or nothing.
 */
#ifndef AIRLOCK_PATCH_INTERNAL_H
#define AIRLOCK_PATCH_INTERNAL_H

#include "patch.h"

#include <stdbool.h>

/* Most components a path of a patch may have; deeper paths are refused. */
#define PATCH_MAX_DEPTH 256

/*
 * Lexical normalisation: "/a/b" for "a/./b", "a/c/../b" or "/a//b"; "" for
 * the root itself. *ESCAPES counts ".." that went above the start. Caller frees.
 */
char *patch__normalize(const char *path, int *escapes);

/*
 * Whether the relative path REL (under canonical REALCWD) is protected: the
 * names of SPEC section 3 at any depth, and what OPTS (may be NULL) adds.
 */
bool patch__protected(const char *realcwd, const char *rel, const struct patch_options *opts);

/*
 * Checks PATH (relative, as written in a patch) against canonical directory
 * REALCWD and sets *REL to the path relative to REALCWD with every existing
 * symbolic link resolved (no "." or "..", no leading "/"; caller frees).
 * Returns 0, or -EPERM with *CAUSE (the messages of patch_check_path).
 */
int patch__resolve(const char *realcwd, const char *path, const struct patch_options *opts,
                   char **rel, char **cause);

/* qsort comparison of two char * by strcmp. */
int patch__strcmp_ptr(const void *a, const void *b);

/*
 * Tests only: when positive, the Nth disk operation of the next
 * patch_plan_commit() (counting temporary files, renames, unlinks and
 * directory creations from 1) fails with EIO as if the system had refused it.
 * Reset to 0 by that failure.
 */
extern int patch__fail_step;

#endif
