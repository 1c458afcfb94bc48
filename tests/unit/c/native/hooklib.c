/* hooklib: the native hooks as a shared library of their own
 * (libnativehook_test.so), as they are in memline's extension, for
 * test_nopie, whose slots must then be patched.  Exports a handful of nht_*
 * functions; everything else is hidden.  It marks the calling thread as
 * known, as the Python allocator hooks do for Python threads. */
#include <stdio.h>
#include <string.h>

#include "core/memcount.h"
#include "core/mlerr.h"
#include "core/nativehook.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int nht_install(int allow_sanitizer)
{
    ml_count.known = 1;
    nativehook_opts o = {NULL, 0, allow_sanitizer};
    return nativehook_install(&o);
}

EXPORT int nht_remove(void) { return nativehook_remove(); }
EXPORT int nht_active(void) { return nativehook_active(); }
EXPORT long long nht_native(void) { return ml_count.native; }
EXPORT long long nht_cur(void) { return ml_count.cur; }
EXPORT long long nht_max(void) { return ml_count.max; }
EXPORT long long nht_foreign(void) { return memcount_foreign_cur(); }
EXPORT long long nht_foreign_max(void) { return memcount_foreign_max(); }
EXPORT const char *nht_strerror(int rc) { return ml_strerror(rc); }
EXPORT const char *nht_foreign_tool(void) { return nativehook_foreign(); }
EXPORT long nht_slots(void) { return (long)nativehook_slots(NULL, NULL, NULL, 0); }

typedef struct sbuf {
    char *p;
    size_t size, used;
} sbuf;

static void add_line(const char *path, int reason, const char *text, const char *other, void *ctx)
{
    sbuf *b = ctx;
    (void)reason;
    if (b->used >= b->size)
        return;
    int n = snprintf(b->p + b->used, b->size - b->used, "%s: %s%s%s\n", path, text,
                     other ? " " : "", other ? other : "");
    if (n > 0)
        b->used += (size_t)n < b->size - b->used ? (size_t)n : b->size - b->used - 1;
}

/* Writes "path: reason" lines for the skipped objects into buf. */
EXPORT long nht_skipped(char *buf, long size)
{
    sbuf b = {buf, (size_t)size, 0};
    if (size > 0)
        buf[0] = '\0';
    return (long)nativehook_skipped(add_line, &b);
}
