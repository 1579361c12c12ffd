/*
 * Where cJSON stopped: turns the pointer cJSON_GetErrorPtr() returns into a
 * line and column of the parsed text, so every JSON error airlock reports
 * can name FILE:LINE:COL.
 */
#ifndef AIRLOCK_JSON_ERROR_H
#define AIRLOCK_JSON_ERROR_H

/*
 * Sets *LINE and *COL (1-based) of the position ERR inside TEXT; when ERR is
 * NULL or outside TEXT, the position just past the end.
 */
void json_error_position(const char *text, const char *err, int *line, int *col);

#endif
