/* json: the reader.  A recursive descent over the text, depth-bounded;
 * the values of an open container wait on one shared stack and move into
 * an exactly sized array when it closes. */
#include "json.h"

#include "mlalloc.h"
#include "mlerr.h"
#include "sbuf.h"

#include <string.h>

/* Invariant: p <= end; stack[0..nstack) are the values of the containers
 * being read, innermost last, each with its key (NULL in arrays) in keys. */
typedef struct parser {
    const char *text, *p, *end;
    json_value *stack;
    char **keys;
    size_t nstack, cap;
    json_err *err;
    int rc;
    sbuf tmp; /* a string being decoded */
} parser;

static void value_release(json_value *v);

static int fail(parser *ps, const char *msg)
{
    if (ps->rc == ML_OK) {
        ps->rc = ML_EFORMAT;
        size_t line = 1, col = 1;
        for (const char *q = ps->text; q < ps->p; q++) {
            if (*q == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        ps->err->line = line;
        ps->err->column = col;
        ps->err->msg = msg;
    }
    return ps->rc;
}

static int oom(parser *ps)
{
    if (ps->rc == ML_OK)
        ps->rc = ML_ENOMEM;
    return ps->rc;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int push(parser *ps, json_value *v, char *key)
{
    if (ps->nstack == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        json_value *s = ml_realloc(ps->stack, cap * sizeof *s);
        if (!s)
            return oom(ps);
        ps->stack = s;
        char **k = ml_realloc(ps->keys, cap * sizeof *k);
        if (!k)
            return oom(ps);
        ps->keys = k;
        ps->cap = cap;
    }
    ps->stack[ps->nstack] = *v;
    ps->keys[ps->nstack] = key;
    ps->nstack++;
    return ML_OK;
}

/* Appends code point cp as UTF-8 (U+FFFD for NUL and surrogates). */
static int put_utf8(sbuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return sbuf_append(b, u, n);
}

/* Four hex digits at p into *cp; 0 when they are not. */
static int hex4(const char *p, const char *end, uint32_t *cp)
{
    if (end - p < 4)
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return 0;
        v = v * 16 + (uint32_t)d;
    }
    *cp = v;
    return 1;
}

/* A string at p (on its opening quote) into a new C string *out. */
static int read_string(parser *ps, char **out, size_t *outlen)
{
    sbuf_clear(&ps->tmp);
    ps->p++;
    for (;;) {
        const char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' &&
               (unsigned char)*ps->p >= 0x20)
            ps->p++;
        if (ps->p > run && sbuf_append(&ps->tmp, run, (size_t)(ps->p - run)) != ML_OK)
            return oom(ps);
        if (ps->p >= ps->end)
            return fail(ps, "unterminated string");
        char c = *ps->p;
        if (c == '"')
            break;
        if (c != '\\')
            return fail(ps, "control character in a string (write it as \\u00XX)");
        if (ps->end - ps->p < 2)
            return fail(ps, "unterminated string");
        char e = ps->p[1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char to[] = "\"\\/\b\f\n\r\t";
            if (sbuf_append(&ps->tmp, &to[simple - "\"\\/bfnrt"], 1) != ML_OK)
                return oom(ps);
            ps->p += 2;
            continue;
        }
        if (e != 'u')
            return fail(ps, "unknown escape in a string");
        uint32_t cp, lo;
        if (!hex4(ps->p + 2, ps->end, &cp))
            return fail(ps, "\\u needs four hex digits");
        ps->p += 6;
        if (cp >= 0xd800 && cp <= 0xdbff && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
            ps->p[1] == 'u' && hex4(ps->p + 2, ps->end, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            ps->p += 6;
        }
        if (put_utf8(&ps->tmp, cp) != ML_OK)
            return oom(ps);
    }
    ps->p++; /* the closing quote */
    char *s = ml_malloc(ps->tmp.len + 1);
    if (!s)
        return oom(ps);
    memcpy(s, sbuf_str(&ps->tmp), ps->tmp.len + 1);
    *out = s;
    *outlen = ps->tmp.len;
    return ML_OK;
}

/* A number, checked against JSON's grammar; kept when it is an int64. */
static int read_number(parser *ps, json_value *v)
{
    const char *p = ps->p, *end = ps->end;
    int neg = 0, integral = 1, overflow = 0;
    uint64_t mag = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9')
        return fail(ps, "bad number");
    if (*p == '0') {
        p++;
    } else {
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (mag > (UINT64_MAX - d) / 10)
                overflow = 1;
            else
                mag = mag * 10 + d;
        }
    }
    if (p < end && *p == '.') {
        integral = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(ps, "bad number: digits must follow the point");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integral = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(ps, "bad number: digits must follow the exponent");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    ps->p = p;
    v->type = JSON_NUMBER;
    if (integral && !overflow && mag <= (uint64_t)INT64_MAX + (uint64_t)neg) {
        v->is_int = 1;
        v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    }
    return ML_OK;
}

static int read_value(parser *ps, json_value *v, int depth);

/* The container at p: its values go on the stack, then into v. */
static int read_container(parser *ps, json_value *v, int depth)
{
    int object = *ps->p == '{';
    char close = object ? '}' : ']';
    size_t base = ps->nstack;
    ps->p++;
    if (depth >= JSON_MAX_DEPTH)
        return fail(ps, "nested too deeply");
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
    } else {
        for (;;) {
            char *key = NULL;
            size_t klen;
            skip_ws(ps);
            if (object) {
                if (ps->p >= ps->end || *ps->p != '"')
                    return fail(ps, "expected a member name in quotes");
                if (read_string(ps, &key, &klen) != ML_OK)
                    return ps->rc;
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':') {
                    ml_free(key);
                    return fail(ps, "expected ':' after a member name");
                }
                ps->p++;
            }
            json_value item = {0};
            if (read_value(ps, &item, depth + 1) != ML_OK || push(ps, &item, key) != ML_OK) {
                value_release(&item);
                ml_free(key);
                return ps->rc;
            }
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                break;
            }
            return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    size_t n = ps->nstack - base;
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    if (n == 0)
        return ML_OK;
    if (object) {
        json_member *m = ml_calloc(n, sizeof *m);
        if (!m)
            return oom(ps);
        for (size_t i = 0; i < n; i++) {
            m[i].key = ps->keys[base + i];
            m[i].value = ps->stack[base + i];
        }
        v->members = m;
    } else {
        json_value *items = ml_calloc(n, sizeof *items);
        if (!items)
            return oom(ps);
        memcpy(items, ps->stack + base, n * sizeof *items);
        v->items = items;
    }
    v->count = n;
    ps->nstack = base;
    return ML_OK;
}

static int literal(parser *ps, const char *word, json_type t, json_value *v)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "expected a value");
    ps->p += n;
    v->type = t;
    return ML_OK;
}

