/*
 * The proxy's test hatch, for test programs only (the test runner, the
 * airlock-hatch build of airlock that tests/test-exec.c runs, the proxy
 * benchmark): AIRLOCK_PROXY_TEST_LOOPBACK_PORTS names the loopback ports
 * their servers listen on. Linked ahead of libairlock-core.a, whose
 * core/proxy-hatch.c (no ports) it replaces.
 */
#include "../core/proxy.h"

#include <stdlib.h>

/* The ports the test environment opens on loopback literals (see core/proxy.h). */
const char *proxy_test_loopback_ports(void)
{
	return getenv("AIRLOCK_PROXY_TEST_LOOPBACK_PORTS");
}
