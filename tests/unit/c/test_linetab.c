/* test_linetab: the per-line statistics table: adding functions, rows and
 * their growth, charging, reset, invalid arguments and out-of-memory. */
#include "ctest.h"

#include "core/linetab.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"

#include <stdint.h>

static int row_is_zero(const linestat *s)
{
    static const linestat zero;
    return memcmp(s, &zero, sizeof zero) == 0;
}

TEST(new_table_is_empty)
{
    linetab *tab = linetab_new();
    CHECK(tab != NULL);
    if (!tab)
        return;
    CHECK_EQ_INT(linetab_count(tab), 0);
    CHECK(linetab_get(tab, 0) == NULL);
    CHECK(linetab_get(tab, SIZE_MAX) == NULL);
    linetab_reset(tab); /* nothing to clear */
    linetab_free(tab);
    linetab_free(NULL);
}

TEST(add_copies_names_and_zeroes_rows)
{
    linetab *tab = linetab_new();
    char file[] = "pkg/mod.py", name[] = "my_func";
    linefunc *fn = NULL;
    CHECK_EQ_INT(linetab_add(tab, file, name, 9, 6, &fn), ML_OK);
    CHECK(fn != NULL);
    if (!fn) {
        linetab_free(tab);
        return;
    }
    CHECK(fn->filename != file);
    CHECK(fn->name != name);
    file[0] = 'X';
    name[0] = 'X';
    CHECK_EQ_STR(fn->filename, "pkg/mod.py");
    CHECK_EQ_STR(fn->name, "my_func");
    CHECK_EQ_INT(fn->first, 9);
    CHECK_EQ_INT(fn->nlines, 6);
    int zero = 1;
    for (int i = 0; i < fn->nlines; i++)
        zero &= row_is_zero(&fn->rows[i]);
    CHECK(zero);
    CHECK_EQ_INT(linetab_count(tab), 1);
    CHECK(linetab_get(tab, 0) == fn);
    CHECK(linetab_get(tab, 1) == NULL);
    linetab_free(tab);
}

TEST(add_keeps_order_and_pointers_through_growth)
{
    /* Past the first capacity (8) and several doublings. */
    enum { N = 100 };
    linetab *tab = linetab_new();
    linefunc *fns[N];
    for (int i = 0; i < N; i++) {
        char file[32], name[32];
        snprintf(file, sizeof file, "f%d.py", i);
        snprintf(name, sizeof name, "fn_%d", i);
        CHECK_EQ_INT(linetab_add(tab, file, name, i + 1, (i % 7) + 1, &fns[i]), ML_OK);
    }
    CHECK_EQ_INT(linetab_count(tab), N);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        char file[32], name[32];
        snprintf(file, sizeof file, "f%d.py", i);
        snprintf(name, sizeof name, "fn_%d", i);
        linefunc *fn = linetab_get(tab, (size_t)i);
        bad += fn != fns[i] || !fn || strcmp(fn->filename, file) != 0 ||
               strcmp(fn->name, name) != 0 || fn->first != i + 1 || fn->nlines != (i % 7) + 1;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(linetab_get(tab, N) == NULL);
    linetab_free(tab);
}

TEST(same_function_twice_gives_two_entries)
{
    linetab *tab = linetab_new();
    linefunc *a, *b;
    CHECK_EQ_INT(linetab_add(tab, "x.py", "f", 1, 3, &a), ML_OK);
    CHECK_EQ_INT(linetab_add(tab, "x.py", "f", 1, 3, &b), ML_OK);
    CHECK(a != b);
    CHECK_EQ_INT(linetab_count(tab), 2);
    linetab_free(tab);
}

