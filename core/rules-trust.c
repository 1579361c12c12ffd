/*
 * Trust pins for workspace rules: a small SHA-256 (FIPS 180-4, written
 * here: no crypto library is among airlock's dependencies), the scan of a
 * workspace's rules files, and HOME/trust.json read and rewritten with
 * cJSON. Writing is lock, read, change, write a temporary file, fsync,
 * rename: a reader sees the old file or the new one, never half of one, and
 * two `airlock trust` at once both land.
 */
#include "rules-trust.h"

#include "read-all.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- SHA-256 ------------------------------------------------------------------ */

/* The round constants: the first 32 bits of the cube roots of the first 64 primes. */
static const uint32_t rules_trust__k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* X rotated right by N bits. */
static uint32_t rules_trust__ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

/* Mixes one 64-byte block into the state H. */
static void rules_trust__block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = rules_trust__ror(w[i - 15], 7) ^ rules_trust__ror(w[i - 15], 18) ^
		              (w[i - 15] >> 3);
		uint32_t s1 = rules_trust__ror(w[i - 2], 17) ^ rules_trust__ror(w[i - 2], 19) ^
		              (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t s1 =
		    rules_trust__ror(e, 6) ^ rules_trust__ror(e, 11) ^ rules_trust__ror(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = k + s1 + ch + rules_trust__k[i] + w[i];
		uint32_t s0 =
		    rules_trust__ror(a, 2) ^ rules_trust__ror(a, 13) ^ rules_trust__ror(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = s0 + maj;

		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

/* SHA-256 of DATA as hex. */
void rules_trust_sha256_hex(const void *data, size_t len, char hex[65])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t full = len / 64 * 64, rest = len - full, tl;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		rules_trust__block(h, p + i);
	memset(tail, 0, sizeof tail);
	if (rest > 0)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tl = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	rules_trust__block(h, tail);
	if (tl == 128)
		rules_trust__block(h, tail + 64);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", h[i]);
	hex[64] = '\0';
}

/* ---- the files of a workspace --------------------------------------------------- */

/* Reads the whole file PATH (at most 16 MiB). Returns 0 or -errno. */
static int rules_trust__read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = read_all(fd, 16 * 1024 * 1024, buf, len);
	close(fd);
	return rc;
}

/* Orders two strings, for qsort. */
static int rules_trust__cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Frees F's lists. */
void rules_trust_files_free(struct rules_trust_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->names[i]);
		free(f->hashes[i]);
	}
	free(f->names);
	free(f->hashes);
	memset(f, 0, sizeof *f);
}

