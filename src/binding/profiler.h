/* profiler: the LineProfiler type, memory_profiler's profiler object.
 *
 * A profiler owns a line table and the list of code objects it registered
 * with the engine.  It charges lines only while it is on (enable, or a
 * positive enable_by_count). */
#ifndef ML_PROFILER_H
#define ML_PROFILER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include "core/linetab.h"
#include "backend.h"
#include "engine.h"

typedef struct MLProfiler {
    PyObject_HEAD
    linetab *tab;      /* owned */
    PyObject *codes;   /* list of the code objects registered, strong refs */
    PyObject *funcs;   /* dict: toplevel code -> linefunc index, as int */
    int on;            /* between enable() and disable() */
    int count;         /* enable_by_count nesting */
    int backend;       /* ML_BACKEND_* */
    ml_probe probe;    /* what the engine reads for this profiler */
    int64_t max_mem;   /* --pdb-mmem threshold in bytes; 0 = off */
    int64_t max_mem_hit; /* the threshold that was crossed, for the message */
    PyObject *weakreflist;
} MLProfiler;

extern PyTypeObject MLProfiler_Type;

int profiler_init_type(PyObject *module);

/* Adds func (a function, method, classmethod or staticmethod) to prof.
 * Returns 1 when added (or already there), 0 when its source cannot be found
 * (a warning was printed and the function runs unprofiled), -1 with an
 * exception set (ProfileError for objects that have no Python code). */
int profiler_add(MLProfiler *prof, PyObject *func);

int profiler_enable(MLProfiler *prof);
void profiler_disable(MLProfiler *prof);
int profiler_enable_by_count(MLProfiler *prof);
void profiler_disable_by_count(MLProfiler *prof);

/* Writes prof's report to stream (None or NULL: sys.stdout), memory_profiler
 * style.  Returns 0, or -1 with an exception set. */
int profiler_show(MLProfiler *prof, PyObject *stream, int precision);

/* Whether any line of fn ran (memory_profiler leaves such functions out). */
int profiler_func_ran(const linefunc *fn);

/* prof.code_map: a memline.CodeMap.  New reference, or NULL with an
 * exception set. */
PyObject *profiler_code_map(MLProfiler *prof);

/* Parses a backend argument (None = the default) into *backend.  Returns 0,
 * or -1 with ValueError naming the choices. */
int profiler_parse_backend(PyObject *arg, int *backend);

/* Forgets every measurement, keeping the functions. */
void profiler_clear(MLProfiler *prof);

/* Called by the engine (inside the line hook) when a reading reached
 * max_mem: prints why and hands the thread to pdb at frame's next line.
 * Cannot fail (errors are cleared). */
void profiler_over_limit(MLProfiler *prof, int64_t now, PyFrameObject *frame);

/* The plain function under func: unwraps bound methods, classmethod and
 * staticmethod objects.  New reference, or NULL with ProfileError set. */
PyObject *profiler_unwrap(PyObject *func);

#endif
