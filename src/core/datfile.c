/* datfile: parsing and writing mprof's timeline format. */
#include "datfile.h"

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

long datfile_find_name(const datfile *df, const char *func)
{
    for (size_t i = 0; i < df->n_names; i++)
        if (strcmp(df->names[i], func) == 0)
            return (long)i;
    return -1;
}

static int add_child_sample(datfile *df, long pid, double mib, double t)
{
    size_t i = 0;
    while (i < df->n_chld && df->chld[i].pid != pid)
        i++;
    if (i == df->n_chld) {
        int rc = grow((void **)&df->chld, df->n_chld, &df->cap_chld, sizeof *df->chld);
        if (rc != ML_OK)
            return rc;
        df->chld[i] = (datfile_child){pid, NULL, 0, 0};
        df->n_chld++;
    }
    datfile_child *c = &df->chld[i];
    int rc = add_sample(&c->v, &c->nsamples, &c->cap, mib, t);
    if (rc != ML_OK && c->nsamples == 0)
        df->n_chld--; /* keep the invariant: no child without samples */
    return rc;
}

static int add_func(datfile *df, const char *name, const datfile_func *f)
{
    long idx = datfile_find_name(df, name);
    int rc = grow((void **)&df->func, df->n_func, &df->cap_func, sizeof *df->func);
    if (rc == ML_OK && idx < 0) {
        rc = grow((void **)&df->names, df->n_names, &df->cap_names, sizeof *df->names);
        char *copy = rc == ML_OK ? ml_strdup(name) : NULL;
        if (rc == ML_OK && !copy)
            rc = ML_ENOMEM;
        if (rc == ML_OK) {
            idx = (long)df->n_names;
            df->names[df->n_names++] = copy;
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

int datfile_peak(const datfile *df, const char *func, double *mib)
{
    long idx = func ? datfile_find_name(df, func) : -1;
    if (func && idx < 0)
        return ML_ENOENT;
    int found = 0;
    double best = 0;
    for (size_t i = 0; i < df->n_mem; i++) {
        const datfile_sample *s = &df->mem[i];
        int in = !func;
        for (size_t j = 0; !in && j < df->n_func; j++) {
            const datfile_func *f = &df->func[j];
            in = f->name == (size_t)idx && f->t_in <= s->t && s->t <= f->t_out;
        }
        if (in && (!found || s->mib > best)) {
            best = s->mib;
            found = 1;
        }
    }
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

/* Appends s with control characters turned into sub. */
static int put_clean(sbuf *b, const char *s, char sub)
{
    int rc = ML_OK;
    for (const char *p = s; rc == ML_OK && *p; p++) {
        char c = (unsigned char)*p < 0x20 || *p == 0x7f ? sub : *p;
        rc = sbuf_append(b, &c, 1);
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
            rc = put_clean(b, argv[i], ' ');
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
        rc = put_clean(b, text, ' ');
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

int datfile_put_func(sbuf *b, const char *name, const datfile_func *f)
{
    size_t old = b->len;
    int rc = sbuf_puts(b, "FUNC ");
    /* the name must stay one field: blanks and control characters become _ */
    for (const char *p = name; rc == ML_OK && *p; p++)
        rc = sbuf_append(b, *p == ' ' || (unsigned char)*p < 0x20 || *p == 0x7f ? "_" : p, 1);
    if (rc == ML_OK)
        rc = sbuf_printf(b, " %.4f %.4f %.4f %.4f %d\n", f->mem_in, f->t_in, f->mem_out, f->t_out,
                         f->depth);
    return put_line(b, rc, old);
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
