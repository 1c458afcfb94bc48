/* monitor: the sys.monitoring tracer mode (3.12+).
 *
 * Why: on 3.12+ the legacy hooks are themselves run through sys.monitoring
 * with events on every code object, so a profiler built on them pays for
 * every line of unprofiled code.  Local events put the cost on the profiled
 * code objects alone.  The callbacks are C functions that sys.monitoring
 * calls with the code object and an offset or line; the frame, which the
 * engine uses as the identity of an execution, is the thread's current one.
 *
 * Line events follow 3.11's tracing rule, which the rest of memline is
 * written against: a line is reported when execution reaches a new line,
 * and again after every backward jump, even within one line (a loop on one
 * line; on 3.12+ an inlined comprehension).  sys.monitoring's LINE event
 * only covers the first case, so backward jumps within a line are reported
 * from the JUMP event; forward jumps and jumps to another line are switched
 * off where they are (sys.monitoring.DISABLE), so they cost nothing after
 * their first time.
 *
 * Lock rules: everything here runs with the GIL held. */
#include "monitor.h"

#include "compat.h"
#include "core/mlalloc.h"
#include "engine.h"
#include "heaphook.h"

#include <limits.h>
#include <stdarg.h>

#if ML_HAVE_MONITORING

enum { EV_LINE, EV_START, EV_RESUME, EV_RETURN, EV_YIELD, EV_JUMP, EV_UNWIND, EV_THROW, EV_COUNT };

static const char *const event_names[EV_COUNT] = {
    "LINE", "PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "JUMP", "PY_UNWIND", "PY_THROW",
};
/* sys.monitoring sends unwind and throw only to tools that take them from
 * every code object. */
static const int event_global[EV_COUNT] = {0, 0, 0, 0, 0, 0, 1, 1};

static PyObject *callbacks[EV_COUNT]; /* owned, made once by monitor_init */
static PyObject *monitoring;          /* sys.monitoring, owned while in */
static PyObject *disable;             /* sys.monitoring.DISABLE, owned while in */
static PyObject *codes;               /* owned list of the profiled code objects */
static long local_events, global_events;
static long event_bits[EV_COUNT];    /* sys.monitoring.events.<name>, read at install */
static int64_t int_bytes;            /* what the heap hooks count for a one-digit int */
static int tool = -1;                 /* our tool id while in, else -1 */

/* The record of code if it is profiled: for the events every code object
 * sends, and as a guard for the others. */
static inline ml_code *profiled(PyObject *code)
{
    if (!PyCode_Check(code) || !compat_code_has_extra((PyCodeObject *)code))
        return NULL;
    ml_code *rec = engine_code((PyCodeObject *)code);
    return rec && rec->nsinks > 0 ? rec : NULL;
}

/* sys.monitoring makes the int it passes us (an offset or a line; small
 * ones are shared) just before the callback and frees it just after.
 * Counted as it is, each event would charge that allocation to the
 * interval the event ends and its free to the one it starts: 32 bytes a
 * call on the return line, and as much off the caller's line.  So the
 * callback takes it out of the thread's heap before the engine looks, and
 * puts it back after, for the free to cancel.  The high-water mark is only
 * lowered when the int was its top. */
static inline int64_t hide_arg(PyObject *arg)
{
    if (!PyLong_CheckExact(arg) || Py_REFCNT(arg) != 1)
        return 0;
    int64_t bytes = int_bytes; /* offsets and lines fit one digit */
    heaphook_hide(bytes);
    return bytes;
}

static inline void unhide_arg(int64_t bytes)
{
    heaphook_unhide(bytes); /* the int's free follows at once and takes it off */
}

enum frame_event { FRAME_START, FRAME_RESUME, FRAME_LEAVE };

static inline PyObject *frame_event(PyObject *const *args, Py_ssize_t n, enum frame_event what)
{
    ml_code *rec = n >= 2 ? profiled(args[0]) : NULL;
    PyFrameObject *frame = rec ? PyEval_GetFrame() : NULL;
    if (frame) {
        int64_t hidden = hide_arg(args[1]);
        if (what == FRAME_LEAVE)
            engine_on_return(frame);
        else if (what == FRAME_START)
            engine_on_call(frame, rec, 1, 0);
        else
            engine_on_call(frame, rec, 0, PyFrame_GetLineNumber(frame));
        unhide_arg(hidden);
    }
    Py_RETURN_NONE;
}

static PyObject *on_start(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    return frame_event(args, n, FRAME_START);
}

/* A generator or coroutine resumed, by send or by throw. */
static PyObject *on_resume(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    return frame_event(args, n, FRAME_RESUME);
}

/* Return, yield, or an exception leaving the frame. */
static PyObject *on_leave(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    return frame_event(args, n, FRAME_LEAVE);
}

static PyObject *on_line(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n >= 2) {
        long line = PyLong_AsLong(args[1]);
        PyFrameObject *frame = line > 0 ? PyEval_GetFrame() : NULL;
        if (frame) {
            int64_t hidden = hide_arg(args[1]);
            engine_on_line(frame, (int)line);
            unhide_arg(hidden);
        } else {
            PyErr_Clear();
        }
    }
    Py_RETURN_NONE;
}

