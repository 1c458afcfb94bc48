/* proftype: the LineProfiler type: its constructor, methods and
 * attributes.  What they do lives in profiler.c and show.c; the wrappers
 * they hand out in wrapper.c. */
#include "proftype.h"

#include "backend.h"
#include "compat.h"
#include "core/mlunits.h"
#include "native.h"
#include "profiler.h"
#include "pyutil.h"
#include "render.h"
#include "wrapper.h"

static PyObject *prof_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    MLProfiler *self = (MLProfiler *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    if (profiler_create(self) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int prof_init(MLProfiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"include_children", "backend", "max_mem", "native", NULL};
    int children = 0;
    PyObject *backend = NULL, *max_mem = Py_None, *native_arg = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pOOO:LineProfiler", kwlist, &children,
                                     &backend, &max_mem, &native_arg))
        return -1;
    int native = native_arg == Py_None ? native_default() : PyObject_IsTrue(native_arg);
    if (native < 0)
        return -1;
    int b;
    if (backend_parse(backend, &b) < 0)
        return -1;
    int64_t limit = 0;
    if (max_mem != Py_None) {
        double mib = PyFloat_AsDouble(max_mem);
        if (mib == -1.0 && PyErr_Occurred())
            return -1;
        if (!(mib > 0)) {
            PyErr_SetString(PyExc_ValueError, "max_mem must be a positive number of MiB");
            return -1;
        }
        limit = ml_bytes_of_mib(mib);
    }
    return profiler_configure(self, b, children, limit, native);
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
    profiler_destroy(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Calls memline._select.<what>(self, arg): the selectors (a str given to
 * add_function, add_module) are Python's, in the package. */
static PyObject *call_select(MLProfiler *self, const char *what, PyObject *arg)
{
    PyObject *mod = PyImport_ImportModule("memline._select");
    PyObject *r = mod ? PyObject_CallMethod(mod, what, "OO", (PyObject *)self, arg) : NULL;
    Py_XDECREF(mod);
    return r;
}

static PyObject *prof_add_module(MLProfiler *self, PyObject *module)
{
    return call_select(self, "add_module", module);
}

static PyObject *prof_add_function(MLProfiler *self, PyObject *func)
{
    if (PyUnicode_Check(func))
        return call_select(self, "add_selector", func);
    PyObject *f = wrapper_unwrap(func);
    if (!f)
        return NULL;
    int rc = profiler_add(self, f);
    Py_DECREF(f);
    return rc < 0 ? NULL : Py_NewRef(Py_None);
}

/* _add_code(code, name, first, nlines, toplevel=True, skip=None): profiles
 * a code object with no function around it (a module's top-level code, a
 * function found by a selector before it exists); memline._select's. */
static PyObject *prof_add_code(MLProfiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"code", "name", "first", "nlines", "toplevel", "skip", NULL};
    PyObject *code, *name, *skip = Py_None;
    int first, nlines, toplevel = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!Uii|pO:_add_code", kwlist, &PyCode_Type,
                                     &code, &name, &first, &nlines, &toplevel, &skip))
        return NULL;
    if (first < 1 || nlines < 1 || (skip != Py_None && !PyAnySet_Check(skip))) {
        PyErr_SetString(PyExc_ValueError, "_add_code: first and nlines must be positive, "
                        "skip a set or None");
        return NULL;
    }
    int rc = profiler_add_code(self, (PyCodeObject *)code, name, first, nlines, toplevel,
                               skip == Py_None ? NULL : skip);
    return rc < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *prof_wrap_function(MLProfiler *self, PyObject *func)
{
    PyObject *f = wrapper_unwrap(func);
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
    PyObject *f = wrapper_unwrap(func);
    if (!f)
        return NULL;
    int added = profiler_add(self, f);
    Py_DECREF(f);
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
    return PyBool_FromLong(self->client.probe.children);
}

static PyObject *prof_get_max_mem(MLProfiler *self, void *closure)
{
    (void)closure;
    if (self->limit_set <= 0)
        Py_RETURN_NONE;
    return PyFloat_FromDouble(ml_mib(self->limit_set));
}

static PyObject *prof_get_native(MLProfiler *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->native);
}

static PyObject *prof_get_count(MLProfiler *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->count);
}

static PyObject *prof_get_code_map(MLProfiler *self, void *closure)
{
    (void)closure;
    return profiler_code_map(self);
}

