/*
 * The decision function. It is a pure function of its input: split the
 * command, judge each part (rules first, then the safe/dangerous tables),
 * then combine the parts under the approval policy in the fixed order that
 * decide.h documents. Every outcome carries a reason sentence naming what
 * decided it, so `airlock check`, prompts and the audit log can say why.
 *
 * Judging a part walks the command through its wrappers (one resolution of
 * the program name, rules_resolve_program, serves the rules and the
 * known-safe table alike) and into any shell script it carries. Allow
 * rules are counted only on the straight path (benign wrappers, splittable
 * scripts); forbidden and prompt rules and dangerous shapes count wherever
 * they are found, so no path, wrapper or opaque script dodges them. Work is
 * bounded: wrappers to DECIDE_MAX_LAYERS, nested scripts to
 * DECIDE_MAX_NEST, and the later-word walk of an unknown wrapper is done
 * once per command, never again inside itself.
 */
#include "decide.h"

#include "safe-commands.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
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
    /* git on a protected config (EBUSY on the read-only bind), or its object dirs */
    "device or resource busy",
    "unable to create",
    "could not lock",
    /* curl to a host the sandbox cannot reach */
    "couldn't connect",
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

/*
 * Options that take a value, per program (SPEC 5: the prefix skips them and
 * their values). SHORT: letters whose value is the rest of the word or the
 * next word; SHORT_OPT: letters whose value is optional and numeric (make
 * -j 4); LONG: long options whose value may be the next word. SUB: the
 * program runs subcommands, so without one it gets no prefix at all.
 */
struct decide__prog_opts {
	const char *name;
	const char *short_val;
	const char *short_opt;
	const char *const *long_val;
	bool sub;
};

static const char *const decide__git_long[] = {"--git-dir",      "--work-tree",   "--namespace",
                                               "--super-prefix", "--config-env",  "--exec-path",
                                               "--list-cmds",    "--attr-source", NULL};
static const char *const decide__make_long[] = {
    "--directory",    "--file",     "--makefile",    "--include-dir", "--jobs",
    "--load-average", "--old-file", "--what-if",     "--new-file",    "--assume-new",
    "--assume-old",   "--eval",     "--output-sync", "--debug",       NULL};
static const char *const decide__npm_long[] = {
    "--prefix",     "--workspace",    "--registry", "--cache",
    "--userconfig", "--globalconfig", "--loglevel", "--scope",
    "--tag",        "--otp",          NULL};
static const char *const decide__cargo_long[] = {"--config",     "--color", "--manifest-path",
                                                 "--target-dir", "--jobs",  NULL};
static const char *const decide__docker_long[] = {
    "--host", "--context", "--config", "--log-level", "--tlscacert", "--tlscert", "--tlskey", NULL};
static const char *const decide__kubectl_long[] = {"--namespace",
                                                   "--context",
                                                   "--cluster",
                                                   "--kubeconfig",
                                                   "--server",
                                                   "--user",
                                                   "--token",
                                                   "--as",
                                                   "--as-group",
                                                   "--request-timeout",
                                                   "--certificate-authority",
                                                   "--client-certificate",
                                                   "--client-key",
                                                   "--cache-dir",
                                                   "--profile",
                                                   "--profile-output",
                                                   NULL};

static const struct decide__prog_opts decide__prog_opts[] = {
    {.name = "git", .short_val = "Cc", .long_val = decide__git_long, .sub = true},
    {.name = "make", .short_val = "CfIoWE", .short_opt = "jl", .long_val = decide__make_long},
    {.name = "gmake", .short_val = "CfIoWE", .short_opt = "jl", .long_val = decide__make_long},
    {.name = "npm", .short_val = "w", .long_val = decide__npm_long, .sub = true},
    {.name = "pnpm", .short_val = "wC", .long_val = decide__npm_long, .sub = true},
    {.name = "yarn", .long_val = decide__npm_long, .sub = true},
    {.name = "cargo", .short_val = "CZj", .long_val = decide__cargo_long, .sub = true},
    {.name = "docker", .short_val = "Hcl", .long_val = decide__docker_long, .sub = true},
    {.name = "podman", .short_val = "Hcl", .long_val = decide__docker_long, .sub = true},
    {.name = "kubectl", .short_val = "nsv", .long_val = decide__kubectl_long, .sub = true},
};

