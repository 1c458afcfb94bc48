/* evalgate: per-frame switching of line events through PEP 523 (3.11).
 *
 * With the gate in, every Python frame of the interpreter starts through
 * it.  A frame whose code is profiled runs with the trace hook on, so it
 * delivers its call, line and return events; every other frame runs with no
 * hook of ours at all, at full, specialised speed.  The tracer (tracer.c)
 * puts it in when it can, with the legacy mode's trace hook as the hook of
 * profiled frames.  Its functions are stubs on other versions. */
#ifndef ML_EVALGATE_H
#define ML_EVALGATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Puts the gate in, with hook as the trace hook of profiled frames.
 * Returns 1 when it is in, 0 when it cannot be (another frame evaluator
 * is set, or no gate in this build).  Cannot fail otherwise. */
int evalgate_install(Py_tracefunc hook);

/* Takes the gate out, if it is in and still the interpreter's evaluator.
 * Frames running inside it finish without switching hooks back on. */
void evalgate_remove(void);

/* Whether the gate is in. */
int evalgate_active(void);

/* Turns the trace hook on for the calling thread's current frame, unless
 * another tool's line hook holds it.  For when that tool let go. */
void evalgate_resume_lines(void);

/* Another tool set or cleared the calling thread's trace hook (through
 * sys.settrace): its hook is linked behind ours now, or, when it let go,
 * the current frame gets memline's lines back if it is profiled. */
void evalgate_adopt(void);

/* The calling thread switched greenlets: the trace hook is set for frame
 * (the frame that resumes, or NULL), unless a tool's is linked. */
void evalgate_switched(PyObject *frame);

#endif
