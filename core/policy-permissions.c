/*
 * Extra permissions (see policy-permissions.h). Each list is a sorted array
 * of owned strings; adding keeps it sorted and unique by inserting in
 * place, which is quadratic only in the list's length, bounded by
 * POLICY_PERMISSIONS_MAX. Directories are resolved with realpath(3) when
 * they are added, so everything after (keys, prompts, the policy the helper
 * gets) sees the real place; hosts are checked by hand, character by
 * character, so no wildcard or stray syntax ever reaches the proxy's
 * matching.
 */
#include "policy-permissions.h"

#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool policy_permissions_empty(const struct policy_permissions *p)
{
	return p == NULL || (p->n_write == 0 && p->n_read == 0 && p->n_hosts == 0);
}

/* Frees a list of N strings. */
static void policy_permissions__list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void policy_permissions_free(struct policy_permissions *p)
{
	policy_permissions__list_free(p->write, p->n_write);
	policy_permissions__list_free(p->read, p->n_read);
	policy_permissions__list_free(p->hosts, p->n_hosts);
	memset(p, 0, sizeof *p);
}

/* Whether the sorted list V (N strings) holds S; *AT is where S is or would go. */
static bool policy_permissions__find(char *const *v, size_t n, const char *s, size_t *at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid], s);

		if (c == 0) {
			*at = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return false;
}

/* Inserts a copy of S into the sorted list *V (*N strings), once. */
static void policy_permissions__insert(char ***v, size_t *n, const char *s)
{
	size_t at;

	if (policy_permissions__find(*v, *n, s, &at))
		return;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	memmove(*v + at + 1, *v + at, (*n - at) * sizeof **v);
	(*v)[at] = xstrdup(s);
	(*n)++;
}

void policy_permissions_copy(struct policy_permissions *dst, const struct policy_permissions *src)
{
	memset(dst, 0, sizeof *dst);
	if (src != NULL)
		policy_permissions_merge(dst, src);
}

int policy_permissions_add_dir(struct policy_permissions *p, bool write, const char *path,
                               char **cause)
{
	char ***v = write ? &p->write : &p->read;
	size_t *n = write ? &p->n_write : &p->n_read;
	struct stat st;
	char *real;

	if (path == NULL || path[0] != '/') {
		*cause = xasprintf("\"%s\": not an absolute path", path != NULL ? path : "");
		return -EINVAL;
	}
	real = realpath(path, NULL);
	if (real == NULL) {
		int err = errno;

		*cause = xasprintf("\"%s\": %s", path, strerror(err));
		return -err;
	}
	if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		*cause = xasprintf("\"%s\": not a directory", path);
		free(real);
		return -ENOTDIR;
	}
	if (write && strcmp(real, "/") == 0) {
		*cause = xasprintf("\"%s\": write access to / is the whole file system (ask to run "
		                   "outside the sandbox instead)",
		                   path);
		free(real);
		return -EINVAL;
	}
	if (*n >= POLICY_PERMISSIONS_MAX) {
		*cause = xasprintf("too many directories (over %d)", POLICY_PERMISSIONS_MAX);
		free(real);
		return -EINVAL;
	}
	policy_permissions__insert(v, n, real);
	free(real);
	return 0;
}

