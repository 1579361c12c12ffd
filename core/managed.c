/*
 * The managed policy file. Two halves, kept apart so the parser can be
 * tested without root: managed_parse() walks the JSON against a table of
 * known keys (as config.c does: unknown keys, a key given twice, a wrong
 * type or word are errors naming the key's line and column), and
 * managed_load() decides whether the file may be trusted at all before a
 * byte of it is read.
 *
 * Trust is ownership: an administrator's file is root's and writable by no
 * one else, and so is every directory above it (else whoever may write a
 * directory could swap the file). The check lstat()s each component from
 * "/" down, refusing symbolic links outright (a link is a second path an
 * attacker might control), then opens the file with O_NOFOLLOW and checks
 * the open file again with fstat(), reading only from that descriptor: the
 * bytes parsed are the bytes of the file checked. A world-writable
 * directory with the sticky bit (/tmp) is accepted as a parent: there no
 * one but root may rename or remove root's entries, and the next component
 * is itself checked to be root's.
 *
 * The file is read once, at start-up; a change needs a restart. The rules
 * directory it names is read again with the user's rules when they change
 * (SPEC 6), and every such read, start and reload alike, checks the
 * directory and each file as here first (managed_open_checked(): the rules
 * reader keeps the last good managed rules, restricting only, when one no
 * longer passes; see core/rules.c).
 */
#include "managed.h"

#include "build-config.h"
#include "json-error.h"
#include "json-keys.h"
#include "proxy-address.h"
#include "read-all.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A managed file larger than this is refused rather than read. */
#define MANAGED_MAX_BYTES (1 << 20)
/* The longest decider timeout an administrator may set (10 minutes). */
#define MANAGED_DECIDER_MAX_MS 600000

/* The words each allowed_* key may list. */
static const char *const managed__approvals[] = {"untrusted", "on-failure", "on-request",
                                                 "never",     "reject",     NULL};
static const char *const managed__network_modes[] = {"off", "ask", "on", NULL};
static const char *const managed__sandbox_modes[] = {"read-only", "workspace-write",
                                                     "danger-full-access", NULL};

const char *managed_default_path(void)
{
	return MANAGED_FILE;
}

/* Frees list L's words and empties it. */
static void managed__list_free(struct managed_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Appends a copy of WORD to L (kept NULL-terminated). */
static void managed__list_add(struct managed_list *l, const char *word)
{
	l->v = xreallocarray(l->v, l->n + 2, sizeof *l->v);
	l->v[l->n++] = xstrdup(word);
	l->v[l->n] = NULL;
}

/*
 * Copies V, a JSON array of non-empty strings, into L; KNOWN (may be NULL)
 * are the only words it may hold. *WHY says what is wrong.
 */
static int managed__strings(const cJSON *v, const char *const *known, struct managed_list *l,
                            char **why)
{
	const cJSON *item;
	size_t i = 0;

	if (!cJSON_IsArray(v)) {
		*why = xstrdup("must be an array of strings");
		return -EINVAL;
	}
	l->set = true;
	if (l->v == NULL)
		l->v = xcalloc(1, sizeof *l->v);
	cJSON_ArrayForEach(item, v)
	{
		if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
			*why = xasprintf("[%zu] must be a non-empty string", i);
			return -EINVAL;
		}
		if (known != NULL) {
			size_t k = 0;

			while (known[k] != NULL && strcmp(known[k], item->valuestring) != 0)
				k++;
			if (known[k] == NULL) {
				*why = xasprintf("[%zu]: \"%s\" is not one of", i, item->valuestring);
				for (k = 0; known[k] != NULL; k++) {
					char *w = xasprintf("%s%s %s", *why, k ? "," : "", known[k]);

					free(*why);
					*why = w;
				}
				return -EINVAL;
			}
		}
		managed__list_add(l, item->valuestring);
		i++;
	}
	return 0;
}

static int managed__set_approvals(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	return managed__strings(v, managed__approvals, &m->approval_policies, why);
}

