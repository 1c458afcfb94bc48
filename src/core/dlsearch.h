/* dlsearch: where a dlopen() call would have looked had it come from its
 * real caller rather than from memline's dlopen hook.
 *
 * The loader searches a bare library name along the calling object's
 * DT_RPATH/DT_RUNPATH (with $ORIGIN meaning the caller's directory), and
 * picks the caller's namespace.  Once dlopen is redirected, the loader sees
 * the hook's object as the caller, and a library found only through the
 * real caller's RUNPATH would no longer load.  This module names the
 * directories the real caller would have searched and the plain call from
 * the hook would not, in the loader's order, so the hook can try them first.
 *
 * Storage comes from ml_malloc called from this object, which symhook
 * never patches.  Every function calls into the loader (dladdr1, dlinfo),
 * which takes the loader's lock: never call them from a dl_iterate_phdr
 * callback, nor while holding a lock that code inside dlopen may wait for. */
#ifndef ML_DLSEARCH_H
#define ML_DLSEARCH_H

#include <limits.h>
#include <stddef.h>

/* One search, on the stack of the dlopen hook.
 * Invariants: caller_found is 0 or 1; dirs is NULL or owned (a glibc
 * Dl_serinfo); next <= end <= the number of directories in dirs; origin is
 * a C string (empty when unknown). */
typedef struct dlsearch {
    int caller_found;   /* the caller's object is known */
    int other_ns;       /* it lives in a namespace other than the base one */
    long ns;            /* that namespace (Lmid_t) */
    void *dirs;         /* its search path, or NULL */
    unsigned next, end; /* dirs[next, end) are still to try */
    char origin[PATH_MAX];
} dlsearch;

/* Looks up the object holding caller (a return address) and, for a name
 * with no '/', the directories to try.  Returns ML_OK, ML_ENOENT if the
 * caller is no known object (JIT code) or is this very object: then the
 * plain call is all there is; ML_ENOMEM.  In every case dlsearch_end()
 * must follow. */
int dlsearch_begin(dlsearch *s, const void *caller, const char *name);

/* The next candidate path for name that exists (caller's buffer), or NULL
 * when none is left.  The caller then tries to dlopen it. */
const char *dlsearch_next(dlsearch *s, const char *name, char *buf, size_t size);

/* Writes name with $ORIGIN / ${ORIGIN} replaced by the caller's directory.
 * Returns ML_OK, ML_ENOENT if name has no such token or the origin is
 * unknown, ML_EUNSUPPORTED for other tokens ($LIB, $PLATFORM: left to the
 * loader) or in a secure (setuid) process, ML_EINVAL if buf is too small. */
int dlsearch_expand(const dlsearch *s, const char *name, char *buf, size_t size);

void dlsearch_end(dlsearch *s);

#endif
