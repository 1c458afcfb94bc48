/* proftype: LineProfiler, the Python type of a profiler (profiler.h). */
#ifndef ML_PROFTYPE_H
#define ML_PROFTYPE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

extern PyTypeObject MLProfiler_Type;

/* Readies the type and adds it to module as LineProfiler.  Returns 0, or
 * -1 with an exception set. */
int proftype_init(PyObject *module);

/* Whether obj is a LineProfiler (or a subclass's instance). */
int proftype_check(PyObject *obj);

#endif
