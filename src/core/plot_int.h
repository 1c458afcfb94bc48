/* plot_int: what plot.c (layout: curves, scales, labels) shares with the
 * two writers, plot_svg.c (the drawing) and plot_html.c (the page and its
 * data).  Not part of the core's interface. */
#ifndef ML_PLOT_INT_H
#define ML_PLOT_INT_H

#include "datfile.h"
#include "plot.h"
#include "repw.h"
#include "sbuf.h"


/* One curve.  Invariant: v holds npoints >= 1 points sorted by time, times are
 * seconds from the start of the curve's file. */
typedef struct plot_curve {
    datfile_sample *v; /* owned */
    size_t npoints;
    char *label;       /* owned, unescaped */
    const char *color;
    int is_main;       /* a file's own memory, not a child's */
    int has_fit;         /* opts.slope: slope and icept hold a least-squares fit */
    double slope, icept;
} plot_curve;

/* One call of a profiled function, times relative like the curves. */
typedef struct plot_call {
    double t0, t1, m0, m1;
    int depth;
    size_t fn; /* index into names/labels */
} plot_call;

/* Everything laid out.  Invariants: xmin < xmax, ymin < ymax; the plot
 * area is [left, right] x [top, bottom] in pixels with top < bottom; the
 * call band (flame mode) is [band_top, band_top + rows * ROW_H]. */
typedef struct plot_chart {
    plot_curve *curves;
    size_t n_curves;
    plot_call *calls;
    size_t n_calls;
    const char *const *names; /* borrowed from the single file */
    char **labels;            /* owned: shortest unambiguous names */
    size_t *fn_calls;         /* owned: per name, its number of calls */
    double *fn_time;          /* owned: per name, the seconds its calls took */
    size_t n_names;
    const char *title;        /* borrowed; may be NULL */
    double xmin, xmax, ymin, ymax;
    double max_t, max_m;      /* the highest point of the main curves */
    double width, height, left, right, top, bottom, band_top;
    int rows;
    int flame;
} plot_chart;

#define PLOT_ROW_H 18.0

double plot_px(const plot_chart *c, double t);
double plot_py(const plot_chart *c, double m);
const char *plot_fn_color(size_t fn);

/* Writes the <svg> element (no XML prolog); interactive adds the hover
 * marker and the element ids the page's script uses. */
void plot_svg(repw *w, const plot_chart *c, int interactive);

/* Writes the HTML page around plot_svg. */
void plot_html(repw *w, const plot_chart *c);

#endif
