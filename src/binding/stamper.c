/* stamper: FUNC records for mprof timelines. */
#include "stamper.h"

#include "backend.h"
#include "compat.h"
#include "core/datfile.h"
#include "core/mlerr.h"
#include "core/mlunits.h"
#include "core/sbuf.h"
#include "engine.h"
#include "wrapper.h"

#include <time.h>

/* One call.  Invariant: done is set once mem_out and t_out are valid. */
typedef struct stamp {
    Py_ssize_t func;
    double mem_in, t_in, mem_out, t_out;
    int level;
    int done;
} stamp;

/* Invariant: every stamp's func indexes names; level counts the stamped
 * calls open in the process when the call began, as memory_profiler's does. */
typedef struct MLStamper {
    PyObject_HEAD
    PyObject *names;  /* list of "module.name", one per function */
    PyObject *funcs;  /* dict: function -> index in names */
    stamp *stamps;
    Py_ssize_t nstamps, cap;
    int level;
    int backend;
    ml_probe probe;
} MLStamper;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mem_now(MLStamper *self)
{
    return ml_mib(engine_read(&self->probe));
}

/* Around each call of a stamped function number index (wrapper_around):
 * returns the record's number, or -1 with MemoryError set. */
static Py_ssize_t stamper_enter(PyObject *obj, Py_ssize_t index)
{
    MLStamper *self = (MLStamper *)obj;
    if (self->nstamps == self->cap) {
        Py_ssize_t cap = self->cap ? self->cap * 2 : 32;
        stamp *s = PyMem_RawRealloc(self->stamps, (size_t)cap * sizeof *s);
        if (!s) {
            PyErr_NoMemory();
            return -1;
        }
        self->stamps = s;
        self->cap = cap;
    }
    stamp *s = &self->stamps[self->nstamps];
    s->func = index;
    s->level = self->level++;
    s->done = 0;
    s->mem_in = mem_now(self);
    s->t_in = wall_now();
    return self->nstamps++;
}

static void stamper_exit(PyObject *obj, Py_ssize_t record)
{
    MLStamper *self = (MLStamper *)obj;
    stamp *s = &self->stamps[record];
    s->mem_out = mem_now(self);
    s->t_out = wall_now();
    s->done = 1;
    self->level--;
}

/* Index of func's name, adding it if new; -1 with an exception set. */
static Py_ssize_t add_name(MLStamper *self, PyObject *key, PyObject *module, PyObject *name)
{
    PyObject *idx = PyDict_GetItemWithError(self->funcs, key);
    if (idx)
        return PyLong_AsSsize_t(idx);
    if (PyErr_Occurred())
        return -1;
    PyObject *full = PyUnicode_FromFormat("%S.%S", module, name);
    if (!full)
        return -1;
    Py_ssize_t i = PyList_GET_SIZE(self->names);
    int rc = PyList_Append(self->names, full);
    Py_DECREF(full);
    PyObject *pi = rc == 0 ? PyLong_FromSsize_t(i) : NULL;
    if (!pi || PyDict_SetItem(self->funcs, key, pi) < 0) {
        Py_XDECREF(pi);
        return -1;
    }
    Py_DECREF(pi);
    return i;
}

static const wrapper_around stamp_around = {stamper_enter, stamper_exit};

static Py_ssize_t add_function(MLStamper *self, PyObject *func)
{
    PyObject *f = wrapper_unwrap(func);
    if (!f)
        return -1;
    PyObject *module = PyObject_GetAttrString(f, "__module__");
    PyObject *name = module ? PyObject_GetAttrString(f, "__name__") : NULL;
    Py_ssize_t i = name ? add_name(self, f, module == Py_None ? Py_None : module, name) : -1;
    Py_XDECREF(module);
    Py_XDECREF(name);
    Py_DECREF(f);
    return i;
}

static PyObject *st_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    MLStamper *self = (MLStamper *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->names = PyList_New(0);
    self->funcs = PyDict_New();
    if (!self->names || !self->funcs) {
        Py_DECREF(self);
        return NULL;
    }
    self->probe.exact = 1;
    return (PyObject *)self;
}

static int st_init(MLStamper *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"backend", "include_children", NULL};
    PyObject *backend = Py_None;
    int children = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Op:TimeStamper", kwlist, &backend, &children))
        return -1;
    if (backend_parse(backend, &self->backend) < 0)
        return -1;
    self->probe.kind = backend_kind(self->backend);
    self->probe.heap = self->backend == ML_BACKEND_HEAP;
    self->probe.children = children;
    return 0;
}

static void st_dealloc(MLStamper *self)
{
    Py_CLEAR(self->names);
    Py_CLEAR(self->funcs);
    PyMem_RawFree(self->stamps);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *st_call(MLStamper *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"func", "precision", NULL};
    PyObject *func = Py_None, *precision = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:TimeStamper", kwlist, &func, &precision))
        return NULL;
    if (func == Py_None)
        return PyObject_GetAttrString((PyObject *)self, "_decorate");
    Py_ssize_t i = add_function(self, func);
    if (i < 0)
        return NULL;
    return wrapper_new_around(func, &stamp_around, (PyObject *)self, i);
}

static PyObject *st_decorate(MLStamper *self, PyObject *func)
{
    Py_ssize_t i = add_function(self, func);
    return i < 0 ? NULL : wrapper_new_around(func, &stamp_around, (PyObject *)self, i);
}

