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

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* One profiled frame on a thread's shadow stack.  An interval runs from
 * ival_* to the next event; an execution of a line runs from its line
 * event to the next line event or return of the same frame, and spans the
 * nested frames it calls. */
typedef struct ml_frame {
    PyFrameObject *frame; /* identity only, never dereferenced for data */
    engine_client *client; /* borrowed: a dying client named by a frame
                              bumps engine_gen, which invalidates every stack */
    linefunc *fn;         /* the client's function the frame's lines are charged to */
    const ml_probe *probe;/* &client->probe */
    int line;             /* line being charged */
    unsigned unprofiled_saved; /* the thread's unprofiled count when this frame began */
    int64_t ival_mem;     /* memory at the start of the interval */
    int64_t ival_heap;    /* heap counter at the start of the interval */
    int64_t exec_heap;    /* heap counter when the line's execution began */
    int64_t exec_max;     /* highest heap counter during that execution */
    int64_t frame_max;    /* highest heap counter during the frame so far */
    /* The same four for the native part of the heap counter. */
    int64_t ival_native, exec_native, exec_native_max, frame_native_max;
} ml_frame;

/* Invariant (thread_ok): stack[0..depth) are the profiled frames of this
 * thread, outermost first, within cap; unprofiled counts the unprofiled
 * frames entered above stack[depth-1] and is 0 when depth is 0.  gen
 * differs from engine_gen when the state is stale (a session ended since it
 * was last used). */
typedef struct ml_thread {
    unsigned gen;
    unsigned depth, cap;
    unsigned unprofiled;
    ml_frame *stack;
} ml_thread;

static __thread ml_thread *tl_thread __attribute__((tls_model("initial-exec")));

/* When this thread may reuse the last OS reading instead of asking again:
 * until its heap counter leaves (lo, hi) or countdown events pass, and only
 * for readings of kind (see read_mem).  last is this thread's last OS
 * reading (0: none yet); forced counts the readings in a row that lazy
 * native pages forced. */
typedef struct read_window {
    int64_t hi, lo;
    int64_t native; /* the thread's native counter at that reading */
    int64_t last;
    int kind;
    int countdown;
    int forced;
} read_window;

static __thread read_window tl_window __attribute__((tls_model("initial-exec")));

static pthread_key_t thread_key;
static Py_ssize_t extra_index = -1;
static unsigned engine_gen = 1;
static void (*line_switch)(int on);

/* One open source per kind, opened on first use; last_good keeps the last
 * reading so a failed read never shows as a drop to zero. */
static memsrc *sources[MEMSRC_KIND_COUNT];
static int64_t last_good[MEMSRC_KIND_COUNT];

/* The invariant of ml_thread, for assert(). */
static inline int thread_ok(const ml_thread *t)
{
    if (t->depth > t->cap || (t->cap > 0 && !t->stack))
        return 0;
    if (t->depth == 0)
        return t->unprofiled == 0;
    for (unsigned i = 0; i < t->depth; i++)
        if (!t->stack[i].client || !t->stack[i].fn || !t->stack[i].frame)
            return 0;
    return 1;
}

/* The invariant of ml_code, for assert(). */
static inline int code_ok(const ml_code *rec)
{
    for (int i = 0; i < rec->nsinks; i++)
        for (int j = i + 1; j < rec->nsinks; j++)
            if (rec->sinks[i].client == rec->sinks[j].client)
                return 0;
    return rec->nsinks >= 0 && (rec->unit_lines == NULL || rec->nunits > 0);
}

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
    extra_index = compat_request_code_extra(code_extra_free);
    if (extra_index < 0) {
        PyErr_SetString(PyExc_RuntimeError, "memline: no code extra slot left");
        return -1;
    }
    return 0;
}

ml_code *engine_code(PyCodeObject *code)
{
    void *rec = NULL;
    if (compat_code_get_extra(code, extra_index, &rec) < 0) {
        PyErr_Clear();
        return NULL;
    }
    return rec;
}