/* Index of the first word of ARGV (from 1) that is neither an option nor an option's value. */
static size_t decide__first_word(const struct decide__prog_opts *po, size_t argc,
                                 char *const argv[])
{
	size_t i = 1;

	while (i < argc) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (a[1] == '-') {
			bool takes = false;

			for (const char *const *l = po != NULL ? po->long_val : NULL;
			     l != NULL && *l; l++)
				if (strcmp(a, *l) == 0)
					takes = true;
			i += takes ? 2 : 1;
			continue;
		}
		i++;
		for (const char *c = a + 1; po != NULL && *c != '\0'; c++) {
			if (po->short_val != NULL && strchr(po->short_val, *c) != NULL) {
				if (c[1] == '\0')
					i++; /* the value is the next word */
				break;
			}
			if (po->short_opt != NULL && strchr(po->short_opt, *c) != NULL) {
				if (c[1] == '\0' && i < argc &&
				    strspn(argv[i], "0123456789.") == strlen(argv[i]) &&
				    argv[i][0] != '\0')
					i++;
				break;
			}
		}
	}
	return argc;
}

/* The `p` prefix for one command, or NULL. */
char **decide_prefix(size_t argc, char *const argv[], size_t *n)
{
	const struct decide__prog_opts *po = NULL;
	const char *base;
	char **out;
	size_t at, len;

	*n = 0;
	if (argc == 0 || argv[0][0] == '\0' || safe_commands_is_dangerous(argc, argv))
		return NULL;
	/* A wrapper runs the command in its arguments: no prefix covers that. */
	if (safe_commands_is_wrapper(argv[0]))
		return NULL;
	base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	for (size_t i = 0; i < sizeof decide__prog_opts / sizeof *decide__prog_opts; i++)
		if (strcmp(base, decide__prog_opts[i].name) == 0)
			po = &decide__prog_opts[i];
	if (safe_commands_is_interpreter(argv[0])) {
		/* An interpreter only with its script (`python manage.py`), never bare or -c/-e/-m.
		 */
		if (argc < 2 || argv[1][0] == '-' || argv[1][0] == '\0')
			return NULL;
		at = 1;
	} else {
		at = decide__first_word(po, argc, argv);
		if (at >= argc && po != NULL && po->sub && argc > 1)
			return NULL; /* `git -C x` with no subcommand: no prefix */
	}
	len = at < argc && argv[at][0] != '\0' ? 2 : 1;
	if (strchr(argv[0], '\n') != NULL || strchr(argv[0], '\r') != NULL ||
	    (len == 2 && (strchr(argv[at], '\n') != NULL || strchr(argv[at], '\r') != NULL)))
		return NULL;
	out = xcalloc(len + 1, sizeof *out);
	out[0] = xstrdup(argv[0]);
	if (len == 2)
		out[1] = xstrdup(argv[at]);
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

/* ---- judging one command -------------------------------------------------- */

/* Nested shell scripts (`bash -c "bash -c '...'"`) the judge follows. */
#define DECIDE_MAX_NEST 8
/* Wrappers looked through, one inside the other, before giving up. */
#define DECIDE_MAX_LAYERS 16

/* What judging one command (and everything it runs) found. */
struct decide__judge {
	const struct rules *rules;
	struct rules_matches *m; /* counted rule matches go here */
	size_t before;           /* the current part's matches start here in m */
	bool allowed;            /* a counted allow rule matched */
	bool dangerous;          /* dangerous at its own level (an allow rule there overrides) */
	bool dangerous_inner;    /* dangerous inside a script (nothing overrides) */
	bool safe;               /* the command it runs is known-safe */
	bool incomplete;         /* a script nested too deeply to be scanned whole */
	char **view;             /* scratch argv */
	size_t view_cap;
	unsigned nest;
	char *dangerous_name; /* the first dangerous command's program, owned */
};

/* How a wrapper's own words are laid out. */
enum decide__wrap {
	DECIDE__WRAP_NONE,    /* not a wrapper */
	DECIDE__WRAP_KNOWN,   /* its options are known: the command starts at *inner */
	DECIDE__WRAP_UNKNOWN, /* runs a command somewhere in its words */
};

/* What a program name means to the judge (one table for wrappers, shells and eval). */
enum decide__kind {
	DECIDE__K_NONE,
	DECIDE__K_COMMAND, /* command, builtin */
	DECIDE__K_EXEC,
	DECIDE__K_NOHUP,
	DECIDE__K_TIME,
	DECIDE__K_NICE,
	DECIDE__K_TIMEOUT,
	DECIDE__K_ENV,
	DECIDE__K_SUDO, /* sudo, doas */
	DECIDE__K_FIND,
	DECIDE__K_WRAPPER, /* runs a command somewhere in its words; options unknown */
	DECIDE__K_SHELL,   /* its -c argument is a script */
	DECIDE__K_EVAL,
};

/* The names with a meaning, and that meaning (wrappers as in safe-commands.c). */
static const struct {
	const char *name;
	enum decide__kind kind;
} decide__kinds[] = {
    {"ash", DECIDE__K_SHELL},       {"bash", DECIDE__K_SHELL},
    {"builtin", DECIDE__K_COMMAND}, {"busybox", DECIDE__K_WRAPPER},
    {"bwrap", DECIDE__K_WRAPPER},   {"chroot", DECIDE__K_WRAPPER},
    {"chrt", DECIDE__K_WRAPPER},    {"command", DECIDE__K_COMMAND},
    {"dash", DECIDE__K_SHELL},      {"doas", DECIDE__K_SUDO},
    {"env", DECIDE__K_ENV},         {"eval", DECIDE__K_EVAL},
    {"exec", DECIDE__K_EXEC},       {"faketime", DECIDE__K_WRAPPER},
    {"find", DECIDE__K_FIND},       {"firejail", DECIDE__K_WRAPPER},
    {"flock", DECIDE__K_WRAPPER},   {"ionice", DECIDE__K_WRAPPER},
    {"ksh", DECIDE__K_SHELL},       {"ltrace", DECIDE__K_WRAPPER},
    {"mksh", DECIDE__K_SHELL},      {"nice", DECIDE__K_NICE},
    {"nohup", DECIDE__K_NOHUP},     {"nsenter", DECIDE__K_WRAPPER},
    {"runuser", DECIDE__K_WRAPPER}, {"script", DECIDE__K_WRAPPER},
    {"setsid", DECIDE__K_WRAPPER},  {"sh", DECIDE__K_SHELL},
    {"stdbuf", DECIDE__K_WRAPPER},  {"strace", DECIDE__K_WRAPPER},
    {"su", DECIDE__K_WRAPPER},      {"sudo", DECIDE__K_SUDO},
    {"taskset", DECIDE__K_WRAPPER}, {"time", DECIDE__K_TIME},
    {"timeout", DECIDE__K_TIMEOUT}, {"unshare", DECIDE__K_WRAPPER},
    {"watch", DECIDE__K_WRAPPER},   {"xargs", DECIDE__K_WRAPPER},
    {"zsh", DECIDE__K_SHELL},
};

/* The meaning of program NAME (first bytes compared before any strcmp). */
static enum decide__kind decide__kind_of(const char *name)
{
	for (size_t i = 0; i < sizeof decide__kinds / sizeof *decide__kinds; i++)
		if (decide__kinds[i].name[0] == name[0] && strcmp(decide__kinds[i].name, name) == 0)
			return decide__kinds[i].kind;
	return DECIDE__K_NONE;
}

/* True when W is `NAME=value`. */
static bool decide__assignment(const char *w)
{
	const char *p = w;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return false;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	return *p == '=';
}

/*
 * Skips the options of a wrapper from word I: WITH_VALUE lists the short
 * options (letters) and long options (NULL-terminated) that take a value.
 * Returns the index of the first word that is not an option, or ARGC.
 */
static size_t decide__skip_opts(size_t argc, char *const argv[], size_t i, const char *short_val,
                                const char *const *long_val)
{
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[1] == '-') {
			bool takes = false;

			for (const char *const *l = long_val; l != NULL && *l != NULL; l++)
				if (strcmp(a, *l) == 0)
					takes = true;
			i += takes ? 2 : 1;
			continue;
		}
		/* A cluster: a value-taking letter takes the rest, or the next word. */
		for (const char *c = a + 1; *c != '\0'; c++)
			if (short_val != NULL && strchr(short_val, *c) != NULL) {
				if (c[1] == '\0')
					i++;
				break;
			}
		i++;
	}
	return i;
}

