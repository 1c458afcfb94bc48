/* module: the _memline extension module's shared objects. */
#ifndef ML_MODULE_H
#define ML_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pythread.h"

/* memline.ProfileError (a TypeError): profile() was given something that
 * has no Python code.  Owned by the module; valid after init. */
extern PyObject *ml_ProfileError;

/* functools.partial(callable, **kw); kw may be NULL.  New reference, or
 * NULL with an exception set. */
PyObject *ml_partial(PyObject *callable, PyObject *kw);

/* The thread that imported memline, taken as the main thread. */
extern unsigned long ml_main_thread;

#endif
