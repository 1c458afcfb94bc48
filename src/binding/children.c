/* children: child processes' tables merged into the parent's, and shown
 * one process at a time (children.h). */
#include "children.h"

#include "core/mlerr.h"
#include "core/repdoc.h"
#include "core/repmerge.h"
#include "core/report.h"
#include "core/sbuf.h"
#include "heaphook.h"
#include "profiler.h"
#include "proftype.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* A child's JSON report read into a repdoc.  Returns it (caller owns), or
 * NULL with ValueError (not a report) or MemoryError set. */
static repdoc *load_doc(PyObject *data)
{
    char *text;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(data, &text, &len) < 0)
        return NULL;
    repdoc *doc = NULL;
    repdoc_err err = {0};
    int rc = repdoc_load(text, (size_t)len, &doc, &err);
    if (rc == ML_EFORMAT)
        PyErr_Format(PyExc_ValueError, "not a child's table: %s", err.msg);
    else if (rc != ML_OK)
        PyErr_NoMemory();
    return rc == ML_OK ? doc : NULL;
}

static int has_native(const repview *v)
{
    for (size_t i = 0; i < v->nfuncs; i++)
        for (int j = 0; j < v->funcs[i].fn->nlines; j++)
            if (v->funcs[i].fn->rows[j].native_incr || v->funcs[i].fn->rows[j].native_peak)
                return 1;
    return 0;
}

/* Whether any function of tab (or, when tab is NULL, of view) ran. */
static int tab_ran(const linetab *tab, const repview *view)
{
    size_t n = tab ? linetab_count(tab) : view->nfuncs;
    for (size_t i = 0; i < n; i++)
        if (profiler_func_ran(tab ? linetab_get(tab, i) : view->funcs[i].fn))
            return 1;
    return 0;
}

/* _merge_child(prof, data): adds one child's table (its JSON report, as
 * bytes) into prof's.  ValueError when data is not a report: nothing of it
 * is merged then. */
static PyObject *merge_child(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *prof, *data;
    if (!PyArg_ParseTuple(args, "O!O!:_merge_child", &MLProfiler_Type, &prof, &PyBytes_Type,
                          &data))
        return NULL;
    MLProfiler *p = (MLProfiler *)prof;
    repdoc *doc = load_doc(data);
    if (!doc)
        return NULL;
    const repview *v = repdoc_view(doc);
    if (!p->merging) {
        repmerge_begin(p->tab);
        p->merging = 1;
        p->merged = tab_ran(p->tab, NULL);
    }
    int rc = repmerge_add(p->tab, v);
    if (rc == ML_OK) {
        /* a process that ran none of the profiled code (a helper, a
         * subprocess of something else) is not one of the report's */
        p->merged += tab_ran(NULL, v);
        p->native_seen |= has_native(v);
    }
    repdoc_free(doc);
    if (rc != ML_OK)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* _children_missing(prof, lost, running): how many children sent no
 * table and how many were still running, for the JSON and HTML reports. */
static PyObject *children_missing(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *prof;
    long long lost, running;
    if (!PyArg_ParseTuple(args, "O!LL:_children_missing", &MLProfiler_Type, &prof, &lost,
                          &running))
        return NULL;
    if (lost < 0 || running < 0)
        return PyErr_Format(PyExc_ValueError, "negative process count");
    ((MLProfiler *)prof)->lost = lost;
    ((MLProfiler *)prof)->running = running;
    Py_RETURN_NONE;
}

/* The functions that ran of tab (or, when tab is NULL, of view), each
 * table with note under its Filename:.  Returns 0, or -1 with an exception
 * set. */
static int show_funcs(PyObject *stream, const linetab *tab, const repview *view,
                      const report_fmt *fmt, const char *note)
{
    PyObject *linecache = PyImport_ImportModule("linecache");
    if (!linecache)
        return -1;
    sbuf b = SBUF_INIT;
    int rc = 0;
    size_t n = tab ? linetab_count(tab) : view->nfuncs;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const linefunc *fn = tab ? linetab_get(tab, i) : view->funcs[i].fn;
        if (profiler_func_ran(fn))
            rc = profiler_show_func(stream, linecache, fn, fmt, &b, note);
    }
    sbuf_release(&b);
    Py_DECREF(linecache);
    return rc;
}

/* _show_tables(source, stream, precision, native_columns, note): one
 * process's tables for --per-process; source is a LineProfiler (the
 * parent's own) or a child's JSON report as bytes. */
static PyObject *show_tables(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *source, *stream;
    int precision, native_columns;
    const char *note;
    if (!PyArg_ParseTuple(args, "OOips:_show_tables", &source, &stream, &precision,
                          &native_columns, &note))
        return NULL;
    report_fmt fmt = {precision, heaphook_unavailable() ? 0u : REPORT_COL_HEAP};
    int rc;
    if (PyObject_TypeCheck(source, &MLProfiler_Type)) {
        const MLProfiler *p = (const MLProfiler *)source;
        if (native_columns && p->native_seen && fmt.columns)
            fmt.columns |= REPORT_COL_NATIVE;
        rc = show_funcs(stream, p->tab, NULL, &fmt, note);
    } else {
        repdoc *doc = load_doc(source);
        if (!doc)
            return NULL;
        const repview *v = repdoc_view(doc);
        fmt.columns = v->meta.heap ? REPORT_COL_HEAP : 0u;
        if (native_columns && v->meta.heap && has_native(v))
            fmt.columns |= REPORT_COL_NATIVE;
        rc = show_funcs(stream, NULL, v, &fmt, note);
        repdoc_free(doc);
    }
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* _die_by_signal(signum): ends the process by signum's default action, from
 * any thread (signal.signal works only in the main one): a child's table
 * was sent on SIGTERM, and it dies as SIGTERM would have made it. */
static PyObject *die_by_signal(PyObject *module, PyObject *arg)
{
    (void)module;
    int signum = (int)PyLong_AsLong(arg);
    if (signum == -1 && PyErr_Occurred())
        return NULL;
    if (signum < 1 || signum >= NSIG)
        return PyErr_Format(PyExc_ValueError, "not a signal number: %d", signum);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(signum, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signum);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(signum);
    _exit(128 + signum); /* a signal whose default is not to end the process */
}

static PyMethodDef children_methods[] = {
    {"_children_missing", children_missing, METH_VARARGS,
     "_children_missing(prof, lost, running): the children that sent no table, and those\n"
     "still running at the report, for the JSON and HTML reports."},
    {"_die_by_signal", die_by_signal, METH_O,
     "_die_by_signal(signum): ends the process by signum's default action, from any thread."},
    {"_merge_child", merge_child, METH_VARARGS,
     "_merge_child(prof, data): adds a child's table (its JSON report, bytes) into prof's."},
    {"_show_tables", show_tables, METH_VARARGS,
     "_show_tables(source, stream, precision, native_columns, note): one process's tables,\n"
     "each with note under its Filename: line; source is a LineProfiler or a JSON report."},
    {NULL, NULL, 0, NULL}};

int children_init(PyObject *module)
{
    return PyModule_AddFunctions(module, children_methods);
}
