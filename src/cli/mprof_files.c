/* mprof_files: the verbs that work on .dat files: list, rm, clean, peak
 * and plot.  Files are named by path or by index into the default
 * profiles of the current directory (0 the oldest, -1 the newest), as in
 * mprof. */
#include "core/datfile.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/mlio.h"
#include "core/plot.h"
#include "core/sbuf.h"
#include "mprof.h"
#include "mprof_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum { F_HELP = 1, F_DRY, F_FUNC, F_TITLE, F_NOFUNC, F_OUTPUT, F_WINDOW, F_FLAME, F_SLOPE,
       F_BACKEND };

/* The files a verb was given, resolved.  Invariant: count distinct paths,
 * each an existing regular file when resolved; strings are owned. */
typedef struct filelist {
    char **v;
    size_t count;
} filelist;

static void filelist_release(filelist *f)
{
    mprof_free_list(f->v, f->count);
    f->v = NULL;
    f->count = 0;
}

static int filelist_add(filelist *f, const char *path)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->v[i], path) == 0)
            return ML_OK;
    char **v = ml_realloc(f->v, (f->count + 1) * sizeof *v);
    if (!v)
        return ML_ENOMEM;
    f->v = v;
    if (!(f->v[f->count] = ml_strdup(path)))
        return ML_ENOMEM;
    f->count++;
    return ML_OK;
}

