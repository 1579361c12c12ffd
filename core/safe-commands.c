/*
 * Known-safe, dangerous and interpreter commands, as data. Each table line
 * names a program and, where its safety depends on its arguments, the
 * options that make it unsafe (exact words, or prefixes ending in '=') or a
 * check function for the few shapes a list cannot say (`sed -n 5p`,
 * `git branch` that only lists). A command is looked up by the basename of
 * argv[0]; anything not in a table is neither safe nor dangerous.
 *
 * Known-safe means "only reads": it is what `untrusted` runs without
 * asking. It errs towards asking: an unknown option of a listed program
 * stays safe only when the program has no writing or executing options at
 * all; programs that can write or run code through options list them.
 */
#include "safe-commands.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef bool (*safe_commands__check_fn)(size_t argc, char *const argv[]);

/* One known-safe program. */
struct safe_commands__entry {
	const char *name;
	const char *const *bad;         /* options that make it unsafe; "x=" is a prefix */
	const char *bad_short;          /* letters that make a short option cluster unsafe */
	safe_commands__check_fn check;  /* extra check on the whole argv, or NULL */
	const char *const *subcommands; /* argv[1] must be one of these (git), or NULL */
};

/* One dangerous shape: PROGRAM with one of the options. */
struct safe_commands__danger {
	const char *name;
	const char *const *long_opts; /* exact long options */
	const char *short_flags;      /* any of these letters in a short option cluster */
};

/* Basename of a program path. */
static const char *safe_commands__base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* True when WORD is in the NULL-terminated LIST ("x=" entries match "x=..." too). */
static bool safe_commands__in(const char *word, const char *const *list)
{
	if (list == NULL)
		return false;
	for (; *list != NULL; list++) {
		size_t l = strlen(*list);

		if (strcmp(word, *list) == 0)
			return true;
		if (l > 0 && (*list)[l - 1] == '=' && strncmp(word, *list, l) == 0)
			return true;
		/* "--output" also catches "--output=FILE". */
		if ((*list)[0] == '-' && (*list)[1] == '-' && strncmp(word, *list, l) == 0 &&
		    word[l] == '=')
			return true;
	}
	return false;
}

/* `sed -n Np` or `sed -n N,Mp` (plus file names): prints lines, nothing else. */
static bool safe_commands__sed(size_t argc, char *const argv[])
{
	const char *s;
	int commas = 0;

	if (argc < 3 || strcmp(argv[1], "-n") != 0)
		return false;
	s = argv[2];
	if (*s < '0' || *s > '9')
		return false;
	for (; *s != '\0' && *s != 'p'; s++) {
		if (*s == ',' && commas++ == 0 && s[1] >= '0' && s[1] <= '9')
			continue;
		if (*s < '0' || *s > '9')
			return false;
	}
	if (strcmp(s, "p") != 0)
		return false;
	for (size_t i = 3; i < argc; i++)
		if (argv[i][0] == '-')
			return false;
	return true;
}

/* `git branch` that only lists (no names, no writing options). */
static bool safe_commands__git_branch(size_t argc, char *const argv[])
{
	static const char *const listing[] = {"--list",
	                                      "-l",
	                                      "-a",
	                                      "--all",
	                                      "-r",
	                                      "--remotes",
	                                      "-v",
	                                      "-vv",
	                                      "--verbose",
	                                      "--show-current",
	                                      "--color",
	                                      "--no-color",
	                                      "--column",
	                                      "--no-column",
	                                      "--contains",
	                                      "--no-contains",
	                                      "--merged",
	                                      "--no-merged",
	                                      "--points-at",
	                                      "--sort=",
	                                      "--format=",
	                                      "--color=",
	                                      "--column=",
	                                      "-i",
	                                      "--ignore-case",
	                                      NULL};
	bool list = false;

	for (size_t i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "-l") == 0)
			list = true;
		if (argv[i][0] == '-' && !safe_commands__in(argv[i], listing))
			return false;
	}
	/* A bare name creates a branch, unless --list makes it a pattern. */
	for (size_t i = 2; i < argc; i++)
		if (argv[i][0] != '-' && !list)
			return false;
	return true;
}

/* `git status|log|diff|show|branch` with no global option before the subcommand. */
static bool safe_commands__git(size_t argc, char *const argv[])
{
	if (argc < 2)
		return false;
	if (strcmp(argv[1], "branch") == 0)
		return safe_commands__git_branch(argc, argv);
	return true;
}

