/* repdiff_out: a comparison of two runs as text and as HTML. */
#include "repdiff.h"

#include "mlerr.h"
#include "mlunits.h"
#include "report_html_int.h"
#include "repw.h"

#include <stdio.h>
#include <string.h>

static const char *const group_names[] = {"Heap peak", "Heap incr", "Increment"};

static int64_t fig(const linestat *s, int g)
{
    return g == 0 ? s->heap_peak : g == 1 ? s->heap_incr : s->mem_incr;
}

static int64_t delta(const repdiff_line *l, int g)
{
    return g == 0 ? l->d_peak : g == 1 ? l->d_hincr : l->d_incr;
}

static char mark(repdiff_kind k)
{
    return k == REPDIFF_ADDED ? '+' : k == REPDIFF_REMOVED ? '-' : k == REPDIFF_EDITED ? '~' : ' ';
}

/* A MiB cell right-aligned in width, "-" for a side without figures. */
static void cell(repw *w, const linestat *s, int64_t v, int width, int p, int sign)
{
    char buf[64];
    if (!s && !sign)
        snprintf(buf, sizeof buf, "-");
    else if (sign && v == 0)
        snprintf(buf, sizeof buf, "%.*f", p, 0.0);
    else
        snprintf(buf, sizeof buf, sign ? "%+.*f" : "%.*f", p, ml_mib(v));
    repw_printf(w, "%*s", width, buf);
}

static void text_header(repw *w, int heap, int width)
{
    repw_printf(w, "%11s", "Line #");
    for (int g = heap ? 0 : 2; g < 3; g++) {
        int span = 3 * width, n = (int)strlen(group_names[g]) + 2;
        int left = (span - n) / 2, right = span - n - left;
        repw_puts(w, "  ");
        for (int i = 0; i < left; i++)
            repw_puts(w, "-");
        repw_printf(w, " %s ", group_names[g]);
        for (int i = 0; i < right; i++)
            repw_puts(w, "-");
    }
    repw_printf(w, "\n%5s %5s", "old", "new");
    for (int g = heap ? 0 : 2; g < 3; g++)
        repw_printf(w, "  %*s%*s%*s", width, "old", width, "new", width, "delta");
    repw_puts(w, "   Line Contents\n");
}

static void text_line(repw *w, const repdiff_line *l, int heap, int width, int p)
{
    char on[16] = "-", nn[16] = "-";
    if (l->old_line)
        snprintf(on, sizeof on, "%d", l->old_line);
    if (l->new_line)
        snprintf(nn, sizeof nn, "%d", l->new_line);
    repw_printf(w, "%5s %5s", on, nn);
    for (int g = heap ? 0 : 2; g < 3; g++) {
        repw_puts(w, "  ");
        cell(w, l->old, l->old ? fig(l->old, g) : 0, width, p, 0);
        cell(w, l->new, l->new ? fig(l->new, g) : 0, width, p, 0);
        cell(w, NULL, delta(l, g), width, p, 1);
    }
    const char *src = l->new_src ? l->new_src : l->old_src;
    repw_printf(w, "   %c ", mark(l->kind));
    repw_plain(w, src);
    repw_puts(w, "\n");
    if (l->kind == REPDIFF_EDITED) {
        repw_printf(w, "%*s", 11 + (heap ? 3 : 1) * (2 + 3 * width) + 3, "");
        repw_puts(w, "  was: ");
        repw_plain(w, l->old_src);
        repw_puts(w, "\n");
    }
}

static void where(repw *w, const char *label, const repfunc *f, const char *run)
{
    repw_printf(w, "  %s: ", label);
    if (f) {
        repw_plain(w, f->fn->filename);
        repw_printf(w, ", line %d\n", f->fn->first);
    } else {
        repw_puts(w, "(not in ");
        repw_plain(w, run);
        repw_puts(w, ")\n");
    }
}

static void counts(const repdiff *d, size_t c[4], size_t *unlisted)
{
    memset(c, 0, 4 * sizeof *c);
    *unlisted = 0;
    for (size_t k = 0; k < d->count; k++)
        for (size_t i = 0; i < d->funcs[k].count; i++) {
            const repdiff_line *l = &d->funcs[k].lines[i];
            if (l->listed)
                c[l->kind]++;
            else
                (*unlisted)++;
        }
}

