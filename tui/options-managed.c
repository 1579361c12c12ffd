/*
 * The managed policy meets the command line (SPEC 11). After the options
 * are parsed (config.json first, then flags), the managed file is read and
 * the approval policy, network mode and sandbox mode in force are checked
 * against its allowed_* lists. A value the user chose (a flag or a
 * config.json key) that is not allowed stops airlock with exit 2, naming the
 * value, where it came from and the managed key: it is never silently
 * changed. A built-in default that is not allowed yields to the first word
 * of the list, since the user asked for nothing. The managed lists that add
 * to the user's (protected paths, denied and allowed domains, private
 * addresses) are then appended to the config the rest of airlock reads, so
 * every consumer obeys them without knowing where they came from.
 */
#include "cli.h"

#include "core/managed.h"
#include "core/policy.h"
#include "core/rules.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const options_managed__approvals[] = {"untrusted", "on-failure", "on-request",
                                                         "never", NULL};
static const char *const options_managed__networks[] = {"off", "ask", "on", NULL};
static const char *const options_managed__sandboxes[] = {"read-only", "workspace-write",
                                                         "danger-full-access", NULL};

/*
 * Whether ARGV (before `--`) holds short option -SHORT or long option
 * --LONG (alone or with =VALUE): only to name where a value came from.
 */
static bool options_managed__given(int argc, char **argv, char short_opt, const char *long_opt)
{
	size_t len = strlen(long_opt);

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];

		if (a[0] != '-')
			continue;
		if (a[1] == '-' && strncmp(a + 2, long_opt, len) == 0 &&
		    (a[2 + len] == '\0' || a[2 + len] == '='))
			return true;
		if (a[1] == short_opt)
			return true;
	}
	return false;
}

/* Appends copies of list L to the string array *V of *N. */
static void options_managed__append(char ***v, size_t *n, const struct managed_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[(*n)++] = xstrdup(l->v[i]);
	}
}

/*
 * The sandbox mode and network mode a --sandbox-policy JSON amounts to
 * (*SANDBOX, *NETWORK: static words, left alone when the JSON does not
 * parse: the command reports that itself).
 */
static void options_managed__policy_words(const char *json, const char **sandbox,
                                          const char **network)
{
	struct policy_split split;
	char *cause = NULL;

	if (policy_parse(json, &split, &cause) != 0) {
		free(cause);
		return;
	}
	*sandbox = "read-only";
	if (split.fs.kind != POLICY_FS_RESTRICTED)
		*sandbox = "danger-full-access";
	else
		for (size_t i = 0; i < split.fs.n_entries; i++)
			if (split.fs.entries[i].access == POLICY_ACCESS_WRITE)
				*sandbox = "workspace-write";
	*network = split.net == POLICY_NET_ENABLED ? "on" : split.net == POLICY_NET_PROXY ? "ask" : "off";
	policy_split_free(&split);
}

/* Where OPTS's approval policy came from, for a refusal. */
static const char *options_managed__approval_from(const struct cli_options *opts, int argc,
                                                  char **argv)
{
	if (options_managed__given(argc, argv, 'a', "ask-for-approval"))
		return "--ask-for-approval";
	return opts->config.approval != NULL ? "config.json ask_for_approval" : NULL;
}

/* Where OPTS's network mode came from, for a refusal. */
static const char *options_managed__network_from(const struct cli_options *opts, int argc,
                                                 char **argv)
{
	if (opts->sandbox_policy != NULL)
		return "--sandbox-policy";
	if (options_managed__given(argc, argv, 'n', "network"))
		return "--network";
	if (options_managed__given(argc, argv, 'p', "permissions"))
		return "--permissions";
	return opts->config.network != NULL ? "config.json network.mode" : NULL;
}

/* Where OPTS's sandbox mode came from, for a refusal. */
static const char *options_managed__sandbox_from(const struct cli_options *opts, int argc,
                                                 char **argv)
{
	if (opts->sandbox_policy != NULL)
		return "--sandbox-policy";
	if (options_managed__given(argc, argv, 's', "sandbox"))
		return "--sandbox";
	if (options_managed__given(argc, argv, 'p', "permissions"))
		return "--permissions";
	return opts->config.sandbox != NULL ? "config.json sandbox" : NULL;
}

int cli_options_managed(struct cli_options *opts, int argc, char **argv)
{
	struct managed *m = &opts->managed;
	const char *sandbox = opts->sandbox, *network = opts->network;
	const char *approval_from, *network_from, *sandbox_from;
	char *cause = NULL;

	if (managed_load(m, managed_default_path(), &cause) != 0) {
		fprintf(stderr, "airlock: %s\n", cause);
		free(cause);
		return 2;
	}
	if (!m->present)
		return 0;
	approval_from = options_managed__approval_from(opts, argc, argv);
	network_from = options_managed__network_from(opts, argc, argv);
	sandbox_from = options_managed__sandbox_from(opts, argc, argv);
	if (opts->sandbox_policy != NULL)
		options_managed__policy_words(opts->sandbox_policy, &sandbox, &network);
	/* A default the user did not choose yields to what the administrator allows. */
	if (approval_from == NULL && !managed_allows(&m->approval_policies, opts->approval)) {
		const char *first =
		    managed_first_allowed(&m->approval_policies, options_managed__approvals);

		if (first != NULL)
			opts->approval = first;
	}
	if (network_from == NULL && !managed_allows(&m->network_modes, network)) {
		const char *first = managed_first_allowed(&m->network_modes, options_managed__networks);

		if (first != NULL)
			opts->network = network = first;
	}
	if (sandbox_from == NULL && !managed_allows(&m->sandbox_policies, sandbox)) {
		const char *first =
		    managed_first_allowed(&m->sandbox_policies, options_managed__sandboxes);

		if (first != NULL)
			opts->sandbox = sandbox = first;
	}
	if (managed_refuse(m, opts->approval, approval_from, network, network_from, sandbox,
	                   sandbox_from, &cause) != 0) {
		fprintf(stderr, "airlock: %s\n", cause);
		free(cause);
		return 2;
	}
	/* What the managed file adds to the user's lists, every consumer obeys. */
	options_managed__append(&opts->config.protected_paths, &opts->config.n_protected_paths,
	                        &m->protected_paths);
	options_managed__append(&opts->config.denied_domains, &opts->config.n_denied_domains,
	                        &m->denied_domains);
	options_managed__append(&opts->config.allowed_domains, &opts->config.n_allowed_domains,
	                        &m->allowed_domains);
	options_managed__append(&opts->config.allow_private, &opts->config.n_allow_private,
	                        &m->allow_private);
	return 0;
}

struct rules *cli_options_rules(const struct cli_options *opts)
{
	struct rules *r = rules_new();

	if (opts->managed.present) {
		rules_set_managed(r, opts->managed.rules_dir);
		rules_set_sandbox_only(r, !opts->managed.allow_unsandboxed);
	}
	return r;
}
