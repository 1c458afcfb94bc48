/* profiler: the LineProfiler type and the line report writer. */
#include "profiler.h"

#include "../core/mlerr.h"
#include "../core/report.h"
#include "../core/sbuf.h"
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

/* stream.write(text), text given as UTF-8 bytes. */
static int write_text(PyObject *stream, const char *text, size_t len)
{
    PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "surrogatepass");
    if (!s)
        return -1;
    PyObject *r = PyObject_CallMethod(stream, "write", "O", s);
    Py_DECREF(s);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

static int write_sbuf(PyObject *stream, sbuf *b)
{
    int rc = write_text(stream, sbuf_str(b), b->len);
    sbuf_clear(b);
    return rc;
}

static int func_seen(const linefunc *fn)
{
    for (int i = 0; i < fn->nlines; i++)
        if (fn->rows[i].seen)
            return 1;
    return 0;
}

/* One function's block.  Writes happen piece by piece, as memory_profiler's
 * do, so LogFile's per-row filtering keeps working. */
static int show_func(PyObject *stream, PyObject *linecache, const linefunc *fn,
                     const report_fmt *fmt, sbuf *b)
{
    PyObject *lines = PyObject_CallMethod(linecache, "getlines", "s", fn->filename);
    if (!lines)
        return -1;
    int rc = -1;
    if (!PyList_Check(lines)) {
        PyErr_SetString(PyExc_TypeError, "linecache.getlines did not return a list");
        goto done;
    }
    if (report_filename(b, fn->filename) != ML_OK || write_sbuf(stream, b) < 0)
        goto oom_or_fail;
    if (report_header(b, fmt) != ML_OK || write_sbuf(stream, b) < 0)
        goto oom_or_fail;
    if (report_rule(b, fmt) != ML_OK || write_sbuf(stream, b) < 0)
        goto oom_or_fail;
    for (int i = 0; i < fn->nlines; i++) {
        int lineno = fn->first + i;
        const char *src = "";
        Py_ssize_t srclen = 0;
        PyObject *enc = NULL;
        if (lineno - 1 < PyList_GET_SIZE(lines)) {
            enc = PyUnicode_AsEncodedString(PyList_GET_ITEM(lines, lineno - 1), "utf-8",
                                            "surrogatepass");
            if (!enc)
                goto done;
            src = PyBytes_AS_STRING(enc);
            srclen = PyBytes_GET_SIZE(enc);
        }
        int frc = report_row(b, fmt, lineno, &fn->rows[i], src, (size_t)srclen);
        Py_XDECREF(enc);
        if (frc != ML_OK || write_sbuf(stream, b) < 0)
            goto oom_or_fail;
    }
    if (write_text(stream, "\n\n", 2) < 0)
        goto done;
    rc = 0;
    goto done;
oom_or_fail:
    if (!PyErr_Occurred())
        PyErr_NoMemory();
done:
    Py_DECREF(lines);
    return rc;
}

int profiler_show(MLProfiler *prof, PyObject *stream, int precision)
{
    if (!stream || stream == Py_None) {
        stream = PySys_GetObject("stdout"); /* borrowed */
        if (!stream || stream == Py_None)
            return 0; /* no stdout (pythonw): nowhere to print */
    }
    Py_INCREF(stream);
    int rc = -1;
    sbuf b = SBUF_INIT;
    report_fmt fmt = {precision, heaphook_unavailable() ? 0u : REPORT_COL_HEAP};
    PyObject *linecache = PyImport_ImportModule("linecache");
    if (!linecache)
        goto done;
    for (size_t i = 0; i < linetab_count(prof->tab); i++) {
        const linefunc *fn = linetab_get(prof->tab, i);
        if (func_seen(fn) && show_func(stream, linecache, fn, &fmt, &b) < 0)
            goto done;
    }
    rc = 0;
done:
    Py_XDECREF(linecache);
    sbuf_release(&b);
    Py_DECREF(stream);
    return rc;
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

/* ---- the LineProfiler type ---- */

static PyObject *prof_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    MLProfiler *self = (MLProfiler *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->tab = linetab_new();
    self->codes = PyList_New(0);
    self->funcs = PyDict_New();
    if (!self->tab || !self->codes || !self->funcs) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->probe.kind = MEMSRC_RSS;
    return (PyObject *)self;
}

/* Parses a backend argument (None = default) into *backend.  Returns 0, or
 * -1 with ValueError naming the choices. */
int profiler_parse_backend(PyObject *arg, int *backend)
{
    if (!arg || arg == Py_None) {
        *backend = ML_BACKEND_RSS;
        return 0;
    }
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    int b = name ? backend_lookup(name) : -1;
    if (b < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "unknown memory backend %R; choose one of %s", arg,
                     backend_choices());
        return -1;
    }
    *backend = b;
    return 0;
}

