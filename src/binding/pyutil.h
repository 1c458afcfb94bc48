/* pyutil: the few Python objects and helpers every binding file may use.
 * It depends on nothing else of memline's. */
#ifndef ML_PYUTIL_H
#define ML_PYUTIL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* memline.ProfileError (a TypeError): profile() was given something that
 * has no Python code.  Owned by this module; valid after pyutil_init. */
extern PyObject *ml_ProfileError;

/* Creates ProfileError and adds it to module.  Returns 0, or -1 with an
 * exception set. */
int pyutil_init(PyObject *module);

/* functools.partial(callable, **kw); kw may be NULL.  New reference, or
 * NULL with an exception set. */
PyObject *ml_partial(PyObject *callable, PyObject *kw);

#endif
