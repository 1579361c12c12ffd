/*
 * Converts cJSON's error pointer into a line and column. cJSON reports the
 * byte where parsing failed, which for some errors is one byte into the
 * offending word (a bare word where a key belongs); so the position moves
 * back to the start of the word it falls in, then newlines are counted.
 */
#include "json-error.h"

#include <ctype.h>
#include <string.h>

void json_error_position(const char *text, const char *err, int *line, int *col)
{
	size_t len = strlen(text);
	const char *end = (err != NULL && err >= text && err <= text + len) ? err : text + len;

	while (end > text && end < text + len && isalnum((unsigned char)end[0]) &&
	       isalnum((unsigned char)end[-1]))
		end--;
	*line = 1;
	*col = 1;
	for (const char *p = text; p < end; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}
