/* datfile: parsing and writing mprof's timeline format. */
#include "datfile.h"

#include "escape.h"
#include "mlalloc.h"
#include "mlerr.h"
#include "mlunits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FIELDS 8

/* Grows *v (n used, *cap allocated, items of size sz) to hold one more. */
static int grow(void **v, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return ML_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / sz)
        return ML_ENOMEM;
    void *nv = ml_realloc(*v, ncap * sz);
    if (!nv)
        return ML_ENOMEM;
    *v = nv;
    *cap = ncap;
    return ML_OK;
}

void datfile_free(datfile *df)
{
    if (!df)
        return;
    for (size_t i = 0; i < df->n_chld; i++)
        ml_free(df->chld[i].v);
    for (size_t i = 0; i < df->n_names; i++)
        ml_free(df->names[i]);
    ml_free(df->cmdline);
    ml_free(df->mem);
    ml_free(df->chld);
    ml_free(df->func);
    ml_free(df->names);
    ml_free(df->name_slots);
    ml_free(df->chld_slots);
    ml_free(df);
}

/* A whole token as a double within +-DATFILE_MAX_VALUE; 0 when it is not
 * one (NaN and infinities included). */
static int parse_num(const char *tok, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(tok, &end);
    if (end == tok || *end != '\0' || !(v >= -DATFILE_MAX_VALUE && v <= DATFILE_MAX_VALUE))
        return 0;
    *out = v;
    return 1;
}

static int parse_long(const char *tok, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(tok, &end, 10);
    if (end == tok || *end != '\0' || errno == ERANGE)
        return 0;
    *out = v;
    return 1;
}

/* Splits s in place on runs of blanks; returns the number of fields (at
 * most MAX_FIELDS are kept, the rest are ignored as mprof ignores them). */
static size_t split(char *s, char *f[MAX_FIELDS])
{
    size_t n = 0;
    while (*s && n < MAX_FIELDS) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            break;
        f[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    if (n < MAX_FIELDS)
        return n;
    /* Terminate the last kept field before anything that follows it. */
    while (*s && *s != ' ' && *s != '\t')
        s++;
    *s = '\0';
    return n;
}

static int add_sample(datfile_sample **v, size_t *n, size_t *cap, double mib, double t)
{
    int rc = grow((void **)v, *n, cap, sizeof **v);
    if (rc == ML_OK) {
        (*v)[*n].mib = mib;
        (*v)[*n].t = t;
        (*n)++;
    }
    return rc;
}

/* ---- the hash indexes: open addressing, linear probing ---- */

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)(h ^ (h >> 32));
}

static size_t hash_pid(long pid)
{
    uint64_t h = (uint64_t)pid * 0x9e3779b97f4a7c15u;
    return (size_t)(h ^ (h >> 29));
}

/* The slot of key in a table of n slots (a power of two): the one holding
 * it, or the free one where it would go.  same(i) says whether entry i is
 * the key. */
#define PROBE(slots, n, hash, same)                                     \
    size_t mask_ = (n) - 1, at_ = (hash) & mask_;                       \
    while ((slots)[at_] && !(same((slots)[at_] - 1)))                   \
        at_ = (at_ + 1) & mask_;

static int name_is(const datfile *df, size_t i, const char *name)
{
    return strcmp(df->names[i], name) == 0;
}

static size_t name_slot(const datfile *df, const size_t *slots, size_t n, const char *name)
{
#define SAME(i) name_is(df, (i), name)
    PROBE(slots, n, hash_str(name), SAME)
#undef SAME
    return at_;
}

static size_t chld_slot(const datfile *df, const size_t *slots, size_t n, long pid)
{
#define SAME(i) (df->chld[(i)].pid == pid)
    PROBE(slots, n, hash_pid(pid), SAME)
#undef SAME
    return at_;
}

/* Makes room in the name index for one more name: rebuilt twice as large
 * when half full.  On ML_ENOMEM the old index stays. */
static int names_reserve(datfile *df)
{
    if (df->n_names + 1 <= df->n_name_slots / 2)
        return ML_OK;
    size_t n = df->n_name_slots ? df->n_name_slots * 2 : 64;
    size_t *slots = n <= SIZE_MAX / sizeof *slots ? ml_calloc(n, sizeof *slots) : NULL;
    if (!slots)
        return ML_ENOMEM;
    for (size_t i = 0; i < df->n_names; i++)
        slots[name_slot(df, slots, n, df->names[i])] = i + 1;
    ml_free(df->name_slots);
    df->name_slots = slots;
    df->n_name_slots = n;
    return ML_OK;
}

