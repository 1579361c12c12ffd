/*
 * The environment variables that point programs at a proxy (SPEC section
 * 3, "Environment inside"): one table, read by core when it builds a
 * command's environment and by the sandbox helper when it routes those
 * endpoints into the network namespace, so the two never disagree.
 */
#ifndef AIRLOCK_PROXY_VARS_H
#define AIRLOCK_PROXY_VARS_H

#include <stdbool.h>
#include <stddef.h>

struct proxy_var {
	const char *name;
	bool socks; /* takes the SOCKS5 (socks5h://) endpoint, not the HTTP one */
};

extern const struct proxy_var proxy_vars[];
extern const size_t proxy_n_vars;

#endif
