/* module: the _memline extension module: its functions and its init.  It
 * only converts types and raises: measuring is the engine's and the core's
 * job.  Nothing includes a header of this file's: it is the top layer. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "backend.h"
#include "children.h"
#include "compat.h"
#include "core/memsrc.h"
#include "core/mlerr.h"
#include "engine.h"
#include "core/memcount.h"
#include "greenlets.h"
#include "heaphook.h"
#include "hookchain.h"
#include "native.h"
#include "profiler.h"
#include "proftype.h"
#include "core/mlio.h"
#include "render.h"
#include "pyutil.h"
#include "stamper.h"
#include "timeline.h"
#include "tracer.h"
#include "usage.h"
#include "wrapper.h"

static PyObject *mod_profile(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"func", "stream", "precision", "backend", "native", NULL};
    PyObject *func = Py_None, *stream = Py_None, *backend = Py_None, *native = Py_None;
    int precision = 1, b;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOiOO:profile", kwlist, &func, &stream,
                                     &precision, &backend, &native))
        return NULL;
    if (backend_parse(backend, &b) < 0)
        return NULL;
    if (func == Py_None) {
        PyObject *self = PyObject_GetAttrString(module, "profile");
        PyObject *opts = self ? Py_BuildValue("{sOsisOsO}", "stream", stream, "precision",
                                              precision, "backend", backend, "native", native)
                              : NULL;
        PyObject *r = opts ? ml_partial(self, opts) : NULL;
        Py_XDECREF(opts);
        Py_XDECREF(self);
        return r;
    }
    PyObject *pargs = Py_BuildValue("()");
    PyObject *pkw = pargs ? Py_BuildValue("{sOsO}", "backend", backend, "native", native) : NULL;
    PyObject *prof = pkw ? PyObject_Call((PyObject *)&MLProfiler_Type, pargs, pkw) : NULL;
    Py_XDECREF(pargs);
    Py_XDECREF(pkw);
    if (!prof)
        return NULL;
    PyObject *r = NULL;
    PyObject *f = wrapper_unwrap(func);
    int added = f ? profiler_add((MLProfiler *)prof, f) : -1;
    Py_XDECREF(f);
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
    static char *kwlist[] = {"prof", "stream", "precision", "format", "native_columns", NULL};
    PyObject *prof, *stream = Py_None, *name = Py_None, *cols = Py_None;
    int precision = 1, format;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|OiOO:show_results", kwlist,
                                     &MLProfiler_Type, &prof, &stream, &precision, &name,
                                     &cols) ||
        render_format(name, &format) < 0)
        return NULL;
    int native_columns = cols == Py_None ? -1 : PyObject_IsTrue(cols);
    if (cols != Py_None && native_columns < 0)
        return NULL;
    if (format == RENDER_TEXT)
        return profiler_show((MLProfiler *)prof, stream, precision, native_columns) < 0
                   ? NULL
                   : Py_NewRef(Py_None);
    if (stream == Py_None && !(stream = PySys_GetObject("stdout")))
        Py_RETURN_NONE; /* no stdout (pythonw): nowhere to write */
    PyObject *text = render_report((MLProfiler *)prof, format, precision, 0, NULL);
    PyObject *r = text ? PyObject_CallMethod(stream, "write", "O", text) : NULL;
    Py_XDECREF(text);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}

/* _replace_file(path, text): writes text (UTF-8) to path through a
 * temporary file renamed over it (core/mlio.h); OSError on failure,
 * with path as it was. */
static PyObject *mod_replace_file(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *path;
    const char *data;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "O&s#:_replace_file", PyUnicode_FSConverter, &path, &data, &n))
        return NULL;
    int rc = ml_replace_file(PyBytes_AS_STRING(path), data, (size_t)n);
    PyObject *r = rc == ML_OK ? Py_NewRef(Py_None)
                              : PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    Py_DECREF(path);
    return r;
}

