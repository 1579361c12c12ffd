/*
 * Domain patterns of config network.allowed_domains and denied_domains.
 * Three forms, compared case-insensitively with any trailing dot ignored:
 * an exact name (`example.com`), a strict-subdomain wildcard
 * (`*.example.com`: a.example.com, a.b.example.com, not example.com), and a
 * suffix (`.example.com`: example.com and every subdomain). `*` alone is
 * every host. IP literals are compared as text (IPv6 brackets dropped), so
 * `127.0.0.1` matches only that literal, never a name resolving to it.
 */
#include "proxy.h"

#include <string.h>
#include <strings.h>

/* Returns the length of S without a trailing dot or a pair of brackets; moves *S. */
static size_t proxy_domain__trim(const char **s)
{
	size_t n = strlen(*s);

	if (n >= 2 && (*s)[0] == '[' && (*s)[n - 1] == ']') {
		(*s)++;
		n -= 2;
	}
	if (n > 0 && (*s)[n - 1] == '.')
		n--;
	return n;
}

/* Whether H (HN bytes) ends with the label suffix S (SN bytes) after a dot. */
static bool proxy_domain__subdomain(const char *h, size_t hn, const char *s, size_t sn)
{
	return hn > sn + 1 && h[hn - sn - 1] == '.' && strncasecmp(h + hn - sn, s, sn) == 0;
}

/* Matches one pattern against one host. */
bool proxy_domain_match(const char *pattern, const char *host)
{
	size_t pn, hn;

	if (pattern == NULL || host == NULL)
		return false;
	pn = proxy_domain__trim(&pattern);
	hn = proxy_domain__trim(&host);
	if (pn == 0 || hn == 0)
		return false;
	if (pn == 1 && pattern[0] == '*')
		return true;
	if (pn > 2 && pattern[0] == '*' && pattern[1] == '.')
		return proxy_domain__subdomain(host, hn, pattern + 2, pn - 2);
	if (pn > 1 && pattern[0] == '.') {
		if (hn == pn - 1 && strncasecmp(host, pattern + 1, hn) == 0)
			return true;
		return proxy_domain__subdomain(host, hn, pattern + 1, pn - 1);
	}
	return hn == pn && strncasecmp(host, pattern, hn) == 0;
}

/* Returns the first of N patterns that matches HOST, or NULL. */
const char *proxy_domain_list_match(char *const *patterns, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++)
		if (proxy_domain_match(patterns[i], host))
			return patterns[i];
	return NULL;
}