int repdiff_text(sbuf *out, const repdiff *d, const char *old_name, const char *new_name,
                 int precision)
{
    int p = precision < 0 ? 0 : precision > 12 ? 12 : precision, width = p + 7;
    size_t len = out->len, c[4], unlisted;
    repw w = {out, ML_OK};
    repw_puts(&w, "memline diff: ");
    repw_plain(&w, old_name);
    repw_puts(&w, " -> ");
    repw_plain(&w, new_name);
    repw_puts(&w, "\n");
    repw_printf(&w, "%s in MiB: old, new and delta (new - old); the lines that grew most "
                    "first.\n", d->heap ? "Heap peak, Heap incr and Increment" : "Increment");
    if (!d->heap)
        repw_puts(&w, "(no heap columns: a run was made without them)\n");
    for (size_t k = 0; k < d->count; k++) {
        const repdiff_func *f = &d->funcs[k];
        const repfunc *any = f->new ? f->new : f->old;
        repw_puts(&w, "\nFunction: ");
        repw_plain(&w, any->fn->name);
        repw_puts(&w, !f->old ? " (added)\n" : !f->new ? " (removed)\n" : "\n");
        where(&w, "old", f->old, old_name);
        where(&w, "new", f->new, new_name);
        if (f->nlisted == 0) {
            repw_puts(&w, "  no line changed\n");
            continue;
        }
        repw_puts(&w, "\n");
        text_header(&w, d->heap, width);
        for (size_t i = 0; i < f->count; i++)
            if (f->lines[i].listed)
                text_line(&w, &f->lines[i], d->heap, width, p);
    }
    counts(d, c, &unlisted);
    size_t total = c[0] + c[1] + c[2] + c[3];
    repw_printf(&w, "\n%zu line%s changed (%zu edited, %zu added, %zu removed)", total,
                total == 1 ? "" : "s", c[REPDIFF_EDITED], c[REPDIFF_ADDED], c[REPDIFF_REMOVED]);
    if (unlisted)
        repw_printf(&w, "; %zu more changed by less than %lld bytes", unlisted,
                    (long long)d->min_change);
    repw_puts(&w, ".\n");
    const repdiff_func *wf;
    const repdiff_line *worst = repdiff_worst(d, &wf);
    if (worst) {
        repw_puts(&w, "Largest Heap peak growth: ");
        repw_mib(&w, worst->d_peak, p, 1);
        repw_puts(&w, " MiB, ");
        repw_plain(&w, (wf->new ? wf->new : wf->old)->fn->name);
        repw_printf(&w, " line %d.\n", worst->new_line ? worst->new_line : worst->old_line);
    } else if (d->heap) {
        repw_puts(&w, "No line's Heap peak grew.\n");
    }
    if (w.rc != ML_OK) {
        out->len = len;
        if (out->data)
            out->data[len] = '\0';
    }
    return w.rc;
}

/* ---- HTML ---- */

static void tip_pair(repw *w, const char *name, const repdiff_line *l, int g, int p)
{
    repw_printf(w, "&#10;%-11s ", name);
    if (l->old)
        repw_mib(w, fig(l->old, g), p, 0);
    else
        repw_puts(w, "-");
    repw_puts(w, " &#8594; ");
    if (l->new)
        repw_mib(w, fig(l->new, g), p, 0);
    else
        repw_puts(w, "-");
    repw_puts(w, " MiB (");
    repw_mib(w, delta(l, g), p, 1);
    repw_printf(w, ", %lld bytes)", (long long)delta(l, g));
}

static void html_delta(repw *w, int64_t v, int p)
{
    repw_printf(w, "<td data-v=\"%lld\" class=\"%s\">", (long long)v,
                v > 0 ? "mlr-up" : v < 0 ? "mlr-down" : "");
    repw_mib(w, v, p, 1);
    repw_puts(w, "</td>");
}

