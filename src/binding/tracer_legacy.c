/* tracer_legacy: events from PyEval_SetProfile and PyEval_SetTrace.
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
 * that exist already get it directly.
 * On 3.11 the frame gate (evalgate.c) replaces the profile hook when it
 * can: it turns the trace hook on as profiled frames start, so no frame
 * pays for a profile hook, and tracer_lines() has nothing left to do.  On
 * 3.12+ the sys.monitoring backend (monitor.c) replaces both hooks. */
#include "tracer.h"

#include "compat.h"
#include "engine.h"
#include "evalgate.h"
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

#include <frameobject.h>

static PyObject *thread_hook; /* owned: the threading.setprofile() callable */
static int use_gate;          /* try the PEP 523 gate first (evalgate.h) */
static int use_monitor;       /* try sys.monitoring first (monitor.h) */

static PyCodeObject *frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x03090000
    return PyFrame_GetCode(frame);
#else
    Py_INCREF(frame->f_code);
    return frame->f_code;
#endif
}

/* Whether a call event starts the frame rather than resuming a generator. */
static int fresh_call(PyFrameObject *frame, const ml_code *rec)
{
    if (!rec->genlike)
        return 1;
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(frame) <= rec->entry_lasti;
#else
    return frame->f_lasti < 0;
#endif
}

static int on_profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);
static int on_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);

/* The eval loop calls the trace hook, then the profile hook, for the same
 * call or return.  When the trace hook's event swaps in the profile hook,
 * that one must not see the event again: this is the frame it skips. */
static __thread PyFrameObject *skip_frame __attribute__((tls_model("initial-exec")));

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define EXCLUSIVE_HOOKS 1
#else
#define EXCLUSIVE_HOOKS 0
#endif

