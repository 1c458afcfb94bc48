/* usage: memory_usage(), memory_profiler's sampler API, over memwatch.
 *
 * The function under test runs once, in the calling thread, while a C
 * thread samples beside it; the call's entry and exit are sampled too, so
 * even a 1 ms call returns two samples.  (memory_profiler re-runs fast
 * functions up to 7 times with smaller intervals instead.)  With max_usage
 * the kernel's peak-RSS mark is reset at entry and read at exit, so a peak
 * shorter than the interval is not missed. */
#include "usage.h"

#include "core/memwatch.h"
#include "core/mlerr.h"
#include "core/mlunits.h"
#include "backend.h"
#include "compat.h"

#include <limits.h>


typedef struct usage_args {
    PyObject *proc;
    double interval, timeout;
    int timestamps, children, multiprocess, max_usage, retval;
    PyObject *stream;
    int backend;
} usage_args;

/* A sample as memory_profiler returns it: MiB, or (MiB, time). */
static PyObject *sample_value(const memwatch_sample *s, int timestamps)
{
    double mib = ml_mib(s->bytes);
    return timestamps ? Py_BuildValue("(dd)", mib, s->time) : PyFloat_FromDouble(mib);
}

/* With multiprocess: [main, child1, child2, ...]. */
static PyObject *sample_entry(const memwatch *w, const memwatch_sample *s, const usage_args *a)
{
    PyObject *v = sample_value(s, a->timestamps);
    if (!v || !a->multiprocess)
        return v;
    PyObject *list = PyList_New(1 + (Py_ssize_t)s->nchildren);
    if (!list) {
        Py_DECREF(v);
        return NULL;
    }
    PyList_SET_ITEM(list, 0, v);
    const int64_t *kids = memwatch_child_values(w);
    for (size_t i = 0; i < s->nchildren; i++) {
        PyObject *c = PyFloat_FromDouble(ml_mib(kids[s->child_first + i]));
        if (!c) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, 1 + (Py_ssize_t)i, c);
    }
    return list;
}

static int write_stream(const memwatch *w, const usage_args *a)
{
    const memwatch_sample *s = memwatch_samples(w);
    const int64_t *kids = memwatch_child_values(w);
    for (size_t i = 0; i < memwatch_count(w); i++) {
        char buf[96];
        PyOS_snprintf(buf, sizeof buf, "MEM %.6f %.4f\n", ml_mib(s[i].bytes), s[i].time);
        PyObject *r = PyObject_CallMethod(a->stream, "write", "s", buf);
        if (!r)
            return -1;
        Py_DECREF(r);
        for (size_t c = 0; c < s[i].nchildren; c++) {
            PyOS_snprintf(buf, sizeof buf, "CHLD %zu %.6f %.4f\n", c,
                          ml_mib(kids[s[i].child_first + c]), s[i].time);
            r = PyObject_CallMethod(a->stream, "write", "s", buf);
            if (!r)
                return -1;
            Py_DECREF(r);
        }
    }
    return 0;
}

/* The return value memory_profiler gives for these options.  peak is the
 * kernel's peak-RSS reading over the call, or -1 when there is none. */
static PyObject *result_of(const memwatch *w, const usage_args *a, int64_t peak)
{
    if (a->stream != Py_None)
        return write_stream(w, a) < 0 ? NULL : Py_NewRef(Py_None);
    size_t n = memwatch_count(w);
    const memwatch_sample *s = memwatch_samples(w);
    if (a->max_usage) {
        double best = ml_mib(peak);
        for (size_t i = 0; i < n; i++)
            if (ml_mib(s[i].bytes) > best)
                best = ml_mib(s[i].bytes);
        return PyFloat_FromDouble(best);
    }
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *v = sample_entry(w, &s[i], a);
        if (!v)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    return list;
}

static int start_watch(memwatch **w, pid_t pid, const usage_args *a, int max_only)
{
    memwatch_opts o = {pid, backend_kind(a->backend),
                       a->multiprocess ? MEMWATCH_SPLIT_CHILDREN
                       : a->children   ? MEMWATCH_ADD_CHILDREN
                                       : MEMWATCH_NO_CHILDREN,
                       a->interval, a->timeout, max_only};
    int rc = memwatch_start(w, &o);
    if (rc == ML_ENOENT)
        PyErr_Format(PyExc_ProcessLookupError, "memory_usage: no process with pid %d", (int)pid);
    else if (rc != ML_OK)
        PyErr_Format(PyExc_OSError, "memory_usage: cannot sample memory: %s", ml_strerror(rc));
    return rc == ML_OK ? 0 : -1;
}