/*
 * Where the command run by wrapper NAME (argv[0], resolved) starts: sets
 * *INNER and *BENIGN (false when the wrapper changes privileges or the
 * environment: allow rules do not reach through it).
 */
static enum decide__wrap decide__wrapper(enum decide__kind kind, size_t argc, char *const argv[],
                                         size_t *inner, bool *benign)
{
	static const char *const env_long[] = {"--unset", "--chdir", "--split-string", NULL};
	static const char *const nice_long[] = {"--adjustment", NULL};
	static const char *const timeout_long[] = {"--signal", "--kill-after", NULL};
	static const char *const sudo_long[] = {
	    "--user",       "--group",           "--host", "--prompt",
	    "--close-from", "--chdir",           "--role", "--type",
	    "--other-user", "--command-timeout", NULL};
	size_t i;

	*benign = true;
	if (kind == DECIDE__K_COMMAND) {
		i = decide__skip_opts(argc, argv, 1, NULL, NULL);
		/* `command -v x` only looks x up. */
		for (size_t k = 1; k < i; k++)
			if (strpbrk(argv[k], "vV") != NULL && argv[k][1] != '-')
				return DECIDE__WRAP_NONE;
	} else if (kind == DECIDE__K_EXEC) {
		i = decide__skip_opts(argc, argv, 1, "a", NULL);
	} else if (kind == DECIDE__K_NOHUP) {
		i = decide__skip_opts(argc, argv, 1, NULL, NULL);
	} else if (kind == DECIDE__K_TIME) {
		i = decide__skip_opts(argc, argv, 1, "fo", NULL);
	} else if (kind == DECIDE__K_NICE) {
		i = 1;
		/* `nice -5 cmd`, `nice -n 5 cmd`, `nice -n5 cmd`. */
		while (i < argc && argv[i][0] == '-' && isdigit((unsigned char)argv[i][1]))
			i++;
		i = decide__skip_opts(argc, argv, i, "n", nice_long);
	} else if (kind == DECIDE__K_TIMEOUT) {
		i = decide__skip_opts(argc, argv, 1, "sk", timeout_long);
		i++; /* the duration */
	} else if (kind == DECIDE__K_ENV) {
		for (size_t k = 1; k < argc && argv[k][0] == '-'; k++)
			if (strcmp(argv[k], "-S") == 0 ||
			    strncmp(argv[k], "--split-string", 14) == 0 ||
			    (argv[k][1] != '-' && strchr(argv[k], 'S') != NULL))
				return DECIDE__WRAP_UNKNOWN;
		i = decide__skip_opts(argc, argv, 1, "uC", env_long);
		for (; i < argc && decide__assignment(argv[i]); i++)
			*benign = false;
	} else if (kind == DECIDE__K_SUDO) {
		*benign = false;
		i = decide__skip_opts(argc, argv, 1, "ughpCDrtTUc", sudo_long);
		for (; i < argc && decide__assignment(argv[i]); i++)
			;
	} else if (kind == DECIDE__K_FIND) {
		/* find runs a command only through its -exec family. */
		for (size_t k = 1; k < argc; k++)
			if (strncmp(argv[k], "-exec", 5) == 0 || strncmp(argv[k], "-ok", 3) == 0) {
				*benign = false;
				return DECIDE__WRAP_UNKNOWN;
			}
		return DECIDE__WRAP_NONE;
	} else if (kind == DECIDE__K_WRAPPER) {
		*benign = false;
		return DECIDE__WRAP_UNKNOWN;
	} else {
		return DECIDE__WRAP_NONE;
	}
	if (i >= argc)
		return DECIDE__WRAP_NONE;
	*inner = i;
	return DECIDE__WRAP_KNOWN;
}

