/* engine: what memline does at each event of profiled code.
 *
 * The engine keeps, per thread, a shadow stack of the profiled frames that
 * thread is running, and charges each interval between two events to the
 * line the innermost profiled frame was on (memory_profiler's partition:
 * increments sum to the total change).  Events come from a tracer backend
 * (tracer.h), which calls engine_on_call/return/line.  Everything here runs
 * with the GIL held, never calls into Python, and never raises. */
#ifndef ML_ENGINE_H
#define ML_ENGINE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h> /* PyFrameObject, which 3.8's Python.h leaves out */

#include "core/linetab.h"
#include "core/memsrc.h"

struct MLProfiler;

/* A profiler that charges a code object's lines to one of its functions. */
typedef struct ml_sink {
    struct MLProfiler *prof; /* borrowed: a profiler removes its sinks before it dies */
    linefunc *fn;            /* owned by prof's table */
    int toplevel;            /* the profiled function itself, not a nested code object:
                                its calls count as occurrences of its first line */
} ml_sink;

/* What the engine knows of one code object, kept in the code's co_extra slot.
 * Invariant: sinks[0..n) are distinct profilers. */
typedef struct ml_code {
    ml_sink *sinks;
    int n;
    int genlike;     /* generator, coroutine or async generator code */
    int entry_lasti; /* instruction offset at which a fresh call starts (3.11) */
    int firstline;
    int *unit_lines; /* line of each code unit (3.12+, for backward jumps), or NULL */
    int nunits;
} ml_code;

/* Settings an engine-level reading needs, taken from the profiler. */
typedef struct ml_probe {
    memsrc_kind kind;
    int children; /* add the memory of child processes */
    int heap;     /* read the thread's heap counter instead of the OS */
    int exact;    /* read the OS at every event, never the cached reading */
    int cached;   /* may use the cached OS reading: !heap, !exact, !children,
                     and heap hooks that tell when RSS may have moved */
} ml_probe;

/* Per-thread Python-heap counters, written by the allocator hooks
 * (heaphook.c) and read by the engine at events.  cur is the net bytes the
 * thread allocated while hooks were in; max is the highest cur since the
 * engine last looked.  Plain thread-local integers: no locks, no atomics. */
typedef struct ml_heap_tls {
    int64_t cur;
    int64_t max;
    /* Until the heap leaves (read_lo, read_hi) or countdown events pass,
     * this thread reuses the OS reading of kind read_kind (engine.c). */
    int64_t read_hi, read_lo;
    int read_kind;
    int countdown;
} ml_heap_tls;

extern __thread ml_heap_tls ml_heap __attribute__((tls_model("initial-exec")));

/* Sets up the co_extra slot and the memory sources.  Returns 0, or -1 with a
 * Python exception set.  Called once, from module init. */
int engine_init(void);

/* The record of code, or NULL when code is not profiled by anyone. */
ml_code *engine_code(PyCodeObject *code);

/* The line of the instruction at byte offset off of rec's code, or -1 when
 * not known. */
int engine_code_line_at(const ml_code *rec, int off);

/* Whether a frame of code would be traced now: some profiler of it is on. */
int engine_code_traced(PyCodeObject *code);

/* Makes prof charge code's lines to fn.  Returns 0, or -1 with an exception
 * set (MemoryError).  Registering the same (code, prof) twice is a no-op. */
int engine_register(PyCodeObject *code, struct MLProfiler *prof, linefunc *fn,
                    int toplevel);

/* Removes prof's sink from code, if it has one.  Cannot fail. */
void engine_unregister(PyCodeObject *code, struct MLProfiler *prof);

/* Reference-counted switch of the tracer: the first acquire starts tracing
 * every thread, the last release stops it.  Returns 0, or -1 with an
 * exception set. */
int engine_acquire(void);
void engine_release(void);

/* Events, from the tracer backend.  frame identifies the frame; code_line is
 * the line the frame is on (for a resumed generator). */
void engine_on_call(PyFrameObject *frame, ml_code *rec, int fresh, int line);
void engine_on_foreign_call(void);
void engine_on_return(PyFrameObject *frame);
void engine_on_line(PyFrameObject *frame, int line);

/* Makes every thread's shadow stack stale, so no frame entry outlives the
 * profiler it points to.  A profiler calls it before it dies. */
void engine_invalidate(void);

/* Reads the memory a probe measures, in bytes.  On a failed read it returns
 * the last good value of that kind.  Never raises. */
int64_t engine_read(const ml_probe *probe);

#endif
