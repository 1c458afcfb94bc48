/* escape: XML and JSON escaping with UTF-8 repair. */
#include "escape.h"

#include "mlerr.h"

#include <stdint.h>
#include <string.h>

size_t escape_utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4 || len > n)
        return 0;
    uint32_t cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Appends s, escaping through rep(): rep returns the replacement for an
 * ASCII byte, or NULL to copy it. */
static int escape(sbuf *b, const char *s, const char *(*rep)(unsigned char, char[8]))
{
    size_t old = b->len;
    int rc = ML_OK;
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (rc == ML_OK && p < end) {
        char tmp[8];
        size_t n = escape_utf8_seq(p, (size_t)(end - p));
        if (n == 0) {
            rc = sbuf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
            p++;
        } else if (n > 1) {
            rc = sbuf_append(b, (const char *)p, n);
            p += n;
        } else {
            const char *r = rep(*p, tmp);
            rc = r ? sbuf_puts(b, r) : sbuf_append(b, (const char *)p, 1);
            p++;
        }
    }
    if (rc != ML_OK) {
        b->len = old;
        if (b->data)
            b->data[old] = '\0';
    }
    return rc;
}

static const char *xml_rep(unsigned char c, char tmp[8])
{
    (void)tmp;
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    }
    return c < 0x20 || c == 0x7f ? " " : NULL;
}

static const char *html_rep(unsigned char c, char tmp[8])
{
    if (c == '\t')
        return NULL;
    if (c >= 0x20 && c != 0x7f)
        return xml_rep(c, tmp);
    /* U+2400 + c is E2 90 80+c; U+2421 (DEL) is E2 90 A1. */
    tmp[0] = (char)0xe2;
    tmp[1] = (char)0x90;
    tmp[2] = (char)(c == 0x7f ? 0xa1 : 0x80 + c);
    tmp[3] = '\0';
    return tmp;
}

static const char *json_rep(unsigned char c, char tmp[8])
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\t': return "\\t";
    }
    if (c >= 0x20 && c != 0x7f && c != '<' && c != '>' && c != '&')
        return NULL;
    memcpy(tmp, "\\u00", 4);
    tmp[4] = hex[c >> 4];
    tmp[5] = hex[c & 15];
    tmp[6] = '\0';
    return tmp;
}

int escape_xml(sbuf *b, const char *s)
{
    return escape(b, s, xml_rep);
}

int escape_html(sbuf *b, const char *s)
{
    return escape(b, s, html_rep);
}

int escape_json(sbuf *b, const char *s)
{
    size_t old = b->len;
    int rc = sbuf_puts(b, "\"");
    if (rc == ML_OK)
        rc = escape(b, s, json_rep);
    if (rc == ML_OK)
        rc = sbuf_puts(b, "\"");
    if (rc != ML_OK) {
        b->len = old;
        if (b->data)
            b->data[old] = '\0';
    }
    return rc;
}
