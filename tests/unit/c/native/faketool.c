/* faketool: stands in for another tool (Memray) that already rewrote the
 * GOT entries of malloc when memline arrives.  It carries its own private
 * copy of symhook (built with hidden visibility), as such a tool would. */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/mlerr.h"
#include "core/symhook.h"

#define EXPORT __attribute__((visibility("default")))

static void *(*real_malloc)(size_t);
static _Atomic long calls;
static symhook_set *set;

static void *fake_malloc(size_t n)
{
    atomic_fetch_add(&calls, 1);
    return real_malloc(n);
}

EXPORT int faketool_install(void)
{
    void *r;
    int rc = symhook_resolve("malloc", &r);
    if (rc != ML_OK)
        return rc;
    real_malloc = (void *(*)(size_t))r;
    symhook_sym sym = {"malloc", (void *)fake_malloc, r, SYMHOOK_ALLOC};
    symhook_opts o = {(const void *)fake_malloc, NULL, 0};
    if ((rc = symhook_create(&sym, 1, &o, &set)) != ML_OK)
        return rc;
    return symhook_install(set);
}

EXPORT int faketool_remove(void)
{
    int rc = symhook_restore(set);
    symhook_destroy(set);
    set = NULL;
    return rc;
}

EXPORT long faketool_calls(void) { return atomic_load(&calls); }