static void html_line(repw *w, const repdiff_line *l, int heap, int64_t scale, int p)
{
    static const char *const cls[] = {"", "", " class=\"mlr-add\"", " class=\"mlr-del\""};
    const char *src = l->new_src ? l->new_src : l->old_src;
    repw_printf(w, "<tr%s data-tip=\"Line ", cls[l->kind]);
    if (l->old_line)
        repw_printf(w, "%d", l->old_line);
    else
        repw_puts(w, "-");
    repw_puts(w, " &#8594; ");
    if (l->new_line)
        repw_printf(w, "%d", l->new_line);
    else
        repw_puts(w, "-");
    repw_puts(w, ": ");
    repw_html(w, src);
    for (int g = heap ? 0 : 2; g < 3; g++)
        tip_pair(w, group_names[g], l, g, p);
    repw_printf(w, "&#10;%-11s %llu &#8594; %llu\">", "Occurrences",
                l->old ? (unsigned long long)l->old->occurrences : 0ull,
                l->new ? (unsigned long long)l->new->occurrences : 0ull);
    for (int side = 0; side < 2; side++) {
        int n = side ? l->new_line : l->old_line;
        if (n)
            repw_printf(w, "<td data-v=\"%d\">%d</td>", n, n);
        else
            repw_puts(w, "<td>&#8211;</td>");
    }
    if (heap) {
        int64_t o = l->old ? l->old->heap_peak : 0, n = l->new ? l->new->heap_peak : 0;
        double po = scale > 0 ? 100.0 * (double)o / (double)scale : 0;
        double pn = scale > 0 ? 100.0 * (double)n / (double)scale : 0;
        repw_printf(w, "<td class=\"mlr-bar\" data-v=\"%lld\"><span class=\"mlr-track mlr-two\">"
                       "<span class=\"mlr-fill mlr-old\" style=\"width:%.1f%%\"></span>"
                       "<span class=\"mlr-fill mlr-peak\" style=\"width:%.1f%%\"></span></span>"
                       "<span class=\"mlr-v mlr-v2\">",
                    (long long)n, po < 0 ? 0 : po > 100 ? 100 : po, pn < 0 ? 0 : pn > 100 ? 100 : pn);
        if (l->old)
            repw_mib(w, o, p, 0);
        else
            repw_puts(w, "-");
        repw_puts(w, " &#8594; ");
        if (l->new)
            repw_mib(w, n, p, 0);
        else
            repw_puts(w, "-");
        repw_puts(w, "</span></td>");
        html_delta(w, l->d_peak, p);
        html_delta(w, l->d_hincr, p);
    }
    html_delta(w, l->d_incr, p);
    repw_printf(w, "<td class=\"mlr-src\">%c ", mark(l->kind));
    if (l->kind == REPDIFF_EDITED) {
        repw_puts(w, "<del>");
        repw_html(w, l->old_src);
        repw_puts(w, "</del>\n  ");
    }
    repw_html(w, src);
    repw_puts(w, "</td></tr>\n");
}