static void decide__judge_words(struct decide__judge *j, size_t argc, char *const argv[],
                                bool allow_ok);

/* The scan's callback: one command found in a script, judged with allow rules off. */
static void decide__scan_one(size_t argc, char *const argv[], void *ctx)
{
	struct decide__judge *j = ctx;
	bool dangerous = j->dangerous, safe = j->safe, allowed = j->allowed;

	j->dangerous = false;
	decide__judge_words(j, argc, argv, false);
	if (j->dangerous) {
		j->dangerous_inner = true;
	}
	j->dangerous = dangerous;
	j->safe = safe;
	j->allowed = allowed;
}

/* Scans SCRIPT conservatively: what it could run is judged, allow rules off. */
static void decide__scan(struct decide__judge *j, const char *script)
{
	if (j->nest >= DECIDE_MAX_NEST) {
		j->incomplete = true;
		return;
	}
	j->nest++;
	if (!shell_split_scan(script, decide__scan_one, j))
		j->incomplete = true;
	j->nest--;
}

/* True when RULE is among M's entries from FROM on. */
static bool decide__has(const struct rules_matches *m, size_t from, const struct rules_rule *rule)
{
	for (size_t i = from; i < m->n; i++)
		if (m->v[i] == rule)
			return true;
	return false;
}

