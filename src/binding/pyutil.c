/* pyutil: ProfileError, functools.partial and the C stack guard for the
 * binding. */
#include "pyutil.h"

#include "compat.h"

#include <pthread.h>

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

#define STACK_MARGIN ((uintptr_t)256 * 1024)

__thread uintptr_t ml_stack_floor __attribute__((tls_model("initial-exec")));

uintptr_t ml_stack_floor_get(void)
{
    if (ml_stack_floor != 0)
        return ml_stack_floor;
    uintptr_t floor = 1;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size > 2 * STACK_MARGIN)
            floor = (uintptr_t)addr + STACK_MARGIN;
        pthread_attr_destroy(&attr);
    }
    ml_stack_floor = floor;
    return floor;
}

int ml_stack_full_slow(uintptr_t here, const char *hint)
{
    if (here >= ml_stack_floor_get())
        return 0;
    PyErr_Format(PyExc_RecursionError,
                 "maximum recursion depth exceeded: the C stack is nearly full%s", hint);
    return 1;
}
