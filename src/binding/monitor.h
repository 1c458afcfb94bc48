/* monitor: the sys.monitoring tracer mode (3.12+).
 *
 * memline registers as a sys.monitoring tool and asks for line, start,
 * resume, return, yield and jump events on the profiled code objects only
 * (local events), plus unwind and throw, which sys.monitoring delivers
 * only globally.  Unprofiled code gets no events at all, and other tools
 * (debuggers, coverage, sys.settrace) keep theirs.  The tracer (tracer.c)
 * puts it in when it can.  Its functions are stubs before 3.12. */
#ifndef ML_MONITOR_H
#define ML_MONITOR_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Makes the callables sys.monitoring will call.  Returns 0, or -1 with an
 * exception set.  Called once, from module init. */
int monitor_init(void);

/* Takes a tool id and turns the events on.  Returns 1 when the mode is
 * in, 0 when it cannot be (no free tool id, or sys.monitoring refused);
 * never leaves an exception set. */
int monitor_install(void);

/* Turns the events off and gives the tool id back.  Cannot fail. */
void monitor_remove(void);

/* Whether the mode is in. */
int monitor_active(void);

/* A sys.settrace tool was set while the mode is in (3.13+: see
 * monitor.c).  Never leaves an exception set. */
void monitor_trace_set(void);

/* A code object became profiled: its events go on now if the mode is
 * in, else when it goes in.  Never leaves an exception set. */
void monitor_code_added(PyCodeObject *code);

#endif
