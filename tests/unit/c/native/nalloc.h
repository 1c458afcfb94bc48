/* nalloc: the test library whose calls the hooks must see.  Every
 * function makes exactly the one call its name says, through this
 * library's own relocations, so a test can predict each counter change. */
#ifndef ML_NALLOC_H
#define ML_NALLOC_H

#include <stddef.h>
#include <sys/types.h>

void *nalloc_malloc(size_t n);
void *nalloc_calloc(size_t n, size_t size);
void *nalloc_realloc(void *p, size_t n);
void *nalloc_reallocarray(void *p, size_t count, size_t size);
void nalloc_free(void *p);
int nalloc_posix_memalign(void **out, size_t align, size_t n);
void *nalloc_aligned_alloc(size_t align, size_t n);
void *nalloc_memalign(size_t align, size_t n);
void *nalloc_valloc(size_t n);
void *nalloc_pvalloc(size_t n);
void *nalloc_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *nalloc_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int nalloc_munmap(void *addr, size_t len);
void *nalloc_mremap(void *old, size_t osize, size_t nsize, int flags);
void *nalloc_dlopen(const char *name, int flags);
int nalloc_dlclose(void *handle);

/* malloc's address as this library sees it: a GLOB_DAT slot, not a PLT call. */
typedef void *(*nalloc_malloc_fn)(size_t);
nalloc_malloc_fn nalloc_malloc_ptr(void);

/* A function pointer initialized in data (`= malloc`): an absolute
 * relocation, as in libxml2's xmlMalloc or GLib's GMemVTable. */
extern nalloc_malloc_fn nalloc_table_malloc;

/* Loops whose allocations happen inside the C library and are freed here
 * (or the reverse); each returns how many iterations did real work. */
long nalloc_strdup_loop(long n);
long nalloc_getline_loop(const char *path, long n);
long nalloc_fopen_loop(const char *path, long n);
long nalloc_asprintf_loop(long n);
long nalloc_realpath_loop(const char *path, long n);

/* For the benchmark: n malloc(size)+free pairs. */
void nalloc_pairs(long n, size_t size);

#endif
