/*
 * Loading config.json. The file is read whole, parsed with cJSON, and
 * walked against a table of known keys; each key has a setter that checks
 * its type and value. Anything unknown, mistyped or out of range is an error
 * that names the file and the key, and nothing from a bad file is used; so
 * is a key given twice (at any depth) or a "\u0000" in a string (which would
 * cut it short), named with its line and column.
 */
#include "config.h"

#include "approval.h"
#include "json-error.h"
#include "json-keys.h"
#include "proxy-address.h"
#include "read-all.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* config.json larger than this is refused rather than read. */
#define CONFIG_MAX_BYTES (1 << 20)

char *config_home(const char *flag)
{
	const char *env;

	if (flag != NULL && *flag != '\0')
		return xstrdup(flag);
	env = getenv("AIRLOCK_HOME");
	if (env != NULL && *env != '\0')
		return xstrdup(env);
	env = getenv("XDG_CONFIG_HOME");
	if (env != NULL && *env == '/')
		return xasprintf("%s/airlock", env);
	env = getenv("HOME");
	return xasprintf("%s/.config/airlock", env != NULL && *env != '\0' ? env : "/");
}

static const char *const config__sandbox_modes[] = {"read-only", "workspace-write",
                                                    "danger-full-access", NULL};
static const char *const config__approvals[] = {"untrusted", "on-failure", "on-request", "never",
                                                NULL};
static const char *const config__network_modes[] = {"off", "ask", "on", NULL};
static const char *const config__git_protection[] = {"default", "full", NULL};
static const char *const config__attentions[] = {"bell", "osc9", "none", NULL};
static const char *const config__audit_syncs[] = {"batch", "always", NULL};

/* Sets *OUT to a copy of V's string when it is one of ALLOWED. */
static int config__one_of(const cJSON *v, const char *const *allowed, char **out, char **why)
{
	if (!cJSON_IsString(v)) {
		*why = xstrdup("must be a string");
		return -EINVAL;
	}
	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (strcmp(v->valuestring, allowed[i]) == 0) {
			free(*out);
			*out = xstrdup(allowed[i]);
			return 0;
		}
	}
	*why = xasprintf("\"%s\" is not one of", v->valuestring);
	for (size_t i = 0; allowed[i] != NULL; i++) {
		char *w = xasprintf("%s%s %s", *why, i ? "," : "", allowed[i]);
		free(*why);
		*why = w;
	}
	return -EINVAL;
}

/* Copies a JSON array of strings; ABSOLUTE requires each to start with '/'. */
static int config__strings(const cJSON *v, bool absolute, char ***out, size_t *n, char **why)
{
	const cJSON *item;
	size_t i = 0;

	if (!cJSON_IsArray(v)) {
		*why = xstrdup("must be an array of strings");
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, v)
	{
		if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
			*why = xasprintf("[%zu] must be a non-empty string", i);
			return -EINVAL;
		}
		if (absolute && item->valuestring[0] != '/') {
			*why = xasprintf("[%zu]: \"%s\" is not an absolute path", i,
			                 item->valuestring);
			return -EINVAL;
		}
		*out = xreallocarray(*out, *n + 1, sizeof **out);
		(*out)[(*n)++] = xstrdup(item->valuestring);
		i++;
	}
	return 0;
}

static int config__set_sandbox(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__one_of(v, config__sandbox_modes, &c->sandbox, why);
}

static int config__set_approval(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	if (c->approval != NULL) {
		*why = xstrdup("the policy is given twice (ask_for_approval and approval.policy)");
		return -EINVAL;
	}
	return config__one_of(v, config__approvals, &c->approval, why);
}

