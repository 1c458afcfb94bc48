/* test_repdiff: matching two runs line by line: by text wherever lines
 * moved, duplicates in order, edits paired only at the same place and
 * when alike, added and removed lines and functions, the order (growth
 * first), --min-change, the worst growth, both outputs, and
 * out-of-memory at every allocation. */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/repdiff.h"

#include <stdio.h>
#include <stdlib.h>

/* A run: functions built from rows of (source, heap_peak) with peak < 0
 * meaning the line did not run. */
typedef struct run {
    linetab *tab;
    repfunc funcs[4];
    repview v;
} run;

typedef struct row {
    const char *src;
    int64_t peak;
} row;

static void add(run *r, const char *name, const char *file, int first, const row *rows,
                const char **srcs, int n)
{
    linefunc *fn;
    if (!r->tab)
        r->tab = linetab_new();
    CHECK_EQ_INT(linetab_add(r->tab, file, name, first, n, &fn), ML_OK);
    for (int i = 0; i < n; i++) {
        srcs[i] = rows[i].src;
        if (rows[i].peak >= 0) {
            fn->rows[i].occurrences = 1;
            linestat_charge(&fn->rows[i], 1 << 20, rows[i].peak / 2, rows[i].peak / 4,
                            rows[i].peak);
        }
    }
    r->funcs[r->v.nfuncs] = (repfunc){fn, srcs};
    r->v.nfuncs++;
    r->v.funcs = r->funcs;
    r->v.meta.heap = 1;
}

static const repdiff_line *find(const repdiff_func *f, int old_line, int new_line)
{
    for (size_t i = 0; i < f->count; i++)
        if (f->lines[i].old_line == old_line && f->lines[i].new_line == new_line)
            return &f->lines[i];
    return NULL;
}

#define MIB (1 << 20)

