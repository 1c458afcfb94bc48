/* repdoc: a JSON report read back into a line table, its source lines and
 * its metadata (for memline diff). */
#include "repdoc.h"

#include "json.h"
#include "mlalloc.h"
#include "mlerr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Invariant: tab holds nfuncs functions; funcs[i].fn is its i-th and
 * funcs[i].src points into the JSON tree's strings (or at ""), so root
 * lives as long as the document; view describes all of it. */
struct repdoc {
    json_value *root;
    linetab *tab;
    repfunc *funcs;
    const char **argv;
    repview view;
};

int64_t repfunc_peak(const repfunc *f, int heap, int *line)
{
    int64_t best = 0;
    int at = 0;
    for (int i = 0; i < f->fn->nlines; i++) {
        const linestat *s = &f->fn->rows[i];
        int64_t v = heap ? s->heap_peak : s->mem_max;
        if (s->seen && (at == 0 || v > best)) {
            best = v;
            at = f->fn->first + i;
        }
    }
    if (line)
        *line = at;
    return best;
}

static int bad(repdoc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(repdoc_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return ML_EFORMAT;
}

static const char *str_or_null(const json_value *v)
{
    return v && v->type == JSON_STRING ? v->str : NULL;
}

/* One figure of a line into *out: an integer, or null where allowed. */
static int figure(const json_value *line, const char *name, int may_be_null, int64_t *out,
                  size_t fi, size_t li, repdoc_err *err)
{
    const json_value *v = json_get(line, name);
    *out = 0;
    if (v && v->type == JSON_NUMBER && v->is_int) {
        *out = v->i;
        return ML_OK;
    }
    if (v && v->type == JSON_NULL && may_be_null)
        return ML_OK;
    return bad(err, "functions[%zu].lines[%zu].%s is %s", fi, li, name,
               !v ? "missing" : v->type == JSON_NULL ? "null for a line that ran"
                                                      : "not an integer");
}

static int load_line(const json_value *lv, int expect, linestat *s, const char **src, int heap,
                     size_t fi, size_t li, repdoc_err *err)
{
    const json_value *n = json_get(lv, "line"), *text = json_get(lv, "source");
    const json_value *ran = json_get(lv, "ran"), *occ = json_get(lv, "occurrences");
    if (lv->type != JSON_OBJECT)
        return bad(err, "functions[%zu].lines[%zu] is not an object", fi, li);
    if (!n || n->type != JSON_NUMBER || !n->is_int || n->i != expect)
        return bad(err, "functions[%zu].lines[%zu].line is not %d (lines are consecutive)",
                   fi, li, expect);
    if (!text || text->type != JSON_STRING)
        return bad(err, "functions[%zu].lines[%zu].source is not a string", fi, li);
    if (!ran || (ran->type != JSON_TRUE && ran->type != JSON_FALSE))
        return bad(err, "functions[%zu].lines[%zu].ran is not true or false", fi, li);
    if (!occ || occ->type != JSON_NUMBER || !occ->is_int || occ->i < 0)
        return bad(err, "functions[%zu].lines[%zu].occurrences is not a count", fi, li);
    *src = text->str;
    s->occurrences = (uint64_t)occ->i;
    s->seen = ran->type == JSON_TRUE;
    int ok = !s->seen; /* a line that did not run has null figures */
    int hok = ok || !heap;
    int rc = figure(lv, "mem_usage", ok, &s->mem_max, fi, li, err);
    if (rc == ML_OK)
        rc = figure(lv, "increment", ok, &s->mem_incr, fi, li, err);
    if (rc == ML_OK)
        rc = figure(lv, "heap_incr", hok, &s->heap_incr, fi, li, err);
    if (rc == ML_OK)
        rc = figure(lv, "heap_peak", hok, &s->heap_peak, fi, li, err);
    if (rc == ML_OK)
        rc = figure(lv, "native_incr", hok, &s->native_incr, fi, li, err);
    if (rc == ML_OK)
        rc = figure(lv, "native_peak", hok, &s->native_peak, fi, li, err);
    if (rc == ML_OK && !s->seen)
        *s = (linestat){.occurrences = s->occurrences}; /* linetab's invariant */
    return rc;
}

/* A count, which reports written before memline counted processes lack:
 * v when it is an integer in 0..INT32_MAX, else dflt. */
static int64_t count_of(const json_value *v, int64_t dflt)
{
    return v && v->type == JSON_NUMBER && v->is_int && v->i >= 0 && v->i <= INT32_MAX ? v->i
                                                                                     : dflt;
}

static int load_func(repdoc *doc, const json_value *fv, size_t fi, int heap, repdoc_err *err)
{
    const json_value *file = json_get(fv, "filename"), *name = json_get(fv, "name");
    const json_value *first = json_get(fv, "first_line"), *lines = json_get(fv, "lines");
    if (fv->type != JSON_OBJECT)
        return bad(err, "functions[%zu] is not an object", fi);
    if (!file || file->type != JSON_STRING || !name || name->type != JSON_STRING)
        return bad(err, "functions[%zu] has no filename or name string", fi);
    if (!first || first->type != JSON_NUMBER || !first->is_int || first->i < 1 ||
        first->i > 100000000)
        return bad(err, "functions[%zu].first_line is not a line number", fi);
    if (!lines || lines->type != JSON_ARRAY || lines->count < 1 ||
        lines->count > (size_t)(100000000 - first->i))
        return bad(err, "functions[%zu].lines is not a non-empty array", fi);
    linefunc *fn;
    int rc = linetab_add(doc->tab, file->str, name->str, (int)first->i, (int)lines->count, &fn);
    if (rc != ML_OK)
        return rc;
    const char **src = ml_calloc(lines->count, sizeof *src);
    if (!src)
        return ML_ENOMEM;
    fn->processes = (int)count_of(json_get(fv, "processes"), 1);
    const json_value *partial = json_get(fv, "incomplete");
    fn->incomplete = partial && partial->type == JSON_TRUE;
    doc->funcs[fi].fn = fn;
    doc->funcs[fi].src = src;
    for (size_t li = 0; rc == ML_OK && li < lines->count; li++)
        rc = load_line(&lines->items[li], fn->first + (int)li, &fn->rows[li], &src[li], heap,
                       fi, li, err);
    return rc;
}

static int load_meta(repdoc *doc, const json_value *root, repdoc_err *err)
{
    repmeta *m = &doc->view.meta;
    const json_value *heap = json_get(root, "heap_columns"), *argv = json_get(root, "command_line");
    const json_value *pc = json_get(root, "process_count");
    const json_value *ch = json_get(root, "include_children");
    if (!heap || (heap->type != JSON_TRUE && heap->type != JSON_FALSE))
        return bad(err, "heap_columns is not true or false");
    m->heap = heap->type == JSON_TRUE;
    m->memline_version = str_or_null(json_get(root, "memline_version"));
    m->python_version = str_or_null(json_get(root, "python_version"));
    m->backend = str_or_null(json_get(root, "backend"));
    m->timestamp = str_or_null(json_get(root, "timestamp"));
    m->process_count = pc && pc->type == JSON_NUMBER && pc->is_int ? pc->i : 1;
    m->include_children = ch && ch->type == JSON_TRUE;
    m->processes = count_of(json_get(root, "processes"), 1);
    m->processes_lost = count_of(json_get(root, "processes_lost"), 0);
    m->processes_running = count_of(json_get(root, "processes_still_running"), 0);
    if (argv && argv->type == JSON_ARRAY && argv->count) {
        doc->argv = ml_calloc(argv->count, sizeof *doc->argv);
        if (!doc->argv)
            return ML_ENOMEM;
        for (size_t i = 0; i < argv->count; i++)
            doc->argv[i] = str_or_null(&argv->items[i]) ? argv->items[i].str : "";
        m->argv = doc->argv;
        m->argc = argv->count;
    }
    return ML_OK;
}

static int load(repdoc *doc, const char *text, size_t len, repdoc_err *err)
{
    json_err jerr;
    int rc = json_parse(text, len, &doc->root, &jerr);
    if (rc == ML_EFORMAT) {
        err->line = jerr.line;
        err->column = jerr.column;
        return bad(err, "not JSON: line %zu, column %zu: %s", jerr.line, jerr.column, jerr.msg);
    }
    if (rc != ML_OK)
        return rc;
    const json_value *root = doc->root, *ver = json_get(root, "schema_version");
    if (root->type != JSON_OBJECT || !ver)
        return bad(err, "not a memline report (no schema_version)");
    if (ver->type != JSON_NUMBER || !ver->is_int)
        return bad(err, "schema_version is not an integer");
    if (ver->i != REPDOC_SCHEMA_VERSION)
        return bad(err, "schema version %lld is not supported (this memline reads version %d)",
                   (long long)ver->i, REPDOC_SCHEMA_VERSION);
    const json_value *funcs = json_get(root, "functions");
    if (!funcs || funcs->type != JSON_ARRAY)
        return bad(err, "functions is not an array");
    rc = load_meta(doc, root, err);
    if (rc != ML_OK)
        return rc;
    if (!(doc->tab = linetab_new()))
        return ML_ENOMEM;
    if (funcs->count && !(doc->funcs = ml_calloc(funcs->count, sizeof *doc->funcs)))
        return ML_ENOMEM;
    for (size_t i = 0; rc == ML_OK && i < funcs->count; i++) {
        rc = load_func(doc, &funcs->items[i], i, doc->view.meta.heap, err);
        doc->view.nfuncs = i + 1; /* the ones with src to free */
    }
    doc->view.funcs = doc->funcs;
    return rc;
}

int repdoc_load(const char *text, size_t len, repdoc **out, repdoc_err *err)
{
    repdoc_err unused;
    if (!err)
        err = &unused;
    err->line = err->column = 0;
    err->msg[0] = '\0';
    *out = NULL;
    repdoc *doc = ml_calloc(1, sizeof *doc);
    int rc = doc ? load(doc, text, len, err) : ML_ENOMEM;
    if (rc == ML_ENOMEM)
        snprintf(err->msg, sizeof err->msg, "%s", ml_strerror(rc));
    if (rc != ML_OK) {
        repdoc_free(doc);
        return rc;
    }
    *out = doc;
    return ML_OK;
}

void repdoc_free(repdoc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; doc->funcs && i < doc->view.nfuncs; i++)
        ml_free((void *)doc->funcs[i].src);
    ml_free(doc->funcs);
    ml_free(doc->argv);
    linetab_free(doc->tab);
    json_free(doc->root);
    ml_free(doc);
}

