/*
 * config.json under AIRLOCK_HOME: defaults for the command-line options and
 * the lists only a file can hold (protected paths, allowed and denied
 * domains, host loopback ports). Unknown keys are errors, like everywhere
 * in airlock: a misspelt setting must not silently do nothing.
 *
 *   {"sandbox": "workspace-write", "ask_for_approval": "on-failure",
 *    "writable_roots": ["/abs"], "protected_paths": ["secrets"],
 *    "git_protection": "default" | "full",
 *    "network": {"mode": "ask", "allowed_domains": ["*.example.com"],
 *                "denied_domains": [], "host_loopback_ports": [3000],
 *                "allow_private": ["10.0.0.0/8", "fd00::1"]},
 *    "environment": {"keep": ["GITHUB_TOKEN"], "set": {"CI": "1"}},
 *    "permissions": {"docs": {"filesystem": {":minimal": "read", ":workspace": "write"},
 *                             "network": "off"}},
 *    "default_permissions": "docs",
 *    "approval": {"policy": "on-request", "reject": ["sandbox", "rules"]},
 *    "decider": {"command": ["/abs/prog", "arg"], "timeout_ms": 2000},
 *    "attention": "bell" | "osc9" | "none"}
 */
#ifndef AIRLOCK_CONFIG_H
#define AIRLOCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "policy-profile.h"

struct config {
	char *sandbox;  /* NULL when unset */
	char *approval; /* NULL when unset */
	char *network;  /* network.mode, NULL when unset */
	char **writable_roots;
	size_t n_writable_roots;
	char **protected_paths;
	size_t n_protected_paths;
	bool git_protection_full;
	char **allowed_domains;
	size_t n_allowed_domains;
	char **denied_domains;
	size_t n_denied_domains;
	char **allow_private; /* addresses or CIDRs the proxy may reach (SPEC 11) */
	size_t n_allow_private;
	int *host_loopback_ports;
	size_t n_host_loopback_ports;
	char **host_sockets; /* network.host_sockets: host sockets left visible (network on) */
	size_t n_host_sockets;
	unsigned head_timeout_ms; /* network.head_timeout_ms: the proxy's request-head limit; 0: default */
	char **environment_keep; /* names the sandbox's secret filter leaves in */
	size_t n_environment_keep;
	char **environment_set; /* "NAME=value" added inside the sandbox */
	size_t n_environment_set;
	char **decider_command; /* decider.command: the decider's argv (SPEC 11), or NULL */
	size_t n_decider_command;
	unsigned decider_timeout_ms; /* decider.timeout_ms; 0: default */
	char *attention;             /* "bell", "osc9" or "none"; NULL: unset (bell) */
	char *audit_sync;            /* audit.sync: "batch" or "always"; NULL: unset (batch) */
	unsigned agent_idle_ms;      /* agent.idle_timeout_ms: an idle agent's limit; 0: default */
	int prefix_key; /* prefix_key: the TUI's prefix as a control code ("C-]" 0x1d); 0: unset */
	/* Permission profiles (SPEC 12): "permissions" and "default_permissions" (or NULL). */
	struct policy_profiles profiles;
	char *default_permissions;
	unsigned approval_reject; /* approval.reject: APPROVAL_REJECT_* kinds refused unasked */
};

/*
 * Resolves the airlock home: FLAG (--home) if not NULL, else $AIRLOCK_HOME,
 * else $XDG_CONFIG_HOME/airlock, else $HOME/.config/airlock. Caller frees.
 */
char *config_home(const char *flag);

/*
 * Loads HOME/config.json into CFG (zeroed first). A missing file leaves the
 * defaults and returns 0. On a malformed file returns -EINVAL and sets
 * *CAUSE to "PATH:LINE:COL: message" or "PATH: message" (caller frees).
 */
int config_load(struct config *cfg, const char *home, char **cause);

/* Parses config JSON TEXT (named PATH in messages) into CFG; as config_load. */
int config_parse(struct config *cfg, const char *text, const char *path, char **cause);

void config_free(struct config *cfg);

#endif
