/* tracer: where the engine's events come from.
 *
 * Three modes deliver the same events (engine_on_call/return/line), and
 * tracer.c picks the first that can go in when a session starts:
 *   - "gate" (3.11, evalgate.h): a PEP 523 frame evaluator turns the trace
 *     hook on for profiled frames only; unprofiled code runs untraced;
 *   - "monitoring" (3.12+, monitor.h): sys.monitoring with local events on
 *     the profiled code objects only;
 *   - "legacy" (every version, tracer_legacy.h): PyEval_SetProfile for
 *     calls and returns, and a PyEval_SetTrace line hook while the
 *     innermost frame is profiled.  Used on 3.8-3.10, when the others
 *     cannot go in (another frame evaluator, a raised recursion limit, no
 *     free tool id), and with MEMLINE_TRACER=legacy.
 * Unprofiled code gets no line events from any of them. */
#ifndef ML_TRACER_H
#define ML_TRACER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Reads MEMLINE_TRACER and makes what the modes need.  Returns 0, or -1
 * with an exception set.  Called once, from module init. */
int tracer_init(PyObject *module);

/* Which mode the next session tries first: "legacy", or "default" (the
 * version's best).  Returns 0, or -1 for an unknown name.  Only between
 * sessions. */
int tracer_prefer(const char *name);

/* Starts delivering events in every thread of the interpreter, present and
 * future.  Returns 0, or -1 with an exception set. */
int tracer_start(void);

/* Stops all events in every thread.  Cannot fail. */
void tracer_stop(void);

/* The mode delivering events now: "gate", "monitoring" or "legacy"; NULL
 * while no session runs. */
const char *tracer_mode(void);

/* code became profiled: a mode that asks for events per code object asks
 * now.  Never leaves an exception set. */
void tracer_code_added(PyCodeObject *code);

/* Links another tool's hook that the calling thread got since memline
 * last looked behind memline's, or puts memline's back where a tool let
 * go (a profiled call through @profile's wrapper asks).  Cannot fail. */
void tracer_adopt(void);

/* A function is about to be profiled (a wrapper is made): before 3.12,
 * memline's hook goes in front of another tool's trace hook of the
 * calling thread now, and sys.settrace links those set later, so that
 * the tool never sees memline's wrappers, also on the first profiled
 * call.  Cannot fail. */
void tracer_link_tools(void);

/* The calling thread switched greenlets and frame (NULL for a greenlet
 * that starts) resumes: the hooks follow.  Cannot fail. */
void tracer_switched(PyObject *frame);

/* Another tool's line hook (pdb's) may have replaced ours on the calling
 * thread: keep getting this thread's calls and returns, and take its line
 * events back now if that tool has let go already. */
void tracer_take_back_lines(void);

#endif
