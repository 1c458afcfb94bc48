/* tracer: picks the mode that delivers events (tracer.h) and forwards to
 * it.  Lock rules: everything here runs with the GIL held. */
#include "tracer.h"

#include "compat.h"
#include "engine.h"
#include "evalgate.h"
#include "hookchain.h"
#include "monitor.h"
#include "tracer_legacy.h"

#include <stdlib.h>
#include <string.h>

typedef enum { MODE_OFF, MODE_GATE, MODE_MONITORING, MODE_LEGACY } tracer_mode_t;

static tracer_mode_t mode = MODE_OFF;
static int prefer_legacy;

/* ---- sys.settrace and sys.setprofile, while the hooks are shared ----
 *
 * A Python-level tool (pdb, coverage's Python tracer, threading's hook of
 * new threads) sets its hook through sys.settrace.  While a mode that
 * shares the thread's hooks runs (the gate, legacy), sys.settrace and
 * sys.setprofile are memline's: they call sys's own, then link the new
 * hook behind memline's at once, so not one line of a profiled frame goes
 * by unseen (pdb's breakpoint() is called from inside the frame).  Hooks
 * set from C (coverage's C tracer, cProfile) are linked where memline
 * looks anyway: the gate at each frame start, the legacy profile hook at
 * each call. */
enum { SYS_SETTRACE, SYS_SETPROFILE, SYS_HOOKS };
static const char *const sys_names[SYS_HOOKS] = {"settrace", "setprofile"};
static PyObject *sys_own[SYS_HOOKS]; /* owned: sys's functions, once seen */
static PyObject *sys_ours[SYS_HOOKS]; /* owned: memline's, made at init */

static void adopt(void)
{
    if (mode == MODE_GATE)
        evalgate_adopt();
    else if (mode == MODE_LEGACY)
        legacy_adopt();
    else if (mode == MODE_OFF && !ML_HAVE_MONITORING)
        tracer_link_tools();
}


static PyObject *sys_hook_call(PyObject *self, PyObject *arg)
{
    long which = PyLong_AsLong(self);
    if (which < 0 || which >= SYS_HOOKS || !sys_own[which])
        return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_RuntimeError, "memline: no sys hook");
    PyObject *r = PyObject_CallOneArg(sys_own[which], arg);
    if (r && mode == MODE_MONITORING && which == SYS_SETTRACE && arg != Py_None)
        monitor_trace_set();
    else if (r)
        adopt();
    return r;
}

static PyMethodDef sys_hook_defs[SYS_HOOKS] = {
    {"settrace", sys_hook_call, METH_O,
     "settrace(function)\n--\n\nsys.settrace, while memline profiles: the hook is shared "
     "with memline's."},
    {"setprofile", sys_hook_call, METH_O,
     "setprofile(function)\n--\n\nsys.setprofile, while memline profiles: the hook is "
     "shared with memline's."},
};

/* Puts memline's sys.settrace and sys.setprofile in, where sys's own are
 * there.  Never leaves an exception set. */
static void wrap_sys_hooks(void)
{
    for (int i = 0; i < SYS_HOOKS; i++) {
        PyObject *cur = PySys_GetObject(sys_names[i]); /* borrowed */
        if (!cur || cur == sys_ours[i])
            continue;
        if (!sys_own[i]) {
            if (!PyCFunction_Check(cur))
                continue; /* someone else's wrapper: leave it */
            sys_own[i] = Py_NewRef(cur);
        } else if (cur != sys_own[i]) {
            continue;
        }
        if (PySys_SetObject(sys_names[i], sys_ours[i]) < 0)
            PyErr_Clear();
    }
}

void tracer_link_tools(void)
{
#if !ML_HAVE_MONITORING
    /* Before 3.12 memline's sys.settrace stays from the first wrapper on,
     * so that a tool's hook set between two sessions is in the chain when
     * the next profiled call starts, and that call's wrapper is kept from
     * the tool as every other one is. */
    wrap_sys_hooks();
    PyThreadState *ts = PyThreadState_Get();
    Py_tracefunc cur = compat_trace_hook(ts);
    if (cur != NULL && cur != legacy_trace_hook())
        chain_adopt(ts, CHAIN_TRACE, legacy_trace_hook());
#endif
}

static void unwrap_sys_hooks(void)
{
    if (!ML_HAVE_MONITORING)
        return; /* tracer_link_tools: they stay */
    for (int i = 0; i < SYS_HOOKS; i++)
        if (sys_own[i] && PySys_GetObject(sys_names[i]) == sys_ours[i] &&
            PySys_SetObject(sys_names[i], sys_own[i]) < 0)
            PyErr_Clear();
}

