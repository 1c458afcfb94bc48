/* timeline: the binding of the timeline verbs (memline run, plot, ...).
 * It only turns a Python list into argv; the verbs are the CLI's mprof. */
#include "timeline.h"

#include "cli/mprof.h"
#include "compat.h"

#include <stdio.h>

/* argv[i] as bytes: a str is encoded as os.fsencode does (the file
 * system encoding with surrogateescape), so a file name that is not UTF-8
 * reaches the verbs as the bytes the user typed. */
static PyObject *arg_bytes(PyObject *s)
{
    if (PyBytes_Check(s))
        return Py_NewRef(s);
    if (PyUnicode_Check(s))
        return PyUnicode_EncodeFSDefault(s);
    PyErr_SetString(PyExc_TypeError, "_mprof_main expects a list of str or bytes");
    return NULL;
}

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
    PyObject *held = PyList_New(0), *result = NULL, *python = NULL;
    const char *host = NULL;
    if (!argv || !held) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *b = arg_bytes(PySequence_Fast_GET_ITEM(seq, i));
        if (!b || PyList_Append(held, b) < 0) {
            Py_XDECREF(b);
            goto done;
        }
        Py_DECREF(b);
        /* Owned by b, which held keeps alive for the call. */
        argv[i] = PyBytes_AS_STRING(b);
        if (strlen(argv[i]) != (size_t)PyBytes_GET_SIZE(b)) {
            PyErr_SetString(PyExc_ValueError, "_mprof_main: an argument holds a NUL");
            goto done;
        }
    }
    /* Python programs run under this interpreter, whose memline this is
     * (not whatever python3 PATH finds first). */
    PyObject *exe = PySys_GetObject("executable"); /* borrowed */
    if (exe && PyUnicode_Check(exe) && PyUnicode_GET_LENGTH(exe) > 0) {
        python = PyUnicode_EncodeFSDefault(exe);
        if (!python)
            PyErr_Clear();
        else
            host = PyBytes_AS_STRING(python);
    }
    /* The verbs print with C stdio: keep Python's buffered output first. */
    PyObject *r = PyObject_CallMethod(PySys_GetObject("stdout"), "flush", NULL);
    Py_XDECREF(r);
    PyErr_Clear();
    int code;
    Py_BEGIN_ALLOW_THREADS
    code = mprof_main_host((int)n, argv, host);
    fflush(stdout);
    fflush(stderr);
    Py_END_ALLOW_THREADS
    result = PyLong_FromLong(code);
done:
    PyMem_Free(argv);
    Py_XDECREF(held);
    Py_XDECREF(python);
    Py_DECREF(seq);
    return result;
}
