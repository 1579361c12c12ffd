/*
 * The agent socket's server (SPEC section 8): listens on a Unix socket on a
 * libuv loop, accepts only peers of our own uid, cuts each connection's
 * bytes into lines, parses them with the protocol module and hands each
 * request to the owner (the TUI) through a table of callbacks. Malformed
 * lines are answered here with an error event; the connection carries on.
 *
 * Clients are named by a number, not a pointer: the owner may answer long
 * after the request (a prompt waits for a human), when the client may have
 * gone; agent_server_send() to a client that is gone does nothing and says
 * so. on_disconnect tells the owner to cancel that client's requests.
 */
#ifndef AIRLOCK_AGENT_SERVER_H
#define AIRLOCK_AGENT_SERVER_H

#include "protocol.h"

#include <stdint.h>
#include <uv.h>

/* Connections served at once; more are told so and closed. */
#define AGENT_SERVER_MAX_CLIENTS 64
/* Descriptors a client may have sent (stdio_fds) and not yet claimed; more are closed. */
#define AGENT_SERVER_MAX_FDS 4
/* Above this many unsent bytes a client is busy; below the low mark it has drained. */
#define AGENT_SERVER_HIGH_QUEUE (2u * 1024 * 1024)
#define AGENT_SERVER_LOW_QUEUE  (256u * 1024)
/* A client with no request under way and none sent this long is closed (SPEC 9). */
#define AGENT_SERVER_IDLE_MS (10u * 60 * 1000)
/* Bytes queued for a client that does not read before it is dropped. */
#define AGENT_SERVER_MAX_QUEUE (16u * 1024 * 1024)

struct agent_server;

/*
 * What the owner implements. REQ is only valid during the call (copy what
 * you keep). Every callback may be NULL: the request is then answered with
 * an error event saying the op is not supported here.
 */
struct agent_server_ops {
	void (*on_exec)(void *data, uint64_t client, const struct protocol_request *req);
	void (*on_patch)(void *data, uint64_t client, const struct protocol_request *req);
	void (*on_cancel)(void *data, uint64_t client, const struct protocol_request *req);
	void (*on_stdin)(void *data, uint64_t client, const struct protocol_request *req);
	/* request_permissions (SPEC 12): extra permissions for the rest of the connection. */
	void (*on_permissions)(void *data, uint64_t client, const struct protocol_request *req);
	void (*on_disconnect)(void *data, uint64_t client);
	/* A client that agent_server_busy() called busy has drained (may be NULL). */
	void (*on_drained)(void *data, uint64_t client);
};

/*
 * The default socket directory: $XDG_RUNTIME_DIR/airlock, or
 * /tmp/airlock-<uid> when XDG_RUNTIME_DIR is unset. Caller frees.
 */
char *agent_server_default_dir(void);

/* The default socket path: <default dir>/<pid>.sock. Caller frees. */
char *agent_server_default_path(void);

/*
 * Every directory where an airlock of this user may keep its socket, all
 * hidden in every sandbox (SPEC sections 3 and 8), whether they exist or
 * not: $XDG_RUNTIME_DIR/airlock when set, /run/user/<uid>/airlock (where a
 * TUI started with the usual XDG_RUNTIME_DIR put it) and /tmp/airlock-<uid>.
 * Parents are resolved through symbolic links where they exist. NULL-
 * terminated; free with agent_server_socket_dirs_free.
 */
char **agent_server_socket_dirs(void);
void agent_server_socket_dirs_free(char **dirs);

/*
 * Starts listening at PATH (NULL: the default path) on LOOP. The directory
 * is made 0700 if missing, and must be a directory of ours, not a symbolic
 * link, of mode 0700 (one of any other mode is refused, not repaired; an
 * empty 0555 one, a sandbox's cover, is taken over); a stale socket at PATH
 * is replaced; the socket is made 0600. Returns 0 with *OUT, or a negative
 * errno with *CAUSE ("DIR: ...", "PATH: ...").
 */
int agent_server_start(uv_loop_t *loop, const char *path, const struct agent_server_ops *ops,
                       void *data, struct agent_server **out, char **cause);

/* The socket's path (for the status bar and AIRLOCK_SOCKET). */
const char *agent_server_path(const struct agent_server *s);

/* How many clients are connected now. */
size_t agent_server_clients(const struct agent_server *s);

/*
 * Sends LINE (an event line from protocol_event_*, taken over and freed) to
 * CLIENT. Returns 0, or -ENOTCONN when the client is gone (the line is
 * dropped).
 */
int agent_server_send(struct agent_server *s, uint64_t client, char *line);

/*
 * Whether CLIENT has over AGENT_SERVER_HIGH_QUEUE bytes waiting to be sent:
 * the owner should stop producing for it (pause the command) until
 * on_drained. Backpressure, so a fast command never makes the server drop
 * a client that reads, only slower.
 */
bool agent_server_busy(struct agent_server *s, uint64_t client);

/*
 * The owner holds CLIENT open while one of its requests is under way, and
 * releases it at the request's end (its last event sent). A client that
 * shut its writing side (a half-close) is closed once it holds nothing; a
 * client that holds something is never idle.
 */
void agent_server_hold(struct agent_server *s, uint64_t client);
void agent_server_release(struct agent_server *s, uint64_t client);

/* Sets how long a client may stay idle (0: AGENT_SERVER_IDLE_MS, the default). */
void agent_server_set_idle(struct agent_server *s, uint64_t ms);

/* Closes CLIENT's connection (on_disconnect follows). */
void agent_server_drop(struct agent_server *s, uint64_t client);

/*
 * Stops listening, closes every connection (no on_disconnect calls) and
 * removes the socket file. S is freed once libuv has closed its handles:
 * run the loop afterwards.
 */
void agent_server_stop(struct agent_server *s);

#endif
