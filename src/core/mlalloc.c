/* mlalloc: libc allocation with fault injection for tests. */
#include "mlalloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Counts down to the allocation that must fail; 0 means off.  Atomic because
 * the sampler thread allocates too, though only tests ever set it. */
static _Atomic long fail_countdown;

static int should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n <= 0)
        return 0;
    return atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed) == 1;
}

void ml_alloc_fail_nth(long n)
{
    atomic_store(&fail_countdown, n > 0 ? n : 0);
}

void *ml_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *ml_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *ml_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void ml_free(void *p)
{
    free(p);
}

char *ml_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = ml_malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}