/* Splits proc into (f, args, kw) when it is a callable or a tuple. */
static int unpack_call(PyObject *proc, PyObject **f, PyObject **args, PyObject **kw)
{
    *args = NULL;
    *kw = NULL;
    if (PyCallable_Check(proc) && !PyTuple_Check(proc) && !PyList_Check(proc)) {
        *f = proc;
        return 1;
    }
    if (!PyTuple_Check(proc) && !PyList_Check(proc))
        return 0;
    Py_ssize_t n = PySequence_Size(proc);
    if (n < 1 || n > 3)
        return -1;
    *f = PySequence_Fast_GET_ITEM(proc, 0);
    if (n >= 2)
        *args = PySequence_Fast_GET_ITEM(proc, 1);
    if (n == 3)
        *kw = PySequence_Fast_GET_ITEM(proc, 2);
    if (!PyCallable_Check(*f) || (*args && !PyTuple_Check(*args) && !PyList_Check(*args)) ||
        (*kw && !PyDict_Check(*kw)))
        return -1;
    return 1;
}

static PyObject *usage_of_call(PyObject *f, PyObject *fargs, PyObject *fkw, const usage_args *a)
{
    PyObject *targs = fargs ? PySequence_Tuple(fargs) : PyTuple_New(0);
    if (!targs)
        return NULL;
    memwatch *w;
    if (start_watch(&w, 0, a, a->max_usage) < 0) {
        Py_DECREF(targs);
        return NULL;
    }
    /* The kernel's mark sees every page the call touched, however briefly;
     * it is RSS of this process alone, so only without children, and it
     * covers the whole call, so only without a timeout. */
    int use_peak = a->max_usage && !a->children && !a->multiprocess && !(a->timeout > 0) &&
                   a->backend == ML_BACKEND_RSS && memsrc_peak_reset() == ML_OK;
    memwatch_mark(w);
    PyObject *ret = PyObject_Call(f, targs, fkw);
    Py_DECREF(targs);
    memwatch_mark(w);
    int64_t peak = -1;
    if (use_peak && memsrc_peak(0, &peak) != ML_OK)
        peak = -1;
    Py_BEGIN_ALLOW_THREADS
    memwatch_stop(w);
    Py_END_ALLOW_THREADS
    PyObject *out = ret ? result_of(w, a, peak) : NULL;
    memwatch_free(w);
    if (!out) {
        Py_XDECREF(ret);
        return NULL;
    }
    if (a->retval)
        return Py_BuildValue("(NN)", out, ret);
    Py_DECREF(ret);
    return out;
}

/* Sleeps for s seconds without the GIL; -1 if a signal handler raised. */
static int nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    Py_BEGIN_ALLOW_THREADS
    nanosleep(&ts, NULL);
    Py_END_ALLOW_THREADS
    return PyErr_CheckSignals();
}

/* Samples pid until popen (if given) exits, the process is gone, or the
 * timeout passes; a bare pid without timeout gives one sample. */
static PyObject *usage_of_pid(pid_t pid, PyObject *popen, const usage_args *a)
{
    memwatch *w;
    if (start_watch(&w, pid, a, a->max_usage) < 0)
        return NULL;
    memwatch_mark(w);
    int failed = 0;
    if (popen || a->timeout > 0) {
        for (;;) {
            if (nap(a->interval) < 0) {
                failed = 1;
                break;
            }
            if (memwatch_finished(w))
                break;
            if (popen) {
                PyObject *r = PyObject_CallMethod(popen, "poll", NULL);
                if (!r) {
                    failed = 1;
                    break;
                }
                int done = r != Py_None;
                Py_DECREF(r);
                if (done)
                    break;
            }
        }
    }
    Py_BEGIN_ALLOW_THREADS
    memwatch_stop(w);
    Py_END_ALLOW_THREADS
    PyObject *out = failed ? NULL : result_of(w, a, -1);
    memwatch_free(w);
    return out;
}

