/* nativehook: the hook functions, the real functions they call, and the
 * install/remove protocol around symhook.  See nativehook.h for the
 * interface and NOTES.md for the decisions.
 *
 * The hot path (every malloc/free in the process) reads three words -- the
 * global "on" flag, this thread's reentrancy guard and ml_count.inside --,
 * calls the real function and malloc_usable_size, and adds to a counter.
 * No lock, no syscall, no allocation.  mmap/munmap/mremap take anonmap's
 * lock; dlopen/dlclose take nh_lock after the real call to patch new
 * objects. */
#include "nativehook.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "anonmap.h"
#include "dlsearch.h"
#include "memcount.h"
#include "mlalloc.h"
#include "mlerr.h"
#include "symhook.h"

/* The functions the hooks forward to.  Written once, by the first install
 * that resolves them, before any slot is patched, and never again: a thread
 * may still be running a hook long after remove, and it must find the same
 * valid pointers.  Optional ones (reallocarray, ...) may be NULL, and then
 * are not hooked either. */
static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    void *(*mmap64)(void *, size_t, int, int, int, off64_t);
    int (*munmap)(void *, size_t);
    void *(*mremap)(void *, size_t, size_t, int, ...);
    void *(*dlopen)(const char *, int);
    int (*dlclose)(void *);
    void *(*dlmopen)(Lmid_t, const char *, int);
    size_t (*usable)(void *);
} nh_real;

static _Atomic int nh_resolved; /* nh_real is filled in (release/acquire) */
static _Atomic int nh_on;       /* installed: hooks count */
static _Atomic int nh_paused;   /* installed but not counting (nativehook_pause) */
static uintptr_t nh_page;       /* set with nh_real */

/* Serializes install, remove, refresh and the dlopen/dlclose rescans.
 * Never held while calling dlsym/dladdr/dlinfo/dlopen: a thread inside
 * dlopen (holding the loader's lock) may be waiting for it. */
static pthread_mutex_t nh_lock = PTHREAD_MUTEX_INITIALIZER;
static symhook_set *nh_set;              /* the last install's set; under nh_lock */
static char **nh_skipv;                  /* its skip list, owned; under nh_lock */
static char nh_foreign_path[PATH_MAX];   /* under nh_lock */
static _Atomic int nh_has_foreign;

/* > 0 while this thread runs memline's own code that may allocate through
 * the C library (dlsym, dlerror, the scans): nothing counts meanwhile.
 * initial-exec for the same reason as ml_count. */
static __thread unsigned nh_guard __attribute__((tls_model("initial-exec")));

static pthread_once_t nh_once = PTHREAD_ONCE_INIT;
static int nh_atfork_rc = ML_OK;

static inline int nh_counting(void)
{
    return atomic_load_explicit(&nh_on, memory_order_relaxed) && !nh_guard && !ml_count.inside &&
           !atomic_load_explicit(&nh_paused, memory_order_relaxed);
}

static inline int64_t nh_usable(void *p)
{
    return (int64_t)nh_real.usable(p);
}

static inline size_t nh_round(size_t len)
{
    return (len + nh_page - 1) & ~(nh_page - 1);
}

/* ---- the malloc family ------------------------------------------------ */

/* Every counting hook holds the guard across its real call: the real
 * function may itself call hooked functions through the C library's patched
 * slots (glibc's reallocarray calls realloc that way), and those must not
 * count a second time -- nor, for munmap, take the table lock again. */
static void *nh_malloc(size_t n)
{
    if (!nh_counting())
        return nh_real.malloc(n);
    nh_guard++;
    void *p = nh_real.malloc(n);
    nh_guard--;
    if (p)
        memcount_add_native(nh_usable(p));
    return p;
}

static void *nh_calloc(size_t n, size_t size)
{
    if (!nh_counting())
        return nh_real.calloc(n, size);
    nh_guard++;
    void *p = nh_real.calloc(n, size);
    nh_guard--;
    if (p)
        memcount_add_native(nh_usable(p));
    return p;
}

