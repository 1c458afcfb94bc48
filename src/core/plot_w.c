/* plot_w: the writer the SVG and HTML documents are written with (a sticky
 * error, markup and JSON escaping) and the chart's pixel geometry, shared
 * by plot_svg.c and plot_html.c. */
#include "plot_int.h"

#include "escape.h"
#include "mlalloc.h"
#include "mlerr.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const fn_colors[] = {"#26a69a", "#d4a017", "#7cb342", "#ec407a", "#5c6bc0"};

void plot_printf(plot_w *w, const char *fmt, ...)
{
    if (w->rc != ML_OK)
        return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof small) {
        w->rc = sbuf_append(w->b, small, (size_t)n);
        return;
    }
    char *big = ml_malloc((size_t)n + 1);
    if (!big || n < 0) {
        ml_free(big);
        w->rc = ML_ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->rc = sbuf_append(w->b, big, (size_t)n);
    ml_free(big);
}

void plot_xml(plot_w *w, const char *s)
{
    if (w->rc == ML_OK)
        w->rc = escape_xml(w->b, s);
}

void plot_json(plot_w *w, const char *s)
{
    if (w->rc == ML_OK)
        w->rc = escape_json(w->b, s);
}

const char *plot_fn_color(size_t fn)
{
    return fn_colors[fn % (sizeof fn_colors / sizeof *fn_colors)];
}

double plot_px(const plot_chart *c, double t)
{
    return c->left + (t - c->xmin) / (c->xmax - c->xmin) * (c->right - c->left);
}

double plot_py(const plot_chart *c, double m)
{
    return c->bottom - (m - c->ymin) / (c->ymax - c->ymin) * (c->bottom - c->top);
}