static PyObject *st_add_function(MLStamper *self, PyObject *func)
{
    return add_function(self, func) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *st_wrap_function(MLStamper *self, PyObject *func)
{
    return st_decorate(self, func);
}

static PyObject *st_show_results(MLStamper *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"stream", NULL};
    PyObject *stream = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:show_results", kwlist, &stream))
        return NULL;
    if (stream == Py_None)
        stream = PySys_GetObject("stdout");
    if (!stream || stream == Py_None)
        Py_RETURN_NONE;
    /* Grouped by function, in the order the functions were added, as
     * memory_profiler writes them.  The core writes each record, so that a
     * name is data, never structure: a newline or blank in it cannot make
     * a record of its own (core/datfile.h). */
    sbuf line = SBUF_INIT;
    PyObject *result = NULL;
    for (Py_ssize_t f = 0; f < PyList_GET_SIZE(self->names); f++) {
        PyObject *str = PyList_GET_ITEM(self->names, f);
        PyObject *enc = PyUnicode_AsEncodedString(str, "utf-8", "surrogateescape");
        if (!enc) {
            PyErr_Clear(); /* a lone surrogate not from a byte: its UTF-8 form */
            enc = PyUnicode_AsEncodedString(str, "utf-8", "surrogatepass");
        }
        if (!enc)
            goto done;
        for (Py_ssize_t i = 0; i < self->nstamps; i++) {
            stamp *s = &self->stamps[i];
            if (s->func != f || !s->done)
                continue;
            datfile_func rec = {0, s->mem_in, s->t_in, s->mem_out, s->t_out, s->level};
            sbuf_clear(&line);
            PyObject *text = NULL;
            if (datfile_put_func_n(&line, PyBytes_AS_STRING(enc),
                                   (size_t)PyBytes_GET_SIZE(enc), &rec) != ML_OK)
                PyErr_NoMemory();
            else
                text = PyUnicode_DecodeUTF8(line.data, (Py_ssize_t)line.len, "strict");
            PyObject *r = text ? PyObject_CallMethod(stream, "write", "O", text) : NULL;
            Py_XDECREF(text);
            if (!r) {
                Py_DECREF(enc);
                goto done;
            }
            Py_DECREF(r);
        }
        Py_DECREF(enc);
    }
    result = Py_NewRef(Py_None);
done:
    sbuf_release(&line);
    return result;
}

/* ---- with profile.timestamp(name): ---- */

typedef struct MLStampBlock {
    PyObject_HEAD
    PyObject *stamper;
    Py_ssize_t index, record;
} MLStampBlock;

static void block_dealloc(MLStampBlock *self)
{
    Py_CLEAR(self->stamper);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *block_enter(MLStampBlock *self, PyObject *unused)
{
    (void)unused;
    self->record = stamper_enter(self->stamper, self->index);
    return self->record < 0 ? NULL : Py_NewRef((PyObject *)self);
}

static PyObject *block_exit(MLStampBlock *self, PyObject *args)
{
    (void)args;
    if (self->record >= 0)
        stamper_exit(self->stamper, self->record);
    self->record = -1;
    Py_RETURN_FALSE;
}

static PyMethodDef block_methods[] = {
    {"__enter__", (PyCFunction)block_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)block_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyTypeObject MLStampBlock_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memline.TimestampBlock",
    .tp_basicsize = sizeof(MLStampBlock),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Context manager that records a FUNC line for its block.",
    .tp_dealloc = (destructor)block_dealloc,
    .tp_methods = block_methods,
};

static PyObject *st_timestamp(MLStamper *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", NULL};
    PyObject *name = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|U:timestamp", kwlist, &name))
        return NULL;
    PyObject *owned = name ? Py_NewRef(name) : PyUnicode_FromString("<block>");
    if (!owned)
        return NULL;
    /* Each block is its own entry, named ".name" as memory_profiler's are
     * (an anonymous function whose module is ""). */
    PyObject *key = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    PyObject *empty = PyUnicode_FromString("");
    Py_ssize_t i = key && empty ? add_name(self, key, empty, owned) : -1;
    Py_XDECREF(key);
    Py_XDECREF(empty);
    Py_DECREF(owned);
    if (i < 0)
        return NULL;
    MLStampBlock *b = PyObject_New(MLStampBlock, &MLStampBlock_Type);
    if (!b)
        return NULL;
    b->stamper = Py_NewRef((PyObject *)self);
    b->index = i;
    b->record = -1;
    return (PyObject *)b;
}

static PyMethodDef st_methods[] = {
    {"add_function", (PyCFunction)st_add_function, METH_O, "Record calls of func."},
    {"wrap_function", (PyCFunction)st_wrap_function, METH_O,
     "A callable that records each call of func."},
    {"_decorate", (PyCFunction)st_decorate, METH_O, NULL},
    {"timestamp", (PyCFunction)(void (*)(void))st_timestamp, METH_VARARGS | METH_KEYWORDS,
     "timestamp(name='<block>'): a context manager recording its block as a call."},
    {"show_results", (PyCFunction)(void (*)(void))st_show_results,
     METH_VARARGS | METH_KEYWORDS, "Write the FUNC lines of an mprof .dat file."},
    {NULL, NULL, 0, NULL}};

PyTypeObject MLStamper_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memline.TimeStamper",
    .tp_basicsize = sizeof(MLStamper),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "TimeStamper(backend='rss', include_children=False)\n\n"
              "Records memory and time at entry and exit of each call, for mprof plots.",
    .tp_new = st_new,
    .tp_init = (initproc)st_init,
    .tp_dealloc = (destructor)st_dealloc,
    .tp_call = (ternaryfunc)st_call,
    .tp_methods = st_methods,
};

int stamper_init_type(PyObject *module)
{
    if (PyType_Ready(&MLStampBlock_Type) < 0 || PyType_Ready(&MLStamper_Type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "TimeStamper", (PyObject *)&MLStamper_Type);
}