/* Matches the rules for ARGV (its program resolved) into J; allow ones only when ALLOW_OK. */
static void decide__match(struct decide__judge *j, size_t argc, char *const argv[], bool allow_ok)
{
	struct rules_matches tmp = {0};
	const char *name, *mname;

	if (argc == 0 || j->rules == NULL)
		return;
	name = rules_resolve_program(j->rules, argv[0]);
	rules_match_command(j->rules, argc, argv, &tmp);
	if (name != NULL && name != argv[0]) {
		if (argc + 1 > j->view_cap) {
			j->view_cap = argc + 16;
			j->view = xreallocarray(j->view, j->view_cap, sizeof *j->view);
		}
		memcpy(j->view, argv, argc * sizeof *argv);
		j->view[0] = (char *)name;
		j->view[argc] = NULL;
		rules_match_command(j->rules, argc, j->view, &tmp);
	}
	/* The managed rules see through a pin of the user's (SPEC 11): restricting ones count. */
	mname = rules_resolve_program_managed(j->rules, argv[0]);
	if (mname != NULL && mname != argv[0] && mname != name) {
		struct rules_matches more = {0};

		if (argc + 1 > j->view_cap) {
			j->view_cap = argc + 16;
			j->view = xreallocarray(j->view, j->view_cap, sizeof *j->view);
		}
		memcpy(j->view, argv, argc * sizeof *argv);
		j->view[0] = (char *)mname;
		j->view[argc] = NULL;
		rules_match_command(j->rules, argc, j->view, &more);
		for (size_t i = 0; i < more.n; i++)
			if (more.v[i]->managed && more.v[i]->decision != RULES_ALLOW)
				rules_matches_add(&tmp, more.v[i]);
		rules_matches_free(&more);
	}
	for (size_t i = 0; i < tmp.n; i++) {
		if (tmp.v[i]->decision == RULES_ALLOW && !allow_ok)
			continue;
		if (tmp.v[i]->decision == RULES_ALLOW)
			j->allowed = true;
		if (!decide__has(j->m, j->before, tmp.v[i]))
			rules_matches_add(j->m, tmp.v[i]);
	}
	rules_matches_free(&tmp);
}

/*
 * `git -C . push` is `git push` to a forbidden or prompt rule: for programs
 * whose global options the prefix table knows, ARGV (program NAME) is also
 * matched with the options before its subcommand left out (restricting
 * rules only: an allow rule is written for what it says).
 */
