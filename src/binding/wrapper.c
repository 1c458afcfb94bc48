/* wrapper: the callable that @profile puts in place of a function. */
#include "wrapper.h"

#include "compat.h"
#include "pyutil.h"

/* Invariant: func is a plain Python function, and exactly one of prof (which
 * has added func) and around (with ctx, which records func's calls as
 * index) is set. */
typedef struct MLWrapper {
    PyObject_HEAD
    PyObject *func;
    MLProfiler *prof;
    const wrapper_around *around;
    PyObject *ctx;
    Py_ssize_t index;
    PyObject *stream; /* where decorator-mode reports go; NULL = stdout */
    int report;       /* decorator mode: print after each outermost call */
    int precision;
    int depth;        /* calls of this wrapper in progress (recursion, threads) */
    int resumable;    /* func makes generators, coroutines or async generators */
    int live;         /* such objects made and not yet collected */
    PyObject *refs;   /* set of the weakrefs watching them */
    PyObject *on_done;/* the weakref callback, bound to this wrapper */
    PyObject *dict;
} MLWrapper;

PyObject *wrapper_unwrap(PyObject *func)
{
    if (Py_TYPE(func) == &MLWrapper_Type)
        func = ((MLWrapper *)func)->func;
    if (PyMethod_Check(func))
        func = PyMethod_GET_FUNCTION(func);
    if (PyObject_TypeCheck(func, &PyClassMethod_Type) ||
        PyObject_TypeCheck(func, &PyStaticMethod_Type)) {
        PyObject *inner = PyObject_GetAttrString(func, "__func__");
        if (!inner)
            return NULL;
        PyObject *r = wrapper_unwrap(inner);
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

/* Prints and clears the report, keeping any exception the call raised. */
static int report_call(MLWrapper *self)
{
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    int rc = profiler_show(self->prof, self->stream, self->precision, -1);
    profiler_clear(self->prof);
    if (et) {
        if (rc < 0)
            PyErr_Clear(); /* the program's own exception matters more */
        PyErr_Restore(et, ev, tb);
    }
    return rc;
}

/* A generator (or coroutine, async generator) keeps its profiler on from
 * its creation until it is collected, so every resumption is traced, in
 * whatever thread; its collection ends the "call" for the report. */
static int watch(MLWrapper *self, PyObject *gen)
{
    PyObject *ref = PyWeakref_NewRef(gen, self->on_done);
    if (!ref)
        return -1;
    int rc = PySet_Add(self->refs, ref);
    Py_DECREF(ref);
    if (rc < 0 || profiler_enable_by_count(self->prof) < 0) {
        if (rc == 0)
            PySet_Discard(self->refs, ref);
        return -1;
    }
    self->live++;
    return 0;
}

static PyObject *gen_done(PyObject *wself, PyObject *ref)
{
    MLWrapper *self = (MLWrapper *)wself;
    if (PySet_Discard(self->refs, ref) != 1)
        Py_RETURN_NONE;
    self->live--;
    profiler_disable_by_count(self->prof);
    if (self->report && self->depth == 0 && self->live == 0 && report_call(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef gen_done_def = {"_generator_done", gen_done, METH_O, NULL};

static PyObject *around_call(MLWrapper *self, PyObject *args, PyObject *kw)
{
    Py_ssize_t token = self->around->enter(self->ctx, self->index);
    if (token < 0)
        return NULL;
    PyObject *r = PyObject_Call(self->func, args, kw);
    self->around->exit(self->ctx, token);
    return r;
}

static PyObject *wrapper_call(MLWrapper *self, PyObject *args, PyObject *kw)
{
    if (self->around)
        return around_call(self, args, kw);
    if (profiler_enable_by_count(self->prof) < 0)
        return NULL;
    self->depth++;
    PyObject *r = PyObject_Call(self->func, args, kw);
    self->depth--;
    if (r && self->resumable && watch(self, r) < 0)
        Py_CLEAR(r);
    profiler_disable_by_count(self->prof);
    if (self->report && self->depth == 0 && self->live == 0 && report_call(self) < 0) {
        Py_XDECREF(r);
        return NULL;
    }
    return r;
}

static PyObject *wrapper_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (!obj || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyObject *wrapper_repr(MLWrapper *self)
{
    return PyUnicode_FromFormat("<memline-profiled %R>", self->func);
}

static int wrapper_traverse(MLWrapper *self, visitproc visit, void *arg)
{
    Py_VISIT(self->func);
    Py_VISIT(self->prof);
    Py_VISIT(self->ctx);
    Py_VISIT(self->stream);
    Py_VISIT(self->refs);
    Py_VISIT(self->on_done);
    Py_VISIT(self->dict);
    return 0;
}

static int wrapper_clear(MLWrapper *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->prof);
    Py_CLEAR(self->ctx);
    Py_CLEAR(self->stream);
    Py_CLEAR(self->refs);
    Py_CLEAR(self->on_done);
    Py_CLEAR(self->dict);
    return 0;
}

static void wrapper_dealloc(MLWrapper *self)
{
    PyObject_GC_UnTrack(self);
    wrapper_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyGetSetDef wrapper_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject MLWrapper_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memline.ProfiledFunction",
    .tp_basicsize = sizeof(MLWrapper),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A function profiled line by line by memline.",
    .tp_call = (ternaryfunc)wrapper_call,
    .tp_descr_get = wrapper_get,
    .tp_repr = (reprfunc)wrapper_repr,
    .tp_traverse = (traverseproc)wrapper_traverse,
    .tp_clear = (inquiry)wrapper_clear,
    .tp_dealloc = (destructor)wrapper_dealloc,
    .tp_getset = wrapper_getset,
    .tp_dictoffset = offsetof(MLWrapper, dict),
};

/* Makes inspect and asyncio see the wrapper of an async def as a coroutine
 * function, as they see the function itself. */
static int mark_coroutine(PyObject *self, PyObject *func)
{
    if (!(((PyCodeObject *)PyFunction_GET_CODE(func))->co_flags & CO_COROUTINE))
        return 0;
    return compat_mark_coroutine_function(self);
}

static PyObject *make_wrapper(PyObject *func, MLProfiler *prof, const wrapper_around *around,
                              PyObject *ctx, Py_ssize_t index, int report, PyObject *stream,
                              int precision)
{
    MLWrapper *self = PyObject_GC_New(MLWrapper, &MLWrapper_Type);
    if (!self)
        return NULL;
    self->func = Py_NewRef(func);
    self->prof = prof ? (MLProfiler *)Py_NewRef((PyObject *)prof) : NULL;
    self->around = around;
    self->ctx = ctx ? Py_NewRef(ctx) : NULL;
    self->index = index;
    self->stream = stream && stream != Py_None ? Py_NewRef(stream) : NULL;
    self->report = report;
    self->precision = precision;
    self->depth = 0;
    self->live = 0;
    self->resumable = prof && (((PyCodeObject *)PyFunction_GET_CODE(func))->co_flags &
                               (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) != 0;
    self->refs = NULL;
    self->on_done = NULL;
    self->dict = NULL;
    PyObject_GC_Track(self);
    self->refs = PySet_New(NULL);
    self->on_done = self->refs ? PyCFunction_NewEx(&gen_done_def, (PyObject *)self, NULL) : NULL;
    if (!self->on_done) {
        Py_DECREF(self);
        return NULL;
    }
    /* functools.update_wrapper gives exactly the attributes users expect:
     * __module__, __name__, __qualname__, __doc__, __dict__, __wrapped__. */
    PyObject *functools = PyImport_ImportModule("functools");
    PyObject *r = functools ? PyObject_CallMethod(functools, "update_wrapper", "OO",
                                                  (PyObject *)self, func)
                            : NULL;
    Py_XDECREF(functools);
    if (!r) {
        Py_DECREF(self);
        return NULL;
    }
    Py_DECREF(r);
    if (mark_coroutine((PyObject *)self, func) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

PyObject *wrapper_new(PyObject *func, MLProfiler *prof, int report, PyObject *stream,
                      int precision)
{
    return make_wrapper(func, prof, NULL, NULL, 0, report, stream, precision);
}

PyObject *wrapper_new_around(PyObject *orig, const wrapper_around *around, PyObject *ctx,
                             Py_ssize_t index)
{
    PyObject *func = wrapper_unwrap(orig);
    if (!func)
        return NULL;
    PyObject *w = make_wrapper(func, NULL, around, ctx, index, 0, NULL, 1);
    Py_DECREF(func);
    return w;
}

PyObject *wrapper_new_like(PyObject *orig, MLProfiler *prof, int report, PyObject *stream,
                           int precision)
{
    PyObject *func = wrapper_unwrap(orig);
    if (!func)
        return NULL;
    PyObject *w = wrapper_new(func, prof, report, stream, precision);
    Py_DECREF(func);
    if (!w)
        return NULL;
    PyTypeObject *kind = NULL;
    if (PyObject_TypeCheck(orig, &PyClassMethod_Type))
        kind = &PyClassMethod_Type;
    else if (PyObject_TypeCheck(orig, &PyStaticMethod_Type))
        kind = &PyStaticMethod_Type;
    if (!kind)
        return w;
    PyObject *r = PyObject_CallOneArg((PyObject *)kind, w);
    Py_DECREF(w);
    return r;
}

int wrapper_init_type(PyObject *module)
{
    (void)module;
    return PyType_Ready(&MLWrapper_Type);
}
