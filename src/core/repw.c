/* repw: sticky-error writing for the renderers. */
#include "repw.h"

#include "escape.h"
#include "mlalloc.h"
#include "mlerr.h"
#include "mlunits.h"

#include <stdarg.h>
#include <stdio.h>

void repw_printf(repw *w, const char *fmt, ...)
{
    if (w->rc != ML_OK)
        return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->rc = ML_EINVAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        w->rc = sbuf_append(w->b, small, (size_t)n);
        return;
    }
    char *big = ml_malloc((size_t)n + 1);
    if (!big) {
        w->rc = ML_ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->rc = sbuf_append(w->b, big, (size_t)n);
    ml_free(big);
}

void repw_puts(repw *w, const char *s)
{
    if (w->rc == ML_OK)
        w->rc = sbuf_puts(w->b, s);
}

void repw_xml(repw *w, const char *s)
{
    if (w->rc == ML_OK)
        w->rc = escape_xml(w->b, s ? s : "");
}

void repw_html(repw *w, const char *s)
{
    if (w->rc == ML_OK)
        w->rc = escape_html(w->b, s ? s : "");
}

void repw_plain(repw *w, const char *s)
{
    for (const char *p = s ? s : ""; w->rc == ML_OK && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
            const char *run = p;
            while (p[1] && ((unsigned char)p[1] == '\t' ||
                            ((unsigned char)p[1] >= 0x20 && (unsigned char)p[1] != 0x7f)))
                p++;
            w->rc = sbuf_append(w->b, run, (size_t)(p - run) + 1);
        } else {
            char pic[4] = {(char)0xe2, (char)0x90, (char)(c == 0x7f ? 0xa1 : 0x80 + c), 0};
            w->rc = sbuf_puts(w->b, pic);
        }
    }
}

void repw_json(repw *w, const char *s)
{
    if (w->rc != ML_OK)
        return;
    w->rc = s ? escape_json(w->b, s) : sbuf_puts(w->b, "null");
}

void repw_mib(repw *w, int64_t bytes, int precision, int sign)
{
    repw_printf(w, sign && bytes ? "%+.*f" : "%.*f", precision, ml_mib(bytes));
}
