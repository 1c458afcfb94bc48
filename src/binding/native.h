/* native: when the core's native allocator hooks (core/nativehook.h) count,
 * and the one-line warnings when they cannot.
 *
 * The hooks go in when the first profiling session that wants native
 * memory starts, and stay in until the interpreter exits: putting them in
 * costs a pass over every loaded object (milliseconds), too much for a
 * decorated function called in a loop.  Between sessions, and while no
 * enabled profiler wants native memory, they are paused (calls pass
 * straight through). */
#ifndef ML_NATIVE_H
#define ML_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Reads MEMLINE_NATIVE (0, no, off or false: native memory is not counted
 * by default) and MEMLINE_NATIVE_SKIP (colon-separated parts of library
 * paths the hooks leave alone).  Returns 0, or -1 with an exception set.
 * Called once, from module init. */
int native_init(void);

/* Whether profilers count native memory unless told otherwise. */
int native_default(void);

/* A profiler that wants native memory was enabled (native_want) or
 * disabled (native_unwant).  The first want puts the hooks in (or resumes
 * them), printing one warning line when they cannot go in; the last
 * unwant pauses them.  Returns whether native memory is counted now.
 * Never fails and never leaves an exception set. */
int native_want(void);
void native_unwant(void);

/* NULL while native memory can be counted (or before anything tried),
 * else a sentence saying why not. */
const char *native_unavailable(void);

/* Whether the hooks are counting now. */
int native_counting(void);

/* Takes the hooks out (tests; and at exit).  Cannot fail. */
void native_remove(void);

#endif
