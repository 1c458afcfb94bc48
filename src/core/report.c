/* report: formatting of the line report. */
#include "report.h"

#include "escape.h"
#include "mlerr.h"
#include "mlunits.h"

#include <string.h>


static int clamp_precision(int p)
{
    return p < 0 ? 0 : p > REPORT_MAX_PRECISION ? REPORT_MAX_PRECISION : p;
}

/* Returns rc; on error first cuts out back to len, dropping a half-written
 * line, so a failed call leaves the buffer as it was. */
static int undo_on_error(sbuf *out, size_t len, int rc)
{
    if (rc != ML_OK && out->data) {
        out->len = len;
        out->data[len] = '\0';
    }
    return rc;
}

/* The header stays one line whatever the name holds: control characters
 * are written as Python writes them in a string's repr (\n, \t, \r,
 * \xNN), and so are bytes that are not UTF-8, so the text is valid for
 * any stream and the name still reads as itself. */
int report_filename(sbuf *out, const char *filename)
{
    size_t len = out->len;
    int rc = sbuf_puts(out, "Filename: ");
    const unsigned char *p = (const unsigned char *)filename, *end = p + strlen(filename);
    while (rc == ML_OK && p < end) {
        size_t n = escape_utf8_seq(p, (size_t)(end - p));
        if (n > 1 || (n == 1 && *p >= 0x20 && *p != 0x7f))
            rc = sbuf_append(out, (const char *)p, n);
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            rc = sbuf_puts(out, *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : "\\r");
        else
            rc = sbuf_printf(out, "\\x%02x", *p);
        p += n ? n : 1;
    }
    if (rc == ML_OK)
        rc = sbuf_puts(out, "\n\n");
    return undo_on_error(out, len, rc);
}

int report_header(sbuf *out, const report_fmt *fmt)
{
    size_t len = out->len;
    int rc = sbuf_printf(out, "%6s %12s %12s  %10s", "Line #", "Mem usage", "Increment",
                         "Occurrences");
    /* "Occurrences" overflows its field by one; the first extra header takes
     * that character back so the extra columns line up with their values. */
    if (rc == ML_OK && (fmt->columns & REPORT_COL_HEAP))
        rc = sbuf_printf(out, " %11s %12s", "Heap incr", "Heap peak");
    if (rc == ML_OK && (fmt->columns & REPORT_COL_NATIVE))
        rc = sbuf_printf(out, " %12s %12s", "Native incr", "Native peak");
    if (rc == ML_OK)
        rc = sbuf_puts(out, "   Line Contents\n");
    return undo_on_error(out, len, rc);
}

int report_rule(sbuf *out, const report_fmt *fmt)
{
    size_t len = out->len;
    sbuf hdr = SBUF_INIT;
    int rc = report_header(&hdr, fmt);
    if (rc == ML_OK)
        rc = sbuf_pad(out, '=', hdr.len - 1);
    if (rc == ML_OK)
        rc = sbuf_puts(out, "\n");
    sbuf_release(&hdr);
    return undo_on_error(out, len, rc);
}

int report_mib(sbuf *out, int64_t bytes, int precision)
{
    int p = clamp_precision(precision);
    return sbuf_printf(out, "%*.*f MiB", p + 4, p, ml_mib(bytes));
}

/* A value cell right-aligned in width 12, as '{:>12}' would place it. */
static int mib_cell(sbuf *out, int64_t bytes, int precision)
{
    sbuf cell = SBUF_INIT;
    int rc = report_mib(&cell, bytes, precision);
    if (rc == ML_OK)
        rc = sbuf_printf(out, "%12s", sbuf_str(&cell));
    sbuf_release(&cell);
    return rc;
}

/* " <a> <b>": two more value cells, each after one space. */
static int cell_pair(sbuf *out, int64_t a, int64_t b, int precision)
{
    int rc = sbuf_puts(out, " ");
    if (rc == ML_OK)
        rc = mib_cell(out, a, precision);
    if (rc == ML_OK)
        rc = sbuf_puts(out, " ");
    if (rc == ML_OK)
        rc = mib_cell(out, b, precision);
    return rc;
}

int report_row(sbuf *out, const report_fmt *fmt, int lineno, const linestat *s,
               const char *src, size_t srclen)
{
    int heap = (fmt->columns & REPORT_COL_HEAP) != 0;
    int native = (fmt->columns & REPORT_COL_NATIVE) != 0;
    size_t len = out->len;
    int rc = sbuf_printf(out, "%6d ", lineno);
    if (rc != ML_OK)
        return rc;
    if (s && s->seen) {
        rc = mib_cell(out, s->mem_max, fmt->precision);
        if (rc == ML_OK)
            rc = sbuf_puts(out, " ");
        if (rc == ML_OK)
            rc = mib_cell(out, s->mem_incr, fmt->precision);
        if (rc == ML_OK)
            rc = sbuf_printf(out, "  %10llu", (unsigned long long)s->occurrences);
        if (rc == ML_OK && heap)
            rc = cell_pair(out, s->heap_incr, s->heap_peak, fmt->precision);
        if (rc == ML_OK && native)
            rc = cell_pair(out, s->native_incr, s->native_peak, fmt->precision);
    } else {
        rc = sbuf_pad(out, ' ', 12 + 1 + 12 + 2 + 10 + (heap ? 26 : 0) + (native ? 26 : 0));
    }
    if (rc == ML_OK)
        rc = sbuf_puts(out, "   ");
    if (rc == ML_OK)
        rc = sbuf_append(out, src, srclen);
    if (rc == ML_OK && (srclen == 0 || src[srclen - 1] != '\n'))
        rc = sbuf_puts(out, "\n");
    return undo_on_error(out, len, rc);
}
