/*
 * The decision function. It is a pure function of its input: split the
 * command, judge each part (rules first, then the safe/dangerous tables),
 * then combine the parts under the approval policy in the fixed order that
 * decide.h documents. Every outcome carries a reason sentence naming what
 * decided it, so `airlock check`, prompts and the audit log can say why.
 */
#include "decide.h"

#include "safe-commands.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Names of enum values, indexed by value. */
static const char *const decide__decision_names[] = {
    [DECIDE_ALLOW] = "allow", [DECIDE_PROMPT] = "prompt", [DECIDE_FORBIDDEN] = "forbidden"};
static const char *const decide__approval_names[] = {
    [DECIDE_APPROVAL_UNTRUSTED] = "untrusted",
    [DECIDE_APPROVAL_ON_FAILURE] = "on-failure",
    [DECIDE_APPROVAL_ON_REQUEST] = "on-request",
    [DECIDE_APPROVAL_NEVER] = "never",
};
static const char *const decide__sandbox_names[] = {
    [DECIDE_SANDBOX_READ_ONLY] = "read-only",
    [DECIDE_SANDBOX_WORKSPACE_WRITE] = "workspace-write",
    [DECIDE_SANDBOX_DANGER_FULL_ACCESS] = "danger-full-access",
};

/* What a sandboxed run's output says when the sandbox stopped it. */
static const char *const decide__denial_markers[] = {
    "operation not permitted",
    "permission denied",
    "read-only file system",
    "network is unreachable",
};

/* The name of decision D. */
const char *decide_decision_name(enum decide_decision d)
{
	return (size_t)d < sizeof decide__decision_names / sizeof *decide__decision_names
	           ? decide__decision_names[d]
	           : "?";
}

/* The name of approval policy A. */
const char *decide_approval_name(enum decide_approval a)
{
	return (size_t)a < sizeof decide__approval_names / sizeof *decide__approval_names
	           ? decide__approval_names[a]
	           : "?";
}

/* The name of sandbox mode S. */
const char *decide_sandbox_name(enum decide_sandbox s)
{
	return (size_t)s < sizeof decide__sandbox_names / sizeof *decide__sandbox_names
	           ? decide__sandbox_names[s]
	           : "?";
}

/* Parses an approval policy name. */
int decide_approval_parse(const char *s, enum decide_approval *out)
{
	for (size_t i = 0; i < sizeof decide__approval_names / sizeof *decide__approval_names; i++)
		if (s != NULL && strcmp(s, decide__approval_names[i]) == 0) {
			*out = (enum decide_approval)i;
			return 0;
		}
	return -EINVAL;
}

/* Parses a sandbox mode name. */
int decide_sandbox_parse(const char *s, enum decide_sandbox *out)
{
	for (size_t i = 0; i < sizeof decide__sandbox_names / sizeof *decide__sandbox_names; i++)
		if (s != NULL && strcmp(s, decide__sandbox_names[i]) == 0) {
			*out = (enum decide_sandbox)i;
			return 0;
		}
	return -EINVAL;
}

/* The `p` prefix for one command, or NULL. */
char **decide_prefix(size_t argc, char *const argv[], size_t *n)
{
	char **out;
	size_t len;

	*n = 0;
	if (argc == 0 || argv[0][0] == '\0' || safe_commands_is_dangerous(argc, argv))
		return NULL;
	len = argc >= 2 && argv[1][0] != '-' && argv[1][0] != '\0' ? 2 : 1;
	/* A wrapper runs the command in its arguments: no prefix covers that. */
	if (safe_commands_is_wrapper(argv[0]))
		return NULL;
	/* An interpreter only with its script (`python manage.py`), never bare. */
	if (safe_commands_is_interpreter(argv[0]) && len == 1)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (strchr(argv[i], '\n') != NULL || strchr(argv[i], '\r') != NULL)
			return NULL;
	out = xcalloc(len + 1, sizeof *out);
	for (size_t i = 0; i < len; i++)
		out[i] = xstrdup(argv[i]);
	*n = len;
	return out;
}

/* "FILE:LINE" of RULE. Caller frees. */
static char *decide__where(const struct rules_rule *rule)
{
	return xasprintf("%s:%u", rule->file, rule->line);
}

/* Sets OUT's reason, consuming MSG. */
static void decide__reason(struct decide_result *out, char *msg)
{
	free(out->reason);
	out->reason = msg;
}

/* A reason naming RULE (and its justification). */
static char *decide__rule_reason(const char *what, const struct rules_rule *rule)
{
	char *where = decide__where(rule);
	char *r;

	if (rule->justification != NULL && rule->justification[0] != '\0')
		r = xasprintf("%s by rule %s %s: %s", what, where, rule->pattern_text,
		              rule->justification);
	else
		r = xasprintf("%s by rule %s %s", what, where, rule->pattern_text);
	free(where);
	return r;
}

/* The first (in load order) rule of M with decision D for part I. */
static const struct rules_rule *decide__first(const struct rules_matches *m, size_t from, size_t to,
                                              enum rules_decision d)
{
	for (size_t i = from; i < to; i++)
		if (m->v[i]->decision == d)
			return m->v[i];
	return NULL;
}