/* The common tail of realloc and reallocarray. */
static inline void nh_resized(void *p, int64_t old, void *q, size_t n)
{
    if (q)
        memcount_add_native(nh_usable(q) - old);
    else if (p && n == 0)
        memcount_add_native(-old); /* glibc's realloc(p, 0) frees p and returns NULL */
}

static void *nh_realloc(void *p, size_t n)
{
    if (!nh_counting())
        return nh_real.realloc(p, n);
    int64_t old = p ? nh_usable(p) : 0;
    nh_guard++;
    void *q = nh_real.realloc(p, n);
    nh_guard--;
    nh_resized(p, old, q, n);
    return q;
}

static void *nh_reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (!nh_counting() || __builtin_mul_overflow(count, size, &n))
        return nh_real.reallocarray(p, count, size); /* overflow: fails, changes nothing */
    int64_t old = p ? nh_usable(p) : 0;
    nh_guard++;
    void *q = nh_real.reallocarray(p, count, size);
    nh_guard--;
    nh_resized(p, old, q, n);
    return q;
}

static void nh_free(void *p)
{
    if (!p || !nh_counting()) {
        nh_real.free(p);
        return;
    }
    /* Measured before freeing: afterwards the block is not ours to read. */
    int64_t n = nh_usable(p);
    nh_guard++;
    nh_real.free(p);
    nh_guard--;
    memcount_add_native(-n);
}

static int nh_posix_memalign(void **out, size_t align, size_t n)
{
    if (!nh_counting())
        return nh_real.posix_memalign(out, align, n);
    nh_guard++;
    int rc = nh_real.posix_memalign(out, align, n);
    nh_guard--;
    if (rc == 0 && *out)
        memcount_add_native(nh_usable(*out));
    return rc;
}

/* aligned_alloc, memalign, valloc, pvalloc: one shape. */
#define NH_ALLOC_HOOK(fn, params, args)                                                   \
    static void *nh_##fn params                                                           \
    {                                                                                     \
        if (!nh_counting())                                                               \
            return nh_real.fn args;                                                       \
        nh_guard++;                                                                       \
        void *p = nh_real.fn args;                                                        \
        nh_guard--;                                                                       \
        if (p)                                                                            \
            memcount_add_native(nh_usable(p));                                            \
        return p;                                                                         \
    }

NH_ALLOC_HOOK(aligned_alloc, (size_t align, size_t n), (align, n))
NH_ALLOC_HOOK(memalign, (size_t align, size_t n), (align, n))
NH_ALLOC_HOOK(valloc, (size_t n), (n))
NH_ALLOC_HOOK(pvalloc, (size_t n), (n))

/* ---- mappings --------------------------------------------------------- */

/* Counts a successful mapping at r.  Whatever counted region it replaced
 * (MAP_FIXED), or a stale one left where the hooks did not see an unmap,
 * is gone now and subtracted first. */
static void *nh_mapped(void *r, size_t len, int prot, int flags)
{
    if (r == MAP_FAILED)
        return r;
    int saved = errno; /* the table may mmap to grow; the caller's errno stays */
    size_t l = nh_round(len);
    anonmap_lock();
    int64_t delta = -(int64_t)anonmap_remove((uintptr_t)r, l);
    /* PROT_NONE is an address-space reservation, not memory: counting it
     * would report gigabytes for a guard region (NOTES.md, "mmap"). */
    if ((flags & MAP_ANONYMOUS) && prot != PROT_NONE && anonmap_add((uintptr_t)r, l) == ML_OK)
        delta += (int64_t)l;
    anonmap_unlock();
    errno = saved;
    if (delta)
        memcount_add_native(delta);
    return r;
}

