/* symhook: redirect the calls that loaded shared objects make to named
 * functions, by rewriting their relocation slots (the GOT entries that
 * PLT stubs and address-taking code read, and function pointers initialized
 * in data) in memory, and put every slot back exactly as it was.
 *
 * The header is platform-neutral: symhook_elf.c implements it for ELF
 * objects loaded by glibc; a Mach-O implementation (rewriting lazy and
 * non-lazy symbol pointers) can sit behind the same interface.  Nothing
 * here knows about memory counting: nativehook.c is the user.  Nothing
 * prints; functions return ml_err codes.
 *
 * A set is not thread-safe: its user serializes every call on it (with one
 * lock).  Calls may allocate through the C library, on the calling thread,
 * and the C library's own allocation calls may be among those redirected:
 * the caller must keep its hooks from counting on this thread meanwhile
 * (nativehook holds its reentrancy guard). */
#ifndef ML_SYMHOOK_H
#define ML_SYMHOOK_H

#include <stddef.h>

/* An allocation entry point (malloc, free, ...).  Two effects: the C
 * library's own slots are redirected only for these (its internal calls to
 * malloc from strdup, fopen, getline ... pair with frees in other objects),
 * and an object other than libc that defines the real function of one of
 * them is the process's allocator (jemalloc, tcmalloc) and is left alone
 * entirely, or its own mmap calls would be counted on top of its mallocs. */
#define SYMHOOK_ALLOC 1u

/* One function to redirect.  Invariant: name is a non-empty string that
 * outlives the set (a literal, in practice); hook and real are not NULL and
 * have the function's signature; hook never calls back into itself. */
typedef struct symhook_sym {
    const char *name; /* symbol name, e.g. "malloc" */
    void *hook;       /* where calls go while installed; not NULL */
    void *real;       /* where calls went: what symhook_resolve() gave; not NULL */
    unsigned flags;   /* SYMHOOK_ALLOC or 0 */
} symhook_sym;

/* Why an object (or some of its slots) was left alone.  Reasons above
 * SYMHOOK_SKIP_LOADING are problems worth a warning; the others are by
 * design. */
typedef enum symhook_reason {
    SYMHOOK_PATCHED = 0,    /* not skipped: every slot we look for was redirected */
    SYMHOOK_SKIP_LOADER,    /* the dynamic loader: it has its own allocator pointers */
    SYMHOOK_SKIP_VDSO,      /* the kernel's vDSO */
    SYMHOOK_SKIP_SELF,      /* the object that contains the hooks */
    SYMHOOK_SKIP_SANITIZER, /* a sanitizer runtime (asan, ubsan, tsan, lsan, ...) */
    SYMHOOK_SKIP_ALLOCATOR, /* defines the real allocator and is not libc */
    SYMHOOK_SKIP_LIBC,      /* the C library, when told to leave it alone */
    SYMHOOK_SKIP_USER,      /* matched the caller's skip list */
    SYMHOOK_SKIP_OTHERDEF,  /* some slots bind to a definition other than the
                               global one (RTLD_DEEPBIND, own copy): left as is */
    SYMHOOK_SKIP_LOADING,   /* another thread is still loading it; retried on
                               the next update */
    SYMHOOK_SKIP_MALFORMED, /* its dynamic section or relocation tables are unreadable */
    SYMHOOK_SKIP_PROTECT,   /* the pages of some slots could not be made writable */
    SYMHOOK_SKIP_FOREIGN    /* some slots were already redirected by another tool */
} symhook_reason;

/* Static, human-readable text for a reason; never NULL. */
const char *symhook_reason_str(int reason);

/* How a set chooses objects.  Invariant: self is not NULL; skip, if set,
 * is NULL-terminated and outlives the set. */
typedef struct symhook_opts {
    const void *self;        /* an address inside the object holding the hooks; required */
    const char *const *skip; /* NULL-terminated substrings of object paths to
                                leave alone; may be NULL; must outlive the set */
    int leave_libc;          /* nonzero: leave the C library's slots alone */
} symhook_opts;

typedef struct symhook_set symhook_set;

/* Finds the function that calls to name reach from the global scope
 * (interposers such as an LD_PRELOADed allocator or ASan included), never a
 * PLT stub of a non-PIE executable that took its address.  Returns ML_OK,
 * ML_ENOENT if nothing defines it, ML_EUNSUPPORTED if only an unresolved
 * PLT stub can be found.  Must not be called from inside a loader callback. */
int symhook_resolve(const char *name, void **out);

/* Makes a set for nsyms (at most 32) symbols; nothing is patched yet.
 * Returns ML_OK with *out owned by the caller (free with symhook_destroy),
 * ML_EINVAL for bad arguments, ML_ENOMEM. */
int symhook_create(const symhook_sym *syms, size_t nsyms, const symhook_opts *opts,
                   symhook_set **out);

/* The first pass over every loaded object.  If some slot is already
 * redirected by another tool, nothing at all is written and ML_EBUSY is
 * returned (symhook_foreign() names the tool's object).  Otherwise returns
 * ML_OK, even if some objects were skipped (see symhook_skipped), or
 * ML_ENOMEM (slots written so far stay recorded: restore them). */
int symhook_install(symhook_set *set);

/* A later pass: redirects objects loaded since the last pass and forgets
 * those unloaded.  Cheap when nothing was loaded or unloaded.  A foreign
 * slot here skips only its object.  Returns ML_OK, ML_ENOMEM, or ML_EINVAL
 * after symhook_restore. */
int symhook_update(symhook_set *set);

/* Puts back the old value of every slot still holding our hook, in objects
 * still loaded; a slot someone else rewrote since is left to them.  Returns
 * ML_OK, or ML_EACCES if some page could not be made writable again (those
 * slots stay recorded and a later call may retry them).  The set then only
 * answers questions: update and install refuse. */
int symhook_restore(symhook_set *set);

/* Frees the set.  It does not restore anything. */
void symhook_destroy(symhook_set *set);

/* After ML_EBUSY: the path of the object that holds the other tool's hook
 * ("(anonymous memory)" for code outside any object).  Owned by the set;
 * NULL if none. */
const char *symhook_foreign(const symhook_set *set);

/* The skipped objects of the last pass: how many, and the i-th one's path
 * (owned by the set, valid until the next pass), reason, and for
 * SYMHOOK_SKIP_FOREIGN the other tool's object (else NULL). */
size_t symhook_nskipped(const symhook_set *set);
const char *symhook_skipped(const symhook_set *set, size_t i, int *reason,
                            const char **other);

/* The slots currently redirected, for tests and diagnostics. */
size_t symhook_nslots(const symhook_set *set);
void symhook_slot(const symhook_set *set, size_t i, void ***slot, void **old, void **hook);

/* Nonzero when path names a sanitizer runtime (ASan, TSan, LSan, UBSan,
 * MSan, HWASan, clang_rt): objects every pass leaves alone. */
int symhook_is_sanitizer(const char *path);

/* For tests: reads the relocation tables of one object the way a pass
 * would, writing nothing.  desc is the platform's object descriptor (a
 * struct dl_phdr_info * for ELF).  Returns ML_OK with *nslots set to the
 * number of symbol slots found, or ML_EFORMAT if the object is malformed. */
int symhook_probe(const void *desc, size_t *nslots);

#endif
