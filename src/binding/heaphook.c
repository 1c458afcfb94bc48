/* heaphook: the allocator hooks. */
#include "heaphook.h"

#include "compat.h"
#include "core/mlerr.h"
#include "core/ptrtab.h"

#include <malloc.h>
#include <pthread.h>
#include <string.h>

/* pymalloc's pool header, as CPython 3.8-3.13 lay it out (Objects/obmalloc.c).
 * Only szidx is read.  heaphook_init checks the layout against real blocks
 * and turns accounting off if it does not match. */
struct ml_pool_header {
    union {
        void *padding;
        unsigned count;
    } ref;
    void *freeblock;
    void *nextpool;
    void *prevpool;
    unsigned arenaindex;
    unsigned szidx;
};

#define ALIGNMENT_SHIFT 4
#define SMALL_MAX 512


typedef enum { MODE_OFF, MODE_PYMALLOC, MODE_MALLOC } hook_mode;

static hook_mode mode = MODE_OFF;
static const char *unavailable_why = "heap accounting was not initialised";
static int installed;
/* Which of our hooks are in their allocator chain.  A hook that another
 * tool (tracemalloc, say) has wrapped cannot be taken out without breaking
 * that tool's chain: it stays, keeps chaining and counting, and is not
 * installed a second time; once the tool restores it, removal works again. */
enum { HOOK_RAW, HOOK_MEM, HOOK_OBJ, HOOK_ARENA, HOOK_COUNT };
static int in_chain[HOOK_COUNT];


static PyMemAllocatorEx saved_raw, saved_mem, saved_obj;
static PyMemAllocatorEx hook_raw, hook_mem, hook_obj;
static PyObjectArenaAllocator saved_arena, hook_arena;

/* The pointer table and its lock.  Lock rule: table is only read or written
 * with table_lock held; nothing is called with it held but ptrtab itself. */
static ptrtab *table;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* What nested calls told the outer hook of the same thread. */
typedef struct hook_tls {
    void *raw_last;      /* block a nested raw malloc/calloc/realloc returned */
    void *raw_src;       /* block a nested raw realloc consumed */
    void *raw_freed;     /* block a nested raw free released */
    void *pending;       /* small block being freed by an outer hook */
    size_t pending_size; /* its size, if read before its arena went away */
} hook_tls;

static __thread hook_tls tls __attribute__((tls_model("initial-exec")));

static inline void account(int64_t delta)
{
    memcount_add_python(delta);
}

/* A large block may get its pages only as they are written (a fresh
 * mmap): the engine's RSS rule follows such blocks (ml_count.lazy). */
static inline void account_big(int64_t delta)
{
    account(delta);
    if (delta >= MEMCOUNT_LAZY_MIN)
        ml_count.lazy += delta;
}

/* Around every call from a Python hook into the memory below it (libc
 * malloc, pymalloc's arena mmap): the native hooks must leave those bytes
 * to us. */
#define BELOW(call)           \
    do {                      \
        ml_count.inside++;    \
        call;                 \
        ml_count.inside--;    \
    } while (0)

static inline size_t class_size(size_t n)
{
    return ((n - 1) | ((1u << ALIGNMENT_SHIFT) - 1)) + 1;
}

static inline size_t pool_block_size(const void *p)
{
    const struct ml_pool_header *pool =
        (const struct ml_pool_header *)((uintptr_t)p & ~(compat_pymalloc_pool_size() - 1));
    return ((size_t)pool->szidx + 1) << ALIGNMENT_SHIFT;
}

/* ---- large blocks: requested sizes in the table ---- */

static void table_put(void *p, size_t n)
{
    pthread_mutex_lock(&table_lock);
    if (table)
        ptrtab_put(table, p, n); /* on ENOMEM the free falls back to usable size */
    pthread_mutex_unlock(&table_lock);
}

