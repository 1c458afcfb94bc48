/* repmerge: the line tables of several processes merged into one.
 *
 * Under `python -m memline` the children of the program (multiprocessing's
 * workers, Python subprocesses) send their tables to the parent as JSON
 * reports (docs/json.md, read with repdoc_load); the parent adds each one
 * into its own table.  Functions are matched by (filename, name, first
 * line), rows by line number.  Over processes, Occurrences, Increment, Heap
 * incr and Native incr add up; Mem usage, Heap peak and Native peak are the
 * largest any process reached (a peak is one execution's, in every
 * process as within one).  docs/processes.md says why. */
#ifndef ML_REPMERGE_H
#define ML_REPMERGE_H

#include "linetab.h"
#include "repdoc.h"

/* Starts a merge into tab: each function's processes becomes 1 when any of
 * its lines ran in tab's own process, else 0.  Cannot fail. */
void repmerge_begin(linetab *tab);

/* Adds one process's table, the functions of view, into tab (which
 * repmerge_begin started).  A function of view that tab lacks is added.
 * Each function of tab that view's process ran counts that process once in
 * its processes, even when view holds it twice (a module imported again in
 * a spawned child).  Returns ML_OK, or ML_ENOMEM: tab then holds part of
 * view (rows merged so far) and still keeps its invariants. */
int repmerge_add(linetab *tab, const repview *view);

/* Adds one row into another, by the rules above.  Cannot fail. */
void repmerge_row(linestat *into, const linestat *from);

#endif