static int chld_reserve(datfile *df)
{
    if (df->n_chld + 1 <= df->n_chld_slots / 2)
        return ML_OK;
    size_t n = df->n_chld_slots ? df->n_chld_slots * 2 : 64;
    size_t *slots = n <= SIZE_MAX / sizeof *slots ? ml_calloc(n, sizeof *slots) : NULL;
    if (!slots)
        return ML_ENOMEM;
    for (size_t i = 0; i < df->n_chld; i++)
        slots[chld_slot(df, slots, n, df->chld[i].pid)] = i + 1;
    ml_free(df->chld_slots);
    df->chld_slots = slots;
    df->n_chld_slots = n;
    return ML_OK;
}

long datfile_find_name(const datfile *df, const char *func)
{
    if (df->name_slots) {
        size_t at = name_slot(df, df->name_slots, df->n_name_slots, func);
        return df->name_slots[at] ? (long)(df->name_slots[at] - 1) : -1;
    }
    for (size_t i = 0; i < df->n_names; i++)
        if (strcmp(df->names[i], func) == 0)
            return (long)i;
    return -1;
}

static int add_child_sample(datfile *df, long pid, double mib, double t)
{
    int rc = chld_reserve(df);
    if (rc != ML_OK)
        return rc;
    size_t at = chld_slot(df, df->chld_slots, df->n_chld_slots, pid);
    size_t i = df->chld_slots[at] ? df->chld_slots[at] - 1 : df->n_chld;
    if (i == df->n_chld) {
        rc = grow((void **)&df->chld, df->n_chld, &df->cap_chld, sizeof *df->chld);
        if (rc != ML_OK)
            return rc;
        df->chld[i] = (datfile_child){pid, NULL, 0, 0};
    }
    datfile_child *c = &df->chld[i];
    rc = add_sample(&c->v, &c->nsamples, &c->cap, mib, t);
    if (rc == ML_OK && i == df->n_chld) {
        /* indexed only once it has a sample: no child without samples */
        df->chld_slots[at] = i + 1;
        df->n_chld++;
    }
    return rc;
}

static int add_func(datfile *df, const char *name, const datfile_func *f)
{
    long idx = datfile_find_name(df, name);
    int rc = grow((void **)&df->func, df->n_func, &df->cap_func, sizeof *df->func);
    if (rc == ML_OK && idx < 0) {
        rc = grow((void **)&df->names, df->n_names, &df->cap_names, sizeof *df->names);
        if (rc == ML_OK)
            rc = names_reserve(df);
        char *copy = rc == ML_OK ? ml_strdup(name) : NULL;
        if (rc == ML_OK && !copy)
            rc = ML_ENOMEM;
        if (rc == ML_OK) {
            idx = (long)df->n_names;
            df->names[df->n_names++] = copy;
            df->name_slots[name_slot(df, df->name_slots, df->n_name_slots, copy)] =
                (size_t)idx + 1;
        }
    }
    if (rc == ML_OK) {
        df->func[df->n_func] = *f;
        df->func[df->n_func].name = (size_t)idx;
        df->n_func++;
    }
    return rc;
}

/* Keywords mprof might add later: upper-case words, ignored. */
static int is_keyword(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || *s == '_'))
            return 0;
    return 1;
}

/* Parses one NUL-terminated line (modified in place).  Returns ML_OK with
 * *bad set when the line was unusable, or ML_ENOMEM. */
static int parse_line(datfile *df, char *line, int *bad)
{
    *bad = 0;
    char *sp = strchr(line, ' ');
    if (!sp) {
        *bad = line[0] != '\0';
        return ML_OK;
    }
    *sp = '\0';
    char *rest = sp + 1;
    if (strcmp(line, "CMDLINE") == 0) {
        char *copy = ml_strdup(rest);
        if (!copy)
            return ML_ENOMEM;
        ml_free(df->cmdline);
        df->cmdline = copy;
        return ML_OK;
    }
    char *f[MAX_FIELDS];
    size_t n = split(rest, f);
    double a, b, c, d;
    long pid, depth = 0;
    if (strcmp(line, "MEM") == 0) {
        if (n < 2 || !parse_num(f[0], &a) || !parse_num(f[1], &b)) {
            *bad = 1;
            return ML_OK;
        }
        return add_sample(&df->mem, &df->n_mem, &df->cap_mem, a, b);
    }
    if (strcmp(line, "CHLD") == 0) {
        if (n < 3 || !parse_long(f[0], &pid) || !parse_num(f[1], &a) || !parse_num(f[2], &b)) {
            *bad = 1;
            return ML_OK;
        }
        return add_child_sample(df, pid, a, b);
    }
    if (strcmp(line, "FUNC") == 0) {
        if (n < 5 || !parse_num(f[1], &a) || !parse_num(f[2], &b) || !parse_num(f[3], &c) ||
            !parse_num(f[4], &d) || (n >= 6 && (!parse_long(f[5], &depth) || depth < 0 ||
                                                depth > 1000000))) {
            *bad = 1;
            return ML_OK;
        }
        datfile_func fn = {0, a, b, c, d, (int)depth};
        return add_func(df, f[0], &fn);
    }
    *bad = !is_keyword(line);
    return ML_OK;
}