static PyObject *on_jump(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n < 3)
        Py_RETURN_NONE;
    long from = PyLong_AsLong(args[1]);
    long to = PyLong_AsLong(args[2]);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (to > from)
        return Py_NewRef(disable);
    ml_code *rec = profiled(args[0]);
    if (!rec)
        Py_RETURN_NONE;
    int to_line = engine_code_line_at(rec, (int)to);
    if (to_line <= 0 || to_line != engine_code_line_at(rec, (int)from))
        return Py_NewRef(disable); /* a new line: the LINE event reports it */
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame) {
        int64_t hidden = hide_arg(args[1]) + hide_arg(args[2]);
        engine_on_line(frame, to_line);
        unhide_arg(hidden);
    }
    Py_RETURN_NONE;
}

static PyMethodDef callback_defs[EV_COUNT] = {
    [EV_LINE] = {"_monitor_line", (PyCFunction)(void (*)(void))on_line, METH_FASTCALL, NULL},
    [EV_START] = {"_monitor_start", (PyCFunction)(void (*)(void))on_start, METH_FASTCALL, NULL},
    [EV_RESUME] = {"_monitor_resume", (PyCFunction)(void (*)(void))on_resume, METH_FASTCALL, NULL},
    [EV_RETURN] = {"_monitor_return", (PyCFunction)(void (*)(void))on_leave, METH_FASTCALL, NULL},
    [EV_YIELD] = {"_monitor_yield", (PyCFunction)(void (*)(void))on_leave, METH_FASTCALL, NULL},
    [EV_JUMP] = {"_monitor_jump", (PyCFunction)(void (*)(void))on_jump, METH_FASTCALL, NULL},
    [EV_UNWIND] = {"_monitor_unwind", (PyCFunction)(void (*)(void))on_leave, METH_FASTCALL, NULL},
    [EV_THROW] = {"_monitor_throw", (PyCFunction)(void (*)(void))on_resume, METH_FASTCALL, NULL},
};

int monitor_init(void)
{
    for (int i = 0; i < EV_COUNT; i++) {
        callbacks[i] = PyCFunction_NewEx(&callback_defs[i], NULL, NULL);
        if (!callbacks[i])
            return -1;
    }
    return 0;
}

