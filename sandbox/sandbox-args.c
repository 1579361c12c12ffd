/*
 * Parsing of the helper's argv (SPEC section 3) into struct sandbox_opts.
 *
 * A table lists every flag with whether it takes a value; parsing walks argv
 * once, accepting `--flag VALUE` and `--flag=VALUE`, and stops at "--", after
 * which everything is the command. Checks that need all flags (the split
 * policies come together; given with the legacy one they must agree) run at
 * the end. Any problem is a usage error: the caller exits 2 and runs nothing.
 * Every JSON value (the policies, --proxy-route-spec) is strict: a key given
 * twice in it is such a problem, as SPEC section 2 says.
 */
#include "sandbox/sandbox.h"

#include "core/json-error.h"
#include "core/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum sandbox_args_flag {
	ARG_POLICY_CWD,
	ARG_COMMAND_CWD,
	ARG_POLICY,
	ARG_FS_POLICY,
	ARG_NET_POLICY,
	ARG_LANDLOCK,
	ARG_PROXY_ROUTE,
	ARG_NO_PROC,
	ARG_HOST_PORT,
	ARG_PROTECTED_PATH,
	ARG_PROTECT_HOME,
	ARG_HIDE,
	ARG_GIT_PROTECTION,
	ARG_INNER,
	ARG_FS_RESTRICTED,
	ARG_WRITE_ROOT,
	ARG_NO_LANDLOCK,
	ARG_HOST_SOCKET,
	ARG_REPORT_FD,
	ARG_PRINT,
};

static const struct sandbox_args_def {
	const char *name;
	bool value;
} sandbox_args_defs[] = {
    [ARG_POLICY_CWD] = {"--sandbox-policy-cwd", true},
    [ARG_COMMAND_CWD] = {"--command-cwd", true},
    [ARG_POLICY] = {"--sandbox-policy", true},
    [ARG_FS_POLICY] = {"--file-system-sandbox-policy", true},
    [ARG_NET_POLICY] = {"--network-sandbox-policy", true},
    [ARG_LANDLOCK] = {"--use-legacy-landlock", false},
    [ARG_PROXY_ROUTE] = {"--proxy-route-spec", true},
    [ARG_NO_PROC] = {"--no-proc", false},
    [ARG_HOST_PORT] = {"--host-port", true},
    [ARG_PROTECTED_PATH] = {"--protected-path", true},
    [ARG_PROTECT_HOME] = {"--protect-home", true},
    [ARG_HIDE] = {"--hide", true},
    [ARG_GIT_PROTECTION] = {"--git-protection", true},
    [ARG_INNER] = {"--apply-seccomp-then-exec", false},
    [ARG_FS_RESTRICTED] = {"--fs-restricted", false},
    [ARG_WRITE_ROOT] = {"--write-root", true},
    [ARG_NO_LANDLOCK] = {"--no-landlock", false},
    [ARG_HOST_SOCKET] = {"--host-socket", true},
    [ARG_REPORT_FD] = {"--report-fd", true},
    [ARG_PRINT] = {"--print-bwrap-args", false},
};

#define SANDBOX_ARGS_N (sizeof sandbox_args_defs / sizeof sandbox_args_defs[0])

/* Sets *cause and returns -EINVAL. */
static int __attribute__((format(printf, 2, 3)))
sandbox_args_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Appends VALUE to a bounded list of strings named by FLAG. */
static int sandbox_args_push(char **list, size_t *n, const char *flag, const char *value,
                             bool absolute, char **cause)
{
	if (*n == SANDBOX_MAX_LIST)
		return sandbox_args_fail(cause, "%s: at most %d values", flag, SANDBOX_MAX_LIST);
	if (absolute && value[0] != '/')
		return sandbox_args_fail(cause, "%s: \"%s\" is not an absolute path", flag, value);
	list[(*n)++] = value[0] == '/' ? policy_path_normalize(value) : xstrdup(value);
	return 0;
}

/* Stores an absolute directory flag's VALUE, normalised, in *out. */
static int sandbox_args_dir(char **out, const char *flag, const char *value, char **cause)
{
	if (value[0] != '/')
		return sandbox_args_fail(cause, "%s: \"%s\" is not an absolute path", flag, value);
	free(*out);
	*out = policy_path_normalize(value);
	return 0;
}

/* Checks that the legacy policy and the split ones mean the same for CWD. */
static int sandbox_args_agree(const struct policy_split *legacy, const struct policy_split *split,
                              const char *cwd, char **cause)
{
	struct policy_resolved a, b;
	bool same;

	if (policy_resolve(legacy, cwd, getenv("TMPDIR"), &a, cause) < 0)
		return -EINVAL;
	if (policy_resolve(split, cwd, getenv("TMPDIR"), &b, cause) < 0) {
		policy_resolved_free(&a);
		return -EINVAL;
	}
	same = a.kind == b.kind && a.net == b.net && a.n_entries == b.n_entries;
	for (size_t i = 0; same && i < a.n_entries; i++)
		same = strcmp(a.entries[i].path, b.entries[i].path) == 0 &&
		       a.entries[i].access == b.entries[i].access;
	policy_resolved_free(&a);
	policy_resolved_free(&b);
	if (!same)
		return sandbox_args_fail(cause, "--sandbox-policy and --file-system-sandbox-policy/"
		                                "--network-sandbox-policy disagree");
	return 0;
}

