/* profiler: what a LineProfiler does: registering functions with the
 * engine, turning on and off, and the --pdb-mmem stop.  The type is in
 * proftype.c, the report in show.c. */
#include "profiler.h"

#include "backend.h"
#include "compat.h"
#include "core/mlerr.h"
#include "core/mlunits.h"
#include "core/memcount.h"
#include "greenlets.h"
#include "heaphook.h"
#include "native.h"
#include "tracer.h"

#include <assert.h>
#include <stddef.h>

static void on_limit(engine_client *client, int64_t now, PyFrameObject *frame);

int profiler_create(MLProfiler *prof)
{
    prof->tab = linetab_new();
    prof->codes = PyList_New(0);
    prof->funcs = PyDict_New();
    if (!prof->tab || !prof->codes || !prof->funcs) {
        PyErr_NoMemory();
        return -1;
    }
    prof->client.probe.kind = MEMSRC_RSS;
    prof->client.on_limit = on_limit;
    return 0;
}

int profiler_configure(MLProfiler *prof, int backend, int children, int64_t limit, int native)
{
    if (backend == ML_BACKEND_HEAP && heaphook_unavailable()) {
        PyErr_Format(PyExc_ValueError, "the heap backend cannot work here: %s",
                     heaphook_unavailable());
        return -1;
    }
    ml_probe *probe = &prof->client.probe;
    prof->backend = backend;
    probe->kind = backend_kind(backend);
    probe->heap = backend == ML_BACKEND_HEAP;
    probe->exact = backend == ML_BACKEND_RSS_EXACT;
    probe->cached = !probe->heap && !probe->exact && !children && heaphook_unavailable() == NULL;
    probe->children = children;
    prof->limit_set = limit;
    prof->client.limit = limit;
    prof->native = native;
    return 0;
}

void profiler_destroy(MLProfiler *prof)
{
    profiler_disable(prof);
    engine_client_gone(&prof->client);
    if (prof->codes) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(prof->codes); i++)
            engine_unregister((PyCodeObject *)PyList_GET_ITEM(prof->codes, i), &prof->client);
    }
    Py_CLEAR(prof->codes);
    Py_CLEAR(prof->funcs);
    linetab_free(prof->tab);
    prof->tab = NULL;
}

/* Registers code and the code objects nested in it (comprehensions,
 * lambdas, inner functions) with the engine, charging all to fn, except
 * the nested code in skip (a set, or NULL): functions that get tables of
 * their own, under a module's top-level code. */
static int register_tree(MLProfiler *prof, PyCodeObject *code, linefunc *fn, int toplevel,
                         PyObject *skip)
{
    if (engine_register(code, &prof->client, fn, toplevel) < 0)
        return -1;
    if (PyList_Append(prof->codes, (PyObject *)code) < 0) {
        engine_unregister(code, &prof->client);
        return -1;
    }
    tracer_code_added(code);
    PyObject *consts = code->co_consts;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(consts); i++) {
        PyObject *c = PyTuple_GET_ITEM(consts, i);
        if (!PyCode_Check(c))
            continue;
        int skipped = skip ? PySet_Contains(skip, c) : 0;
        if (skipped < 0 || (!skipped && register_tree(prof, (PyCodeObject *)c, fn, 0, skip) < 0))
            return -1;
    }
    return 0;
}

/* (first line, number of lines) of func's source block, from inspect, which
 * also reads IPython cells through linecache.  Returns 1, or 0 when the
 * source cannot be found, or -1 with an exception set. */
static int source_span(PyObject *func, int *first, int *nlines)
{
    PyObject *inspect = PyImport_ImportModule("inspect");
    if (!inspect)
        return -1;
    PyObject *r = PyObject_CallMethod(inspect, "getsourcelines", "O", func);
    Py_DECREF(inspect);
    if (!r) {
        if (PyErr_ExceptionMatches(PyExc_OSError) || PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            return 0;
        }
        return -1;
    }
    int ok = PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2 &&
             PyList_Check(PyTuple_GET_ITEM(r, 0)) && PyLong_Check(PyTuple_GET_ITEM(r, 1));
    if (ok) {
        *nlines = (int)PyList_GET_SIZE(PyTuple_GET_ITEM(r, 0));
        *first = (int)PyLong_AsLong(PyTuple_GET_ITEM(r, 1));
        /* A module-level source (first == 0) is not a function block. */
        ok = *first >= 1 && *nlines >= 1;
    }
    Py_DECREF(r);
    return ok;
}

int profiler_add(MLProfiler *prof, PyObject *func)
{
    assert(PyFunction_Check(func));
    PyObject *f = Py_NewRef(func);
    int rc = -1;
    PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(f);
    int known = PyDict_Contains(prof->funcs, (PyObject *)code);
    if (known != 0) {
        rc = known < 0 ? -1 : 1;
        goto done;
    }
    int first = 0, nlines = 0;
    int found = source_span(f, &first, &nlines);
    if (found < 0)
        goto done;
    if (found == 0) {
        PySys_FormatStderr("memline: warning: cannot find the source of %U (%U); "
                           "it runs unprofiled\n",
                           compat_code_qualname(code), code->co_filename);
        rc = 0;
        goto done;
    }
    /* The qualified name, for the JSON and HTML reports (the function's own
     * __qualname__: code objects carry one only from 3.11). */
    PyObject *qualname = PyObject_GetAttrString(f, "__qualname__");
    if (qualname && !PyUnicode_Check(qualname)) {
        Py_SETREF(qualname, Py_NewRef(code->co_name));
    }
    rc = qualname ? profiler_add_code(prof, code, qualname, first, nlines, 1, NULL) : -1;
    Py_XDECREF(qualname);
done:
    Py_DECREF(f);
    return rc;
}