static int is_popen(PyObject *proc)
{
    PyObject *sp = PyImport_ImportModule("subprocess");
    if (!sp)
        return -1;
    PyObject *cls = PyObject_GetAttrString(sp, "Popen");
    Py_DECREF(sp);
    if (!cls)
        return -1;
    int r = PyObject_IsInstance(proc, cls);
    Py_DECREF(cls);
    return r;
}

/* A process id as memory_profiler takes one (-1: this process, sampled as
 * 0).  pid_t is 32 bits: a larger or negative number names no process and
 * must not wrap to one (2**32 is not 0, this process), so it gets
 * ProcessLookupError, as memory_profiler's psutil raises NoSuchProcess.
 * Returns 0, or -1 with an exception set. */
static int as_pid(PyObject *v, pid_t *pid)
{
    int overflow = 0;
    long long p = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (p == -1 && PyErr_Occurred())
        return -1;
    if (overflow || p < -1 || p > (long long)INT_MAX) {
        PyErr_Format(PyExc_ProcessLookupError, "memory_usage: no process with pid %R", v);
        return -1;
    }
    *pid = p == -1 ? 0 : (pid_t)p;
    return 0;
}

PyObject *usage_memory_usage(PyObject *module, PyObject *args, PyObject *kw)
{
    (void)module;
    static char *kwlist[] = {"proc", "interval", "timeout", "timestamps", "include_children",
                             "multiprocess", "max_usage", "retval", "stream", "backend",
                             "max_iterations", NULL};
    usage_args a = {NULL, 0.1, 0, 0, 0, 0, 0, 0, Py_None, ML_BACKEND_RSS};
    PyObject *proc = NULL, *timeout = Py_None, *backend = Py_None, *max_iter = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OdOppppOOOO:memory_usage", kwlist, &proc,
                                     &a.interval, &timeout, &a.timestamps, &a.children,
                                     &a.multiprocess, &a.max_usage, &a.retval, &a.stream,
                                     &backend, &max_iter))
        return NULL;
    (void)max_iter; /* memline runs the function once: nothing to repeat */
    if (!(a.interval > 0)) {
        PyErr_SetString(PyExc_ValueError, "memory_usage: interval must be positive");
        return NULL;
    }
    if (timeout != Py_None) {
        a.timeout = PyFloat_AsDouble(timeout);
        if (a.timeout == -1.0 && PyErr_Occurred())
            return NULL;
    }
    if (backend_parse(backend, &a.backend) < 0)
        return NULL;
    if (a.backend == ML_BACKEND_HEAP) {
        PyErr_SetString(PyExc_ValueError,
                        "memory_usage samples the OS's view of memory: use rss, pss or uss");
        return NULL;
    }
    if (a.stream != Py_None)
        a.timestamps = 1;
    if (!proc)
        return usage_of_pid(0, NULL, &a);

    PyObject *f, *fargs, *fkw;
    PyObject *seq = (PyTuple_Check(proc) || PyList_Check(proc))
                        ? PySequence_Fast(proc, "proc") : Py_NewRef(proc);
    if (!seq)
        return NULL;
    int call = unpack_call(seq, &f, &fargs, &fkw);
    PyObject *out = NULL;
    if (call > 0) {
        out = usage_of_call(f, fargs, fkw, &a);
    } else if (call < 0) {
        PyErr_SetString(PyExc_TypeError,
                        "memory_usage: a proc tuple must be (f,), (f, args) or (f, args, kw) "
                        "with f callable, args a tuple and kw a dict");
    } else {
        int popen = is_popen(proc);
        if (popen > 0) {
            PyObject *pid = PyObject_GetAttrString(proc, "pid");
            pid_t p;
            if (pid && as_pid(pid, &p) == 0)
                out = usage_of_pid(p, proc, &a);
            Py_XDECREF(pid);
        } else if (popen == 0 && PyLong_Check(proc) && !PyBool_Check(proc)) {
            pid_t p;
            if (as_pid(proc, &p) == 0)
                out = usage_of_pid(p, NULL, &a);
        } else if (popen == 0) {
            PyErr_Format(PyExc_TypeError,
                         "memory_usage: proc must be a callable, an (f, args, kw) tuple, a "
                         "subprocess.Popen or a process id, not %.100s",
                         Py_TYPE(proc)->tp_name);
        }
    }
    Py_DECREF(seq);
    return out;
}
