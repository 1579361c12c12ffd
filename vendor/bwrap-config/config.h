/*
 * The config.h bubblewrap's sources include when airlock compiles them into
 * the airlock-sandbox helper (see vendor/README.md). It stands in for the
 * header bubblewrap's own configure would write; only what its .c files use.
 */
#ifndef AIRLOCK_BWRAP_CONFIG_H
#define AIRLOCK_BWRAP_CONFIG_H

#define PACKAGE_NAME "bubblewrap"
#define PACKAGE_TARNAME "bubblewrap"
#define PACKAGE_VERSION "0.8.0"
#define PACKAGE_STRING "bubblewrap 0.8.0 (vendored in airlock-sandbox)"
#define PACKAGE_BUGREPORT ""
#define PACKAGE_URL ""
#define HAVE_LIBCAP 1
#define HAVE_SYS_CAPABILITY_H 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_UNISTD_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
/* No SELinux labels, no ENABLE_REQUIRE_USERNS: the helper is never setuid. */

#endif