/* Whether S (LEN bytes) is a DNS name: non-empty labels of letters, digits and inner '-'. */
static bool policy_permissions__dns_name(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* Whether S (LEN bytes) is the inside of a bracketed IPv6 address: hex digits, ':' and '.'. */
static bool policy_permissions__v6(const char *s, size_t len)
{
	if (len < 2 || len > 45)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return false;
	return memchr(s, ':', len) != NULL;
}

int policy_permissions_add_host(struct policy_permissions *p, const char *hostport, char **cause)
{
	const char *colon = hostport != NULL ? strrchr(hostport, ':') : NULL;
	const char *host = hostport;
	size_t hlen;
	char *end = NULL, *lower, *entry;
	unsigned long port;
	bool ok;

	if (colon == NULL)
		goto bad;
	hlen = (size_t)(colon - hostport);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']')
		ok = policy_permissions__v6(host + 1, hlen - 2);
	else
		ok = policy_permissions__dns_name(host, hlen);
	errno = 0;
	port = colon[1] >= '0' && colon[1] <= '9' ? strtoul(colon + 1, &end, 10) : 0;
	if (!ok || errno != 0 || end == NULL || *end != '\0' || port == 0 || port > 65535 ||
	    colon[1] == '0')
		goto bad;
	if (p->n_hosts >= POLICY_PERMISSIONS_MAX) {
		*cause = xasprintf("too many hosts (over %d)", POLICY_PERMISSIONS_MAX);
		return -EINVAL;
	}
	lower = xstrndup(host, hlen);
	for (char *c = lower; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	entry = xasprintf("%s:%lu", lower, port);
	policy_permissions__insert(&p->hosts, &p->n_hosts, entry);
	free(entry);
	free(lower);
	return 0;
bad:
	*cause = xasprintf("\"%s\": a host must be HOST:PORT with a name or address and no "
	                   "wildcard",
	                   hostport != NULL ? hostport : "");
	return -EINVAL;
}

void policy_permissions_merge(struct policy_permissions *a, const struct policy_permissions *b)
{
	for (size_t i = 0; i < b->n_write; i++)
		policy_permissions__insert(&a->write, &a->n_write, b->write[i]);
	for (size_t i = 0; i < b->n_read; i++)
		policy_permissions__insert(&a->read, &a->n_read, b->read[i]);
	for (size_t i = 0; i < b->n_hosts; i++)
		policy_permissions__insert(&a->hosts, &a->n_hosts, b->hosts[i]);
}

/* Whether every string of A (NA) is in the sorted list B (NB). */
static bool policy_permissions__subset(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t at;

	for (size_t i = 0; i < na; i++)
		if (!policy_permissions__find(b, nb, a[i], &at))
			return false;
	return true;
}

bool policy_permissions_covered(const struct policy_permissions *a,
                                const struct policy_permissions *b)
{
	static const struct policy_permissions none;

	if (policy_permissions_empty(a))
		return true;
	if (b == NULL)
		b = &none;
	return policy_permissions__subset(a->write, a->n_write, b->write, b->n_write) &&
	       policy_permissions__subset(a->read, a->n_read, b->read, b->n_read) &&
	       policy_permissions__subset(a->hosts, a->n_hosts, b->hosts, b->n_hosts);
}

bool policy_permissions_has_host(const struct policy_permissions *p, const char *host,
                                 unsigned port)
{
	char *entry;
	size_t at;
	bool has;

	if (p == NULL || p->n_hosts == 0 || host == NULL)
		return false;
	/* An IPv6 address comes bare from the proxy; the grant holds it bracketed. */
	entry = strchr(host, ':') != NULL && host[0] != '['
	            ? xasprintf("[%s]:%u", host, port)
	            : xasprintf("%s:%u", host, port);
	has = policy_permissions__find(p->hosts, p->n_hosts, entry, &at);
	free(entry);
	return has;
}

/* Appends "TAG|N|" and "LEN:S" for each of the N strings of V to *KEY. */
static void policy_permissions__key_part(char **key, const char *tag, char *const *v, size_t n)
{
	size_t len = strlen(*key) + strlen(tag) + 24;
	char *w;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 24;
	*key = xrealloc(*key, len);
	w = *key + strlen(*key);
	w += sprintf(w, "%s|%zu|", tag, n);
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%zu:%s", strlen(v[i]), v[i]);
	*w = '\0';
}

char *policy_permissions_key(const struct policy_permissions *p)
{
	char *key = xstrdup("");

	if (policy_permissions_empty(p))
		return key;
	policy_permissions__key_part(&key, "w", p->write, p->n_write);
	policy_permissions__key_part(&key, "|r", p->read, p->n_read);
	policy_permissions__key_part(&key, "|h", p->hosts, p->n_hosts);
	return key;
}

/* Appends "; WHAT a, b" to *OUT when V has anything. */
static void policy_permissions__describe_part(char **out, const char *what, char *const *v,
                                              size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *next = xasprintf("%s%s%s%s", *out,
		                       i > 0          ? ", "
		                       : **out != '\0' ? "; "
		                                       : "",
		                       i == 0 ? what : "", v[i]);

		free(*out);
		*out = next;
	}
}

char *policy_permissions_describe(const struct policy_permissions *p)
{
	char *out = xstrdup("");

	if (policy_permissions_empty(p)) {
		free(out);
		return xstrdup("nothing");
	}
	policy_permissions__describe_part(&out, "write ", p->write, p->n_write);
	policy_permissions__describe_part(&out, "read ", p->read, p->n_read);
	policy_permissions__describe_part(&out, "network ", p->hosts, p->n_hosts);
	return out;
}

