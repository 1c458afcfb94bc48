/* module: the _memline extension.  It only converts types and raises:
 * measuring is the engine's and the core's job. */
#include "module.h"

#include "backend.h"
#include "compat.h"
#include "engine.h"
#include "heaphook.h"
#include "profiler.h"
#include "stamper.h"
#include "timeline.h"
#include "tracer.h"
#include "usage.h"
#include "wrapper.h"

PyObject *ml_ProfileError;
unsigned long ml_main_thread;

PyObject *ml_partial(PyObject *callable, PyObject *kw)
{
    PyObject *functools = PyImport_ImportModule("functools");
    if (!functools)
        return NULL;
    PyObject *partial = PyObject_GetAttrString(functools, "partial");
    Py_DECREF(functools);
    if (!partial)
        return NULL;
    PyObject *args = PyTuple_Pack(1, callable);
    PyObject *r = args ? PyObject_Call(partial, args, kw) : NULL;
    Py_XDECREF(args);
    Py_DECREF(partial);
    return r;
}

static PyObject *mod_profile(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"func", "stream", "precision", "backend", NULL};
    PyObject *func = Py_None, *stream = Py_None, *backend = Py_None;
    int precision = 1, b;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOiO:profile", kwlist, &func, &stream,
                                     &precision, &backend))
        return NULL;
    if (profiler_parse_backend(backend, &b) < 0)
        return NULL;
    if (func == Py_None) {
        PyObject *self = PyObject_GetAttrString(module, "profile");
        PyObject *opts = self ? Py_BuildValue("{sOsisO}", "stream", stream, "precision",
                                              precision, "backend", backend)
                              : NULL;
        PyObject *r = opts ? ml_partial(self, opts) : NULL;
        Py_XDECREF(opts);
        Py_XDECREF(self);
        return r;
    }
    PyObject *pargs = Py_BuildValue("()");
    PyObject *pkw = pargs ? Py_BuildValue("{sO}", "backend", backend) : NULL;
    PyObject *prof = pkw ? PyObject_Call((PyObject *)&MLProfiler_Type, pargs, pkw) : NULL;
    Py_XDECREF(pargs);
    Py_XDECREF(pkw);
    if (!prof)
        return NULL;
    PyObject *r = NULL;
    int added = profiler_add((MLProfiler *)prof, func);
    if (added == 0)
        r = Py_NewRef(func);
    else if (added > 0)
        r = wrapper_new_like(func, (MLProfiler *)prof, 1, stream, precision);
    Py_DECREF(prof);
    return r;
}

static PyObject *mod_show_results(PyObject *module, PyObject *args, PyObject *kw)
{
    (void)module;
    static char *kwlist[] = {"prof", "stream", "precision", NULL};
    PyObject *prof, *stream = Py_None;
    int precision = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|Oi:show_results", kwlist,
                                     &MLProfiler_Type, &prof, &stream, &precision))
        return NULL;
    if (profiler_show((MLProfiler *)prof, stream, precision) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_choose_backend(PyObject *module, PyObject *args, PyObject *kw)
{
    (void)module;
    static char *kwlist[] = {"new_backend", NULL};
    PyObject *name = Py_None;
    int b;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:choose_backend", kwlist, &name))
        return NULL;
    if (profiler_parse_backend(name, &b) < 0)
        return NULL;
    return PyUnicode_FromString(backend_name(b));
}

/* For tests: the current allocator functions of each domain, as integers,
 * so a test can check that profiling put the original ones back. */
static PyObject *mod_allocator_state(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    PyMemAllocatorEx raw, mem, obj;
    PyObjectArenaAllocator arena;
    PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &raw);
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &obj);
    PyObject_GetArenaAllocator(&arena);
