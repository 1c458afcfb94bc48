/* pyutil: ProfileError and functools.partial for the binding. */
#include "pyutil.h"

#include "compat.h"

PyObject *ml_ProfileError;

int pyutil_init(PyObject *module)
{
    ml_ProfileError = PyErr_NewExceptionWithDoc(
        "memline.ProfileError",
        "profile() was given something without Python code to profile.",
        PyExc_TypeError, NULL);
    if (!ml_ProfileError)
        return -1;
    return PyModule_AddObjectRef(module, "ProfileError", ml_ProfileError);
}

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
