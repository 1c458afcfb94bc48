/* plot: turns parsed timelines into a laid-out chart (plot_chart) and
 * hands it to the SVG or HTML writer.  Layout follows mprof's plot: time
 * in seconds from each file's first reading, memory in MiB, FUNC readings
 * merged into the file's curve, one curve per child, calls labelled, the
 * maximum marked. */
#include "plot.h"

#include "mlalloc.h"
#include "mlerr.h"
#include "plot_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_POINTS 4000 /* beyond this a curve keeps each pixel's min and max */
#define MAX_ROWS 8

static const char *const curve_colors[] = {"#1565c0", "#2e7d32", "#c62828", "#6a1b9a",
                                           "#ef6c00", "#00838f", "#5d4037"};
static int cmp_t(const void *a, const void *b)
{
    double x = ((const datfile_sample *)a)->t, y = ((const datfile_sample *)b)->t;
    return x < y ? -1 : x > y;
}

/* Keeps, per pixel column, the lowest and highest point in time order, so
 * a long curve stays light and its peaks stay visible. */
static void decimate(plot_curve *cv, double t0, double t1)
{
    if (cv->npoints <= MAX_POINTS || !(t1 > t0))
        return;
    size_t cols = MAX_POINTS / 2, out = 0, i = 0;
    while (i < cv->npoints) {
        size_t col = (size_t)((cv->v[i].t - t0) / (t1 - t0) * (double)(cols - 1));
        size_t lo = i, hi = i, j = i;
        while (j < cv->npoints && (size_t)((cv->v[j].t - t0) / (t1 - t0) * (double)(cols - 1)) == col) {
            if (cv->v[j].mib < cv->v[lo].mib)
                lo = j;
            if (cv->v[j].mib > cv->v[hi].mib)
                hi = j;
            j++;
        }
        datfile_sample a = cv->v[lo < hi ? lo : hi], b = cv->v[lo < hi ? hi : lo];
        cv->v[out++] = a;
        if (lo != hi)
            cv->v[out++] = b;
        i = j;
    }
    cv->npoints = out;
}

static void fit(plot_curve *cv)
{
    double n = (double)cv->npoints, st = 0, sm = 0, stt = 0, stm = 0;
    for (size_t i = 0; i < cv->npoints; i++) {
        st += cv->v[i].t;
        sm += cv->v[i].mib;
        stt += cv->v[i].t * cv->v[i].t;
        stm += cv->v[i].t * cv->v[i].mib;
    }
    double den = n * stt - st * st;
    cv->slope = den != 0 ? (n * stm - st * sm) / den : 0;
    cv->icept = (sm - cv->slope * st) / n;
}

/* Adds a curve from samples (absolute times), shifted by t0.  extra, if
 * not NULL, holds a file's calls whose readings merge into the curve. */