/* Lists DIR's rules files' names, sorted (rules-trust.h). */
int rules_dir_names(const char *dir, bool notdir_is_missing, char ***names, size_t *n,
                    char **cause)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	*names = NULL;
	*n = 0;
	if (d == NULL) {
		int rc = errno == ENOENT || (notdir_is_missing && errno == ENOTDIR) ? 0 : -errno;
		if (rc != 0 && cause != NULL)
			*cause = xasprintf("%s: %s", dir, strerror(errno));
		return rc;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.' || l <= 6 || strcmp(e->d_name + l - 6, ".rules") != 0)
			continue;
		*names = xreallocarray(*names, *n + 1, sizeof **names);
		(*names)[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(*names, *n, sizeof **names, rules_trust__cmp);
	return 0;
}

/* Adds REAL/SUB's *.rules files (sorted) to OUT. */
static int rules_trust__dir(const char *real, const char *sub, struct rules_trust_files *out,
                            char **cause)
{
	char *dir = xasprintf("%s/%s", real, sub);
	char **names;
	size_t n;
	int rc = rules_dir_names(dir, true, &names, &n, cause);

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		char *buf = NULL, hex[65];
		size_t len = 0;

		if (rc == 0) {
			rc = rules_trust__read_file(path, &buf, &len);
			if (rc != 0 && cause != NULL)
				*cause = xasprintf("%s: %s", path, strerror(-rc));
		}
		if (rc == 0) {
			rules_trust_sha256_hex(buf, len, hex);
			out->names = xreallocarray(out->names, out->n + 1, sizeof *out->names);
			out->hashes = xreallocarray(out->hashes, out->n + 1, sizeof *out->hashes);
			out->names[out->n] = xasprintf("%s/%s", sub, names[i]);
			out->hashes[out->n++] = xstrdup(hex);
		}
		free(buf);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
	return rc;
}

/* Lists and hashes WORKSPACE's rules files. */
int rules_trust_scan(const char *workspace, char **real, struct rules_trust_files *out,
                     char **cause)
{
	int rc;

	memset(out, 0, sizeof *out);
	*real = realpath(workspace, NULL);
	if (*real == NULL) {
		rc = -errno;
		if (cause != NULL)
			*cause = xasprintf("%s: %s", workspace, strerror(errno));
		return rc;
	}
	rc = rules_trust__dir(*real, ".airlock/rules", out, cause);
	if (rc == 0)
		rc = rules_trust__dir(*real, ".codex/rules", out, cause);
	if (rc != 0) {
		rules_trust_files_free(out);
		free(*real);
		*real = NULL;
	}
	return rc;
}

/* ---- trust.json ----------------------------------------------------------------- */

/* HOME/trust.json parsed, or a fresh empty object when missing or unreadable. */
static cJSON *rules_trust__read(const char *home)
{
	char *path = xasprintf("%s/trust.json", home), *buf = NULL;
	size_t len = 0;
	cJSON *o = NULL;

	if (rules_trust__read_file(path, &buf, &len) == 0)
		o = cJSON_ParseWithLength(buf, len);
	free(buf);
	free(path);
	if (o == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
	}
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "workspaces"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "workspaces");
		cJSON_AddItemToObject(o, "workspaces", cJSON_CreateObject());
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "version") == NULL)
		cJSON_AddNumberToObject(o, "version", 1);
	return o;
}

/* Whether the pinned "files" object PINNED is exactly FILES. */
static bool rules_trust__same(const cJSON *pinned, const struct rules_trust_files *files)
{
	const cJSON *e;
	size_t n = 0;

	if (!cJSON_IsObject(pinned))
		return false;
	cJSON_ArrayForEach(e, pinned) n++;
	if (n != files->n)
		return false;
	for (size_t i = 0; i < files->n; i++) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(pinned, files->names[i]);

		if (!cJSON_IsString(h) || strcmp(h->valuestring, files->hashes[i]) != 0)
			return false;
	}
	return true;
}

/* Whether trust.json pins exactly FILES for REAL. */
bool rules_trust_matches(const char *home, const char *real, const struct rules_trust_files *files)
{
	cJSON *o, *ws;
	bool ok;

	if (home == NULL || real == NULL)
		return false;
	o = rules_trust__read(home);
	ws = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "workspaces"),
	                                      real);
	ok = ws != NULL && rules_trust__same(cJSON_GetObjectItemCaseSensitive(ws, "files"), files);
	cJSON_Delete(o);
	return ok;
}

