/* timeline: _memline._mprof_main(argv) runs a timeline verb. */
#ifndef ML_TIMELINE_H
#define ML_TIMELINE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* argv is a list of str (encoded as os.fsencode does) or bytes, argv[0]
 * the program name.  Python programs run under sys.executable.  Returns
 * the exit code as an int, or NULL with TypeError (ValueError for a NUL)
 * for a bad argv.  The GIL is released while the verb runs. */
PyObject *timeline_main(PyObject *module, PyObject *argv);

#endif