TEST(moved_duplicated_edited_added_removed)
{
    static const row old_rows[] = {{"@profile", 0}, {"def f():", -1}, {"a = g(1)", 1 * MIB},
                                   {"x = 1", 0}, {"x = 1", 0}, {"b = g(2)", 2 * MIB},
                                   {"gone = h()", MIB}, {"c = [i for i in r]", 4 * MIB},
                                   {"return a", 0}};
    static const row new_rows[] = {{"@profile", 0}, {"def f():", -1}, {"  b = g(2)", 3 * MIB},
                                   {"x = 1", 0}, {"a = g(1)", 1 * MIB}, {"x = 1", 8192},
                                   {"c = (i for i in r)", 1024}, {"new = k()", 5 * MIB},
                                   {"return a", 0}};
    const char *os[9], *ns[9];
    run o = {0}, n = {0};
    add(&o, "f", "/a/f.py", 10, old_rows, os, 9);
    add(&n, "f", "/b/f.py", 20, new_rows, ns, 9);
    repdiff *d;
    CHECK_EQ_INT(repdiff_compute(&o.v, &n.v, 1024, &d), ML_OK);
    CHECK_EQ_INT(d->count, 1);
    const repdiff_func *f = &d->funcs[0];
    CHECK(f->old == &o.funcs[0] && f->new == &n.funcs[0]);
    /* b moved above a (and its indentation changed): matched by text. */
    const repdiff_line *b = find(f, 15, 22);
    CHECK(b && b->kind == REPDIFF_SAME && b->d_peak == MIB && b->d_hincr == MIB / 4 &&
          b->d_incr == MIB / 2);
    /* a moved below: unchanged, so not listed at all. */
    CHECK(find(f, 12, 24) == NULL);
    /* The second "x = 1" pairs with the second. */
    const repdiff_line *x = find(f, 14, 25);
    CHECK(x && x->kind == REPDIFF_SAME && x->d_peak == 8192 && x->listed);
    /* The comprehension became a generator expression at the same place:
     * an edit.  "gone" and "new" start with other words: removed, added. */
    const repdiff_line *c = find(f, 17, 26);
    CHECK(c && c->kind == REPDIFF_EDITED && c->d_peak == 1024 - 4 * MIB);
    CHECK_EQ_STR(c ? c->old_src : "", "c = [i for i in r]");
    CHECK_EQ_STR(c ? c->new_src : "", "c = (i for i in r)");
    const repdiff_line *gone = find(f, 16, 0), *added = find(f, 0, 27);
    CHECK(gone && gone->kind == REPDIFF_REMOVED && gone->new == NULL && gone->d_peak == -MIB);
    CHECK(added && added->kind == REPDIFF_ADDED && added->old == NULL &&
          added->d_peak == 5 * MIB && added->listed);
    /* Largest growth first. */
    CHECK(f->lines[0].d_peak == 5 * MIB && f->lines[1].d_peak == MIB);
    CHECK(f->lines[f->count - 1].d_peak == 1024 - 4 * MIB);
    CHECK_EQ_INT(f->growth, 5 * MIB);
    const repdiff_func *wf;
    CHECK(repdiff_worst(d, &wf) == added && wf == f);
    repdiff_free(d);
    /* A larger --min-change leaves out x (8 KiB), never the added line. */
    CHECK_EQ_INT(repdiff_compute(&o.v, &n.v, 10000, &d), ML_OK);
    x = find(&d->funcs[0], 14, 25);
    CHECK(x && !x->listed && find(&d->funcs[0], 0, 27)->listed);
    /* Text: the edited line with what it was. */
    sbuf t = SBUF_INIT;
    CHECK_EQ_INT(repdiff_text(&t, d, "old.json", "new.json", 3), ML_OK);
    CHECK(strstr(sbuf_str(&t), "memline diff: old.json -> new.json\n") != NULL);
    CHECK(strstr(sbuf_str(&t), "   17    26       4.000     0.001    -3.999       1.000     "
                               "0.000    -1.000       2.000     0.000    -2.000   ~ c = (i for i "
                               "in r)\n") != NULL);
    CHECK(strstr(sbuf_str(&t), "  was: c = [i for i in r]\n") != NULL);
    CHECK(strstr(sbuf_str(&t), "    -    27           -     5.000    +5.000           -     1.250    +1.250") != NULL);
    CHECK(strstr(sbuf_str(&t), "4 lines changed (1 edited, 1 added, 1 removed); 1 more "
                               "changed by less than 10000 bytes.\n") != NULL);
    CHECK(strstr(sbuf_str(&t), "Largest Heap peak growth: +5.000 MiB, f line 27.\n") != NULL);
    sbuf_release(&t);
    repdiff_free(d);
    linetab_free(o.tab);
    linetab_free(n.tab);
}

