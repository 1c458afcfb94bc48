/* profiler: what a LineProfiler does: registering functions with the
 * engine, turning on and off, and the --pdb-mmem stop.  The type is in
 * proftype.c, the report in show.c. */
#include "profiler.h"

#include "core/mlerr.h"
#include "core/report.h"
#include "core/sbuf.h"
#include "compat.h"
#include "heaphook.h"
#include "module.h"
#include "tracer.h"
#include "wrapper.h"

#include <structmember.h>

PyObject *profiler_unwrap(PyObject *func)
{
    PyObject *f = wrapper_function(func);
    if (f)
        func = f;
    if (PyMethod_Check(func))
        func = PyMethod_GET_FUNCTION(func);
    if (PyObject_TypeCheck(func, &PyClassMethod_Type) ||
        PyObject_TypeCheck(func, &PyStaticMethod_Type)) {
        PyObject *inner = PyObject_GetAttrString(func, "__func__");
        if (!inner)
            return NULL;
        PyObject *r = profiler_unwrap(inner);
        Py_DECREF(inner);
        return r;
    }
    if (!PyFunction_Check(func)) {
        PyErr_Format(ml_ProfileError,
                     "profile() needs a Python function or method, got %.100s object %R",
                     Py_TYPE(func)->tp_name, func);
        return NULL;
    }
    return Py_NewRef(func);
}

static PyObject *code_qualname(PyCodeObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000
    return code->co_qualname;
#else
    return code->co_name;
#endif
}

/* Registers code and the code objects nested in it (comprehensions,
 * lambdas, inner functions) with the engine, charging all to fn. */
static int register_tree(MLProfiler *prof, PyCodeObject *code, linefunc *fn, int toplevel)
{
    if (engine_register(code, prof, fn, toplevel) < 0)
        return -1;
    if (PyList_Append(prof->codes, (PyObject *)code) < 0) {
        engine_unregister(code, prof);
        return -1;
    }
    PyObject *consts = code->co_consts;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(consts); i++) {
        PyObject *c = PyTuple_GET_ITEM(consts, i);
        if (PyCode_Check(c) && register_tree(prof, (PyCodeObject *)c, fn, 0) < 0)
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
    PyObject *f = profiler_unwrap(func);
    if (!f)
        return -1;
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
                           code_qualname(code), code->co_filename);
        rc = 0;
        goto done;
    }
    const char *filename = PyUnicode_AsUTF8(code->co_filename);
    const char *name = filename ? PyUnicode_AsUTF8(code->co_name) : NULL;
    if (!name)
        goto done;
    linefunc *fn;
    if (linetab_add(prof->tab, filename, name, first, nlines, &fn) != ML_OK) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *index = PyLong_FromSize_t(linetab_count(prof->tab) - 1);
    if (!index || PyDict_SetItem(prof->funcs, (PyObject *)code, index) < 0) {
        Py_XDECREF(index);
        goto done;
    }
    Py_DECREF(index);
    rc = register_tree(prof, code, fn, 1) < 0 ? -1 : 1;
done:
    Py_DECREF(f);
    return rc;
}

int profiler_enable(MLProfiler *prof)
{
    if (prof->on)
        return 0;
    if (engine_acquire() < 0)
        return -1;
    prof->on = 1;
    return 0;
}

void profiler_disable(MLProfiler *prof)
{
    if (!prof->on)
        return;
    prof->on = 0;
    engine_release();
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
}

/* ---- --pdb-mmem ---- */

void profiler_over_limit(MLProfiler *prof, int64_t now, PyFrameObject *frame)
{
    /* The one place a hook calls Python, on purpose: the user asked for the
     * debugger at the line where memory crossed the limit, and pdb can only
     * stop there if it takes over tracing now, from inside this event (a
     * pending call would run lines later, wherever the eval loop next
     * checks).  Errors are cleared: the program must not see them. */
    int64_t limit = prof->max_mem;
    prof->max_mem = 0; /* one stop per crossing; pdb drives from here */
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PySys_WriteStdout("Current memory %.2f MiB exceeded the maximum of %.2f MiB\n"
                      "Stepping into the debugger\n",
                      (double)now / 1048576.0, (double)limit / 1048576.0);
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
    tracer_keep_boundaries();
    tracer_lines(1);
}
