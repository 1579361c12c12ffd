/*
 * The options shared by the TUI, `exec` and `check` (SPEC section 1).
 * Defaults come first from the mode, then from config.json, then from the
 * command line; every value is checked against its table of allowed words
 * here, so the rest of airlock can trust them. Usage errors print one
 * `airlock: ...` line and make the caller exit 2.
 */
#include "cli.h"

#include "core/audit.h"

#include "core/approval.h"
#include "core/config.h"
#include "core/policy-profile.h"
#include "core/sandbox-command.h"
#include "core/xmalloc.h"
#include "tui/usage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const options__sandbox_modes[] = {"read-only", "workspace-write",
                                                     "danger-full-access", NULL};
static const char *const options__approvals[] = {"untrusted", "on-failure", "on-request", "never",
                                                 NULL};
static const char *const options__network_modes[] = {"off", "ask", "on", NULL};

enum {
	OPTIONS__SANDBOX_POLICY = 256,
	OPTIONS__HOME,
	OPTIONS__NO_COLOR,
	OPTIONS__LEGACY_LANDLOCK,
	OPTIONS__TIMEOUT,
};

static const struct option options__long[] = {
    {"sandbox", required_argument, NULL, 's'},
    {"ask-for-approval", required_argument, NULL, 'a'},
    {"writable-root", required_argument, NULL, 'w'},
    {"network", required_argument, NULL, 'n'},
    {"cd", required_argument, NULL, 'C'},
    {"permissions", required_argument, NULL, 'p'},
    {"sandbox-policy", required_argument, NULL, OPTIONS__SANDBOX_POLICY},
    {"home", required_argument, NULL, OPTIONS__HOME},
    {"no-color", no_argument, NULL, OPTIONS__NO_COLOR},
    {"use-legacy-landlock", no_argument, NULL, OPTIONS__LEGACY_LANDLOCK},
    {"timeout", required_argument, NULL, OPTIONS__TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Returns the table entry equal to VALUE, or NULL after printing why not. */
static const char *options__word(const char *flag, const char *value, const char *const *allowed)
{
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(value, allowed[i]) == 0)
			return allowed[i];
	fprintf(stderr, "airlock: %s: \"%s\" is not one of", flag, value);
	for (size_t i = 0; allowed[i] != NULL; i++)
		fprintf(stderr, "%s %s", i ? "," : "", allowed[i]);
	fputc('\n', stderr);
	return NULL;
}

/* The absolute, resolved form of directory DIR, or NULL after printing why. */
static char *options__dir(const char *flag, const char *dir)
{
	char *real = realpath(dir, NULL);

	if (real == NULL) {
		fprintf(stderr, "airlock: %s %s: %s\n", flag, dir, strerror(errno));
		return NULL;
	}
	return real;
}

/* Adds root ROOT (resolved) to OPTS, unless it is there already. */
static int options__add_root(struct cli_options *opts, const char *root)
{
	char *real = options__dir("--writable-root", root);

	if (real == NULL)
		return 2;
	for (size_t i = 0; i < opts->n_writable_roots; i++) {
		if (strcmp(opts->writable_roots[i], real) == 0) {
			free(real);
			return 0;
		}
	}
	opts->writable_roots =
	    xreallocarray(opts->writable_roots, opts->n_writable_roots + 1, sizeof(char *));
	opts->writable_roots[opts->n_writable_roots++] = real;
	return 0;
}

/*
 * Takes the defaults of MODE, then those of config.json in OPTS->home (kept
 * in OPTS). A bad config.json leaves *CAUSE for the caller, who reports it
 * only after --help and --version had their chance.
 */
static int options__defaults(struct cli_options *opts, enum cli_mode mode, char **cause)
{
	struct config *cfg = &opts->config;

	opts->mode = mode;
	opts->sandbox = "workspace-write";
	opts->approval = mode == CLI_MODE_TUI ? "on-failure" : "never";
	opts->network = mode == CLI_MODE_TUI ? "ask" : "off";
	if (config_load(cfg, opts->home, cause) != 0)
		return 2;
	/* config_load checked every value against the same tables. */
	if (cfg->sandbox != NULL)
		opts->sandbox = options__word("sandbox", cfg->sandbox, options__sandbox_modes);
	if (cfg->approval != NULL)
		opts->approval =
		    options__word("ask_for_approval", cfg->approval, options__approvals);
	opts->reject = cfg->approval_reject;
	if (cfg->network != NULL)
		opts->network = options__word("network.mode", cfg->network, options__network_modes);
	for (size_t i = 0; i < cfg->n_writable_roots; i++) {
		if (options__add_root(opts, cfg->writable_roots[i]) != 0)
			return 2;
	}
	return 0;
}

/*
 * -a VALUE: one of the policies, or reject:KIND[,KIND...], which is on-request
 * with those kinds of prompt refused unasked (SPEC 12). 0, or 2 after printing.
 */
static int options__approval(struct cli_options *opts, const char *value)
{
	opts->reject = 0; /* the flag replaces config.json's approval, reject list and all */
	if (strncmp(value, "reject:", 7) == 0) {
		if (approval_reject_parse(value + 7, &opts->reject) != 0) {
			fprintf(stderr,
			        "airlock: --ask-for-approval: \"%s\": reject: takes kinds from sandbox, "
			        "rules, patches, network (comma-separated)\n",
			        value);
			return 2;
		}
		opts->approval = "on-request";
		return 0;
	}
	if ((opts->approval = options__word("--ask-for-approval", value, options__approvals)) ==
	    NULL)
		return 2;
	return 0;
}

/*
 * Puts permission profile NAME in force (SPEC 12): its split policy for
 * the helper, the sandbox mode decisions count it as, and its network mode
 * unless -n gave one (NETWORK_FLAG). 0, or 2 after printing why not.
 */
static int options__profile(struct cli_options *opts, const char *name, bool network_flag)
{
	struct policy_split split;
	const char *network = NULL;
	char *cause = NULL;

	if (policy_profile_resolve(&opts->config.profiles, name, opts->writable_roots,
	                           opts->n_writable_roots, &split, &network, &cause) != 0) {
		fprintf(stderr, "airlock: --permissions: %s\n", cause);
		free(cause);
		return 2;
	}
	if (network != NULL && !network_flag)
		opts->network = network;
	opts->sandbox = policy_profile_mode(&split);
	opts->profile = xstrdup(name);
	opts->profile_fs = policy_fs_to_json(&split.fs);
	policy_split_free(&split);
	return 0;
}

/* Parses the command line; a bad config.json is left in *CONFIG_CAUSE, not reported. */
static int options__parse(struct cli_options *opts, enum cli_mode mode, int argc, char **argv,
                          char **config_cause)
{
	const char *home_flag = NULL, *profile = NULL, *legacy_flag = NULL;
	bool network_flag = false;
	int c;

	memset(opts, 0, sizeof *opts);
	/* --home decides where config.json is, so find it before anything else. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--home") == 0 && i + 1 < argc)
			home_flag = argv[i + 1];
		else if (strncmp(argv[i], "--home=", 7) == 0)
			home_flag = argv[i] + 7;
	}
	opts->home = config_home(home_flag);
	/* --home moves everything AIRLOCK_HOME does, the audit log included (SPEC 9). */
	if (home_flag != NULL && *home_flag != '\0')
		setenv("AIRLOCK_HOME", opts->home, 1);
	if (options__defaults(opts, mode, config_cause) != 0 && *config_cause == NULL)
		return 2;
	opts->no_color = getenv("NO_COLOR") != NULL && *getenv("NO_COLOR") != '\0';

	optind = 1;
	opterr = 0;
	int after_options = 1; /* where the last option (and its value) ended */
	while ((c = getopt_long(argc, argv, "+:s:a:p:w:n:C:hV", options__long, NULL)) != -1) {
		after_options = optind;
		switch (c) {
		case 's':
			if ((opts->sandbox = options__word("--sandbox", optarg,
			                                   options__sandbox_modes)) == NULL)
				return 2;
			legacy_flag = "--sandbox";
			break;
		case 'a':
			if (options__approval(opts, optarg) != 0)
				return 2;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'n':
			network_flag = true;
			if ((opts->network = options__word("--network", optarg,
			                                   options__network_modes)) == NULL)
				return 2;
			break;
		case 'w':
			if (options__add_root(opts, optarg) != 0)
				return 2;
			legacy_flag = "--writable-root";
			break;
		case 'C':
			free(opts->cwd);
			if ((opts->cwd = options__dir("--cd", optarg)) == NULL)
				return 2;
			break;
		case OPTIONS__SANDBOX_POLICY:
			free(opts->sandbox_policy);
			opts->sandbox_policy = xstrdup(optarg);
			legacy_flag = "--sandbox-policy";
			break;
		case OPTIONS__HOME:
			break; /* taken above */
		case OPTIONS__NO_COLOR:
			opts->no_color = true;
			break;
		case OPTIONS__LEGACY_LANDLOCK:
			opts->legacy_landlock = true;
			break;
		case OPTIONS__TIMEOUT:
			if (mode != CLI_MODE_EXEC) {
				fprintf(stderr, "airlock: --timeout is for exec and submit (see airlock "
				                "%s--help)\n",
				        usage_subcommand(mode));
				return 2;
			}
			if (cli_parse_timeout(optarg, &opts->timeout_ms) != 0) {
				fprintf(stderr,
				        "airlock: --timeout: \"%s\" is not a number of seconds above 0\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage_print(stdout, mode);
			return -1;
		case 'V':
			printf("airlock %s\n", usage_version());
			return -1;
		case ':':
			fprintf(stderr, "airlock: %s needs a value (see airlock %s--help)\n",
			        argv[optind - 1], usage_subcommand(mode));
			return 2;
		default:
			if (optopt != 0)
				fprintf(stderr,
				        "airlock: unknown option -%c (see airlock %s--help)\n",
				        optopt, usage_subcommand(mode));
			else
				fprintf(stderr,
				        "airlock: unknown option %s (see airlock %s--help)\n",
				        argv[optind - 1], usage_subcommand(mode));
			return 2;
		}
	}
	/* getopt steps over a `--` that ends the options: optind is then past it. */
	if (optind < argc && strcmp(argv[optind], "--") == 0) {
		optind++;
	} else if (optind < argc && optind == after_options && mode == CLI_MODE_TUI) {
		/* A word before `--` that is not a subcommand is a mistake, never a command. */
		fprintf(stderr,
		        "airlock: unknown command \"%s\" (see airlock --help; to run it in the "
		        "TUI: airlock -- %s)\n",
		        argv[optind], argv[optind]);
		return 2;
	}
	opts->argv = argv + optind;
	opts->argc = argc - optind;
	/* A profile says all a policy says: with a legacy flag it is a contradiction (SPEC 12). */
	if (profile != NULL && legacy_flag != NULL) {
		fprintf(stderr,
		        "airlock: --permissions %s cannot be combined with %s: a permission profile "
		        "is the whole policy (drop one of them)\n",
		        profile, legacy_flag);
		return 2;
	}
	/* config.json's default_permissions yields to a legacy flag on the command line. */
	if (profile == NULL && legacy_flag == NULL && *config_cause == NULL)
		profile = opts->config.default_permissions;
	if (profile != NULL && *config_cause == NULL &&
	    options__profile(opts, profile, network_flag) != 0)
		return 2;
	if (opts->cwd == NULL) {
		opts->cwd = options__dir("the current directory", ".");
		if (opts->cwd == NULL)
			return 2;
	}
	return 0;
}

int cli_options_parse(struct cli_options *opts, enum cli_mode mode, int argc, char **argv)
{
	char *config_cause = NULL;
	int rc = options__parse(opts, mode, argc, argv, &config_cause);

	/* --help and --version work whatever config.json holds; a usage error is told first. */
	if (config_cause != NULL && rc == 0) {
		fprintf(stderr, "airlock: %s\n", config_cause);
		rc = 2;
	}
	free(config_cause);
	/* The administrator's limits, over everything the user chose (SPEC 11). */
	if (rc == 0)
		rc = cli_options_managed(opts, argc, argv);
	return rc;
}

int cli_parse_timeout(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* At most a week: a bound, not a way to overflow a timer. */
	if (end == s || *end != '\0' || errno != 0 || !(v > 0) || v > 7 * 24 * 3600.0)
		return -EINVAL;
	*ms = (uint64_t)(v * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

char *cli_options_policy(const struct cli_options *opts)
{
	if (opts->sandbox_policy != NULL)
		return xstrdup(opts->sandbox_policy);
	if (opts->profile_fs != NULL)
		return xstrdup(opts->profile_fs);
	return sandbox_command_policy(opts->sandbox, opts->writable_roots, opts->n_writable_roots,
	                              strcmp(opts->network, "on") == 0);
}

void cli_options_sandbox_policy(const struct cli_options *opts, const char *policy,
                                struct sandbox_command *sc)
{
	cJSON *json = cJSON_Parse(policy);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(json, "kind");

	/* A split file-system policy (a profile's) has a "kind"; a legacy one a "type". */
	if (cJSON_IsString(kind)) {
		sc->policy_json = NULL;
		sc->fs_policy_json = policy;
		sc->net_policy = strcmp(kind->valuestring, "unrestricted") == 0 ||
		                         strcmp(opts->network, "on") == 0
		                     ? "\"enabled\""
		                     : "\"restricted\"";
	} else {
		sc->policy_json = policy;
	}
	cJSON_Delete(json);
}

void cli_options_sandbox(const struct cli_options *opts, struct sandbox_command *sc)
{
	sc->protected_paths = opts->config.protected_paths;
	sc->n_protected_paths = opts->config.n_protected_paths;
	sc->git_protection_full = opts->config.git_protection_full;
	sc->home = opts->home;
	sc->legacy_landlock = opts->legacy_landlock;
	sc->host_ports = opts->config.host_loopback_ports;
	sc->n_host_ports = opts->config.n_host_loopback_ports;
	sc->host_sockets = opts->config.host_sockets;
	sc->n_host_sockets = opts->config.n_host_sockets;
	sc->env_keep = opts->config.environment_keep;
	sc->n_env_keep = opts->config.n_environment_keep;
	sc->env_set = opts->config.environment_set;
	sc->n_env_set = opts->config.n_environment_set;
}

void cli_options_free(struct cli_options *opts)
{
	for (size_t i = 0; i < opts->n_writable_roots; i++)
		free(opts->writable_roots[i]);
	free(opts->writable_roots);
	free(opts->cwd);
	free(opts->sandbox_policy);
	free(opts->profile);
	free(opts->profile_fs);
	free(opts->home);
	config_free(&opts->config);
	managed_free(&opts->managed);
	memset(opts, 0, sizeof *opts);
}

/* audit.sync from config.json (checked when it was loaded); batch when unset. */
void cli_audit_sync(struct audit *a, const struct config *cfg)
{
	enum audit_sync mode = AUDIT_SYNC_BATCH;

	if (cfg->audit_sync != NULL && audit_sync_parse(cfg->audit_sync, &mode) != 0)
		mode = AUDIT_SYNC_BATCH;
	audit_set_sync(a, mode);
}
