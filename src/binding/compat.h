/* compat: everything in the binding that depends on the CPython version or
 * reaches into CPython's internals, one inline function per operation.
 *
 * This is the only file that tests PY_VERSION_HEX, includes internal
 * headers or writes interpreter state directly.  Each function says which
 * versions it is for; the others see an equivalent, or a stub that is never
 * reached (its caller tests the ML_HAVE_* feature first).  Supported:
 * CPython 3.8 to 3.13, with 3.14 kept compiling. */
#ifndef ML_COMPAT_H
#define ML_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h> /* PyFrameObject, which 3.8's Python.h leaves out */

#define ML_PY_AT_LEAST(major, minor) (PY_VERSION_HEX >= (((major) << 24) | ((minor) << 16)))

/* The tracer modes each version can run (tracer.h). */
#define ML_HAVE_EVALGATE (ML_PY_AT_LEAST(3, 11) && !ML_PY_AT_LEAST(3, 12))
#define ML_HAVE_MONITORING ML_PY_AT_LEAST(3, 12)
/* 3.11 only: the eval loop traces while either hook is set and reads both
 * from the thread state at each event, so a trace hook and a profile hook
 * can be swapped by a few stores (tracer_legacy.c). */
#define ML_HOOKS_SWAP_IN_PLACE ML_HAVE_EVALGATE

#if ML_HAVE_EVALGATE
/* The frame evaluator's frames: 3.11 keeps their layout in its internal
 * headers, which expect to be built as part of the core. */
#define Py_BUILD_CORE 1
#include <internal/pycore_frame.h>
#undef Py_BUILD_CORE
#endif

#if ML_PY_AT_LEAST(3, 11)
#include <opcode.h> /* RESUME, where a fresh call starts */
#endif

/* ---- C-API calls older versions lack (3.8, 3.9) ---- */

#if !ML_PY_AT_LEAST(3, 10)
static inline PyObject *ml_newref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#define Py_NewRef(o) ml_newref((PyObject *)(o))
static inline int ml_add_object_ref(PyObject *m, const char *name, PyObject *o)
{
    Py_INCREF(o);
    if (PyModule_AddObject(m, name, o) < 0) {
        Py_DECREF(o);
        return -1;
    }
    return 0;
}
#define PyModule_AddObjectRef ml_add_object_ref
#endif

#if !ML_PY_AT_LEAST(3, 9)
#define PyObject_CallOneArg(f, a) PyObject_CallFunctionObjArgs((f), (a), NULL)
#define PyObject_CallNoArgs(f) PyObject_CallFunctionObjArgs((f), NULL)
#endif

/* ---- code objects ---- */

/* The co_extra slot API: unstable from 3.12, private before. */
static inline int compat_code_get_extra(PyCodeObject *code, Py_ssize_t index, void **out)
{
#if ML_PY_AT_LEAST(3, 12)
    return PyUnstable_Code_GetExtra((PyObject *)code, index, out);
#else
    return _PyCode_GetExtra((PyObject *)code, index, out);
#endif
}

static inline int compat_code_set_extra(PyCodeObject *code, Py_ssize_t index, void *value)
{
#if ML_PY_AT_LEAST(3, 12)
    return PyUnstable_Code_SetExtra((PyObject *)code, index, value);
#else
    return _PyCode_SetExtra((PyObject *)code, index, value);
#endif
}

static inline Py_ssize_t compat_request_code_extra(freefunc free_fn)
{
#if ML_PY_AT_LEAST(3, 12)
    return PyUnstable_Eval_RequestCodeExtraIndex(free_fn);
#else
    return _PyEval_RequestCodeExtraIndex(free_fn);
#endif
}

/* Whether any co_extra slot of code is in use: one load, before the
 * slot API's call, for the hot paths that see mostly unprofiled code.
 * All versions (the field is in every PyCodeObject 3.8-3.14). */
static inline int compat_code_has_extra(PyCodeObject *code)
{
    return code->co_extra != NULL;
}

/* The name a report shows: the qualified name (3.11+), else the name.
 * Borrowed. */
