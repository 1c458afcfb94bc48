/* report_html: the HTML line report: the summary, then one table per
 * function. */
#include "report_html.h"

#include "mlalloc.h"
#include "mlerr.h"
#include "report_html_int.h"

#include <stdlib.h>

/* What the page scales and marks by.  Invariant: the scales are the
 * largest magnitudes over every line that ran (0 when none). */
typedef struct scales {
    int64_t peak, incr;
    int native; /* some line has a nonzero native figure */
} scales;

static scales scales_of(const repview *v)
{
    scales s = {0, 0, 0};
    for (size_t f = 0; f < v->nfuncs; f++) {
        const linefunc *fn = v->funcs[f].fn;
        for (int i = 0; i < fn->nlines; i++) {
            const linestat *r = &fn->rows[i];
            if (!r->seen)
                continue;
            int64_t inc = r->mem_incr < 0 ? -r->mem_incr : r->mem_incr;
            if (r->heap_peak > s.peak)
                s.peak = r->heap_peak;
            if (inc > s.incr)
                s.incr = inc;
            if (r->native_incr || r->native_peak)
                s.native = 1;
        }
    }
    return s;
}

/* The lines to mark in fn: its REPORT_HTML_WORST largest positive Heap
 * peaks (Increments without heap columns) that reach a tenth of its
 * largest.  worst[] gets their row indexes, -1 for none. */
static void worst_of(const linefunc *fn, int heap, int worst[REPORT_HTML_WORST])
{
    int64_t val[REPORT_HTML_WORST];
    for (int k = 0; k < REPORT_HTML_WORST; k++)
        worst[k] = -1;
    for (int i = 0; i < fn->nlines; i++) {
        const linestat *r = &fn->rows[i];
        int64_t v = heap ? r->heap_peak : r->mem_incr;
        if (!r->seen || v <= 0)
            continue;
        for (int k = 0; k < REPORT_HTML_WORST; k++) {
            if (worst[k] < 0 || v > val[k]) {
                for (int j = REPORT_HTML_WORST - 1; j > k; j--) {
                    worst[j] = worst[j - 1];
                    val[j] = val[j - 1];
                }
                worst[k] = i;
                val[k] = v;
                break;
            }
        }
    }
    for (int k = 1; k < REPORT_HTML_WORST; k++)
        if (worst[k] >= 0 && val[k] * 10 < val[0])
            worst[k] = -1;
}

static int is_worst(const int worst[REPORT_HTML_WORST], int i)
{
    for (int k = 0; k < REPORT_HTML_WORST; k++)
        if (worst[k] == i)
            return 1;
    return 0;
}

static void tip(repw *w, const linefunc *fn, int i, const char *src, int heap, int native, int p)
{
    const linestat *r = &fn->rows[i];
    repw_printf(w, " data-tip=\"Line %d: ", fn->first + i);
    repw_html(w, src);
    rhtml_tip_mib(w, "Mem usage", r->mem_max, p, 0);
    rhtml_tip_mib(w, "Increment", r->mem_incr, p, 1);
    repw_printf(w, "&#10;%-12s %llu", "Occurrences", (unsigned long long)r->occurrences);
    if (heap) {
        rhtml_tip_mib(w, "Heap incr", r->heap_incr, p, 1);
        rhtml_tip_mib(w, "Heap peak", r->heap_peak, p, 0);
    }
    if (heap && native) {
        rhtml_tip_mib(w, "Native incr", r->native_incr, p, 1);
        rhtml_tip_mib(w, "Native peak", r->native_peak, p, 0);
    }
    repw_puts(w, "\"");
}

static void header_row(repw *w, int heap, int native)
{
    repw_puts(w, "<thead><tr><th data-sort=\"num\" data-first=\"asc\">Line #</th>");
    if (heap)
        repw_puts(w, "<th data-sort=\"num\">Heap peak (MiB)</th>");
    repw_puts(w, "<th data-sort=\"num\">Increment (MiB)</th><th data-sort=\"num\">Mem usage "
                 "(MiB)</th><th data-sort=\"num\">Occurrences</th>");
    if (heap)
        repw_puts(w, "<th data-sort=\"num\">Heap incr (MiB)</th>");
    if (heap && native)
        repw_puts(w, "<th data-sort=\"num\">Native incr (MiB)</th>"
                     "<th data-sort=\"num\">Native peak (MiB)</th>");
    repw_puts(w, "<th class=\"mlr-t\" data-sort=\"text\" data-first=\"asc\">Line Contents</th>"
                 "</tr></thead>\n");
}

