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

/* What a wrapper that is not a profiler's does around each call (the
 * TimeStamper's records).  enter returns a token for exit, or -1 with an
 * exception set, in which case the function is not called. */
typedef struct wrapper_around {
    Py_ssize_t (*enter)(PyObject *ctx, Py_ssize_t index);
    void (*exit)(PyObject *ctx, Py_ssize_t token);
} wrapper_around;

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

/* A wrapper that calls around->enter(ctx, index) and around->exit around
 * each call of orig.  around is static; ctx is kept.  New reference, or
 * NULL with an exception set. */
PyObject *wrapper_new_around(PyObject *orig, const wrapper_around *around, PyObject *ctx,
                             Py_ssize_t index);

/* The plain function under what a user passed: unwraps memline's own
 * wrappers, bound methods, classmethod and staticmethod objects.  New
 * reference, or NULL with ProfileError set (no Python code under it). */
PyObject *wrapper_unwrap(PyObject *func);

#endif