/* `uniq [OPTION] [INPUT]`: a second file name would be written. */
static bool safe_commands__uniq(size_t argc, char *const argv[])
{
	size_t names = 0;

	for (size_t i = 1; i < argc; i++)
		names += argv[i][0] != '-';
	return names <= 1;
}

static const char *const safe_commands__git_sub[] = {"status", "log",    "diff",
                                                     "show",   "branch", NULL};
static const char *const safe_commands__git_bad[] = {"--output", "-o", "--ext-diff",   "--textconv",
                                                     "--exec",   "-c", "--config-env", NULL};
static const char *const safe_commands__find_bad[] = {"-exec",   "-execdir", "-ok",      "-okdir",
                                                      "-delete", "-fprint",  "-fprint0", "-fprintf",
                                                      "-fls",    NULL};
static const char *const safe_commands__rg_bad[] = {"--pre", "--pre-glob", "--hostname-bin",
                                                    "--search-zip", NULL};
static const char *const safe_commands__sort_bad[] = {"--output", "--compress-program", NULL};
static const char *const safe_commands__date_bad[] = {"--set", NULL};
static const char *const safe_commands__file_bad[] = {"--compile", NULL};
/* base64 on BSD/macOS writes a file with -o / --output. */
static const char *const safe_commands__base64_bad[] = {"--output", "-o", NULL};

/* Programs that only read (SPEC section 4, step 3). */
static const struct safe_commands__entry safe_commands__safe[] = {
    {.name = "cat"},
    {.name = "ls"},
    {.name = "grep"},
    {.name = "egrep"},
    {.name = "fgrep"},
    {.name = "head"},
    {.name = "tail"},
    {.name = "wc"},
    {.name = "pwd"},
    {.name = "echo"},
    {.name = "true"},
    {.name = "false"},
    {.name = "cd"},
    {.name = "nl"},
    {.name = "cut"},
    {.name = "tr"},
    {.name = "rev"},
    {.name = "diff"},
    {.name = "cmp"},
    {.name = "stat"},
    {.name = "du"},
    {.name = "df"},
    {.name = "which"},
    {.name = "whoami"},
    {.name = "id"},
    {.name = "uname"},
    {.name = "basename"},
    {.name = "dirname"},
    {.name = "realpath"},
    {.name = "readlink"},
    {.name = "md5sum"},
    {.name = "sha1sum"},
    {.name = "sha256sum"},
    {.name = "sha512sum"},
    {.name = "seq"},
    {.name = "printenv"},
    {.name = "od"},
    {.name = "hexdump"},
    /* Read-only tools Codex lists too (issue 12). */
    {.name = "base64", .bad = safe_commands__base64_bad, .bad_short = "o"},
    {.name = "base32"},
    {.name = "tac"},
    {.name = "numfmt"},
    {.name = "expr"},
    {.name = "paste"},
    {.name = "fold"},
    {.name = "expand"},
    {.name = "unexpand"},
    {.name = "comm"},
    {.name = "join"},
    {.name = "column"},
    {.name = "cksum"},
    {.name = "b2sum"},
    {.name = "sha224sum"},
    {.name = "sha384sum"},
    {.name = "file", .bad = safe_commands__file_bad, .bad_short = "C"},
    {.name = "tree", .bad_short = "o"},
    {.name = "date", .bad = safe_commands__date_bad, .bad_short = "s"},
    {.name = "sort", .bad = safe_commands__sort_bad, .bad_short = "o"},
    {.name = "uniq", .check = safe_commands__uniq},
    {.name = "find", .bad = safe_commands__find_bad},
    {.name = "rg", .bad = safe_commands__rg_bad, .bad_short = "z"},
    {.name = "sed", .check = safe_commands__sed},
    {.name = "git",
     .bad = safe_commands__git_bad,
     .check = safe_commands__git,
     .subcommands = safe_commands__git_sub},
};

static const char *const safe_commands__rm_long[] = {"--force", NULL};

/* Dangerous shapes (SPEC section 4): they prompt under every policy but never. */
static const struct safe_commands__danger safe_commands__dangers[] = {
    {.name = "rm", .long_opts = safe_commands__rm_long, .short_flags = "f"},
};

/* Programs that run another command given in their arguments (sorted: bsearch). */
static const char *const safe_commands__wrappers[] = {
    "builtin", "busybox",  "bwrap",   "chroot",   "chrt",    "command", "doas",   "env",
    "exec",    "faketime", "find",    "firejail", "flock",   "ionice",  "ltrace", "nice",
    "nohup",   "nsenter",  "runuser", "script",   "setsid",  "stdbuf",  "strace", "su",
    "sudo",    "taskset",  "time",    "timeout",  "unshare", "watch",   "xargs",  NULL};