static void *nh_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (!nh_counting())
        return nh_real.mmap(addr, len, prot, flags, fd, off);
    /* The syscall runs outside the table lock: an address it returns was
     * freed by a munmap that updated the table under the lock before
     * releasing it, so the add below cannot be undone by that munmap. */
    nh_guard++;
    void *r = nh_real.mmap(addr, len, prot, flags, fd, off);
    nh_guard--;
    return nh_mapped(r, len, prot, flags);
}

static void *nh_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    if (!nh_counting())
        return nh_real.mmap64(addr, len, prot, flags, fd, off);
    nh_guard++;
    void *r = nh_real.mmap64(addr, len, prot, flags, fd, off);
    nh_guard--;
    return nh_mapped(r, len, prot, flags);
}

static int nh_munmap(void *addr, size_t len)
{
    if (!nh_counting())
        return nh_real.munmap(addr, len);
    /* Held across the syscall: once the range is unmapped another thread
     * may map it again at once, and its add must come after our remove. */
    anonmap_lock();
    nh_guard++;
    int rc = nh_real.munmap(addr, len);
    nh_guard--;
    int saved = errno;
    size_t gone = rc == 0 ? anonmap_remove((uintptr_t)addr, nh_round(len)) : 0;
    anonmap_unlock();
    errno = saved;
    if (gone)
        memcount_add_native(-(int64_t)gone);
    return rc;
}

static void *nh_mremap(void *old, size_t osize, size_t nsize, int flags, ...)
{
    void *want = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        want = va_arg(ap, void *);
        va_end(ap);
    }
    if (!nh_counting())
        return nh_real.mremap(old, osize, nsize, flags, want);
    anonmap_lock();
    nh_guard++;
    void *r = nh_real.mremap(old, osize, nsize, flags, want);
    nh_guard--;
    int saved = errno;
    int64_t delta = 0;
    if (r != MAP_FAILED) {
        size_t ol = nh_round(osize), nl = nh_round(nsize);
        size_t counted = anonmap_counted((uintptr_t)old, ol);
        int old_stays = osize == 0; /* a second mapping of shared memory */
#ifdef MREMAP_DONTUNMAP
        old_stays |= (flags & MREMAP_DONTUNMAP) != 0;
#endif
        if (!old_stays)
            delta -= (int64_t)anonmap_remove((uintptr_t)old, ol);
        delta -= (int64_t)anonmap_remove((uintptr_t)r, nl); /* MREMAP_FIXED replaced it */
        /* The new range is the same kind of mapping as the old one: counted
         * if the old one was. */
        if (counted && anonmap_add((uintptr_t)r, nl) == ML_OK)
            delta += (int64_t)nl;
    }
    anonmap_unlock();
    errno = saved;
    if (delta)
        memcount_add_native(delta);
    return r;
}

/* ---- dlopen / dlclose ------------------------------------------------- */

/* Patches what the loader added or forgets what it removed. */
static void nh_rescan(void)
{
    nh_guard++;
    pthread_mutex_lock(&nh_lock);
    if (nh_set && atomic_load_explicit(&nh_on, memory_order_relaxed))
        (void)symhook_update(nh_set); /* on ENOMEM the next update retries */
    pthread_mutex_unlock(&nh_lock);
    nh_guard--;
}

static void *nh_open(const dlsearch *s, const char *name, int flags)
{
    if (s->other_ns && nh_real.dlmopen)
        return nh_real.dlmopen((Lmid_t)s->ns, name, flags);
    return nh_real.dlopen(name, flags);
}

