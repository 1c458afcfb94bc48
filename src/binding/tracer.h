/* tracer: where the engine's events come from.
 *
 * tracer_legacy.c implements these calls with one of three backends, the
 * first that can go in: on 3.11 the frame gate (evalgate.h), which switches
 * its trace hook on for profiled frames only; on 3.12+ sys.monitoring with
 * local events on profiled code objects (monitor.h); else the legacy hooks,
 * PyEval_SetProfile for call/return events and a PyEval_SetTrace line hook
 * that is on while the innermost frame is profiled.  MEMLINE_TRACER=legacy
 * picks the last.  Unprofiled code gets no line events from any. */
#ifndef ML_TRACER_H
#define ML_TRACER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Starts delivering call/return events in every thread of the interpreter,
 * present and future.  Returns 0, or -1 with an exception set. */
int tracer_start(void);

/* Stops all events in every thread.  Cannot fail. */
void tracer_stop(void);

/* Turns line events on or off for the calling thread. */
void tracer_lines(int on);

/* Makes sure the calling thread keeps getting call and return events after
 * another line hook (pdb) replaced ours. */
void tracer_keep_boundaries(void);

/* code became profiled (engine_register): a backend that asks for events
 * per code object asks now.  Never leaves an exception set. */
void tracer_code_added(PyCodeObject *code);

/* Which backend delivers events while tracing is on: "gate" (evalgate.h)
 * or "legacy" (profile hook); NULL while it is off. */
const char *tracer_backend(void);

/* The callable that threading.setprofile() gets, so new threads install the
 * backend's hooks.  Borrowed; valid after tracer_init. */
int tracer_init(PyObject *module);

#endif
