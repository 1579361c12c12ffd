/*
 * Tests of the shell splitter: a table of scripts with the commands they
 * split into (or none: opaque), the wrapper forms that are split, the
 * word splitter used by match examples, and quoting on join.
 */
#include "test.h"

#include "../core/shell-split.h"
#include "../core/xmalloc.h"

#include <errno.h>
#include <stdlib.h>

/* COMMANDS rendered as [w1,w2][w3]: one bracket group per command. */
static char *shell_test__render(const struct shell_split_command *cmds, size_t n)
{
	char *out = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s[", out);

		free(out);
		out = t;
		for (size_t j = 0; j < cmds[i].argc; j++) {
			t = xasprintf("%s%s%s", out, j > 0 ? "," : "", cmds[i].argv[j]);
			free(out);
			out = t;
		}
		t = xasprintf("%s]", out);
		free(out);
		out = t;
	}
	return out;
}

TEST(shell_split_scripts_table)
{
	static const struct {
		const char *script;
		const char *split; /* NULL: opaque */
	} cases[] = {
	    {"ls", "[ls]"},
	    {"  ls   -la  ", "[ls,-la]"},
	    {"git status && ls -la", "[git,status][ls,-la]"},
	    {"a || b", "[a][b]"},
	    {"a; b;c", "[a][b][c]"},
	    {"a | b|c", "[a][b][c]"},
	    {"a;", "[a]"},
	    {"a\nb", "[a][b]"},
	    {"a &&\nb", "[a][b]"},
	    {"\n\na\n\n", "[a]"},
	    {"a \\\n b", "[a,b]"},
	    {"echo 'a && b'", "[echo,a && b]"},
	    {"echo \"a; b\"", "[echo,a; b]"},
	    {"echo \"x\\\"y\\\\z\\$\"", "[echo,x\"y\\z$]"},
	    {"echo \"a\\nb\"", "[echo,a\\nb]"},
	    {"echo a\\ b", "[echo,a b]"},
	    {"echo ''", "[echo,]"},
	    {"echo 'it'\\''s'", "[echo,it's]"},
	    {"git log HEAD~1", "[git,log,HEAD~1]"},
	    {"grep -e a#b", "[grep,-e,a#b]"},
	    {"make --jobs=4", "[make,--jobs=4]"},
	    {"echo \"a=b\" c", "[echo,a=b,c]"},
	    {"'FOO=1' ls", "[FOO=1,ls]"},
	    {"ls -la /tmp/x,y:z@w%v+u", "[ls,-la,/tmp/x,y:z@w%v+u]"},
	    {"echo é ü", "[echo,é,ü]"},
	    /* opaque */
	    {"", NULL},
	    {"   ", NULL},
	    {"ls > out", NULL},
	    {"ls >> out", NULL},
	    {"cat < in", NULL},
	    {"ls 2>&1", NULL},
	    {"echo $HOME", NULL},
	    {"echo ${HOME}", NULL},
	    {"echo \"$HOME\"", NULL},
	    {"echo $(id)", NULL},
	    {"echo `id`", NULL},
	    {"echo \"`id`\"", NULL},
	    {"(ls)", NULL},
	    {"{ ls; }", NULL},
	    {"ls &", NULL},
	    {"ls & pwd", NULL},
	    {"ls |& cat", NULL},
	    {"FOO=1 ls", NULL},
	    {"ls *.c", NULL},
	    {"ls file?", NULL},
	    {"ls [ab]", NULL},
	    {"ls ~", NULL},
	    {"ls ~/x", NULL},
	    {"make PREFIX=~/x", NULL},
	    {"# comment", NULL},
	    {"ls # comment", NULL},
	    {"! ls", NULL},
	    {"ls && && pwd", NULL},
	    {"&& ls", NULL},
	    {"ls &&", NULL},
	    {"ls ||", NULL},
	    {"ls |", NULL},
	    {"; ls", NULL},
	    {"ls ;; pwd", NULL},
	    {"if true; then ls; fi", NULL},
	    {"for x in a; do ls; done", NULL},
	    {"while true; do ls; done", NULL},
	    {"function f { ls; }", NULL},
	    {"export A=1", NULL},
	    {"eval ls", NULL},
	    {"echo 'unclosed", NULL},
	    {"echo \"unclosed", NULL},
	    {"echo trailing\\", NULL},
	    {"echo {a,b}", NULL},
	    {"ls; && pwd", NULL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct shell_split_command *cmds;
		size_t n;
		int rc = shell_split_script(cases[i].script, &cmds, &n);

		if (cases[i].split == NULL) {
			if (rc != -EINVAL) {
				char *got = shell_test__render(cmds, n);

				fprintf(stderr, "`%s`: expected opaque, got %s\n", cases[i].script,
				        got);
				free(got);
				return 1;
			}
			continue;
		}
		if (rc != 0) {
			fprintf(stderr, "`%s`: expected %s, got opaque\n", cases[i].script,
			        cases[i].split);
			return 1;
		}
		{
			char *got = shell_test__render(cmds, n);

			ASSERT_STR_EQ(got, cases[i].split);
			free(got);
		}
		shell_split_commands_free(cmds, n);
	}
	return 0;
}

TEST(shell_split_only_shell_wrappers)
{
	static const struct {
		const char *argv[5];
		size_t argc;
		bool wrapper;
		bool opaque;
		size_t n;
	} cases[] = {
	    {{"bash", "-lc", "ls && pwd"}, 3, true, false, 2},
	    {{"bash", "-c", "ls | wc"}, 3, true, false, 2},
	    {{"sh", "-c", "ls"}, 3, true, false, 1},
	    {{"zsh", "-lc", "a; b; c"}, 3, true, false, 3},
	    {{"/usr/bin/bash", "-lc", "a; b"}, 3, true, false, 2},
	    {{"bash", "-lc", "ls > x"}, 3, true, true, 1},
	    {{"bash", "-x", "-c", "ls"}, 4, false, false, 1},
	    {{"bash", "-ic", "ls; pwd"}, 3, false, false, 1},
	    {{"dash", "-c", "ls; pwd"}, 3, false, false, 1},
	    {{"python3", "-c", "a; b"}, 3, false, false, 1},
	    {{"bash", "-lc"}, 2, false, false, 1},
	    {{"bash", "-lc", "a; b", "extra"}, 4, false, false, 1},
	    {{"ls", "-la"}, 2, false, false, 1},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct shell_split s;

		shell_split_argv(cases[i].argc, (char *const *)cases[i].argv, &s);
		if (s.wrapper != cases[i].wrapper || s.opaque != cases[i].opaque ||
		    s.n != cases[i].n) {
			fprintf(stderr, "case %zu (%s %s): wrapper=%d opaque=%d n=%zu\n", i,
			        cases[i].argv[0], cases[i].argv[1], s.wrapper, s.opaque, s.n);
			return 1;
		}
		/* Unsplit: the one command is the argv itself. */
		if (s.n == 1 && (s.opaque || !s.wrapper)) {
			ASSERT_EQ(s.cmds[0].argc, cases[i].argc);
			ASSERT_STR_EQ(s.cmds[0].argv[0], cases[i].argv[0]);
			ASSERT(s.cmds[0].argv[s.cmds[0].argc] == NULL);
		}
		shell_split_free(&s);
	}
	return 0;
}

TEST(shell_split_words_for_examples)
{
	static const struct {
		const char *s;
		const char *words; /* joined by '|', NULL for an error */
	} cases[] = {
	    {"git push origin", "git|push|origin"},
	    {"  a\t b\n", "a|b"},
	    {"echo 'a b' \"c d\"", "echo|a b|c d"},
	    {"a\\ b c", "a b|c"},
	    {"ls > out && x", "ls|>|out|&&|x"},
	    {"\"$HOME\"", "$HOME"},
	    {"", ""},
	    {"'unclosed", NULL},
	    {"\"unclosed", NULL},
	    {"trail\\", NULL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char **words;
		size_t n;
		char got[256] = "";

		if (cases[i].words == NULL) {
			ASSERT_EQ(shell_split_words(cases[i].s, &words, &n), -EINVAL);
			continue;
		}
		ASSERT_EQ(shell_split_words(cases[i].s, &words, &n), 0);
		for (size_t j = 0; j < n; j++) {
			if (j > 0)
				strcat(got, "|");
			strcat(got, words[j]);
		}
		ASSERT(words[n] == NULL);
		ASSERT_STR_EQ(got, cases[i].words);
		shell_split_words_free(words);
	}
	return 0;
}

TEST(shell_split_join_quotes_what_needs_it)
{
	char *argv[] = {"git", "commit", "-m", "it's done", "", "a$b", "--x=1,2", NULL};
	char *line = shell_split_join(7, argv);
	char **back;
	size_t n;

	ASSERT_STR_EQ(line, "git commit -m 'it'\\''s done' '' 'a$b' --x=1,2");
	ASSERT_EQ(shell_split_words(line, &back, &n), 0);
	ASSERT_EQ(n, 7);
	for (size_t i = 0; i < 7; i++)
		ASSERT_STR_EQ(back[i], argv[i]);
	shell_split_words_free(back);
	free(line);
	return 0;
}

/* Collects scanned commands as [w1,w2] groups. */
static void shell_test__collect(size_t argc, char *const argv[], void *ctx)
{
	char **out = ctx;
	char *t = xasprintf("%s[", *out);

	free(*out);
	*out = t;
	for (size_t j = 0; j < argc; j++) {
		t = xasprintf("%s%s%s", *out, j > 0 ? "," : "", argv[j]);
		free(*out);
		*out = t;
	}
	t = xasprintf("%s]", *out);
	free(*out);
	*out = t;
}

/*
 * The conservative scan of opaque scripts finds every command that could
 * start anywhere: after list operators, in substitutions (also inside
 * double quotes), after keywords and assignments, without redirections.
 */
TEST(shell_split_scan_finds_every_command)
{
	static const struct {
		const char *script;
		const char *found;
	} cases[] = {
	    {"ls > out && git push", "[ls][git,push]"},
	    {"rm -rf \"$T\" >/dev/null", "[rm,-rf,$T]"},
	    {"echo $(git push)", "[git,push][echo,$]"},
	    {"x=`git push`", "[git,push]"},
	    {"echo \"a $(git push) b\"; true", "[git,push][echo,a $ b][true]"},
	    {"if true; then curl x; fi", "[true][curl,x]"},
	    {"for f in *; do rm $f; done", "[for,f,in,*][rm,$f]"},
	    {"cat <(curl x)", "[curl,x][cat]"},
	    {"(cd sub && git push)", "[cd,sub][git,push]"},
	    {"FOO=1 A=2 git push 2>&1", "[1][2][git,push]"},
	    {"x='rm -rf /'", "[rm,-rf,/]"},
	    {"{git,push} x", "[{git,push},x][git,push,x]"},
	    {"a{b,c}d", "[a{b,c}d][abd,acd]"},
	    {"'{git,push}' \"{a,b}\"", "[{git,push},{a,b}]"},
	    {"$'\\x67it' $'a\\tb' $\"c\"", "[git,a\tb,c]"},
	    {"a & b | c || d", "[a][b][c][d]"},
	    {"ls # note\ngit push", "[ls][git,push]"},
	    {"echo \"`curl x`\"", "[curl,x][echo,$]"},
	    {"{ git push; }", "[git,push]"},
	    {"f() { git push; }; f", "[f][git,push][f]"},
	    {"echo 'a; rm x' \"b | c\"", "[echo,a; rm x,b | c]"},
	    {"cat <<EOF\nrm -rf /\nEOF", "[cat][rm,-rf,/][EOF]"},
	    {"echo $((1+2)) ${HOME} $(a $(b) c)", "[1+2][b][a,$,c][echo,$,${HOME},$]"},
	    {"ls 2>err 3<in >> log", "[ls]"},
	    {"echo unterminated 'quote", "[echo,unterminated,quote]"},
	};
	int failures = 0;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *got = xstrdup("");

		ASSERT(shell_split_scan(cases[i].script, shell_test__collect, &got));
		if (strcmp(got, cases[i].found) != 0) {
			fprintf(stderr, "scan %s: expected %s, got %s\n", cases[i].script,
			        cases[i].found, got);
			failures++;
		}
		free(got);
	}
	ASSERT_EQ(failures, 0);
	/* Nesting past the limit still scans, but says it is incomplete. */
	{
		char deep[200] = "";
		char *got = xstrdup("");

		for (int i = 0; i < 40; i++)
			strcat(deep, "$(");
		strcat(deep, "git push");
		for (int i = 0; i < 40; i++)
			strcat(deep, ")");
		ASSERT(!shell_split_scan(deep, shell_test__collect, &got));
		ASSERT_CONTAINS(got, "[git,push]");
		free(got);
	}
	return 0;
}