static void *nh_dlopen(const char *name, int flags)
{
    /* Taken first: glibc looks at its own caller the same way, so a tail
     * call into dlopen names the caller's caller for us as for it. */
    const void *caller = __builtin_extract_return_addr(__builtin_return_address(0));
    if (nh_guard || !name)
        return nh_real.dlopen(name, flags);
    char expanded[PATH_MAX], path[PATH_MAX];
    const char *want = name;
    void *h = NULL;
    dlsearch s;
    nh_guard++;
    int found = dlsearch_begin(&s, caller, name) == ML_OK;
    if (found && dlsearch_expand(&s, name, expanded, sizeof expanded) == ML_OK)
        want = expanded;
    if (found && !strchr(want, '/')) {
        /* The loader first reuses an object already loaded under that name;
         * opening a same-named file from the caller's path instead would
         * load a second copy. */
        h = nh_open(&s, want, flags | RTLD_NOLOAD);
        const char *p;
        while (!h && (p = dlsearch_next(&s, want, path, sizeof path))) {
            nh_guard--; /* the library's constructors are the program's */
            h = nh_open(&s, p, flags);
            nh_guard++;
        }
    }
    nh_guard--;
    if (!h)
        h = nh_open(&s, want, flags);
    dlsearch_end(&s);
    if (h)
        nh_rescan();
    return h;
}

static int nh_dlclose(void *handle)
{
    int rc = nh_real.dlclose(handle);
    if (rc == 0 && !nh_guard)
        nh_rescan();
    return rc;
}

/* ---- resolving and installing ------------------------------------------ */

/* One hooked function.  Invariant: real_at points at the nh_real field of
 * the same function, real_size is that field's size, and hook has the same
 * signature as the real function. */
typedef struct nh_fn {
    const char *name;
    void *hook;
    void *real_at; /* the nh_real field to fill */
    size_t real_size;
    unsigned flags;
    int required;
} nh_fn;

#define NH_FN(f, fl, req) {#f, (void *)nh_##f, &nh_real.f, sizeof nh_real.f, fl, req}

static const nh_fn nh_fns[] = {
    NH_FN(malloc, SYMHOOK_ALLOC, 1),
    NH_FN(calloc, SYMHOOK_ALLOC, 1),
    NH_FN(realloc, SYMHOOK_ALLOC, 1),
    NH_FN(reallocarray, SYMHOOK_ALLOC, 0),
    NH_FN(free, SYMHOOK_ALLOC, 1),
    NH_FN(posix_memalign, SYMHOOK_ALLOC, 0),
    NH_FN(aligned_alloc, SYMHOOK_ALLOC, 0),
    NH_FN(memalign, SYMHOOK_ALLOC, 0),
    NH_FN(valloc, SYMHOOK_ALLOC, 0),
    NH_FN(pvalloc, SYMHOOK_ALLOC, 0),
    NH_FN(mmap, 0, 1),
    NH_FN(mmap64, 0, 0),
    NH_FN(munmap, 0, 1),
    NH_FN(mremap, 0, 0),
    NH_FN(dlopen, 0, 1),
    NH_FN(dlclose, 0, 1),
};
#define NH_NFNS (sizeof nh_fns / sizeof nh_fns[0])

static int same_object(const void *a, const void *b)
{
    Dl_info x, y;
    return dladdr(a, &x) && dladdr(b, &y) && x.dli_fbase == y.dli_fbase;
}

static void set_foreign(const char *path)
{
    size_t n = strlen(path);
    if (n >= sizeof nh_foreign_path)
        n = sizeof nh_foreign_path - 1;
    memcpy(nh_foreign_path, path, n);
    nh_foreign_path[n] = '\0';
    atomic_store(&nh_has_foreign, 1);
}

/* Fills nh_real once.  Outside nh_lock except for the final copy: dlsym
 * and dladdr take the loader's lock. */
