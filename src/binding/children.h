/* children: the binding's half of profiling child processes (docs/processes.md).
 *
 * The transport is Python (memline/_children.py): each child sends its
 * table as a JSON report (docs/json.md) over a socket.  Here the parent
 * merges those documents into its profiler's table (core/repmerge) and
 * shows one process's tables for --per-process. */
#ifndef ML_CHILDREN_H
#define ML_CHILDREN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Adds _merge_child and _show_tables to module.  Returns 0, or -1 with an
 * exception set. */
int children_init(PyObject *module);

#endif