void engine_code_set_unit_lines(ml_code *rec, int *lines, int nunits)
{
    ml_free(rec->unit_lines);
    rec->unit_lines = lines;
    rec->nunits = lines ? nunits : 0;
}

int engine_code_line_at(const ml_code *rec, int off)
{
    int i = off / 2;
    return rec->unit_lines && off >= 0 && i < rec->nunits ? rec->unit_lines[i] : -1;
}

int engine_register(PyCodeObject *code, engine_client *client, linefunc *fn, int toplevel)
{
    ml_code *rec = engine_code(code);
    if (!rec) {
        rec = ml_calloc(1, sizeof *rec);
        if (!rec) {
            PyErr_NoMemory();
            return -1;
        }
        rec->resumable = (code->co_flags & (CO_GENERATOR | CO_COROUTINE |
                                            CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR)) != 0;
        /* A module's top-level code (--script-lines) starts on no line of
         * its own: its first instruction has none, and until its first
         * statement nothing ran that a row could show (line 0 is no row). */
        int module = !(code->co_flags & CO_NEWLOCALS) &&
                     PyUnicode_CompareWithASCIIString(code->co_name, "<module>") == 0;
        rec->firstline = module ? 0 : code->co_firstlineno;
        rec->entry_offset = compat_code_entry_offset(code);
        if (compat_code_set_extra(code, extra_index, rec) < 0) {
            code_extra_free(rec);
            return -1;
        }
    }
    for (int i = 0; i < rec->nsinks; i++)
        if (rec->sinks[i].client == client)
            return 0;
    ml_sink *sinks = ml_realloc(rec->sinks, (size_t)(rec->nsinks + 1) * sizeof *sinks);
    if (!sinks) {
        PyErr_NoMemory();
        return -1;
    }
    rec->sinks = sinks;
    rec->sinks[rec->nsinks].client = client;
    rec->sinks[rec->nsinks].fn = fn;
    rec->sinks[rec->nsinks].toplevel = toplevel;
    rec->nsinks++;
    assert(code_ok(rec));
    return 0;
}

void engine_unregister(PyCodeObject *code, engine_client *client)
{
    ml_code *rec = engine_code(code);
    if (!rec)
        return;
    for (int i = 0; i < rec->nsinks; i++) {
        if (rec->sinks[i].client == client) {
            rec->sinks[i] = rec->sinks[rec->nsinks - 1];
            rec->nsinks--;
            break;
        }
    }
    assert(code_ok(rec));
    /* Shadow stacks may still point at client: it calls engine_invalidate()
     * before it dies. */
}

void engine_set_line_switch(void (*lines)(int on))
{
    line_switch = lines;
}

static inline void switch_lines(int on)
{
    if (line_switch)
        line_switch(on);
}

/* When the OS is asked again (see docs/performance.md).  RSS grows when
 * the heap reaches memory it has not used before, and shrinks when big
 * blocks go back to the OS; reused memory does not move it.  So RSS is read
 * again once this thread's heap has risen (at any moment of the interval:
 * the window's high-water mark) or fallen by LEVEL_LIMIT since its last
 * reading, and after any interval in which native code allocated or freed:
 * native code also faults in pages it never allocates (its own code and
 * data, a library's first use), which no counter sees.  Large native
 * blocks that the OS backs only as they are written keep RSS read at every
 * event until it has risen by as much (LAZY_READS_MAX).  Anything else
 * that moves RSS (pages touched without allocating, other threads) is
 * caught by the age limit: a reading older than AGE_LIMIT is refreshed, the
 * clock being looked at once every CLOCK_EVERY events. */
#define LEVEL_LIMIT (16 * 1024)
#define AGE_LIMIT_NS (50 * 1000 * 1000)
#define CLOCK_EVERY 64
/* Large native blocks may be backed by pages only as they are written
 * (ml_count.lazy): until RSS has risen by as much, RSS is read at every
 * event, so the pages are charged to the line that touched them.  After
 * this many readings in a row with no rise the rest is taken as never
 * touched (an np.empty kept for later) and the rule goes back to normal. */