/* Checks that FLAG's VALUE is JSON that repeats no key (nothing reads more of it yet). */
static int sandbox_args_json(const char *flag, const char *value, char **cause)
{
	char *inner = NULL;
	cJSON *json = json_parse_strict(value, &inner);
	int rc;

	if (json != NULL) {
		cJSON_Delete(json);
		return 0;
	}
	rc = sandbox_args_fail(cause, "%s: %s", flag, inner);
	free(inner);
	return rc;
}

/* Parses the JSON-valued policy flags once all flags are known. */
static int sandbox_args_policies(struct sandbox_opts *o, const char *legacy, const char *fs,
                                 const char *net, char **cause)
{
	struct policy_legacy l;
	struct policy_split from_legacy = {0};
	char *inner = NULL;
	int rc;

	if (o->inner) {
		/* The inner stage only needs the network policy. */
		if (policy_net_parse(net, &o->policy.net, &inner) < 0) {
			rc = sandbox_args_fail(cause, "--network-sandbox-policy: %s", inner);
			free(inner);
			return rc;
		}
		return 0;
	}
	if ((fs == NULL) != (net == NULL))
		return sandbox_args_fail(cause, "--file-system-sandbox-policy and "
		                                "--network-sandbox-policy go together");
	if (legacy != NULL) {
		if (policy_legacy_parse(legacy, &l, &inner) < 0) {
			rc = sandbox_args_fail(cause, "--sandbox-policy: %s", inner);
			free(inner);
			return rc;
		}
		policy_legacy_to_split(&l, &from_legacy);
		policy_legacy_free(&l);
	}
	if (fs != NULL) {
		if (policy_fs_parse(fs, &o->policy.fs, &inner) < 0) {
			rc = sandbox_args_fail(cause, "--file-system-sandbox-policy: %s", inner);
			free(inner);
			policy_split_free(&from_legacy);
			return rc;
		}
		if (policy_net_parse(net, &o->policy.net, &inner) < 0) {
			rc = sandbox_args_fail(cause, "--network-sandbox-policy: %s", inner);
			free(inner);
			policy_split_free(&from_legacy);
			return rc;
		}
		if (legacy != NULL) {
			rc = sandbox_args_agree(&from_legacy, &o->policy, o->policy_cwd, cause);
			policy_split_free(&from_legacy);
			return rc;
		}
		policy_split_free(&from_legacy);
		return 0;
	}
	if (legacy == NULL)
		return sandbox_args_fail(cause, "a policy is needed: --sandbox-policy JSON, or "
		                                "--file-system-sandbox-policy JSON "
		                                "--network-sandbox-policy JSON");
	o->policy = from_legacy;
	return 0;
}

