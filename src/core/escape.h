/* escape: text made safe to embed in SVG/HTML markup and in JSON inside a
 * <script> element.  Both escapers also repair their input: bytes that are
 * not valid UTF-8 become U+FFFD and control characters become spaces (XML
 * forbids them), so any string a .dat file holds yields a well-formed
 * document. */
#ifndef ML_ESCAPE_H
#define ML_ESCAPE_H

#include "sbuf.h"

#include <stddef.h>

/* The length (1-4) of the valid UTF-8 sequence that starts s, looking at
 * no more than n bytes; 0 when s does not start one (a bad lead byte or
 * continuation, an overlong form, a surrogate, beyond U+10FFFF, or cut off
 * by n).  n must be at least 1. */
size_t escape_utf8_seq(const unsigned char *s, size_t n);

/* Appends s with & < > " ' as character references.  Returns ML_OK, or
 * ML_ENOMEM with b as it was. */
int escape_xml(sbuf *b, const char *s);

/* Appends s as a JSON string literal, quotes included, with < > & written
 * as \u003c \u003e \u0026 so that it can never close a <script> element.
 * Returns ML_OK, or ML_ENOMEM with b as it was. */
int escape_json(sbuf *b, const char *s);

/* Appends s as HTML text that shows exactly as written: & < > " ' as
 * character references, tabs kept, and every other control character as
 * its visible Control Picture (U+2400 + c, U+2421 for DEL), so that a
 * stray byte in a source line can neither vanish nor disturb the page.
 * Returns ML_OK, or ML_ENOMEM with b as it was. */
int escape_html(sbuf *b, const char *s);

#endif