static void decide__match_global_opts(struct decide__judge *j, const char *name, size_t argc,
                                      char *const argv[])
{
	const struct decide__prog_opts *po = NULL;
	char *small[16], **view;
	size_t at, n;

	if (argc < 3 || argv[1][0] != '-')
		return;
	for (size_t i = 0; i < sizeof decide__prog_opts / sizeof *decide__prog_opts; i++)
		if (strcmp(name, decide__prog_opts[i].name) == 0)
			po = &decide__prog_opts[i];
	if (po == NULL)
		return;
	at = decide__first_word(po, argc, argv);
	if (at <= 1 || at >= argc)
		return;
	n = 1 + argc - at;
	view = n + 1 <= sizeof small / sizeof *small ? small : xcalloc(n + 1, sizeof *view);
	view[0] = argv[0];
	memcpy(view + 1, argv + at, (argc - at) * sizeof *argv);
	view[n] = NULL;
	decide__match(j, n, view, false);
	if (view != small)
		free(view);
}

/*
 * Judges the command ARGV and every command it runs: through wrappers
 * (allow rules only through benign ones), into shell scripts (scanned,
 * allow rules off), at every later word of a wrapper whose options are
 * unknown (restricting rules only). SUFFIX: ARGV is one of those later
 * words' commands (the dangerous check and the suffix walk were done).
 */
static void decide__judge_argv(struct decide__judge *j, size_t argc, char *const argv[],
                               bool allow_ok, bool suffix)
{
	size_t off = 0;
	bool benign = allow_ok;

	j->safe = false;
	if (argc == 0)
		return;
	if (!suffix && safe_commands_is_dangerous(argc, argv)) {
		j->dangerous = true;
		if (j->dangerous_name == NULL)
			j->dangerous_name = xstrdup(argv[0]);
	}
	for (unsigned layer = 0; layer < DECIDE_MAX_LAYERS && off < argc; layer++) {
		const char *name = rules_resolve_program(j->rules, argv[off]);
		size_t inner = 0;
		bool ok = true;
		enum decide__wrap w;

		/*
		 * A program a pin of the user's left out is still looked into for
		 * the managed rules (SPEC 11), with allow rules off.
		 */
		if (name == NULL && (name = rules_resolve_program_managed(j->rules, argv[off])) != NULL)
			benign = false;
		enum decide__kind kind = name != NULL ? decide__kind_of(name) : DECIDE__K_NONE;

		if (kind == DECIDE__K_SHELL || kind == DECIDE__K_EVAL) {
			bool script = kind == DECIDE__K_EVAL;

			for (size_t i = off + 1; i < argc && !script; i++)
				script = argv[i][0] == '-' && argv[i][1] != '-' &&
				         strchr(argv[i], 'c') != NULL;
			/* A script is opaque: allow rules do not apply to it. */
			decide__match(j, argc - off, argv + off, benign && !script);
			script = kind == DECIDE__K_EVAL;
			for (size_t i = off + 1; i < argc; i++) {
				if (script)
					decide__scan(j, argv[i]);
				else if (argv[i][0] == '-' && argv[i][1] != '-' &&
				         strchr(argv[i], 'c') != NULL)
					script = true;
			}
			return;
		}
		decide__match(j, argc - off, argv + off, benign);
		if (name != NULL)
			decide__match_global_opts(j, name, argc - off, argv + off);
		if (name == NULL)
			return;
		w = decide__wrapper(kind, argc - off, argv + off, &inner, &ok);
		if (w == DECIDE__WRAP_NONE) {
			j->safe = benign && safe_commands_is_known_safe(argc - off, argv + off);
			return;
		}
		if (w == DECIDE__WRAP_UNKNOWN) {
			bool allowed = j->allowed;

			/*
			 * Every later word may start the command; a word with
			 * blanks may be a command line of its own (env -S,
			 * watch, su -c, flock -c): it is scanned as a script.
			 */
			for (size_t i = off + 1; i < argc && !suffix; i++) {
				decide__judge_argv(j, argc - i, argv + i, false, true);
				if (strpbrk(argv[i], " \t\n;&|") != NULL)
					decide__scan(j, argv[i]);
			}
			j->allowed = allowed;
			j->safe = false;
			return;
		}
		benign = benign && ok;
		off += inner;
	}
}

/* Judges ARGV (see decide__judge_argv). */
static void decide__judge_words(struct decide__judge *j, size_t argc, char *const argv[],
                                bool allow_ok)
{
	decide__judge_argv(j, argc, argv, allow_ok, false);
}

