/* linetab: per-line memory statistics of profiled functions.
 *
 * A table holds functions in the order they were added; a function holds one
 * row per source line from its first line (the decorator line, as in the
 * report) for nlines lines.  All memory is in bytes; the report turns it into
 * MiB.  The table knows nothing of Python: the binding maps code objects to
 * functions and feeds it measurements.  A table is not locked: the binding
 * charges it only while holding the GIL. */
#ifndef ML_LINETAB_H
#define ML_LINETAB_H

#include <stddef.h>
#include <stdint.h>

/* One source line.  Invariant: seen is set by the first charge, and until
 * then every field but occurrences is 0; a line that started but has not
 * ended yet (it is running) has occurrences > 0 and seen == 0.  The report
 * shows unseen lines without numbers. */
typedef struct linestat {
    uint64_t occurrences; /* times the line started running */
    int64_t mem_max;      /* largest memory reading taken as the line ended */
    int64_t mem_incr;     /* sum of memory deltas over the intervals charged to it */
    int64_t heap_incr;    /* net heap bytes (allocated - freed) while it ran: the
                             Python heap plus native memory when that is counted */
    int64_t heap_peak;    /* largest rise of the heap above its level at the start
                             of one execution of the line, nested calls included */
    int64_t native_incr;  /* the native part of heap_incr */
    int64_t native_peak;  /* heap_peak's measure for the native part alone */
    int seen;
} linestat;

/* Invariant: rows has nlines entries, rows[i] describes line first + i. */
typedef struct linefunc {
    char *filename;
    char *name;
    int first;
    int nlines;
    linestat *rows;
    int incomplete; /* some call's events were lost (another tool took the
                       hook): the report says so */
    int processes;  /* how many processes' tables were merged into this one
                       (repmerge.h); 0 when it was never merged */
} linefunc;

typedef struct linetab linetab;

/* Returns a new empty table, or NULL when out of memory. */
linetab *linetab_new(void);
void linetab_free(linetab *tab); /* accepts NULL */

/* Adds a function covering lines [first, first + nlines).  On success *out is
 * the function, owned by the table and valid until the table is freed.
 * Returns ML_OK, ML_EINVAL (nlines < 1 or first < 1) or ML_ENOMEM, in which
 * case the table is unchanged. */
int linetab_add(linetab *tab, const char *filename, const char *name,
                int first, int nlines, linefunc **out);

size_t linetab_count(const linetab *tab);
linefunc *linetab_get(const linetab *tab, size_t i); /* NULL when out of range */

/* The row of line, growing the function when line lies past its end (code
 * may carry lines the source block did not cover).  NULL when line is before
 * the first line or growing failed for lack of memory. */
linestat *linefunc_row(linefunc *fn, int line);

/* Clears every row of every function, keeping the functions. */
void linetab_reset(linetab *tab);

/* Whether tab keeps its invariants (every function's rows, and every
 * unseen row empty but for occurrences).  For assert() and tests; costs a
 * pass over every row. */
int linetab_ok(const linetab *tab);

/* Charges one interval that ended with memory at mem_now to s. */
static inline void linestat_charge(linestat *s, int64_t mem_now, int64_t mem_delta,
                                   int64_t heap_delta, int64_t heap_peak)
{
    if (!s->seen || mem_now > s->mem_max)
        s->mem_max = mem_now;
    s->seen = 1;
    s->mem_incr += mem_delta;
    s->heap_incr += heap_delta;
    if (heap_peak > s->heap_peak)
        s->heap_peak = heap_peak;
}

/* Charges the native part of the same interval (after linestat_charge). */
static inline void linestat_charge_native(linestat *s, int64_t native_delta, int64_t native_peak)
{
    s->native_incr += native_delta;
    if (native_peak > s->native_peak)
        s->native_peak = native_peak;
}

#endif