/* Resolves one argument: an existing file, or an index into profiles. */
static int resolve(filelist *f, const char *arg, char **profiles, size_t np)
{
    struct stat st;
    if (stat(arg, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return mprof_fail(MPROF_ENOFILE, "'%s' is a directory, not a .dat file", arg);
        return filelist_add(f, arg) == ML_OK ? MPROF_OK : MPROF_EINTERNAL;
    }
    char *end;
    long idx = strtol(arg, &end, 10);
    if (*arg && !*end) {
        long i = idx < 0 ? (long)np + idx : idx;
        if (i < 0 || (size_t)i >= np)
            return mprof_fail(MPROF_ENOFILE, "no profile with index %s (there %s %zu; see "
                              "memline list)", arg, np == 1 ? "is" : "are", np);
        return filelist_add(f, profiles[i]) == ML_OK ? MPROF_OK : MPROF_EINTERNAL;
    }
    return mprof_fail(MPROF_ENOFILE, "'%s': no such file", arg);
}

/* Scans the verb's arguments: options through handle(), positionals
 * resolved into *files.  With none given and want_default, the newest
 * profile is used (printing "Using last profile data." as mprof does). */
typedef int (*opt_fn)(void *ctx, int id, const char *value);

static int scan(int argc, char **argv, const mprof_opt *opts, opt_fn handle, void *ctx,
                filelist *files, int want_default)
{
    char **profiles = NULL;
    size_t np = 0;
    if (mprof_profiles(&profiles, &np) != ML_OK)
        return mprof_fail(MPROF_EINTERNAL, "out of memory");
    mprof_args a = {argc, argv, 2, argv[1], 0, "", 0};
    const char *v;
    int id, rc = MPROF_OK;
    while (rc == MPROF_OK && (id = mprof_next(&a, opts, &v)) != MPROF_ARG_END) {
        if (id == MPROF_ARG_ERROR)
            rc = MPROF_EUSAGE;
        else if (id == MPROF_ARG_POSITIONAL)
            rc = resolve(files, v, profiles, np);
        else
            rc = handle(ctx, id, v);
    }
    if (rc == MPROF_OK && files->count == 0 && want_default) {
        if (np == 0)
            rc = mprof_fail(MPROF_ENOFILE, "%s: no input file given and no mprofile_*.dat "
                            "file in the current directory", a.verb);
        else if (filelist_add(files, profiles[np - 1]) != ML_OK)
            rc = MPROF_EINTERNAL;
        else
            mprof_out("Using last profile data.\n");
    }
    mprof_free_list(profiles, np);
    return rc;
}

/* Loads a file that must hold samples; warns about malformed lines. */
static int load(const char *path, datfile **out)
{
    int err = datfile_load(path, out);
    if (err == ML_ENOENT)
        return mprof_fail(MPROF_ENOFILE, "'%s': no such file", path);
    if (err == ML_EINVAL)
        return mprof_fail(MPROF_ENOFILE, "'%s' is a directory, not a .dat file", path);
    if (err != ML_OK)
        return mprof_fail(mprof_code(err), "cannot read '%s': %s", path, ml_strerror(err));
    datfile *df = *out;
    if (df->n_malformed && df->torn_line)
        mprof_warn("'%s': skipped %zu malformed line%s (the first is line %zu) and the last "
                   "line, %zu, cut off before its end", path, df->n_malformed,
                   df->n_malformed == 1 ? "" : "s", df->first_malformed, df->torn_line);
    else if (df->n_malformed)
        mprof_warn("'%s': skipped %zu malformed line%s (the first is line %zu)", path,
                   df->n_malformed, df->n_malformed == 1 ? "" : "s", df->first_malformed);
    else if (df->torn_line)
        mprof_warn("'%s': skipped the last line, %zu, cut off before its end (the writer was "
                   "stopped mid-line)", path, df->torn_line);
    if (df->n_mem == 0) {
        datfile_free(df);
        *out = NULL;
        return mprof_fail(MPROF_ENOFILE, "'%s' holds no memory samples (empty, or not a "
                          ".dat file from memline run or mprof run)", path);
    }
    return MPROF_OK;
}

static int help_only(void *ctx, int id, const char *value)
{
    (void)value;
    if (id == F_HELP) {
        mprof_out("%s\n", (const char *)ctx);
        return -1;
    }
    if (id == F_DRY)
        return MPROF_OK;
    return MPROF_EUSAGE;
}

int mprof_list(int argc, char **argv)
{
    static const mprof_opt opts[] = {{'h', "help", 0, F_HELP}, {0, NULL, 0, 0}};
    filelist f = {0};
    for (int i = 2; i < argc; i++)
        if (argv[i][0] != '-')
            return mprof_fail(MPROF_EUSAGE, "list: takes no argument");
    int rc = scan(argc, argv, opts, help_only, "usage: memline list", &f, 0);
    char **p = NULL;
    size_t n = 0;
    if (rc == MPROF_OK && mprof_profiles(&p, &n) != ML_OK)
        rc = mprof_fail(MPROF_EINTERNAL, "out of memory");
    for (size_t i = 0; rc == MPROF_OK && i < n; i++) {
        const char *ts = p[i] + strlen("mprofile_");
        mprof_out("%zu %s %.2s:%.2s:%.2s %.2s/%.2s/%.4s\n", i, p[i], ts + 8, ts + 10, ts + 12,
               ts + 6, ts + 4, ts);
    }
    mprof_free_list(p, n);
    filelist_release(&f);
    return rc < 0 ? MPROF_OK : rc;
}

int mprof_rm(int argc, char **argv, int clean)
{
    static const mprof_opt opts[] = {{'h', "help", 0, F_HELP}, {0, "dry-run", 0, F_DRY},
                                     {0, NULL, 0, 0}};
    int dry = 0;
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        dry |= strcmp(argv[i], "--dry-run") == 0;
    filelist f = {0};
    const char *use = clean ? "usage: memline clean [--dry-run]"
                            : "usage: memline rm [--dry-run] number_or_file ...";
    int rc = scan(argc, argv, opts, help_only, (void *)use, &f, 0);
    if (rc == MPROF_OK && clean && f.count)
        rc = mprof_fail(MPROF_EUSAGE, "clean: takes no file argument");
    if (rc == MPROF_OK && !clean && f.count == 0)
        rc = mprof_fail(MPROF_EUSAGE, "rm: a profile to remove must be given (number or "
                        "file name)");
    if (rc == MPROF_OK && clean) {
        char **p = NULL;
        size_t n = 0;
        rc = mprof_profiles(&p, &n) == ML_OK ? MPROF_OK : MPROF_EINTERNAL;
        for (size_t i = 0; rc == MPROF_OK && i < n; i++)
            rc = filelist_add(&f, p[i]) == ML_OK ? MPROF_OK : MPROF_EINTERNAL;
        mprof_free_list(p, n);
    }
    if (rc == MPROF_OK && dry) {
        mprof_out("Files to be removed: \n");
        for (size_t i = 0; i < f.count; i++)
            mprof_out("%s\n", f.v[i]);
    }
    /* Every file is tried: one that cannot be removed keeps none of the
     * others; the one line names the first failure and counts the rest. */
    size_t failed = 0, first = 0;
    int first_err = 0;
    for (size_t i = 0; rc == MPROF_OK && !dry && i < f.count; i++) {
        if (unlink(f.v[i]) == 0)
            continue;
        if (failed++ == 0) {
            first = i;
            first_err = errno;
        }
    }
    if (failed == 1)
        rc = mprof_fail(MPROF_EOUTPUT, "cannot remove '%s': %s", f.v[first], strerror(first_err));
    else if (failed > 1)
        rc = mprof_fail(MPROF_EOUTPUT, "cannot remove '%s': %s (and %zu more of the %zu files)",
                        f.v[first], strerror(first_err), failed - 1, f.count);
    filelist_release(&f);
    return rc < 0 ? MPROF_OK : rc;
}

static int peak_opt(void *ctx, int id, const char *value)
{
    if (id == F_HELP) {
        mprof_out("usage: memline peak [--func NAME] [file.dat | index ...]\n");
        return -1;
    }
    *(const char **)ctx = value;
    return MPROF_OK;
}

int mprof_peak(int argc, char **argv)
{
    static const mprof_opt opts[] = {{'h', "help", 0, F_HELP}, {0, "func", 1, F_FUNC},
                                     {0, NULL, 0, 0}};
    const char *func = NULL;
    filelist f = {0};
    int rc = scan(argc, argv, opts, peak_opt, &func, &f, 1);
    for (size_t i = 0; rc == MPROF_OK && i < f.count; i++) {
        datfile *df;
        double mib;
        rc = load(f.v[i], &df);
        if (rc != MPROF_OK)
            break;
        if (datfile_peak(df, func, &mib) == ML_OK)
            mprof_out("%s\t%.3f MiB\n", f.v[i], mib);
        else
            mprof_out("%s\tNaN MiB\n", f.v[i]);
        for (size_t k = 0; k < df->n_chld; k++)
            mprof_out("  Child %ld\t\t\t%.3f MiB\n", df->chld[k].pid,
                   datfile_child_peak(&df->chld[k]));
        datfile_free(df);
    }
    filelist_release(&f);
    return rc < 0 ? MPROF_OK : rc;
}

typedef struct plot_cfg {
    plot_opts o;
    const char *output;
} plot_cfg;

static int plot_opt(void *ctx, int id, const char *v)
{
    plot_cfg *c = ctx;
    char *end;
    switch (id) {
    case F_HELP:
        mprof_out("usage: memline plot [-t title] [-n] [-o out.svg|out.html] [-w a,b] "
                  "[-f|--flame]\n                    [-s|--slope] [file.dat | index ...]\n");
        return -1;
    case F_TITLE: c->o.title = v; break;
    case F_NOFUNC: c->o.no_funcs = 1; break;
    case F_OUTPUT: c->output = v; break;
    case F_FLAME: c->o.flame = 1; break;
    case F_SLOPE: c->o.slope = 1; break;
    case F_BACKEND: break; /* matplotlib's; nothing to pick here */
    case F_WINDOW:
        c->o.win_lo = strtod(v, &end);
        if (end == v || *end != ',')
            return mprof_fail(MPROF_EUSAGE, "plot: window '%s' must be two numbers separated "
                              "by a comma", v);
        v = end + 1;
        c->o.win_hi = strtod(v, &end);
        if (end == v || *end || !(c->o.win_hi > c->o.win_lo) || c->o.win_lo < -1e15 ||
            c->o.win_hi > 1e15)
            return mprof_fail(MPROF_EUSAGE, "plot: window '%s' must be two increasing numbers "
                              "separated by a comma", v);
        c->o.have_window = 1;
        break;
    }
    return MPROF_OK;
}

/* The format the output name asks for: 1 HTML, 0 SVG, -1 neither. */
static int format_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return -1;
    if (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0)
        return 1;
    return strcasecmp(dot, ".svg") == 0 ? 0 : -1;
}

