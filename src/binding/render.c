/* render: gathering a report's source lines and metadata for the core's
 * JSON and HTML writers. */
#include "render.h"

#include "backend.h"
#include "core/memsrc.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/repdoc.h"
#include "core/report_html.h"
#include "core/report_json.h"
#include "core/sbuf.h"
#include "heaphook.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

int render_format(PyObject *name, int *format)
{
    const char *s = name && name != Py_None && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name)
                                                                    : NULL;
    if (!name || name == Py_None)
        *format = RENDER_TEXT;
    else if (s && strcmp(s, "text") == 0)
        *format = RENDER_TEXT;
    else if (s && strcmp(s, "json") == 0)
        *format = RENDER_JSON;
    else if (s && strcmp(s, "html") == 0)
        *format = RENDER_HTML;
    else {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "format must be 'text', 'json' or 'html', not %R",
                         name);
        return -1;
    }
    return 0;
}

/* What render_report builds and frees.  Invariant: funcs[0..nfuncs) have
 * their src arrays owned here, each string too; argv likewise. */
typedef struct gathered {
    repfunc *funcs;
    size_t nfuncs;
    char **argv;
    size_t argc;
} gathered;

static void gathered_release(gathered *g)
{
    for (size_t i = 0; g->funcs && i < g->nfuncs; i++) {
        char **src = (char **)g->funcs[i].src;
        for (int k = 0; src && k < g->funcs[i].fn->nlines; k++)
            ml_free(src[k]);
        ml_free(src);
    }
    ml_free(g->funcs);
    for (size_t i = 0; g->argv && i < g->argc; i++)
        ml_free(g->argv[i]);
    ml_free(g->argv);
}

/* A str as a new UTF-8 C string (lone surrogates kept as bytes: the
 * writers repair them), without one trailing newline. */
static char *utf8_copy(PyObject *s, int strip_newline)
{
    PyObject *enc = PyUnicode_Check(s) ? PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass")
                                       : PyObject_Str(s);
    if (enc && !PyBytes_Check(enc)) {
        PyObject *e2 = PyUnicode_AsEncodedString(enc, "utf-8", "surrogatepass");
        Py_DECREF(enc);
        enc = e2;
    }
    if (!enc)
        return NULL;
    const char *p = PyBytes_AS_STRING(enc);
    size_t n = (size_t)PyBytes_GET_SIZE(enc);
    if (strip_newline && n && p[n - 1] == '\n')
        n--;
    char *copy = ml_malloc(n + 1);
    if (copy) {
        memcpy(copy, p, n);
        copy[n] = '\0';
    } else {
        PyErr_NoMemory();
    }
    Py_DECREF(enc);
    return copy;
}

static int gather_sources(MLProfiler *prof, gathered *g)
{
    PyObject *linecache = PyImport_ImportModule("linecache");
    int rc = linecache ? 0 : -1;
    size_t n = linetab_count(prof->tab);
    if (rc == 0 && !(g->funcs = ml_calloc(n ? n : 1, sizeof *g->funcs))) {
        PyErr_NoMemory();
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const linefunc *fn = linetab_get(prof->tab, i);
        if (!profiler_func_ran(fn))
            continue;
        repfunc *f = &g->funcs[g->nfuncs++];
        f->fn = fn;
        char **src = ml_calloc((size_t)fn->nlines, sizeof *src);
        f->src = (const char *const *)src;
        PyObject *lines = src ? PyObject_CallMethod(linecache, "getlines", "s", fn->filename)
                              : NULL;
        if (!src)
            PyErr_NoMemory();
        if (lines && !PyList_Check(lines))
            PyErr_SetString(PyExc_TypeError, "linecache.getlines did not return a list");
        rc = lines && PyList_Check(lines) ? 0 : -1;
        for (int k = 0; rc == 0 && k < fn->nlines; k++) {
            Py_ssize_t at = fn->first - 1 + k;
            src[k] = at < PyList_GET_SIZE(lines) ? utf8_copy(PyList_GET_ITEM(lines, at), 1)
                                                 : ml_strdup("");
            if (!src[k]) {
                if (!PyErr_Occurred())
                    PyErr_NoMemory();
                rc = -1;
            }
        }
        Py_XDECREF(lines);
    }
    Py_XDECREF(linecache);
    return rc;
}

static int gather_argv(PyObject *command_line, gathered *g)
{
    PyObject *seq = NULL;
    if (command_line && command_line != Py_None) {
        seq = PySequence_Fast(command_line, "command_line must be a sequence of str");
    } else {
        PyObject *v = PySys_GetObject("orig_argv"); /* borrowed; 3.10+ */
        if (!v)
            v = PySys_GetObject("argv");
        seq = v ? PySequence_Fast(v, "sys.argv is not a sequence") : PyList_New(0);
    }
    if (!seq)
        return -1;
    int rc = 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n && !(g->argv = ml_calloc((size_t)n, sizeof *g->argv))) {
        PyErr_NoMemory();
        rc = -1;
    }
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        if (!(g->argv[i] = utf8_copy(PySequence_Fast_GET_ITEM(seq, i), 0)))
            rc = -1;
        else
            g->argc++;
    }
    Py_DECREF(seq);
    return rc;
}

static int64_t process_count(MLProfiler *prof)
{
    pid_t *pids = NULL;
    size_t n = 0;
    if (!prof->client.probe.children || memsrc_descendants(getpid(), &pids, &n) != ML_OK)
        n = 0;
    ml_free(pids);
    return 1 + (int64_t)n;
}

PyObject *render_report(MLProfiler *prof, int format, int precision, int fragment,
                        PyObject *command_line)
{
    static unsigned fragments;
    gathered g = {0};
    sbuf out = SBUF_INIT;
    PyObject *result = NULL;
    char version[64], stamp[32], prefix[32];
    const char *pv = Py_GetVersion();
    size_t vn = strcspn(pv, " ");
    snprintf(version, sizeof version, "%.*s", (int)(vn < 63 ? vn : 63), pv);
    if (gather_sources(prof, &g) < 0 || gather_argv(command_line, &g) < 0)
        goto done;
    repview v = {{MEMLINE_VERSION, version, backend_name(prof->backend),
                  report_json_timestamp(stamp, (int64_t)time(NULL)),
                  (const char *const *)g.argv, g.argc, process_count(prof),
                  prof->client.probe.children, heaphook_unavailable() == NULL,
                  prof->merging ? prof->merged : 1, prof->lost, prof->running},
                 g.funcs, g.nfuncs};
    int rc;
    if (format == RENDER_JSON) {
        rc = report_json(&out, &v);
    } else {
        snprintf(prefix, sizeof prefix, "mlr%u", ++fragments);
        report_html_opts o = {precision, fragment, fragment ? prefix : NULL};
        rc = report_html(&out, &v, &o);
    }
    if (rc != ML_OK) {
        PyErr_NoMemory();
        goto done;
    }
    result = PyUnicode_DecodeUTF8(sbuf_str(&out), (Py_ssize_t)out.len, "replace");
done:
    gathered_release(&g);
    sbuf_release(&out);
    return result;
}
