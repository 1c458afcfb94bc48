/* engine: what memline does at each event of profiled code.
 *
 * The engine keeps, per thread, a shadow stack of the profiled frames that
 * thread is running, and charges each interval between two events to the
 * line the innermost profiled frame was on (memory_profiler's partition:
 * increments sum to the total change).  Events come from the tracer
 * (tracer.h), which calls engine_on_call/return/line; measurements go to a
 * client (engine_client, one per profiler) and its line table.
 *
 * The engine knows neither the tracer nor the profiler: a client is a
 * small struct of its own, and the tracer hands it the one switch it
 * needs (engine_set_line_switch).  Everything here runs with the GIL held
 * and never raises.  It calls into Python only while registering code
 * (building its records), and through a client's on_limit callback. */
#ifndef ML_ENGINE_H
#define ML_ENGINE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"
#include "core/linetab.h"
#include "core/memsrc.h"

/* What a reading measures, taken from the client. */
typedef struct ml_probe {
    memsrc_kind kind;
    int children; /* add the memory of child processes */
    int heap;     /* read the thread's heap counter instead of the OS */
    int exact;    /* read the OS at every event, never the cached reading */
    int cached;   /* may use the cached OS reading: !heap, !exact, !children,
                     and heap hooks that tell when RSS may have moved */
} ml_probe;

/* One user of the engine (a LineProfiler).  The engine reads it at every
 * event and never frees it: a client unregisters its code and calls
 * engine_client_gone() before it goes away. */
typedef struct engine_client {
    int on;         /* lines are charged only while set */
    /* Shadow-stack frames naming this client, counted in tracing
     * generation frames_gen (a count from an older generation is 0).  The
     * engine's own bookkeeping: zero-initialised, never set by the client. */
    unsigned frames, frames_gen;
    ml_probe probe; /* what its readings measure */
    int64_t limit;  /* bytes at which on_limit is called from a line event; 0 = none */
    /* Called at most once per crossing of limit, inside the line event of
     * frame, with the GIL held; may call Python (it starts pdb). */
    void (*on_limit)(struct engine_client *client, int64_t now, PyFrameObject *frame);
} engine_client;

/* A client that charges a code object's lines to one of its functions. */
typedef struct ml_sink {
    engine_client *client; /* borrowed: a client removes its sinks before it dies */
    linefunc *fn;          /* owned by the client's table */
    int toplevel;          /* the profiled function itself, not a nested code object:
                              its calls count as occurrences of its first line */
} ml_sink;

/* What the engine knows of one code object, kept in the code's co_extra
 * slot.  Invariant: sinks[0..nsinks) name distinct clients; unit_lines is
 * NULL or has nunits entries. */
typedef struct ml_code {
    ml_sink *sinks;
    int nsinks;
    int resumable;    /* generator, coroutine or async generator code */
    int entry_offset; /* byte offset at which a fresh call starts (3.11+) */
    int firstline;
    int *unit_lines;  /* line of each code unit, for a tracer that needs it
                         (engine_code_set_unit_lines), or NULL */
    int nunits;
} ml_code;

/* Sets up the co_extra slot.  Returns 0, or -1 with a Python exception set.
 * Called once, from module init. */
int engine_init(void);

/* The record of code, or NULL when code is not profiled by anyone. */
ml_code *engine_code(PyCodeObject *code);

/* Hands rec a table of each code unit's line (owned by rec from now on;
 * the previous one is freed). */
void engine_code_set_unit_lines(ml_code *rec, int *lines, int nunits);

/* The line of the instruction at byte offset off of rec's code, or -1 when
 * not known. */
int engine_code_line_at(const ml_code *rec, int off);

/* Whether a frame of code would be traced now: some client of it is on. */
int engine_code_traced(PyCodeObject *code);

/* Makes client charge code's lines to fn.  Returns 0, or -1 with an
 * exception set (MemoryError).  Registering the same (code, client) twice
 * is a no-op. */
int engine_register(PyCodeObject *code, engine_client *client, linefunc *fn, int toplevel);

/* Removes client's sink from code, if it has one.  Cannot fail. */
void engine_unregister(PyCodeObject *code, engine_client *client);

/* The tracer's line switch: turns line events of the calling thread on or
 * off as it enters and leaves profiled code.  NULL (the default) when the
 * tracer delivers line events for profiled frames only anyway. */
void engine_set_line_switch(void (*lines)(int on));

/* Starts a new tracing session: no shadow stack entry from before survives
 * into it.  Called when tracing starts and stops. */
void engine_invalidate(void);

/* Called before client is freed.  A client that no shadow stack names (the
 * usual case: a profiler collected long after its last call) goes without
 * touching them; otherwise every stack is restarted (engine_invalidate),
 * so no frame entry outlives the client it points to.  A profiler that
 * dies while others profile must not cost them their frames: that loses
 * their lines in silence. */
void engine_client_gone(engine_client *client);

/* Events, from the tracer.  frame identifies the execution; line is the
 * line a resumed generator is on (unused for a fresh call). */
void engine_on_call(PyFrameObject *frame, ml_code *rec, int fresh, int line);
void engine_on_unprofiled_call(void);
void engine_on_return(PyFrameObject *frame);
void engine_on_line(PyFrameObject *frame, int line);

/* The number of profiled frames on the calling thread's shadow stack. */
unsigned engine_depth(void);

/* Pops the calling thread's profiled frames above depth, each charged up
 * to now as if it returned: a call whose return never came (its events
 * were lost).  Returns how many were popped. */
unsigned engine_unwind(unsigned depth);

/* The calling thread's innermost profiled frame ran for a while without
 * memline's hook (another tool took it away, and memline took it back):
 * its function is marked incomplete in its report, and a warning says so
 * once, naming tool (a repr, or NULL).  Never raises. */
void engine_mark_lost(PyObject *tool);

/* A shadow stack set aside: a greenlet's, while another greenlet runs on
 * its thread (greenlets.c).  Opaque; owned by whoever holds it. */
typedef struct engine_stack engine_stack;

/* An empty one, or NULL when out of memory. */
engine_stack *engine_stack_new(void);

/* Frees s and the frames it holds.  Accepts NULL. */
void engine_stack_free(engine_stack *s);

/* A switch away from the running greenlet: the open interval of its
 * innermost profiled frame ends now, charged to its line, and the thread's
 * shadow stack moves into out (which must be empty; the thread's is then).
 * Called with the leaving greenlet's heap counters in place. */
void engine_stack_save(engine_stack *out);

/* A switch to a greenlet: its shadow stack (in, left empty) becomes the
 * thread's, and the interval of its innermost profiled frame starts now,
 * so nothing that ran meanwhile is charged to the line it switched on.
 * Called with that greenlet's heap counters in place. */
void engine_stack_load(engine_stack *in);

/* Reads the memory a probe measures, in bytes.  On a failed read it returns
 * the last good value of that kind.  Never raises. */
int64_t engine_read(const ml_probe *probe);

/* For tests: while script is set (a scripted source, memsrc.h), every OS
 * reading of every kind comes from it, children add nothing, and the age
 * rule's clock reads *clock_ns.  Both are borrowed until the next call;
 * NULL, NULL goes back to the OS and the real clock. */
void engine_use_script(memsrc *script, const int64_t *clock_ns);

#endif
