/* plot: draws timelines (parsed .dat files) as a self-contained SVG image
 * or an HTML page holding the same SVG plus a small script that shows the
 * time, memory and running functions under the mouse.  No external fonts,
 * scripts or styles; every string from a file is escaped. */
#ifndef ML_PLOT_H
#define ML_PLOT_H

#include "datfile.h"
#include "sbuf.h"

typedef struct plot_opts {
    const char *title; /* NULL: the CMDLINE of a single file, else none */
    int no_funcs;      /* -n: leave out function calls */
    int have_window;   /* -w: show only times in [win_lo, win_hi] s */
    double win_lo, win_hi;
    int flame;         /* -f: calls as a flame graph under the chart */
    int slope;         /* -s: a fitted trend line per curve, slope in legend */
    int html;          /* an HTML page instead of an SVG document */
} plot_opts;

/* Renders n >= 1 files; names[i] labels file i when there are several
 * (with several, function calls are left out, as mprof does).  Every file
 * must have at least one MEM sample.  Appends the document to out.
 * Returns ML_OK, ML_EINVAL (no file, a file without samples, or an empty
 * window), or ML_ENOMEM; on error out is as it was. */
int plot_render(const datfile *const *files, const char *const *names, size_t n,
                const plot_opts *o, sbuf *out);

#endif
