/* mlalloc: the core's own allocator.  It is libc's malloc, never one of the
 * Python allocators memline hooks, so the profiler's bookkeeping is never
 * counted as the program's memory.  Tests can make the Nth allocation fail
 * to exercise out-of-memory paths. */
#ifndef ML_MLALLOC_H
#define ML_MLALLOC_H

#include <stddef.h>

void *ml_malloc(size_t n);
void *ml_calloc(size_t count, size_t size);
void *ml_realloc(void *p, size_t n);
void ml_free(void *p);          /* accepts NULL */
char *ml_strdup(const char *s); /* NULL on failure; caller owns the copy */

/* Test hook: the n-th allocation from now (1 = the next one) fails, and
 * every one after it succeeds again.  n <= 0 turns fault injection off. */
void ml_alloc_fail_nth(long n);

#endif
