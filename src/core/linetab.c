/* linetab: storage of the per-line statistics. */
#include "linetab.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <assert.h>
#include <string.h>

/* Invariant: funcs[0..nfuncs) are owned, nfuncs <= cap. */
struct linetab {
    linefunc **funcs;
    size_t nfuncs, cap;
};

static int linestat_ok(const linestat *s)
{
    return s->seen || (s->mem_max == 0 && s->mem_incr == 0 && s->heap_incr == 0 &&
                       s->heap_peak == 0 && s->native_incr == 0 && s->native_peak == 0);
}

int linetab_ok(const linetab *tab)
{
    if (tab->nfuncs > tab->cap || (tab->nfuncs > 0 && !tab->funcs))
        return 0;
    for (size_t i = 0; i < tab->nfuncs; i++) {
        const linefunc *fn = tab->funcs[i];
        if (!fn || !fn->rows || !fn->filename || !fn->name || fn->first < 1 || fn->nlines < 1)
            return 0;
        for (int r = 0; r < fn->nlines; r++)
            if (!linestat_ok(&fn->rows[r]))
                return 0;
    }
    return 1;
}

linetab *linetab_new(void)
{
    return ml_calloc(1, sizeof(linetab));
}

static void linefunc_free(linefunc *fn)
{
    if (!fn)
        return;
    ml_free(fn->filename);
    ml_free(fn->name);
    ml_free(fn->rows);
    ml_free(fn);
}

void linetab_free(linetab *tab)
{
    if (!tab)
        return;
    for (size_t i = 0; i < tab->nfuncs; i++)
        linefunc_free(tab->funcs[i]);
    ml_free(tab->funcs);
    ml_free(tab);
}

int linetab_add(linetab *tab, const char *filename, const char *name,
                int first, int nlines, linefunc **out)
{
    *out = NULL;
    if (first < 1 || nlines < 1)
        return ML_EINVAL;
    if (tab->nfuncs == tab->cap) {
        size_t cap = tab->cap ? tab->cap * 2 : 8;
        linefunc **funcs = ml_realloc(tab->funcs, cap * sizeof *funcs);
        if (!funcs)
            return ML_ENOMEM;
        tab->funcs = funcs;
        tab->cap = cap;
    }
    linefunc *fn = ml_calloc(1, sizeof *fn);
    if (!fn)
        return ML_ENOMEM;
    fn->filename = ml_strdup(filename);
    fn->name = ml_strdup(name);
    fn->rows = ml_calloc((size_t)nlines, sizeof *fn->rows);
    if (!fn->filename || !fn->name || !fn->rows) {
        linefunc_free(fn);
        return ML_ENOMEM;
    }
    fn->first = first;
    fn->nlines = nlines;
    tab->funcs[tab->nfuncs++] = fn;
    *out = fn;
    assert(linetab_ok(tab));
    return ML_OK;
}

size_t linetab_count(const linetab *tab)
{
    return tab->nfuncs;
}

linefunc *linetab_get(const linetab *tab, size_t i)
{
    return i < tab->nfuncs ? tab->funcs[i] : NULL;
}

linestat *linefunc_row(linefunc *fn, int line)
{
    if (line < fn->first)
        return NULL;
    int idx = line - fn->first;
    if (idx >= fn->nlines) {
        linestat *rows = ml_realloc(fn->rows, (size_t)(idx + 1) * sizeof *rows);
        if (!rows)
            return NULL;
        memset(rows + fn->nlines, 0, (size_t)(idx + 1 - fn->nlines) * sizeof *rows);
        fn->rows = rows;
        fn->nlines = idx + 1;
    }
    return &fn->rows[idx];
}

void linetab_reset(linetab *tab)
{
    assert(linetab_ok(tab));
    for (size_t i = 0; i < tab->nfuncs; i++) {
        memset(tab->funcs[i]->rows, 0, (size_t)tab->funcs[i]->nlines * sizeof(linestat));
        tab->funcs[i]->incomplete = 0;
    }
}