/* approval.reject: the kinds of prompt refused without asking (SPEC 12). */
static int config__set_approval_reject(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	const cJSON *item;

	if (!cJSON_IsArray(v)) {
		*why = xstrdup("must be an array of kinds (sandbox, rules, patches, network)");
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, v)
	{
		unsigned kind;

		if (!cJSON_IsString(item) || approval_reject_parse(item->valuestring, &kind) != 0) {
			*why = xasprintf("\"%s\" is not one of sandbox, rules, patches, network",
			                 cJSON_IsString(item) ? item->valuestring : "(not a string)");
			return -EINVAL;
		}
		c->approval_reject |= kind;
	}
	return 0;
}

/* permissions: the named permission profiles (core/policy-profile). */
static int config__set_permissions(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return policy_profiles_parse(v, &c->profiles, why);
}

/* default_permissions: the profile in force when no option picks one. */
static int config__set_default_permissions(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		*why = xstrdup("must name a permission profile");
		return -EINVAL;
	}
	free(c->default_permissions);
	c->default_permissions = xstrdup(v->valuestring);
	return 0;
}

static int config__set_writable_roots(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__strings(v, true, &c->writable_roots, &c->n_writable_roots, why);
}

static int config__set_protected_paths(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__strings(v, false, &c->protected_paths, &c->n_protected_paths, why);
}

static int config__set_git_protection(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	char *mode = NULL;
	int rc = config__one_of(v, config__git_protection, &mode, why);

	if (rc == 0)
		c->git_protection_full = strcmp(mode, "full") == 0;
	free(mode);
	return rc;
}

static int config__set_network_mode(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__one_of(v, config__network_modes, &c->network, why);
}

static int config__set_allowed_domains(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__strings(v, false, &c->allowed_domains, &c->n_allowed_domains, why);
}

static int config__set_denied_domains(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__strings(v, false, &c->denied_domains, &c->n_denied_domains, why);
}

/* network.allow_private: strings, each checked in config__check_allow_private(). */
static int config__set_allow_private(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__strings(v, false, &c->allow_private, &c->n_allow_private, why);
}

/*
 * Where entry INDEX of network.allow_private starts in TEXT (its opening
 * quote), or NULL: the array after the key "allow_private", read string by
 * string (cJSON accepted the text, so it is well formed).
 */
static const char *config__allow_private_at(const char *text, size_t index)
{
	const char *p = text;

	while ((p = strstr(p, "\"allow_private\"")) != NULL) {
		const char *q = p + strlen("\"allow_private\"");

		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q == ':')
			break;
		p = q;
	}
	if (p == NULL || (p = strchr(p, '[')) == NULL)
		return NULL;
	for (size_t i = 0;; i++) {
		while (*p != '\0' && *p != '"' && *p != ']')
			p++;
		if (*p != '"')
			return NULL;
		if (i == index)
			return p;
		for (p++; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p == '"')
			p++;
	}
}

/* Checks each allow_private entry is an address or CIDR (SPEC 11); *CAUSE names its place. */
static int config__check_allow_private(const struct config *c, const char *text, const char *path,
                                       char **cause)
{
	for (size_t i = 0; i < c->n_allow_private; i++) {
		struct proxy_address_cidr cidr;
		const char *why, *at;
		int line, col;

		if (proxy_address_cidr_parse(c->allow_private[i], &cidr, &why) == 0)
			continue;
		at = config__allow_private_at(text, i);
		if (at == NULL) {
			*cause = xasprintf("%s: \"network.allow_private\": [%zu]: \"%s\": %s", path, i,
			                   c->allow_private[i], why);
		} else {
			json_error_position(text, at, &line, &col);
			*cause = xasprintf("%s:%d:%d: \"network.allow_private\": [%zu]: \"%s\": %s",
			                   path, line, col, i, c->allow_private[i], why);
		}
		return -EINVAL;
	}
	return 0;
}

