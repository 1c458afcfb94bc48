/* heaphook: exact Python-heap accounting through PyMem_SetAllocator.
 *
 * Hooks on the RAW, MEM and OBJ domains (and pymalloc's arena allocator)
 * chain to the allocators they replace and add each block's size to the
 * calling thread's counter (ml_count, below).  Sizes:
 *   - blocks of 512 bytes or less, which pymalloc serves from its pools,
 *     count as their size class (the request rounded up to 16 bytes), read
 *     from the pool header once pymalloc has shown it owned the block;
 *   - larger blocks count as the size requested, kept in a pointer table;
 *     a free of a large block allocated before the hooks went in subtracts
 *     its real size, malloc_usable_size().
 * So a block allocated before profiling began and freed during it counts as
 * a decrease, and counts never go through a guessed size.
 *
 * The RAW domain runs without the GIL: the hooks touch only thread-local
 * state, except the pointer table, which has its own lock.  They never call
 * Python and never allocate through the allocators they hook. */
#ifndef ML_HEAPHOOK_H
#define ML_HEAPHOOK_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "core/memcount.h"

#include <stdint.h>

/* The hooks add to the calling thread's counters in the core's memcount
 * (ml_count: net bytes and high-water mark, Python and native together),
 * which the engine reads at events.  The native allocator hooks
 * (core/nativehook.h) add to the same counters; while a Python hook runs,
 * ml_count.inside tells them the bytes are Python's, so nothing counts
 * twice. */

/* Takes bytes out of the calling thread's heap, for an allocation that is
 * not the program's and is about to be freed (sys.monitoring's argument
 * ints): the engine must not see it.  The high-water mark is lowered only
 * when that allocation was its top.  heaphook_unhide puts it back just
 * before the free takes it off. */
static inline void heaphook_hide(int64_t bytes)
{
    memcount *h = &ml_count;
    if (h->max == h->cur)
        h->max -= bytes;
    h->cur -= bytes;
}

static inline void heaphook_unhide(int64_t bytes)
{
    ml_count.cur += bytes;
}

/* The calling thread's counters, copied whole, and put back: for what
 * runs on the thread but is no line's (another tool's hook, which memline
 * forwards events to), and for greenlets, each of which keeps its own
 * counters while the others run on the thread. */
static inline void heaphook_save(memcount *out)
{
    *out = ml_count;
}

static inline void heaphook_restore(const memcount *in)
{
    ml_count = *in;
}

/* Works out whether this interpreter's allocators can be accounted (plain
 * pymalloc or malloc; not debug hooks, not a foreign allocator).  Returns 0,
 * or -1 with an exception set.  Called once, from module init. */
int heaphook_init(void);

/* NULL when accounting works here, else a sentence saying why not. */
const char *heaphook_unavailable(void);

/* Installs the hooks; a no-op when they are in, or when unavailable.
 * Returns 0, or -1 with MemoryError set. */
int heaphook_install(void);

/* Restores the saved allocators, when ours are still the current ones.
 * Cannot fail. */
void heaphook_remove(void);

/* Whether the hooks are in. */
int heaphook_active(void);

/* What the hooks count for an object allocation of n bytes made now: its
 * size class under pymalloc, n under malloc, 0 while no hook is in. */
int64_t heaphook_counted_bytes(size_t n);

/* Bytes of memline's own bookkeeping (the pointer table). */
size_t heaphook_footprint(void);

#endif
