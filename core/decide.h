/*
 * The decision function (SPEC section 4): from a command, where it runs, the
 * approval policy, the sandbox mode, whether escalation was asked for, and
 * the rules, to allow / prompt / forbidden, sandboxed or not, with the rules
 * that matched, the split commands, a reason and the `p` prefix to offer.
 * Pure: no I/O, no state; the approval queue (approval.h) adds caches,
 * prompts and the audit log around it.
 *
 * The steps, per split command ("part"):
 *   - its matching rules; the strictest of them is the part's decision.
 *     A program named by a path matches the rules of its base name (unless
 *     host_executable pins the paths: rules_resolve_program); wrappers
 *     (command, builtin, exec, env, nice, nohup, timeout, time, sudo) are
 *     looked through, allow rules only through those that change neither
 *     privileges nor the environment; at every later word of other
 *     wrappers (xargs, find -exec, watch ...) restricting rules are tried;
 *     a shell's `-c` script and eval's words are scanned (shell_split_scan)
 *     for forbidden/prompt rules and dangerous commands, and allow rules
 *     never apply to a script that could not be split;
 *   - no rule: dangerous (rm -f, also under sudo or in a script),
 *     known-safe (the command a benign wrapper runs), or other.
 * Then, over all parts:
 *   1. a forbidden rule                   -> forbidden;
 *   2. an allow rule for every part       -> allow, unsandboxed (also when
 *                                            escalation was asked);
 *   3. a prompt rule, a dangerous part, an escalation request, or (policy
 *      untrusted) a part that is neither ruled nor known-safe
 *                                         -> prompt, or forbidden under never;
 *   4. otherwise                          -> allow, sandboxed (unless the
 *                                            sandbox mode is danger-full-access).
 * A prompted command, once approved, runs in the sandbox (`sandboxed` true,
 * unless the sandbox mode is danger-full-access) unless the request asked
 * for escalation: only an escalation or the retry after a denial runs a
 * command outside. `sandboxed` is false for forbidden (nothing runs).
 * on-failure's second chance is decide_looks_denied().
 */
#ifndef AIRLOCK_DECIDE_H
#define AIRLOCK_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "rules.h"
#include "shell-split.h"

enum decide_approval {
	DECIDE_APPROVAL_UNTRUSTED,
	DECIDE_APPROVAL_ON_FAILURE,
	DECIDE_APPROVAL_ON_REQUEST,
	DECIDE_APPROVAL_NEVER,
};

enum decide_sandbox {
	DECIDE_SANDBOX_READ_ONLY,
	DECIDE_SANDBOX_WORKSPACE_WRITE,
	DECIDE_SANDBOX_DANGER_FULL_ACCESS,
};

enum decide_decision {
	DECIDE_ALLOW,
	DECIDE_PROMPT,
	DECIDE_FORBIDDEN,
};

/* What is decided about. Everything is borrowed for the call. */
struct decide_input {
	size_t argc;
	char *const *argv;
	const char *cwd;
	enum decide_approval approval;
	enum decide_sandbox sandbox;
	bool escalate;             /* the request asked to run outside the sandbox */
	const struct rules *rules; /* may be NULL: no rules */
	/* managed allow_unsandboxed: false (SPEC 11): nothing runs outside the sandbox */
	bool sandbox_only;
};

/* Why a part was judged as it was. */
enum decide_part_kind {
	DECIDE_PART_RULE,      /* at least one rule matched it */
	DECIDE_PART_SAFE,      /* known-safe read-only, no rule */
	DECIDE_PART_DANGEROUS, /* dangerous, no rule */
	DECIDE_PART_OTHER,     /* none of these */
};

struct decide_result {
	enum decide_decision decision;
	bool sandboxed;
	struct rules_matches matches;      /* every rule that matched any part, part by part */
	struct shell_split split;          /* the parts */
	enum decide_part_kind *part_kinds; /* one per split.cmds[i] */
	enum rules_decision *part_rule;    /* per part: strictest rule decision (if RULE) */
	char *reason;                      /* one sentence, owned */
	const struct rules_rule *rule; /* the rule that decided (forbidden/prompt/allow), or NULL */
	char **prefix;                 /* the `p` prefix (NULL-terminated) or NULL */
	size_t prefix_len;
	bool dangerous; /* some part was dangerous */
};

/* Decides about IN into OUT (always filled; free with decide_result_free). */
void decide_command(const struct decide_input *in, struct decide_result *out);
void decide_result_free(struct decide_result *res);
/* True when RES would prompt for a rules kind of reason (SPEC 12 reject:rules): a dangerous
 * command or a `prompt` rule. */
bool decide_prompts_by_rule(const struct decide_result *res);

/*
 * The `p` prefix for ARGV alone: program plus its first word that is neither
 * an option nor an option's value, from a table of the options that take
 * values for git, make, npm, cargo, docker, kubectl (`git push` for `git -C
 * sub push`, `make all` for `make -C dir all`), or the program alone (none
 * for a subcommand program without a subcommand); NULL
 * (none) for interpreters and wrappers without a script argument (python,
 * bash -c, env, sudo, node -e), dangerous commands, and words with a newline.
 * *n gets its length. Caller frees with shell_split_words_free.
 */
char **decide_prefix(size_t argc, char *const argv[], size_t *n);

/*
 * on-failure: whether a sandboxed run "looks denied": exit status != 0 and
 * OUTPUT (LEN bytes) contains, in any case, "operation not permitted",
 * "permission denied", "read-only file system", "network is unreachable",
 * "device or resource busy", "unable to create", "could not lock" or
 * "couldn't connect";
 * or it was killed by SIGSYS (TERM_SIGNAL, 0 when it exited).
 */
bool decide_looks_denied(int exit_status, int term_signal, const char *output, size_t len);

/* Names <-> values; *_parse return 0 or -EINVAL. */
const char *decide_decision_name(enum decide_decision d);
const char *decide_approval_name(enum decide_approval a);
const char *decide_sandbox_name(enum decide_sandbox s);
int decide_approval_parse(const char *s, enum decide_approval *out);
int decide_sandbox_parse(const char *s, enum decide_sandbox *out);

#endif