#define LAZY_READS_MAX 2000

static int64_t cached[MEMSRC_KIND_COUNT]; /* the last OS reading of each kind, any thread's */
static int64_t cache_time_ns; /* when the last one was taken */

static memsrc *script;            /* tests: the source every reading comes from */
static const int64_t *script_clock;

void engine_use_script(memsrc *src, const int64_t *clock_ns)
{
    script = src;
    script_clock = clock_ns;
    for (int k = 0; k < MEMSRC_KIND_COUNT; k++)
        cached[k] = last_good[k] = 0;
    engine_invalidate();
}

static int64_t coarse_now_ns(void)
{
    if (script_clock)
        return *script_clock;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Makes the calling thread's next reading go to the OS. */
static void forget_reading(void)
{
    tl_window.hi = INT64_MIN;
}

/* Pages of large native blocks not yet backed (ml_count.lazy): RSS rising
 * by v's rise pays them off; while enough remain, the window is closed so
 * the next event reads again.  Out of line: rare. */
__attribute__((noinline)) static void track_lazy(read_window *w, memcount *c, int64_t v)
{
    int64_t rise = w->last ? v - w->last : 0;
    if (rise > 0) {
        c->lazy = rise >= c->lazy ? 0 : c->lazy - rise;
        w->forced = 0;
    } else if (++w->forced > LAZY_READS_MAX) {
        c->lazy = 0;
        w->forced = 0;
    }
    if (c->lazy > LEVEL_LIMIT)
        w->hi = INT64_MIN;
    else
        c->lazy = 0;
}

/* The OS reading, refreshing the cache and this thread's bounds.  Out of
 * line: the common case is read_mem's cache hit. */
__attribute__((noinline)) static int64_t read_os(const ml_probe *probe)
{
    int k = probe->kind;
    if (!script && !sources[k] && memsrc_open(&sources[k], 0, probe->kind) != ML_OK)
        return last_good[k];
    int64_t v;
    if (memsrc_read(script ? script : sources[k], &v) != ML_OK)
        return last_good[k];
    last_good[k] = v;
    if (probe->children && !script) {
        int64_t kids;
        if (memsrc_descendants_bytes(0, probe->kind, &kids) == ML_OK)
            v += kids;
        return v; /* children move without our heap counters knowing: never cached */
    }
    cached[k] = v;
    cache_time_ns = coarse_now_ns();
    read_window *w = &tl_window;
    memcount *c = &ml_count;
    w->hi = c->cur + LEVEL_LIMIT;
    w->lo = c->cur - LEVEL_LIMIT;
    w->native = c->native;
    w->kind = k;
    w->countdown = CLOCK_EVERY;
    if (__builtin_expect(c->lazy > 0, 0))
        track_lazy(w, c, v);
    w->last = v;
    return v;
}

/* The cached reading has lasted CLOCK_EVERY events: still fresh? */
__attribute__((noinline)) static int64_t read_aged(const ml_probe *probe)
{
    if (coarse_now_ns() - cache_time_ns < AGE_LIMIT_NS) {
        tl_window.countdown = CLOCK_EVERY;
        return cached[probe->kind];
    }
    return read_os(probe);
}

static inline int64_t read_mem(const ml_probe *probe)
{
    const memcount *h = &ml_count;
    if (__builtin_expect(probe->cached, 1)) {
        read_window *w = &tl_window;
        if (h->max < w->hi && h->cur > w->lo && h->native == w->native &&
            w->kind == (int)probe->kind)
            return --w->countdown > 0 ? cached[probe->kind] : read_aged(probe);
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

void engine_client_gone(engine_client *client)
{
    if (client->frames_gen == engine_gen && client->frames > 0)
        engine_invalidate();
}

/* A frame of c enters or leaves a current shadow stack. */
static inline void client_hold(engine_client *c)
{
    if (c->frames_gen != engine_gen) {
        c->frames_gen = engine_gen;
        c->frames = 0;
    }
    c->frames++;
}

static inline void client_release(engine_client *c)
{
    assert(c->frames_gen == engine_gen && c->frames > 0);
    if (c->frames_gen == engine_gen && c->frames > 0)
        c->frames--;
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
    t->unprofiled = 0;
    ml_count.known = 1; /* it runs Python: its native bytes are its own */
    /* Unbacked pages of blocks from before this session are not its
     * lines' to find (a heap-backend session never reads RSS to pay them
     * off). */
    ml_count.lazy = 0;
    tl_window.forced = 0;
    forget_reading();
    assert(thread_ok(t));
    return t;
}

/* This thread's state if it is current and inside profiled code. */
static inline ml_thread *thread_live(void)
{
    ml_thread *t = tl_thread;
    return t && t->gen == engine_gen && t->depth > 0 ? t : NULL;
}

/* The sink a call of rec charges, or NULL when no client of it is on. */
static ml_sink *active_sink(ml_code *rec)
{
    for (int i = 0; i < rec->nsinks; i++)
        if (rec->sinks[i].client->on)
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
    memcount *h = &ml_count;
    if (h->max > top->exec_max)
        top->exec_max = h->max;
    if (h->native_max > top->exec_native_max)
        top->exec_native_max = h->native_max;
    memcount_reset_max();
}

/* Charges f's open interval, ending now, to f's line.  With end_exec the
 * line's execution ends too and its heap peak is recorded. */
static inline void charge(ml_frame *f, int64_t mem_now, int end_exec)
{
    int64_t heap_now = ml_count.cur, native_now = ml_count.native;
    if (f->exec_max < heap_now)
        f->exec_max = heap_now;
    if (f->exec_native_max < native_now)
        f->exec_native_max = native_now;
    if (f->client->on) {
        linestat *s = row_of(f, f->line);
        if (s) {
            int64_t peak = end_exec ? f->exec_max - f->exec_heap : 0;
            int64_t npeak = end_exec ? f->exec_native_max - f->exec_native : 0;
            linestat_charge(s, mem_now, mem_now - f->ival_mem, heap_now - f->ival_heap,
                            peak < 0 ? 0 : peak);
            linestat_charge_native(s, native_now - f->ival_native, npeak < 0 ? 0 : npeak);
        }
    }
    f->ival_mem = mem_now;
    f->ival_heap = heap_now;
    f->ival_native = native_now;
    if (end_exec) {
        if (f->exec_max > f->frame_max)
            f->frame_max = f->exec_max;
        if (f->exec_native_max > f->frame_native_max)
            f->frame_native_max = f->exec_native_max;
        f->exec_heap = heap_now;
        f->exec_max = heap_now;
        f->exec_native = native_now;
        f->exec_native_max = native_now;
    }
}

static inline void enter_line(ml_frame *f, int line)
{
    f->line = line;
    if (f->client->on) {
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
        engine_on_unprofiled_call();
        return;
    }
    ml_thread *t = thread_get();
    if (!t || (t->depth == t->cap && grow_stack(t) < 0))
        return;
    const ml_probe *probe = &sink->client->probe;
    int64_t now = read_mem(probe);
    if (t->depth > 0) {
        ml_frame *top = &t->stack[t->depth - 1];
        fold_heap(top);
        charge(top, top->probe->kind == probe->kind ? now : read_mem(top->probe), 0);
    }
    ml_frame *f = &t->stack[t->depth++];
    int64_t heap_now = ml_count.cur, native_now = ml_count.native;
    memcount_reset_max();
    f->frame = frame;
    f->client = sink->client;
    client_hold(f->client);
    f->fn = sink->fn;
    f->probe = probe;
    f->unprofiled_saved = t->unprofiled;
    f->ival_mem = now;
    f->ival_heap = heap_now;
    f->exec_heap = heap_now;
    f->exec_max = heap_now;
    f->frame_max = heap_now;
    f->ival_native = f->exec_native = f->exec_native_max = f->frame_native_max = native_now;
    t->unprofiled = 0;
    if (fresh) {
        f->line = rec->firstline;
        if (sink->toplevel)
            enter_line(f, rec->firstline);
    } else {
        f->line = line;
    }
    assert(thread_ok(t));
    switch_lines(1);
}

void engine_on_unprofiled_call(void)
{
    /* The count is for the line switch.  Without one (the gate, whose hook
     * sees every frame while another tool's is linked behind it) events
     * carry their frame, and the lines and returns of unprofiled frames
     * are dropped by identity: a count could be left behind by a tool
     * that takes the hook away inside an unprofiled frame. */
    if (!line_switch)
        return;
    ml_thread *t = thread_live();
    if (t && t->unprofiled++ == 0)
        switch_lines(0);
}

/* Pops the top frame, charging its last interval.  The caller's interval
 * restarts now, and its execution absorbs the popped frame's heap peak. */
static void pop_frame(ml_thread *t)
{
    ml_frame *f = &t->stack[t->depth - 1];
    int64_t now = read_mem(f->probe);
    fold_heap(f);
    charge(f, now, 1);
    t->unprofiled = f->unprofiled_saved;
    client_release(f->client);
    t->depth--;
    if (t->depth > 0) {
        ml_frame *parent = &t->stack[t->depth - 1];
        if (f->frame_max > parent->exec_max)
            parent->exec_max = f->frame_max;
        if (f->frame_native_max > parent->exec_native_max)
            parent->exec_native_max = f->frame_native_max;
        parent->ival_mem = parent->probe->kind == f->probe->kind ? now : read_mem(parent->probe);
        parent->ival_heap = ml_count.cur;
        parent->ival_native = ml_count.native;
    }
    assert(thread_ok(t));
}

void engine_on_return(PyFrameObject *frame)
{
    ml_thread *t = thread_live();
    if (!t)
        return;
    if (t->stack[t->depth - 1].frame == frame) {
        pop_frame(t);
    } else if (t->unprofiled > 0) {
        if (--t->unprofiled > 0)
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
    switch_lines(t->depth > 0 && t->unprofiled == 0);
}

/* The hot path: a line event of the innermost profiled frame.  It does what
 * fold_heap, charge(f, now, 1) and enter_line do, in one pass.  A line that
 * starts again right after itself (a loop on one line; on 3.12+ an inlined
 * comprehension) counts a new occurrence but continues the same execution,
 * so its heap peak spans the whole loop. */
void engine_on_line(PyFrameObject *frame, int line)
{
    ml_thread *t = tl_thread;
    if (!t || t->gen != engine_gen || t->depth == 0 || t->unprofiled > 0)
        return;
    ml_frame *f = &t->stack[t->depth - 1];
    if (f->frame != frame)
        return;
    int64_t now = read_mem(f->probe);
    memcount *h = &ml_count;
    int64_t heap_now = h->cur, native_now = h->native;
    /* max >= cur always, so these are also >= heap_now and native_now. */
    int64_t exec_peak = h->max > f->exec_max ? h->max : f->exec_max;
    int64_t native_peak = h->native_max > f->exec_native_max ? h->native_max : f->exec_native_max;
    h->max = heap_now;
    h->native_max = native_now;
    int same_line = line == f->line;
    engine_client *c = f->client;
    if (c->on) {
        linestat *s = row_of(f, f->line);
        if (s) {
            linestat_charge(s, now, now - f->ival_mem, heap_now - f->ival_heap,
                            same_line ? 0 : exec_peak - f->exec_heap);
            linestat_charge_native(s, native_now - f->ival_native,
                                   same_line ? 0 : native_peak - f->exec_native);
        }
        s = row_of(f, line);
        if (s)
            s->occurrences++;
    }
    f->ival_mem = now;
    f->ival_heap = heap_now;
    f->ival_native = native_now;
    if (same_line) {
        f->exec_max = exec_peak;
        f->exec_native_max = native_peak;
    } else {
        if (exec_peak > f->frame_max)
            f->frame_max = exec_peak;
        if (native_peak > f->frame_native_max)
            f->frame_native_max = native_peak;
        f->exec_heap = heap_now;
        f->exec_max = heap_now;
        f->exec_native = native_now;
        f->exec_native_max = native_now;
        f->line = line;
    }
    if (c->limit > 0 && now >= c->limit && c->on && c->on_limit)
        c->on_limit(c, now, frame);
}

void engine_mark_lost(PyObject *tool)
{
    ml_thread *t = thread_live();
    if (!t)
        return;
    linefunc *fn = t->stack[t->depth - 1].fn;
    if (fn->incomplete)
        return;
    fn->incomplete = 1;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PySys_FormatStderr("memline: warning: another tool (%R) took the trace hook away inside "
                       "%s (%s); memline has it back, but lines ran unseen: the report marks "
                       "%s incomplete\n",
                       tool ? tool : Py_None, fn->name, fn->filename, fn->name);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
}

unsigned engine_depth(void)
{
    ml_thread *t = tl_thread;
    return t && t->gen == engine_gen ? t->depth : 0;
}

unsigned engine_unwind(unsigned depth)
{
    ml_thread *t = thread_live();
    unsigned popped = 0;
    while (t && t->depth > depth) {
        pop_frame(t);
        popped++;
    }
    if (popped)
        switch_lines(t->depth > 0 && t->unprofiled == 0);
    return popped;
}

/* ---- greenlets: shadow stacks set aside ---- */

struct engine_stack {
    ml_thread t; /* the contents of a thread's state; gen as it was */
};

engine_stack *engine_stack_new(void)
{
    return ml_calloc(1, sizeof(engine_stack));
}

void engine_stack_free(engine_stack *s)
{
    if (!s)
        return;
    ml_free(s->t.stack);
    ml_free(s);
}

void engine_stack_save(engine_stack *out)
{
    ml_thread *t = tl_thread;
    assert(out->t.stack == NULL && out->t.depth == 0);
    if (!t)
        return;
    if (t->gen == engine_gen && t->depth > 0) {
        ml_frame *top = &t->stack[t->depth - 1];
        fold_heap(top);
        charge(top, read_mem(top->probe), 0);
    }
    out->t = *t;
    t->stack = NULL;
    t->cap = t->depth = t->unprofiled = 0;
}

void engine_stack_load(engine_stack *in)
{
    ml_thread *t = tl_thread;
    if (!t) {
        t = ml_calloc(1, sizeof *t);
        if (!t)
            return; /* in keeps its frames */
        tl_thread = t;
        pthread_setspecific(thread_key, t);
    }
    ml_free(t->stack); /* an empty one, from thread_get or the last save */
    *t = in->t;
    in->t.stack = NULL;
    in->t.cap = in->t.depth = in->t.unprofiled = 0;
    /* The reading cached for the other greenlet's counters does not fit. */
    forget_reading();
    if (t->gen == engine_gen && t->depth > 0) {
        ml_frame *top = &t->stack[t->depth - 1];
        top->ival_mem = read_mem(top->probe);
        top->ival_heap = ml_count.cur;
        top->ival_native = ml_count.native;
        memcount_reset_max();
        if (top->exec_max < ml_count.cur)
            top->exec_max = ml_count.cur;
        if (top->exec_native_max < ml_count.native)
            top->exec_native_max = ml_count.native;
    }
    /* The thread's hooks follow the greenlet that runs (the legacy mode's
     * line switch; the gate is told by the tracer). */
    switch_lines(t->gen == engine_gen && t->depth > 0 && t->unprofiled == 0);
    assert(t->gen != engine_gen || thread_ok(t));
}
