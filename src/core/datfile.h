/* datfile: the timeline file (.dat) that mprof and memline both read and
 * write.  One record per line, the keyword split from its values by the
 * first space:
 *
 *   CMDLINE <program and arguments joined by spaces>
 *   MEM <MiB %.6f> <epoch seconds %.4f>
 *   CHLD <pid> <MiB %.6f> <epoch seconds %.4f>
 *   FUNC <module.qualname> <MiB in> <t in> <MiB out> <t out> [<depth>]
 *
 * The parser is lenient where mprof is (extra fields and unknown upper-case
 * keywords are ignored, blank lines too) and counts every other line it
 * cannot use instead of failing.  The writers format single lines into an
 * sbuf, so a sampler can batch them into one write(). */
#ifndef ML_DATFILE_H
#define ML_DATFILE_H

#include "sbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DATFILE_MAX_VALUE 1e15

/* One reading.  Values stay in the file's unit (MiB, as the double the text
 * parses to) so that peaks print digit for digit as mprof prints them; the
 * sampler counts bytes and converts only when it writes a line. */
typedef struct datfile_sample {
    double t;   /* epoch seconds */
    double mib;
} datfile_sample;

/* One child process's readings, in file order. */
typedef struct datfile_child {
    long pid;
    datfile_sample *v;
    size_t nsamples, cap;
} datfile_child;

/* One call of a profiled function.  name indexes datfile.names. */
typedef struct datfile_func {
    size_t name;
    double mem_in, t_in, mem_out, t_out;
    int depth; /* 0 = outermost; 0 too when the line had no depth field */
} datfile_func;

/* A parsed file.  Invariants: every array holds n valid entries within cap;
 * children are in order of their first CHLD line and pids are distinct;
 * names are distinct and in order of first use, each func's name < n_names;
 * every double is within +-DATFILE_MAX_VALUE (so sums and scales stay
 * finite; a larger number makes its line malformed).  cmdline is NULL when
 * the file had no CMDLINE (the last one wins, as in mprof).  name_slots and
 * chld_slots are the parser's hash indexes of names and pids (slot values
 * are index + 1, 0 free; at most half of the slots used), so that reading
 * is linear in the number of lines; NULL in a datfile built by hand, which
 * lookups then scan. */
typedef struct datfile {
    char *cmdline;
    datfile_sample *mem;
    size_t n_mem, cap_mem;
    datfile_child *chld;
    size_t n_chld, cap_chld;
    datfile_func *func;
    size_t n_func, cap_func;
    char **names;
    size_t n_names, cap_names;
    size_t n_malformed;     /* lines skipped as unusable */
    size_t first_malformed; /* 1-based line number of the first, 0 if none */
    size_t torn_line;       /* 1-based number of a last line cut off before its
                               newline (a writer stopped mid-line): dropped; 0 if none */
    size_t *name_slots, n_name_slots;
    size_t *chld_slots, n_chld_slots;
} datfile;

/* Parses len bytes of .dat text (need not be NUL-terminated) into a new
 * datfile owned by the caller (free with datfile_free), in time linear in
 * len.  Malformed lines never fail the parse; they are counted.  A last
 * line without its newline is a record cut off mid-write: it is dropped
 * and its number kept in torn_line, never read as a (wrong) value.
 * Returns ML_OK, or ML_ENOMEM with *out NULL. */
int datfile_parse(const char *text, size_t len, datfile **out);

/* Reads and parses the file at path.  Returns ML_OK; ML_ENOENT when it does
 * not exist; ML_EACCES; ML_EINVAL for a directory; ML_EIO; ML_ENOMEM.  On
 * error *out is NULL. */
int datfile_load(const char *path, datfile **out);

void datfile_free(datfile *df); /* accepts NULL */

/* The highest MEM reading; with func non-NULL, the highest MEM reading taken
 * during a call of func (mprof peak --func), in O((readings + calls) log
 * calls).  Returns ML_OK, ML_ENOENT when there is no such reading (no
 * samples, or func never called), or ML_ENOMEM. */
int datfile_peak(const datfile *df, const char *func, double *mib);

/* The highest reading of child c (which must have n > 0). */
double datfile_child_peak(const datfile_child *c);

/* The name index of func, or -1. */
long datfile_find_name(const datfile *df, const char *func);

/* Line writers: each appends one complete line, newline included, to b.
 * What they write is data, never structure: every string is made valid
 * UTF-8 (each byte that does not belong to a valid sequence becomes
 * U+FFFD) and loses the characters that could end the record or split its
 * fields, so real mprof and memline read back exactly the records written.
 * On ML_ENOMEM b is left as it was. */

/* CMDLINE: arguments holding blanks are single-quoted as mprof does;
 * control characters become spaces so the record stays one line. */
int datfile_put_cmdline(sbuf *b, char *const argv[], size_t argc);
/* CMDLINE with text as it is (control characters become spaces). */
int datfile_put_cmdline_text(sbuf *b, const char *text);
int datfile_put_mem(sbuf *b, int64_t bytes, double t);
int datfile_put_chld(sbuf *b, long pid, int64_t bytes, double t);
/* FUNC: the name stays one field: blanks, control characters (NUL
 * included) and DEL become _, and an empty name is written as _. */
int datfile_put_func(sbuf *b, const char *name, const datfile_func *f);
/* The same for a name of len bytes that may hold NULs. */
int datfile_put_func_n(sbuf *b, const char *name, size_t len, const datfile_func *f);

/* Serializes the whole of df (CMDLINE, MEM, CHLD, FUNC) to b: parsing the
 * result gives back the same records. */
int datfile_write(const datfile *df, sbuf *b);

#endif