/* What the text report says over a function's table: that it lacks lines
 * (events lost to another tool), and how many processes ran it. */
static void func_notes(repw *w, const linefunc *fn, const repmeta *m)
{
    if (fn->incomplete)
        repw_puts(w, "<p class=\"mlr-warn\">incomplete: some calls lost their events to "
                     "another tool; the table below lacks lines</p>\n");
    if (m->processes > 1)
        repw_printf(w, "<p class=\"mlr-meta\">Processes: %d of %lld</p>\n",
                    fn->processes > 0 ? fn->processes : 1, (long long)m->processes);
}

static void func_html(repw *w, const repfunc *f, size_t index, const char *prefix,
                      const scales *sc, const repmeta *m, int p)
{
    int heap = m->heap;
    const linefunc *fn = f->fn;
    int worst[REPORT_HTML_WORST];
    worst_of(fn, heap, worst);
    repw_printf(w, "<section id=\"%s-f%zu\">\n<h2>", prefix, index + 1);
    repw_html(w, fn->name);
    repw_puts(w, "<span class=\"mlr-file\">");
    repw_html(w, fn->filename);
    repw_printf(w, ", line %d</span></h2>\n", fn->first);
    func_notes(w, fn, m);
    repw_puts(w, "<table class=\"mlr-lines\">\n");
    header_row(w, heap, sc->native);
    repw_puts(w, "<tbody>\n");
    for (int i = 0; i < fn->nlines; i++) {
        const linestat *r = &fn->rows[i];
        int ran = r->seen != 0, bad = is_worst(worst, i);
        repw_printf(w, "<tr id=\"%s-f%zu-l%d\"%s", prefix, index + 1, fn->first + i,
                    !ran ? " class=\"mlr-idle\"" : bad ? " class=\"mlr-worst\"" : "");
        if (ran)
            tip(w, fn, i, f->src[i], heap, sc->native, p);
        repw_printf(w, "><td data-v=\"%d\">%s%d</td>", fn->first + i,
                    bad ? "<span class=\"mlr-flag\" title=\"one of the largest\">&#9650;</span>"
                        : "", fn->first + i);
        if (heap)
            rhtml_bar(w, r->heap_peak, sc->peak, "mlr-peak", p, 0, ran);
        rhtml_bar(w, r->mem_incr, sc->incr, "mlr-incr", p, 1, ran);
        rhtml_mib(w, r->mem_max, p, 0, ran);
        if (ran)
            repw_printf(w, "<td data-v=\"%llu\">%llu</td>", (unsigned long long)r->occurrences,
                        (unsigned long long)r->occurrences);
        else
            repw_puts(w, "<td></td>");
        if (heap)
            rhtml_mib(w, r->heap_incr, p, 1, ran);
        if (heap && sc->native) {
            rhtml_mib(w, r->native_incr, p, 1, ran);
            rhtml_mib(w, r->native_peak, p, 0, ran);
        }
        repw_puts(w, "<td class=\"mlr-src\">");
        repw_html(w, f->src[i]);
        repw_puts(w, "</td></tr>\n");
    }
    repw_puts(w, "</tbody>\n</table>\n</section>\n");
}

/* A function in the summary: index into the view, its peak and where. */
typedef struct ranked {
    size_t index;
    int64_t peak;
    int line;
} ranked;