/* The size a free of p must subtract, and p's entry removed. */
static size_t table_take(void *p)
{
    size_t n = 0;
    int found = 0;
    pthread_mutex_lock(&table_lock);
    if (table)
        found = ptrtab_take(table, p, &n);
    pthread_mutex_unlock(&table_lock);
    return found ? n : malloc_usable_size(p);
}

static void *big_malloc(PyMemAllocatorEx *a, size_t n)
{
    void *p;
    BELOW(p = a->malloc(a->ctx, n));
    if (p) {
        table_put(p, n);
        account_big((int64_t)n);
        tls.raw_last = p;
    }
    return p;
}

static void *big_calloc(PyMemAllocatorEx *a, size_t nelem, size_t elsize)
{
    void *p;
    BELOW(p = a->calloc(a->ctx, nelem, elsize));
    if (p) {
        size_t n = nelem * elsize; /* the allocator checked for overflow */
        table_put(p, n);
        account_big((int64_t)n);
        tls.raw_last = p;
    }
    return p;
}

static void *big_realloc(PyMemAllocatorEx *a, void *p, size_t n)
{
    /* Take p's entry before the call: once realloc returns, another thread
     * may be given p's address and record it. */
    size_t old = p ? table_take(p) : 0;
    void *q;
    BELOW(q = a->realloc(a->ctx, p, n));
    if (!q) {
        if (p)
            table_put(p, old);
        return NULL;
    }
    table_put(q, n);
    account_big((int64_t)n - (int64_t)old);
    tls.raw_last = q;
    tls.raw_src = p;
    return q;
}

static void big_free(PyMemAllocatorEx *a, void *p)
{
    if (p) {
        account(-(int64_t)table_take(p));
        tls.raw_freed = p;
    }
    BELOW(a->free(a->ctx, p));
}

static void *raw_malloc(void *ctx, size_t n) { return big_malloc(ctx, n); }
static void *raw_calloc(void *ctx, size_t ne, size_t es) { return big_calloc(ctx, ne, es); }
static void *raw_realloc(void *ctx, void *p, size_t n) { return big_realloc(ctx, p, n); }
static void raw_free(void *ctx, void *p) { big_free(ctx, p); }

/* ---- pymalloc domains (MEM, OBJ) ----
 * pymalloc serves requests of 1..512 bytes from its pools and hands larger
 * ones (and 0) to PyMem_RawMalloc, i.e. to raw_malloc above, which counts
 * them.  A block is small exactly when no nested raw call returned it. */

static void *py_malloc(void *ctx, size_t n)
{
    PyMemAllocatorEx *a = ctx;
    tls.raw_last = NULL;
    void *p = a->malloc(a->ctx, n);
    if (p && p != tls.raw_last)
        account((int64_t)class_size(n));
    return p;
}

static void *py_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *a = ctx;
    tls.raw_last = NULL;
    void *p = a->calloc(a->ctx, nelem, elsize);
    if (p && p != tls.raw_last)
        account((int64_t)class_size(nelem * elsize));
    return p;
}

/* Size of the small block p, which pymalloc just released: from the copy the
 * arena hook took if p's arena went away meanwhile, else from p's pool.
 * tls.pending is left as it is: every free and realloc sets it before
 * pymalloc can free an arena, so a stale value is never compared. */
static inline size_t released_small_size(void *p)
{
    size_t copied = tls.pending_size;
    if (__builtin_expect(copied != 0, 0)) {
        tls.pending_size = 0;
        return copied;
    }
    return pool_block_size(p);
}

static void *py_realloc(void *ctx, void *p, size_t n)
{
    PyMemAllocatorEx *a = ctx;
    tls.raw_last = tls.raw_src = tls.raw_freed = NULL;
    tls.pending = p;
    void *q = a->realloc(a->ctx, p, n);
    if (!q) {
        tls.pending_size = 0;
        return NULL;
    }
    int p_big = p && (tls.raw_src == p || tls.raw_freed == p);
    int q_big = tls.raw_last == q;
    if (p && !p_big) {
        if (q == p) {
            tls.pending_size = 0;
            return q; /* resized inside its size class: the same block */
        }
        account(-(int64_t)released_small_size(p));
    }
    if (!q_big)
        account((int64_t)class_size(n));
    return q;
}

