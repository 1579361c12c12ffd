/*
 * Where cJSON stopped: turns the pointer cJSON_GetErrorPtr() returns into a
 * line and column of the parsed text, so every JSON error airlock reports
 * can name FILE:LINE:COL.
 *
 * And the one check cJSON lacks: a key given twice in an object. cJSON keeps
 * both members (and lookups take the first, while a hand-written walk may
 * take the last), so two readers of one text could disagree on what it says;
 * every JSON airlock reads (policies, config.json, protocol lines) is refused
 * when any object in it, at any depth, repeats a key (SPEC section 2).
 */
#ifndef AIRLOCK_JSON_ERROR_H
#define AIRLOCK_JSON_ERROR_H

struct cJSON;

/*
 * Sets *LINE and *COL (1-based) of the position ERR inside TEXT; when ERR is
 * NULL or outside TEXT, the position just past the end.
 */
void json_error_position(const char *text, const char *err, int *line, int *col);

/*
 * Finds the first key repeated within one object of ROOT, in the order of the
 * text: returns its path (`network.mode`, `entries[1].path.type`, each name
 * cut to 64 bytes and control bytes written \xNN; caller frees), or NULL when
 * no object repeats a key. When TEXT is the text ROOT was parsed from and
 * WHERE is not NULL, *WHERE is the repeated key's opening quote in TEXT (NULL
 * if it cannot be found). Names compare byte for byte, as JSON says.
 */
char *json_duplicate_key(const struct cJSON *root, const char *text, const char **where);

/*
 * The first "\u0000" escape in TEXT (JSON cJSON accepted), or NULL. cJSON
 * ends its C strings there, so "a\u0000b" would read as "a": a name or path
 * that says one thing to other readers and another to airlock.
 */
const char *json_nul_escape(const char *text);

/*
 * Parses TEXT (the whole of it) as JSON that repeats no key and holds no
 * NUL character. Returns the tree
 * (free with cJSON_Delete), or NULL and, when CAUSE is not NULL, *CAUSE
 * (caller frees): "invalid JSON at line L, column C" (with " (unexpected end
 * of input)" when the text stopped short), "a string holds a NUL character
 * (\u0000) at line L, column C" or "duplicate key \"K\" at line L, column C".
 */
struct cJSON *json_parse_strict(const char *text, char **cause);

#endif
