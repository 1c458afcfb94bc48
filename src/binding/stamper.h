/* stamper: the TimeStamper type, what `python -m memline --timestamp` puts in
 * builtins as `profile`.  It records the memory and time at entry and exit
 * of each call of its functions (and of `with profile.timestamp(name):`
 * blocks) and writes them as the FUNC lines of an mprof .dat file. */
#ifndef ML_STAMPER_H
#define ML_STAMPER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

extern PyTypeObject MLStamper_Type;

int stamper_init_type(PyObject *module);

#endif
