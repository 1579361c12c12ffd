/*
 * libFuzzer target for the policy model. Any input must either parse or be
 * refused with a cause; a parsed policy must serialise to JSON that parses
 * back to an equal policy, and must resolve against a working directory
 * into sorted, distinct absolute paths.
 */
#include "core/policy.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Checks one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = xstrndup((const char *)data, size), *cause = NULL, *out;
	struct policy_split s, again = {0};
	struct policy_resolved r;
	enum policy_net net;

	if (policy_net_parse(json, &net, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		cause = NULL;
	}
	if (policy_parse(json, &s, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		free(json);
		return 0;
	}
	out = policy_fs_to_json(&s.fs);
	if (policy_fs_parse(out, &again.fs, NULL) != 0)
		abort();
	again.net = s.net;
	if (!policy_split_equal(&s, &again))
		abort();
	if (policy_resolve(&s, "/ws", "/tmp/t", &r, NULL) != 0)
		abort();
	for (size_t i = 0; i < r.n_entries; i++) {
		if (r.entries[i].path[0] != '/')
			abort();
		if (i > 0 && strcmp(r.entries[i - 1].path, r.entries[i].path) >= 0)
			abort();
	}
	policy_resolved_free(&r);
	policy_split_free(&again);
	policy_split_free(&s);
	free(out);
	free(json);
	return 0;
}
