/* wrapper: what @profile returns, a callable standing in for the function.
 *
 * It turns its profiler on around each call (enable_by_count), binds like a
 * function so methods work, and carries the function's name, docstring and
 * __wrapped__ as functools.wraps would.  A decorator-mode wrapper (from the
 * imported profile()) prints the report when its outermost call ends. */
#ifndef ML_WRAPPER_H
#define ML_WRAPPER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "profiler.h"

extern PyTypeObject MLWrapper_Type;

int wrapper_init_type(PyObject *module);

/* A new wrapper of func (a plain function) for prof.  stream is borrowed and
 * may be NULL; with report set, the report goes there after each outermost
 * call, then the counts start over.  New reference, or NULL with an
 * exception set. */
PyObject *wrapper_new(PyObject *func, MLProfiler *prof, int report, PyObject *stream,
                      int precision);

/* As wrapper_new, for the object the user decorated: a classmethod or
 * staticmethod comes back as the same kind of object around the wrapper. */
PyObject *wrapper_new_like(PyObject *orig, MLProfiler *prof, int report, PyObject *stream,
                           int precision);

/* A wrapper that records each call of orig in a TimeStamper as function
 * number index.  New reference, or NULL with an exception set. */
PyObject *wrapper_new_stamped(PyObject *orig, PyObject *stamper, Py_ssize_t index);

/* The function a wrapper stands for (borrowed), or NULL if o is no wrapper. */
PyObject *wrapper_function(PyObject *o);

#endif
