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
 * trace hook too (the 3.11 gate) or neither (sys.monitoring).
 *
 * Other tools' hooks are linked behind ours (hookchain.h): each hook here
 * does memline's work, then forwards the event.  While memline's trace
 * hook is not needed (unprofiled code), the trace slot goes back to the
 * tool, which then runs at its own cost; it is linked again at the next
 * profiled call. */
#include "tracer_legacy.h"

#include "compat.h"
#include "engine.h"
#include "hookchain.h"

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

/* Whether the calling thread is inside profiled code, where memline's
 * trace hook must be in (legacy_lines). */
static __thread int lines_wanted __attribute__((tls_model("initial-exec")));

/* memline's own PyEval_SetTrace/SetProfile: their audit events are not
 * another tool's change (tracer.c's audit hook skips them). */
static void set_trace(Py_tracefunc fn)
{
    chain_tls.own_change++;
    PyEval_SetTrace(fn, NULL);
    chain_tls.own_change--;
}

static void set_profile(Py_tracefunc fn)
{
    chain_tls.own_change++;
    PyEval_SetProfile(fn, NULL);
    chain_tls.own_change--;
}

/* Whether the tool behind slot which gets this event of frame: not when
 * there is none, nor for memline's own frames (chain_sees). */
static inline int tool_sees(chain_which which, PyObject *obj, PyFrameObject *frame, int what)
{
    if (obj == NULL && chain_tls.slot[which].cur < 0)
        return 0;
    return chain_sees(which, frame, what);
}

static int on_profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    if (skip_frame) {
        int skip = skip_frame == frame;
        skip_frame = NULL;
        if (skip)
            return tool_sees(CHAIN_PROFILE, obj, frame, what)
                       ? chain_forward(CHAIN_PROFILE, obj, frame, what, arg)
                       : 0;
    }
    chain_link target = chain_target(CHAIN_PROFILE, obj);
    int sees = target.func != NULL && chain_sees(CHAIN_PROFILE, frame, what);
    dispatch(frame, what);
    /* A tool set or cleared the trace hook from C (not through
     * sys.settrace, which links at once) while this thread is in profiled
     * code: the lines since ran unseen; link it behind ours. */
    if (lines_wanted && compat_trace_hook(PyThreadState_Get()) != on_trace) {
        engine_mark_lost(compat_trace_obj(PyThreadState_Get()));
        legacy_lines(1);
    }
    return sees ? chain_call(target, obj, frame, what, arg) : 0;
}

/* Whether frame's code is profiled by a profiler that is on. */
static int frame_profiled(PyFrameObject *frame)
{
    PyCodeObject *code = compat_frame_code(frame);
    int r = compat_code_has_extra(code) && engine_code_traced(code);
    Py_DECREF(code);
    return r;
}

/* The call event of frame, as the tool behind our trace hook saw it: a
 * tool that does not want the lines of a profiled frame (coverage's Python
 * tracer, for files it does not measure) turned them off; they come back
 * on for memline, and are not forwarded to the tool. */
static void keep_lines(PyFrameObject *frame)
{
    if (compat_frame_trace_lines(frame) || !frame_profiled(frame))
        return;
    if (chain_mute(frame) == 0)
        compat_frame_set_trace_lines(frame, 1);
}

/* Our profile hook back in ts's profile slot: into an empty slot, or
 * with the profiler that took the slot (cProfile.enable) linked behind it. */
static void keep_profile_hook(PyThreadState *ts)
{
    Py_tracefunc profile = compat_profile_hook(ts);
    if (profile == NULL) {
        set_profile(on_profile);
        chain_own(CHAIN_PROFILE);
    } else if (profile != on_profile) {
        chain_adopt(ts, CHAIN_PROFILE, on_profile);
    }
}

static int on_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    if (what == PyTrace_LINE) {
        engine_on_line(frame, PyFrame_GetLineNumber(frame));
        if (!tool_sees(CHAIN_TRACE, obj, frame, what) ||
            (chain_tls.nmuted > 0 && chain_muted(frame)))
            return 0;
        return chain_forward(CHAIN_TRACE, obj, frame, what, arg);
    }
    /* Calls and returns: memline's work may give the slot back to the
     * tool or link it again (legacy_lines), so the tool this event goes to
     * is the one behind ours when it came. */
    chain_link target = chain_target(CHAIN_TRACE, obj);
    int sees = target.func != NULL && chain_sees(CHAIN_TRACE, frame, what);
    if (!ML_HOOKS_SWAP_IN_PLACE && lines_wanted && (what == PyTrace_CALL || what == PyTrace_RETURN)) {
        /* Inside profiled code (the legacy mode), our profile hook sees
         * this event next: a profiler that took its slot (cProfile.enable)
         * is linked behind it, and one that let go leaves it to us again. */
        keep_profile_hook(PyThreadState_Get());
    }
    if (ML_HOOKS_SWAP_IN_PLACE && (what == PyTrace_CALL || what == PyTrace_RETURN)) {
        PyThreadState *ts = PyThreadState_Get();
        /* A profiler (cProfile) set its hook while ours was swapped out of
         * the profile slot (the legacy mode, inside profiled code): link it
         * behind our profile hook. */
        Py_tracefunc profile = compat_profile_hook(ts);
        if (lines_wanted && profile != NULL && profile != on_profile)
            chain_adopt(ts, CHAIN_PROFILE, on_profile);
        dispatch(frame, what);
        if (compat_profile_hook(ts) == on_profile)
            skip_frame = frame;
    }
    if (what == PyTrace_RETURN && chain_tls.nmuted > 0)
        chain_unmute(frame);
    if (!sees)
        return 0;
    int r = chain_call(target, obj, frame, what, arg);
    if (what == PyTrace_CALL && r == 0)
        keep_lines(frame);
    return r;
}