TEST(functions_by_name_then_file)
{
    static const row r1[] = {{"x = 1", 0}}, r2[] = {{"x = 1", MIB}};
    const char *s[8][1];
    run o = {0}, n = {0};
    add(&o, "f", "/old/a.py", 1, r1, s[0], 1);
    add(&o, "f", "/old/b.py", 1, r1, s[1], 1);
    add(&o, "gone", "/old/a.py", 1, r2, s[2], 1);
    add(&n, "f", "/old/b.py", 1, r2, s[3], 1);  /* same name and file: pairs with old b */
    add(&n, "f", "/new/c.py", 1, r1, s[4], 1);  /* same name: pairs with old a */
    add(&n, "fresh", "/new/c.py", 1, r1, s[5], 1);
    repdiff *d;
    CHECK_EQ_INT(repdiff_compute(&o.v, &n.v, 0, &d), ML_OK);
    CHECK_EQ_INT(d->count, 4);
    /* Ordered by growth: new f/b.py grew 1 MiB; then the others (0) in
     * the new run's order, then what only the old run had. */
    CHECK(d->funcs[0].new == &n.funcs[0] && d->funcs[0].old == &o.funcs[1]);
    CHECK(d->funcs[1].new == &n.funcs[1] && d->funcs[1].old == &o.funcs[0]);
    CHECK(d->funcs[1].count == 0 && d->funcs[1].nlisted == 0);
    CHECK(d->funcs[2].new == &n.funcs[2] && d->funcs[2].old == NULL);
    CHECK(d->funcs[3].old == &o.funcs[2] && d->funcs[3].new == NULL);
    CHECK(d->funcs[3].lines[0].kind == REPDIFF_REMOVED);
    sbuf t = SBUF_INIT;
    CHECK_EQ_INT(repdiff_text(&t, d, "o", "n\x1b[2J", 3), ML_OK);
    CHECK(strstr(sbuf_str(&t), "Function: gone (removed)\n  old: /old/a.py, line 1\n  new: "
                               "(not in n\xe2\x90\x9b[2J)\n") != NULL); /* no escape reaches a terminal */
    CHECK(strstr(sbuf_str(&t), "Function: f\n  old: /old/a.py, line 1\n  new: /new/c.py, "
                               "line 1\n  no line changed\n") != NULL);
    sbuf_clear(&t);
    CHECK_EQ_INT(repdiff_html(&t, d, "o<", "n", 3, 0), ML_OK);
    CHECK(strstr(sbuf_str(&t), "<b>old</b> o&lt; &middot;") != NULL);
    CHECK(strstr(sbuf_str(&t), "<a href=\"#mld-f4\">gone (removed)</a>") != NULL);
    sbuf_release(&t);
    repdiff_free(d);
    repdiff_free(NULL);
    linetab_free(o.tab);
    linetab_free(n.tab);
}

TEST(without_heap_columns_increment_orders)
{
    static const row r1[] = {{"x = 1", 0}}, r2[] = {{"x = 1", 4 * MIB}};
    const char *s[2][1];
    run o = {0}, n = {0};
    add(&o, "f", "a.py", 1, r1, s[0], 1);
    add(&n, "f", "a.py", 1, r2, s[1], 1);
    n.v.meta.heap = 0;
    repdiff *d;
    CHECK_EQ_INT(repdiff_compute(&o.v, &n.v, 0, &d), ML_OK);
    const repdiff_line *l = &d->funcs[0].lines[0];
    CHECK(!d->heap && l->d_peak == 0 && l->d_hincr == 0 && l->d_incr == 2 * MIB);
    CHECK_EQ_INT(l->growth, 2 * MIB);
    CHECK(repdiff_worst(d, NULL) == NULL);
    repdiff_free(d);
    linetab_free(o.tab);
    linetab_free(n.tab);
}

TEST(out_of_memory_at_every_allocation)
{
    static const row r1[] = {{"a = 1", 0}, {"b = [x]", MIB}, {"c = 3", 0}, {"a = 1", 5}};
    static const row r2[] = {{"c = 3", 0}, {"b = (x)", 2}, {"a = 1", 0}, {"d = 4", MIB}};
    const char *s[2][4];
    run o = {0}, n = {0};
    add(&o, "f", "a.py", 1, r1, s[0], 4);
    add(&n, "f", "a.py", 1, r2, s[1], 4);
    int ok = 0;
    for (long k = 1; k < 200 && !ok; k++) {
        repdiff *d = NULL;
        sbuf t = SBUF_INIT, h = SBUF_INIT;
        ml_alloc_fail_nth(k);
        int rc = repdiff_compute(&o.v, &n.v, 0, &d);
        if (rc == ML_OK)
            rc = repdiff_text(&t, d, "o", "n", 3);
        if (rc == ML_OK)
            rc = repdiff_html(&h, d, "o", "n", 3, 1);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || rc == ML_ENOMEM);
        ok = rc == ML_OK;
        repdiff_free(d);
        sbuf_release(&t);
        sbuf_release(&h);
    }
    CHECK(ok);
    linetab_free(o.tab);
    linetab_free(n.tab);
}

int main(void)
{
    RUN(moved_duplicated_edited_added_removed);
    RUN(functions_by_name_then_file);
    RUN(without_heap_columns_increment_orders);
    RUN(out_of_memory_at_every_allocation);
    return CTEST_END();
}