TEST(add_rejects_bad_ranges)
{
    linetab *tab = linetab_new();
    linefunc dummy, *fn = &dummy;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "f", 0, 5, &fn), ML_EINVAL);
    CHECK(fn == NULL);
    fn = &dummy;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "f", -3, 5, &fn), ML_EINVAL);
    CHECK(fn == NULL);
    fn = &dummy;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "f", 1, 0, &fn), ML_EINVAL);
    CHECK(fn == NULL);
    fn = &dummy;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "f", 1, -1, &fn), ML_EINVAL);
    CHECK(fn == NULL);
    CHECK_EQ_INT(linetab_count(tab), 0);
    /* The smallest valid range, and empty names. */
    CHECK_EQ_INT(linetab_add(tab, "", "", 1, 1, &fn), ML_OK);
    CHECK(fn && fn->nlines == 1 && fn->first == 1);
    CHECK_EQ_STR(fn ? fn->filename : NULL, "");
    CHECK_EQ_INT(linetab_count(tab), 1);
    linetab_free(tab);
}

TEST(row_lookup)
{
    linetab *tab = linetab_new();
    linefunc *fn;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "f", 10, 4, &fn), ML_OK);
    CHECK(linefunc_row(fn, 9) == NULL);
    CHECK(linefunc_row(fn, 0) == NULL);
    CHECK(linefunc_row(fn, -1) == NULL);
    /* Rows in range never allocate. */
    ml_alloc_fail_nth(1);
    CHECK(linefunc_row(fn, 10) == &fn->rows[0]);
    CHECK(linefunc_row(fn, 13) == &fn->rows[3]);
    CHECK_EQ_INT(fn->nlines, 4);
    void *probe = ml_malloc(1); /* the armed failure was not consumed */
    CHECK(probe == NULL);
    ml_free(probe);
    linetab_free(tab);
}

TEST(row_grows_past_end)
{
    linetab *tab = linetab_new();
    linefunc *fn;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "f", 10, 3, &fn), ML_OK);
    linestat_charge(linefunc_row(fn, 10), 1000, 1000, 10, 20);
    linestat_charge(linefunc_row(fn, 12), 3000, 2000, 30, 40);
    linestat *s = linefunc_row(fn, 13); /* just past the end */
    CHECK(s != NULL);
    CHECK_EQ_INT(fn->nlines, 4);
    CHECK(s == &fn->rows[3]);
    CHECK(s && row_is_zero(s));
    s = linefunc_row(fn, 1009); /* far past the end */
    CHECK(s != NULL);
    CHECK_EQ_INT(fn->nlines, 1000);
    CHECK(s == &fn->rows[999]);
    int zero = 1;
    for (int i = 3; i < fn->nlines; i++)
        zero &= row_is_zero(&fn->rows[i]);
    CHECK(zero);
    CHECK_EQ_INT(fn->rows[0].mem_max, 1000);
    CHECK_EQ_INT(fn->rows[2].mem_max, 3000);
    CHECK_EQ_INT(fn->rows[2].mem_incr, 2000);
    CHECK(row_is_zero(&fn->rows[1]));
    /* Growth does not shrink back for an earlier line. */
    CHECK(linefunc_row(fn, 11) == &fn->rows[1]);
    CHECK_EQ_INT(fn->nlines, 1000);
    linetab_free(tab);
}

TEST(charge_semantics)
{
    linestat s = {0};
    s.occurrences = 1; /* started, not ended: still unseen */
    CHECK(!s.seen);
    /* The first charge sets mem_max even below zero. */
    linestat_charge(&s, -5, -5, 0, 0);
    CHECK(s.seen);
    CHECK_EQ_INT(s.mem_max, -5);
    CHECK_EQ_INT(s.mem_incr, -5);
    linestat_charge(&s, 100, 105, 64, 128);
    CHECK_EQ_INT(s.mem_max, 100);
    CHECK_EQ_INT(s.mem_incr, 100);
    CHECK_EQ_INT(s.heap_incr, 64);
    CHECK_EQ_INT(s.heap_peak, 128);
    /* A lower reading keeps the max; increments add up, negative included;
     * heap_peak keeps the largest. */
    linestat_charge(&s, 50, -50, -64, 32);
    CHECK_EQ_INT(s.mem_max, 100);
    CHECK_EQ_INT(s.mem_incr, 50);
    CHECK_EQ_INT(s.heap_incr, 0);
    CHECK_EQ_INT(s.heap_peak, 128);
    linestat_charge(&s, INT64_C(1) << 40, 0, 0, INT64_C(1) << 35);
    CHECK_EQ_INT(s.mem_max, INT64_C(1) << 40);
    CHECK_EQ_INT(s.heap_peak, INT64_C(1) << 35);
    CHECK_EQ_INT(s.occurrences, 1); /* charging does not count occurrences */
}

