/* tracer_legacy: the legacy tracer mode, events from PyEval_SetProfile and
 * PyEval_SetTrace (tracer.h), on every version.  Its trace hook is also
 * the one the 3.11 gate turns on for profiled frames. */
#ifndef ML_TRACER_LEGACY_H
#define ML_TRACER_LEGACY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Makes the callable threading.setprofile() gets, so new threads install
 * the hooks.  Returns 0, or -1 with an exception set. */
int legacy_init(PyObject *module);

/* The trace hook: line events to the engine, and on 3.11 calls and
 * returns too. */
Py_tracefunc legacy_trace_hook(void);

/* Puts the profile hook in every thread, present and future.  Returns 0,
 * or -1 with an exception set. */
int legacy_install(void);

/* Takes every hook of ours out of every thread.  Cannot fail and keeps
 * any exception that is set. */
void legacy_remove(void);

/* The engine's line switch (engine_set_line_switch): line events on or
 * off for the calling thread. */
void legacy_lines(int on);

/* After pdb replaced our line hook: keep the profile hook, and the line
 * hook back if pdb let go (tracer_take_back_lines). */
void legacy_take_back_lines(void);

/* Another tool may have set or cleared a hook of the calling thread
 * (sys.settrace, sys.setprofile, or at a profiled call): link it behind
 * ours, or put ours back where it let go. */
void legacy_adopt(void);

#endif
