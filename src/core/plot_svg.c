/* plot_svg: draws a laid-out chart as SVG: frame, grid and axes with
 * units, one polyline per curve, calls as labelled spans (or a flame
 * graph), mprof's brackets, the maximum marked, and a legend. */
#include "mlerr.h"
#include "plot_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_COLOR "#d32f2f"
#define MAX_TICKS 60

/* Plain arithmetic instead of libm, which the core does not link. */
static double abs_d(double x)
{
    return x < 0 ? -x : x;
}

static double ceil_d(double x)
{
    if (!(abs_d(x) < 1e15))
        return x;
    double i = (double)(long long)x;
    return i < x ? i + 1 : i;
}


/* A tick step of 1, 2, 2.5 or 5 times a power of ten, near range/target. */
static double nice_step(double range, int target)
{
    double raw = range / target, mag = 1;
    while (mag * 10 <= raw)
        mag *= 10;
    while (mag > raw)
        mag /= 10;
    double f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/* Digits after the point that tick labels at multiples of step need. */
static int step_digits(double step)
{
    int d = 0;
    double s = step;
    while (d < 9 && s < 1e15 && abs_d(s - (double)(long long)(s + 0.5)) > 1e-6) {
        s *= 10;
        d++;
    }
    return d;
}

static void axes(repw *w, const plot_chart *c)
{
    double xs = nice_step(c->xmax - c->xmin, 8), ys = nice_step(c->ymax - c->ymin, 6);
    int xd = step_digits(xs), yd = step_digits(ys);
    double x0 = ceil_d(c->xmin / xs) * xs, y0 = ceil_d(c->ymin / ys) * ys;
    repw_printf(w, "<g class=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\">\n");
    for (int i = 0; i < MAX_TICKS && x0 + i * xs <= c->xmax + xs * 1e-9; i++)
        repw_printf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                    plot_px(c, x0 + i * xs), c->top, plot_px(c, x0 + i * xs), c->bottom);
    for (int i = 0; i < MAX_TICKS && y0 + i * ys <= c->ymax + ys * 1e-9; i++)
        repw_printf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", c->left,
                    plot_py(c, y0 + i * ys), c->right, plot_py(c, y0 + i * ys));
    repw_printf(w, "</g>\n<g class=\"axes\" fill=\"#333\" font-size=\"12\">\n");
    for (int i = 0; i < MAX_TICKS && x0 + i * xs <= c->xmax + xs * 1e-9; i++)
        repw_printf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n",
                    plot_px(c, x0 + i * xs), c->bottom + 18, xd,
                    abs_d(x0 + i * xs) < xs * 1e-9 ? 0.0 : x0 + i * xs);
    for (int i = 0; i < MAX_TICKS && y0 + i * ys <= c->ymax + ys * 1e-9; i++)
        repw_printf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n",
                    c->left - 6, plot_py(c, y0 + i * ys) + 4, yd, y0 + i * ys);
    repw_printf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">"
                   "time (in seconds)</text>\n", (c->left + c->right) / 2, c->bottom + 38);
    repw_printf(w, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
                   "font-size=\"13\">memory used (in MiB)</text>\n</g>\n",
                c->left - 50, (c->top + c->bottom) / 2);
    repw_printf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                   "stroke=\"#555\"/>\n", c->left, c->top, c->right - c->left, c->bottom - c->top);
}

