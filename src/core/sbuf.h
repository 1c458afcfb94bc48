/* sbuf: a growable byte string, always NUL-terminated once anything was
 * appended.  On out-of-memory an append returns ML_ENOMEM and leaves the
 * contents as they were. */
#ifndef ML_SBUF_H
#define ML_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *data; /* NULL while empty */
    size_t len, cap;
} sbuf;

#define SBUF_INIT {NULL, 0, 0}

int sbuf_append(sbuf *b, const char *s, size_t n);
int sbuf_puts(sbuf *b, const char *s);
int sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sbuf_pad(sbuf *b, char c, size_t n); /* appends n copies of c */
void sbuf_clear(sbuf *b);                /* empties, keeps the storage */
void sbuf_release(sbuf *b);              /* frees the storage; accepts empty */
const char *sbuf_str(const sbuf *b);     /* "" when empty; owned by b */

#endif