static int managed__set_network_modes(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	return managed__strings(v, managed__network_modes, &m->network_modes, why);
}

static int managed__set_sandbox_modes(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	return managed__strings(v, managed__sandbox_modes, &m->sandbox_policies, why);
}

static int managed__set_allow_unsandboxed(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	if (!cJSON_IsBool(v)) {
		*why = xstrdup("must be true or false");
		return -EINVAL;
	}
	m->allow_unsandboxed = cJSON_IsTrue(v);
	return 0;
}

/* "rules": the absolute path of a directory of *.rules files. */
static int managed__set_rules(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	if (!cJSON_IsString(v) || v->valuestring[0] != '/') {
		*why = xstrdup("must be the absolute path of a directory of *.rules files");
		return -EINVAL;
	}
	free(m->rules_dir);
	m->rules_dir = xstrdup(v->valuestring);
	return 0;
}

static int managed__set_allowed_domains(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	return managed__strings(v, NULL, &m->allowed_domains, why);
}

static int managed__set_denied_domains(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	return managed__strings(v, NULL, &m->denied_domains, why);
}

/* network.allow_private: each an address or CIDR, as in config.json. */
static int managed__set_allow_private(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	size_t first = m->allow_private.n;
	int rc = managed__strings(v, NULL, &m->allow_private, why);

	for (size_t i = first; rc == 0 && i < m->allow_private.n; i++) {
		struct proxy_address_cidr cidr;
		const char *bad;

		if (proxy_address_cidr_parse(m->allow_private.v[i], &cidr, &bad) != 0) {
			*why = xasprintf("[%zu]: \"%s\": %s", i - first, m->allow_private.v[i], bad);
			rc = -EINVAL;
		}
	}
	return rc;
}

static int managed__set_protected_paths(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	return managed__strings(v, NULL, &m->protected_paths, why);
}

/* decider.command: a non-empty argv whose program is an absolute path. */
static int managed__set_decider_command(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	struct managed_list l = {0};
	int rc = managed__strings(v, NULL, &l, why);

	if (rc == 0 && (l.n == 0 || l.v[0][0] != '/')) {
		*why = xstrdup("must be a non-empty array of strings whose first is an absolute "
		               "path");
		rc = -EINVAL;
	}
	if (rc != 0) {
		managed__list_free(&l);
		return rc;
	}
	for (size_t i = 0; i < m->decider_argc; i++)
		free(m->decider_argv[i]);
	free(m->decider_argv);
	m->decider_argv = l.v;
	m->decider_argc = l.n;
	return 0;
}

/* decider.timeout_ms: 1 ms to MANAGED_DECIDER_MAX_MS. */
static int managed__set_decider_timeout(void *target, const cJSON *v, char **why)
{
	struct managed *m = target;
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

	if (d < 1 || d > MANAGED_DECIDER_MAX_MS || d != (double)(unsigned)d) {
		*why = xasprintf("must be a whole number of milliseconds from 1 to %d",
		                 MANAGED_DECIDER_MAX_MS);
		return -EINVAL;
	}
	m->decider_timeout_ms = (unsigned)d;
	return 0;
}

static const struct json_key managed__network_keys[] = {
    {.name = "allowed_domains", .set = managed__set_allowed_domains},
    {.name = "denied_domains", .set = managed__set_denied_domains},
    {.name = "allow_private", .set = managed__set_allow_private},
    {0},
};

static const struct json_key managed__decider_keys[] = {
    {.name = "command", .set = managed__set_decider_command},
    {.name = "timeout_ms", .set = managed__set_decider_timeout},
    {0},
};

static const struct json_key managed__top_keys[] = {
    {.name = "allowed_approval_policies", .set = managed__set_approvals},
    {.name = "allowed_network_modes", .set = managed__set_network_modes},
    {.name = "allowed_sandbox_policies", .set = managed__set_sandbox_modes},
    {.name = "allow_unsandboxed", .set = managed__set_allow_unsandboxed},
    {.name = "rules", .set = managed__set_rules},
    {.name = "network", .keys = managed__network_keys},
    {.name = "protected_paths", .set = managed__set_protected_paths},
    {.name = "decider", .keys = managed__decider_keys},
    {0},
};