static void py_free(void *ctx, void *p)
{
    PyMemAllocatorEx *a = ctx;
    if (!p) {
        a->free(a->ctx, p);
        return;
    }
    tls.raw_freed = NULL;
    tls.pending = p;
    a->free(a->ctx, p);
    if (tls.raw_freed != p)
        account(-(int64_t)released_small_size(p));
    else
        tls.pending_size = 0;
}

/* pymalloc frees an arena only from inside a free of its last block: read
 * that block's size class while its pool is still mapped. */
static void arena_free(void *ctx, void *ptr, size_t size)
{
    PyObjectArenaAllocator *a = ctx;
    uintptr_t pending = (uintptr_t)tls.pending;
    if (pending && pending >= (uintptr_t)ptr && pending < (uintptr_t)ptr + size)
        tls.pending_size = pool_block_size(tls.pending);
    BELOW(a->free(a->ctx, ptr, size));
    ml_count.maps++;
}

static void *arena_alloc(void *ctx, size_t size)
{
    PyObjectArenaAllocator *a = ctx;
    void *p;
    BELOW(p = a->alloc(a->ctx, size));
    ml_count.maps++;
    return p;
}

/* ---- malloc mode (PYTHONMALLOC=malloc): every domain is libc malloc ---- */

static void *all_malloc(void *ctx, size_t n) { return big_malloc(ctx, n); }
static void *all_calloc(void *ctx, size_t ne, size_t es) { return big_calloc(ctx, ne, es); }
static void *all_realloc(void *ctx, void *p, size_t n) { return big_realloc(ctx, p, n); }
static void all_free(void *ctx, void *p) { big_free(ctx, p); }

/* ---- setup ---- */

static void atfork_prepare(void) { pthread_mutex_lock(&table_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&table_lock); }
static void atfork_child(void) { pthread_mutex_init(&table_lock, NULL); }

/* Checks the pool-header layout against blocks whose class is known. */
static int pool_layout_ok(void)
{
    static const size_t sizes[] = {1, 16, 17, 24, 100, 333, 500, 512};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = PyObject_Malloc(sizes[i]);
        if (!p)
            return 0;
        size_t got = pool_block_size(p);
        PyObject_Free(p);
        if (got != class_size(sizes[i]))
            return 0;
    }
    return 1;
}

int heaphook_init(void)
{
    const char *name = compat_allocator_name();
    if (name && strcmp(name, "pymalloc") == 0) {
        mode = pool_layout_ok() ? MODE_PYMALLOC : MODE_OFF;
        unavailable_why = "pymalloc's pool layout is not the one memline knows";
    } else if (name && strcmp(name, "malloc") == 0) {
        mode = MODE_MALLOC;
    } else {
        mode = MODE_OFF;
        unavailable_why = "Python's allocator is replaced (debug hooks, tracemalloc or "
                          "a custom allocator), so block sizes cannot be known";
    }
    if (mode != MODE_OFF)
        unavailable_why = NULL;
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    return 0;
}

const char *heaphook_unavailable(void)
{
    return unavailable_why;
}

int heaphook_active(void)
{
    return installed || in_chain[HOOK_RAW] || in_chain[HOOK_MEM] || in_chain[HOOK_OBJ];
}

static void make_hook(PyMemAllocatorEx *hook, PyMemAllocatorEx *saved, int pymalloc)
{
    hook->ctx = saved;
    hook->malloc = pymalloc ? py_malloc : all_malloc;
    hook->calloc = pymalloc ? py_calloc : all_calloc;
    hook->realloc = pymalloc ? py_realloc : all_realloc;
    hook->free = pymalloc ? py_free : all_free;
}

