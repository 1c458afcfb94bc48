/* repw: the writer every renderer writes with (the report's JSON and HTML,
 * the diff, the timeline's SVG and HTML plots, and the diff verb's one
 * message): an sbuf with a sticky error, so rendering code checks once, at
 * the end. */
#ifndef ML_REPW_H
#define ML_REPW_H

#include "sbuf.h"

#include <stdint.h>

/* Invariant: once rc is not ML_OK nothing more is written. */
typedef struct repw {
    sbuf *b;
    int rc;
} repw;

void repw_printf(repw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void repw_puts(repw *w, const char *s);
void repw_xml(repw *w, const char *s);  /* escape_xml: attributes, names, paths */
void repw_html(repw *w, const char *s); /* escape_html: text shown as written */
/* s for a terminal: control characters but tab become their Control
 * Pictures, so no escape sequence from a file reaches the terminal. */
void repw_plain(repw *w, const char *s);
void repw_json(repw *w, const char *s); /* a JSON string literal, or null for NULL */
/* bytes as MiB with precision digits; sign forces a '+' on positive values. */
void repw_mib(repw *w, int64_t bytes, int precision, int sign);

#endif