static int prof_init(MLProfiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"include_children", "backend", "max_mem", NULL};
    int children = 0;
    PyObject *backend = NULL, *max_mem = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pOO:LineProfiler", kwlist, &children,
                                     &backend, &max_mem))
        return -1;
    if (profiler_parse_backend(backend, &self->backend) < 0)
        return -1;
    if (self->backend == ML_BACKEND_HEAP && heaphook_unavailable()) {
        PyErr_Format(PyExc_ValueError, "the heap backend cannot work here: %s",
                     heaphook_unavailable());
        return -1;
    }
    self->probe.kind = backend_kind(self->backend);
    self->probe.heap = self->backend == ML_BACKEND_HEAP;
    self->probe.exact = self->backend == ML_BACKEND_RSS_EXACT;
    self->probe.cached = !self->probe.heap && !self->probe.exact && !children &&
                         heaphook_unavailable() == NULL;
    self->probe.children = children;
    self->max_mem = 0;
    if (max_mem != Py_None) {
        double mib = PyFloat_AsDouble(max_mem);
        if (mib == -1.0 && PyErr_Occurred())
            return -1;
        if (!(mib > 0)) {
            PyErr_SetString(PyExc_ValueError, "max_mem must be a positive number of MiB");
            return -1;
        }
        self->max_mem = (int64_t)(mib * 1048576.0);
    }
    return 0;
}

/* codes and funcs hold only code objects and ints, which cannot lead back
 * to the profiler, so they are not shown to the collector: it must never
 * clear them before prof_dealloc has used codes to unregister. */
static int prof_traverse(MLProfiler *self, visitproc visit, void *arg)
{
    (void)self;
    (void)visit;
    (void)arg;
    return 0;
}

static void prof_dealloc(MLProfiler *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist)
        PyObject_ClearWeakRefs((PyObject *)self);
    profiler_disable(self);
    engine_invalidate();
    if (self->codes) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->codes); i++)
            engine_unregister((PyCodeObject *)PyList_GET_ITEM(self->codes, i), self);
    }
    Py_CLEAR(self->codes);
    Py_CLEAR(self->funcs);
    linetab_free(self->tab);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *prof_add_function(MLProfiler *self, PyObject *func)
{
    return profiler_add(self, func) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *prof_wrap_function(MLProfiler *self, PyObject *func)
{
    PyObject *f = profiler_unwrap(func);
    if (!f)
        return NULL;
    PyObject *w = wrapper_new(f, self, 0, NULL, 1);
    Py_DECREF(f);
    return w;
}

/* prof(func) adds and wraps func; prof(precision=N) returns a decorator. */
static PyObject *prof_call(MLProfiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"func", "precision", NULL};
    PyObject *func = Py_None;
    int precision = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Oi:LineProfiler", kwlist, &func, &precision))
        return NULL;
    if (func == Py_None)
        return ml_partial((PyObject *)self, NULL);
    int added = profiler_add(self, func);
    if (added < 0)
        return NULL;
    if (added == 0)
        return Py_NewRef(func);
    return wrapper_new_like(func, self, 0, NULL, precision);
}

