/* evalgate: the PEP 523 gate.
 *
 * Why: 3.11 calls a profile hook at every call and return of every frame,
 * makes a frame object for each, and runs all code in its unspecialised
 * tracing mode while any hook is set.  A profile hook that only watches
 * for profiled code therefore costs unprofiled code about what a no-op line
 * tracer does.  The gate runs before each frame instead, and turns the
 * thread's trace hook on for profiled code and off for the rest, so an
 * unprofiled helper called from a profiled line runs untraced.  Its price:
 * while a frame evaluator is set, 3.11 does not inline Python-to-Python
 * calls, so each call goes through the C stack and this function.
 *
 * Lock rules: the gate runs with the GIL held and touches only the calling
 * thread's state. */
#include "evalgate.h"

#include "compat.h"
#include "engine.h"
#include "hookchain.h"
#include "pyutil.h"

#include <pthread.h>
#include <stdint.h>

#if ML_HAVE_EVALGATE
static Py_tracefunc gate_hook;
static int gate_in;

/* Each call through the gate nests a C call of the eval loop, as every
 * Python call did before 3.11, so a deep recursion can run out of C stack
 * where plain 3.11 would not: the gate refuses the frame with a
 * RecursionError first (pyutil.h). */
#define BYTES_PER_LEVEL 512 /* measured: about 400 on x86-64 */
#define STACK_HINT " (under memline, deeper recursion needs MEMLINE_TRACER=legacy)"

/* Our hook alone in the trace slot, or nothing.  Only while no tool is
 * linked behind ours (the slot's object is then NULL, and stays so). */
static inline void set_lines(PyThreadState *ts, int on)
{
    compat_gate_set_trace(ts, on ? gate_hook : NULL);
    chain_own(CHAIN_TRACE);
}

/* Whether frame's code is profiled by a profiler that is on.  Most code
 * has no extra slot in use at all, which is one load to tell. */
static inline int traced(compat_iframe *frame)
{
    if (!frame)
        return 0;
    PyCodeObject *code = compat_iframe_code(frame);
    return compat_code_has_extra(code) && engine_code_traced(code);
}

static PyObject *gate_eval(PyThreadState *ts, compat_iframe *frame, int throwflag)
{
    if (ml_stack_full((uintptr_t)__builtin_frame_address(0), STACK_HINT))
        return NULL; /* the caller pops the frame, as after the eval loop's
                        own recursion check */
    Py_tracefunc cur = compat_trace_hook(ts);
    if (cur != NULL && (cur != gate_hook || chain_trace_linked(compat_trace_obj(ts)))) {
        /* Another tool traces this thread (a debugger, coverage): its hook
         * is linked behind ours, which then stays on in every frame, since
         * the tool wants them all; memline's work is on profiled frames
         * only, and the cost is the tool's plus that. */
        if (cur != gate_hook)
            chain_adopt(ts, CHAIN_TRACE, gate_hook);
        PyObject *r = compat_eval_default(ts, frame, throwflag);
        /* The tool let go inside (pdb's continue): a profiled caller gets
         * its lines back. */
        if (compat_trace_hook(ts) == NULL && gate_in && traced(compat_current_iframe(ts)))
            set_lines(ts, 1);
        return r;
    }
    int want = traced(frame);
    /* The caller's state, to restore.  A profiled caller whose lines are off
     * lost them to another tool that took the hook away (from C, unseen):
     * it gets them back when this call returns, and its report says that
     * lines ran unseen. */
    int had = cur != NULL || traced(compat_current_iframe(ts));
    if (cur == NULL && had)
        engine_mark_lost(NULL);
    if (want == had && (cur != NULL) == had)
        return compat_eval_default(ts, frame, throwflag);
    set_lines(ts, want);
    PyObject *r = compat_eval_default(ts, frame, throwflag);
    /* Back in the caller's eval loop, which needs the caller's state,
     * unless a tool's hook came in meanwhile (it stays, linked or not). */
    cur = compat_trace_hook(ts);
    if (cur == NULL || (cur == gate_hook && !chain_trace_linked(compat_trace_obj(ts))))
        set_lines(ts, had && gate_in);
    return r;
}

int evalgate_install(Py_tracefunc hook)
{
    if (gate_in)
        return 1;
    PyInterpreterState *interp = PyThreadState_Get()->interp;
    if (!compat_eval_is_default(interp))
        return 0;
    /* A recursion limit raised beyond what this thread's C stack holds at
     * the gate's cost per level: trace without the gate, which does not
     * cost C stack. */
    uintptr_t stack_floor = ml_stack_floor_get();
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (stack_floor > 1 && (here <= stack_floor ||
                            (here - stack_floor) / BYTES_PER_LEVEL < (uintptr_t)Py_GetRecursionLimit()))
        return 0;
    gate_hook = hook;
    compat_set_eval(interp, gate_eval);
    gate_in = 1;
    return 1;
}

void evalgate_remove(void)
{
    if (!gate_in)
        return;
    PyInterpreterState *interp = PyThreadState_Get()->interp;
    if (compat_eval_is(interp, gate_eval))
        compat_set_eval(interp, NULL);
    gate_in = 0;
}

int evalgate_active(void)
{
    return gate_in;
}

void evalgate_resume_lines(void)
{
    PyThreadState *ts = PyThreadState_Get();
    if (gate_in && compat_trace_hook(ts) == NULL)
        set_lines(ts, 1);
    else if (gate_in)
        evalgate_adopt();
}

void evalgate_switched(PyObject *frame)
{
    PyThreadState *ts = PyThreadState_Get();
    if (!gate_in || chain_linked(ts, CHAIN_TRACE, gate_hook))
        return;
    Py_tracefunc cur = compat_trace_hook(ts);
    if (cur != NULL && cur != gate_hook)
        return; /* a tool's, linked at the next frame start */
    int on = 0;
    if (frame && PyFrame_Check(frame)) {
        PyCodeObject *code = compat_frame_code((PyFrameObject *)frame);
        on = compat_code_has_extra(code) && engine_code_traced(code);
        Py_DECREF(code);
    }
    /* Only the function: greenlet gives each greenlet back the tracing
     * flag it had, which was right for its frame when it switched out. */
    compat_replace_trace_func(ts, on ? gate_hook : NULL);
    chain_own(CHAIN_TRACE);
}

void evalgate_adopt(void)
{
    PyThreadState *ts = PyThreadState_Get();
    if (!gate_in)
        return;
    Py_tracefunc cur = compat_trace_hook(ts);
    if (cur != NULL && cur != gate_hook)
        chain_adopt(ts, CHAIN_TRACE, gate_hook);
    else if (cur == NULL && traced(compat_current_iframe(ts)))
        set_lines(ts, 1);
    else if (cur == NULL)
        chain_own(CHAIN_TRACE);
}

#else

int evalgate_install(Py_tracefunc hook)
{
    (void)hook;
    return 0;
}

void evalgate_remove(void)
{
}

int evalgate_active(void)
{
    return 0;
}

void evalgate_resume_lines(void)
{
}

void evalgate_adopt(void)
{
}

void evalgate_switched(PyObject *frame)
{
    (void)frame;
}

#endif
