/* test_repmerge: several processes' tables added into one, by the rules of
 * docs/processes.md: Occurrences, Increment, Heap incr and Native incr add
 * up; Mem usage, Heap peak and Native peak are the largest; functions match
 * by file, name and first line; each process counts once per function;
 * out-of-memory at every allocation leaves a valid table. */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/repmerge.h"

#include <string.h>

/* One process's table: f at line 10, three rows; row 0 ran with the given
 * figures, row 1 never ran, row 2 is running (started, never charged). */
static linetab *process(int64_t mem, int64_t incr, int64_t heap, int64_t peak)
{
    linetab *tab = linetab_new();
    linefunc *fn;
    CHECK_EQ_INT(linetab_add(tab, "/p.py", "f", 10, 3, &fn), ML_OK);
    fn->rows[0].occurrences = 5;
    linestat_charge(&fn->rows[0], mem, incr, heap, peak);
    linestat_charge_native(&fn->rows[0], heap / 2, peak / 2);
    fn->rows[2].occurrences = 1;
    return tab;
}

/* A view of every function of tab (funcs has room for 4). */
static repview view_of(linetab *tab, repfunc *funcs)
{
    static const char *const none[1] = {""};
    repview v = {{0}, funcs, linetab_count(tab)};
    for (size_t i = 0; i < linetab_count(tab); i++) {
        funcs[i].fn = linetab_get(tab, i);
        funcs[i].src = none;
    }
    return v;
}

TEST(figures_add_up_or_take_the_largest)
{
    linetab *into = process(1000, 10, 100, 400);
    linetab *other = process(3000, -20, 50, 300);
    repfunc funcs[4];
    repview v = view_of(other, funcs);
    repmerge_begin(into);
    CHECK_EQ_INT(linetab_get(into, 0)->processes, 1);
    CHECK_EQ_INT(repmerge_add(into, &v), ML_OK);
    CHECK_EQ_INT(linetab_count(into), 1);
    const linefunc *fn = linetab_get(into, 0);
    const linestat *s = &fn->rows[0];
    CHECK_EQ_INT(fn->processes, 2);
    CHECK_EQ_INT(s->occurrences, 10);
    CHECK_EQ_INT(s->mem_max, 3000);
    CHECK_EQ_INT(s->mem_incr, -10);
    CHECK_EQ_INT(s->heap_incr, 150);
    CHECK_EQ_INT(s->heap_peak, 400);
    CHECK_EQ_INT(s->native_incr, 25 + 50);
    CHECK_EQ_INT(s->native_peak, 200);
    CHECK(s->seen);
    CHECK(!fn->rows[1].seen && fn->rows[1].occurrences == 0);
    CHECK(!fn->rows[2].seen && fn->rows[2].occurrences == 2);
    CHECK(linetab_ok(into));
    linetab_free(other);
    linetab_free(into);
}

TEST(new_functions_are_added_and_counted_once)
{
    linetab *into = linetab_new();
    linetab *other = process(1, 0, 0, 0);
    linefunc *fn;
    /* a module imported twice in one child: the same function twice */
    CHECK_EQ_INT(linetab_add(other, "/p.py", "f", 10, 4, &fn), ML_OK);
    fn->rows[3].occurrences = 2;
    linestat_charge(&fn->rows[3], 7, 0, 8, 8);
    /* same name, another file: another function */
    CHECK_EQ_INT(linetab_add(other, "/q.py", "f", 10, 1, &fn), ML_OK);
    fn->rows[0].occurrences = 1;
    linestat_charge(&fn->rows[0], 7, 0, 0, 0);
    /* never ran: not added */
    CHECK_EQ_INT(linetab_add(other, "/r.py", "g", 1, 1, &fn), ML_OK);
    repfunc funcs[4];
    repview v = view_of(other, funcs);
    repmerge_begin(into);
    CHECK_EQ_INT(repmerge_add(into, &v), ML_OK);
    CHECK_EQ_INT(repmerge_add(into, &v), ML_OK);
    CHECK_EQ_INT(linetab_count(into), 2);
    const linefunc *f = linetab_get(into, 0);
    CHECK_EQ_STR(f->filename, "/p.py");
    CHECK_EQ_INT(f->processes, 2); /* two processes, each counted once */
    CHECK_EQ_INT(f->nlines, 4);    /* grown to the longer block */
    CHECK_EQ_INT(f->rows[0].occurrences, 10);
    CHECK_EQ_INT(f->rows[3].occurrences, 4);
    CHECK_EQ_STR(linetab_get(into, 1)->filename, "/q.py");
    CHECK_EQ_INT(linetab_get(into, 1)->processes, 2);
    CHECK(linetab_ok(into));
    linetab_free(other);
    linetab_free(into);
}

TEST(out_of_memory_at_every_allocation)
{
    linetab *other = process(1, 2, 3, 4);
    repfunc funcs[4];
    repview v = view_of(other, funcs);
    int done = 0;
    for (long n = 1; n < 50 && !done; n++) {
        linetab *into = linetab_new();
        repmerge_begin(into);
        ml_alloc_fail_nth(n);
        int rc = repmerge_add(into, &v);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || rc == ML_ENOMEM);
        CHECK(linetab_ok(into));
        done = rc == ML_OK;
        linetab_free(into);
    }
    CHECK(done);
    linetab_free(other);
}

int main(void)
{
    RUN(figures_add_up_or_take_the_largest);
    RUN(new_functions_are_added_and_counted_once);
    RUN(out_of_memory_at_every_allocation);
    return CTEST_END();
}
