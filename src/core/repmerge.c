/* repmerge: several processes' line tables added into one (repmerge.h). */
#include "repmerge.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <string.h>

static int ran(const linefunc *fn)
{
    for (int i = 0; i < fn->nlines; i++)
        if (fn->rows[i].seen)
            return 1;
    return 0;
}

void repmerge_begin(linetab *tab)
{
    for (size_t i = 0; i < linetab_count(tab); i++) {
        linefunc *fn = linetab_get(tab, i);
        fn->processes = ran(fn) ? 1 : 0;
    }
}

void repmerge_row(linestat *into, const linestat *from)
{
    if (!from->seen) {
        /* a line still running when the process sent its table: it
         * started, its interval was never charged */
        into->occurrences += from->occurrences;
        return;
    }
    if (!into->seen || from->mem_max > into->mem_max)
        into->mem_max = from->mem_max;
    into->seen = 1;
    into->occurrences += from->occurrences;
    into->mem_incr += from->mem_incr;
    into->heap_incr += from->heap_incr;
    into->native_incr += from->native_incr;
    if (from->heap_peak > into->heap_peak)
        into->heap_peak = from->heap_peak;
    if (from->native_peak > into->native_peak)
        into->native_peak = from->native_peak;
}

/* tab's function with fn's filename, name and first line; NULL if none. */
static linefunc *find(const linetab *tab, const linefunc *fn)
{
    for (size_t i = 0; i < linetab_count(tab); i++) {
        linefunc *t = linetab_get(tab, i);
        if (t->first == fn->first && strcmp(t->name, fn->name) == 0 &&
            strcmp(t->filename, fn->filename) == 0)
            return t;
    }
    return NULL;
}

int repmerge_add(linetab *tab, const repview *view)
{
    /* Which of tab's functions this process has already been counted in:
     * marks indexed like tab, grown as functions are added. */
    size_t cap = linetab_count(tab) + view->nfuncs;
    unsigned char *counted = ml_calloc(cap ? cap : 1, 1);
    int rc = counted ? ML_OK : ML_ENOMEM;
    for (size_t i = 0; rc == ML_OK && i < view->nfuncs; i++) {
        const linefunc *from = view->funcs[i].fn;
        if (!ran(from))
            continue;
        linefunc *into = find(tab, from);
        if (!into) {
            rc = linetab_add(tab, from->filename, from->name, from->first, from->nlines, &into);
            if (rc != ML_OK)
                break;
        }
        for (int j = 0; j < from->nlines; j++) {
            linestat *row = linefunc_row(into, from->first + j);
            if (!row) {
                rc = ML_ENOMEM;
                break;
            }
            repmerge_row(row, &from->rows[j]);
        }
        into->incomplete |= from->incomplete;
        size_t at = 0;
        while (linetab_get(tab, at) != into)
            at++;
        if (!counted[at]) {
            counted[at] = 1;
            into->processes++;
        }
    }
    ml_free(counted);
    return rc;
}
