/* mprof_diff: `memline diff OLD.json NEW.json`: two runs' JSON reports
 * compared line by line (core/repdiff.h), printed for a terminal and, with
 * --html, written as a page.  Exit codes: 0, 1 when --fail-over is
 * exceeded, 2 for bad input or usage, 5 when the page cannot be written. */
#include "core/mlerr.h"
#include "core/mlio.h"
#include "core/mlsize.h"
#include "core/repdiff.h"
#include "core/repdoc.h"
#include "core/repw.h"
#include "core/sbuf.h"
#include "mprof.h"
#include "mprof_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D_HELP = 1, D_FAIL, D_MIN, D_HTML, D_PRECISION };

static const char help[] =
    "usage: memline diff [--fail-over SIZE] [--min-change SIZE] [--precision N]\n"
    "                    [--html OUT.html] OLD.json NEW.json\n"
    "\n"
    "Compares two JSON line reports (python -m memline --json FILE ...): for each\n"
    "function, the lines whose Heap peak, Heap incr or Increment changed, the ones\n"
    "that grew most first.  Lines are matched by their source text, so code that\n"
    "moved still lines up.\n"
    "\n"
    "  --fail-over SIZE   exit 1 when a line's Heap peak grew by more than SIZE\n"
    "  --min-change SIZE  leave out lines whose figures all changed by less (1KiB)\n"
    "  --precision N      digits after the point of the MiB figures (3)\n"
    "  --html OUT         also write the comparison as an HTML page\n"
    "SIZE: a number and a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB\n"
    "(powers of 1024), in any case, with or without a space; no unit means bytes.";

/* What the command line asked for.  Invariant: nfiles <= 2; fail_over and
 * fail_text are set together (have_fail); sizes in bytes. */
typedef struct diff_cfg {
    const char *files[2];
    size_t nfiles;
    const char *html, *fail_text;
    int64_t fail_over, min_change;
    int have_fail, precision;
} diff_cfg;

static int size_opt(const char *flag, const char *v, int64_t *out)
{
    if (ml_parse_size(v, out) != ML_OK)
        return mprof_fail(MPROF_EUSAGE, "diff: %s '%s' is not a size (e.g. 500KB, 1.5MiB, "
                          "2 GB)", flag, v);
    return MPROF_OK;
}

static int parse(int argc, char **argv, diff_cfg *c)
{
    static const mprof_opt opts[] = {{'h', "help", 0, D_HELP}, {0, "fail-over", 1, D_FAIL},
                                     {0, "min-change", 1, D_MIN}, {0, "html", 1, D_HTML},
                                     {0, "precision", 1, D_PRECISION}, {0, NULL, 0, 0}};
    mprof_args a = {argc, argv, 2, argv[1], 0, "", 0};
    const char *v;
    char *end;
    int id, rc = MPROF_OK;
    while (rc == MPROF_OK && (id = mprof_next(&a, opts, &v)) != MPROF_ARG_END) {
        switch (id) {
        case MPROF_ARG_ERROR:
            return MPROF_EUSAGE;
        case D_HELP:
            puts(help);
            return -1;
        case D_FAIL:
            c->have_fail = 1;
            c->fail_text = v;
            rc = size_opt("--fail-over", v, &c->fail_over);
            break;
        case D_MIN:
            rc = size_opt("--min-change", v, &c->min_change);
            break;
        case D_HTML:
            c->html = v;
            break;
        case D_PRECISION:
            c->precision = (int)strtol(v, &end, 10);
            if (end == v || *end || c->precision < 0 || c->precision > 12)
                rc = mprof_fail(MPROF_EUSAGE, "diff: --precision must be a number from 0 "
                                "to 12, not '%s'", v);
            break;
        case MPROF_ARG_POSITIONAL:
            if (c->nfiles == 2)
                return mprof_fail(MPROF_EUSAGE, "diff: takes two files, OLD.json and NEW.json "
                                  "(see memline diff --help)");
            c->files[c->nfiles++] = v;
            break;
        }
    }
    if (rc == MPROF_OK && c->nfiles < 2)
        rc = mprof_fail(MPROF_EUSAGE, "diff: takes two files, OLD.json and NEW.json (see "
                        "memline diff --help)");
    return rc;
}

