/* repdiff: matching the functions and lines of two runs. */
#include "repdiff.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <stdlib.h>
#include <string.h>

/* A sort key: two strings (b may be empty) and the item's index. */
typedef struct key {
    const char *a, *b;
    size_t alen, blen, index;
} key;

static int cmp_text(const char *x, size_t xn, const char *y, size_t yn)
{
    int c = memcmp(x, y, xn < yn ? xn : yn);
    return c ? c : (xn > yn) - (xn < yn);
}

static int cmp_key(const void *p, const void *q)
{
    const key *x = p, *y = q;
    int c = cmp_text(x->a, x->alen, y->a, y->alen);
    if (!c)
        c = cmp_text(x->b, x->blen, y->b, y->blen);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Pairs the k-th old item with the k-th new item of equal key, among
 * those not paired yet (mo[i], mn[j] == -1); ko and kn are sorted here. */
static void pair_by_key(key *ko, size_t no, key *kn, size_t nn, long *mo, long *mn)
{
    qsort(ko, no, sizeof *ko, cmp_key);
    qsort(kn, nn, sizeof *kn, cmp_key);
    size_t i = 0, j = 0;
    while (i < no && j < nn) {
        int c = cmp_text(ko[i].a, ko[i].alen, kn[j].a, kn[j].alen);
        if (!c)
            c = cmp_text(ko[i].b, ko[i].blen, kn[j].b, kn[j].blen);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            mo[ko[i].index] = (long)kn[j].index;
            mn[kn[j].index] = (long)ko[i].index;
            i++;
            j++;
        }
    }
}

static void strip(const char *s, const char **p, size_t *n)
{
    size_t len = strlen(s);
    while (len && (*s == ' ' || *s == '\t' || *s == '\f')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                   s[len - 1] == '\f'))
        len--;
    *p = s;
    *n = len;
}

static int cmp_u16(const void *p, const void *q)
{
    uint16_t x = *(const uint16_t *)p, y = *(const uint16_t *)q;
    return (x > y) - (x < y);
}

/* The length of the word a stripped line starts with: the name it
 * assigns or the keyword it begins with. */
static size_t word_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
                     ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
        i++;
    return i;
}

/* Whether two stripped texts are alike, one an edit of the other: they
 * start with the same word (so `a = f(1)` is not an edit of `b = f(1)`),
 * and the Dice coefficient of their byte pairs (over the first 1024
 * bytes) is at least 0.6.  -1 when out of memory. */
static int alike(const char *x, size_t xn, const char *y, size_t yn)
{
    size_t wx = word_len(x, xn), wy = word_len(y, yn);
    if (wx != wy || memcmp(x, y, wx) != 0)
        return 0;
    xn = xn > 1024 ? 1024 : xn;
    yn = yn > 1024 ? 1024 : yn;
    if (xn < 2 || yn < 2)
        return 0;
    uint16_t *bx = ml_malloc((xn - 1 + yn - 1) * sizeof *bx), *by;
    if (!bx)
        return -1;
    by = bx + xn - 1;
    for (size_t i = 0; i + 1 < xn; i++)
        bx[i] = (uint16_t)((unsigned char)x[i] << 8 | (unsigned char)x[i + 1]);
    for (size_t i = 0; i + 1 < yn; i++)
        by[i] = (uint16_t)((unsigned char)y[i] << 8 | (unsigned char)y[i + 1]);
    qsort(bx, xn - 1, sizeof *bx, cmp_u16);
    qsort(by, yn - 1, sizeof *by, cmp_u16);
    size_t i = 0, j = 0, common = 0;
    while (i < xn - 1 && j < yn - 1) {
        if (bx[i] < by[j]) {
            i++;
        } else if (bx[i] > by[j]) {
            j++;
        } else {
            common++;
            i++;
            j++;
        }
    }
    ml_free(bx);
    return 10 * common >= 3 * (xn - 1 + yn - 1); /* 2c / (nx + ny) >= 0.6 */
}