int datfile_parse(const char *text, size_t len, datfile **out)
{
    *out = NULL;
    datfile *df = ml_calloc(1, sizeof *df);
    char *line = NULL;
    size_t line_cap = 0, lineno = 0;
    int rc = df ? ML_OK : ML_ENOMEM;
    size_t pos = 0;
    while (rc == ML_OK && pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl != NULL);
        lineno++;
        if (!nl) {
            /* Cut off before its newline: "MEM 12.3456 17" would read as a
             * reading at the wrong time. */
            df->torn_line = lineno;
            break;
        }
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (n + 1 > line_cap) {
            char *nline = ml_realloc(line, n + 1);
            if (!nline) {
                rc = ML_ENOMEM;
                break;
            }
            line = nline;
            line_cap = n + 1;
        }
        int bad = memchr(start, '\0', n) != NULL;
        if (!bad) {
            memcpy(line, start, n);
            line[n] = '\0';
            rc = parse_line(df, line, &bad);
        }
        if (bad && df->n_malformed++ == 0)
            df->first_malformed = lineno;
    }
    ml_free(line);
    if (rc != ML_OK) {
        datfile_free(df);
        return rc;
    }
    *out = df;
    return ML_OK;
}

int datfile_load(const char *path, datfile **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ml_err_from_errno(errno);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = ML_OK;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        rc = ML_EINVAL;
    while (rc == ML_OK) {
        if (len + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nbuf = ml_realloc(buf, ncap);
            if (!nbuf) {
                rc = ML_ENOMEM;
                break;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = errno == EISDIR ? ML_EINVAL : ml_err_from_errno(errno);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == ML_OK)
        rc = datfile_parse(buf ? buf : "", len, out);
    ml_free(buf);
    return rc;
}

typedef struct span {
    double t0, t1;
} span;

static int cmp_span(const void *a, const void *b)
{
    double x = ((const span *)a)->t0, y = ((const span *)b)->t0;
    return x < y ? -1 : x > y;
}

/* The calls of name idx as disjoint time spans sorted by start: *n of
 * them in a new array (NULL when none).  Returns ML_OK or ML_ENOMEM. */
static int call_spans(const datfile *df, size_t idx, span **out, size_t *n)
{
    size_t k = 0;
    *out = NULL;
    *n = 0;
    for (size_t j = 0; j < df->n_func; j++)
        k += df->func[j].name == idx && df->func[j].t_in <= df->func[j].t_out;
    if (k == 0)
        return ML_OK;
    span *v = ml_malloc(k * sizeof *v);
    if (!v)
        return ML_ENOMEM;
    k = 0;
    for (size_t j = 0; j < df->n_func; j++)
        if (df->func[j].name == idx && df->func[j].t_in <= df->func[j].t_out)
            v[k++] = (span){df->func[j].t_in, df->func[j].t_out};
    qsort(v, k, sizeof *v, cmp_span);
    size_t m = 0;
    for (size_t j = 1; j < k; j++) {
        if (v[j].t0 <= v[m].t1) {
            if (v[j].t1 > v[m].t1)
                v[m].t1 = v[j].t1;
        } else {
            v[++m] = v[j];
        }
    }
    *out = v;
    *n = m + 1;
    return ML_OK;
}

/* Whether t falls in one of n disjoint sorted spans (binary search). */
static int in_spans(const span *v, size_t n, double t)
{
    size_t lo = 0, hi = n; /* the first span starting after t is in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].t0 <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && t <= v[lo - 1].t1;
}

int datfile_peak(const datfile *df, const char *func, double *mib)
{
    long idx = func ? datfile_find_name(df, func) : -1;
    if (func && idx < 0)
        return ML_ENOENT;
    span *spans = NULL;
    size_t nspans = 0;
    int rc = func ? call_spans(df, (size_t)idx, &spans, &nspans) : ML_OK;
    int found = 0;
    double best = 0;
    for (size_t i = 0; rc == ML_OK && i < df->n_mem; i++) {
        const datfile_sample *s = &df->mem[i];
        if ((!func || in_spans(spans, nspans, s->t)) && (!found || s->mib > best)) {
            best = s->mib;
            found = 1;
        }
    }
    ml_free(spans);
    if (rc != ML_OK)
        return rc;
    if (!found)
        return ML_ENOENT;
    *mib = best;
    return ML_OK;
}

double datfile_child_peak(const datfile_child *c)
{
    double best = c->v[0].mib;
    for (size_t i = 1; i < c->nsamples; i++)
        if (c->v[i].mib > best)
            best = c->v[i].mib;
    return best;
}

/* Appends one line; on failure b is restored to its old length. */
static int put_line(sbuf *b, int rc, size_t old)
{
    if (rc != ML_OK) {
        b->len = old;
        if (b->data)
            b->data[old] = '\0';
    }
    return rc;
}

/* Appends len bytes of s as valid UTF-8: a byte outside any valid
 * sequence becomes U+FFFD; control characters (NUL included) and DEL
 * become sub, and so does a blank when blank_too. */
static int put_clean(sbuf *b, const char *s, size_t len, char sub, int blank_too)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    int rc = ML_OK;
    while (rc == ML_OK && p < end) {
        size_t n = escape_utf8_seq(p, (size_t)(end - p));
        if (n == 0) {
            rc = sbuf_puts(b, "\xef\xbf\xbd");
            p++;
        } else if (n == 1) {
            char c = *p < 0x20 || *p == 0x7f || (blank_too && *p == ' ') ? sub : (char)*p;
            rc = sbuf_append(b, &c, 1);
            p++;
        } else {
            rc = sbuf_append(b, (const char *)p, n);
            p += n;
        }
    }
    return rc;
}

int datfile_put_cmdline(sbuf *b, char *const argv[], size_t argc)
{
    size_t old = b->len;
    int rc = sbuf_puts(b, "CMDLINE");
    for (size_t i = 0; rc == ML_OK && i < argc; i++) {
        int quote = strpbrk(argv[i], " \t") != NULL;
        rc = sbuf_puts(b, quote ? " '" : " ");
        if (rc == ML_OK)
            rc = put_clean(b, argv[i], strlen(argv[i]), ' ', 0);
        if (rc == ML_OK && quote)
            rc = sbuf_puts(b, "'");
    }
    if (rc == ML_OK)
        rc = sbuf_puts(b, "\n");
    return put_line(b, rc, old);
}

int datfile_put_cmdline_text(sbuf *b, const char *text)
{
    size_t old = b->len;
    int rc = sbuf_puts(b, "CMDLINE ");
    if (rc == ML_OK)
        rc = put_clean(b, text, strlen(text), ' ', 0);
    if (rc == ML_OK)
        rc = sbuf_puts(b, "\n");
    return put_line(b, rc, old);
}

int datfile_put_mem(sbuf *b, int64_t bytes, double t)
{
    size_t old = b->len;
    return put_line(b, sbuf_printf(b, "MEM %.6f %.4f\n", ml_mib(bytes), t), old);
}

int datfile_put_chld(sbuf *b, long pid, int64_t bytes, double t)
{
    size_t old = b->len;
    return put_line(b, sbuf_printf(b, "CHLD %ld %.6f %.4f\n", pid, ml_mib(bytes),
                                   t), old);
}

int datfile_put_func_n(sbuf *b, const char *name, size_t len, const datfile_func *f)
{
    size_t old = b->len;
    int rc = sbuf_puts(b, "FUNC ");
    if (rc == ML_OK)
        rc = len ? put_clean(b, name, len, '_', 1) : sbuf_puts(b, "_");
    if (rc == ML_OK)
        rc = sbuf_printf(b, " %.4f %.4f %.4f %.4f %d\n", f->mem_in, f->t_in, f->mem_out, f->t_out,
                         f->depth);
    return put_line(b, rc, old);
}

int datfile_put_func(sbuf *b, const char *name, const datfile_func *f)
{
    return datfile_put_func_n(b, name, strlen(name), f);
}

int datfile_write(const datfile *df, sbuf *b)
{
    size_t old = b->len;
    int rc = ML_OK;
    if (df->cmdline)
        rc = datfile_put_cmdline_text(b, df->cmdline);
    for (size_t i = 0; rc == ML_OK && i < df->n_mem; i++)
        rc = sbuf_printf(b, "MEM %.6f %.4f\n", df->mem[i].mib, df->mem[i].t);
    for (size_t c = 0; rc == ML_OK && c < df->n_chld; c++)
        for (size_t i = 0; rc == ML_OK && i < df->chld[c].nsamples; i++)
            rc = sbuf_printf(b, "CHLD %ld %.6f %.4f\n", df->chld[c].pid, df->chld[c].v[i].mib,
                             df->chld[c].v[i].t);
    for (size_t i = 0; rc == ML_OK && i < df->n_func; i++)
        rc = datfile_put_func(b, df->names[df->func[i].name], &df->func[i]);
    return put_line(b, rc, old);
}
