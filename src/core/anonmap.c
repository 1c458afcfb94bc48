/* anonmap: a sorted array of counted anonymous regions, grown with mmap.
 * See anonmap.h for the contract. */
#include "anonmap.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "mlerr.h"

typedef struct anonmap_region {
    uintptr_t lo, hi; /* [lo, hi), lo < hi */
} anonmap_region;

/* The table.
 * Invariants (anonmap_check): v[0..n) sorted by lo; v[i].hi < v[i+1].lo
 * (touching regions are merged, so "counted" is a set of bytes, not of
 * calls); total == sum of (hi - lo); n <= cap; v == NULL iff cap == 0.
 * total is atomic only so that anonmap_total() may read it unlocked. */
static struct {
    pthread_mutex_t lock;
    anonmap_region *v;
    size_t n, cap;
    _Atomic size_t total;
} am = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

void anonmap_lock(void)
{
    pthread_mutex_lock(&am.lock);
}

void anonmap_unlock(void)
{
    pthread_mutex_unlock(&am.lock);
}

void anonmap_reinit_lock(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&am.lock, &fresh, sizeof fresh);
}

/* Makes room for at least want regions.  Returns ML_OK or ML_ENOMEM. */
static int reserve(size_t want)
{
    if (want <= am.cap)
        return ML_OK;
    size_t cap = am.cap ? am.cap : 256;
    while (cap < want)
        cap *= 2;
    /* mmap rather than malloc: the table must never allocate through
     * anything that is hooked or that could call back into the hooks, and
     * mmap called from this object (never patched) is a plain syscall. */
    void *p = mmap(NULL, cap * sizeof *am.v, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return ML_ENOMEM;
    if (am.v) {
        memcpy(p, am.v, am.n * sizeof *am.v);
        munmap(am.v, am.cap * sizeof *am.v);
    }
    am.v = p;
    am.cap = cap;
    return ML_OK;
}

/* Index of the first region whose hi is above addr (n if none). */
static size_t first_above(uintptr_t addr)
{
    size_t lo = 0, hi = am.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (am.v[mid].hi <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void total_add(size_t bytes)
{
    atomic_fetch_add_explicit(&am.total, bytes, memory_order_relaxed);
}

static void total_sub(size_t bytes)
{
    atomic_fetch_sub_explicit(&am.total, bytes, memory_order_relaxed);
}

int anonmap_add(uintptr_t start, size_t len)
{
    if (len == 0)
        return ML_OK;
    uintptr_t end = start + len;
    if (end < start)
        return ML_EINVAL;
    size_t i = first_above(start);
    /* Callers remove overlaps before adding: an overlap here would count the
     * same bytes twice. */
    assert(i == am.n || am.v[i].lo >= end);
    int join_left = i > 0 && am.v[i - 1].hi == start;
    int join_right = i < am.n && am.v[i].lo == end;
    if (join_left && join_right) {
        am.v[i - 1].hi = am.v[i].hi;
        memmove(&am.v[i], &am.v[i + 1], (am.n - i - 1) * sizeof *am.v);
        am.n--;
    } else if (join_left) {
        am.v[i - 1].hi = end;
    } else if (join_right) {
        am.v[i].lo = start;
    } else {
        if (reserve(am.n + 1) != ML_OK)
            return ML_ENOMEM;
        memmove(&am.v[i + 1], &am.v[i], (am.n - i) * sizeof *am.v);
        am.v[i].lo = start;
        am.v[i].hi = end;
        am.n++;
    }
    total_add(len);
    return ML_OK;
}

size_t anonmap_remove(uintptr_t start, size_t len)
{
    uintptr_t end = start + len;
    if (len == 0 || am.n == 0)
        return 0;
    if (end < start)
        end = UINTPTR_MAX;
    size_t removed = 0;
    size_t i = first_above(start);
    while (i < am.n && am.v[i].lo < end) {
        anonmap_region *r = &am.v[i];
        if (r->lo < start && r->hi > end) {
            /* The range cuts the region in two. */
            if (reserve(am.n + 1) == ML_OK) {
                /* reserve may have moved the table: index from here on. */
                memmove(&am.v[i + 1], &am.v[i], (am.n - i) * sizeof *am.v);
                am.n++;
                am.v[i].hi = start;
                am.v[i + 1].lo = end;
                removed += end - start;
            } else {
                /* No slot for the far side: forget it as well (see header). */
                removed += r->hi - start;
                r->hi = start;
            }
            break;
        }
        if (r->lo < start) { /* the range covers the region's top */
            removed += r->hi - start;
            r->hi = start;
            i++;
        } else if (r->hi > end) { /* the range covers the region's bottom */
            removed += end - r->lo;
            r->lo = end;
            break;
        } else { /* the range covers it all */
            removed += r->hi - r->lo;
            memmove(&am.v[i], &am.v[i + 1], (am.n - i - 1) * sizeof *am.v);
            am.n--;
        }
    }
    total_sub(removed);
    return removed;
}

size_t anonmap_counted(uintptr_t start, size_t len)
{
    uintptr_t end = start + len;
    if (end < start)
        end = UINTPTR_MAX;
    size_t sum = 0;
    for (size_t i = first_above(start); i < am.n && am.v[i].lo < end; i++) {
        uintptr_t lo = am.v[i].lo > start ? am.v[i].lo : start;
        uintptr_t hi = am.v[i].hi < end ? am.v[i].hi : end;
        sum += hi - lo;
    }
    return sum;
}

void anonmap_clear(void)
{
    /* Keep the storage: a new session will need it again. */
    am.n = 0;
    atomic_store_explicit(&am.total, 0, memory_order_relaxed);
}

size_t anonmap_total(void)
{
    return atomic_load_explicit(&am.total, memory_order_relaxed);
}

size_t anonmap_count(void)
{
    return am.n;
}

int anonmap_check(void)
{
    if ((am.v == NULL) != (am.cap == 0) || am.n > am.cap)
        return 0;
    size_t sum = 0;
    for (size_t i = 0; i < am.n; i++) {
        if (am.v[i].lo >= am.v[i].hi)
            return 0;
        if (i + 1 < am.n && am.v[i].hi >= am.v[i + 1].lo)
            return 0;
        sum += am.v[i].hi - am.v[i].lo;
    }
    return sum == anonmap_total();
}