/* Decides about IN into OUT. */
void decide_command(const struct decide_input *in, struct decide_result *out)
{
	const struct rules_rule *forbid = NULL, *prompt_rule = NULL, *allow_rule = NULL;
	size_t n_ruled_allow = 0, unknown = 0, dangerous = 0;
	const char *unknown_name = NULL, *dangerous_name = NULL;
	bool never = in->approval == DECIDE_APPROVAL_NEVER;

	memset(out, 0, sizeof *out);
	shell_split_argv(in->argc, in->argv, &out->split);
	out->part_kinds = xcalloc(out->split.n, sizeof *out->part_kinds);
	out->part_rule = xcalloc(out->split.n, sizeof *out->part_rule);

	for (size_t i = 0; i < out->split.n; i++) {
		const struct shell_split_command *c = &out->split.cmds[i];
		size_t before = out->matches.n;

		rules_match_command(in->rules, c->argc, c->argv, &out->matches);
		if (out->matches.n > before) {
			struct rules_matches part = {.v = out->matches.v + before,
			                             .n = out->matches.n - before};
			enum rules_decision d = rules_matches_strictest(&part);

			out->part_kinds[i] = DECIDE_PART_RULE;
			out->part_rule[i] = d;
			if (d == RULES_FORBIDDEN && forbid == NULL)
				forbid = decide__first(&out->matches, before, out->matches.n, d);
			if (d == RULES_PROMPT && prompt_rule == NULL)
				prompt_rule =
				    decide__first(&out->matches, before, out->matches.n, d);
			if (d == RULES_ALLOW) {
				n_ruled_allow++;
				if (allow_rule == NULL)
					allow_rule =
					    decide__first(&out->matches, before, out->matches.n, d);
			}
		} else if (c->argc > 0 && safe_commands_is_dangerous(c->argc, c->argv)) {
			out->part_kinds[i] = DECIDE_PART_DANGEROUS;
			if (dangerous++ == 0)
				dangerous_name = c->argv[0];
		} else if (!out->split.opaque && c->argc > 0 &&
		           safe_commands_is_known_safe(c->argc, c->argv)) {
			out->part_kinds[i] = DECIDE_PART_SAFE;
		} else {
			out->part_kinds[i] = DECIDE_PART_OTHER;
			if (unknown++ == 0)
				unknown_name = c->argc > 0 ? c->argv[0] : "";
		}
	}
	out->dangerous = dangerous > 0;

	/* The `p` prefix: one splittable command that no rule matched. */
	if (out->split.n == 1 && !out->split.opaque && out->matches.n == 0)
		out->prefix = decide_prefix(out->split.cmds[0].argc, out->split.cmds[0].argv,
		                            &out->prefix_len);

	if (in->argc == 0) {
		out->decision = DECIDE_FORBIDDEN;
		decide__reason(out, xstrdup("an empty command cannot run"));
		return;
	}
	if (forbid != NULL) {
		out->decision = DECIDE_FORBIDDEN;
		out->rule = forbid;
		decide__reason(out, decide__rule_reason("forbidden", forbid));
		return;
	}
	if (n_ruled_allow == out->split.n) {
		out->decision = DECIDE_ALLOW;
		out->sandboxed = false;
		out->rule = allow_rule;
		decide__reason(out, decide__rule_reason("allowed outside the sandbox", allow_rule));
		return;
	}
	if (prompt_rule != NULL || dangerous > 0 || in->escalate ||
	    (in->approval == DECIDE_APPROVAL_UNTRUSTED && unknown > 0)) {
		char *why;

		if (prompt_rule != NULL) {
			out->rule = prompt_rule;
			why = decide__rule_reason("needs approval", prompt_rule);
		} else if (dangerous > 0) {
			why = xasprintf("`%s` with a force flag is dangerous", dangerous_name);
		} else if (in->escalate) {
			why = xstrdup("the request asks to run outside the sandbox");
		} else {
			why = xasprintf("`%s` is not a known-safe command (policy untrusted)",
			                unknown_name);
		}
		out->sandboxed = false;
		if (never) {
			out->decision = DECIDE_FORBIDDEN;
			decide__reason(
			    out, xasprintf("%s; policy never refuses what would prompt", why));
			free(why);
		} else {
			out->decision = DECIDE_PROMPT;
			decide__reason(out, why);
		}
		return;
	}
	out->decision = DECIDE_ALLOW;
	out->sandboxed = in->sandbox != DECIDE_SANDBOX_DANGER_FULL_ACCESS;
	if (!out->sandboxed)
		decide__reason(out,
		               xstrdup("allowed; sandbox mode danger-full-access runs it as is"));
	else if (unknown == 0 && n_ruled_allow == 0)
		decide__reason(out, xstrdup("known-safe read-only command; runs in the sandbox"));
	else if (allow_rule != NULL)
		decide__reason(out,
		               xstrdup("allowed in the sandbox (not every part is allowed by a "
		                       "rule)"));
	else
		decide__reason(out, xasprintf("allowed in the sandbox (policy %s)",
		                              decide_approval_name(in->approval)));
}

/* Frees what decide_command filled. */
void decide_result_free(struct decide_result *res)
{
	rules_matches_free(&res->matches);
	shell_split_free(&res->split);
	free(res->part_kinds);
	free(res->part_rule);
	free(res->reason);
	shell_split_words_free(res->prefix);
	memset(res, 0, sizeof *res);
}

/* True when NEEDLE occurs in HAY (LEN bytes) ignoring ASCII case. */
static bool decide__contains(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++) {
		size_t j;

		for (j = 0; j < nl; j++)
			if (tolower((unsigned char)hay[i + j]) != needle[j])
				break;
		if (j == nl)
			return true;
	}
	return false;
}

/* Whether a sandboxed run looks denied by the sandbox. */
bool decide_looks_denied(int exit_status, int term_signal, const char *output, size_t len)
{
	if (term_signal == SIGSYS)
		return true;
	if (exit_status == 0 && term_signal == 0)
		return false;
	for (size_t i = 0; i < sizeof decide__denial_markers / sizeof *decide__denial_markers; i++)
		if (output != NULL && decide__contains(output, len, decide__denial_markers[i]))
			return true;
	return false;
}
