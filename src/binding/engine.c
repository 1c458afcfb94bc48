/* engine: shadow stacks and interval charging for profiled code.
 *
 * Lock rules: every function here runs with the GIL held (the tracer calls
 * them from hook callbacks, the profiler from its methods), which serialises
 * access to code records, line tables and the engine globals.  Per-thread
 * state is reached through a thread-local pointer and touched only by its
 * own thread, except that a pthread key destructor frees it at thread exit. */
#include "engine.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "heaphook.h"
#include "profiler.h"
#include "tracer.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#if PY_VERSION_HEX >= 0x030B0000
#include <opcode.h> /* RESUME, to find where a fresh call starts */
#endif

#if PY_VERSION_HEX >= 0x030C0000
#define ml_code_get_extra PyUnstable_Code_GetExtra
#define ml_code_set_extra PyUnstable_Code_SetExtra
#define ml_request_extra PyUnstable_Eval_RequestCodeExtraIndex
#else
#define ml_code_get_extra _PyCode_GetExtra
#define ml_code_set_extra _PyCode_SetExtra
#define ml_request_extra _PyEval_RequestCodeExtraIndex
#endif

/* One profiled frame on a thread's shadow stack.  An interval runs from
 * ival_* to the next event; an execution of a line runs from its line
 * event to the next line event or return of the same frame, and spans the
 * nested frames it calls. */
typedef struct ml_frame {
    PyFrameObject *frame; /* identity only, never dereferenced for data */
    struct MLProfiler *prof; /* borrowed: a dying profiler bumps engine_gen,
                                which invalidates every stack that holds it */
    linefunc *fn;         /* prof's function the frame's lines are charged to */
    const ml_probe *probe;/* &prof->probe */
    int line;             /* line being charged */
    unsigned foreign_saved;
    int64_t ival_mem;     /* memory at the start of the interval */
    int64_t ival_heap;    /* heap counter at the start of the interval */
    int64_t exec_heap;    /* heap counter when the line's execution began */
    int64_t exec_max;     /* highest heap counter during that execution */
    int64_t frame_max;    /* highest heap counter during the frame so far */
} ml_frame;

/* Invariant: stack[0..depth) are the profiled frames of this thread, outermost
 * first; foreign counts unprofiled frames entered above stack[depth-1] and is
 * 0 when depth is 0.  gen differs from engine_gen when the state is stale
 * (tracing stopped and restarted since it was last used). */
typedef struct ml_thread {
    unsigned gen;
    unsigned depth, cap;
    unsigned foreign;
    ml_frame *stack;
} ml_thread;

static __thread ml_thread *tl_thread __attribute__((tls_model("initial-exec")));
__thread ml_heap_tls ml_heap __attribute__((tls_model("initial-exec")));

static pthread_key_t thread_key;
static Py_ssize_t extra_index = -1;
static unsigned engine_gen = 1;
static int engine_refs;

/* One open source per kind, opened on first use; last_good keeps the last
 * reading so a failed read never shows as a drop to zero. */
static memsrc *sources[3];
static int64_t last_good[3];

static void thread_destroy(void *p)
{
    ml_thread *t = p;
    if (!t)
        return;
    ml_free(t->stack);
    ml_free(t);
}

static void code_extra_free(void *p)
{
    ml_code *rec = p;
    if (!rec)
        return;
    ml_free(rec->sinks);
    ml_free(rec->unit_lines);
    ml_free(rec);
}

int engine_init(void)
{
    if (pthread_key_create(&thread_key, thread_destroy) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "memline: cannot create thread-local key");
        return -1;
    }
    extra_index = ml_request_extra(code_extra_free);
    if (extra_index < 0) {
        PyErr_SetString(PyExc_RuntimeError, "memline: no code extra slot left");
        return -1;
    }
    return 0;
}

ml_code *engine_code(PyCodeObject *code)
{
    void *rec = NULL;
    if (ml_code_get_extra((PyObject *)code, extra_index, &rec) < 0) {
        PyErr_Clear();
        return NULL;
    }
    return rec;
}

