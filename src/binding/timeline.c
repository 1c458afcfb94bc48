/* timeline: the binding of the timeline verbs (memline run, plot, ...).
 * It only turns a Python list into argv; the verbs are the core's mprof. */
#include "timeline.h"

#include "cli/mprof.h"

#include <stdio.h>

PyObject *timeline_main(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyList_Check(arg) && !PyTuple_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "_mprof_main expects a list of strings");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(arg, "argv");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    char **argv = PyMem_Calloc((size_t)n + 1, sizeof *argv);
    PyObject *result = NULL;
    if (!argv) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(seq, i);
        /* Owned by s, which seq keeps alive for the call. */
        argv[i] = PyUnicode_Check(s) ? (char *)PyUnicode_AsUTF8(s) : NULL;
        if (!argv[i]) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "_mprof_main expects a list of strings");
            goto done;
        }
    }
    /* The verbs print with C stdio: keep Python's buffered output first. */
    PyObject *r = PyObject_CallMethod(PySys_GetObject("stdout"), "flush", NULL);
    Py_XDECREF(r);
    PyErr_Clear();
    int code;
    Py_BEGIN_ALLOW_THREADS
    code = mprof_main((int)n, argv);
    fflush(stdout);
    fflush(stderr);
    Py_END_ALLOW_THREADS
    result = PyLong_FromLong(code);
done:
    PyMem_Free(argv);
    Py_DECREF(seq);
    return result;
}