TEST(reset_clears_rows_keeps_functions)
{
    linetab *tab = linetab_new();
    linefunc *a, *b;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "fa", 1, 2, &a), ML_OK);
    CHECK_EQ_INT(linetab_add(tab, "b.py", "fb", 5, 3, &b), ML_OK);
    for (int line = 1; line <= 2; line++) {
        linestat *s = linefunc_row(a, line);
        s->occurrences = 3;
        linestat_charge(s, 7, 7, 7, 7);
    }
    linestat *far = linefunc_row(b, 20); /* grows b to 16 rows */
    far->occurrences = 1;
    linestat_charge(far, 9, 9, 9, 9);
    CHECK(linetab_ok(tab));
    /* An unseen row that holds numbers breaks the invariant. */
    b->rows[0].heap_incr = 1;
    CHECK(!linetab_ok(tab));
    b->rows[0].heap_incr = 0;
    CHECK(linetab_ok(tab));
    linetab_reset(tab);
    CHECK(linetab_ok(tab));
    CHECK_EQ_INT(linetab_count(tab), 2);
    CHECK(linetab_get(tab, 0) == a);
    CHECK(linetab_get(tab, 1) == b);
    CHECK_EQ_STR(a->name, "fa");
    CHECK_EQ_STR(b->filename, "b.py");
    CHECK_EQ_INT(a->nlines, 2);
    CHECK_EQ_INT(b->nlines, 16);
    int zero = 1;
    for (int i = 0; i < a->nlines; i++)
        zero &= row_is_zero(&a->rows[i]);
    for (int i = 0; i < b->nlines; i++)
        zero &= row_is_zero(&b->rows[i]);
    CHECK(zero);
    /* Usable after reset. */
    linestat_charge(linefunc_row(a, 2), 11, 11, 0, 0);
    CHECK_EQ_INT(a->rows[1].mem_max, 11);
    CHECK(a->rows[1].seen);
    linetab_free(tab);
}

/* Fault injection. */

TEST(oom_new)
{
    ml_alloc_fail_nth(1);
    linetab *tab = linetab_new();
    CHECK(tab == NULL);
    tab = linetab_new();
    CHECK(tab != NULL);
    linetab_free(tab);
}

/* Adds "g<k>" with the 1st, 2nd, ... allocation failing until it succeeds;
 * every failure must return ML_ENOMEM and leave the table as it was. */
static void add_under_oom(linetab *tab, int k)
{
    size_t before = linetab_count(tab);
    linefunc *last = before ? linetab_get(tab, before - 1) : NULL;
    char name[32];
    snprintf(name, sizeof name, "g%d", k);
    int rc = ML_ENOMEM, failures = 0;
    linefunc *fn = NULL;
    for (long n = 1; n < 20 && rc != ML_OK; n++) {
        linefunc dummy;
        fn = &dummy;
        ml_alloc_fail_nth(n);
        rc = linetab_add(tab, "oom.py", name, k, 4, &fn);
        ml_alloc_fail_nth(0);
        if (rc != ML_OK) {
            failures++;
            CHECK_EQ_INT(rc, ML_ENOMEM);
            CHECK(fn == NULL);
            CHECK_EQ_INT(linetab_count(tab), before);
            CHECK(linetab_get(tab, before) == NULL);
            CHECK(!before || linetab_get(tab, before - 1) == last);
        }
    }
    CHECK_EQ_INT(rc, ML_OK);
    /* calloc of the function, two names, the rows: four allocations, five
     * when the table had to grow (unless an earlier failed add grew it). */
    CHECK(failures >= 4 && failures <= 5);
    CHECK_EQ_INT(linetab_count(tab), before + 1);
    CHECK(fn && linetab_get(tab, before) == fn);
    CHECK_EQ_STR(fn ? fn->name : NULL, name);
    CHECK_EQ_STR(fn ? fn->filename : NULL, "oom.py");
    CHECK(fn && fn->first == k && fn->nlines == 4 && row_is_zero(&fn->rows[3]));
}

