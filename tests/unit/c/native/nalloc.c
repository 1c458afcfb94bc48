/* nalloc: see nalloc.h.  Built with -fno-builtin so that the compiler
 * neither folds a malloc/free pair away nor turns a call into an inline
 * sequence, and with -fno-optimize-sibling-calls so that the dlopen below
 * is called from here (not jumped to), which the RUNPATH test relies on. */
#include "nalloc.h"

#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *nalloc_malloc(size_t n) { return malloc(n); }
void *nalloc_calloc(size_t n, size_t size) { return calloc(n, size); }
void *nalloc_realloc(void *p, size_t n) { return realloc(p, n); }
void *nalloc_reallocarray(void *p, size_t count, size_t size) { return reallocarray(p, count, size); }
void nalloc_free(void *p) { free(p); }
int nalloc_posix_memalign(void **out, size_t align, size_t n) { return posix_memalign(out, align, n); }
void *nalloc_aligned_alloc(size_t align, size_t n) { return aligned_alloc(align, n); }
void *nalloc_memalign(size_t align, size_t n) { return memalign(align, n); }
void *nalloc_valloc(size_t n) { return valloc(n); }
void *nalloc_pvalloc(size_t n) { return pvalloc(n); }
void *nalloc_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}
void *nalloc_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap64(addr, len, prot, flags, fd, off);
}
int nalloc_munmap(void *addr, size_t len) { return munmap(addr, len); }
void *nalloc_mremap(void *old, size_t osize, size_t nsize, int flags)
{
    return mremap(old, osize, nsize, flags);
}
void *nalloc_dlopen(const char *name, int flags) { return dlopen(name, flags); }
int nalloc_dlclose(void *handle) { return dlclose(handle); }

nalloc_malloc_fn nalloc_malloc_ptr(void) { return malloc; }
nalloc_malloc_fn nalloc_table_malloc = malloc;

long nalloc_strdup_loop(long n)
{
    long done = 0;
    for (long i = 0; i < n; i++) {
        char *s = strdup("a string the C library copies with its own malloc");
        done += s != NULL;
        free(s);
    }
    return done;
}

long nalloc_getline_loop(const char *path, long n)
{
    long done = 0;
    for (long i = 0; i < n; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            return -1;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0)
            done++;
        free(line);
        fclose(f);
    }
    return done;
}

long nalloc_fopen_loop(const char *path, long n)
{
    long done = 0;
    for (long i = 0; i < n; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            return -1;
        done += fgetc(f) != EOF; /* makes stdio allocate its buffer */
        fclose(f);
    }
    return done;
}

long nalloc_asprintf_loop(long n)
{
    long done = 0;
    for (long i = 0; i < n; i++) {
        char *s = NULL;
        if (asprintf(&s, "iteration %ld of a loop that formats into fresh memory %s", i,
                     "with a tail long enough to need more than one growth step, "
                     "since vasprintf starts small and reallocs as it goes") > 0)
            done++;
        free(s);
    }
    return done;
}

long nalloc_realpath_loop(const char *path, long n)
{
    long done = 0;
    for (long i = 0; i < n; i++) {
        char *r = realpath(path, NULL);
        done += r != NULL;
        free(r);
    }
    return done;
}

void nalloc_pairs(long n, size_t size)
{
    for (long i = 0; i < n; i++) {
        void *volatile p = malloc(size);
        free(p);
    }
}