static int load(const char *path, repdoc **doc)
{
    repdoc_err err;
    int rc = repdoc_load_file(path, doc, &err);
    if (rc == ML_OK)
        return MPROF_OK;
    if (rc == ML_ENOMEM)
        return mprof_fail(MPROF_EINTERNAL, "diff: out of memory");
    if (rc == ML_ENOENT)
        return mprof_fail(MPROF_EUSAGE, "diff: '%s': no such file", path);
    return mprof_fail(MPROF_EUSAGE, "diff: '%s': %s", path, err.msg);
}

static int fail_over(const repdiff *d, const diff_cfg *c)
{
    const repdiff_func *f;
    const repdiff_line *l = repdiff_worst(d, &f);
    if (!l || l->d_peak <= c->fail_over)
        return MPROF_OK;
    /* The name comes from a file: through repw_plain, so that no escape
     * sequence in it reaches the terminal. */
    sbuf name = SBUF_INIT;
    repw w = {&name, ML_OK};
    repw_plain(&w, (f->new ? f->new : f->old)->fn->name);
    fflush(stdout);
    fprintf(stderr, "memline: diff: Heap peak of %s line %d grew by %.3f MiB (%lld bytes), "
            "more than --fail-over %s\n", sbuf_str(&name),
            l->new_line ? l->new_line : l->old_line, (double)l->d_peak / 1048576.0,
            (long long)l->d_peak, c->fail_text);
    sbuf_release(&name);
    return 1;
}

int mprof_diff(int argc, char **argv)
{
    diff_cfg c;
    memset(&c, 0, sizeof c);
    c.min_change = 1024;
    c.precision = 3;
    repdoc *old = NULL, *new = NULL;
    repdiff *d = NULL;
    sbuf text = SBUF_INIT, page = SBUF_INIT;
    int rc = parse(argc, argv, &c);
    if (rc == MPROF_OK)
        rc = load(c.files[0], &old);
    if (rc == MPROF_OK)
        rc = load(c.files[1], &new);
    if (rc == MPROF_OK && c.have_fail && !(repdoc_view(old)->meta.heap &&
                                           repdoc_view(new)->meta.heap))
        rc = mprof_fail(MPROF_EUSAGE, "diff: --fail-over compares Heap peak, and '%s' has no "
                        "heap columns", c.files[repdoc_view(old)->meta.heap ? 1 : 0]);
    if (rc == MPROF_OK &&
        repdiff_compute(repdoc_view(old), repdoc_view(new), c.min_change, &d) != ML_OK)
        rc = mprof_fail(MPROF_EINTERNAL, "diff: out of memory");
    if (rc == MPROF_OK && repdiff_text(&text, d, c.files[0], c.files[1], c.precision) != ML_OK)
        rc = mprof_fail(MPROF_EINTERNAL, "diff: out of memory");
    if (rc == MPROF_OK && c.html &&
        repdiff_html(&page, d, c.files[0], c.files[1], c.precision, 0) != ML_OK)
        rc = mprof_fail(MPROF_EINTERNAL, "diff: out of memory");
    if (rc == MPROF_OK && c.html && ml_replace_file(c.html, page.data, page.len) != ML_OK)
        rc = mprof_fail(MPROF_EOUTPUT, "diff: cannot write '%s': %s", c.html, strerror(errno));
    if (rc == MPROF_OK) {
        fwrite(sbuf_str(&text), 1, text.len, stdout);
        rc = c.have_fail ? fail_over(d, &c) : MPROF_OK;
    }
    sbuf_release(&text);
    sbuf_release(&page);
    repdiff_free(d);
    repdoc_free(old);
    repdoc_free(new);
    return rc < 0 ? MPROF_OK : rc;
}