static inline PyObject *compat_code_qualname(PyCodeObject *code)
{
#if ML_PY_AT_LEAST(3, 11)
    return code->co_qualname;
#else
    return code->co_name;
#endif
}

/* The byte offset at which a fresh call of code starts running: its first
 * RESUME (3.11+; a resumed generator starts past it), else 0.  Cannot
 * fail: 0 when the bytecode cannot be read. */
static inline int compat_code_entry_offset(PyCodeObject *code)
{
#if ML_PY_AT_LEAST(3, 11)
    PyObject *bytes = PyCode_GetCode(code);
    if (!bytes) {
        PyErr_Clear();
        return 0;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(bytes);
    Py_ssize_t n = PyBytes_GET_SIZE(bytes);
    int off = 0;
    for (Py_ssize_t i = 0; i + 1 < n; i += 2) {
        if (p[i] == RESUME) {
            off = (int)i;
            break;
        }
    }
    Py_DECREF(bytes);
    return off;
#else
    (void)code;
    return 0;
#endif
}

/* ---- frames ---- */

/* frame's code.  New reference; cannot fail.  All versions. */
static inline PyCodeObject *compat_frame_code(PyFrameObject *frame)
{
#if ML_PY_AT_LEAST(3, 9)
    return PyFrame_GetCode(frame);
#else
    Py_INCREF(frame->f_code);
    return frame->f_code;
#endif
}

/* Whether a call event of frame starts it, rather than resuming a
 * generator or coroutine that ran before.  entry_offset is
 * compat_code_entry_offset of its code.  All versions. */
static inline int compat_frame_starts(PyFrameObject *frame, int entry_offset)
{
#if ML_PY_AT_LEAST(3, 11)
    return PyFrame_GetLasti(frame) <= entry_offset;
#else
    (void)entry_offset;
    return frame->f_lasti < 0;
#endif
}

/* ---- the thread's trace and profile hooks (the legacy tracer) ---- */

/* The thread's hooks.  Reading them is what PyEval_SetTrace's callers do
 * to tell whose hook is in; every version 3.8-3.14 keeps them in the
 * thread state. */
static inline Py_tracefunc compat_trace_hook(PyThreadState *ts)
{
    return ts->c_tracefunc;
}

static inline Py_tracefunc compat_profile_hook(PyThreadState *ts)
{
    return ts->c_profilefunc;
}

static inline PyObject *compat_trace_obj(PyThreadState *ts)
{
    return ts->c_traceobj;
}

static inline PyObject *compat_profile_obj(PyThreadState *ts)
{
    return ts->c_profileobj;
}

/* Replaces the function of a hook slot that holds one already, leaving
 * its object (and its reference) where it is: another tool's hook and
 * memline's forwarding one trade places (hookchain.c).  Because the slot
 * stays set, nothing else CPython derives from it changes: the tracing
 * flags, 3.8-3.10's count of tracing threads, 3.12+'s sys.monitoring
 * events of the legacy hooks (whose shims read the slot at each event).
 * All versions 3.8-3.13. */
static inline void compat_replace_trace_func(PyThreadState *ts, Py_tracefunc fn)
{
    ts->c_tracefunc = fn;
}

static inline void compat_replace_profile_func(PyThreadState *ts, Py_tracefunc fn)
{
    ts->c_profilefunc = fn;
}

/* frame's f_trace_lines: whether its trace hook gets line events.  A
 * tool that does not want a frame's lines turns it off in the call event
 * (coverage's Python tracer does, for files it does not measure); memline
 * turns it back on for profiled frames and stops forwarding their lines.
 * 3.8-3.11; 3.12+ keeps frames opaque and the legacy mode there does not
 * read it back (1, and the setter does nothing). */
static inline int compat_frame_trace_lines(PyFrameObject *frame)
{
#if !ML_PY_AT_LEAST(3, 12)
    return frame->f_trace_lines;
#else
    (void)frame;
    return 1;
#endif
}

static inline void compat_frame_set_trace_lines(PyFrameObject *frame, int on)
{
#if !ML_PY_AT_LEAST(3, 12)
    frame->f_trace_lines = (char)on;
#else
    (void)frame;
    (void)on;
#endif
}

/* 3.11: swaps the calling thread's hooks by plain stores, which 3.11's
 * eval loop reads at each event: no audit event, and no reference changes
 * hands, because memline's hooks carry no object.  One of the two hooks
 * stays set, so the thread stays in tracing mode.  Elsewhere never called.
 *
 * compat_swap_in_trace: our trace hook replaces our profile hook.
 * compat_swap_out_trace: our trace hook goes; our profile hook comes back
 * unless another tool's profile hook is there. */
static inline void compat_swap_in_trace(PyThreadState *ts, Py_tracefunc trace)
{
#if ML_HOOKS_SWAP_IN_PLACE
    ts->c_traceobj = NULL;
    ts->c_tracefunc = trace;
    ts->c_profilefunc = NULL;
#else
    (void)ts;
    (void)trace;
#endif
}

/* 3.11: our trace hook joins a profile hook that stays (a tool's is
 * linked behind ours), or our profile hook joins a trace hook that stays
 * (the trace slot went back to a tool): a few stores, the thread is in
 * tracing mode already.  The slot joined must be empty.  Elsewhere never
 * called. */
static inline void compat_add_trace_in_place(PyThreadState *ts, Py_tracefunc trace)
{
#if ML_HOOKS_SWAP_IN_PLACE
    ts->c_traceobj = NULL;
    ts->c_tracefunc = trace;
#else
    (void)ts;
    (void)trace;
#endif
}

static inline void compat_add_profile_in_place(PyThreadState *ts, Py_tracefunc profile)
{
#if ML_HOOKS_SWAP_IN_PLACE
    ts->c_profileobj = NULL;
    ts->c_profilefunc = profile;
#else
    (void)ts;
    (void)profile;
#endif
}

static inline void compat_swap_out_trace(PyThreadState *ts, Py_tracefunc profile)
{
#if ML_HOOKS_SWAP_IN_PLACE
    if (ts->c_profilefunc == NULL) {
        ts->c_profileobj = NULL;
        ts->c_profilefunc = profile;
    }
    ts->c_tracefunc = NULL;
#else
    (void)ts;
    (void)profile;
#endif
}

/* Sets (func) or clears (NULL) the profile hook of another thread, whose
 * GIL we hold, so it is not running Python.  3.8-3.11 (3.12+ has
 * PyEval_SetProfileAllThreads).  Returns 0, or -1 with an exception set. */
static inline int compat_set_thread_profile(PyThreadState *ts, Py_tracefunc func)
{
#if !ML_PY_AT_LEAST(3, 9)
    /* 3.8 has no _PyEval_SetProfile: do what it does. */
    ts->c_profilefunc = func;
    ts->use_tracing = ts->c_profilefunc != NULL || ts->c_tracefunc != NULL;
    return 0;
#elif !ML_PY_AT_LEAST(3, 12)
    return _PyEval_SetProfile(ts, func, NULL);
#else
    (void)ts;
    (void)func;
    return 0;
#endif
}

/* Clears the trace hook of another thread whose GIL we hold.  3.8-3.11. */
static inline void compat_clear_thread_trace(PyThreadState *ts)
{
#if !ML_PY_AT_LEAST(3, 9)
    ts->c_tracefunc = NULL;
    ts->use_tracing = ts->c_profilefunc != NULL;
#elif !ML_PY_AT_LEAST(3, 12)
    _PyEval_SetTrace(ts, NULL, NULL);
#else
    (void)ts;
#endif
}

/* ---- recursion ---- */

/* Gives the calling thread's Python recursion count one level back
 * (delta 1), or takes it again (-1): @profile's wrapper is a Python frame
 * between every two levels of a profiled recursion, and must not halve
 * the depth the recursion limit allows.  3.8-3.10 count up to the limit,
 * 3.11+ count down what remains. */
static inline void compat_recursion_credit(PyThreadState *ts, int delta)
{
#if ML_PY_AT_LEAST(3, 12)
    ts->py_recursion_remaining += delta;
#elif ML_PY_AT_LEAST(3, 11)
    ts->recursion_remaining += delta;
#else
    ts->recursion_depth -= delta;
#endif
}

/* ---- the frame evaluator (the 3.11 gate, evalgate.c) ---- */

#if ML_HAVE_EVALGATE
typedef struct _PyInterpreterFrame compat_iframe;
typedef PyObject *(*compat_eval_fn)(PyThreadState *, compat_iframe *, int);

static inline PyCodeObject *compat_iframe_code(compat_iframe *frame)
{
    return frame->f_code;
}

/* The frame the thread is running (the caller, inside an evaluator). */
static inline compat_iframe *compat_current_iframe(PyThreadState *ts)
{
    return ts->cframe->current_frame;
}

/* Sets the thread's trace hook to hook (NULL: none) and recomputes what
 * 3.11's eval loop recomputes after a hook change: trace while a hook is
 * set, except inside a hook. */
static inline void compat_gate_set_trace(PyThreadState *ts, Py_tracefunc hook)
{
    ts->c_traceobj = NULL; /* our hook carries no object */
    ts->c_tracefunc = hook;
    ts->cframe->use_tracing =
        ts->tracing == 0 && (ts->c_tracefunc || ts->c_profilefunc) ? 255 : 0;
}

static inline PyObject *compat_eval_default(PyThreadState *ts, compat_iframe *frame, int throwflag)
{
    return _PyEval_EvalFrameDefault(ts, frame, throwflag);
}

/* Whether interp runs CPython's own evaluator (no other tool's). */
static inline int compat_eval_is_default(PyInterpreterState *interp)
{
    return _PyInterpreterState_GetEvalFrameFunc(interp) == _PyEval_EvalFrameDefault;
}

static inline int compat_eval_is(PyInterpreterState *interp, compat_eval_fn fn)
{
    return _PyInterpreterState_GetEvalFrameFunc(interp) == fn;
}

/* Installs fn, or CPython's own evaluator with NULL. */
static inline void compat_set_eval(PyInterpreterState *interp, compat_eval_fn fn)
{
    _PyInterpreterState_SetEvalFrameFunc(interp, fn ? fn : _PyEval_EvalFrameDefault);
}
#endif

/* ---- allocators (heaphook.c) ---- */

/* pymalloc's pool size: 16 KiB on 64-bit 3.10+ (the radix-tree layout),
 * else 4 KiB. */
static inline uintptr_t compat_pymalloc_pool_size(void)
{
#if ML_PY_AT_LEAST(3, 10) && SIZEOF_VOID_P == 8
    return 16384;
#else
    return 4096;
#endif
}

#if ML_PY_AT_LEAST(3, 13)
/* 3.13 moved the declaration to the internal headers; libpython still
 * exports the function. */
extern const char *_PyMem_GetCurrentAllocatorName(void);
#endif

/* "pymalloc", "malloc", "pymalloc_debug", ..., or NULL.  All versions. */
static inline const char *compat_allocator_name(void)
{
    return _PyMem_GetCurrentAllocatorName();
}

/* ---- functions ---- */

/* Makes inspect and asyncio see obj (a wrapper of an async def) as a
 * coroutine function: inspect.markcoroutinefunction on 3.12+, asyncio's
 * marker attribute before.  Returns 0, or -1 with an exception set. */
static inline int compat_mark_coroutine_function(PyObject *obj)
{
#if ML_PY_AT_LEAST(3, 12)
    PyObject *mod = PyImport_ImportModule("inspect");
    PyObject *r = mod ? PyObject_CallMethod(mod, "markcoroutinefunction", "O", obj) : NULL;
#else
    PyObject *mod = PyImport_ImportModule("asyncio.coroutines");
    PyObject *marker = mod ? PyObject_GetAttrString(mod, "_is_coroutine") : NULL;
    PyObject *r = marker && PyObject_SetAttrString(obj, "_is_coroutine", marker) == 0
                      ? Py_NewRef(Py_None)
                      : NULL;
    Py_XDECREF(marker);
#endif
    Py_XDECREF(mod);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

#endif
