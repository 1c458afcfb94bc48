/* memcount: the byte counters memline's allocator hooks write and its
 * engine reads.
 *
 * Each thread has its own counters (ml_count); threads the engine does not
 * trace (BLAS/OpenMP pools, a library's own C threads) add to one shared
 * bucket instead, which the profiler reports apart from any Python line.
 * The hooks run on every allocation in the process, so everything on the
 * add path is inline, lock-free, makes no call and no syscall. */
#ifndef ML_MEMCOUNT_H
#define ML_MEMCOUNT_H

#include <stdatomic.h>
#include <stdint.h>

/* One thread's counters.
 * Invariants: only the owning thread reads or writes them, so they need no
 * atomics; native is the part of cur that the native hooks added (the
 * Python allocator hooks add the rest); max >= cur and native_max >= native
 * after every add (the engine lowers them back when it has looked); inside
 * is a nesting depth that the Python allocator hooks keep balanced; known
 * is 0 or 1, set by the Python allocator hooks (the thread runs Python) and
 * by the engine; lazy >= 0. */
typedef struct memcount {
    int64_t cur;        /* net bytes this thread allocated (Python + native) while hooks are in */
    int64_t max;        /* highest cur since the engine last looked (reset by the engine) */
    int64_t native;     /* the native part of cur */
    int64_t native_max; /* highest native since the engine last looked */
    /* Bytes of large native blocks that the OS may not have backed with
     * pages yet (a fresh mmap is resident only where written): the engine
     * reads RSS at every event while this is large, so pages touched later
     * are charged to the line that touched them, and lowers it as RSS
     * rises (engine.c, the RSS rule). */
    int64_t lazy;
    unsigned inside;    /* > 0 while inside a Python allocator hook: native hooks must not count */
    unsigned known;     /* the thread runs Python: its native bytes are its own, not the bucket's */
    /* Arenas Python's object allocator mapped or unmapped on this thread,
     * counted by the hooks: RSS moves by up to an arena at once while the
     * heap counter moves by one block (the engine reads RSS again). */
    unsigned maps;
} memcount;

/* Native blocks at least this big may be backed lazily (glibc serves them
 * with mmap from 128 KiB up). */
#define MEMCOUNT_LAZY_MIN ((int64_t)128 * 1024)

/* initial-exec because the general-dynamic model makes the first access
 * from a thread call __tls_get_addr, which may malloc: from inside a malloc
 * hook that recursion never ends.  The price is a few bytes of glibc's
 * static TLS surplus when the library is dlopen'ed (see NOTES.md). */
extern __thread memcount ml_count __attribute__((tls_model("initial-exec")));

/* The bucket of threads that are not known.
 * Invariant: max >= every value cur has had since the last reset of max
 * (each add that raises cur raises max with a CAS loop). */
typedef struct memcount_bucket {
    _Atomic int64_t cur;
    _Atomic int64_t max;
} memcount_bucket;

extern memcount_bucket ml_foreign;

/* While a watch is on (memcount_watch_begin), every byte counted on any
 * thread, Python or native, known thread or not, is also added to one
 * process-wide total: the heap of the whole process, for limits over every
 * thread (the pytest plugin).  Off, it costs each add one relaxed load. */
extern _Atomic int ml_watching;
extern memcount_bucket ml_total;

static inline void memcount_bucket_add(memcount_bucket *b, int64_t delta)
{
    /* Relaxed: the bucket orders nothing else; the value fetch_add returns is
     * exact at that instant, which is all the high-water mark needs. */
    int64_t now = atomic_fetch_add_explicit(&b->cur, delta, memory_order_relaxed) + delta;
    if (delta <= 0)
        return;
    int64_t m = atomic_load_explicit(&b->max, memory_order_relaxed);
    while (now > m && !atomic_compare_exchange_weak_explicit(
                          &b->max, &m, now, memory_order_relaxed, memory_order_relaxed)) {
    }
}

static inline void memcount_watch_add(int64_t delta)
{
    if (__builtin_expect(atomic_load_explicit(&ml_watching, memory_order_relaxed), 0))
        memcount_bucket_add(&ml_total, delta);
}

/* Adds delta bytes of native memory for the calling thread. */
static inline void memcount_add_native(int64_t delta)
{
    memcount *c = &ml_count;
    memcount_watch_add(delta);
    if (!c->known) {
        memcount_bucket_add(&ml_foreign, delta);
        return;
    }
    c->cur += delta;
    c->native += delta;
    if (c->cur > c->max)
        c->max = c->cur;
    if (c->native > c->native_max)
        c->native_max = c->native;
    if (delta >= MEMCOUNT_LAZY_MIN)
        c->lazy += delta;
}

/* Adds delta bytes allocated by the Python allocators (for the Python
 * allocator hooks in the binding).  Only Python threads allocate there, so
 * the thread is known from now on. */
static inline void memcount_add_python(int64_t delta)
{
    memcount *c = &ml_count;
    memcount_watch_add(delta);
    c->known = 1;
    c->cur += delta;
    if (c->cur > c->max)
        c->max = c->cur;
}

/* The engine's side: it has looked at this thread's high-water marks. */
static inline void memcount_reset_max(void)
{
    ml_count.max = ml_count.cur;
    ml_count.native_max = ml_count.native;
}

int64_t memcount_foreign_cur(void);
int64_t memcount_foreign_max(void);

/* Returns the bucket's high-water mark and lowers it to the current value,
 * so the next call reports the peak since this one. */
int64_t memcount_foreign_take_max(void);

/* Starts a watch (nested watches share it): from now on ml_total follows
 * every thread's counted bytes; returns its current level, from which the
 * caller measures.  memcount_watch_end stops the last watch. */
int64_t memcount_watch_begin(void);
void memcount_watch_end(void);

/* The total's level now, and its high-water mark since the last take
 * (lowered to the level, as memcount_foreign_take_max). */
int64_t memcount_total_cur(void);
int64_t memcount_total_take_max(void);

/* Invariant checker for assert(): nonzero when c is consistent. */
int memcount_ok(const memcount *c);

#endif
