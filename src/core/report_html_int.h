/* report_html_int: what the HTML line report (report_html.c) and the
 * HTML diff (repdiff_html.c) share: the frame of the page, its style and
 * script (report_html_assets.c), and the cells.  Not part of the core's
 * interface. */
#ifndef ML_REPORT_HTML_INT_H
#define ML_REPORT_HTML_INT_H

#include "repdoc.h"
#include "repw.h"

#include <stdint.h>

/* The fixed style (scoped to .mlr) and script (it reads only attributes
 * and writes only textContent, classes and styles, never markup). */
extern const char rhtml_css[];
extern const char rhtml_js[];

/* Opens the document: with fragment the root <div> holding its <style>;
 * else the page's head (title escaped), then <body> and the root. */
void rhtml_open(repw *w, int fragment, const char *title, int precision);
/* Closes what rhtml_open opened, with the tooltip and the script. */
void rhtml_close(repw *w, int fragment);

/* The run's metadata line: command line, backend, versions, time. */
void rhtml_meta(repw *w, const repmeta *m);

/* A numeric cell sorted by v: a bar of |v| / scale (class cls, "neg" added
 * for v < 0) and the value in MiB.  known 0 draws an empty cell. */
void rhtml_bar(repw *w, int64_t v, int64_t scale, const char *cls, int precision, int sign,
               int known);
/* A plain numeric cell in MiB (sign: a '+' on positive values). */
void rhtml_mib(repw *w, int64_t v, int precision, int sign, int known);

/* Appends "Name value" to a tooltip attribute being written, a line per
 * call after the first. */
void rhtml_tip_mib(repw *w, const char *name, int64_t v, int precision, int sign);

/* Whether id_prefix is usable in ids and fragment links. */
int rhtml_prefix_ok(const char *p);

#endif
