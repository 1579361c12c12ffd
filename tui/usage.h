/*
 * The words airlock prints about itself: --help for each mode and the
 * version. The man page (man/airlock.1) says the same things at more length;
 * a test checks that every option here appears there.
 */
#ifndef AIRLOCK_USAGE_H
#define AIRLOCK_USAGE_H

#include <stdio.h>

#include "tui/cli.h"

void usage_print(FILE *f, enum cli_mode mode);
const char *usage_version(void);
/* "exec " or "check " or "" for the TUI: for messages like "see airlock exec --help". */
const char *usage_subcommand(enum cli_mode mode);

#endif
