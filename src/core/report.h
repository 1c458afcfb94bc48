/* report: memory_profiler's line report as text.
 *
 * The first five columns and their widths are memory_profiler's
 * ('{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}', values '{:{p+4}.{p}f} MiB'),
 * so parsers of that report keep working.  memline's own columns go after
 * Occurrences and before Line Contents.  Bytes become MiB only here. */
#ifndef ML_REPORT_H
#define ML_REPORT_H

#include "linetab.h"
#include "sbuf.h"

#include <stdint.h>

enum {
    REPORT_COL_HEAP = 1u << 0,  /* Heap incr and Heap peak */
    REPORT_COL_NATIVE = 1u << 1 /* Native incr and Native peak (their native part),
                                   after the heap columns */
};

#define REPORT_MAX_PRECISION 12

typedef struct report_fmt {
    int precision;    /* digits after the point, 0..REPORT_MAX_PRECISION */
    unsigned columns; /* REPORT_COL_* bits */
} report_fmt;

/* Each appends one line, '\n' included, and returns ML_OK or ML_ENOMEM; on
 * ML_ENOMEM out holds the text it held before the call. */
int report_filename(sbuf *out, const char *filename); /* "Filename: F\n\n" */
int report_header(sbuf *out, const report_fmt *fmt);
int report_rule(sbuf *out, const report_fmt *fmt);

/* One row.  s == NULL or !s->seen prints the line as never run.  src is the
 * source line, with or without its newline; one is added when missing. */
int report_row(sbuf *out, const report_fmt *fmt, int lineno, const linestat *s,
               const char *src, size_t srclen);

/* "<bytes in MiB, width precision+4> MiB". */
int report_mib(sbuf *out, int64_t bytes, int precision);

#endif
