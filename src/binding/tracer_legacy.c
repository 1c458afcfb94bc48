/* tracer_legacy: the legacy mode, events from PyEval_SetProfile and
 * PyEval_SetTrace.
 *
 * A thread runs in one of two modes.  Outside profiled code only the
 * profile hook is on: it sees calls and returns (and C calls, ignored), no
 * lines, which 3.11 makes much cheaper than a trace hook.  Inside profiled
 * code (the innermost frame is profiled) only the trace hook is on: lines,
 * calls and returns, and no C-call events.  The hooks swap at the boundary.
 * On 3.11 the swap is a few stores into the thread state.  Other versions
 * keep the profile hook on and add the trace hook inside with
 * PyEval_SetTrace: before 3.11 the eval loop also consults a global
 * tracing_possible count that only PyEval_SetTrace maintains, and 3.12+
 * runs legacy hooks through sys.monitoring.
 * New threads get the profile hook through threading.setprofile(); threads
 * that exist already get it directly.  The other modes (tracer.h) use the
 * trace hook too (the 3.11 gate) or neither (sys.monitoring). */
#include "tracer_legacy.h"

#include "compat.h"
#include "engine.h"

static PyObject *thread_hook; /* owned: the threading.setprofile() callable */

/* Whether a call event starts the frame rather than resuming a generator. */
static int fresh_call(PyFrameObject *frame, const ml_code *rec)
{
    return !rec->resumable || compat_frame_starts(frame, rec->entry_offset);
}

static int on_profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);
static int on_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);

/* The eval loop calls the trace hook, then the profile hook, for the same
 * call or return.  When the trace hook's event swaps in the profile hook,
 * that one must not see the event again: this is the frame it skips. */
static __thread PyFrameObject *skip_frame __attribute__((tls_model("initial-exec")));

static inline void dispatch(PyFrameObject *frame, int what)
{
    if (what == PyTrace_CALL) {
        PyCodeObject *code = compat_frame_code(frame);
        ml_code *rec = engine_code(code);
        Py_DECREF(code);
        if (rec && rec->nsinks > 0) {
            int fresh = fresh_call(frame, rec);
            engine_on_call(frame, rec, fresh, fresh ? 0 : PyFrame_GetLineNumber(frame));
        } else {
            engine_on_unprofiled_call();
        }
    } else if (what == PyTrace_RETURN) {
        engine_on_return(frame);
    }
}

static int on_profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    if (skip_frame) {
        int skip = skip_frame == frame;
        skip_frame = NULL;
        if (skip)
            return 0;
    }
    dispatch(frame, what);
    return 0;
}

static int on_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    if (what == PyTrace_LINE) {
        engine_on_line(frame, PyFrame_GetLineNumber(frame));
        return 0;
    }
    if (ML_HOOKS_SWAP_IN_PLACE && (what == PyTrace_CALL || what == PyTrace_RETURN)) {
        dispatch(frame, what);
        if (compat_profile_hook(PyThreadState_Get()) == on_profile)
            skip_frame = frame;
    }
    return 0;
}

Py_tracefunc legacy_trace_hook(void)
{
    return on_trace;
}

void legacy_lines(int on)
{
    PyThreadState *ts = PyThreadState_Get();
    Py_tracefunc trace = compat_trace_hook(ts);
    if (ML_HOOKS_SWAP_IN_PLACE) {
        /* 3.11: a swap is a few stores, not PyEval_SetTrace/SetProfile with
         * their audit events and reference juggling; one of the two hooks
         * stays set, so tracing stays on. */
        if (on) {
            if (trace == NULL && compat_profile_hook(ts) == on_profile)
                compat_swap_in_trace(ts, on_trace);
        } else if (trace == on_trace) {
            compat_swap_out_trace(ts, on_profile);
        }
    } else if (ML_HAVE_MONITORING) {
        /* 3.12+ runs these hooks through sys.monitoring, where every change
         * of the trace hook re-instruments every code object at its next
         * run: a hook switched at each boundary made calls into helpers 40x
         * slower.  So the line hook goes on once and stays (legacy_remove
         * takes it out); the engine drops the lines of unprofiled frames. */
        if (on && trace == NULL)
            PyEval_SetTrace(on_trace, NULL);
    } else if (on) {
        /* Leave a debugger's or coverage tool's line hook alone. */
        if (trace == NULL)
            PyEval_SetTrace(on_trace, NULL);
    } else if (trace == on_trace) {
        PyEval_SetTrace(NULL, NULL);
    }
}