/* ---- hooks another tool takes away ----
 *
 * A tool may clear or replace a hook slot that holds memline's own hook:
 * cProfile's disable() clears the profile slot whoever holds it (pstats
 * calls it again), line_profiler puts back what it found, coverage's stop
 * clears the trace slot.  Then no hook of memline's runs to notice.  Both
 * PyEval_SetTrace and PyEval_SetProfile raise an audit event just before
 * the change (sys.settrace, sys.setprofile): memline's audit hook asks for
 * a pending call, which CPython runs in the main thread at its next check
 * of the eval breaker (within a few instructions), after the change, and
 * which links the new hook or puts memline's back. */
static int retake_pending;

static int retake(void *unused)
{
    (void)unused;
    retake_pending = 0;
    adopt();
    return 0;
}

static int audit_hook(const char *event, PyObject *args, void *data)
{
    (void)args;
    (void)data;
    if (mode == MODE_OFF || mode == MODE_MONITORING || retake_pending ||
        chain_tls.own_change > 0 || event[0] != 's' || event[1] != 'y')
        return 0;
    if (strcmp(event, "sys.settrace") == 0 || strcmp(event, "sys.setprofile") == 0) {
        retake_pending = 1;
        if (Py_AddPendingCall(retake, NULL) < 0)
            retake_pending = 0;
    }
    return 0;
}

int tracer_init(PyObject *module)
{
    const char *choice = getenv("MEMLINE_TRACER");
    prefer_legacy = choice && strcmp(choice, "legacy") == 0;
    if (PySys_AddAuditHook(audit_hook, NULL) < 0)
        return -1;
    for (int i = 0; i < SYS_HOOKS; i++) {
        PyObject *index = PyLong_FromLong(i);
        sys_ours[i] = index ? PyCFunction_NewEx(&sys_hook_defs[i], index, NULL) : NULL;
        Py_XDECREF(index);
        if (!sys_ours[i])
            return -1;
    }
    return monitor_init() < 0 || legacy_init(module) < 0 ? -1 : 0;
}

int tracer_prefer(const char *name)
{
    if (strcmp(name, "legacy") == 0)
        prefer_legacy = 1;
    else if (strcmp(name, "default") == 0)
        prefer_legacy = 0;
    else
        return -1;
    return 0;
}

int tracer_start(void)
{
    if (mode != MODE_OFF)
        return 0;
    if (!prefer_legacy && evalgate_install(legacy_trace_hook())) {
        mode = MODE_GATE;
        wrap_sys_hooks();
        return 0;
    }
    if (!prefer_legacy && monitor_install()) {
        mode = MODE_MONITORING;
        if (ML_PY_AT_LEAST(3, 13))
            wrap_sys_hooks(); /* monitor_trace_set */
        return 0;
    }
    if (legacy_install() < 0)
        return -1;
    /* Only the legacy hooks need the engine to switch lines at the
     * boundaries of profiled code; the other modes do it themselves. */
    engine_set_line_switch(legacy_lines);
    mode = MODE_LEGACY;
    wrap_sys_hooks();
    return 0;
}

void tracer_stop(void)
{
    tracer_mode_t was = mode;
    mode = MODE_OFF;
    unwrap_sys_hooks();
    engine_set_line_switch(NULL);
    if (was == MODE_GATE)
        evalgate_remove();
    if (was == MODE_MONITORING)
        monitor_remove();
    /* Also after the gate: it leaves the legacy trace hook in the thread
     * states of frames it was running. */
    if (was == MODE_GATE || was == MODE_LEGACY)
        legacy_remove();
}

const char *tracer_mode(void)
{
    switch (mode) {
    case MODE_GATE: return "gate";
    case MODE_MONITORING: return "monitoring";
    case MODE_LEGACY: return "legacy";
    default: return NULL;
    }
}

void tracer_code_added(PyCodeObject *code)
{
    monitor_code_added(code);
}

void tracer_switched(PyObject *frame)
{
    if (mode == MODE_GATE)
        evalgate_switched(frame);
}

void tracer_adopt(void)
{
    adopt();
}

void tracer_take_back_lines(void)
{
    switch (mode) {
    case MODE_GATE:
        evalgate_resume_lines();
        break;
    case MODE_LEGACY:
        legacy_take_back_lines();
        break;
    default:
        break; /* sys.monitoring tools do not displace each other */
    }
}