static PyObject *prof_enable(MLProfiler *self, PyObject *unused)
{
    (void)unused;
    return profiler_enable(self) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *prof_disable(MLProfiler *self, PyObject *unused)
{
    (void)unused;
    profiler_disable(self);
    Py_RETURN_NONE;
}

static PyObject *prof_enable_by_count(MLProfiler *self, PyObject *unused)
{
    (void)unused;
    return profiler_enable_by_count(self) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *prof_disable_by_count(MLProfiler *self, PyObject *unused)
{
    (void)unused;
    profiler_disable_by_count(self);
    Py_RETURN_NONE;
}

static PyObject *prof_enter(MLProfiler *self, PyObject *unused)
{
    (void)unused;
    return profiler_enable_by_count(self) < 0 ? NULL : Py_NewRef((PyObject *)self);
}

static PyObject *prof_exit(MLProfiler *self, PyObject *args)
{
    (void)args;
    profiler_disable_by_count(self);
    Py_RETURN_FALSE;
}

static PyObject *prof_runctx(MLProfiler *self, PyObject *args)
{
    PyObject *cmd, *globals, *locals;
    if (!PyArg_ParseTuple(args, "OOO:runctx", &cmd, &globals, &locals))
        return NULL;
    if (profiler_enable_by_count(self) < 0)
        return NULL;
    PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
    PyObject *exec = builtins ? PyDict_GetItemString(builtins, "exec") : NULL;
    PyObject *r = exec ? PyObject_CallFunctionObjArgs(exec, cmd, globals, locals, NULL) : NULL;
    profiler_disable_by_count(self);
    if (!r)
        return NULL;
    Py_DECREF(r);
    return Py_NewRef((PyObject *)self);
}

static PyObject *prof_clear(MLProfiler *self, PyObject *unused)
{
    (void)unused;
    profiler_clear(self);
    Py_RETURN_NONE;
}

static PyObject *prof_get_backend(MLProfiler *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(backend_name(self->backend));
}

static PyObject *prof_get_children(MLProfiler *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->probe.children);
}

static PyObject *prof_get_max_mem(MLProfiler *self, void *closure)
{
    (void)closure;
    if (self->max_mem <= 0)
        Py_RETURN_NONE;
    return PyFloat_FromDouble((double)self->max_mem / 1048576.0);
}

static PyObject *prof_get_count(MLProfiler *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->count);
}

/* memory_profiler's code_map: a memline.CodeMap (a dict subclass defined in
 * the package) built from [(filename, code, [(lineno, (increment MiB, mem
 * usage MiB, occurrences) or None)])], one entry per function that ran. */
