/*
 * Converts cJSON's error pointer into a line and column. cJSON reports the
 * byte where parsing failed; we count newlines up to it.
 */
#include "json-error.h"

#include <string.h>

void json_error_position(const char *text, const char *err, int *line, int *col)
{
	size_t len = strlen(text);
	const char *end = (err != NULL && err >= text && err <= text + len) ? err : text + len;

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
