/* compat: the few C-API calls memline needs that older Pythons (3.8-3.9)
 * lack, each behind a version guard. */
#ifndef ML_COMPAT_H
#define ML_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *ml_newref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#define Py_NewRef(o) ml_newref((PyObject *)(o))
static inline int ml_add_object_ref(PyObject *m, const char *name, PyObject *o)
{
    Py_INCREF(o);
    if (PyModule_AddObject(m, name, o) < 0) {
        Py_DECREF(o);
        return -1;
    }
    return 0;
}
#define PyModule_AddObjectRef ml_add_object_ref
#endif

#if PY_VERSION_HEX < 0x03090000
#define PyObject_CallOneArg(f, a) PyObject_CallFunctionObjArgs((f), (a), NULL)
#define PyObject_CallNoArgs(f) PyObject_CallFunctionObjArgs((f), NULL)
#endif

#endif