int profiler_add_code(MLProfiler *prof, PyCodeObject *code, PyObject *name, int first,
                      int nlines, int toplevel, PyObject *skip)
{
    assert(PyUnicode_Check(name) && first >= 1 && nlines >= 1);
    int known = PyDict_Contains(prof->funcs, (PyObject *)code);
    if (known != 0)
        return known < 0 ? -1 : 1;
    /* As os.fsencode: a file name that is not UTF-8 keeps its bytes. */
    PyObject *fname = PyUnicode_EncodeFSDefault(code->co_filename);
    const char *filename = fname ? PyBytes_AS_STRING(fname) : NULL;
    const char *cname = filename ? PyUnicode_AsUTF8(name) : NULL;
    linefunc *fn;
    int rc = -1;
    int added = cname ? linetab_add(prof->tab, filename, cname, first, nlines, &fn) : -1;
    if (added != ML_OK) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    PyObject *index = PyLong_FromSize_t(linetab_count(prof->tab) - 1);
    if (!index || PyDict_SetItem(prof->funcs, (PyObject *)code, index) < 0) {
        Py_XDECREF(index);
        goto done;
    }
    Py_DECREF(index);
    rc = register_tree(prof, code, fn, toplevel, skip) < 0 ? -1 : 1;
done:
    Py_XDECREF(fname);
    return rc;
}

/* Reference-counted session: the first profiler on installs the heap hooks
 * and starts the tracer in every thread, the last one off stops both.  A
 * new session starts with fresh shadow stacks. */
static int session_refs;

static int session_acquire(void)
{
    if (session_refs++ > 0)
        return 0;
    engine_invalidate();
    if (heaphook_install() < 0 || tracer_start() < 0) {
        heaphook_remove();
        session_refs--;
        return -1;
    }
    return 0;
}

static void session_release(void)
{
    assert(session_refs > 0);
    if (--session_refs > 0)
        return;
    tracer_stop();
    heaphook_remove();
    engine_invalidate();
}

int profiler_enable(MLProfiler *prof)
{
    if (prof->client.on)
        return 0;
    greenlets_notice();
    if (session_acquire() < 0)
        return -1;
    prof->native_on = prof->native && native_want();
    prof->native_seen |= prof->native_on;
    /* The bucket's peak from here on is this session's. */
    memcount_foreign_take_max();
    prof->foreign_start = memcount_foreign_cur();
    prof->client.on = 1;
    return 0;
}

void profiler_disable(MLProfiler *prof)
{
    if (!prof->client.on)
        return;
    prof->client.on = 0;
    int64_t peak = memcount_foreign_take_max() - prof->foreign_start;
    if (peak > prof->foreign_peak)
        prof->foreign_peak = peak;
    prof->foreign_net += memcount_foreign_cur() - prof->foreign_start;
    if (prof->native_on)
        native_unwant();
    prof->native_on = 0;
    session_release();
}

int profiler_enable_by_count(MLProfiler *prof)
{
    if (prof->count == 0 && profiler_enable(prof) < 0)
        return -1;
    prof->count++;
    return 0;
}

void profiler_disable_by_count(MLProfiler *prof)
{
    if (prof->count > 0 && --prof->count == 0)
        profiler_disable(prof);
}

void profiler_clear(MLProfiler *prof)
{
    linetab_reset(prof->tab);
    prof->merging = prof->merged = 0;
    prof->lost = prof->running = 0;
    prof->foreign_peak = prof->foreign_net = 0;
    prof->native_seen = prof->native_on;
}

/* ---- --pdb-mmem ---- */

/* The engine's on_limit callback: prints why and hands the thread to pdb
 * at frame's line.  Cannot fail (errors are cleared). */
static void on_limit(engine_client *client, int64_t now, PyFrameObject *frame)
{
    /* The one place a hook calls Python, on purpose: the user asked for the
     * debugger at the line where memory crossed the limit, and pdb can only
     * stop there if it takes over tracing now, from inside this event (a
     * pending call would run lines later, wherever the eval loop next
     * checks).  Errors are cleared: the program must not see them. */
    int64_t limit = client->limit;
    client->limit = 0; /* one stop per crossing; pdb drives from here */
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PySys_WriteStdout("Current memory %.2f MiB exceeded the maximum of %.2f MiB\n"
                      "Stepping into the debugger\n",
                      ml_mib(now), ml_mib(limit));
    PyObject *pdb = PyImport_ImportModule("pdb");
    PyObject *dbg = pdb ? PyObject_CallMethod(pdb, "Pdb", NULL) : NULL;
    PyObject *r = dbg ? PyObject_CallMethod(dbg, "set_trace", "O", (PyObject *)frame) : NULL;
    Py_XDECREF(r);
    /* This line's event is already being handled, here: hand it to pdb too,
     * so it stops on this line rather than the next. */
    r = r ? PyObject_CallMethod(dbg, "trace_dispatch", "OsO", (PyObject *)frame, "line",
                                Py_None)
          : NULL;
    Py_XDECREF(r);
    Py_XDECREF(dbg);
    Py_XDECREF(pdb);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
    /* pdb's line hook replaced ours.  If the user already let it go
     * (continue), take the lines back now; else keep seeing calls and
     * returns, so our line hook comes back at the first one after pdb lets
     * go. */
    tracer_take_back_lines();
}
