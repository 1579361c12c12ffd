/*
 * What airlock knows about commands without any rule (SPEC section 4, step
 * 3): the known-safe read-only commands, the dangerous ones, and the
 * interpreters and wrappers that are never offered as a bare `p` prefix.
 * Each is a const table of data in safe-commands.c; adding a command is one
 * table line.
 */
#ifndef AIRLOCK_SAFE_COMMANDS_H
#define AIRLOCK_SAFE_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

/* True when ARGV only reads (cat, ls, `git status`, `sed -n 5p`, find without -exec, ...). */
bool safe_commands_is_known_safe(size_t argc, char *const argv[]);
/* True when ARGV is dangerous (`rm -f`/`--force`/`-rf`..., also under sudo and friends). */
bool safe_commands_is_dangerous(size_t argc, char *const argv[]);
/* True when NAME (a program, path allowed) is an interpreter or a command wrapper. */
bool safe_commands_is_interpreter(const char *name);

/* True when NAME (a program, path allowed) runs a command from its arguments (sudo, env, xargs). */
bool safe_commands_is_wrapper(const char *name);

#endif