/* The plot replaces its output whole (mlio): a full disk leaves the old
 * file, a link planted at the default name is replaced, not followed. */
static int write_file(const char *path, const sbuf *b)
{
    if (ml_replace_file(path, b->data ? b->data : "", b->len) == ML_OK)
        return MPROF_OK;
    return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': %s", path,
                      errno == EISDIR ? "it is a directory" : strerror(errno));
}

int mprof_plot(int argc, char **argv)
{
    static const mprof_opt opts[] = {
        {'h', "help", 0, F_HELP},     {'t', "title", 1, F_TITLE},
        {'n', "no-function-ts", 0, F_NOFUNC}, {'o', "output", 1, F_OUTPUT},
        {'w', "window", 1, F_WINDOW}, {'f', "flame", 0, F_FLAME},
        {'s', "slope", 0, F_SLOPE},   {0, "backend", 1, F_BACKEND}, {0, NULL, 0, 0}};
    plot_cfg c;
    memset(&c, 0, sizeof c);
    filelist f = {0};
    datfile **dfs = NULL;
    sbuf doc = SBUF_INIT, path = SBUF_INIT;
    int rc = scan(argc, argv, opts, plot_opt, &c, &f, 1);
    if (rc == MPROF_OK && c.output && format_of(c.output) < 0)
        rc = mprof_fail(MPROF_EUSAGE, "plot: cannot tell the format of '%s': name it .svg or "
                        ".html", c.output);
    if (rc == MPROF_OK && !(dfs = ml_calloc(f.count, sizeof *dfs)))
        rc = mprof_fail(MPROF_EINTERNAL, "out of memory");
    for (size_t i = 0; rc == MPROF_OK && i < f.count; i++)
        rc = load(f.v[i], &dfs[i]);
    if (rc == MPROF_OK && !c.output) {
        const char *src = f.v[0];
        size_t n = strlen(src);
        if (n > 4 && strcmp(src + n - 4, ".dat") == 0)
            n -= 4;
        if (sbuf_append(&path, src, n) != ML_OK || sbuf_puts(&path, ".html") != ML_OK)
            rc = mprof_fail(MPROF_EINTERNAL, "out of memory");
    }
    const char *out = c.output ? c.output : sbuf_str(&path);
    c.o.html = rc == MPROF_OK && format_of(out) == 1;
    if (rc == MPROF_OK) {
        int err = plot_render((const datfile *const *)dfs, (const char *const *)f.v, f.count, &c.o,
                              &doc);
        if (err != ML_OK)
            rc = mprof_fail(mprof_code(err), "plot: %s", ml_strerror(err));
    }
    if (rc == MPROF_OK)
        rc = write_file(out, &doc);
    if (rc == MPROF_OK && !c.output)
        mprof_out("%s\n", out);
    for (size_t i = 0; dfs && i < f.count; i++)
        datfile_free(dfs[i]);
    ml_free(dfs);
    sbuf_release(&doc);
    sbuf_release(&path);
    filelist_release(&f);
    return rc < 0 ? MPROF_OK : rc;
}
