/* nativehook: counts a process's native memory (the malloc family and
 * anonymous mmaps) on each thread's memcount, by redirecting those calls in
 * every loaded shared object through symhook.  It works from a library
 * dlopen'ed into a running process (memline's extension module): no
 * LD_PRELOAD, no restart.
 *
 * Hooked: malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, mmap, mmap64, munmap, mremap,
 * dlopen, dlclose.  Blocks count at malloc_usable_size(); anonymous,
 * non-PROT_NONE mmaps at their page-rounded length; see NOTES.md for every
 * rule and for what cannot be seen.
 *
 * The functions below are thread-safe (one lock; never taken on the malloc
 * path) and must not be called from a signal handler. */
#ifndef ML_NATIVEHOOK_H
#define ML_NATIVEHOOK_H

#include <stddef.h>

/* Install options; all-zero is the default.  Invariant: skip is NULL or
 * NULL-terminated; the flags are 0 or 1. */
typedef struct nativehook_opts {
    /* NULL-terminated substrings of object paths to leave alone, or NULL.
     * Copied: the caller keeps ownership. */
    const char *const *skip;
    /* Leave the C library's own allocation calls alone.  Only for measuring
     * why that is wrong: a strdup inside libc freed elsewhere then counts as
     * a free only, and counts drift negative (NOTES.md, "libc"). */
    int leave_libc;
    /* Install even when a sanitizer runtime (ASan, TSan, ...) provides
     * malloc.  Its own interceptors (strdup, ...) then allocate unseen and
     * counts drift; without this flag install steps aside with ML_EBUSY. */
    int allow_sanitizer;
} nativehook_opts;

/* Resolves the real functions (dlsym(RTLD_DEFAULT): an interposed
 * allocator such as jemalloc's or ASan's is the one called), then
 * redirects every loaded object.  opts may be NULL for the defaults.
 * Returns ML_OK (also if already installed; some objects may have been
 * skipped, see nativehook_skipped), ML_EBUSY if another tool already hooks
 * these functions (nothing was installed; nativehook_foreign() names it),
 * ML_ENOENT if a required function does not exist, ML_EUNSUPPORTED if the
 * allocator cannot be measured (malloc_usable_size from another object than
 * malloc), ML_ENOMEM. */
int nativehook_install(const nativehook_opts *opts);

/* Puts every redirected slot back to its old value; calls are no longer
 * counted from the moment it starts.  Returns ML_OK, or ML_EACCES if some
 * slots could not be restored (they keep calling the hooks, which then
 * only pass calls through; nothing breaks).  ML_OK if not installed. */
int nativehook_remove(void);

/* Nonzero while installed (calls are being counted unless paused). */
int nativehook_active(void);

/* Stops (nonzero) or resumes (0) counting while staying installed: calls
 * only pass through, libraries loaded meanwhile are still redirected.
 * For the time between profiling sessions, when installing and removing
 * again would cost a pass over every loaded object each time. */
void nativehook_pause(int paused);

/* Redirects objects loaded by paths the dlopen hook cannot see (the C
 * library's own dlopen of NSS or iconv modules, a skipped object's dlopen).
 * Cheap when nothing changed.  Returns ML_OK or ML_ENOMEM. */
int nativehook_refresh(void);

/* After ML_EBUSY: the path of the object holding the other tool's hooks,
 * for one warning line; valid until the next install.  NULL otherwise. */
const char *nativehook_foreign(void);

/* Calls fn for each object the last install or refresh left alone (by design
 * or because it could not be read or written), with its path, the reason
 * (a symhook_reason), the reason's text, and for SYMHOOK_SKIP_FOREIGN the
 * other tool's object.  The strings are valid only during the call; fn
 * must not call nativehook functions nor dlopen.  Returns the count. */
typedef void (*nativehook_skip_fn)(const char *path, int reason, const char *text,
                                   const char *other, void *ctx);
size_t nativehook_skipped(nativehook_skip_fn fn, void *ctx);

/* For tests and diagnostics: the slots redirected now, each with the value
 * it will get back and the hook it holds.  Returns the count; fills at most
 * cap of each array (any may be NULL). */
size_t nativehook_slots(void ***slots, void **olds, void **hooks, size_t cap);

#endif