/* Appends one plain-path entry (PATH copied) of ACCESS to FS. */
static void policy_permissions__entry(struct policy_fs *fs, const char *path,
                                      enum policy_access access)
{
	fs->entries = xreallocarray(fs->entries, fs->n_entries + 1, sizeof *fs->entries);
	fs->entries[fs->n_entries++] = (struct policy_fs_entry){
	    .special = POLICY_SPECIAL_NONE, .path = xstrdup(path), .access = access};
}

int policy_permissions_apply(const struct policy_permissions *p, struct policy_split *split,
                             const char *cwd, const char *tmpdir, char **cause)
{
	struct policy_resolved res;

	if (policy_permissions_empty(p) || split->fs.kind != POLICY_FS_RESTRICTED)
		return 0;
	if (policy_resolve(split, cwd, tmpdir, &res, cause) != 0)
		return -EINVAL;
	/* A path the policy closes (`none`) stays closed, whatever is added above or on it. */
	for (size_t k = 0; k < 2; k++) {
		char *const *v = k == 0 ? p->write : p->read;
		size_t n = k == 0 ? p->n_write : p->n_read;

		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < res.n_entries; j++)
				if (res.entries[j].access == POLICY_ACCESS_NONE &&
				    policy_path_is_under(res.entries[j].path, v[i])) {
					*cause = xasprintf("%s is closed by the sandbox policy "
					                   "(none at %s): extra permissions "
					                   "cannot open it",
					                   v[i], res.entries[j].path);
					policy_resolved_free(&res);
					return -EPERM;
				}
	}
	policy_resolved_free(&res);
	for (size_t i = 0; i < p->n_write; i++)
		policy_permissions__entry(&split->fs, p->write[i], POLICY_ACCESS_WRITE);
	for (size_t i = 0; i < p->n_read; i++)
		policy_permissions__entry(&split->fs, p->read[i], POLICY_ACCESS_READ);
	return 0;
}

/* Whether C ends a path in a message (quote, or a space before ':'). */
static bool policy_permissions__quote(char c)
{
	return c == '\'' || c == '"' || c == '`';
}

char *policy_permissions_denied_dir(const char *text, size_t len, const char *cwd)
{
	static const char needle[] = ": Read-only file system";
	size_t nl = sizeof needle - 1;
	const char *found = NULL;
	char *path, *full, *slash, *real;

	if (text == NULL)
		return NULL;
	for (size_t i = 0; i + nl <= len; i++)
		if (memcmp(text + i, needle, nl) == 0)
			found = text + i;
	if (found == NULL)
		return NULL;
	/* The path ends at FOUND (after a closing quote, if any) and starts after ": " or a quote. */
	const char *end = found, *start;
	static const char lq[] = "\xe2\x80\x98", rq[] = "\xe2\x80\x99"; /* ‘ ’ */
	if (end - text >= 3 && memcmp(end - 3, rq, 3) == 0) {
		/* Quotes as coreutils writes them in a UTF-8 locale. */
		end -= 3;
		start = end;
		while (start - text >= 3 && memcmp(start - 3, lq, 3) != 0 && start[-1] != '\n')
			start--;
		if (start - text < 3 || memcmp(start - 3, lq, 3) != 0)
			return NULL;
	} else if (end > text && policy_permissions__quote(end[-1])) {
		char q = end[-1];

		end--;
		start = end;
		while (start > text && start[-1] != q && start[-1] != '\n')
			start--;
		if (start == text || start[-1] != q)
			return NULL;
	} else {
		start = end;
		while (start > text && start[-1] != '\n' &&
		       !(start[-1] == ' ' && start - 1 > text && start[-2] == ':'))
			start--;
	}
	if (end <= start || (size_t)(end - start) >= PATH_MAX)
		return NULL;
	path = xstrndup(start, (size_t)(end - start));
	if (strchr(path, '\r') != NULL || strchr(path, '\n') != NULL) {
		free(path);
		return NULL;
	}
	full = path[0] == '/' ? xstrdup(path)
	       : cwd != NULL   ? xasprintf("%s/%s", cwd, path)
	                       : NULL;
	free(path);
	if (full == NULL)
		return NULL;
	slash = strrchr(full, '/');
	if (slash == full)
		slash[1] = '\0';
	else
		*slash = '\0';
	real = realpath(full, NULL);
	free(full);
	if (real != NULL && strcmp(real, "/") == 0) {
		free(real);
		return NULL;
	}
	return real;
}
