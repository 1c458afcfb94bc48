/* report_html: the line report as one self-contained HTML page for people
 * (or, inline, as a fragment for a notebook's output): a summary of the
 * functions by peak, then each function's source with per-line bars for
 * Heap peak and Increment and the numbers beside them.  The columns sort,
 * hovering a bar shows every figure of its line, and the colours follow
 * the reader's light or dark setting.  No network: no external script,
 * style or font.  Every string from the program (source lines, names,
 * paths, the command line) is escaped, so nothing in it can run. */
#ifndef ML_REPORT_HTML_H
#define ML_REPORT_HTML_H

#include "repdoc.h"
#include "sbuf.h"

typedef struct report_html_opts {
    int precision;        /* digits after the point of the MiB figures, 0..12 */
    int fragment;         /* a <div> for embedding, not a whole page */
    const char *id_prefix; /* prefix of the element ids (links between the summary
                              and the functions); NULL: "mlr".  Distinct prefixes keep
                              several fragments on one page apart.  [A-Za-z0-9_-]. */
} report_html_opts;

/* How many lines of a function are marked as its worst, at most. */
#define REPORT_HTML_WORST 3

/* Appends the report of v.  Returns ML_OK, ML_EINVAL (a bad id_prefix)
 * or ML_ENOMEM, with out as it was on error. */
int report_html(sbuf *out, const repview *v, const report_html_opts *o);

#endif
