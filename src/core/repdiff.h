/* repdiff: two runs' line reports compared line by line (memline diff).
 *
 * Functions are matched by qualified name (the same file first, then in
 * order), lines by their source text, stripped of surrounding blanks: the
 * k-th line with a text in the old run is the k-th with that text in the
 * new one, wherever it moved.  Between lines that kept their order, an old
 * line and a new one left over at the same place whose texts are alike
 * (an edited line) are paired as well; what is left is removed or added.
 * Deltas are new - old, a side that is missing or did not run counting 0.
 * Everything is computed in O(n log n) of the number of lines. */
#ifndef ML_REPDIFF_H
#define ML_REPDIFF_H

#include "repdoc.h"
#include "sbuf.h"

#include <stdint.h>

typedef enum repdiff_kind {
    REPDIFF_SAME,    /* the same text (blanks aside), moved or not */
    REPDIFF_EDITED,  /* a changed text at the same place */
    REPDIFF_ADDED,   /* only in the new run */
    REPDIFF_REMOVED  /* only in the old run */
} repdiff_kind;

/* One line that changed.  Invariant: old is NULL exactly when kind is
 * ADDED or the old line did not run, likewise new; old_line and new_line
 * are 0 where that side has no line; the deltas are 0 for the heap
 * figures when either run lacks heap columns. */
typedef struct repdiff_line {
    repdiff_kind kind;
    int old_line, new_line;
    const linestat *old, *new;
    const char *old_src, *new_src; /* borrowed from the views; NULL where absent */
    int64_t d_peak, d_hincr, d_incr;
    int64_t growth; /* what the order goes by: d_peak, or d_incr without heap columns */
    int listed; /* shown: a change of at least min_change, or added or removed */
} repdiff_line;

/* A function of either run.  Invariant: old or new (or both) is set;
 * lines[0..count) are its changed lines, the largest growth first. */
typedef struct repdiff_func {
    const repfunc *old, *new;
    repdiff_line *lines;
    size_t count, nlisted;
    int64_t growth; /* the largest growth of its lines (0 when none grew) */
    size_t seq;     /* its place in the new run, then the old run's leftovers */
} repdiff_func;

/* Invariant: funcs are ordered by growth, the largest first. */
typedef struct repdiff {
    const repview *old, *new;
    repdiff_func *funcs;
    size_t count;
    int heap;           /* both runs have heap columns */
    int64_t min_change; /* bytes */
} repdiff;

/* Compares two views (borrowed: they must outlive *out).  Returns ML_OK
 * with *out owned by the caller (repdiff_free), or ML_ENOMEM. */
int repdiff_compute(const repview *old, const repview *new, int64_t min_change, repdiff **out);
void repdiff_free(repdiff *d); /* accepts NULL */

/* The line whose Heap peak grew most (listed or not), and its function;
 * NULL when no line's Heap peak grew or the runs lack heap columns. */
const repdiff_line *repdiff_worst(const repdiff *d, const repdiff_func **fn);

/* The comparison as text for a terminal, and as an HTML page (or with
 * fragment a <div>) in the style of the HTML report; old_name and
 * new_name label the runs.  Return ML_OK or ML_ENOMEM, out as it was on
 * error. */
int repdiff_text(sbuf *out, const repdiff *d, const char *old_name, const char *new_name,
                 int precision);
int repdiff_html(sbuf *out, const repdiff *d, const char *old_name, const char *new_name,
                 int precision, int fragment);

#endif