static int nh_resolve(void)
{
    if (atomic_load_explicit(&nh_resolved, memory_order_acquire))
        return ML_OK;
    void *got[NH_NFNS], *usable = NULL, *mopen = NULL;
    for (size_t i = 0; i < NH_NFNS; i++) {
        int rc = symhook_resolve(nh_fns[i].name, &got[i]);
        if (rc == ML_ENOENT && !nh_fns[i].required)
            got[i] = NULL;
        else if (rc != ML_OK)
            return rc;
        /* A real function inside this object would be a hook calling itself. */
        if (got[i] && same_object(got[i], (const void *)nh_malloc))
            return ML_EUNSUPPORTED;
    }
    int rc = symhook_resolve("malloc_usable_size", &usable);
    if (rc != ML_OK)
        return rc;
    /* Sizes must come from the allocator that made the block: glibc's
     * malloc_usable_size on a jemalloc block reads garbage. */
    if (!same_object(usable, got[0]))
        return ML_EUNSUPPORTED;
    if (symhook_resolve("dlmopen", &mopen) != ML_OK)
        mopen = NULL;
    pthread_mutex_lock(&nh_lock);
    if (!atomic_load_explicit(&nh_resolved, memory_order_relaxed)) {
        for (size_t i = 0; i < NH_NFNS; i++)
            memcpy(nh_fns[i].real_at, &got[i], nh_fns[i].real_size);
        memcpy(&nh_real.usable, &usable, sizeof usable);
        memcpy(&nh_real.dlmopen, &mopen, sizeof mopen);
        nh_page = (uintptr_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&nh_resolved, 1, memory_order_release);
    }
    pthread_mutex_unlock(&nh_lock);
    return ML_OK;
}

static void nh_prepare(void)
{
    pthread_mutex_lock(&nh_lock);
    anonmap_lock();
}

static void nh_parent(void)
{
    anonmap_unlock();
    pthread_mutex_unlock(&nh_lock);
}

static void nh_child(void)
{
    /* Only the forking thread exists here; it held both locks for the fork,
     * so they are consistent, and new ones are simplest. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    anonmap_reinit_lock();
    memcpy(&nh_lock, &fresh, sizeof fresh);
}

static void nh_register_atfork(void)
{
    /* Outside nh_lock: glibc may hold its own atfork lock while it runs the
     * prepare handlers, and ours takes nh_lock. */
    if (pthread_atfork(nh_prepare, nh_parent, nh_child) != 0)
        nh_atfork_rc = ML_ENOMEM;
}

static void free_skip(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        ml_free(v[i]);
    ml_free(v);
}

static int copy_skip(const char *const *skip, char ***out)
{
    *out = NULL;
    size_t n = 0;
    while (skip && skip[n])
        n++;
    if (n == 0)
        return ML_OK;
    char **v = ml_calloc(n + 1, sizeof *v);
    if (!v)
        return ML_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = ml_strdup(skip[i]))) {
            free_skip(v);
            return ML_ENOMEM;
        }
    }
    *out = v;
    return ML_OK;
}

