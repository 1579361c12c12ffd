/*
 * The shipped side of the proxy's test hatch: none. Tests reach their
 * servers on loopback literals through a hatch that only test programs
 * link (tests/proxy-hatch.c defines proxy_test_loopback_ports ahead of this
 * library); airlock itself links this file, so no environment variable can
 * open loopback to a sandboxed command.
 */
#include "proxy.h"

#include <stddef.h>

/* No loopback ports are open to tests in the shipped program. */
const char *proxy_test_loopback_ports(void)
{
	return NULL;
}
