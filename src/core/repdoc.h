/* repdoc: a line report as data, the input of the JSON and HTML writers
 * and the output of the JSON reader.
 *
 * A repview is what a writer reads: the run's metadata and, per function,
 * its rows (a linefunc) beside its source lines.  Everything in a view is
 * borrowed.  The binding builds one over a profiler's line table and the
 * lines linecache gives; repdoc_load builds an owning repdoc from a JSON
 * report and hands out a view of it. */
#ifndef ML_REPDOC_H
#define ML_REPDOC_H

#include "linetab.h"

#include <stddef.h>
#include <stdint.h>

/* The JSON schema this memline writes and reads (docs/json.md). */
#define REPDOC_SCHEMA_VERSION 1

/* Invariant: strings are NUL-terminated UTF-8 (writers repair what is
 * not); NULL means unknown and is written as null. */
typedef struct repmeta {
    const char *memline_version;
    const char *python_version;
    const char *backend;
    const char *timestamp;    /* ISO 8601, UTC: "2026-12-01T10:30:51Z" */
    const char *const *argv;  /* the command line, argc strings */
    size_t argc;
    int64_t process_count;    /* processes Mem usage covers, when written */
    int include_children;
    int heap;                 /* the heap columns were measured */
    /* Child processes (docs/processes.md): how many processes' profiled
     * code the tables hold (0 when unknown: read as 1), and how many ended
     * without sending their tables or were still running at the report. */
    int64_t processes, processes_lost, processes_running;
} repmeta;

/* Invariant: src has fn->nlines entries; src[i] is line fn->first + i
 * without its newline ("" when the source is unknown). */
typedef struct repfunc {
    const linefunc *fn;
    const char *const *src;
} repfunc;

/* Invariant: funcs has nfuncs entries (NULL when none). */
typedef struct repview {
    repmeta meta;
    const repfunc *funcs;
    size_t nfuncs;
} repview;

/* The largest Heap peak (or, without heap columns, Mem usage) of fn's
 * lines that ran, and the line it is on (0 when no line ran). */
int64_t repfunc_peak(const repfunc *f, int heap, int *line);

typedef struct repdoc repdoc;

/* Why a load failed: where in the text (1-based; 0 when not a syntax
 * error) and what, as a sentence without a final period. */
typedef struct repdoc_err {
    size_t line, column;
    char msg[200];
} repdoc_err;

/* Reads a JSON report of schema REPDOC_SCHEMA_VERSION from text[0..len).
 * Returns ML_OK with *out owned by the caller (repdoc_free), or
 * ML_EFORMAT (not JSON, not a report, another schema version; err says
 * which) or ML_ENOMEM, with *out NULL.  Linear in len. */
int repdoc_load(const char *text, size_t len, repdoc **out, repdoc_err *err);
void repdoc_free(repdoc *doc); /* accepts NULL */

/* The largest file repdoc_load_file reads. */
#define REPDOC_MAX_BYTES ((size_t)1 << 30)

/* repdoc_load on the contents of path.  Returns as repdoc_load does, or
 * ML_ENOENT, ML_EACCES, ML_EIO (the file cannot be read; err says so),
 * ML_EINVAL (path is a directory) or ML_EFORMAT (larger than
 * REPDOC_MAX_BYTES). */
int repdoc_load_file(const char *path, repdoc **out, repdoc_err *err);

/* The document as a view, valid until repdoc_free. */
const repview *repdoc_view(const repdoc *doc);

#endif
