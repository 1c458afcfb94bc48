/* render: a profiler's report as JSON or HTML (the core's report_json and
 * report_html): this file gathers what they need from Python, the source
 * lines from linecache and the run's metadata, and hands it over. */
#ifndef ML_RENDER_H
#define ML_RENDER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "profiler.h"

enum { RENDER_TEXT = 0, RENDER_JSON, RENDER_HTML };

/* The format named by name ("text", "json", "html"; None is text) into
 * *format.  Returns 0, or -1 with ValueError set. */
int render_format(PyObject *name, int *format);

/* prof's report (the functions that ran) as a new str in format
 * RENDER_JSON or RENDER_HTML; fragment asks for an HTML <div> instead of
 * a page.  command_line is a sequence of str, or NULL or None for
 * sys.orig_argv (sys.argv before 3.10).  Returns NULL with an exception
 * set on error. */
PyObject *render_report(MLProfiler *prof, int format, int precision, int fragment,
                        PyObject *command_line);

#endif