/* Marks in anchor[] the old lines of a longest run of pairs that keep
 * their order (the longest increasing subsequence of mo over i), in
 * O(n log n). */
static int anchors(const long *mo, size_t no, char *anchor)
{
    long *tail = ml_malloc((no + 1) * sizeof *tail);  /* old index ending a run of length k+1 */
    long *prev = ml_malloc((no + 1) * sizeof *prev);
    int rc = tail && prev ? ML_OK : ML_ENOMEM;
    size_t len = 0;
    for (size_t i = 0; rc == ML_OK && i < no; i++) {
        if (mo[i] < 0)
            continue;
        size_t lo = 0, hi = len;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (mo[tail[mid]] < mo[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        prev[i] = lo ? tail[lo - 1] : -1;
        tail[lo] = (long)i;
        if (lo == len)
            len++;
    }
    for (long i = rc == ML_OK && len ? tail[len - 1] : -1; i >= 0; i = prev[i])
        anchor[i] = 1;
    ml_free(tail);
    ml_free(prev);
    return rc;
}

static const char *src_of(const repfunc *f, size_t i)
{
    return f->src[i] ? f->src[i] : "";
}

/* How far ahead in a gap an edited line's new text is looked for. */
#define EDIT_WINDOW 8

/* Pairs the leftovers between anchors that are alike, keeping their order:
 * each old line is tried against the next EDIT_WINDOW unpaired new lines
 * of its gap (linear time). */
static int pair_edits(const repfunc *o, const repfunc *n, long *mo, long *mn, const char *anchor,
                      char *edited)
{
    size_t no = (size_t)o->fn->nlines, nn = (size_t)n->fn->nlines, i = 0, j = 0;
    while (i < no || j < nn) {
        /* The gap: up to the next anchor on each side. */
        size_t ie = i, je;
        while (ie < no && !anchor[ie])
            ie++;
        je = ie < no ? (size_t)mo[ie] : nn;
        size_t from = j;
        for (size_t a = i; a < ie; a++) {
            if (mo[a] >= 0)
                continue;
            const char *x, *y;
            size_t xn, yn, tried = 0;
            strip(src_of(o, a), &x, &xn);
            for (size_t b = from; b < je && tried < EDIT_WINDOW; b++) {
                if (mn[b] >= 0)
                    continue;
                tried++;
                strip(src_of(n, b), &y, &yn);
                int like = alike(x, xn, y, yn);
                if (like < 0)
                    return ML_ENOMEM;
                if (like) {
                    mo[a] = (long)b;
                    mn[b] = (long)a;
                    edited[a] = 1;
                    from = b + 1;
                    break;
                }
            }
        }
        i = ie + 1;
        j = je + 1;
    }
    return ML_OK;
}

static int64_t val(const linestat *s, int which)
{
    if (!s)
        return 0;
    return which == 0 ? s->heap_peak : which == 1 ? s->heap_incr : s->mem_incr;
}

static int64_t mag(int64_t v)
{
    return v < 0 ? -v : v;
}

/* Adds the line (old row i, new row j; -1 for none) when it changed. */
static void add_line(repdiff_func *df, const repdiff *d, long i, long j, int edited)
{
    const linestat *o = i >= 0 ? &df->old->fn->rows[i] : NULL;
    const linestat *n = j >= 0 ? &df->new->fn->rows[j] : NULL;
    repdiff_line l;
    memset(&l, 0, sizeof l);
    l.kind = i < 0 ? REPDIFF_ADDED : j < 0 ? REPDIFF_REMOVED : edited ? REPDIFF_EDITED
                                                                       : REPDIFF_SAME;
    l.old_line = i >= 0 ? df->old->fn->first + (int)i : 0;
    l.new_line = j >= 0 ? df->new->fn->first + (int)j : 0;
    l.old = o && o->seen ? o : NULL;
    l.new = n && n->seen ? n : NULL;
    l.old_src = i >= 0 ? src_of(df->old, (size_t)i) : NULL;
    l.new_src = j >= 0 ? src_of(df->new, (size_t)j) : NULL;
    if (!l.old && !l.new)
        return; /* ran in neither run */
    l.d_incr = val(l.new, 2) - val(l.old, 2);
    if (d->heap) {
        l.d_peak = val(l.new, 0) - val(l.old, 0);
        l.d_hincr = val(l.new, 1) - val(l.old, 1);
    }
    l.growth = d->heap ? l.d_peak : l.d_incr;
    int one_side = !l.old || !l.new;
    if (!one_side && !l.d_incr && !l.d_peak && !l.d_hincr)
        return;
    int64_t big = mag(l.d_peak) > mag(l.d_hincr) ? mag(l.d_peak) : mag(l.d_hincr);
    big = big > mag(l.d_incr) ? big : mag(l.d_incr);
    l.listed = l.kind == REPDIFF_ADDED || l.kind == REPDIFF_REMOVED || big >= d->min_change;
    df->lines[df->count++] = l;
    df->nlisted += l.listed != 0;
}

static int by_growth(const void *p, const void *q)
{
    const repdiff_line *x = p, *y = q;
    if (x->growth != y->growth)
        return x->growth > y->growth ? -1 : 1;
    if (x->d_hincr != y->d_hincr)
        return x->d_hincr > y->d_hincr ? -1 : 1;
    if (x->d_incr != y->d_incr)
        return x->d_incr > y->d_incr ? -1 : 1;
    int xl = x->new_line ? x->new_line : x->old_line, yl = y->new_line ? y->new_line : y->old_line;
    return (xl > yl) - (xl < yl);
}

static int diff_func(repdiff_func *df, const repdiff *d)
{
    size_t no = df->old ? (size_t)df->old->fn->nlines : 0;
    size_t nn = df->new ? (size_t)df->new->fn->nlines : 0;
    long *mo = ml_malloc((no + 1) * sizeof *mo), *mn = ml_malloc((nn + 1) * sizeof *mn);
    key *ko = ml_calloc(no + 1, sizeof *ko), *kn = ml_calloc(nn + 1, sizeof *kn);
    char *anchor = ml_calloc(no + 1, 1), *edited = ml_calloc(no + 1, 1);
    df->lines = ml_calloc(no + nn + 1, sizeof *df->lines);
    int rc = mo && mn && ko && kn && anchor && edited && df->lines ? ML_OK : ML_ENOMEM;
    if (rc != ML_OK)
        goto done;
    for (size_t i = 0; i < no; i++) {
        mo[i] = -1;
        strip(src_of(df->old, i), &ko[i].a, &ko[i].alen);
        ko[i].b = "";
        ko[i].index = i;
    }
    for (size_t j = 0; j < nn; j++) {
        mn[j] = -1;
        strip(src_of(df->new, j), &kn[j].a, &kn[j].alen);
        kn[j].b = "";
        kn[j].index = j;
    }
    pair_by_key(ko, no, kn, nn, mo, mn);
    if (no && nn)
        rc = anchors(mo, no, anchor);
    if (rc == ML_OK && no && nn)
        rc = pair_edits(df->old, df->new, mo, mn, anchor, edited);
    if (rc != ML_OK)
        goto done;
    for (size_t i = 0; i < no; i++)
        add_line(df, d, (long)i, mo[i], edited[i]);
    for (size_t j = 0; j < nn; j++)
        if (mn[j] < 0)
            add_line(df, d, -1, (long)j, 0);
    qsort(df->lines, df->count, sizeof *df->lines, by_growth);
    for (size_t k = 0; k < df->count; k++)
        if (df->lines[k].growth > df->growth)
            df->growth = df->lines[k].growth;
done:
    ml_free(mo);
    ml_free(mn);
    ml_free(ko);
    ml_free(kn);
    ml_free(anchor);
    ml_free(edited);
    return rc;
}

/* Functions: the same name and file first, then the same name. */
static int match_funcs(repdiff *d, long *mo, long *mn)
{
    size_t no = d->old->nfuncs, nn = d->new->nfuncs;
    key *ko = ml_calloc(no + 1, sizeof *ko), *kn = ml_calloc(nn + 1, sizeof *kn);
    int rc = ko && kn ? ML_OK : ML_ENOMEM;
    for (int pass = 0; rc == ML_OK && pass < 2; pass++) {
        size_t a = 0, b = 0;
        for (size_t i = 0; i < no; i++) {
            if (mo[i] >= 0)
                continue;
            const linefunc *fn = d->old->funcs[i].fn;
            ko[a++] = (key){fn->name, pass ? "" : fn->filename, strlen(fn->name),
                            pass ? 0 : strlen(fn->filename), i};
        }
        for (size_t j = 0; j < nn; j++) {
            if (mn[j] >= 0)
                continue;
            const linefunc *fn = d->new->funcs[j].fn;
            kn[b++] = (key){fn->name, pass ? "" : fn->filename, strlen(fn->name),
                            pass ? 0 : strlen(fn->filename), j};
        }
        pair_by_key(ko, a, kn, b, mo, mn);
    }
    ml_free(ko);
    ml_free(kn);
    return rc;
}

static int by_func_growth(const void *p, const void *q)
{
    const repdiff_func *x = p, *y = q;
    if (x->growth != y->growth)
        return x->growth > y->growth ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

int repdiff_compute(const repview *old, const repview *new, int64_t min_change, repdiff **out)
{
    *out = NULL;
    repdiff *d = ml_calloc(1, sizeof *d);
    size_t no = old->nfuncs, nn = new->nfuncs;
    long *mo = ml_malloc((no + 1) * sizeof *mo), *mn = ml_malloc((nn + 1) * sizeof *mn);
    int rc = d && mo && mn ? ML_OK : ML_ENOMEM;
    if (rc != ML_OK)
        goto done;
    d->old = old;
    d->new = new;
    d->heap = old->meta.heap && new->meta.heap;
    d->min_change = min_change;
    for (size_t i = 0; i < no; i++)
        mo[i] = -1;
    for (size_t j = 0; j < nn; j++)
        mn[j] = -1;
    rc = match_funcs(d, mo, mn);
    if (rc == ML_OK && !(d->funcs = ml_calloc(no + nn + 1, sizeof *d->funcs)))
        rc = ML_ENOMEM;
    /* The new run's order, then what only the old one has. */
    for (size_t j = 0; rc == ML_OK && j < nn; j++) {
        repdiff_func *df = &d->funcs[d->count];
        df->seq = d->count++;
        df->new = &new->funcs[j];
        df->old = mn[j] >= 0 ? &old->funcs[mn[j]] : NULL;
        rc = diff_func(df, d);
    }
    for (size_t i = 0; rc == ML_OK && i < no; i++) {
        if (mo[i] >= 0)
            continue;
        repdiff_func *df = &d->funcs[d->count];
        df->seq = d->count++;
        df->old = &old->funcs[i];
        rc = diff_func(df, d);
    }
    if (rc == ML_OK)
        qsort(d->funcs, d->count, sizeof *d->funcs, by_func_growth);
done:
    ml_free(mo);
    ml_free(mn);
    if (rc != ML_OK) {
        repdiff_free(d);
        return rc;
    }
    *out = d;
    return ML_OK;
}

void repdiff_free(repdiff *d)
{
    if (!d)
        return;
    for (size_t k = 0; d->funcs && k < d->count; k++)
        ml_free(d->funcs[k].lines);
    ml_free(d->funcs);
    ml_free(d);
}

const repdiff_line *repdiff_worst(const repdiff *d, const repdiff_func **fn)
{
    const repdiff_line *best = NULL;
    if (fn)
        *fn = NULL;
    for (size_t k = 0; d->heap && k < d->count; k++)
        for (size_t i = 0; i < d->funcs[k].count; i++) {
            const repdiff_line *l = &d->funcs[k].lines[i];
            if (l->d_peak > 0 && (!best || l->d_peak > best->d_peak)) {
                best = l;
                if (fn)
                    *fn = &d->funcs[k];
            }
        }
    return best;
}