static PyObject *mod_choose_backend(PyObject *module, PyObject *args, PyObject *kw)
{
    (void)module;
    static char *kwlist[] = {"new_backend", NULL};
    PyObject *name = Py_None;
    int b;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:choose_backend", kwlist, &name))
        return NULL;
    if (backend_parse(name, &b) < 0)
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

/* ---- the scripted memory source, for tests (engine_use_script) ---- */

static memsrc *script;
static int64_t script_clock_ns;

static PyObject *mod_script_begin(PyObject *module, PyObject *arg)
{
    (void)module;
    long long bytes = PyLong_AsLongLong(arg);
    if (bytes == -1 && PyErr_Occurred())
        return NULL;
    if (tracer_mode()) {
        PyErr_SetString(PyExc_RuntimeError, "the memory source cannot change while profiling");
        return NULL;
    }
    if (!script && memsrc_open_script(&script, 0) != ML_OK)
        return PyErr_NoMemory();
    memsrc_script_set(script, bytes);
    script_clock_ns = 0;
    engine_use_script(script, &script_clock_ns);
    Py_RETURN_NONE;
}

static PyObject *mod_script_set(PyObject *module, PyObject *args, PyObject *kw)
{
    (void)module;
    static char *kwlist[] = {"bytes", "clock_ns", NULL};
    PyObject *bytes = Py_None, *clock = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:_script_set", kwlist, &bytes, &clock))
        return NULL;
    if (!script) {
        PyErr_SetString(PyExc_RuntimeError, "no scripted source: call _script_begin first");
        return NULL;
    }
    if (bytes != Py_None) {
        long long b = PyLong_AsLongLong(bytes);
        if (b == -1 && PyErr_Occurred())
            return NULL;
        memsrc_script_set(script, b);
    }
    if (clock != Py_None) {
        long long c = PyLong_AsLongLong(clock);
        if (c == -1 && PyErr_Occurred())
            return NULL;
        script_clock_ns = c;
    }
    Py_RETURN_NONE;
}

static PyObject *mod_script_reads(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyLong_FromUnsignedLongLong(script ? memsrc_script_reads(script) : 0);
}

static PyObject *mod_script_end(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (tracer_mode()) {
        PyErr_SetString(PyExc_RuntimeError, "the memory source cannot change while profiling");
        return NULL;
    }
    engine_use_script(NULL, NULL);
    memsrc_close(script);
    script = NULL;
    Py_RETURN_NONE;
}

/* Whether native memory is counted, and why not (for tests and the CLI). */
static PyObject *mod_native_info(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    const char *why = native_unavailable();
    return Py_BuildValue("{sOsssOsL}", "default", native_default() ? Py_True : Py_False,
                         "unavailable_reason", why ? why : "",
                         "counting", native_counting() ? Py_True : Py_False,
                         "foreign", (long long)memcount_foreign_cur());
}

/* The process-wide heap watch (core/memcount.h): every thread's counted
 * bytes, Python and native, while a watch is on and profiling runs. */
static PyObject *mod_heap_watch_begin(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyLong_FromLongLong(memcount_watch_begin());
}

static PyObject *mod_heap_watch_end(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    memcount_watch_end();
    Py_RETURN_NONE;
}

static PyObject *mod_heap_watch_read(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    long long cur = memcount_total_cur();
    long long peak = memcount_total_take_max();
    return Py_BuildValue("(LL)", cur, peak);
}

static PyObject *mod_native_remove(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (tracer_mode()) {
        PyErr_SetString(PyExc_RuntimeError, "the native hooks cannot go while profiling");
        return NULL;
    }
    native_remove();
    Py_RETURN_NONE;
}

/* The tracer mode in use while profiling, or None (for tests). */
static PyObject *mod_tracer_mode(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    const char *name = tracer_mode();
    if (!name)
        Py_RETURN_NONE;
    return PyUnicode_FromString(name);
}

/* For tests: which tracer mode the next profiling session tries first. */
static PyObject *mod_set_tracer_mode(PyObject *module, PyObject *arg)
{
    (void)module;
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (!name)
        return PyErr_Format(PyExc_TypeError, "a tracer mode name is a str, not %R", arg);
    if (tracer_mode()) {
        PyErr_SetString(PyExc_RuntimeError, "the tracer mode cannot change while profiling");
        return NULL;
    }
    if (tracer_prefer(name) < 0)
        return PyErr_Format(PyExc_ValueError, "unknown tracer mode %R: choose 'default' "
                            "or 'legacy'", arg);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"_tracer_mode", mod_tracer_mode, METH_NOARGS,
     "The tracer mode delivering events now: 'gate', 'monitoring', 'legacy' or None."},
    {"_native_info", mod_native_info, METH_NOARGS,
     "Whether native memory is counted by default and now, and why not."},
    {"_heap_watch_begin", mod_heap_watch_begin, METH_NOARGS,
     "Starts the process-wide heap watch; returns its level (bytes) now."},
    {"_heap_watch_end", mod_heap_watch_end, METH_NOARGS, "Ends one heap watch."},
    {"_heap_watch_read", mod_heap_watch_read, METH_NOARGS,
     "(level, peak since the last read) of the process-wide heap, in bytes."},
    {"_native_remove", mod_native_remove, METH_NOARGS,
     "For tests: takes the native hooks out (they go back in with the next session)."},
    {"_script_begin", mod_script_begin, METH_O,
     "For tests: from now on every OS reading is the given bytes (see _script_set)."},
    {"_script_set", (PyCFunction)(void (*)(void))mod_script_set, METH_VARARGS | METH_KEYWORDS,
     "For tests: _script_set(bytes=None, clock_ns=None) sets the next readings and the clock."},
    {"_script_reads", mod_script_reads, METH_NOARGS,
     "For tests: how many times the engine read the scripted source."},
    {"_script_end", mod_script_end, METH_NOARGS,
     "For tests: readings come from the OS again."},
    {"_set_tracer_mode", mod_set_tracer_mode, METH_O,
     "For tests: 'legacy' or 'default', the mode the next session tries first."},
    {"_allocator_state", mod_allocator_state, METH_NOARGS,
     "The allocator functions currently installed, per domain (for tests)."},
    {"_mprof_main", timeline_main, METH_O,
     "Runs a timeline verb: argv[0] is the program name, argv[1] the verb; "
     "returns the exit code."},
    {"_heap_info", mod_heap_info, METH_NOARGS,
     "Whether heap accounting is available and active."},
    {"profile", (PyCFunction)(void (*)(void))mod_profile, METH_VARARGS | METH_KEYWORDS,
     "profile(func=None, stream=None, precision=1, backend='psutil', native=None)\n\n"
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
     "show_results(prof, stream=None, precision=1, format='text', native_columns=None)\n\n"
     "Writes prof's line report: format 'text' (memory_profiler's), 'json'\n(docs/json.md) "
     "or 'html' (a self-contained page); native_columns adds Native incr\nand Native peak to "
     "the text (None: as MEMLINE_NATIVE_COLUMNS says)."},
    {"_replace_file", mod_replace_file, METH_VARARGS,
     "_replace_file(path, text): writes text to path through a temporary file and a rename."},
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
    if (pyutil_init(m) < 0 || PyModule_AddStringConstant(m, "__version__", MEMLINE_VERSION) < 0 ||
        engine_init() < 0 || heaphook_init() < 0 || native_init() < 0 || tracer_init(m) < 0 ||
        proftype_init(m) < 0 || wrapper_init_type(m) < 0 || stamper_init_type(m) < 0 ||
        greenlets_init() < 0 || chain_init() < 0 || children_init(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