static int config__set_host_ports(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	const cJSON *item;
	size_t i = 0;

	if (!cJSON_IsArray(v)) {
		*why = xstrdup("must be an array of port numbers");
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, v)
	{
		double d = cJSON_IsNumber(item) ? item->valuedouble : -1;
		if (d < 1 || d > 65535 || d != (double)(int)d) {
			*why = xasprintf("[%zu] must be a port number from 1 to 65535", i);
			return -EINVAL;
		}
		c->host_loopback_ports = xreallocarray(c->host_loopback_ports,
		                                       c->n_host_loopback_ports + 1, sizeof(int));
		c->host_loopback_ports[c->n_host_loopback_ports++] = (int)d;
		i++;
	}
	return 0;
}

/* Whether NAME can name an environment variable: not empty, no '='. */
static bool config__env_name(const char *name)
{
	return name[0] != '\0' && strchr(name, '=') == NULL;
}

static int config__set_env_keep(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	size_t first = c->n_environment_keep;
	int rc = config__strings(v, false, &c->environment_keep, &c->n_environment_keep, why);

	for (size_t i = first; rc == 0 && i < c->n_environment_keep; i++) {
		if (!config__env_name(c->environment_keep[i])) {
			*why = xasprintf("[%zu]: \"%s\" is not a variable name", i - first,
			                 c->environment_keep[i]);
			rc = -EINVAL;
		}
	}
	return rc;
}

/* environment.set: an object of NAME: "value", kept as "NAME=value". */
static int config__set_env_set(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	const cJSON *item;

	if (!cJSON_IsObject(v)) {
		*why = xstrdup("must be an object of variable names to strings");
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, v)
	{
		if (!config__env_name(item->string)) {
			*why = xasprintf("\"%s\" is not a variable name", item->string);
			return -EINVAL;
		}
		if (!cJSON_IsString(item)) {
			*why = xasprintf("\"%s\" must be a string", item->string);
			return -EINVAL;
		}
		c->environment_set = xreallocarray(c->environment_set, c->n_environment_set + 1,
		                                   sizeof *c->environment_set);
		c->environment_set[c->n_environment_set++] =
		    xasprintf("%s=%s", item->string, item->valuestring);
	}
	return 0;
}

/* A whole number of milliseconds from 1 to MAX into *OUT, else -EINVAL with *WHY. */
static int config__millis(const cJSON *v, unsigned max, unsigned *out, char **why)
{
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

	if (d < 1 || d > max || d != (double)(unsigned)d) {
		*why = xasprintf("must be a whole number of milliseconds from 1 to %u", max);
		return -EINVAL;
	}
	*out = (unsigned)d;
	return 0;
}

/* network.head_timeout_ms: how long the proxy waits for a request head (1 ms to 1 hour). */
static int config__set_head_timeout(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__millis(v, 3600000, &c->head_timeout_ms, why);
}

/* network.host_sockets: absolute paths of host sockets a sandbox may still reach. */
static int config__set_host_sockets(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__strings(v, true, &c->host_sockets, &c->n_host_sockets, why);
}

static const struct json_key config__network_keys[] = {
    {.name = "mode", .set = config__set_network_mode},
    {.name = "allowed_domains", .set = config__set_allowed_domains},
    {.name = "denied_domains", .set = config__set_denied_domains},
    {.name = "allow_private", .set = config__set_allow_private},
    {.name = "host_loopback_ports", .set = config__set_host_ports},
    {.name = "host_sockets", .set = config__set_host_sockets},
    {.name = "head_timeout_ms", .set = config__set_head_timeout},
    {0},
};

static const struct json_key config__approval_keys[] = {
    {.name = "policy", .set = config__set_approval},
    {.name = "reject", .set = config__set_approval_reject},
    {0},
};

/* decider.command: the decider's argv (SPEC 11), its program an absolute path. */
static int config__set_decider_command(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	int rc;

	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0) {
		*why = xstrdup("must name a program");
		return -EINVAL;
	}
	rc = config__strings(v, false, &c->decider_command, &c->n_decider_command, why);
	if (rc == 0 && c->decider_command[0][0] != '/') {
		*why = xasprintf("[0]: \"%s\" is not an absolute path", c->decider_command[0]);
		return -EINVAL;
	}
	return rc;
}

