/* usage: memory_usage(), the sampler API of memory_profiler. */
#ifndef ML_USAGE_H
#define ML_USAGE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* memory_usage(proc=-1, interval=.1, timeout=None, timestamps=False,
 * include_children=False, multiprocess=False, max_usage=False, retval=False,
 * stream=None, backend=None, max_iterations=None).  New reference, or NULL
 * with an exception set (the function's own, or TypeError for a bad proc). */
PyObject *usage_memory_usage(PyObject *module, PyObject *args, PyObject *kw);

#endif