#define ML_FN(f) PyLong_FromVoidPtr((void *)(uintptr_t)(f))
    return Py_BuildValue("{s(NNNNN)s(NNNNN)s(NNNNN)s(NNN)}",
        "raw", ML_FN(raw.malloc), ML_FN(raw.calloc), ML_FN(raw.realloc), ML_FN(raw.free),
        PyLong_FromVoidPtr(raw.ctx),
        "mem", ML_FN(mem.malloc), ML_FN(mem.calloc), ML_FN(mem.realloc), ML_FN(mem.free),
        PyLong_FromVoidPtr(mem.ctx),
        "obj", ML_FN(obj.malloc), ML_FN(obj.calloc), ML_FN(obj.realloc), ML_FN(obj.free),
        PyLong_FromVoidPtr(obj.ctx),
        "arena", ML_FN(arena.alloc), ML_FN(arena.free), PyLong_FromVoidPtr(arena.ctx));
#undef ML_FN
}

/* Whether heap accounting works here, and its state. */
static PyObject *mod_heap_info(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    const char *why = heaphook_unavailable();
    return Py_BuildValue("{sOsssOsn}", "available", why ? Py_False : Py_True,
                         "unavailable_reason", why ? why : "",
                         "active", heaphook_active() ? Py_True : Py_False,
                         "footprint", (Py_ssize_t)heaphook_footprint());
}

/* The tracer backend in use while profiling, or None (for tests). */
static PyObject *mod_tracer_backend(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    const char *name = tracer_backend();
    if (!name)
        Py_RETURN_NONE;
    return PyUnicode_FromString(name);
}

static PyMethodDef module_methods[] = {
    {"_tracer_backend", mod_tracer_backend, METH_NOARGS,
     "The tracer backend delivering events now: 'gate', 'legacy' or None."},
    {"_allocator_state", mod_allocator_state, METH_NOARGS,
     "The allocator functions currently installed, per domain (for tests)."},
    {"_mprof_main", timeline_main, METH_O,
     "Runs a timeline verb: argv[0] is the program name, argv[1] the verb; "
     "returns the exit code."},
    {"_heap_info", mod_heap_info, METH_NOARGS,
     "Whether heap accounting is available and active."},
    {"profile", (PyCFunction)(void (*)(void))mod_profile, METH_VARARGS | METH_KEYWORDS,
     "profile(func=None, stream=None, precision=1, backend='psutil')\n\n"
     "Decorator: prints func's memory use line by line after each call."},
    {"memory_usage", (PyCFunction)(void (*)(void))usage_memory_usage,
     METH_VARARGS | METH_KEYWORDS,
     "memory_usage(proc=-1, interval=.1, timeout=None, timestamps=False,\n"
     "             include_children=False, multiprocess=False, max_usage=False,\n"
     "             retval=False, stream=None, backend=None, max_iterations=None)\n\n"
     "Samples memory (MiB) while proc runs: a callable or (f, args, kw) runs once\n"
     "in this thread, sampled by a C thread, at entry and exit too; a\n"
     "subprocess.Popen is sampled until it exits; a pid (-1 = this process)\n"
     "once, or for timeout seconds."},
    {"show_results", (PyCFunction)(void (*)(void))mod_show_results,
     METH_VARARGS | METH_KEYWORDS,
     "show_results(prof, stream=None, precision=1)\n\nWrites prof's line report."},
    {"choose_backend", (PyCFunction)(void (*)(void))mod_choose_backend,
     METH_VARARGS | METH_KEYWORDS,
     "choose_backend(new_backend=None)\n\nThe canonical name of a memory backend."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "memline._memline",
    "memline's engine: the C tracer, profiler objects and report writer.", -1,
    module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__memline(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    ml_main_thread = PyThread_get_thread_ident();
    ml_ProfileError = PyErr_NewExceptionWithDoc(
        "memline.ProfileError",
        "profile() was given something without Python code to profile.",
        PyExc_TypeError, NULL);
    if (!ml_ProfileError || PyModule_AddObjectRef(m, "ProfileError", ml_ProfileError) < 0 ||
        PyModule_AddStringConstant(m, "__version__", MEMLINE_VERSION) < 0 ||
        engine_init() < 0 || heaphook_init() < 0 || tracer_init(m) < 0 || profiler_init_type(m) < 0 ||
        wrapper_init_type(m) < 0 || stamper_init_type(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