static int by_peak(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->peak != y->peak)
        return x->peak > y->peak ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void summary(repw *w, const repview *v, const ranked *order, const char *prefix, int p)
{
    int heap = v->meta.heap;
    int64_t top = v->nfuncs ? order[0].peak : 0;
    repw_printf(w, "<h2>Functions by %s</h2>\n<table class=\"mlr-summary\">\n<thead><tr>"
                   "<th class=\"mlr-t\" data-sort=\"text\" data-first=\"asc\">Function</th>"
                   "<th data-sort=\"num\">%s (MiB)</th><th data-sort=\"num\" data-first=\"asc\">"
                   "at line</th><th data-sort=\"num\">Increment, all lines (MiB)</th>"
                   "<th class=\"mlr-t\" data-sort=\"text\" data-first=\"asc\">File</th></tr>"
                   "</thead>\n<tbody>\n",
                heap ? "Heap peak" : "Mem usage", heap ? "Heap peak" : "Mem usage");
    for (size_t k = 0; k < v->nfuncs; k++) {
        const linefunc *fn = v->funcs[order[k].index].fn;
        int64_t total = 0;
        for (int i = 0; i < fn->nlines; i++)
            total += fn->rows[i].seen ? fn->rows[i].mem_incr : 0;
        repw_puts(w, "<tr data-tip=\"");
        repw_html(w, fn->name);
        rhtml_tip_mib(w, heap ? "Heap peak" : "Mem usage", order[k].peak, p, 0);
        rhtml_tip_mib(w, "Increment", total, p, 1);
        repw_printf(w, "\"><td class=\"mlr-t\"><a href=\"#%s-f%zu\">", prefix,
                    order[k].index + 1);
        repw_html(w, fn->name);
        repw_puts(w, "</a></td>");
        rhtml_bar(w, order[k].peak, top, heap ? "mlr-peak" : "mlr-old", p, 0, 1);
        repw_printf(w, "<td data-v=\"%d\"><a href=\"#%s-f%zu-l%d\">%d</a></td>", order[k].line,
                    prefix, order[k].index + 1, order[k].line, order[k].line);
        rhtml_mib(w, total, p, 1, 1);
        repw_puts(w, "<td class=\"mlr-t\">");
        repw_html(w, fn->filename);
        repw_puts(w, "</td></tr>\n");
    }
    repw_puts(w, "</tbody>\n</table>\n");
}

int report_html(sbuf *out, const repview *v, const report_html_opts *o)
{
    const char *prefix = o->id_prefix ? o->id_prefix : "mlr";
    int p = o->precision < 0 ? 0 : o->precision > 12 ? 12 : o->precision;
    if (!rhtml_prefix_ok(prefix))
        return ML_EINVAL;
    size_t len = out->len;
    repw w = {out, ML_OK};
    ranked *order = ml_calloc(v->nfuncs ? v->nfuncs : 1, sizeof *order);
    if (!order)
        return ML_ENOMEM;
    for (size_t i = 0; i < v->nfuncs; i++) {
        order[i].index = i;
        order[i].peak = repfunc_peak(&v->funcs[i], v->meta.heap, &order[i].line);
    }
    qsort(order, v->nfuncs, sizeof *order, by_peak);
    scales sc = scales_of(v);
    if (!v->meta.heap)
        sc.native = 0;
    rhtml_open(&w, o->fragment, "memline line report", p);
    repw_puts(&w, "<h1>memline line report</h1>\n");
    rhtml_meta(&w, &v->meta);
    repw_puts(&w, "<p class=\"mlr-legend\">");
    if (v->meta.heap)
        repw_puts(&w, "<i style=\"background:var(--peak)\"></i>Heap peak");
    repw_puts(&w, "<i style=\"background:var(--incr)\"></i>Increment<i style=\"background:"
                  "var(--neg)\"></i>given back &middot; &#9650; a function's largest lines "
                  "&middot; hover a bar for every figure; click a heading to sort</p>\n");
    if (v->nfuncs == 0)
        repw_puts(&w, "<p>No profiled function ran.</p>\n");
    else
        summary(&w, v, order, prefix, p);
    for (size_t i = 0; i < v->nfuncs; i++)
        func_html(&w, &v->funcs[i], i, prefix, &sc, &v->meta, p);
    rhtml_close(&w, o->fragment);
    ml_free(order);
    if (w.rc != ML_OK) {
        out->len = len;
        if (out->data)
            out->data[len] = '\0';
    }
    return w.rc;
}