static void curves(repw *w, const plot_chart *c)
{
    for (size_t i = 0; i < c->n_curves; i++) {
        const plot_curve *cv = &c->curves[i];
        repw_printf(w, "<polyline class=\"curve%s\" fill=\"none\" stroke=\"%s\" "
                       "stroke-width=\"%s\" stroke-linejoin=\"round\" points=\"",
                    cv->is_main ? " main" : " child", cv->color, cv->is_main ? "2.2" : "1.6");
        for (size_t k = 0; k < cv->npoints; k++)
            repw_printf(w, "%s%.1f,%.1f", k ? " " : "", plot_px(c, cv->v[k].t),
                        plot_py(c, cv->v[k].mib));
        repw_printf(w, "\"/>\n");
        if (cv->npoints == 1)
            repw_printf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                        plot_px(c, cv->v[0].t), plot_py(c, cv->v[0].mib), cv->color);
        if (cv->has_fit) {
            double t0 = cv->v[0].t, t1 = cv->v[cv->npoints - 1].t;
            repw_printf(w, "<line class=\"trend\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"6 4\"/>\n",
                        plot_px(c, t0), plot_py(c, cv->icept + cv->slope * t0), plot_px(c, t1),
                        plot_py(c, cv->icept + cv->slope * t1), cv->color);
        }
    }
}

static void call_label(repw *w, const plot_chart *c, const plot_call *k)
{
    repw_xml(w, c->labels[k->fn]);
    repw_printf(w, " %.3fs", k->t1 - k->t0);
}

/* Calls as spans: a row per depth, at the foot of the plot area (inside
 * it) or, in flame mode, in the band below it, outermost at the bottom. */
static void spans(repw *w, const plot_chart *c)
{
    double base = c->flame ? c->band_top + c->rows * PLOT_ROW_H : c->bottom - 2;
    repw_printf(w, "<g class=\"calls\" font-size=\"11\">\n");
    for (size_t i = 0; i < c->n_calls; i++) {
        const plot_call *k = &c->calls[i];
        if (k->depth >= c->rows || k->t1 < c->xmin || k->t0 > c->xmax)
            continue;
        double x0 = plot_px(c, k->t0 < c->xmin ? c->xmin : k->t0);
        double x1 = plot_px(c, k->t1 > c->xmax ? c->xmax : k->t1);
        double y = base - (k->depth + 1) * PLOT_ROW_H, wd = x1 - x0 < 1 ? 1 : x1 - x0;
        const char *col = plot_fn_color(k->fn);
        repw_printf(w, "<g class=\"call\"><title>");
        repw_xml(w, c->names[k->fn]);
        repw_printf(w, ": %.3f s, %.3f to %.3f MiB</title>", k->t1 - k->t0, k->m0, k->m1);
        repw_printf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                       "fill-opacity=\"%s\" stroke=\"%s\"/>", x0, y + 1, wd, PLOT_ROW_H - 2, col,
                    c->flame ? "0.75" : "0.45", col);
        size_t len = strlen(c->labels[k->fn]) + 7;
        if (wd >= 6.5 * (double)len) {
            repw_printf(w, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#111\">", x0 + 3, y + 13);
            call_label(w, c, k);
            repw_printf(w, "</text>");
        }
        repw_printf(w, "</g>\n");
        if (c->flame)
            continue;
        /* mprof's brackets, on the curve where the call began and ended */
        double v = (c->bottom - c->top) / 20, h = 7;
        double bx0 = plot_px(c, k->t0), by0 = plot_py(c, k->m0);
        double bx1 = plot_px(c, k->t1), by1 = plot_py(c, k->m1);
        repw_printf(w, "<path class=\"bracket\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                       "d=\"M%.1f %.1fH%.1fV%.1fH%.1f M%.1f %.1fH%.1fV%.1fH%.1f\"/>\n", col,
                    bx0 + h, by0 - v, bx0, by0 + v, bx0 + h, bx1 - h, by1 - v, bx1, by1 + v,
                    bx1 - h);
    }
    repw_printf(w, "</g>\n");
}