TEST(oom_add)
{
    linetab *tab = linetab_new();
    /* Enough adds to cross the growth points at 8 and 16. */
    for (int k = 1; k <= 20; k++)
        add_under_oom(tab, k);
    int bad = 0;
    for (int k = 1; k <= 20; k++) {
        linefunc *fn = linetab_get(tab, (size_t)k - 1);
        char name[32];
        snprintf(name, sizeof name, "g%d", k);
        bad += !fn || strcmp(fn->name, name) != 0 || fn->first != k;
    }
    CHECK_EQ_INT(bad, 0);
    linetab_free(tab);
}

TEST(oom_add_growth_exact)
{
    /* With 8 functions in, the 9th add needs the array to grow first, so
     * its first allocation is the array's.  Once a later failure has grown
     * the array, the next tries need only four allocations: n = 1 fails the
     * array, 2 the function, 3 its name (the array is no longer counted),
     * 4 the rows, and 5 succeeds. */
    linetab *tab = linetab_new();
    linefunc *fn;
    for (int k = 1; k <= 8; k++)
        CHECK_EQ_INT(linetab_add(tab, "a.py", "f", k, 1, &fn), ML_OK);
    int failures = 0, rc = ML_ENOMEM;
    for (long n = 1; n < 20 && rc != ML_OK; n++) {
        ml_alloc_fail_nth(n);
        rc = linetab_add(tab, "a.py", "ninth", 9, 1, &fn);
        ml_alloc_fail_nth(0);
        failures += rc != ML_OK;
    }
    CHECK_EQ_INT(rc, ML_OK);
    CHECK_EQ_INT(failures, 4);
    CHECK_EQ_INT(linetab_count(tab), 9);
    linetab_free(tab);
}

TEST(oom_row_growth)
{
    linetab *tab = linetab_new();
    linefunc *fn;
    CHECK_EQ_INT(linetab_add(tab, "a.py", "f", 3, 2, &fn), ML_OK);
    linestat *first = linefunc_row(fn, 3);
    first->occurrences = 2;
    linestat_charge(first, 4096, 4096, 1, 2);
    linestat *rows_before = fn->rows;
    int failures = 0;
    linestat *s = NULL;
    for (long n = 1; n < 10 && !s; n++) {
        ml_alloc_fail_nth(n);
        s = linefunc_row(fn, 40);
        ml_alloc_fail_nth(0);
        if (!s) {
            failures++;
            CHECK_EQ_INT(fn->nlines, 2);
            CHECK(fn->rows == rows_before);
            CHECK_EQ_INT(fn->rows[0].mem_max, 4096);
            CHECK_EQ_INT(fn->rows[0].occurrences, 2);
        }
    }
    CHECK_EQ_INT(failures, 1);
    CHECK(s != NULL);
    CHECK_EQ_INT(fn->nlines, 38);
    CHECK(s == &fn->rows[37]);
    CHECK_EQ_INT(fn->rows[0].mem_max, 4096);
    CHECK(fn->rows[0].seen);
    CHECK(s && row_is_zero(s));
    linetab_free(tab);
}

int main(void)
{
    RUN(new_table_is_empty);
    RUN(add_copies_names_and_zeroes_rows);
    RUN(add_keeps_order_and_pointers_through_growth);
    RUN(same_function_twice_gives_two_entries);
    RUN(add_rejects_bad_ranges);
    RUN(row_lookup);
    RUN(row_grows_past_end);
    RUN(charge_semantics);
    RUN(reset_clears_rows_keeps_functions);
    RUN(oom_new);
    RUN(oom_add);
    RUN(oom_add_growth_exact);
    RUN(oom_row_growth);
    return CTEST_END();
}