static void install_domain(int which, PyMemAllocatorDomain domain, PyMemAllocatorEx *hook,
                           PyMemAllocatorEx *saved)
{
    if (in_chain[which])
        return;
    PyMem_GetAllocator(domain, saved);
    PyMem_SetAllocator(domain, hook);
    in_chain[which] = 1;
}

int heaphook_install(void)
{
    if (installed || mode == MODE_OFF)
        return 0;
    if (!table) {
        table = ptrtab_new();
        if (!table) {
            PyErr_NoMemory();
            return -1;
        }
    }
    /* Entries from an earlier installation describe blocks whose frees were
     * not seen; they would be wrong now. */
    pthread_mutex_lock(&table_lock);
    ptrtab_clear(table);
    pthread_mutex_unlock(&table_lock);

    int pymalloc = mode == MODE_PYMALLOC;
    hook_raw.ctx = &saved_raw;
    hook_raw.malloc = raw_malloc;
    hook_raw.calloc = raw_calloc;
    hook_raw.realloc = raw_realloc;
    hook_raw.free = raw_free;
    make_hook(&hook_mem, &saved_mem, pymalloc);
    make_hook(&hook_obj, &saved_obj, pymalloc);
    if (pymalloc && !in_chain[HOOK_ARENA]) {
        PyObject_GetArenaAllocator(&saved_arena);
        hook_arena.ctx = &saved_arena;
        hook_arena.alloc = arena_alloc;
        hook_arena.free = arena_free;
        PyObject_SetArenaAllocator(&hook_arena);
        in_chain[HOOK_ARENA] = 1;
    }
    install_domain(HOOK_RAW, PYMEM_DOMAIN_RAW, &hook_raw, &saved_raw);
    install_domain(HOOK_MEM, PYMEM_DOMAIN_MEM, &hook_mem, &saved_mem);
    install_domain(HOOK_OBJ, PYMEM_DOMAIN_OBJ, &hook_obj, &saved_obj);
    installed = 1;
    return 0;
}

/* Puts saved back in domain if hook is still the allocator there. */
static void restore(int which, PyMemAllocatorDomain domain, PyMemAllocatorEx *hook,
                    PyMemAllocatorEx *saved)
{
    if (!in_chain[which])
        return;
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(domain, &cur);
    if (cur.malloc == hook->malloc && cur.ctx == hook->ctx) {
        PyMem_SetAllocator(domain, saved);
        in_chain[which] = 0;
    }
}

void heaphook_remove(void)
{
    if (!installed)
        return;
    restore(HOOK_OBJ, PYMEM_DOMAIN_OBJ, &hook_obj, &saved_obj);
    restore(HOOK_MEM, PYMEM_DOMAIN_MEM, &hook_mem, &saved_mem);
    restore(HOOK_RAW, PYMEM_DOMAIN_RAW, &hook_raw, &saved_raw);
    /* A MEM or OBJ hook left in a chain still reads pool headers at each
     * free, and needs the arena hook to copy a header before its arena is
     * unmapped: the arena hook goes only with the last of them. */
    if (in_chain[HOOK_ARENA] && !in_chain[HOOK_MEM] && !in_chain[HOOK_OBJ]) {
        PyObjectArenaAllocator cur;
        PyObject_GetArenaAllocator(&cur);
        if (cur.free == hook_arena.free && cur.ctx == hook_arena.ctx) {
            PyObject_SetArenaAllocator(&saved_arena);
            in_chain[HOOK_ARENA] = 0;
        }
    }
    installed = 0;
}

int64_t heaphook_counted_bytes(size_t n)
{
    if (!in_chain[HOOK_OBJ])
        return 0;
    if (mode == MODE_PYMALLOC)
        return n <= SMALL_MAX && n > 0 ? (int64_t)class_size(n) : (int64_t)n;
    return (int64_t)n;
}

size_t heaphook_footprint(void)
{
    pthread_mutex_lock(&table_lock);
    size_t n = table ? ptrtab_footprint(table) : 0;
    pthread_mutex_unlock(&table_lock);
    return n;
}