int nativehook_install(const nativehook_opts *opts)
{
    static const nativehook_opts defaults = {NULL, 0, 0};
    if (!opts)
        opts = &defaults;
    if (atomic_load(&nh_on))
        return ML_OK;
    nh_guard++;
    symhook_set *set = NULL;
    char **skipv = NULL;
    int rc;
    pthread_once(&nh_once, nh_register_atfork);
    if ((rc = nh_atfork_rc) != ML_OK || (rc = nh_resolve()) != ML_OK)
        goto out;
    atomic_store(&nh_has_foreign, 0);

    Dl_info al;
    if (dladdr((const void *)nh_real.malloc, &al) && al.dli_fname &&
        symhook_is_sanitizer(al.dli_fname) && !opts->allow_sanitizer) {
        /* The sanitizer is itself a tool that intercepts these functions,
         * and allocates inside its own interceptors where no hook sees it. */
        pthread_mutex_lock(&nh_lock);
        set_foreign(al.dli_fname);
        pthread_mutex_unlock(&nh_lock);
        rc = ML_EBUSY;
        goto out;
    }

    symhook_sym syms[NH_NFNS];
    size_t n = 0;
    for (size_t i = 0; i < NH_NFNS; i++) {
        void *real;
        memcpy(&real, nh_fns[i].real_at, sizeof real);
        if (!real)
            continue;
        syms[n].name = nh_fns[i].name;
        syms[n].hook = nh_fns[i].hook;
        syms[n].real = real;
        syms[n].flags = nh_fns[i].flags;
        n++;
    }
    if ((rc = copy_skip(opts->skip, &skipv)) != ML_OK)
        goto out;
    symhook_opts so = {(const void *)nh_malloc, (const char *const *)skipv, opts->leave_libc};
    /* Created outside nh_lock: it looks _dl_find_object up with dlsym. */
    if ((rc = symhook_create(syms, n, &so, &set)) != ML_OK)
        goto out;

    pthread_mutex_lock(&nh_lock);
    if (atomic_load(&nh_on)) { /* another thread installed meanwhile */
        pthread_mutex_unlock(&nh_lock);
        rc = ML_OK;
        goto out;
    }
    symhook_destroy(nh_set);
    free_skip(nh_skipv);
    nh_set = set;
    nh_skipv = skipv;
    set = NULL;
    skipv = NULL;
    anonmap_lock();
    anonmap_clear(); /* regions of an earlier session may be long gone */
    anonmap_unlock();
    /* On before the first write, so that every call through a patched slot
     * counts: a block allocated through one and freed through another must
     * not count only one side. */
    atomic_store(&nh_on, 1);
    rc = symhook_install(nh_set);
    if (rc != ML_OK) {
        atomic_store(&nh_on, 0);
        if (rc == ML_EBUSY) {
            const char *f = symhook_foreign(nh_set);
            set_foreign(f ? f : "(unknown)");
        }
        (void)symhook_restore(nh_set);
    }
    pthread_mutex_unlock(&nh_lock);
out:
    symhook_destroy(set);
    free_skip(skipv);
    nh_guard--;
    return rc;
}

int nativehook_remove(void)
{
    nh_guard++;
    pthread_mutex_lock(&nh_lock);
    int rc = ML_OK;
    if (nh_set && atomic_load(&nh_on)) {
        /* Off first: from here on a hook still reached (a slot not yet put
         * back, a call already inside a hook) only passes the call on. */
        atomic_store(&nh_on, 0);
        rc = symhook_restore(nh_set);
    }
    pthread_mutex_unlock(&nh_lock);
    nh_guard--;
    return rc;
}

void nativehook_pause(int paused)
{
    atomic_store(&nh_paused, paused != 0);
}

int nativehook_active(void)
{
    return atomic_load(&nh_on);
}

int nativehook_refresh(void)
{
    nh_guard++;
    pthread_mutex_lock(&nh_lock);
    int rc = ML_OK;
    if (nh_set && atomic_load(&nh_on))
        rc = symhook_update(nh_set);
    pthread_mutex_unlock(&nh_lock);
    nh_guard--;
    return rc;
}

const char *nativehook_foreign(void)
{
    return atomic_load(&nh_has_foreign) ? nh_foreign_path : NULL;
}

size_t nativehook_skipped(nativehook_skip_fn fn, void *ctx)
{
    nh_guard++; /* fn's own allocations are the profiler's, not the program's */
    pthread_mutex_lock(&nh_lock);
    size_t n = symhook_nskipped(nh_set);
    for (size_t i = 0; fn && i < n; i++) {
        int reason = 0;
        const char *other = NULL;
        const char *path = symhook_skipped(nh_set, i, &reason, &other);
        fn(path, reason, symhook_reason_str(reason), other, ctx);
    }
    pthread_mutex_unlock(&nh_lock);
    nh_guard--;
    return n;
}

size_t nativehook_slots(void ***slots, void **olds, void **hooks, size_t cap)
{
    pthread_mutex_lock(&nh_lock);
    size_t n = symhook_nslots(nh_set);
    for (size_t i = 0; i < n && i < cap; i++) {
        void **slot, *old, *hook;
        symhook_slot(nh_set, i, &slot, &old, &hook);
        if (slots)
            slots[i] = slot;
        if (olds)
            olds[i] = old;
        if (hooks)
            hooks[i] = hook;
    }
    pthread_mutex_unlock(&nh_lock);
    return n;
}