/* decider.timeout_ms: how long an answer may take (1 ms to 10 minutes). */
static int config__set_decider_timeout(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__millis(v, 600000, &c->decider_timeout_ms, why);
}

/* attention: how a new prompt asks for the user's eye (bell, osc9, none). */
static int config__set_attention(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__one_of(v, config__attentions, &c->attention, why);
}

/* agent.idle_timeout_ms: how long an agent connection may send nothing (1 ms to 1 day). */
static int config__set_agent_idle(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__millis(v, 86400000, &c->agent_idle_ms, why);
}

static const struct json_key config__agent_keys[] = {
    {.name = "idle_timeout_ms", .set = config__set_agent_idle},
    {0},
};

/* audit.sync: when a decision line reaches the disk (batch, always; core/audit-sync.c). */
static int config__set_audit_sync(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	return config__one_of(v, config__audit_syncs, &c->audit_sync, why);
}

static const struct json_key config__audit_keys[] = {
    {.name = "sync", .set = config__set_audit_sync},
    {0},
};

static const struct json_key config__decider_keys[] = {
    {.name = "command", .set = config__set_decider_command},
    {.name = "timeout_ms", .set = config__set_decider_timeout},
    {0},
};

static const struct json_key config__environment_keys[] = {
    {.name = "keep", .set = config__set_env_keep},
    {.name = "set", .set = config__set_env_set},
    {0},
};

/*
 * prefix_key: the key a focused pane does not get, "C-X", "Ctrl-X" or "^X"
 * for X one of A-Z \ ] ^ _ (any case); never Tab, Enter or Esc, which
 * programs need.
 */
static int config__set_prefix_key(void *target, const cJSON *v, char **why)
{
	struct config *c = target;
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	size_t skip = strncmp(s, "C-", 2) == 0         ? 2
	              : strncasecmp(s, "Ctrl-", 5) == 0 ? 5
	              : s[0] == '^'                     ? 1
	                                                : 0;
	int ch = skip > 0 && s[skip] != '\0' && s[skip + 1] == '\0' ? (unsigned char)s[skip] : 0;

	if (ch >= 'a' && ch <= 'z')
		ch -= 'a' - 'A';
	if (ch < 'A' || ch > '_' || ch == 'I' || ch == 'J' || ch == 'M' || ch == '[') {
		*why = xstrdup("must be a control key such as \"C-]\" or \"C-a\" (not Tab, Enter "
		               "or Esc)");
		return -EINVAL;
	}
	c->prefix_key = ch & 0x1f;
	return 0;
}

static const struct json_key config__top_keys[] = {
    {.name = "prefix_key", .set = config__set_prefix_key},
    {.name = "sandbox", .set = config__set_sandbox},
    {.name = "ask_for_approval", .set = config__set_approval},
    {.name = "approval", .keys = config__approval_keys},
    {.name = "permissions", .set = config__set_permissions},
    {.name = "default_permissions", .set = config__set_default_permissions},
    {.name = "writable_roots", .set = config__set_writable_roots},
    {.name = "protected_paths", .set = config__set_protected_paths},
    {.name = "git_protection", .set = config__set_git_protection},
    {.name = "network", .keys = config__network_keys},
    {.name = "environment", .keys = config__environment_keys},
    {.name = "decider", .keys = config__decider_keys},
    {.name = "attention", .set = config__set_attention},
    {.name = "audit", .keys = config__audit_keys},
    {.name = "agent", .keys = config__agent_keys},
    {0},
};