static void html_func(repw *w, const repdiff *d, const repdiff_func *f, size_t k, int64_t scale,
                      int p)
{
    const repfunc *any = f->new ? f->new : f->old;
    repw_printf(w, "<section id=\"mld-f%zu\">\n<h2>", k + 1);
    repw_html(w, any->fn->name);
    repw_puts(w, !f->old ? " (added)" : !f->new ? " (removed)" : "");
    repw_puts(w, "<span class=\"mlr-file\">");
    repw_html(w, any->fn->filename);
    repw_printf(w, ", line %d</span></h2>\n", any->fn->first);
    if (f->nlisted == 0) {
        repw_puts(w, "<p>No line changed.</p>\n</section>\n");
        return;
    }
    repw_puts(w, "<table class=\"mlr-lines\">\n<thead><tr>"
                 "<th data-sort=\"num\" data-first=\"asc\">Old #</th>"
                 "<th data-sort=\"num\" data-first=\"asc\">New #</th>");
    if (d->heap)
        repw_puts(w, "<th data-sort=\"num\">Heap peak, old &#8594; new (MiB)</th>"
                     "<th data-sort=\"num\">&#916; Heap peak</th>"
                     "<th data-sort=\"num\">&#916; Heap incr</th>");
    repw_puts(w, "<th data-sort=\"num\">&#916; Increment</th>"
                 "<th class=\"mlr-t\" data-sort=\"text\" data-first=\"asc\">Line Contents</th>"
                 "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < f->count; i++)
        if (f->lines[i].listed)
            html_line(w, &f->lines[i], d->heap, scale, p);
    repw_puts(w, "</tbody>\n</table>\n</section>\n");
}

/* What the summary shows of a function: its largest growth, or when no
 * line grew its largest drop (0 when nothing changed). */
static int64_t change(const repdiff_func *f)
{
    int64_t low = 0;
    for (size_t i = 0; i < f->count; i++)
        if (f->lines[i].listed && f->lines[i].growth < low)
            low = f->lines[i].growth;
    return f->growth > 0 ? f->growth : low;
}

static void html_run(repw *w, const char *label, const char *name, const repmeta *m)
{
    repw_printf(w, "<p class=\"mlr-meta\"><b>%s</b> ", label);
    repw_html(w, name);
    repw_puts(w, " &middot; ");
    repw_html(w, m->timestamp ? m->timestamp : "?");
    repw_puts(w, " &middot; backend ");
    repw_html(w, m->backend ? m->backend : "?");
    repw_puts(w, "</p>\n");
}

int repdiff_html(sbuf *out, const repdiff *d, const char *old_name, const char *new_name,
                 int precision, int fragment)
{
    int p = precision < 0 ? 0 : precision > 12 ? 12 : precision;
    size_t len = out->len;
    repw w = {out, ML_OK};
    int64_t scale = 0, gscale = 0;
    for (size_t k = 0; k < d->count; k++) {
        const repdiff_func *f = &d->funcs[k];
        int64_t c = change(f);
        gscale = (c < 0 ? -c : c) > gscale ? (c < 0 ? -c : c) : gscale;
        for (size_t i = 0; i < f->count; i++) {
            const repdiff_line *l = &f->lines[i];
            if (l->listed && l->old && l->old->heap_peak > scale)
                scale = l->old->heap_peak;
            if (l->listed && l->new && l->new->heap_peak > scale)
                scale = l->new->heap_peak;
        }
    }
    rhtml_open(&w, fragment, "memline diff", p);
    repw_puts(&w, "<h1>memline diff</h1>\n");
    html_run(&w, "old", old_name, &d->old->meta);
    html_run(&w, "new", new_name, &d->new->meta);
    repw_puts(&w, "<p class=\"mlr-legend\">");
    if (d->heap)
        repw_puts(&w, "Heap peak:<i style=\"background:var(--old)\"></i>old"
                      "<i style=\"background:var(--peak)\"></i>new &middot; ");
    repw_puts(&w, "<span class=\"mlr-up\">grew</span>, <span class=\"mlr-down\">shrank"
                  "</span> &middot; + added, &#8722; removed, ~ edited lines &middot; the "
                  "lines that grew most first</p>\n");
    repw_printf(&w, "<h2>Functions by %s change</h2>\n<table class=\"mlr-summary\">\n<thead><tr>"
                    "<th class=\"mlr-t\" data-sort=\"text\" data-first=\"asc\">Function</th>"
                    "<th data-sort=\"num\">Largest change (MiB)</th>"
                    "<th data-sort=\"num\">Lines changed</th>"
                    "<th class=\"mlr-t\" data-sort=\"text\" data-first=\"asc\">File</th></tr>"
                    "</thead>\n<tbody>\n", d->heap ? "Heap peak" : "Increment");
    for (size_t k = 0; k < d->count; k++) {
        const repdiff_func *f = &d->funcs[k];
        const repfunc *any = f->new ? f->new : f->old;
        repw_puts(&w, "<tr data-tip=\"");
        repw_html(&w, any->fn->name);
        rhtml_tip_mib(&w, "Change", change(f), p, 1);
        repw_printf(&w, "\"><td class=\"mlr-t\"><a href=\"#mld-f%zu\">", k + 1);
        repw_html(&w, any->fn->name);
        repw_puts(&w, !f->old ? " (added)" : !f->new ? " (removed)" : "");
        repw_puts(&w, "</a></td>");
        rhtml_bar(&w, change(f), gscale, "mlr-incr", p, 1, 1);
        repw_printf(&w, "<td data-v=\"%zu\">%zu</td><td class=\"mlr-t\">", f->nlisted, f->nlisted);
        repw_html(&w, any->fn->filename);
        repw_puts(&w, "</td></tr>\n");
    }
    repw_puts(&w, "</tbody>\n</table>\n");
    for (size_t k = 0; k < d->count; k++)
        html_func(&w, d, &d->funcs[k], k, scale, p);
    rhtml_close(&w, fragment);
    if (w.rc != ML_OK) {
        out->len = len;
        if (out->data)
            out->data[len] = '\0';
    }
    return w.rc;
}