static void max_mark(repw *w, const plot_chart *c)
{
    if (c->max_m < 0)
        return;
    double x = plot_px(c, c->max_t), y = plot_py(c, c->max_m);
    repw_printf(w, "<g class=\"max\" stroke=\"%s\" stroke-dasharray=\"5 4\" stroke-width=\"1.3\">"
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>\n", MAX_COLOR,
                c->left, y, c->right, y, x, c->top, x, c->bottom);
    int right = x > (c->left + c->right) / 2;
    repw_printf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\"/>\n"
                   "<text class=\"maxlabel\" x=\"%.1f\" y=\"%.1f\" fill=\"%s\" font-size=\"12\" "
                   "text-anchor=\"%s\">max %.3f MiB at %.3f s</text>\n", x, y, MAX_COLOR,
                right ? x - 8 : x + 8, y - 8, MAX_COLOR, right ? "end" : "start", c->max_m,
                c->max_t);
}

static void legend(repw *w, const plot_chart *c)
{
    double x = c->right + 18, y = c->top + 10;
    repw_printf(w, "<g class=\"legend\" font-size=\"12\" fill=\"#222\">\n");
    for (size_t i = 0; i < c->n_curves; i++, y += 20) {
        const plot_curve *cv = &c->curves[i];
        repw_printf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                       "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">", x, y, x + 22, y,
                    cv->color, x + 28, y + 4);
        repw_xml(w, cv->label);
        repw_printf(w, "</text>\n");
        if (cv->has_fit) {
            y += 16;
            repw_printf(w, "<text x=\"%.1f\" y=\"%.1f\">slope %.5f MiB/s</text>\n", x + 28,
                        y + 4, cv->slope);
        }
    }
    for (size_t f = 0; f < c->n_names; f++, y += 20) {
        size_t calls = c->fn_calls[f];
        double total = c->fn_time[f];
        repw_printf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" fill=\"%s\" "
                       "fill-opacity=\"0.6\"/><text x=\"%.1f\" y=\"%.1f\">", x, y - 5,
                    plot_fn_color(f), x + 28, y + 4);
        repw_xml(w, c->labels[f]);
        repw_printf(w, " (%zu call%s, %.3fs)</text>\n", calls, calls == 1 ? "" : "s", total);
    }
    if (c->max_m >= 0)
        repw_printf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                       "stroke-dasharray=\"5 4\"/><text x=\"%.1f\" y=\"%.1f\">maximum %.3f MiB"
                       "</text>\n", x, y, x + 22, y, MAX_COLOR, x + 28, y + 4, c->max_m);
    repw_printf(w, "</g>\n");
}

void plot_svg(repw *w, const plot_chart *c, int interactive)
{
    repw_printf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"memline-plot\" "
                   "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                   "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
                c->width, c->height, c->width, c->height);
    repw_printf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    if (c->title) {
        repw_printf(w, "<text class=\"title\" x=\"%.1f\" y=\"32\" text-anchor=\"middle\" "
                       "font-size=\"16\" fill=\"#111\">", (c->left + c->right) / 2);
        repw_xml(w, c->title);
        repw_printf(w, "</text>\n");
    }
    repw_printf(w, "<defs><clipPath id=\"ml-area\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\"/></clipPath></defs>\n", c->left, c->top - 10,
                c->right - c->left, c->bottom - c->top + 10);
    axes(w, c);
    repw_printf(w, "<g clip-path=\"url(#ml-area)\">\n");
    if (!c->flame)
        spans(w, c);
    curves(w, c);
    max_mark(w, c);
    repw_printf(w, "</g>\n");
    if (c->flame) {
        repw_printf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#333\" "
                       "text-anchor=\"end\">calls</text>\n", c->left - 6, c->band_top + 12);
        spans(w, c);
    }
    legend(w, c);
    if (interactive)
        repw_printf(w, "<g id=\"ml-hover\" visibility=\"hidden\" pointer-events=\"none\">"
                       "<line id=\"ml-hline\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
                       "<circle id=\"ml-hdot\" r=\"4\" fill=\"#000\"/></g>\n"
                       "<rect id=\"ml-overlay\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                       "height=\"%.1f\" fill=\"transparent\"/>\n", c->top, c->bottom, c->left,
                    c->top, c->right - c->left, c->bottom - c->top);
    repw_printf(w, "</svg>\n");
}