/* Walks argv once against the flag table, then checks what needs all flags. */
int sandbox_args_parse(int argc, char **argv, struct sandbox_opts *o, char **cause)
{
	const char *legacy = NULL, *fs = NULL, *net = NULL;
	int i, rc = 0;

	memset(o, 0, sizeof *o);
	o->report_fd = -1;
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		o->help = true;
		return 0;
	}
	for (i = 1; i < argc && rc == 0; i++) {
		const char *arg = argv[i], *value = NULL, *eq;
		size_t len;
		int f;

		if (strcmp(arg, "--") == 0)
			break;
		eq = strchr(arg, '=');
		len = eq != NULL && strncmp(arg, "--", 2) == 0 ? (size_t)(eq - arg) : strlen(arg);
		for (f = 0; f < (int)SANDBOX_ARGS_N; f++)
			if (strlen(sandbox_args_defs[f].name) == len &&
			    strncmp(sandbox_args_defs[f].name, arg, len) == 0)
				break;
		if (f == (int)SANDBOX_ARGS_N)
			return sandbox_args_fail(cause, "unknown option \"%s\"", arg);
		if (sandbox_args_defs[f].value) {
			if (arg[len] == '=')
				value = arg + len + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return sandbox_args_fail(cause, "%s needs a value",
				                         sandbox_args_defs[f].name);
		} else if (arg[len] == '=') {
			return sandbox_args_fail(cause, "%s takes no value",
			                         sandbox_args_defs[f].name);
		}
		switch ((enum sandbox_args_flag)f) {
		case ARG_POLICY_CWD:
			rc = sandbox_args_dir(&o->policy_cwd, "--sandbox-policy-cwd", value, cause);
			break;
		case ARG_COMMAND_CWD:
			rc = sandbox_args_dir(&o->command_cwd, "--command-cwd", value, cause);
			break;
		case ARG_POLICY:
			legacy = value;
			break;
		case ARG_FS_POLICY:
			fs = value;
			break;
		case ARG_NET_POLICY:
			net = value;
			break;
		case ARG_LANDLOCK:
			o->legacy_landlock = true;
			break;
		case ARG_PROXY_ROUTE:
			rc = sandbox_args_json("--proxy-route-spec", value, cause);
			free(o->proxy_route_spec);
			o->proxy_route_spec = xstrdup(value);
			break;
		case ARG_NO_PROC:
			o->no_proc = true;
			break;
		case ARG_HOST_PORT: {
			char *end;
			long port = strtol(value, &end, 10);
			if (*value == '\0' || *end != '\0' || port < 1 || port > 65535)
				return sandbox_args_fail(cause,
				                         "--host-port: \"%s\" is not a port "
				                         "(1-65535)",
				                         value);
			if (o->n_host_ports == SANDBOX_MAX_LIST)
				return sandbox_args_fail(cause, "--host-port: at most %d values",
				                         SANDBOX_MAX_LIST);
			o->host_ports[o->n_host_ports++] = (int)port;
			break;
		}
		case ARG_PROTECTED_PATH:
			if (value[0] == '\0' || strcmp(value, ".") == 0 ||
			    strstr(value, "..") != NULL)
				return sandbox_args_fail(cause,
				                         "--protected-path: \"%s\" is not a "
				                         "usable path",
				                         value);
			rc = sandbox_args_push(o->protected_paths, &o->n_protected_paths,
			                       "--protected-path", value, false, cause);
			break;
		case ARG_PROTECT_HOME:
			rc = sandbox_args_push(o->protect_home, &o->n_protect_home,
			                       "--protect-home", value, true, cause);
			break;
		case ARG_HIDE:
			rc = sandbox_args_push(o->hide, &o->n_hide, "--hide", value, true, cause);
			break;
		case ARG_GIT_PROTECTION:
			if (strcmp(value, "full") == 0)
				o->git = SANDBOX_GIT_FULL;
			else if (strcmp(value, "safe") == 0)
				o->git = SANDBOX_GIT_SAFE;
			else
				return sandbox_args_fail(cause,
				                         "--git-protection: expected safe or "
				                         "full, not \"%s\"",
				                         value);
			break;
		case ARG_INNER:
			o->inner = true;
			break;
		case ARG_FS_RESTRICTED:
			o->inner_fs_restricted = true;
			break;
		case ARG_WRITE_ROOT:
			rc = sandbox_args_push(o->write_roots, &o->n_write_roots, "--write-root",
			                       value, true, cause);
			break;
		case ARG_NO_LANDLOCK:
			o->no_landlock = true;
			break;
		case ARG_REPORT_FD: {
			char *end;
			long fd = strtol(value, &end, 10);
			if (*value == '\0' || *end != '\0' || fd < 3 || fd > 1023)
				return sandbox_args_fail(cause,
				                         "--report-fd: expected a descriptor "
				                         "number from 3 to 1023, not \"%s\"",
				                         value);
			o->report_fd = (int)fd;
			break;
		}
		case ARG_HOST_SOCKET:
			rc = sandbox_args_push(o->host_sockets, &o->n_host_sockets, "--host-socket",
			                       value, true, cause);
			break;
		case ARG_PRINT:
			o->print_plan = true;
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (i >= argc || i + 1 >= argc)
		return sandbox_args_fail(cause, "no command: expected -- CMD ARG...");
	o->command = argv + i + 1;
	if (!o->inner && o->policy_cwd == NULL)
		return sandbox_args_fail(cause, "--sandbox-policy-cwd DIR is required");
	if (o->command_cwd == NULL && o->policy_cwd != NULL)
		o->command_cwd = xstrdup(o->policy_cwd);
	if (o->inner && net == NULL)
		return sandbox_args_fail(cause, "--apply-seccomp-then-exec needs "
		                                "--network-sandbox-policy");
	return sandbox_args_policies(o, legacy, fs, net, cause);
}

/* Frees what the options own and zeroes them. */
void sandbox_args_free(struct sandbox_opts *o)
{
	free(o->policy_cwd);
	free(o->command_cwd);
	free(o->proxy_route_spec);
	policy_split_free(&o->policy);
	for (size_t i = 0; i < o->n_protected_paths; i++)
		free(o->protected_paths[i]);
	for (size_t i = 0; i < o->n_protect_home; i++)
		free(o->protect_home[i]);
	for (size_t i = 0; i < o->n_hide; i++)
		free(o->hide[i]);
	for (size_t i = 0; i < o->n_write_roots; i++)
		free(o->write_roots[i]);
	for (size_t i = 0; i < o->n_host_sockets; i++)
		free(o->host_sockets[i]);
	memset(o, 0, sizeof *o);
}