static inline void dispatch(PyFrameObject *frame, int what)
{
    if (what == PyTrace_CALL) {
        PyCodeObject *code = frame_code(frame);
        ml_code *rec = engine_code(code);
        Py_DECREF(code);
        if (rec && rec->n > 0) {
            int fresh = fresh_call(frame, rec);
            engine_on_call(frame, rec, fresh, fresh ? 0 : PyFrame_GetLineNumber(frame));
        } else {
            engine_on_foreign_call();
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
#if EXCLUSIVE_HOOKS
    if (what == PyTrace_CALL || what == PyTrace_RETURN) {
        dispatch(frame, what);
        if (PyThreadState_Get()->c_profilefunc == on_profile)
            skip_frame = frame;
    }
#endif
    return 0;
}

void tracer_lines(int on)
{
    if (evalgate_active() || monitor_active())
        return; /* lines are on exactly for profiled frames already */
    PyThreadState *ts = PyThreadState_Get();
#if EXCLUSIVE_HOOKS
    /* 3.11's eval loop traces while either hook is set, and reads
     * the hooks from the thread state at each event, so a swap is a few
     * stores, not PyEval_SetTrace/SetProfile with their audit events and
     * reference juggling.  One of the two is always set, so tracing stays
     * on.  Our hooks carry no object, so no reference changes hands. */
    if (on) {
        if (ts->c_tracefunc == NULL && ts->c_profilefunc == on_profile) {
            ts->c_traceobj = NULL;
            ts->c_tracefunc = on_trace;
            ts->c_profilefunc = NULL;
        }
    } else if (ts->c_tracefunc == on_trace) {
        if (ts->c_profilefunc == NULL) {
            ts->c_profileobj = NULL;
            ts->c_profilefunc = on_profile;
        }
        ts->c_tracefunc = NULL;
    }
#elif PY_VERSION_HEX >= 0x030C0000
    /* 3.12+ runs these hooks through sys.monitoring, where every change of
     * the trace hook re-instruments every code object at its next run: a
     * hook switched at each boundary made calls into helpers 40x slower.
     * So the line hook goes on once and stays (tracer_stop takes it out);
     * the engine drops the lines of unprofiled frames. */
    if (on && ts->c_tracefunc == NULL)
        PyEval_SetTrace(on_trace, NULL);
#else
    if (on) {
        /* Leave a debugger's or coverage tool's line hook alone. */
        if (ts->c_tracefunc == NULL)
            PyEval_SetTrace(on_trace, NULL);
    } else if (ts->c_tracefunc == on_trace) {
        PyEval_SetTrace(NULL, NULL);
    }
#endif
}

void tracer_code_added(PyCodeObject *code)
{
    monitor_code_added(code);
}

void tracer_keep_boundaries(void)
{
    if (evalgate_active()) {
        evalgate_resume_lines();
        return;
    }
    if (monitor_active())
        return; /* sys.monitoring tools do not displace each other */
    PyThreadState *ts = PyThreadState_Get();
    if (ts->c_profilefunc == NULL)
        PyEval_SetProfile(on_profile, NULL);
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

int tracer_init(PyObject *module)
{
    const char *choice = getenv("MEMLINE_TRACER");
    int legacy = choice && strcmp(choice, "legacy") == 0;
    use_gate = evalgate_supported() && !legacy;
    use_monitor = monitor_supported() && !legacy;
    if (monitor_init() < 0)
        return -1;
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

/* Sets (or, with NULL, clears) a hook in another thread's state; the GIL
 * is held, so that thread is not running Python. */
#if PY_VERSION_HEX < 0x03090000
static int set_thread_profile(PyThreadState *ts, Py_tracefunc func)
{
    /* 3.8 has no _PyEval_SetProfile: do what it does.  Our hook carries no
     * object, so no reference changes hands. */
    ts->c_profilefunc = func;
    ts->use_tracing = ts->c_profilefunc != NULL || ts->c_tracefunc != NULL;
    return 0;
}

static void clear_thread_trace(PyThreadState *ts)
{
    ts->c_tracefunc = NULL;
    ts->use_tracing = ts->c_profilefunc != NULL;
}
#elif PY_VERSION_HEX < 0x030C0000
static int set_thread_profile(PyThreadState *ts, Py_tracefunc func)
{
    return _PyEval_SetProfile(ts, func, NULL);
}

static void clear_thread_trace(PyThreadState *ts)
{
    _PyEval_SetTrace(ts, NULL, NULL);
}
#endif

static int started;

const char *tracer_backend(void)
{
    if (!started)
        return NULL;
    if (evalgate_active())
        return "gate";
    return monitor_active() ? "monitoring" : "legacy";
}

int tracer_start(void)
{
    if ((use_gate && evalgate_install(on_trace)) || (use_monitor && monitor_install())) {
        started = 1;
        return 0;
    }
    if (set_threading_hook(thread_hook) < 0)
        return -1;
#if PY_VERSION_HEX >= 0x030C0000
    PyEval_SetProfileAllThreads(on_profile, NULL);
    /* Turning the first line hook on instruments the running code and
     * allocates for it: done now, before any profiled frame, it is charged
     * to no line (see tracer_lines). */
    if (PyThreadState_Get()->c_tracefunc == NULL)
        PyEval_SetTrace(on_trace, NULL);
#else
    PyInterpreterState *interp = PyThreadState_Get()->interp;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        if (set_thread_profile(ts, on_profile) < 0)
            return -1;
    }
#endif
    started = 1;
    return 0;
}

void tracer_stop(void)
{
    started = 0;
    evalgate_remove();
    monitor_remove();
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyInterpreterState *interp = PyThreadState_Get()->interp;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
#if PY_VERSION_HEX < 0x030C0000
        if (ts->c_profilefunc == on_profile)
            set_thread_profile(ts, NULL);
        if (ts->c_tracefunc == on_trace)
            clear_thread_trace(ts);
#endif
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyEval_SetProfileAllThreads(NULL, NULL);
    if (PyThreadState_Get()->c_tracefunc == on_trace)
        PyEval_SetTraceAllThreads(NULL, NULL);
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
