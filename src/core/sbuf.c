/* sbuf: growable strings for reports and files. */
#include "sbuf.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Makes room for extra more bytes and the NUL.  Capacities are powers of two
 * from 64, so a need above SIZE_MAX / 2 + 1 could not be met without the
 * doubling (or len + extra + 1 itself) wrapping around: refuse it. */
static int reserve(sbuf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return ML_ENOMEM;
    if (b->len + extra + 1 <= b->cap)
        return ML_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *data = ml_realloc(b->data, cap);
    if (!data)
        return ML_ENOMEM;
    b->data = data;
    b->cap = cap;
    return ML_OK;
}

int sbuf_append(sbuf *b, const char *s, size_t n)
{
    int rc = reserve(b, n);
    if (rc != ML_OK)
        return rc;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ML_OK;
}

int sbuf_puts(sbuf *b, const char *s)
{
    return sbuf_append(b, s, strlen(s));
}

int sbuf_pad(sbuf *b, char c, size_t n)
{
    int rc = reserve(b, n);
    if (rc != ML_OK)
        return rc;
    memset(b->data + b->len, c, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ML_OK;
}

int sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return ML_EINVAL;
    int rc = reserve(b, (size_t)need);
    if (rc != ML_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
    return ML_OK;
}

void sbuf_clear(sbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void sbuf_release(sbuf *b)
{
    ml_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *sbuf_str(const sbuf *b)
{
    return b->data ? b->data : "";
}