static int add_curve(plot_chart *c, const datfile_sample *v, size_t n, const datfile *extra,
                     double t0, char *label, int is_main, const plot_opts *o)
{
    size_t total = n + (extra ? 2 * extra->n_func : 0);
    plot_curve *cv = &c->curves[c->n_curves];
    cv->v = ml_malloc(total * sizeof *cv->v);
    if (!cv->v) {
        ml_free(label);
        return ML_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        cv->v[i] = (datfile_sample){v[i].t - t0, v[i].mib};
    for (size_t i = 0; extra && i < extra->n_func; i++) {
        const datfile_func *f = &extra->func[i];
        cv->v[n + 2 * i] = (datfile_sample){f->t_in - t0, f->mem_in};
        cv->v[n + 2 * i + 1] = (datfile_sample){f->t_out - t0, f->mem_out};
    }
    cv->npoints = total;
    qsort(cv->v, cv->npoints, sizeof *cv->v, cmp_t);
    cv->label = label;
    cv->is_main = is_main;
    cv->color = curve_colors[c->n_curves % (sizeof curve_colors / sizeof *curve_colors)];
    cv->has_fit = o->slope;
    if (o->slope)
        fit(cv);
    decimate(cv, cv->v[0].t, cv->v[cv->npoints - 1].t);
    c->n_curves++;
    return ML_OK;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ml_strdup(buf);
}

/* mprof's legend for a file's curve: its start date and time. */
static char *start_label(double t0, const char *name)
{
    if (name)
        return ml_strdup(name);
    time_t sec = (time_t)t0;
    sec -= (double)sec > t0; /* floor, for times before 1970 too */
    struct tm tm;
    char buf[64];
    if (!localtime_r(&sec, &tm) ||
        !strftime(buf, sizeof buf, "%d / %m / %Y - start at %H:%M:%S", &tm))
        snprintf(buf, sizeof buf, "start at %.3f", t0);
    return dup_printf("%s.%03d", buf, (int)((t0 - (double)sec) * 1000 + 0.5) % 1000);
}

/* The last `level` dotted parts of name. */
static const char *suffix(const char *name, int level)
{
    const char *p = name + strlen(name);
    while (p > name) {
        if (p[-1] == '.' && --level == 0)
            return p;
        p--;
    }
    return name;
}

/* One candidate label while labelling: the suffix s of names[owner]. */
typedef struct cand {
    const char *s;
    size_t owner;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    return strcmp(((const cand *)a)->s, ((const cand *)b)->s);
}

static size_t dots(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '.';
    return n;
}

/* Labels functions by the shortest dotted suffix no other function
 * shares, as mprof does: names[i] gets its last `level` parts for the
 * least level at which no other name's last `level` parts are the same
 * text (its whole name always does).  A name with fewer than level dots
 * shows whole at that level, so only names with at least level - 1 dots
 * can clash there: each level sorts just those, and the whole labelling
 * costs O(total dots * log n), not a comparison of every pair. */
static int make_labels(plot_chart *c)
{
    size_t n = c->n_names, maxdots = 0, left = n;
    c->labels = ml_calloc(n ? n : 1, sizeof *c->labels);
    size_t *ndots = ml_calloc(n ? n : 1, sizeof *ndots);
    cand *v = ml_calloc(n ? n : 1, sizeof *v);
    int rc = c->labels && ndots && v ? ML_OK : ML_ENOMEM;
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        ndots[i] = dots(c->names[i]);
        maxdots = ndots[i] > maxdots ? ndots[i] : maxdots;
    }
    for (size_t level = 1; rc == ML_OK && left > 0 && level <= maxdots + 1; level++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (ndots[i] + 1 >= level)
                v[m++] = (cand){suffix(c->names[i], (int)level), i};
        qsort(v, m, sizeof *v, cmp_cand);
        for (size_t a = 0, b; rc == ML_OK && a < m; a = b) {
            for (b = a + 1; b < m && strcmp(v[a].s, v[b].s) == 0;)
                b++;
            for (size_t k = a; rc == ML_OK && k < b; k++) {
                size_t i = v[k].owner;
                /* unique here, or already whole: done */
                if (c->labels[i] || (b - a > 1 && v[k].s != c->names[i]))
                    continue;
                if (!(c->labels[i] = ml_strdup(v[k].s)))
                    rc = ML_ENOMEM;
                left--;
            }
        }
    }
    ml_free(ndots);
    ml_free(v);
    return rc;
}

static void chart_release(plot_chart *c)
{
    for (size_t i = 0; i < c->n_curves; i++) {
        ml_free(c->curves[i].v);
        ml_free(c->curves[i].label);
    }
    for (size_t i = 0; c->labels && i < c->n_names; i++)
        ml_free(c->labels[i]);
    ml_free(c->labels);
    ml_free(c->fn_calls);
    ml_free(c->fn_time);
    ml_free(c->curves);
    ml_free(c->calls);
}

static double start_of(const datfile *df)
{
    double t0 = df->mem[0].t;
    for (size_t i = 0; i < df->n_mem; i++)
        t0 = df->mem[i].t < t0 ? df->mem[i].t : t0;
    for (size_t i = 0; i < df->n_func; i++)
        t0 = df->func[i].t_in < t0 ? df->func[i].t_in : t0;
    return t0;
}

