/* floor: the cost of CPython's tracing by itself, for the bench.
 *
 * A C trace function that does nothing, installed with PyEval_SetTrace while
 * a profiled function runs.  start() and stop() nest per thread, like a
 * profiler's enable_by_count/disable_by_count: the tracer is installed when a
 * thread's depth goes from 0 to 1 and removed when it returns to 0.  Every
 * frame the thread runs meanwhile, profiled or not, reaches the tracer, so
 * this is what any PyEval_SetTrace line profiler pays before doing any work.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Per-thread nesting depth of start() calls not yet matched by stop(). */
static _Thread_local long depth;

static int floor_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    return 0;
}

static PyObject *floor_start(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (depth++ == 0)
        PyEval_SetTrace(floor_trace, NULL);
    Py_RETURN_NONE;
}

/* stop() without a matching start() is a no-op, so it can't fail. */
static PyObject *floor_stop(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (depth > 0 && --depth == 0)
        PyEval_SetTrace(NULL, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef floor_methods[] = {
    {"start", floor_start, METH_NOARGS, "Install the no-op tracer in this thread (nests)."},
    {"stop", floor_stop, METH_NOARGS, "Undo one start(); the last one removes the tracer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef floor_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_floor",
    .m_doc = "A no-op C trace function: what tracing costs by itself.",
    .m_size = -1,
    .m_methods = floor_methods,
};

PyMODINIT_FUNC PyInit__floor(void)
{
    return PyModule_Create(&floor_module);
}
