/* mprof_int: what the verb files share: mprof_shared.c (option scanning,
 * messages, error codes, profile names) for mprof.c (dispatch),
 * mprof_run.c (run, attach) and mprof_files.c (list, rm, clean, peak,
 * plot).  Not part of the CLI's interface (mprof.h). */
#ifndef ML_MPROF_INT_H
#define ML_MPROF_INT_H

#include <stddef.h>

/* One option a verb accepts.  Invariant: short_name is 0 or a letter;
 * long_name is NULL or without the leading dashes; takes_value is one of
 * MPROF_NOVALUE, MPROF_VALUE, MPROF_OPTVALUE (only long, only as --name=V:
 * *value is NULL for a bare --name). */
typedef struct mprof_opt {
    char short_name;
    const char *long_name;
    int takes_value;
    int id;
} mprof_opt;

enum { MPROF_NOVALUE = 0, MPROF_VALUE = 1, MPROF_OPTVALUE = 2 };

/* Command-line scan state.  Invariant: 1 <= i <= argc. */
typedef struct mprof_args {
    int argc;
    char **argv;
    int i;          /* next argument to look at */
    const char *verb;
    int stop_at_positional; /* run/attach: the first positional ends options */
    char cluster[64];       /* pending short flags of a -abc cluster */
    size_t cluster_pos;
} mprof_args;

enum { MPROF_ARG_END = -1, MPROF_ARG_POSITIONAL = -2, MPROF_ARG_ERROR = -3 };

/* Returns the next option's id (*value set when it takes one), or
 * MPROF_ARG_POSITIONAL with *value the argument (with stop_at_positional,
 * every later argument is positional), MPROF_ARG_END, or MPROF_ARG_ERROR
 * after printing the error line. */
int mprof_next(mprof_args *a, const mprof_opt *opts, const char **value);

/* Prints "memline: error: " + message on stderr; returns code. */
int mprof_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mprof_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for a core error code. */
int mprof_code(int ml_err);

/* The default profile names in the current directory, sorted (oldest
 * first), as mprof lists them.  Returns ML_OK or ML_ENOMEM; the caller
 * frees with mprof_free_list. */
int mprof_profiles(char ***names, size_t *n);
void mprof_free_list(char **names, size_t n);

/* Everything a verb prints on stdout goes through mprof_out, which keeps
 * the reason of the first failed write; mprof_check_stdout then flushes
 * and returns code, or, when a write failed (a full disk, a closed pipe)
 * and code is MPROF_OK, MPROF_EOUTPUT after the error line.
 * mprof_out_reset starts a verb afresh. */
void mprof_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mprof_out_reset(void);
void mprof_out_flush(void); /* what is buffered goes out now (errors kept) */
int mprof_check_stdout(int code);

/* The .dat file run and attach write (mprof_dat.c).  Invariant: fd >= 0
 * once opened, path names it (defname holds a default name); created says
 * this call made the file, the only case in which it may be removed. */
typedef struct mprof_dat {
    const char *path;
    int fd, created;
    char defname[64];
} mprof_dat;

/* Opens path to append to, or without path a new default name; prints the
 * error line.  Returns MPROF_OK or MPROF_EOUTPUT. */
int mprof_dat_open(mprof_dat *d, const char *path);
/* Whether the file's last line is cut off (no newline at its end). */
int mprof_dat_torn(const mprof_dat *d);
/* Closes d; when !keep, a file this call created is removed, while it is
 * still the same file.  Accepts a d never opened (fd -1). */
void mprof_dat_close(mprof_dat *d, int keep);

int mprof_run(int argc, char **argv, int attach, const char *host_python);
int mprof_plot(int argc, char **argv);
int mprof_peak(int argc, char **argv);
int mprof_list(int argc, char **argv);
int mprof_rm(int argc, char **argv, int clean);
int mprof_diff(int argc, char **argv); /* mprof_diff.c */

#endif