void legacy_take_back_lines(void)
{
    if (compat_profile_hook(PyThreadState_Get()) == NULL)
        PyEval_SetProfile(on_profile, NULL);
    legacy_lines(1);
}

/* Called by threading in each new thread, as a Python-level profile function:
 * it replaces itself with the C hook and hands over the event. */
static PyObject *thread_hook_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    PyEval_SetProfile(on_profile, NULL);
    if (nargs == 3 && PyFrame_Check(args[0]) && PyUnicode_Check(args[1]) &&
        PyUnicode_CompareWithASCIIString(args[1], "call") == 0)
        on_profile(NULL, (PyFrameObject *)args[0], PyTrace_CALL, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef thread_hook_def = {
    "_thread_hook", (PyCFunction)(void (*)(void))thread_hook_call, METH_FASTCALL,
    "Installs memline's profile hook in a new thread (used by threading.setprofile)."};

int legacy_init(PyObject *module)
{
    thread_hook = PyCFunction_NewEx(&thread_hook_def, NULL, NULL);
    if (!thread_hook)
        return -1;
    return PyModule_AddObjectRef(module, "_thread_hook", thread_hook);
}

static int set_threading_hook(PyObject *hook)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *r = PyObject_CallMethod(threading, "setprofile", "O", hook);
    Py_DECREF(threading);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int legacy_install(void)
{
    if (set_threading_hook(thread_hook) < 0)
        return -1;
#if ML_HAVE_MONITORING
    PyEval_SetProfileAllThreads(on_profile, NULL);
    /* Turning the first line hook on instruments the running code and
     * allocates for it: done now, before any profiled frame, it is charged
     * to no line (see legacy_lines). */
    if (compat_trace_hook(PyThreadState_Get()) == NULL)
        PyEval_SetTrace(on_trace, NULL);
#else
    PyInterpreterState *interp = PyThreadState_Get()->interp;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        if (compat_set_thread_profile(ts, on_profile) < 0)
            return -1;
    }
#endif
    return 0;
}

void legacy_remove(void)
{
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
#if ML_HAVE_MONITORING
    /* Another tool's hooks (cProfile's, a debugger's) stay. */
    if (compat_profile_hook(PyThreadState_Get()) == on_profile)
        PyEval_SetProfileAllThreads(NULL, NULL);
    if (compat_trace_hook(PyThreadState_Get()) == on_trace)
        PyEval_SetTraceAllThreads(NULL, NULL);
#else
    PyInterpreterState *interp = PyThreadState_Get()->interp;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        if (compat_profile_hook(ts) == on_profile)
            compat_set_thread_profile(ts, NULL);
        if (compat_trace_hook(ts) == on_trace)
            compat_clear_thread_trace(ts);
    }
#endif
    PyObject *threading = PyImport_ImportModule("threading");
    if (threading) {
        PyObject *current = PyObject_GetAttrString(threading, "_profile_hook");
        if (current == thread_hook) {
            PyObject *r = PyObject_CallMethod(threading, "setprofile", "O", Py_None);
            Py_XDECREF(r);
        }
        Py_XDECREF(current);
        Py_DECREF(threading);
    }
    PyErr_Clear();
    PyErr_Restore(exc_type, exc_value, exc_tb);
}
