/*
 * `airlock check`: judges a command without running it and prints one JSON
 * object (SPEC section 1): decision, sandboxed, matched_rules, commands,
 * reason, plus `prefix` (the `p` prefix a prompt would offer, or null) and
 * `workspace_rules` {files, trusted, ignored_allow_rules}. Rules come from
 * HOME/rules then <cwd>/.airlock/rules and <cwd>/.codex/rules (only their
 * forbidden and prompt rules until `airlock trust`); a malformed file is
 * exit status 2 with its FILE:LINE:COL on stderr, and nothing is printed on
 * stdout (a broken file never yields an answer). A --sandbox-policy
 * counts as danger-full-access when its file system is unrestricted, else
 * workspace-write when it writes anywhere, else read-only.
 */
#include "tui/cli.h"

#include "core/audit.h"
#include "core/decide.h"
#include "core/policy.h"
#include "core/rules.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

/* The JSON object for RES (INFO: what the workspace's own rules were). Caller deletes. */
static cJSON *cmd_check__json(const struct decide_result *res,
                              const struct rules_workspace_info *info)
{
	cJSON *ws;
	cJSON *o = cJSON_CreateObject();
	cJSON *rules = cJSON_CreateArray();
	cJSON *cmds = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "decision", decide_decision_name(res->decision));
	cJSON_AddBoolToObject(o, "sandboxed", res->sandboxed);
	for (size_t i = 0; i < res->matches.n; i++) {
		const struct rules_rule *r = res->matches.v[i];
		cJSON *m = cJSON_CreateObject();

		cJSON_AddStringToObject(m, "file", r->file);
		cJSON_AddNumberToObject(m, "line", r->line);
		cJSON_AddStringToObject(m, "decision", rules_decision_name(r->kind, r->decision));
		cJSON_AddStringToObject(m, "pattern", r->pattern_text);
		if (r->managed)
			cJSON_AddBoolToObject(m, "managed", true);
		cJSON_AddItemToArray(rules, m);
	}
	cJSON_AddItemToObject(o, "matched_rules", rules);
	for (size_t i = 0; i < res->split.n; i++) {
		const struct shell_split_command *c = &res->split.cmds[i];

		cJSON_AddItemToArray(
		    cmds, cJSON_CreateStringArray((const char *const *)c->argv, (int)c->argc));
	}
	cJSON_AddItemToObject(o, "commands", cmds);
	cJSON_AddStringToObject(o, "reason", res->reason);
	if (res->prefix != NULL)
		cJSON_AddItemToObject(o, "prefix",
		                      cJSON_CreateStringArray((const char *const *)res->prefix,
		                                              (int)res->prefix_len));
	else
		cJSON_AddNullToObject(o, "prefix");
	/* The workspace's own rules: until trusted, their allow rules are ignored. */
	ws = cJSON_AddObjectToObject(o, "workspace_rules");
	cJSON_AddNumberToObject(ws, "files", (double)info->files);
	cJSON_AddBoolToObject(ws, "trusted", info->trusted);
	cJSON_AddNumberToObject(ws, "ignored_allow_rules", (double)info->ignored_allow);
	return o;
}

/*
 * Adds "managed" to O: null without a managed policy, else {"file",
 * "allow_unsandboxed", "rules"} of the one in force (SPEC 11).
 */
static void cmd_check__managed(cJSON *o, const struct managed *m)
{
	cJSON *j;

	if (!m->present) {
		cJSON_AddNullToObject(o, "managed");
		return;
	}
	j = cJSON_AddObjectToObject(o, "managed");
	cJSON_AddStringToObject(j, "file", m->path);
	cJSON_AddBoolToObject(j, "allow_unsandboxed", m->allow_unsandboxed);
	if (m->rules_dir != NULL)
		cJSON_AddStringToObject(j, "rules", m->rules_dir);
	else
		cJSON_AddNullToObject(j, "rules");
}

/* The sandbox mode a --sandbox-policy JSON amounts to; 0 or 2 (printed). */
static int cmd_check__policy_mode(const char *json, enum decide_sandbox *mode)
{
	struct policy_split split;
	char *cause = NULL;

	if (policy_parse(json, &split, &cause) != 0) {
		fprintf(stderr, "airlock: --sandbox-policy: %s\n",
		        cause != NULL ? cause : "invalid");
		free(cause);
		return 2;
	}
	*mode = DECIDE_SANDBOX_READ_ONLY;
	if (split.fs.kind != POLICY_FS_RESTRICTED)
		*mode = DECIDE_SANDBOX_DANGER_FULL_ACCESS;
	else
		for (size_t i = 0; i < split.fs.n_entries; i++)
			if (split.fs.entries[i].access == POLICY_ACCESS_WRITE)
				*mode = DECIDE_SANDBOX_WORKSPACE_WRITE;
	policy_split_free(&split);
	return 0;
}

/* Runs `airlock check`. */
int cmd_check(const struct cli_options *opts)
{
	struct decide_input in = {0};
	struct decide_result res;
	struct rules_workspace_info info;
	struct rules *rules;
	char *cause = NULL, *text;
	cJSON *o;

	if (opts->argc <= 0) {
		fprintf(stderr, "airlock: check: no command given (airlock check [OPTIONS] -- CMD "
		                "ARG...)\n");
		return 2;
	}
	if (decide_approval_parse(opts->approval != NULL ? opts->approval : "never",
	                          &in.approval) != 0 ||
	    decide_sandbox_parse(opts->sandbox != NULL ? opts->sandbox : "workspace-write",
	                         &in.sandbox) != 0) {
		fprintf(stderr, "airlock: check: bad approval policy or sandbox mode\n");
		return 2;
	}
	if (opts->sandbox_policy != NULL &&
	    cmd_check__policy_mode(opts->sandbox_policy, &in.sandbox))
		return 2;
	rules = cli_options_rules(opts);
	if (rules_load_all_info(rules, opts->home, opts->cwd, &info, &cause) != 0) {
		fprintf(stderr, "airlock: %s\n", cause != NULL ? cause : "cannot load the rules");
		free(cause);
		rules_free(rules);
		return 2;
	}
	in.argc = (size_t)opts->argc;
	in.argv = opts->argv;
	in.cwd = opts->cwd;
	in.rules = rules;
	decide_command(&in, &res);
	o = cmd_check__json(&res, &info);
	cmd_check__managed(o, &opts->managed);
	/* The permission profile in force, when one is (SPEC 12). */
	if (opts->profile != NULL)
		cJSON_AddStringToObject(o, "permissions", opts->profile);
	if (info.ignored_allow > 0)
		fprintf(stderr,
		        "airlock: %zu allow rule%s of this workspace's own rules ignored: "
		        "not trusted (airlock trust)\n",
		        info.ignored_allow, info.ignored_allow == 1 ? "" : "s");
	audit_json_fix_utf8(o); /* valid JSON whatever the bytes (U+FFFD) */
	text = cJSON_PrintUnformatted(o);
	printf("%s\n", text);
	fflush(stdout);
	cJSON_free(text);
	cJSON_Delete(o);
	decide_result_free(&res);
	rules_free(rules);
	return 0;
}
