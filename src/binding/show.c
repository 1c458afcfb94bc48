/* show: the line report and code_map of a profiler, for Python.  The
 * text itself comes from the core (report.c); this file fetches the source
 * lines (linecache) and writes to the stream piece by piece. */
#include "profiler.h"

#include "core/mlerr.h"
#include "core/mlunits.h"
#include "core/report.h"
#include "core/sbuf.h"
#include "compat.h"
#include "heaphook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* stream.write(text), text given as UTF-8 bytes. */
static int write_text(PyObject *stream, const char *text, size_t len)
{
    PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "surrogatepass");
    if (!s)
        return -1;
    PyObject *r = PyObject_CallMethod(stream, "write", "O", s);
    Py_DECREF(s);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

static int write_sbuf(PyObject *stream, sbuf *b)
{
    int rc = write_text(stream, sbuf_str(b), b->len);
    sbuf_clear(b);
    return rc;
}

static int write_note(PyObject *stream, const linefunc *fn)
{
    PyObject *note = PyUnicode_FromFormat(
        "memline: incomplete: %s (%s): some calls lost their events to another tool; "
        "the table below lacks lines\n",
        fn->name, fn->filename);
    if (!note)
        return -1;
    PyObject *r = PyObject_CallMethod(stream, "write", "O", note);
    Py_DECREF(note);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int profiler_func_ran(const linefunc *fn)
{
    for (int i = 0; i < fn->nlines; i++)
        if (fn->rows[i].seen)
            return 1;
    return 0;
}

/* One function's block.  Writes happen piece by piece, as memory_profiler's
 * do, so LogFile's per-row filtering keeps working. */
int profiler_show_func(PyObject *stream, PyObject *linecache, const linefunc *fn,
                       const report_fmt *fmt, sbuf *b, const char *note)
{
    PyObject *name = PyUnicode_DecodeFSDefault(fn->filename); /* the code's own */
    PyObject *lines = name ? PyObject_CallMethod(linecache, "getlines", "O", name) : NULL;
    Py_XDECREF(name);
    if (!lines)
        return -1;
    int rc = -1;
    if (!PyList_Check(lines)) {
        PyErr_SetString(PyExc_TypeError, "linecache.getlines did not return a list");
        goto done;
    }
    if (report_filename(b, fn->filename) != ML_OK)
        goto oom_or_fail;
    /* Several processes' table: one line under Filename: says whose
     * (children.c), before the blank line that ends the header. */
    if (note && (b->len--, sbuf_printf(b, "%s\n\n", note) != ML_OK))
        goto oom_or_fail;
    if (write_sbuf(stream, b) < 0)
        goto oom_or_fail;
    if (report_header(b, fmt) != ML_OK || write_sbuf(stream, b) < 0)
        goto oom_or_fail;
    if (report_rule(b, fmt) != ML_OK || write_sbuf(stream, b) < 0)
        goto oom_or_fail;
    for (int i = 0; i < fn->nlines; i++) {
        int lineno = fn->first + i;
        const char *src = "";
        Py_ssize_t srclen = 0;
        PyObject *enc = NULL;
        if (lineno - 1 < PyList_GET_SIZE(lines)) {
            enc = PyUnicode_AsEncodedString(PyList_GET_ITEM(lines, lineno - 1), "utf-8",
                                            "surrogatepass");
            if (!enc)
                goto done;
            src = PyBytes_AS_STRING(enc);
            srclen = PyBytes_GET_SIZE(enc);
        }
        int frc = report_row(b, fmt, lineno, &fn->rows[i], src, (size_t)srclen);
        Py_XDECREF(enc);
        if (frc != ML_OK || write_sbuf(stream, b) < 0)
            goto oom_or_fail;
    }
    if (write_text(stream, "\n\n", 2) < 0)
        goto done;
    rc = 0;
    goto done;
oom_or_fail:
    if (!PyErr_Occurred())
        PyErr_NoMemory();
done:
    Py_DECREF(lines);
    return rc;
}

/* Native bytes of threads that run no Python are charged to no line (a
 * BLAS pool's buffers are not the line the main thread happened to be on);
 * a report of native memory says how much there was, from this much on. */
#define FOREIGN_SHOWN ((int64_t)64 * 1024)

static int show_foreign(PyObject *stream, const MLProfiler *prof, int precision, sbuf *b)
{
    int rc = sbuf_puts(b, "Native memory of threads that run no Python (charged to no line): peak ");
    if (rc == ML_OK)
        rc = report_mib(b, prof->foreign_peak, precision);
    if (rc == ML_OK)
        rc = sbuf_puts(b, ", net ");
    if (rc == ML_OK)
        rc = report_mib(b, prof->foreign_net, precision);
    if (rc == ML_OK)
        rc = sbuf_puts(b, "\n\n");
    if (rc != ML_OK) {
        PyErr_NoMemory();
        return -1;
    }
    return write_sbuf(stream, b);
}

/* MEMLINE_NATIVE_COLUMNS=1: the native columns unless asked otherwise. */
static int native_columns_default(void)
{
    const char *v = getenv("MEMLINE_NATIVE_COLUMNS");
    return v && *v && strcmp(v, "0") != 0;
}

int profiler_show(MLProfiler *prof, PyObject *stream, int precision, int native_columns)
{
    if (!stream || stream == Py_None) {
        stream = PySys_GetObject("stdout"); /* borrowed */
        if (!stream || stream == Py_None)
            return 0; /* no stdout (pythonw): nowhere to print */
    }
    Py_INCREF(stream);
    int rc = -1;
    sbuf b = SBUF_INIT;
    report_fmt fmt = {precision, heaphook_unavailable() ? 0u : REPORT_COL_HEAP};
    if (native_columns < 0)
        native_columns = native_columns_default();
    if (native_columns && prof->native_seen && fmt.columns)
        fmt.columns |= REPORT_COL_NATIVE;
    PyObject *linecache = PyImport_ImportModule("linecache");
    if (!linecache)
        goto done;
    for (size_t i = 0; i < linetab_count(prof->tab); i++) {
        const linefunc *fn = linetab_get(prof->tab, i);
        /* Never a table that silently lacks lines: a line before it (or
         * alone, when nothing was seen) says this function's is partial. */
        if (fn->incomplete && write_note(stream, fn) < 0)
            goto done;
        char note[64];
        if (prof->merged > 1)
            snprintf(note, sizeof note, "Processes: %d of %d", fn->processes, prof->merged);
        if (profiler_func_ran(fn) &&
            profiler_show_func(stream, linecache, fn, &fmt, &b,
                               prof->merged > 1 ? note : NULL) < 0)
            goto done;
    }
    if (prof->native_seen && prof->foreign_peak >= FOREIGN_SHOWN &&
        show_foreign(stream, prof, precision, &b) < 0)
        goto done;
    rc = 0;
done:
    Py_XDECREF(linecache);
    sbuf_release(&b);
    Py_DECREF(stream);
    return rc;
}

/* memory_profiler's code_map: a memline.CodeMap (a dict subclass defined in
 * the package) built from [(filename, code, [(lineno, (increment MiB, mem
 * usage MiB, occurrences) or None)])], one entry per function that ran. */
PyObject *profiler_code_map(MLProfiler *self)
{
    size_t nfuncs = linetab_count(self->tab);
    PyObject *codes = PyList_New((Py_ssize_t)nfuncs); /* index -> toplevel code */
    PyObject *blocks = codes ? PyList_New(0) : NULL;
    PyObject *key, *value, *result = NULL;
    Py_ssize_t pos = 0;
    if (!blocks)
        goto done;
    for (size_t i = 0; i < nfuncs; i++)
        PyList_SET_ITEM(codes, (Py_ssize_t)i, Py_NewRef(Py_None));
    while (PyDict_Next(self->funcs, &pos, &key, &value)) {
        Py_ssize_t i = PyLong_AsSsize_t(value);
        if (i >= 0 && (size_t)i < nfuncs)
            PyList_SetItem(codes, i, Py_NewRef(key));
    }
    for (size_t i = 0; i < nfuncs; i++) {
        const linefunc *fn = linetab_get(self->tab, i);
        if (!profiler_func_ran(fn))
            continue;
        PyObject *rows = PyList_New(fn->nlines);
        for (int j = 0; rows && j < fn->nlines; j++) {
            const linestat *st = &fn->rows[j];
            PyObject *v = st->seen ? Py_BuildValue("(ddK)", ml_mib(st->mem_incr),
                                                   ml_mib(st->mem_max),
                                                   (unsigned long long)st->occurrences)
                                   : Py_NewRef(Py_None);
            PyObject *row = v ? Py_BuildValue("(iN)", fn->first + j, v) : NULL;
            if (!row)
                Py_CLEAR(rows);
            else
                PyList_SET_ITEM(rows, j, row);
        }
        PyObject *item = rows ? Py_BuildValue("(NON)", PyUnicode_DecodeFSDefault(fn->filename),
                                              PyList_GET_ITEM(codes, (Py_ssize_t)i), rows)
                              : NULL;
        int rc = item ? PyList_Append(blocks, item) : -1;
        Py_XDECREF(item);
        if (rc < 0)
            goto done;
    }
    PyObject *pkg = PyImport_ImportModule("memline");
    PyObject *cls = pkg ? PyObject_GetAttrString(pkg, "CodeMap") : NULL;
    result = cls ? PyObject_CallOneArg(cls, blocks) : NULL;
    Py_XDECREF(cls);
    Py_XDECREF(pkg);
done:
    Py_XDECREF(blocks);
    Py_XDECREF(codes);
    return result;
}

/* The heap columns in bytes, for code that ranks lines rather than prints
 * them (the pytest plugin's worst lines): one tuple per line that ran. */
PyObject *profiler_heap_rows(MLProfiler *self)
{
    PyObject *rows = PyList_New(0);
    for (size_t i = 0; rows && i < linetab_count(self->tab); i++) {
        const linefunc *fn = linetab_get(self->tab, i);
        for (int j = 0; j < fn->nlines; j++) {
            const linestat *st = &fn->rows[j];
            if (!st->seen)
                continue;
            PyObject *row = Py_BuildValue("(siKLL)", fn->filename, fn->first + j,
                                          (unsigned long long)st->occurrences,
                                          (long long)st->heap_incr, (long long)st->heap_peak);
            if (!row || PyList_Append(rows, row) < 0) {
                Py_XDECREF(row);
                Py_CLEAR(rows);
                break;
            }
            Py_DECREF(row);
        }
    }
    return rows;
}