/* Takes the lock on HOME/trust.json.lock (creating HOME). Returns the fd or -errno. */
static int rules_trust__lock(const char *home)
{
	char *path = xasprintf("%s/trust.json.lock", home);
	int fd, rc;

	if (mkdir(home, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		free(path);
		return rc;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	rc = fd < 0 ? -errno : 0;
	free(path);
	if (fd < 0)
		return rc;
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			return rc;
		}
	return fd;
}

/* Writes O as HOME/trust.json (temporary file, fsync, rename). Returns 0 or -errno. */
static int rules_trust__write(const char *home, const cJSON *o)
{
	char *path = xasprintf("%s/trust.json", home);
	char *tmp = xasprintf("%s/.trust.json.%ld", home, (long)getpid());
	char *text = cJSON_Print(o);
	size_t len = strlen(text), off = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600), rc = 0;

	if (fd < 0)
		rc = -errno;
	while (rc == 0 && off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else
			off += (size_t)w;
	}
	if (rc == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
		rc = -errno;
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	cJSON_free(text);
	free(tmp);
	free(path);
	return rc;
}

/* Pins WORKSPACE's rules files. */
int rules_trust_pin(const char *home, const char *workspace, char **cause)
{
	struct rules_trust_files files;
	char *real = NULL, stamp[32];
	cJSON *o, *ws, *f;
	int lock, rc;
	time_t now = time(NULL);
	struct tm tm;

	rc = rules_trust_scan(workspace, &real, &files, cause);
	if (rc != 0)
		return rc;
	lock = rules_trust__lock(home);
	if (lock < 0) {
		if (cause != NULL)
			*cause = xasprintf("%s/trust.json.lock: %s", home, strerror(-lock));
		rules_trust_files_free(&files);
		free(real);
		return lock;
	}
	o = rules_trust__read(home);
	ws = cJSON_CreateObject();
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(ws, "trusted_at", stamp);
	f = cJSON_AddObjectToObject(ws, "files");
	for (size_t i = 0; i < files.n; i++)
		cJSON_AddStringToObject(f, files.names[i], files.hashes[i]);
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "workspaces"),
	                                        real);
	cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(o, "workspaces"), real, ws);
	rc = rules_trust__write(home, o);
	if (rc != 0 && cause != NULL)
		*cause = xasprintf("%s/trust.json: %s", home, strerror(-rc));
	cJSON_Delete(o);
	close(lock);
	rules_trust_files_free(&files);
	free(real);
	return rc;
}

/* Removes WORKSPACE's pin. */
int rules_trust_revoke(const char *home, const char *workspace, char **cause)
{
	char *real = realpath(workspace, NULL);
	cJSON *o, *all;
	int lock, rc = 0;
	const char *key = real != NULL ? real : workspace;

	lock = rules_trust__lock(home);
	if (lock < 0) {
		if (cause != NULL)
			*cause = xasprintf("%s/trust.json.lock: %s", home, strerror(-lock));
		free(real);
		return lock;
	}
	o = rules_trust__read(home);
	all = cJSON_GetObjectItemCaseSensitive(o, "workspaces");
	if (cJSON_GetObjectItemCaseSensitive(all, key) == NULL) {
		rc = 1;
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(all, key);
		rc = rules_trust__write(home, o);
		if (rc != 0 && cause != NULL)
			*cause = xasprintf("%s/trust.json: %s", home, strerror(-rc));
	}
	cJSON_Delete(o);
	close(lock);
	free(real);
	return rc;
}

/* The trusted workspaces, one line each. */
int rules_trust_list(const char *home, char **out, char **cause)
{
	cJSON *o = rules_trust__read(home), *ws;
	char *text = xstrdup("");

	(void)cause;
	cJSON_ArrayForEach(ws, cJSON_GetObjectItemCaseSensitive(o, "workspaces"))
	{
		struct rules_trust_files files;
		char *real = NULL, *line;
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(ws, "files");
		bool same = false;
		int n = cJSON_IsObject(f) ? cJSON_GetArraySize(f) : 0;

		if (ws->string == NULL)
			continue;
		if (rules_trust_scan(ws->string, &real, &files, NULL) == 0) {
			same = strcmp(real, ws->string) == 0 && rules_trust__same(f, &files);
			rules_trust_files_free(&files);
			free(real);
		}
		line = xasprintf("%s%s\t%s\t%d file%s\n", text, ws->string,
		                 same ? "trusted" : "changed", n, n == 1 ? "" : "s");
		free(text);
		text = line;
	}
	cJSON_Delete(o);
	*out = text;
	return 0;
}
