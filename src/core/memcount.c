/* memcount: storage for the per-thread counters and the shared bucket,
 * and the engine's out-of-line accessors.  The add path is inline in
 * memcount.h. */
#include "memcount.h"

__thread memcount ml_count __attribute__((tls_model("initial-exec")));

memcount_bucket ml_foreign;
_Atomic int ml_watching;
memcount_bucket ml_total;

int64_t memcount_foreign_cur(void)
{
    return atomic_load_explicit(&ml_foreign.cur, memory_order_relaxed);
}

int64_t memcount_foreign_max(void)
{
    return atomic_load_explicit(&ml_foreign.max, memory_order_relaxed);
}

static int64_t take_max(memcount_bucket *b)
{
    /* An add that raises cur between our load of cur and the exchange has
     * already raised max, and the exchange would drop that peak; so after the
     * exchange, raise max again to the freshest cur.  Every peak ends up in
     * the value returned now or in max for the next call. */
    int64_t cur = atomic_load_explicit(&b->cur, memory_order_relaxed);
    int64_t old = atomic_exchange_explicit(&b->max, cur, memory_order_relaxed);
    int64_t now = atomic_load_explicit(&b->cur, memory_order_relaxed);
    int64_t m = cur;
    while (now > m && !atomic_compare_exchange_weak_explicit(
                          &b->max, &m, now, memory_order_relaxed, memory_order_relaxed)) {
    }
    return old > cur ? old : cur;
}

int64_t memcount_foreign_take_max(void)
{
    return take_max(&ml_foreign);
}

int64_t memcount_watch_begin(void)
{
    atomic_fetch_add(&ml_watching, 1);
    int64_t cur = atomic_load(&ml_total.cur);
    (void)take_max(&ml_total);
    return cur;
}

void memcount_watch_end(void)
{
    int w = atomic_load(&ml_watching);
    while (w > 0 && !atomic_compare_exchange_weak(&ml_watching, &w, w - 1)) {
    }
}

int64_t memcount_total_cur(void)
{
    return atomic_load_explicit(&ml_total.cur, memory_order_relaxed);
}

int64_t memcount_total_take_max(void)
{
    return take_max(&ml_total);
}

int memcount_ok(const memcount *c)
{
    return c->max >= c->cur && c->native_max >= c->native && c->known <= 1 && c->lazy >= 0;
}