const repview *repdoc_view(const repdoc *doc)
{
    return &doc->view;
}

int repdoc_load_file(const char *path, repdoc **out, repdoc_err *err)
{
    repdoc_err unused;
    if (!err)
        err = &unused;
    *out = NULL;
    err->line = err->column = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = ML_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    struct stat st;
    if (fd < 0) {
        rc = ml_err_from_errno(errno);
        snprintf(err->msg, sizeof err->msg, "%s", strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = ML_EINVAL;
        snprintf(err->msg, sizeof err->msg, "is a directory");
        goto done;
    }
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nbuf = ncap <= REPDOC_MAX_BYTES + 65536 ? ml_realloc(buf, ncap) : NULL;
            if (!nbuf) {
                rc = ncap <= REPDOC_MAX_BYTES + 65536 ? ML_ENOMEM : ML_EFORMAT;
                snprintf(err->msg, sizeof err->msg, "%s", rc == ML_ENOMEM ? ml_strerror(rc)
                         : "larger than 1 GiB: not a report memline wrote");
                goto done;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = errno == EISDIR ? ML_EINVAL : ml_err_from_errno(errno);
            snprintf(err->msg, sizeof err->msg, "%s", strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    rc = repdoc_load(buf ? buf : "", len, out, err);
done:
    if (fd >= 0)
        close(fd);
    ml_free(buf);
    return rc;
}
