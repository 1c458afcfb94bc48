/* plot_geom: the chart's pixel geometry and the functions' colours, shared
 * by plot_svg.c and plot_html.c (which write with core/repw.h, as the
 * report renderers do). */
#include "plot_int.h"

static const char *const fn_colors[] = {"#26a69a", "#d4a017", "#7cb342", "#ec407a", "#5c6bc0"};

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
