/*
 * One session's network proxy, wired to the approval queue: what the TUI
 * and `airlock exec -n ask` start once, before the first command, and the
 * environment that sends a sandboxed command's traffic through it.
 *
 * Addresses of loopback and of private networks are refused by the proxy
 * itself before any of this (SPEC 11); such a refusal is still recorded
 * through the queue (approval_request with `refuse`: an audit line, deny,
 * by policy, no prompt) and told on the refusals stream.
 *
 * Decisions go through approval_request() (kind network, key (host,
 * protocol, port)), so config denied_domains, deny rules, session blocks,
 * allow rules, session allows, allowed_domains and prompts are all the
 * approval queue's; under approval policy `never` (exec) what would prompt
 * is refused, with the queue's reason in the refusal. The proxy hands the
 * queue one query per request (per_request), and the queue merges those of
 * one key into one prompt, whose audit line then counts every request.
 *
 * `airlock exec -n ask` runs one on the loop that waits for its command,
 * with an approval queue of policy `never`: nothing prompts.
 */
#ifndef AIRLOCK_PROXY_SESSION_H
#define AIRLOCK_PROXY_SESSION_H

#include "approval.h"
#include "proxy.h"

#include <stdio.h>
#include <uv.h>

/* How many "NAME=value" strings proxy_env_build() returns (without the NULL). */
#define PROXY_ENV_COUNT 22

/*
 * The environment for a command whose network goes through the proxy
 * (SPEC 3, "Environment inside"): HTTP_PROXY HTTPS_PROXY http_proxy
 * https_proxy FTP_PROXY ftp_proxy YARN_HTTP_PROXY YARN_HTTPS_PROXY
 * npm_config_http_proxy npm_config_https_proxy npm_config_proxy PIP_PROXY
 * BUNDLE_HTTP_PROXY BUNDLE_HTTPS_PROXY DOCKER_HTTP_PROXY DOCKER_HTTPS_PROXY
 * WS_PROXY WSS_PROXY = http://127.0.0.1:HTTP_PORT; ALL_PROXY all_proxy =
 * socks5h://127.0.0.1:SOCKS_PORT; NO_PROXY no_proxy = localhost,127.0.0.1,::1.
 * NULL-terminated; free with proxy_env_free().
 */
char **proxy_env_build(int http_port, int socks_port);
void proxy_env_free(char **env);

/*
 * The file-system half of POLICY_JSON (a legacy or split policy, as
 * --sandbox-policy takes it) as split-policy JSON, for the helper's
 * --file-system-sandbox-policy next to --network-sandbox-policy "proxy".
 * Returns it (caller frees), or NULL with *CAUSE set (caller frees).
 */
char *proxy_session_fs_policy(const char *policy_json, char **cause);

/* A decider that asks QUEUE (borrowed; must outlive the proxy). */
struct proxy_session_decider;
struct proxy_session_decider *proxy_session_decider_new(struct approval_queue *queue,
                                                        struct proxy_decider *out);
/* Frees the decider; call after the proxy it served has closed. */
void proxy_session_decider_free(struct proxy_session_decider *d);

/* A proxy on the caller's loop, deciding through an approval queue. */
struct proxy_session;

/*
 * Starts a proxy on LOOP asking QUEUE (borrowed). Returns 0 and *OUT, or a
 * negative errno (what was opened closes as LOOP runs).
 */
int proxy_session_start(uv_loop_t *loop, struct approval_queue *queue, struct proxy_session **out);
/*
 * REFUSALS (e.g. stderr, or NULL) gets one line per refused destination:
 * `airlock: network access to HOST:PORT (PROTOCOL) denied: REASON`.
 */
void proxy_session_set_refusals(struct proxy_session *s, FILE *refusals);
/* Sets the proxy's request-head limit in ms (config network.head_timeout_ms; 0: 30 s). */
void proxy_session_set_head_timeout(struct proxy_session *s, unsigned ms);
/*
 * Sets config network.allow_private (N entries, copied; SPEC 11). Returns 0,
 * or -EINVAL with *CAUSE (caller frees) naming the bad entry.
 */
int proxy_session_set_allow_private(struct proxy_session *s, const char *const *entries, size_t n,
                                    char **cause);
/*
 * Names whose traffic S carries (ORIGIN, e.g. "pane 3: npm install", and
 * its CWD; copied, NULL for none): its network prompts show them (SPEC 5).
 */
void proxy_session_set_origin(struct proxy_session *s, const char *origin, const char *cwd);
/*
 * The destinations GRANTS holds (its hosts; copied) are allowed without a
 * prompt: a human granted them to S's command as extra permissions (SPEC
 * 12). Refusals come first still: a denied domain, a deny rule, a blocked
 * host, a loopback or private address.
 */
void proxy_session_set_grants(struct proxy_session *s, const struct policy_permissions *grants);
/*
 * WAITING(DATA, true) runs when a query of S's starts waiting for a human
 * (a prompt, or the decider), and WAITING(DATA, false) when that wait ends
 * (answered, withdrawn): the TUI holds the timeout of S's command meanwhile
 * (SPEC 12). Never called once S is closing. WAITING may be NULL.
 */
void proxy_session_set_waiting(struct proxy_session *s, void (*waiting)(void *data, bool waiting),
                               void *data);
/*
 * NOTE(DATA, LINE) is told, one line each, of a request of S withdrawn
 * because its client went away while it waited (SPEC 11: a line in its
 * pane); also of those withdrawn when S closes (its command ended). LINE is
 * the caller's to copy. NOTE may be NULL.
 */
void proxy_session_set_notes(struct proxy_session *s, void (*note)(void *data, const char *line),
                             void *data);
int proxy_session_http_port(const struct proxy_session *s);
int proxy_session_socks_port(const struct proxy_session *s);
/* The proxy itself (for proxy_get_stats). */
struct proxy *proxy_session_proxy(const struct proxy_session *s);
/* The environment for commands (proxy_env_build with this session's ports); caller frees. */
char **proxy_session_env(const struct proxy_session *s);
/* Closes the proxy; frees S and calls CB(ARG) once every handle is closed. */
void proxy_session_close(struct proxy_session *s, void (*cb)(void *arg), void *arg);

#endif
