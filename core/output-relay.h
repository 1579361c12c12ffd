/*
 * An output relay: one stream of a command's output (a pipe's read end)
 * moved to a descriptor its requester gave us (a pipe of the agent's own,
 * SPEC 8), with a copy for its pane. The bytes go from pipe to pipe with
 * splice(2) and the copy is a tee(2), so the output never passes through
 * airlock's memory and the agent gets it at the pace of its own reading.
 * The pane gets what it has room for: when its pipe is full (the emulator
 * falls behind a flood), that stretch is left out of the copy and counted.
 */
#ifndef AIRLOCK_OUTPUT_RELAY_H
#define AIRLOCK_OUTPUT_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct output_relay;

/* Bytes the relay moves before it lets the loop turn. */
#define OUTPUT_RELAY_TURN (4u * 1024 * 1024)
/* The capacity asked for the command's pipe, for at most so many relays at a time. */
#define OUTPUT_RELAY_PIPE      (1024 * 1024)
#define OUTPUT_RELAY_BIG_PIPES 16

/*
 * Whether FD can be a relay's sink: a pipe's (FIFO's) writing end. Anything else (a
 * terminal, a socket, a file on a slow disk) could block the loop, so its
 * stream goes through output events instead.
 */
bool output_relay_sink_ok(int fd);

/*
 * Whether A and B write to the same pipe (`2>&1`, or a FIFO opened twice):
 * a command's stdout and stderr then go through one pipe and one relay, so
 * they keep the order the command wrote them in, as in a shell.
 */
bool output_relay_same_pipe(int a, int b);

/*
 * Starts relaying FROM (a pipe's read end, made non-blocking here) to SINK
 * (dup'd: the caller keeps its own; its flags, shared with the requester's,
 * are left alone) and copying it to PANE (a pipe's write end).
 * FROM and PANE are the relay's from now on, whatever the result; at FROM's
 * end (or on output_relay_free) it closes all three, so the pane's reader
 * sees the end only once every byte reached the sink. A sink nobody reads
 * any more is gone from the start: FROM is closed at once, so the command's
 * first write gets SIGPIPE. Returns 0 or -errno.
 */
int output_relay_start(uv_loop_t *loop, int from, int sink, int pane, struct output_relay **out);

/* Bytes the pane's copy left out so far (its pipe was full). */
uint64_t output_relay_unshown(const struct output_relay *r);

/* Whether R (NULL: none) still holds bytes on their way: the sink is full or the pipe not empty. */
bool output_relay_busy(const struct output_relay *r);

/*
 * Whether the sink went away (its reader closed it): the relay then ended
 * and closed the command's pipe, whose next write gets SIGPIPE.
 */
bool output_relay_sink_gone(const struct output_relay *r);

/* Bytes the sink took so far. */
uint64_t output_relay_moved(const struct output_relay *r);

/*
 * Stops the relay now, leaving out what the sink has not taken: the
 * command's pipe is closed and the pane's reader sees its end.
 */
void output_relay_stop(struct output_relay *r);

/* Stops the relay (if it still runs) and frees it once its handles closed. */
void output_relay_free(struct output_relay *r);

#endif