#if PY_VERSION_HEX >= 0x030B0000
/* Offset of the first RESUME: where a fresh call of code starts. */
static int entry_offset(PyCodeObject *code)
{
    PyObject *bytes = PyCode_GetCode(code);
    if (!bytes) {
        PyErr_Clear();
        return 0;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(bytes);
    Py_ssize_t n = PyBytes_GET_SIZE(bytes);
    int off = 0;
    for (Py_ssize_t i = 0; i + 1 < n; i += 2) {
        if (p[i] == RESUME) {
            off = (int)i;
            break;
        }
    }
    Py_DECREF(bytes);
    return off;
}
#endif

#if PY_VERSION_HEX >= 0x030C0000
/* Each code unit's line, for the sys.monitoring backend's jump events, in
 * one pass over code.co_lines() (-1 where no line).  Without it (out of
 * memory) jumps within a line go unreported. */
static void build_unit_lines(ml_code *rec, PyCodeObject *code)
{
    PyObject *bytes = PyCode_GetCode(code);
    Py_ssize_t n = bytes ? PyBytes_GET_SIZE(bytes) / 2 : 0;
    Py_XDECREF(bytes);
    int *lines = n > 0 && n < INT_MAX ? ml_malloc((size_t)n * sizeof *lines) : NULL;
    PyObject *ranges = lines ? PyObject_CallMethod((PyObject *)code, "co_lines", NULL) : NULL;
    PyObject *it = ranges ? PyObject_GetIter(ranges) : NULL;
    Py_XDECREF(ranges);
    if (!it) {
        PyErr_Clear();
        ml_free(lines);
        return;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        lines[i] = -1;
    PyObject *r;
    while ((r = PyIter_Next(it)) != NULL) {
        long start, end;
        PyObject *line;
        if (PyArg_ParseTuple(r, "llO", &start, &end, &line) && line != Py_None) {
            int l = (int)PyLong_AsLong(line);
            for (long u = start / 2; u >= 0 && u < end / 2 && u < n; u++)
                lines[u] = l;
        }
        Py_DECREF(r);
    }
    Py_DECREF(it);
    PyErr_Clear();
    rec->unit_lines = lines;
    rec->nunits = (int)n;
}
#endif

int engine_code_line_at(const ml_code *rec, int off)
{
    int i = off / 2;
    return rec->unit_lines && off >= 0 && i < rec->nunits ? rec->unit_lines[i] : -1;
}

int engine_register(PyCodeObject *code, struct MLProfiler *prof, linefunc *fn, int toplevel)
{
    ml_code *rec = engine_code(code);
    if (!rec) {
        rec = ml_calloc(1, sizeof *rec);
        if (!rec) {
            PyErr_NoMemory();
            return -1;
        }
        rec->genlike = (code->co_flags & (CO_GENERATOR | CO_COROUTINE |
                                          CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR)) != 0;
        rec->firstline = code->co_firstlineno;
#if PY_VERSION_HEX >= 0x030B0000
        rec->entry_lasti = entry_offset(code);
#endif
#if PY_VERSION_HEX >= 0x030C0000
        build_unit_lines(rec, code);
#endif
        if (ml_code_set_extra((PyObject *)code, extra_index, rec) < 0) {
            code_extra_free(rec);
            return -1;
        }
    }
    for (int i = 0; i < rec->n; i++)
        if (rec->sinks[i].prof == prof)
            return 0;
    ml_sink *sinks = ml_realloc(rec->sinks, (size_t)(rec->n + 1) * sizeof *sinks);
    if (!sinks) {
        PyErr_NoMemory();
        return -1;
    }
    rec->sinks = sinks;
    rec->sinks[rec->n].prof = prof;
    rec->sinks[rec->n].fn = fn;
    rec->sinks[rec->n].toplevel = toplevel;
    rec->n++;
    tracer_code_added(code);
    return 0;
}

void engine_unregister(PyCodeObject *code, struct MLProfiler *prof)
{
    ml_code *rec = engine_code(code);
    if (!rec)
        return;
    for (int i = 0; i < rec->n; i++) {
        if (rec->sinks[i].prof == prof) {
            rec->sinks[i] = rec->sinks[rec->n - 1];
            rec->n--;
            break;
        }
    }
    /* Shadow stacks may still point at prof: the profiler calls
     * engine_invalidate() before it dies. */
}

/* When the OS is asked again (see docs/performance.md).  RSS grows when
 * the heap reaches memory it has not used before, and shrinks when big
 * blocks go back to the OS; reused memory does not move it.  So RSS is read
 * again once this thread's heap has risen (at any moment of the interval:
 * the window's high-water mark) or fallen by LEVEL_LIMIT since its last
 * reading.  Anything else that moves RSS (native allocations, pages touched
 * without allocating, other threads) is caught by the age limit: a reading
 * older than AGE_LIMIT is refreshed, the clock being looked at once every
 * CLOCK_EVERY events. */
#define LEVEL_LIMIT (16 * 1024)
#define AGE_LIMIT_NS (50 * 1000 * 1000)
#define CLOCK_EVERY 64

static int64_t cached[3];    /* the last OS reading of each kind, any thread's */
static int64_t cache_time_ns; /* when the last one was taken */

static int64_t coarse_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Makes the calling thread's next reading go to the OS. */
static void forget_reading(void)
{
    ml_heap.read_hi = INT64_MIN;
}

int engine_acquire(void)
{
    if (engine_refs++ > 0)
        return 0;
    engine_gen++;
    if (heaphook_install() < 0 || tracer_start() < 0) {
        heaphook_remove();
        engine_refs--;
        return -1;
    }
    return 0;
}

void engine_release(void)
{
    if (engine_refs <= 0 || --engine_refs > 0)
        return;
    tracer_stop();
    heaphook_remove();
    engine_gen++;
}

/* The OS reading, refreshing the cache and this thread's bounds.  Out of
 * line: the common case is read_mem's cache hit. */
__attribute__((noinline)) static int64_t read_os(const ml_probe *probe)
{
    int k = probe->kind;
    if (!sources[k] && memsrc_open(&sources[k], 0, probe->kind) != ML_OK)
        return last_good[k];
    int64_t v;
    if (memsrc_read(sources[k], &v) != ML_OK)
        return last_good[k];
    last_good[k] = v;
    if (probe->children) {
        int64_t kids;
        if (memsrc_descendants_bytes(0, probe->kind, &kids) == ML_OK)
            v += kids;
        return v; /* children move without our heap counters knowing: never cached */
    }
    cached[k] = v;
    cache_time_ns = coarse_now_ns();
    ml_heap_tls *h = &ml_heap;
    h->read_hi = h->cur + LEVEL_LIMIT;
    h->read_lo = h->cur - LEVEL_LIMIT;
    h->read_kind = k;
    h->countdown = CLOCK_EVERY;
    return v;
}

/* The cached reading has lasted CLOCK_EVERY events: still fresh? */
__attribute__((noinline)) static int64_t read_aged(const ml_probe *probe)
{
    if (coarse_now_ns() - cache_time_ns < AGE_LIMIT_NS) {
        ml_heap.countdown = CLOCK_EVERY;
        return cached[probe->kind];
    }
    return read_os(probe);
}

static inline int64_t read_mem(const ml_probe *probe)
{
    ml_heap_tls *h = &ml_heap;
    if (__builtin_expect(probe->cached, 1)) {
        if (h->max < h->read_hi && h->cur > h->read_lo && h->read_kind == (int)probe->kind)
            return --h->countdown > 0 ? cached[probe->kind] : read_aged(probe);
        return read_os(probe);
    }
    return probe->heap ? h->cur : read_os(probe);
}

int64_t engine_read(const ml_probe *probe)
{
    return read_mem(probe);
}

void engine_invalidate(void)
{
    engine_gen++;
}

/* This thread's state, created or refreshed as needed; NULL only when out of
 * memory, in which case the event is dropped. */
static ml_thread *thread_get(void)
{
    ml_thread *t = tl_thread;
    if (t && t->gen == engine_gen)
        return t;
    if (!t) {
        t = ml_calloc(1, sizeof *t);
        if (!t)
            return NULL;
        tl_thread = t;
        pthread_setspecific(thread_key, t);
    }
    t->gen = engine_gen;
    t->depth = 0;
    t->foreign = 0;
    forget_reading();
    return t;
}

/* This thread's state if it is current and inside profiled code. */
static inline ml_thread *thread_live(void)
{
    ml_thread *t = tl_thread;
    return t && t->gen == engine_gen && t->depth > 0 ? t : NULL;
}

/* The sink a call of rec charges, or NULL when no profiler of it is on. */
static ml_sink *active_sink(ml_code *rec)
{
    for (int i = 0; i < rec->n; i++)
        if (rec->sinks[i].prof->on)
            return &rec->sinks[i];
    return NULL;
}

int engine_code_traced(PyCodeObject *code)
{
    ml_code *rec = engine_code(code);
    return rec && active_sink(rec) != NULL;
}

/* f's row for line, or NULL (line outside the function and the row table
 * could not grow). */
static inline linestat *row_of(ml_frame *f, int line)
{
    linefunc *fn = f->fn;
    unsigned idx = (unsigned)(line - fn->first);
    return idx < (unsigned)fn->nlines ? &fn->rows[idx] : linefunc_row(fn, line);
}

/* Folds the heap high-water mark since the last event into the top frame's
 * current execution, and opens a new window. */
static inline void fold_heap(ml_frame *top)
{
    ml_heap_tls *h = &ml_heap;
    if (h->max > top->exec_max)
        top->exec_max = h->max;
    h->max = h->cur;
}

/* Charges f's open interval, ending now, to f's line.  With end_exec the
 * line's execution ends too and its heap peak is recorded. */
static inline void charge(ml_frame *f, int64_t mem_now, int end_exec)
{
    int64_t heap_now = ml_heap.cur;
    if (f->exec_max < heap_now)
        f->exec_max = heap_now;
    if (f->prof->on) {
        linestat *s = row_of(f, f->line);
        if (s) {
            int64_t peak = end_exec ? f->exec_max - f->exec_heap : 0;
            linestat_charge(s, mem_now, mem_now - f->ival_mem, heap_now - f->ival_heap,
                            peak < 0 ? 0 : peak);
        }
    }
    f->ival_mem = mem_now;
    f->ival_heap = heap_now;
    if (end_exec) {
        if (f->exec_max > f->frame_max)
            f->frame_max = f->exec_max;
        f->exec_heap = heap_now;
        f->exec_max = heap_now;
    }
}

static inline void enter_line(ml_frame *f, int line)
{
    f->line = line;
    if (f->prof->on) {
        linestat *s = row_of(f, line);
        if (s)
            s->occurrences++;
    }
}

static int grow_stack(ml_thread *t)
{
    unsigned cap = t->cap ? t->cap * 2 : 16;
    ml_frame *stack = ml_realloc(t->stack, cap * sizeof *stack);
    if (!stack)
        return -1;
    t->stack = stack;
    t->cap = cap;
    return 0;
}

void engine_on_call(PyFrameObject *frame, ml_code *rec, int fresh, int line)
{
    ml_sink *sink = active_sink(rec);
    if (!sink) {
        engine_on_foreign_call();
        return;
    }
    ml_thread *t = thread_get();
    if (!t || (t->depth == t->cap && grow_stack(t) < 0))
        return;
    const ml_probe *probe = &sink->prof->probe;
    int64_t now = read_mem(probe);
    if (t->depth > 0) {
        ml_frame *top = &t->stack[t->depth - 1];
        fold_heap(top);
        charge(top, top->probe->kind == probe->kind ? now : read_mem(top->probe), 0);
    }
    ml_frame *f = &t->stack[t->depth++];
    int64_t heap_now = ml_heap.cur;
    ml_heap.max = heap_now;
    f->frame = frame;
    f->prof = sink->prof;
    f->fn = sink->fn;
    f->probe = probe;
    f->foreign_saved = t->foreign;
    f->ival_mem = now;
    f->ival_heap = heap_now;
    f->exec_heap = heap_now;
    f->exec_max = heap_now;
    f->frame_max = heap_now;
    t->foreign = 0;
    if (fresh) {
        f->line = rec->firstline;
        if (sink->toplevel)
            enter_line(f, rec->firstline);
    } else {
        f->line = line;
    }
    tracer_lines(1);
}

void engine_on_foreign_call(void)
{
    ml_thread *t = thread_live();
    if (t && t->foreign++ == 0)
        tracer_lines(0);
}

/* Pops the top frame, charging its last interval.  The caller's interval
 * restarts now, and its execution absorbs the popped frame's heap peak. */
static void pop_frame(ml_thread *t)
{
    ml_frame *f = &t->stack[t->depth - 1];
    int64_t now = read_mem(f->probe);
    fold_heap(f);
    charge(f, now, 1);
    t->foreign = f->foreign_saved;
    t->depth--;
    if (t->depth > 0) {
        ml_frame *parent = &t->stack[t->depth - 1];
        if (f->frame_max > parent->exec_max)
            parent->exec_max = f->frame_max;
        parent->ival_mem = parent->probe->kind == f->probe->kind ? now : read_mem(parent->probe);
        parent->ival_heap = ml_heap.cur;
    }
}

void engine_on_return(PyFrameObject *frame)
{
    ml_thread *t = thread_live();
    if (!t)
        return;
    if (t->stack[t->depth - 1].frame == frame) {
        pop_frame(t);
    } else if (t->foreign > 0) {
        if (--t->foreign > 0)
            return;
    } else {
        /* A return we did not see the call of, or one we missed: unwind to
         * the frame if it is on the stack, else ignore it. */
        unsigned i = t->depth;
        while (i > 0 && t->stack[i - 1].frame != frame)
            i--;
        if (i == 0)
            return;
        while (t->depth >= i)
            pop_frame(t);
    }
    tracer_lines(t->depth > 0 && t->foreign == 0);
}

/* The hot path: a line event of the innermost profiled frame.  It does what
 * fold_heap, charge(f, now, 1) and enter_line do, in one pass.  A line that
 * starts again right after itself (a loop on one line; on 3.12+ an inlined
 * comprehension) counts a new occurrence but continues the same execution,
 * so its heap peak spans the whole loop. */
void engine_on_line(PyFrameObject *frame, int line)
{
    ml_thread *t = tl_thread;
    if (!t || t->gen != engine_gen || t->depth == 0 || t->foreign > 0)
        return;
    ml_frame *f = &t->stack[t->depth - 1];
    if (f->frame != frame)
        return;
    int64_t now = read_mem(f->probe);
    ml_heap_tls *h = &ml_heap;
    int64_t heap_now = h->cur;
    /* h->max >= h->cur always, so this is also >= heap_now. */
    int64_t xmax = h->max > f->exec_max ? h->max : f->exec_max;
    h->max = heap_now;
    int again = line == f->line;
    if (f->prof->on) {
        linestat *s = row_of(f, f->line);
        if (s)
            linestat_charge(s, now, now - f->ival_mem, heap_now - f->ival_heap,
                            again ? 0 : xmax - f->exec_heap);
        s = row_of(f, line);
        if (s)
            s->occurrences++;
    }
    f->ival_mem = now;
    f->ival_heap = heap_now;
    if (again) {
        f->exec_max = xmax;
    } else {
        if (xmax > f->frame_max)
            f->frame_max = xmax;
        f->exec_heap = heap_now;
        f->exec_max = heap_now;
        f->line = line;
    }
    if (f->prof->max_mem > 0 && now >= f->prof->max_mem && f->prof->on)
        profiler_over_limit(f->prof, now, frame);
}
