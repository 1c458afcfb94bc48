/* mprof_shared: what every verb uses: the one-line messages, option
 * scanning, error codes, and the default profile names (mprof_int.h). */
#include "mprof_int.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "mprof.h"

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The errno of the first failed write to stdout since mprof_out_reset:
 * with an unbuffered stdout (PYTHONUNBUFFERED in the binding) the write
 * fails in printf, long before the final flush, and errno is gone then. */
static int out_errno;

static void note_out_error(int r)
{
    if ((r < 0 || ferror(stdout)) && !out_errno)
        out_errno = errno ? errno : EIO;
}

void mprof_out_flush(void)
{
    errno = 0;
    note_out_error(fflush(stdout));
}

void mprof_out_reset(void)
{
    out_errno = 0;
    clearerr(stdout);
}

void mprof_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    note_out_error(r);
}

int mprof_fail(int code, const char *fmt, ...)
{
    va_list ap;
    mprof_out_flush();
    fputs("memline: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void mprof_warn(const char *fmt, ...)
{
    va_list ap;
    mprof_out_flush();
    fputs("memline: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int mprof_check_stdout(int code)
{
    mprof_out_flush();
    int err = out_errno ? out_errno : ferror(stdout) ? EIO : 0;
    out_errno = 0;
    clearerr(stdout);
    if (!err)
        return code;
    if (code != MPROF_OK)
        return code; /* its error line is out already: one is enough */
    return mprof_fail(MPROF_EOUTPUT, "cannot write to standard output: %s", strerror(err));
}

int mprof_code(int err)
{
    switch (err) {
    case ML_OK: return MPROF_OK;
    case ML_ENOENT: case ML_EFORMAT: case ML_EACCES: case ML_EIO: return MPROF_ENOFILE;
    case ML_EINVAL: return MPROF_EUSAGE;
    default: return MPROF_EINTERNAL;
    }
}

static const mprof_opt *find_long(const mprof_opt *opts, const char *name, size_t len)
{
    for (; opts->id; opts++)
        if (opts->long_name && strlen(opts->long_name) == len &&
            strncmp(opts->long_name, name, len) == 0)
            return opts;
    return NULL;
}

static const mprof_opt *find_short(const mprof_opt *opts, char c)
{
    for (; opts->id; opts++)
        if (opts->short_name == c)
            return opts;
    return NULL;
}

/* "-12" is an index (mprof counts profiles from the end), not a flag. */
static int is_negative_number(const char *s)
{
    if (s[0] != '-' || !s[1])
        return 0;
    for (s++; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int mprof_next(mprof_args *a, const mprof_opt *opts, const char **value)
{
    *value = NULL;
    if (a->cluster[a->cluster_pos] == '\0' && a->i >= a->argc)
        return MPROF_ARG_END;
    if (a->cluster[a->cluster_pos] != '\0') {
        char c = a->cluster[a->cluster_pos++];
        const mprof_opt *o = find_short(opts, c);
        if (!o)
            return mprof_fail(MPROF_ARG_ERROR, "%s: unknown option '-%c' (see memline %s --help)",
                              a->verb, c, a->verb);
        if (o->takes_value) {
            /* -T0.5, or -T 0.5 */
            const char *rest = a->cluster + a->cluster_pos;
            a->cluster[0] = '\0';
            a->cluster_pos = 0;
            if (*rest) {
                *value = a->argv[a->i - 1] + (rest - a->cluster) + 1;
                return o->id;
            }
            if (a->i >= a->argc)
                return mprof_fail(MPROF_ARG_ERROR, "%s: option '-%c' needs a value", a->verb, c);
            *value = a->argv[a->i++];
        }
        return o->id;
    }
    const char *arg = a->argv[a->i++];
    if (a->stop_at_positional == 2 || arg[0] != '-' || arg[1] == '\0' ||
        is_negative_number(arg)) {
        if (a->stop_at_positional)
            a->stop_at_positional = 2;
        *value = arg;
        return MPROF_ARG_POSITIONAL;
    }
    if (strcmp(arg, "--") == 0) {
        a->stop_at_positional = 2;
        return mprof_next(a, opts, value);
    }
    if (arg[1] == '-') {
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const mprof_opt *o = find_long(opts, name, len);
        if (!o)
            return mprof_fail(MPROF_ARG_ERROR, "%s: unknown option '--%.*s' (see memline %s "
                              "--help)", a->verb, (int)len, name, a->verb);
        if (o->takes_value == MPROF_VALUE && !eq && a->i >= a->argc)
            return mprof_fail(MPROF_ARG_ERROR, "%s: option '--%s' needs a value", a->verb,
                              o->long_name);
        if (o->takes_value == MPROF_NOVALUE && eq)
            return mprof_fail(MPROF_ARG_ERROR, "%s: option '--%s' takes no value", a->verb,
                              o->long_name);
        if (o->takes_value == MPROF_VALUE)
            *value = eq ? eq + 1 : a->argv[a->i++];
        else if (o->takes_value == MPROF_OPTVALUE && eq)
            *value = eq + 1;
        return o->id;
    }
    snprintf(a->cluster, sizeof a->cluster, "%s", arg + 1);
    a->cluster_pos = 0;
    return mprof_next(a, opts, value);
}

int mprof_profiles(char ***names, size_t *n)
{
    glob_t g;
    *names = NULL;
    *n = 0;
    int r = glob("mprofile_??????????????.dat", 0, NULL, &g);
    if (r == GLOB_NOMATCH)
        return ML_OK;
    if (r != 0)
        return r == GLOB_NOSPACE ? ML_ENOMEM : ML_EIO;
    int rc = ML_OK;
    char **v = ml_calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof *v);
    if (!v)
        rc = ML_ENOMEM;
    for (size_t i = 0; rc == ML_OK && i < g.gl_pathc; i++) {
        v[i] = ml_strdup(g.gl_pathv[i]); /* glob sorts them */
        if (!v[i])
            rc = ML_ENOMEM;
    }
    if (rc == ML_OK) {
        *names = v;
        *n = g.gl_pathc;
    } else if (v) {
        mprof_free_list(v, g.gl_pathc);
    }
    globfree(&g);
    return rc;
}

void mprof_free_list(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        ml_free(names[i]);
    ml_free(names);
}