/* monitoring.<name>(tool, ...): 0, or -1 with an exception set. */
static int call_tool(const char *name, const char *fmt, ...)
{
    PyObject *fn = PyObject_GetAttrString(monitoring, name);
    if (!fn)
        return -1;
    va_list va;
    va_start(va, fmt);
    PyObject *args = Py_VaBuildValue(fmt, va);
    va_end(va);
    PyObject *r = args ? PyObject_CallObject(fn, args) : NULL;
    Py_XDECREF(args);
    Py_DECREF(fn);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

static int set_local(PyObject *code, long events)
{
    return call_tool("set_local_events", "(iOl)", tool, code, events);
}

/* A free tool id: 3 or 4, which sys.monitoring's convention leaves free,
 * else 2, the profilers' (cProfile's: taking it first made
 * cProfile.Profile().enable() inside a profiled function raise "Another
 * profiling tool is already active"), else -1.  Then the owners of the
 * ids memline may use are named in one warning line, and the caller falls
 * back to the legacy hooks. */
static int free_tool_id(void)
{
    static const int candidates[] = {3, 4, 2};
    enum { NCAND = sizeof candidates / sizeof candidates[0] };
    PyObject *owners[NCAND] = {NULL};
    int id = -1;
    for (int i = 0; i < NCAND && id < 0; i++) {
        owners[i] = PyObject_CallMethod(monitoring, "get_tool", "i", candidates[i]);
        if (!owners[i])
            goto done;
        if (owners[i] == Py_None)
            id = candidates[i];
    }
    if (id < 0)
        PySys_FormatStderr("memline: warning: sys.monitoring tool ids 3, 4 and 2 are taken "
                           "(by %R, %R, %R); memline traces with the legacy hooks\n",
                           owners[0], owners[1], owners[2]);
done:
    for (int i = 0; i < NCAND; i++)
        Py_XDECREF(owners[i]);
    return id;
}

static void release(void)
{
    if (tool >= 0) {
        Py_ssize_t n = codes ? PyList_GET_SIZE(codes) : 0;
        for (Py_ssize_t i = 0; i < n; i++)
            if (set_local(PyList_GET_ITEM(codes, i), 0) < 0)
                PyErr_Clear();
        if (call_tool("set_events", "(ii)", tool, 0) < 0)
            PyErr_Clear();
        for (int i = 0; i < EV_COUNT; i++)
            if (event_bits[i] > 0 &&
                call_tool("register_callback", "(ilO)", tool, event_bits[i], Py_None) < 0)
                PyErr_Clear();
        if (call_tool("free_tool_id", "(i)", tool) < 0)
            PyErr_Clear();
        tool = -1;
    }
    Py_CLEAR(disable);
    Py_CLEAR(monitoring);
}

int monitor_install(void)
{
    if (tool >= 0)
        return 1;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    monitoring = PySys_GetObject("monitoring"); /* borrowed */
    Py_XINCREF(monitoring);
    disable = monitoring ? PyObject_GetAttrString(monitoring, "DISABLE") : NULL;
    PyObject *events = monitoring ? PyObject_GetAttrString(monitoring, "events") : NULL;
    int id = events && disable ? free_tool_id() : -1;
    if (id < 0 || call_tool("use_tool_id", "(is)", id, "memline") < 0)
        goto fail;
    tool = id;
    local_events = global_events = 0;
    int_bytes = heaphook_counted_bytes((size_t)(PyLong_Type.tp_basicsize + PyLong_Type.tp_itemsize));
    for (int i = 0; i < EV_COUNT; i++)
        event_bits[i] = 0;
    for (int i = 0; i < EV_COUNT; i++) {
        PyObject *bit = PyObject_GetAttrString(events, event_names[i]);
        long v = bit ? PyLong_AsLong(bit) : -1;
        Py_XDECREF(bit);
        if (v <= 0 || call_tool("register_callback", "(ilO)", tool, v, callbacks[i]) < 0)
            goto fail;
        event_bits[i] = v;
        if (event_global[i])
            global_events |= v;
        else
            local_events |= v;
    }
    if (call_tool("set_events", "(il)", tool, global_events) < 0)
        goto fail;
    Py_ssize_t n = codes ? PyList_GET_SIZE(codes) : 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (set_local(PyList_GET_ITEM(codes, i), local_events) < 0)
            goto fail;
    Py_DECREF(events);
    PyErr_Restore(et, ev, tb);
    return 1;
fail:
    PyErr_Clear();
    Py_XDECREF(events);
    release();
    PyErr_Restore(et, ev, tb);
    return 0;
}

void monitor_remove(void)
{
    if (tool < 0)
        return;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    release();
    PyErr_Restore(et, ev, tb);
}

int monitor_active(void)
{
    return tool >= 0;
}

void monitor_trace_set(void)
{
#if ML_PY_AT_LEAST(3, 13)
    /* 3.13's breakpoint() stops at once by turning on opcode events for
     * the frames on the stack (sys.settrace through sys.monitoring); while
     * another tool has local events on the running code, the running
     * frame's instructions are not re-instrumented for them, and pdb
     * stopped one line later (coverage's sysmon core sees the same,
     * coveragepy#2095).  restart_events() has every code object
     * instrumented afresh before it runs on; memline's own disabled
     * events come back once, and are disabled again. */
    if (tool < 0)
        return;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyObject *r = PyObject_CallMethod(monitoring, "restart_events", NULL);
    Py_XDECREF(r);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
#endif
}

/* Each code unit's line, for the jump events, in one pass over
 * code.co_lines() (-1 where no line), handed to code's record.  Without it
 * (out of memory) jumps within a line go unreported. */
static void build_unit_lines(PyCodeObject *code)
{
    ml_code *rec = engine_code(code);
    if (!rec || rec->unit_lines)
        return;
    PyObject *bytes = PyCode_GetCode(code);
    Py_ssize_t n = bytes ? PyBytes_GET_SIZE(bytes) / 2 : 0;
    Py_XDECREF(bytes);
    int *lines = n > 0 && n < INT_MAX ? ml_malloc((size_t)n * sizeof *lines) : NULL;
    PyObject *ranges = lines ? PyObject_CallMethod((PyObject *)code, "co_lines", NULL) : NULL;
    PyObject *it = ranges ? PyObject_GetIter(ranges) : NULL;
    Py_XDECREF(ranges);
    if (!it) {
        PyErr_Clear();
        ml_free(lines);
        return;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        lines[i] = -1;
    PyObject *r;
    while ((r = PyIter_Next(it)) != NULL) {
        long start, end;
        PyObject *line;
        if (PyArg_ParseTuple(r, "llO", &start, &end, &line) && line != Py_None) {
            int l = (int)PyLong_AsLong(line);
            for (long u = start / 2; u >= 0 && u < end / 2 && u < n; u++)
                lines[u] = l;
        }
        Py_DECREF(r);
    }
    Py_DECREF(it);
    PyErr_Clear();
    engine_code_set_unit_lines(rec, lines, (int)n);
}

void monitor_code_added(PyCodeObject *code)
{
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    build_unit_lines(code);
    if (!codes)
        codes = PyList_New(0);
    int known = 0;
    Py_ssize_t n = codes ? PyList_GET_SIZE(codes) : 0;
    for (Py_ssize_t i = 0; i < n && !known; i++)
        known = PyList_GET_ITEM(codes, i) == (PyObject *)code; /* identity: equal code is not the same code */
    if (codes && !known && PyList_Append(codes, (PyObject *)code) == 0 && tool >= 0)
        set_local((PyObject *)code, local_events);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
}

#else

int monitor_init(void)
{
    return 0;
}

int monitor_install(void)
{
    return 0;
}

void monitor_remove(void)
{
}

int monitor_active(void)
{
    return 0;
}

void monitor_trace_set(void)
{
}

void monitor_code_added(PyCodeObject *code)
{
    (void)code;
}

#endif
