/*
 * `airlock trust` (SPEC section 6): pins a workspace's own rules files
 * (`.airlock/rules/ *.rules`, `.codex/rules/ *.rules`) so that their allow
 * rules apply; until then they only restrict. Forms:
 *   airlock trust [--home DIR] [DIR]           pin DIR's rules (default: .)
 *   airlock trust [--home DIR] --revoke [DIR]  forget DIR's pin
 *   airlock trust [--home DIR] --list          PATH<TAB>trusted|changed<TAB>N files
 * Trusting shows what is trusted: each file with its rules, so the user
 * sees what they said yes to. Exit: 0, 1 when nothing could be done (no
 * pin to revoke, unreadable workspace), 2 on a usage error or a malformed
 * rules file (a broken file is never trusted).
 */
#include "tui/cli.h"

#include "core/config.h"
#include "core/rules-trust.h"
#include "core/rules.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the usage of `airlock trust` to F. */
static void cmd_trust__usage(FILE *f)
{
	fputs("usage: airlock trust [--home DIR] [DIR]\n"
	      "       airlock trust [--home DIR] --revoke [DIR]\n"
	      "       airlock trust [--home DIR] --list\n"
	      "Trusts the rules a workspace brings (DIR/.airlock/rules, DIR/.codex/rules):\n"
	      "until then only their forbidden and prompt rules apply. Any change to\n"
	      "those files untrusts them again.\n",
	      f);
}

/* Pins DIR's rules after checking they load; prints what was trusted. */
static int cmd_trust__pin(const char *home, const char *dir)
{
	struct rules *r = rules_new();
	struct rules_trust_files files;
	char *cause = NULL, *real = NULL;
	int rc;

	/* A file that does not load is never trusted. */
	if (rules_load_workspace(r, NULL, dir, NULL, &cause) != 0) {
		fprintf(stderr, "airlock: trust: %s\n", cause != NULL ? cause : "cannot load");
		free(cause);
		rules_free(r);
		return 2;
	}
	rules_free(r);
	rc = rules_trust_scan(dir, &real, &files, &cause);
	if (rc != 0) {
		fprintf(stderr, "airlock: trust: %s\n", cause != NULL ? cause : dir);
		free(cause);
		return 1;
	}
	if (files.n == 0) {
		fprintf(stderr, "airlock: trust: %s has no .airlock/rules or .codex/rules files\n",
		        real);
		rules_trust_files_free(&files);
		free(real);
		return 1;
	}
	rc = rules_trust_pin(home, dir, &cause);
	if (rc != 0) {
		fprintf(stderr, "airlock: trust: %s\n", cause != NULL ? cause : "cannot write");
		free(cause);
	} else {
		printf("trusted %s\n", real);
		for (size_t i = 0; i < files.n; i++)
			printf("  %s\tsha256:%s\n", files.names[i], files.hashes[i]);
	}
	rules_trust_files_free(&files);
	free(real);
	return rc != 0 ? 1 : 0;
}

/* Runs `airlock trust`. */
int cmd_trust(int argc, char **argv)
{
	const char *flag = NULL, *dir = NULL;
	bool revoke = false, list = false;
	char *home, *cause = NULL, *out = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cmd_trust__usage(stdout);
			return 0;
		}
		if (strcmp(a, "--home") == 0 && i + 1 < argc) {
			flag = argv[++i];
		} else if (strncmp(a, "--home=", 7) == 0) {
			flag = a + 7;
		} else if (strcmp(a, "--revoke") == 0) {
			revoke = true;
		} else if (strcmp(a, "--list") == 0) {
			list = true;
		} else if (a[0] == '-' || dir != NULL) {
			fprintf(stderr, "airlock: trust: unexpected argument '%s'\n", a);
			cmd_trust__usage(stderr);
			return 2;
		} else {
			dir = a;
		}
	}
	if ((revoke && list) || (list && dir != NULL)) {
		cmd_trust__usage(stderr);
		return 2;
	}
	home = config_home(flag);
	if (list) {
		rc = rules_trust_list(home, &out, &cause) == 0 ? 0 : 1;
		if (out != NULL)
			fputs(out, stdout);
		free(out);
	} else if (revoke) {
		rc = rules_trust_revoke(home, dir != NULL ? dir : ".", &cause);
		if (rc == 1)
			fprintf(stderr, "airlock: trust: %s was not trusted\n",
			        dir != NULL ? dir : ".");
		else if (rc < 0)
			fprintf(stderr, "airlock: trust: %s\n", cause != NULL ? cause : "failed");
		else
			printf("revoked %s\n", dir != NULL ? dir : ".");
		rc = rc == 0 ? 0 : 1;
	} else {
		rc = cmd_trust__pin(home, dir != NULL ? dir : ".");
	}
	free(cause);
	free(home);
	return rc;
}