/* Checks what no single key can: the keys against each other. */
static int managed__coherent(const struct managed *m, char **why, char **where)
{
	if (m->decider_timeout_ms != MANAGED_DECIDER_TIMEOUT_MS && m->decider_argv == NULL) {
		*why = xstrdup("\"decider\": a timeout_ms needs a command");
		*where = xstrdup("decider");
		return -EINVAL;
	}
	/* A contradiction fails closed rather than picking one side. */
	if (!m->allow_unsandboxed && m->sandbox_policies.set &&
	    managed_allows(&m->sandbox_policies, "danger-full-access")) {
		*why = xstrdup("\"allowed_sandbox_policies\" lists danger-full-access, but "
		               "allow_unsandboxed is false");
		*where = xstrdup("allowed_sandbox_policies");
		return -EINVAL;
	}
	return 0;
}

int managed_parse(struct managed *m, const char *text, const char *path, char **cause)
{
	const char *end = NULL, *at = NULL;
	char *why = NULL, *where = NULL;
	cJSON *root;
	int rc, line, col;

	memset(m, 0, sizeof *m);
	m->allow_unsandboxed = true;
	m->decider_timeout_ms = MANAGED_DECIDER_TIMEOUT_MS;
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL) {
		json_error_position(text, cJSON_GetErrorPtr(), &line, &col);
		*cause = xasprintf("%s:%d:%d: malformed JSON", path, line, col);
		return -EINVAL;
	}
	if ((at = json_nul_escape(text)) != NULL ||
	    (why = json_duplicate_key(root, text, &at)) != NULL) {
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
	rc = json_keys_apply(m, root, managed__top_keys, "", &why, &where);
	cJSON_Delete(root);
	if (rc == 0)
		rc = managed__coherent(m, &why, &where);
	if (rc != 0) {
		at = where != NULL ? json_keys_at(text, where)
		                   : text + strspn(text, " \t\r\n");
		if (at != NULL) {
			json_error_position(text, at, &line, &col);
			*cause = xasprintf("%s:%d:%d: %s", path, line, col, why);
		} else {
			*cause = xasprintf("%s: %s", path, why);
		}
		free(why);
		free(where);
		managed_free(m);
		return rc;
	}
	m->present = true;
	m->path = xstrdup(path);
	return 0;
}