static int build(plot_chart *c, const datfile *const *files, const char *const *names, size_t n,
                 const plot_opts *o)
{
    size_t ncurves = 0;
    for (size_t i = 0; i < n; i++)
        ncurves += 1 + files[i]->n_chld;
    c->curves = ml_calloc(ncurves, sizeof *c->curves);
    if (!c->curves)
        return ML_ENOMEM;
    int funcs = n == 1 && !o->no_funcs;
    int rc = ML_OK;
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        const datfile *df = files[i];
        double t0 = start_of(df);
        char *label = start_label(t0, n > 1 ? names[i] : NULL);
        rc = label ? add_curve(c, df->mem, df->n_mem, df, t0, label, 1, o) : ML_ENOMEM;
        for (size_t k = 0; rc == ML_OK && k < df->n_chld; k++) {
            label = dup_printf("child %ld", df->chld[k].pid);
            rc = label ? add_curve(c, df->chld[k].v, df->chld[k].nsamples, NULL, t0, label, 0, o)
                       : ML_ENOMEM;
        }
        if (rc == ML_OK && funcs && df->n_func) {
            c->calls = ml_malloc(df->n_func * sizeof *c->calls);
            rc = c->calls ? ML_OK : ML_ENOMEM;
            for (size_t k = 0; rc == ML_OK && k < df->n_func; k++) {
                const datfile_func *f = &df->func[k];
                c->calls[k] = (plot_call){f->t_in - t0, f->t_out - t0, f->mem_in, f->mem_out,
                                          f->depth, f->name};
                c->rows = f->depth + 1 > c->rows ? f->depth + 1 : c->rows;
            }
            c->n_calls = df->n_func;
            c->names = (const char *const *)df->names;
            c->n_names = df->n_names;
        }
        if (!c->title && n == 1 && df->cmdline)
            c->title = df->cmdline;
    }
    if (rc == ML_OK)
        rc = make_labels(c);
    if (rc == ML_OK) {
        /* the legend's figures, in one pass over the calls */
        c->fn_calls = ml_calloc(c->n_names ? c->n_names : 1, sizeof *c->fn_calls);
        c->fn_time = ml_calloc(c->n_names ? c->n_names : 1, sizeof *c->fn_time);
        rc = c->fn_calls && c->fn_time ? ML_OK : ML_ENOMEM;
        for (size_t i = 0; rc == ML_OK && i < c->n_calls; i++) {
            c->fn_calls[c->calls[i].fn]++;
            c->fn_time[c->calls[i].fn] += c->calls[i].t1 - c->calls[i].t0;
        }
    }
    c->rows = c->rows > MAX_ROWS ? MAX_ROWS : c->rows;
    return rc;
}

/* Ranges and pixel geometry. */
static int layout(plot_chart *c, const plot_opts *o)
{
    double tmax = 0, mmax = 0;
    c->max_m = -1;
    for (size_t i = 0; i < c->n_curves; i++) {
        const plot_curve *cv = &c->curves[i];
        tmax = cv->v[cv->npoints - 1].t > tmax ? cv->v[cv->npoints - 1].t : tmax;
        for (size_t k = 0; k < cv->npoints; k++) {
            mmax = cv->v[k].mib > mmax ? cv->v[k].mib : mmax;
            if (cv->is_main && cv->v[k].mib > c->max_m) {
                c->max_m = cv->v[k].mib;
                c->max_t = cv->v[k].t;
            }
        }
    }
    for (size_t i = 0; i < c->n_calls; i++)
        tmax = c->calls[i].t1 > tmax ? c->calls[i].t1 : tmax;
    c->xmin = 0;
    c->xmax = tmax > 0 ? tmax * 1.02 : 1;
    if (o->have_window) {
        if (!(o->win_hi > o->win_lo))
            return ML_EINVAL;
        c->xmin = o->win_lo;
        c->xmax = o->win_hi;
    }
    c->ymin = 0;
    c->ymax = mmax > 0 ? mmax * 1.08 : 1;
    c->flame = o->flame && c->n_calls > 0;
    c->width = 1100;
    c->height = 560 + (c->flame ? c->rows * PLOT_ROW_H + 10 : 0);
    c->left = 80;
    c->right = 820;
    c->top = 60;
    c->bottom = 500;
    c->band_top = c->flame ? c->bottom + 52 : c->bottom - c->rows * PLOT_ROW_H - 4;
    if (c->flame)
        c->height = c->band_top + c->rows * PLOT_ROW_H + 20;
    return ML_OK;
}

int plot_render(const datfile *const *files, const char *const *names, size_t n,
                const plot_opts *o, sbuf *out)
{
    if (n == 0)
        return ML_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (files[i]->n_mem == 0)
            return ML_EINVAL;
    plot_chart c;
    memset(&c, 0, sizeof c);
    c.title = o->title;
    size_t old = out->len;
    int rc = build(&c, files, names, n, o);
    if (rc == ML_OK)
        rc = layout(&c, o);
    if (rc == ML_OK) {
        repw w = {out, ML_OK};
        if (o->html) {
            plot_html(&w, &c);
        } else {
            repw_printf(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            plot_svg(&w, &c, 0);
        }
        rc = w.rc;
    }
    if (rc != ML_OK) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
    }
    chart_release(&c);
    return rc;
}
