/*
 * Moving bytes between two descriptors with splice(2), through a pipe, so
 * that relayed traffic never passes through user memory (and with
 * read/send where splice is refused). Shared by the network proxy's tunnels
 * and the sandbox helper's bridges, which relay the same way on either side
 * of the network namespace.
 */
#ifndef AIRLOCK_SPLICE_MOVE_H
#define AIRLOCK_SPLICE_MOVE_H

/* The pipe's capacity: larger moves fewer times per megabyte. */
#define SPLICE_MOVE_PIPE (1024 * 1024)
/* The copy buffer where splice is refused. */
#define SPLICE_MOVE_COPY (64 * 1024)

/*
 * Moves FROM to TO (blocking; TO a socket) until FROM's end. Returns 1 at
 * EOF, -1 on an error. When splice is refused for these descriptors before
 * anything moved, it copies with read/send instead.
 */
int splice_move(int from, int to);

#endif