int config_parse(struct config *cfg, const char *text, const char *path, char **cause)
{
	const char *end = NULL, *at;
	cJSON *root;
	char *why = NULL;
	int rc;

	memset(cfg, 0, sizeof *cfg);
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL) {
		int line, col;
		json_error_position(text, cJSON_GetErrorPtr(), &line, &col);
		*cause = xasprintf("%s:%d:%d: malformed JSON", path, line, col);
		return -EINVAL;
	}
	if ((at = json_nul_escape(text)) != NULL ||
	    (why = json_duplicate_key(root, text, &at)) != NULL) {
		int line, col;
		json_error_position(text, at, &line, &col);
		if (why != NULL)
			*cause = xasprintf("%s:%d:%d: duplicate key \"%s\"", path, line, col, why);
		else
			*cause = xasprintf("%s:%d:%d: a string holds a NUL character (\\u0000)",
			                   path, line, col);
		free(why);
		cJSON_Delete(root);
		return -EINVAL;
	}
	char *where = NULL;
	rc = json_keys_apply(cfg, root, config__top_keys, "", &why, &where);
	cJSON_Delete(root);
	if (rc != 0) {
		/* A semantic error names its place too: the member's key. */
		at = where != NULL ? json_keys_at(text, where) : NULL;
		if (at == NULL && where == NULL) {
			/* The top level: where its first value starts. */
			at = text + strspn(text, " \t\r\n");
		}
		if (at != NULL) {
			int line, col;

			json_error_position(text, at, &line, &col);
			*cause = xasprintf("%s:%d:%d: %s", path, line, col, why);
		} else {
			*cause = xasprintf("%s: %s", path, why);
		}
		free(where);
		free(why);
		config_free(cfg);
		return rc;
	}
	if (cfg->default_permissions != NULL &&
	    !policy_profile_known(&cfg->profiles, cfg->default_permissions)) {
		int line, col;

		json_error_position(text, json_keys_at(text, "default_permissions"), &line, &col);
		*cause = xasprintf("%s:%d:%d: \"default_permissions\": no permission profile \"%s\"",
		                   path, line, col, cfg->default_permissions);
		config_free(cfg);
		return -EINVAL;
	}
	rc = config__check_allow_private(cfg, text, path, cause);
	if (rc != 0)
		config_free(cfg);
	return rc;
}

int config_load(struct config *cfg, const char *home, char **cause)
{
	char *path = xasprintf("%s/config.json", home);
	char *text;
	size_t len;
	int fd, rc;

	memset(cfg, 0, sizeof *cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc != 0)
			*cause = xasprintf("%s: %s", path, strerror(-rc));
		free(path);
		return rc;
	}
	rc = read_all(fd, CONFIG_MAX_BYTES, &text, &len);
	close(fd);
	if (rc < 0) {
		*cause =
		    xasprintf("%s: %s", path, rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
		free(path);
		return rc;
	}
	rc = config_parse(cfg, text, path, cause);
	free(text);
	free(path);
	return rc;
}

/* Frees an array of N owned strings. */
static void config__free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config_free(struct config *cfg)
{
	free(cfg->sandbox);
	free(cfg->approval);
	free(cfg->default_permissions);
	policy_profiles_free(&cfg->profiles);
	free(cfg->network);
	config__free_strings(cfg->writable_roots, cfg->n_writable_roots);
	config__free_strings(cfg->protected_paths, cfg->n_protected_paths);
	config__free_strings(cfg->allowed_domains, cfg->n_allowed_domains);
	config__free_strings(cfg->denied_domains, cfg->n_denied_domains);
	config__free_strings(cfg->allow_private, cfg->n_allow_private);
	free(cfg->host_loopback_ports);
	config__free_strings(cfg->host_sockets, cfg->n_host_sockets);
	config__free_strings(cfg->environment_keep, cfg->n_environment_keep);
	config__free_strings(cfg->environment_set, cfg->n_environment_set);
	config__free_strings(cfg->decider_command, cfg->n_decider_command);
	free(cfg->attention);
	free(cfg->audit_sync);
	memset(cfg, 0, sizeof *cfg);
}