Py_tracefunc legacy_trace_hook(void)
{
    return on_trace;
}

/* Our trace hook into the empty trace slot of ts. */
static void add_trace(PyThreadState *ts)
{
    if (ML_HOOKS_SWAP_IN_PLACE) {
        /* 3.11: a swap is a few stores, not PyEval_SetTrace/SetProfile with
         * their audit events and reference juggling; one of the two hooks
         * stays set, so tracing stays on.  A tool's profile hook linked
         * behind ours keeps ours in. */
        Py_tracefunc profile = compat_profile_hook(ts);
        if (profile == on_profile && !chain_linked(ts, CHAIN_PROFILE, on_profile))
            compat_swap_in_trace(ts, on_trace);
        else if (profile != NULL)
            compat_add_trace_in_place(ts, on_trace);
        else
            set_trace(on_trace);
    } else {
        set_trace(on_trace);
    }
    chain_own(CHAIN_TRACE);
}

void legacy_lines(int on)
{
    PyThreadState *ts = PyThreadState_Get();
    Py_tracefunc trace = compat_trace_hook(ts);
    lines_wanted = on;
    if (on) {
        if (trace == NULL)
            add_trace(ts);
        else if (trace != on_trace)
            chain_adopt(ts, CHAIN_TRACE, on_trace); /* a debugger's, coverage's */
        return;
    }
    /* 3.12+ runs these hooks through sys.monitoring, where every change of
     * the trace hook re-instruments every code object at its next run: a
     * hook switched at each boundary made calls into helpers 40x slower.
     * So the line hook goes on once and stays (legacy_remove takes it
     * out); the engine drops the lines of unprofiled frames. */
    if (ML_HAVE_MONITORING || trace != on_trace)
        return;
    if (chain_release(ts, CHAIN_TRACE, on_trace)) {
        /* The tool's hook is back in the trace slot; 3.11 needs our profile
         * hook back for the calls. */
        if (ML_HOOKS_SWAP_IN_PLACE && compat_profile_hook(ts) == NULL) {
            compat_add_profile_in_place(ts, on_profile);
            chain_own(CHAIN_PROFILE);
        }
    } else if (ML_HOOKS_SWAP_IN_PLACE) {
        if (compat_profile_hook(ts) == NULL)
            chain_own(CHAIN_PROFILE); /* ours goes in, alone */
        compat_swap_out_trace(ts, on_profile);
    } else {
        set_trace(NULL);
    }
}

void legacy_take_back_lines(void)
{
    PyThreadState *ts = PyThreadState_Get();
    keep_profile_hook(ts);
    if (lines_wanted || compat_trace_hook(ts) == NULL || compat_trace_hook(ts) == on_trace)
        legacy_lines(1);
    else
        chain_adopt(ts, CHAIN_TRACE, on_trace);
}

void legacy_adopt(void)
{
    PyThreadState *ts = PyThreadState_Get();
    Py_tracefunc profile = compat_profile_hook(ts);
    /* (3.11 keeps the profile slot empty inside profiled code.) */
    if (profile == NULL && !(ML_HOOKS_SWAP_IN_PLACE && lines_wanted)) {
        set_profile(on_profile);
        chain_own(CHAIN_PROFILE);
    } else if (profile != NULL && profile != on_profile) {
        chain_adopt(ts, CHAIN_PROFILE, on_profile);
    }
    if (lines_wanted)
        legacy_lines(1);
}

/* Called by threading in each new thread, as a Python-level profile function:
 * it replaces itself with the C hook and hands over the event. */
static PyObject *thread_hook_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    set_profile(on_profile);
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
        set_trace(on_trace);
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

#if !ML_HAVE_MONITORING
/* Takes our hook out of one slot of ts, unless a tool is linked behind
 * it: then ours stays in front, forwarding to the tool (and keeping
 * memline's own frames from it, chain_sees) until the tool sets or clears
 * its hook; with no session it does nothing else.  In another thread than
 * the caller (whose links are its own) a tool's object in the slot says
 * so. */
static void remove_hook(PyThreadState *ts, chain_which which, int here)
{
    Py_tracefunc ours = which == CHAIN_TRACE ? on_trace : on_profile;
    Py_tracefunc cur = which == CHAIN_TRACE ? compat_trace_hook(ts) : compat_profile_hook(ts);
    PyObject *obj = which == CHAIN_TRACE ? compat_trace_obj(ts) : compat_profile_obj(ts);
    if (cur != ours)
        return;
    if (here ? chain_linked(ts, which, ours) : obj != NULL)
        return;
    if (which == CHAIN_TRACE)
        compat_clear_thread_trace(ts);
    else
        compat_set_thread_profile(ts, NULL);
}
#endif

void legacy_remove(void)
{
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyThreadState *self = PyThreadState_Get();
    lines_wanted = 0;
#if ML_HAVE_MONITORING
    /* Another tool's hooks (cProfile's, a debugger's) stay, in front of
     * which ours go back out. */
    if (chain_release(self, CHAIN_PROFILE, on_profile) == 0 &&
        compat_profile_hook(self) == on_profile)
        PyEval_SetProfileAllThreads(NULL, NULL);
    if (chain_release(self, CHAIN_TRACE, on_trace) == 0 && compat_trace_hook(self) == on_trace)
        PyEval_SetTraceAllThreads(NULL, NULL);
#else
    PyInterpreterState *interp = self->interp;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        remove_hook(ts, CHAIN_PROFILE, ts == self);
        remove_hook(ts, CHAIN_TRACE, ts == self);
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
