/*
 * Gitlinks in a repository's index, read after a run that changed it.
 *
 * A command that registers a nested repository as a gitlink (`git add sub`
 * where sub holds its own .git directory) makes host `git status` enter that
 * repository. Its config and hooks are the check after the run's business
 * (sandbox-gitcheck.c moves them aside when they were planted); this file
 * only finds such gitlinks so the helper can say so (SPEC 3: "a gitlink
 * added to the index is reported after the run"). It reads git's index
 * format versions 2, 3 and 4 (v4 compresses each path against the one
 * before), with SHA-1 or SHA-256 object names, and lists the entries of
 * mode 160000 whose path holds a `.git` directory in the worktree (a
 * submodule whose git dir was absorbed into .git/modules has a `.git` file
 * there instead, and is none of this check's concern).
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GITLINKS_INDEX_MAX  (64u << 20) /* an index larger than this is not read */
#define GITLINKS_MODE       0160000     /* a gitlink's mode in the index */
#define GITLINKS_FIXED      40          /* ctime..size: ten 32-bit fields */
#define GITLINKS_EXTENDED   0x4000      /* flags: two more flag bytes follow (v3+) */
#define GITLINKS_MAX_REPORT 64          /* gitlinks listed per index */

/* A 32-bit big-endian number at P. */
static uint32_t gitlinks_be32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/*
 * Parses the index BUF (LEN bytes) with object names of HASH bytes; adds
 * the gitlink paths to OUT. Returns 0, or -EINVAL when it does not parse.
 */
static int gitlinks_parse(const unsigned char *buf, size_t len, size_t hash, char ***out, size_t *n)
{
	uint32_t version, count;
	size_t at = 12;
	char *prev = xstrdup("");
	int rc = 0;

	if (len < 12 || memcmp(buf, "DIRC", 4) != 0) {
		free(prev);
		return -EINVAL;
	}
	version = gitlinks_be32(buf + 4);
	count = gitlinks_be32(buf + 8);
	if (version < 2 || version > 4) {
		free(prev);
		return -EINVAL;
	}
	for (uint32_t e = 0; rc == 0 && e < count; e++) {
		size_t start = at, head = GITLINKS_FIXED + hash + 2;
		uint32_t mode;
		uint16_t flags;
		char *name;

		if (at + head > len) {
			rc = -EINVAL;
			break;
		}
		mode = gitlinks_be32(buf + at + 24);
		flags = (uint16_t)(buf[at + GITLINKS_FIXED + hash] << 8 |
		                   buf[at + GITLINKS_FIXED + hash + 1]);
		at += head;
		if (version >= 3 && (flags & GITLINKS_EXTENDED) != 0)
			at += 2;
		if (version == 4) {
			/* A varint: how many bytes of the previous path to drop. */
			size_t strip = 0;
			unsigned char c;
			do {
				if (at >= len) {
					rc = -EINVAL;
					break;
				}
				c = buf[at++];
				strip = (strip << 7) | (c & 0x7f);
				if (c & 0x80)
					strip++;
			} while (c & 0x80);
			const unsigned char *end =
			    at < len ? memchr(buf + at, '\0', len - at) : NULL;
			if (rc != 0 || end == NULL || strip > strlen(prev)) {
				rc = -EINVAL;
				break;
			}
			size_t keep = strlen(prev) - strip, sl = (size_t)(end - (buf + at));
			name = xmalloc(keep + sl + 1);
			memcpy(name, prev, keep);
			memcpy(name + keep, buf + at, sl);
			name[keep + sl] = '\0';
			at += sl + 1;
		} else {
			const unsigned char *end =
			    at < len ? memchr(buf + at, '\0', len - at) : NULL;
			if (end == NULL) {
				rc = -EINVAL;
				break;
			}
			name = xstrndup((const char *)buf + at, (size_t)(end - (buf + at)));
			at = start + ((size_t)(end - buf) - start + 8) / 8 * 8; /* 1-8 NULs */
		}
		if ((mode & 0170000) == GITLINKS_MODE && *n < GITLINKS_MAX_REPORT) {
			*out = xreallocarray(*out, *n + 1, sizeof **out);
			(*out)[(*n)++] = xstrdup(name);
		}
		free(prev);
		prev = name;
	}
	free(prev);
	return rc;
}

int sandbox_gitlinks_embedded(const char *gitdir, const char *top, char ***out, size_t *n)
{
	char *index = sandbox__join(gitdir, "index");
	int fd = open(index, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	unsigned char *buf;
	char **links = NULL;
	size_t nlinks = 0, got = 0;
	int rc = 0;

	free(index);
	*out = NULL;
	*n = 0;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > GITLINKS_INDEX_MAX) {
		close(fd);
		return 0;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	/* SHA-1 object names, else SHA-256 (a repository with objectFormat sha256). */
	if (gitlinks_parse(buf, got, 20, &links, &nlinks) != 0) {
		for (size_t i = 0; i < nlinks; i++)
			free(links[i]);
		free(links);
		links = NULL;
		nlinks = 0;
		rc = gitlinks_parse(buf, got, 32, &links, &nlinks);
	}
	free(buf);
	for (size_t i = 0; i < nlinks; i++) {
		char *p = xasprintf("%s/%s/.git", top, links[i]);
		struct stat ls;
		if (rc == 0 && lstat(p, &ls) == 0 && S_ISDIR(ls.st_mode)) {
			*out = xreallocarray(*out, *n + 1, sizeof **out);
			(*out)[(*n)++] = xstrdup(links[i]);
		}
		free(p);
		free(links[i]);
	}
	free(links);
	return rc;
}