/* Interpreters: never offered as a bare `p` prefix. */
static const char *const safe_commands__interpreters[] = {
    "python", "python2", "python3",   "pypy",   "pypy3",      "node",   "nodejs", "deno", "bun",
    "perl",   "ruby",    "irb",       "php",    "lua",        "luajit", "tclsh",  "wish", "Rscript",
    "R",      "julia",   "osascript", "pwsh",   "powershell", "bash",   "sh",     "zsh",  "dash",
    "ksh",    "mksh",    "fish",      "csh",    "tcsh",       "awk",    "gawk",   "mawk", "nawk",
    "sed",    "gdb",     "eval",      "source", ".",          NULL};

/* True when ARGV (no wrapper) is a known-safe command. */
bool safe_commands_is_known_safe(size_t argc, char *const argv[])
{
	const char *name;

	if (argc == 0)
		return false;
	name = safe_commands__base(argv[0]);
	for (size_t i = 0; i < sizeof safe_commands__safe / sizeof *safe_commands__safe; i++) {
		const struct safe_commands__entry *e = &safe_commands__safe[i];

		if (strcmp(e->name, name) != 0)
			continue;
		if (e->subcommands != NULL &&
		    (argc < 2 || !safe_commands__in(argv[1], e->subcommands) ||
		     strchr(argv[1], '=') != NULL))
			return false;
		for (size_t j = 1; j < argc; j++) {
			const char *a = argv[j];

			if (safe_commands__in(a, e->bad))
				return false;
			if (e->bad_short != NULL && a[0] == '-' && a[1] != '-' &&
			    strpbrk(a + 1, e->bad_short) != NULL)
				return false;
		}
		return e->check == NULL || e->check(argc, argv);
	}
	return false;
}

/* True when ARGV (starting at a program) matches the dangerous shape D. */
static bool safe_commands__matches_danger(const struct safe_commands__danger *d, size_t argc,
                                          char *const argv[])
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0')
			continue;
		if (a[1] == '-') {
			if (safe_commands__in(a, d->long_opts))
				return true;
			continue;
		}
		for (const char *f = a + 1; *f != '\0'; f++)
			if (strchr(d->short_flags, *f) != NULL)
				return true;
	}
	return false;
}

/* True when NAME is in the NULL-terminated LIST. */
static bool safe_commands__listed(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (name[0] == (*list)[0] && strcmp(name, *list) == 0)
			return true;
	return false;
}

/* Orders a key string against a table string, for bsearch. */
static int safe_commands__cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* True when NAME is a wrapper (the sorted wrappers table, by bsearch). */
static bool safe_commands__is_wrapper_name(const char *name)
{
	return bsearch(name, safe_commands__wrappers,
	               sizeof safe_commands__wrappers / sizeof *safe_commands__wrappers - 1,
	               sizeof *safe_commands__wrappers, safe_commands__cmp) != NULL;
}

/* True when ARGV is dangerous, also behind wrappers such as sudo. */
bool safe_commands_is_dangerous(size_t argc, char *const argv[])
{
	for (size_t start = 0; start < argc; start++) {
		const char *name = safe_commands__base(argv[start]);

		for (size_t i = 0;
		     i < sizeof safe_commands__dangers / sizeof *safe_commands__dangers; i++)
			if (strcmp(name, safe_commands__dangers[i].name) == 0 &&
			    safe_commands__matches_danger(&safe_commands__dangers[i], argc - start,
			                                  argv + start))
				return true;
		/*
		 * Only a wrapper lets a later word be the program; its own
		 * options and arguments are skipped by trying every later word
		 * (a false alarm only costs a prompt).
		 */
		if (start == 0 && !safe_commands__is_wrapper_name(name))
			return false;
	}
	return false;
}

/* True when NAME is an interpreter or a command wrapper. */
bool safe_commands_is_interpreter(const char *name)
{
	const char *base = safe_commands__base(name);

	if (strncmp(base, "python", 6) == 0)
		return true;
	return safe_commands__listed(base, safe_commands__interpreters) ||
	       safe_commands__is_wrapper_name(base);
}

/* True when NAME runs another command given in its arguments (sudo, env, xargs, find). */
bool safe_commands_is_wrapper(const char *name)
{
	return safe_commands__is_wrapper_name(safe_commands__base(name));
}
