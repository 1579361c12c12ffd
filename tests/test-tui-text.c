/*
 * Text that reaches the screen from outside (an agent's argv, a
 * justification, a file in a diff) is made printable first: no byte of it
 * may act on the terminal, and what is measured is what is drawn.
 */
#include "test.h"

#include "tui/tui.h"

#include <locale.h>
#include <stdlib.h>

/* One input and what it must become. */
struct text_case {
	const char *in;
	const char *out;
	int width;
};

static const struct text_case text_cases[] = {
    {"plain", "plain", 5},
    {"\x1b[31mred\x1b[0m", "?[31mred?[0m", 12},
    {"a\tb", "a   b", 5},
    {"one\ntwo\r", "one?two?", 8},
    {"del\x7f", "del?", 4},
    {"bad \xff byte", "bad \xef\xbf\xbd byte", 10},
    {"c1 \xc2\x9b"
     "31m",
     "c1 \xef\xbf\xbd"
     "31m",
     7},
    {"cut \xe2\x80", "cut \xef\xbf\xbd\xef\xbf\xbd", 6},
    {"wide \xe6\x97\xa5", "wide \xe6\x97\xa5", 7},
    /* A ZWJ sequence loses its joiners: each emoji is drawn as measured. */
    {"fam \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", "fam \xf0\x9f\x91\xa8\xf0\x9f\x91\xa9", 8},
    /* A combining mark stays on its letter. */
    {"e\xcc\x81!", "e\xcc\x81!", 2},
};

TEST(tui_text_printable_neutralises_control_bytes)
{
	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		SKIP("no C.UTF-8 locale");
	for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
		char *got = layout_text_printable(text_cases[i].in);
		ASSERT_STR_EQ(got, text_cases[i].out);
		ASSERT_EQ(layout_text_width(got), text_cases[i].width);
		for (const char *p = got; *p; p++)
			ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
		free(got);
	}
	return 0;
}