static PyObject *prof_get_code_map(MLProfiler *self, void *closure)
{
    (void)closure;
    size_t nfuncs = linetab_count(self->tab);
    PyObject *codes = PyList_New((Py_ssize_t)nfuncs); /* index -> toplevel code */
    PyObject *blocks = codes ? PyList_New(0) : NULL;
    PyObject *key, *value, *result = NULL;
    Py_ssize_t pos = 0;
    if (!blocks)
        goto done;
    for (size_t i = 0; i < nfuncs; i++)
        PyList_SET_ITEM(codes, (Py_ssize_t)i, Py_NewRef(Py_None));
    while (PyDict_Next(self->funcs, &pos, &key, &value)) {
        Py_ssize_t i = PyLong_AsSsize_t(value);
        if (i >= 0 && (size_t)i < nfuncs)
            PyList_SetItem(codes, i, Py_NewRef(key));
    }
    for (size_t i = 0; i < nfuncs; i++) {
        const linefunc *fn = linetab_get(self->tab, i);
        if (!func_seen(fn))
            continue;
        PyObject *rows = PyList_New(fn->nlines);
        for (int j = 0; rows && j < fn->nlines; j++) {
            const linestat *st = &fn->rows[j];
            PyObject *v = st->seen ? Py_BuildValue("(ddK)", (double)st->mem_incr / 1048576.0,
                                                   (double)st->mem_max / 1048576.0,
                                                   (unsigned long long)st->occurrences)
                                   : Py_NewRef(Py_None);
            PyObject *row = v ? Py_BuildValue("(iN)", fn->first + j, v) : NULL;
            if (!row)
                Py_CLEAR(rows);
            else
                PyList_SET_ITEM(rows, j, row);
        }
        PyObject *item = rows ? Py_BuildValue("(sON)", fn->filename,
                                              PyList_GET_ITEM(codes, (Py_ssize_t)i), rows)
                              : NULL;
        int rc = item ? PyList_Append(blocks, item) : -1;
        Py_XDECREF(item);
        if (rc < 0)
            goto done;
    }
    PyObject *pkg = PyImport_ImportModule("memline");
    PyObject *cls = pkg ? PyObject_GetAttrString(pkg, "CodeMap") : NULL;
    result = cls ? PyObject_CallOneArg(cls, blocks) : NULL;
    Py_XDECREF(cls);
    Py_XDECREF(pkg);
done:
    Py_XDECREF(blocks);
    Py_XDECREF(codes);
    return result;
}

static PyMethodDef prof_methods[] = {
    {"add_function", (PyCFunction)prof_add_function, METH_O,
     "Profile func's lines (and the code nested in it) from now on."},
    {"wrap_function", (PyCFunction)prof_wrap_function, METH_O,
     "A callable that runs func with this profiler enabled."},
    {"runctx", (PyCFunction)prof_runctx, METH_VARARGS,
     "exec(cmd, globals, locals) with this profiler enabled; returns self."},
    {"enable", (PyCFunction)prof_enable, METH_NOARGS, "Start charging lines."},
    {"disable", (PyCFunction)prof_disable, METH_NOARGS, "Stop charging lines."},
    {"enable_by_count", (PyCFunction)prof_enable_by_count, METH_NOARGS,
     "Enable, counting nested enables."},
    {"disable_by_count", (PyCFunction)prof_disable_by_count, METH_NOARGS,
     "Undo one enable_by_count; disables at zero."},
    {"clear", (PyCFunction)prof_clear, METH_NOARGS, "Forget all measurements."},
    {"__enter__", (PyCFunction)prof_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)prof_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef prof_getset[] = {
    {"backend", (getter)prof_get_backend, NULL, "The memory backend's name.", NULL},
    {"include_children", (getter)prof_get_children, NULL,
     "Whether child processes' memory is added.", NULL},
    {"max_mem", (getter)prof_get_max_mem, NULL, "The --pdb-mmem limit in MiB, or None.", NULL},
    {"enable_count", (getter)prof_get_count, NULL, "Nesting of enable_by_count.", NULL},
    {"code_map", (getter)prof_get_code_map, NULL,
     "The measurements, as memory_profiler's code_map: a memline.CodeMap.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject MLProfiler_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memline.LineProfiler",
    .tp_basicsize = sizeof(MLProfiler),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "LineProfiler(include_children=False, backend='rss', max_mem=None)\n\n"
              "memory_profiler's line profiler: add functions, enable it, then\n"
              "show_results(prof) prints memory use line by line.",
    .tp_new = prof_new,
    .tp_init = (initproc)prof_init,
    .tp_dealloc = (destructor)prof_dealloc,
    .tp_traverse = (traverseproc)prof_traverse,
    .tp_call = (ternaryfunc)prof_call,
    .tp_methods = prof_methods,
    .tp_getset = prof_getset,
    .tp_weaklistoffset = offsetof(MLProfiler, weakreflist),
};

int profiler_init_type(PyObject *module)
{
    if (PyType_Ready(&MLProfiler_Type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "LineProfiler", (PyObject *)&MLProfiler_Type);
}