/* Decides about IN into OUT. */
void decide_command(const struct decide_input *in, struct decide_result *out)
{
	const struct rules_rule *forbid = NULL, *prompt_rule = NULL, *allow_rule = NULL;
	size_t n_ruled_allow = 0, unknown = 0, dangerous = 0;
	const char *unknown_name = NULL;
	char dangerous_name[128] = "";
	bool never = in->approval == DECIDE_APPROVAL_NEVER;
	bool sandbox_only = in->sandbox_only || rules_sandbox_only(in->rules);
	struct decide__judge j = {.rules = in->rules};

	memset(out, 0, sizeof *out);
	shell_split_argv(in->argc, in->argv, &out->split);
	out->part_kinds = xcalloc(out->split.n, sizeof *out->part_kinds);
	out->part_rule = xcalloc(out->split.n, sizeof *out->part_rule);
	j.m = &out->matches;

	for (size_t i = 0; i < out->split.n; i++) {
		const struct shell_split_command *c = &out->split.cmds[i];
		size_t before = out->matches.n;
		struct rules_matches part;
		enum rules_decision d = RULES_ALLOW;

		j.allowed = j.dangerous = j.dangerous_inner = j.safe = j.incomplete = false;
		free(j.dangerous_name);
		j.dangerous_name = NULL;
		j.before = before;
		/* An opaque script: no allow rule applies, its insides are scanned. */
		decide__judge_words(&j, c->argc, c->argv, !out->split.opaque);
		part.v = out->matches.v != NULL ? out->matches.v + before : NULL;
		part.n = out->matches.n - before;
		if (part.n > 0)
			d = rules_matches_strictest(&part);
		/* An allow rule never covers a dangerous command found inside a script. */
		if (part.n > 0 && d == RULES_ALLOW && j.dangerous_inner) {
			out->matches.n = before;
		} else if (part.n > 0) {
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
			continue;
		}
		if (j.dangerous || j.dangerous_inner) {
			out->part_kinds[i] = DECIDE_PART_DANGEROUS;
			if (dangerous++ == 0)
				snprintf(dangerous_name, sizeof dangerous_name, "%s",
				         j.dangerous_name != NULL ? j.dangerous_name : "");
		} else if (!out->split.opaque && j.safe && !j.incomplete) {
			out->part_kinds[i] = DECIDE_PART_SAFE;
		} else {
			out->part_kinds[i] = DECIDE_PART_OTHER;
			if (unknown++ == 0)
				unknown_name = c->argc > 0 ? c->argv[0] : "";
		}
	}
	free(j.view);
	free(j.dangerous_name);
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
	/* Managed allow_unsandboxed: false: an escalation cannot be granted (SPEC 11). */
	if (in->escalate && sandbox_only) {
		out->decision = DECIDE_FORBIDDEN;
		decide__reason(out, xstrdup("the request asks to run outside the sandbox, and the "
		                            "managed policy runs nothing outside it "
		                            "(allow_unsandboxed: false)"));
		return;
	}
	if (n_ruled_allow == out->split.n) {
		out->decision = DECIDE_ALLOW;
		out->sandboxed = sandbox_only;
		out->rule = allow_rule;
		decide__reason(out, decide__rule_reason(sandbox_only
		                                            ? "allowed in the sandbox (the managed "
		                                              "policy runs nothing outside it)"
		                                            : "allowed outside the sandbox",
		                                        allow_rule));
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
		/*
		 * Approved, it runs in the sandbox (SPEC 4 step 4) unless the
		 * request asked to run outside it.
		 */
		out->sandboxed = !in->escalate && in->sandbox != DECIDE_SANDBOX_DANGER_FULL_ACCESS;
		if (never) {
			out->sandboxed = false;
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
	out->sandboxed = in->sandbox != DECIDE_SANDBOX_DANGER_FULL_ACCESS || sandbox_only;
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

/* A dangerous command or a `prompt` rule: what reject:rules refuses. */
bool decide_prompts_by_rule(const struct decide_result *res)
{
	return res->dangerous || (res->rule != NULL && res->rule->decision == RULES_PROMPT);
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