/* _render(format, precision=3, fragment=False, command_line=None): the
 * report as a JSON or HTML str (render.h), for the package. */
static PyObject *prof_render(MLProfiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"format", "precision", "fragment", "command_line", NULL};
    PyObject *name, *cmd = Py_None;
    int precision = 3, fragment = 0, format;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|ipO:_render", kwlist, &name, &precision,
                                     &fragment, &cmd) ||
        render_format(name, &format) < 0)
        return NULL;
    if (format == RENDER_TEXT) {
        PyErr_SetString(PyExc_ValueError, "_render makes 'json' or 'html'; show_results "
                        "writes text");
        return NULL;
    }
    return render_report(self, format, precision, fragment, cmd);
}

/* to_dict(command_line=None): the JSON form (docs/json.md) as Python
 * objects, json.loads of what --json writes. */
static PyObject *prof_to_dict(MLProfiler *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"command_line", NULL};
    PyObject *cmd = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:to_dict", kwlist, &cmd))
        return NULL;
    PyObject *text = render_report(self, RENDER_JSON, 3, 0, cmd);
    PyObject *json = text ? PyImport_ImportModule("json") : NULL;
    PyObject *r = json ? PyObject_CallMethod(json, "loads", "O", text) : NULL;
    Py_XDECREF(json);
    Py_XDECREF(text);
    return r;
}

static PyObject *prof_heap_rows(MLProfiler *self, PyObject *unused)
{
    (void)unused;
    return profiler_heap_rows(self);
}

static PyMethodDef prof_methods[] = {
    {"to_dict", (PyCFunction)(void (*)(void))prof_to_dict, METH_VARARGS | METH_KEYWORDS,
     "to_dict(command_line=None)\n\nThe report as the JSON form of docs/json.md (memory in "
     "integer bytes),\nas dicts and lists."},
    {"_render", (PyCFunction)(void (*)(void))prof_render, METH_VARARGS | METH_KEYWORDS,
     "_render(format, precision=3, fragment=False, command_line=None): the report as a\n"
     "'json' or 'html' str."},
    {"add_function", (PyCFunction)prof_add_function, METH_O,
     "Profile func's lines (and the code nested in it) from now on.  func may be\n"
     "a selector string (docs/selectors.md): 'pkg.module:func', 'path/file.py', ..."},
    {"add_module", (PyCFunction)prof_add_module, METH_O,
     "Profile every function of a module (a module object or its name; a package:\n"
     "its modules too), also of modules imported later."},
    {"_add_code", (PyCFunction)(void (*)(void))prof_add_code, METH_VARARGS | METH_KEYWORDS,
     "_add_code(code, name, first, nlines, toplevel=True, skip=None): profile a code\n"
     "object as the function name, lines first .. first + nlines - 1."},
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
    {"_heap_rows", (PyCFunction)prof_heap_rows, METH_NOARGS,
     "[(filename, lineno, occurrences, heap incr, heap peak)] in bytes, lines that ran."},
    {"__enter__", (PyCFunction)prof_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)prof_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef prof_getset[] = {
    {"backend", (getter)prof_get_backend, NULL, "The memory backend's name.", NULL},
    {"include_children", (getter)prof_get_children, NULL,
     "Whether child processes' memory is added.", NULL},
    {"max_mem", (getter)prof_get_max_mem, NULL, "The --pdb-mmem limit in MiB, or None.", NULL},
    {"native", (getter)prof_get_native, NULL,
     "Whether native memory (malloc, mmap) counts in the heap columns.", NULL},
    {"enable_count", (getter)prof_get_count, NULL, "Nesting of enable_by_count.", NULL},
    {"code_map", (getter)prof_get_code_map, NULL,
     "The measurements, as memory_profiler's code_map: a memline.CodeMap.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject MLProfiler_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memline.LineProfiler",
    .tp_basicsize = sizeof(MLProfiler),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "LineProfiler(include_children=False, backend='rss', max_mem=None, native=None)\n\n"
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

int proftype_check(PyObject *obj)
{
    return PyObject_TypeCheck(obj, &MLProfiler_Type);
}

int proftype_init(PyObject *module)
{
    if (PyType_Ready(&MLProfiler_Type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "LineProfiler", (PyObject *)&MLProfiler_Type);
}
