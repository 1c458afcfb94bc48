/* profiler: what a LineProfiler (memory_profiler's profiler object) does:
 * it registers functions with the engine, turns on and off, and reports.
 *
 * A profiler owns a line table, the list of code objects it registered
 * with the engine, and its engine_client, through which the engine charges
 * its lines while it is on (enable, or a positive enable_by_count).  Its
 * Python type is in proftype.c; its report in show.c. */
#ifndef ML_PROFILER_H
#define ML_PROFILER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "core/linetab.h"
#include "core/report.h"
#include "core/sbuf.h"
#include "engine.h"

/* Invariant: every code object in codes is registered with the engine for
 * client; funcs maps each top-level one to the index of its function in
 * tab; client.on is set exactly between enable and disable. */
typedef struct MLProfiler {
    PyObject_HEAD
    engine_client client; /* what the engine reads at each event */
    linetab *tab;         /* owned */
    PyObject *codes;      /* list of the code objects registered, strong refs */
    PyObject *funcs;      /* dict: toplevel code -> linefunc index, as int */
    int count;            /* enable_by_count nesting */
    int backend;          /* ML_BACKEND_* (backend.h) */
    int64_t limit_set;    /* the --pdb-mmem limit asked for, in bytes; 0 = none */
    int native;           /* wants native memory in the heap columns */
    int native_on;        /* native_want() said yes at the last enable */
    int native_seen;      /* native memory was counted while it was on */
    /* The shared bucket of threads that run no Python (core/memcount.h),
     * while this profiler was on: its level at enable, and the highest rise
     * and the net change over every session. */
    int64_t foreign_start, foreign_peak, foreign_net;
    int merging;          /* children's tables are being merged into tab */
    int merged;           /* then: how many processes ran the code tab holds
                             (this one, and its children, children.c) */
    int64_t lost, running; /* children that sent no table, or were still
                              running at the report (children.c) */
    PyObject *weakreflist;
} MLProfiler;

/* Sets up a new profiler's fields (the type's tp_new).  Returns 0, or -1
 * with MemoryError set; the profiler is then freed by its dealloc. */
int profiler_create(MLProfiler *prof);

/* Sets what prof measures: a backend (backend.h), child processes' memory
 * added or not, a --pdb-mmem limit in bytes (0 = none), and whether native
 * memory counts in the heap columns.  Returns 0, or -1 with ValueError set
 * (the heap backend where it cannot work). */
int profiler_configure(MLProfiler *prof, int backend, int children, int64_t limit, int native);

/* Unregisters everything and frees what prof owns (the type's dealloc). */
void profiler_destroy(MLProfiler *prof);

/* Adds func, a plain Python function (wrapper.h unwraps what users pass),
 * to prof.  Returns 1 when added (or already there), 0 when its source
 * cannot be found (a warning was printed and the function runs
 * unprofiled), -1 with an exception set. */
int profiler_add(MLProfiler *prof, PyObject *func);

/* Adds code, whose source block is lines first .. first + nlines - 1 of
 * its file, as a function named name (a str: its qualified name, or
 * "<module>" for a module's top-level code) with the code nested in it.
 * toplevel: its calls count as occurrences of its first line (a function's
 * def or decorator line; not a module's code, whose first line is a
 * statement of its own).  The code objects in skip (a set, or NULL) and
 * what is nested in them are left out: a module's functions that have
 * tables of their own.  Returns 1 when added (or already there), -1 with
 * an exception set.  The selectors (memline._select) add code this way. */
int profiler_add_code(MLProfiler *prof, PyCodeObject *code, PyObject *name, int first,
                      int nlines, int toplevel, PyObject *skip);

int profiler_enable(MLProfiler *prof);
void profiler_disable(MLProfiler *prof);
int profiler_enable_by_count(MLProfiler *prof);
void profiler_disable_by_count(MLProfiler *prof);

/* Writes prof's report to stream (None or NULL: sys.stdout), memory_profiler
 * style; native_columns adds Native incr and Native peak.  Returns 0, or
 * -1 with an exception set. */
int profiler_show(MLProfiler *prof, PyObject *stream, int precision, int native_columns);

/* One function's table to stream; note, when not NULL, is a line written
 * under its Filename: line.  b is scratch space.  Returns 0, or -1 with an
 * exception set. */
int profiler_show_func(PyObject *stream, PyObject *linecache, const linefunc *fn,
                       const report_fmt *fmt, sbuf *b, const char *note);

/* Whether any line of fn ran (memory_profiler leaves such functions out). */
int profiler_func_ran(const linefunc *fn);

/* prof.code_map: a memline.CodeMap.  New reference, or NULL with an
 * exception set. */
PyObject *profiler_code_map(MLProfiler *prof);

/* prof._heap_rows(): [(filename, lineno, occurrences, heap incr, heap peak)]
 * for every line that ran, the heap figures in bytes, in report order.  New
 * reference, or NULL with an exception set. */
PyObject *profiler_heap_rows(MLProfiler *prof);

/* Forgets every measurement, keeping the functions. */
void profiler_clear(MLProfiler *prof);

#endif
