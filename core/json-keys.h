/*
 * A JSON settings file read through tables of known keys (config.json, the
 * managed policy): each member is either a value handed to its setter or an
 * object read through a nested table; an unknown key, a member that should
 * be an object, or a value its setter refuses is an error that names the
 * member by its dotted path, which json_keys_at() finds in the text again
 * for the FILE:LINE:COL of the message.
 */
#ifndef AIRLOCK_JSON_KEYS_H
#define AIRLOCK_JSON_KEYS_H

struct cJSON;

/* A known key: a setter for a value (TARGET is what the table fills), or a nested table. */
struct json_key {
	const char *name;
	int (*set)(void *target, const struct cJSON *v, char **why);
	const struct json_key *keys;
};

/*
 * Applies every member of object OBJ to TARGET through KEYS (ended by a
 * zeroed entry); PREFIX names OBJ ("" at the top, else "network."). Returns
 * 0, or -EINVAL with *WHY (the message) and, when a member is at fault,
 * *WHERE (its dotted name); the caller frees both.
 */
int json_keys_apply(void *target, const struct cJSON *obj, const struct json_key *keys,
                    const char *prefix, char **why, char **where);

/*
 * Where the member named by the dotted path NAME (keys of nested objects,
 * e.g. "network.mode") starts in TEXT, JSON that cJSON accepted: its key's
 * opening quote, or NULL.
 */
const char *json_keys_at(const char *text, const char *name);

#endif