/* Whether ST (of PATH, a directory when DIR) is root's and kept from others; else *CAUSE. */
static int managed__owned(const char *path, const struct stat *st, bool dir, char **cause)
{
	if (S_ISLNK(st->st_mode)) {
		*cause = xasprintf("%s is a symbolic link; the managed policy is read only from "
		                   "root's own files and directories",
		                   path);
		return -EPERM;
	}
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		*cause = xasprintf("%s is not a %s", path, dir ? "directory" : "regular file");
		return -EPERM;
	}
	if (st->st_uid != 0) {
		*cause = xasprintf("%s is owned by uid %u, not root: the managed policy is read "
		                   "only when root owns it and every directory above it",
		                   path, (unsigned)st->st_uid);
		return -EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 && !(dir && (st->st_mode & S_ISVTX) != 0)) {
		*cause = xasprintf("%s is writable by %s (mode %04o): the managed policy is read "
		                   "only when no one but root may change it (chmod go-w %s)",
		                   path, (st->st_mode & S_IWOTH) != 0 ? "others" : "its group",
		                   (unsigned)(st->st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

int managed_check_owner(const char *path, bool want_dir, char **cause)
{
	size_t len = strlen(path);
	char *prefix;
	struct stat st;
	int rc;

	if (path[0] != '/') {
		*cause = xasprintf("%s: not an absolute path", path);
		return -EINVAL;
	}
	if (lstat("/", &st) != 0) {
		rc = -errno;
		*cause = xasprintf("/: %s", strerror(errno));
		return rc;
	}
	if ((rc = managed__owned("/", &st, true, cause)) != 0)
		return rc;
	/* Each component from the top: PATH[0, i) for every i at a '/' or the end. */
	prefix = xmalloc(len + 1);
	for (size_t i = 1; rc == 0 && i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (path[i - 1] == '/')
			continue; /* "//" or a trailing '/': no new component */
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (lstat(prefix, &st) != 0) {
			rc = -errno;
			*cause = xasprintf("%s: %s", prefix, strerror(errno));
			break;
		}
		rc = managed__owned(prefix, &st, i < len || want_dir, cause);
	}
	free(prefix);
	return rc;
}

/* Opens a managed file for reading once it and its descriptor pass the checks. */
int managed_open_checked(const char *path, char **cause)
{
	struct stat st;
	int fd, rc = managed_check_owner(path, false, cause);

	if (rc != 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return rc;
	}
	/* Swapped between the check and the open: the open file is what counts. */
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if ((rc = managed__owned(path, &st, false, cause)) != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Checks the managed rules directory DIR and each *.rules file in it. */
static int managed__check_rules_dir(const char *dir, char **cause)
{
	DIR *d;
	struct dirent *e;
	int rc = managed_check_owner(dir, true, cause);

	if (rc == -ENOENT) {
		/* Named but absent: no managed rules yet (as a missing rules/ is for a user). */
		free(*cause);
		*cause = NULL;
		return 0;
	}
	if (rc != 0 || (d = opendir(dir)) == NULL) {
		if (rc == 0) {
			rc = -errno;
			*cause = xasprintf("%s: %s", dir, strerror(errno));
		}
		return rc;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char *path;
		struct stat st;

		if (e->d_name[0] == '.' || l <= 6 || strcmp(e->d_name + l - 6, ".rules") != 0)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(path, &st) != 0) {
			rc = -errno;
			*cause = xasprintf("%s: %s", path, strerror(errno));
		} else {
			rc = managed__owned(path, &st, false, cause);
		}
		free(path);
	}
	closedir(d);
	return rc;
}

int managed_load(struct managed *m, const char *path, char **cause)
{
	struct stat st;
	char *text = NULL, *why = NULL;
	size_t len;
	int fd, rc;

	memset(m, 0, sizeof *m);
	m->allow_unsandboxed = true;
	m->decider_timeout_ms = MANAGED_DECIDER_TIMEOUT_MS;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0; /* no managed policy on this host */
		rc = -errno;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return rc;
	}
	rc = managed_check_owner(path, false, &why);
	if (rc != 0) {
		*cause = xasprintf("managed policy not read: %s", why);
		free(why);
		return rc;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return rc;
	}
	/* The file opened is the file read: checked again on the descriptor itself. */
	if (fstat(fd, &st) != 0 || (rc = managed__owned(path, &st, false, &why)) != 0) {
		rc = rc != 0 ? rc : -errno;
		*cause = why != NULL ? xasprintf("managed policy not read: %s", why)
		                     : xasprintf("%s: %s", path, strerror(-rc));
		free(why);
		close(fd);
		return rc;
	}
	rc = read_all(fd, MANAGED_MAX_BYTES, &text, &len);
	close(fd);
	if (rc < 0) {
		*cause =
		    xasprintf("%s: %s", path, rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
		return rc;
	}
	if (strlen(text) != len) {
		*cause = xasprintf("%s: holds a NUL byte", path);
		free(text);
		return -EINVAL;
	}
	rc = managed_parse(m, text, path, cause);
	free(text);
	if (rc == 0 && m->rules_dir != NULL && (rc = managed__check_rules_dir(m->rules_dir, &why)) != 0) {
		*cause = xasprintf("managed policy %s: \"rules\": %s", path, why);
		free(why);
		managed_free(m);
	}
	return rc;
}

bool managed_allows(const struct managed_list *l, const char *value)
{
	size_t len;

	if (l == NULL || !l->set)
		return true;
	if (value == NULL)
		return false;
	/* reject:KIND,... is the policy "reject" (SPEC 12). */
	len = strncmp(value, "reject:", 7) == 0 ? 6 : strlen(value);
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == len && strncmp(l->v[i], value, len) == 0)
			return true;
	return false;
}

const char *managed_first_allowed(const struct managed_list *l, const char *const *known)
{
	for (size_t i = 0; l != NULL && i < l->n; i++)
		for (size_t k = 0; known[k] != NULL; k++)
			if (strcmp(l->v[i], known[k]) == 0)
				return known[k];
	return NULL;
}

/* "a, b, c" from list L ("nothing" when empty). Caller frees. */
static char *managed__join(const struct managed_list *l)
{
	char *s = xstrdup(l->n == 0 ? "nothing" : "");

	for (size_t i = 0; i < l->n; i++) {
		char *n = xasprintf("%s%s%s", s, i ? ", " : "", l->v[i]);

		free(s);
		s = n;
	}
	return s;
}

/* The refusal of VALUE (from FROM) under KEY's list L. Caller frees. */
static char *managed__refusal(const struct managed *m, const char *key, const struct managed_list *l,
                              const char *value, const char *from)
{
	char *allowed = managed__join(l);
	char *msg = xasprintf("%s%s\"%s\" is not allowed by the managed policy %s: %s allows %s",
	                      from != NULL ? from : "the default", " ", value, m->path, key,
	                      allowed);

	free(allowed);
	return msg;
}

int managed_refuse(const struct managed *m, const char *approval, const char *approval_from,
                   const char *network, const char *network_from, const char *sandbox,
                   const char *sandbox_from, char **cause)
{
	if (m == NULL || !m->present)
		return 0;
	if (approval != NULL && !managed_allows(&m->approval_policies, approval)) {
		*cause = managed__refusal(m, "allowed_approval_policies", &m->approval_policies,
		                          approval, approval_from);
		return -EPERM;
	}
	if (network != NULL && !managed_allows(&m->network_modes, network)) {
		*cause = managed__refusal(m, "allowed_network_modes", &m->network_modes, network,
		                          network_from);
		return -EPERM;
	}
	if (sandbox != NULL && !managed_allows(&m->sandbox_policies, sandbox)) {
		*cause = managed__refusal(m, "allowed_sandbox_policies", &m->sandbox_policies,
		                          sandbox, sandbox_from);
		return -EPERM;
	}
	if (sandbox != NULL && !m->allow_unsandboxed && strcmp(sandbox, "danger-full-access") == 0) {
		*cause = xasprintf("%s \"danger-full-access\" is not allowed by the managed policy "
		                   "%s: allow_unsandboxed is false (nothing runs outside the "
		                   "sandbox)",
		                   sandbox_from != NULL ? sandbox_from : "the default", m->path);
		return -EPERM;
	}
	return 0;
}

char *managed_summary(const struct managed *m)
{
	if (m == NULL || !m->present)
		return xstrdup("no managed policy");
	return xasprintf("managed policy %s%s%s%s", m->path,
	                 m->allow_unsandboxed ? "" : " (nothing runs outside the sandbox)",
	                 m->rules_dir != NULL ? "; rules " : "",
	                 m->rules_dir != NULL ? m->rules_dir : "");
}

void managed_free(struct managed *m)
{
	free(m->path);
	managed__list_free(&m->approval_policies);
	managed__list_free(&m->network_modes);
	managed__list_free(&m->sandbox_policies);
	free(m->rules_dir);
	managed__list_free(&m->allowed_domains);
	managed__list_free(&m->denied_domains);
	managed__list_free(&m->allow_private);
	managed__list_free(&m->protected_paths);
	for (size_t i = 0; i < m->decider_argc; i++)
		free(m->decider_argv[i]);
	free(m->decider_argv);
	memset(m, 0, sizeof *m);
}