static int read_value(parser *ps, json_value *v, int depth)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[':
        return read_container(ps, v, depth);
    case '"':
        v->type = JSON_STRING;
        return read_string(ps, &v->str, &v->len);
    case 't':
        return literal(ps, "true", JSON_TRUE, v);
    case 'f':
        return literal(ps, "false", JSON_FALSE, v);
    case 'n':
        return literal(ps, "null", JSON_NULL, v);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return read_number(ps, v);
        return fail(ps, "expected a value");
    }
}

static void value_release(json_value *v)
{
    ml_free(v->str);
    for (size_t i = 0; v->items && i < v->count; i++)
        value_release(&v->items[i]);
    ml_free(v->items);
    for (size_t i = 0; v->members && i < v->count; i++) {
        ml_free(v->members[i].key);
        value_release(&v->members[i].value);
    }
    ml_free(v->members);
}

void json_free(json_value *v)
{
    if (!v)
        return;
    value_release(v);
    ml_free(v);
}

int json_parse(const char *text, size_t len, json_value **out, json_err *err)
{
    json_err unused;
    parser ps = {text, text, text + len, NULL, NULL, 0, 0, err ? err : &unused, ML_OK,
                 SBUF_INIT};
    *out = NULL;
    ps.err->line = ps.err->column = 0;
    ps.err->msg = NULL;
    json_value *root = ml_calloc(1, sizeof *root);
    if (!root)
        return ML_ENOMEM;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        ps.p += 3; /* a UTF-8 byte order mark */
    if (read_value(&ps, root, 0) == ML_OK) {
        skip_ws(&ps);
        if (ps.p < ps.end)
            fail(&ps, "text after the end of the value");
    }
    /* On error, the values of unclosed containers wait on the stack. */
    for (size_t i = 0; i < ps.nstack; i++) {
        value_release(&ps.stack[i]);
        ml_free(ps.keys[i]);
    }
    ml_free(ps.stack);
    ml_free(ps.keys);
    sbuf_release(&ps.tmp);
    if (ps.rc != ML_OK) {
        json_free(root);
        return ps.rc;
    }
    *out = root;
    return ML_OK;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->members[i].key, key) == 0)
            return &obj->members[i].value;
    return NULL;
}
