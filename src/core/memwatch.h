/* memwatch: a thread that samples a process's memory at a fixed interval.
 *
 * memory_usage() runs the user's function in the calling thread while a
 * watch samples beside it: no helper process, no pipe.  Samples are kept in
 * memory (or only their maximum), each with its wall-clock time and, on
 * request, the memory of each child process. */
#ifndef ML_MEMWATCH_H
#define ML_MEMWATCH_H

#include "memsrc.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum memwatch_children {
    MEMWATCH_NO_CHILDREN = 0,
    MEMWATCH_ADD_CHILDREN,     /* each sample is the process plus its descendants */
    MEMWATCH_SPLIT_CHILDREN    /* each sample keeps the children's values apart */
} memwatch_children;

typedef struct memwatch_opts {
    pid_t pid;                  /* 0 = this process */
    memsrc_kind kind;
    memwatch_children children;
    double interval;            /* seconds between samples, > 0 */
    double timeout;             /* seconds after which sampling stops; <= 0 = never */
    int max_only;               /* keep only the largest sample */
} memwatch_opts;

/* One sample.  Invariant: children[child_first .. child_first + nchildren)
 * of the watch hold this sample's child values, in bytes. */
typedef struct memwatch_sample {
    double time;    /* seconds since the epoch */
    int64_t bytes;
    size_t child_first, nchildren;
} memwatch_sample;

typedef struct memwatch memwatch;

/* Starts a watch; its thread takes its first sample one interval later
 * (memwatch_mark takes one at once).  Returns ML_OK
 * and a watch the caller owns, or an error (ML_ENOENT: no such process;
 * ML_EINVAL: bad options; ML_ENOMEM) and *out NULL. */
int memwatch_start(memwatch **out, const memwatch_opts *opts);

/* Takes one sample now, from the calling thread.  Thread-safe.  Does
 * nothing once the watch has timed out. */
void memwatch_mark(memwatch *w);

/* Stops and joins the thread.  Idempotent.  Afterwards the samples can be
 * read without locking. */
void memwatch_stop(memwatch *w);

/* 1 once the timeout ended the sampling, or the process is gone. */
int memwatch_finished(memwatch *w);

/* After memwatch_stop: the samples in time order (with max_only, at most
 * one: the largest), and the children's values they point into. */
size_t memwatch_count(const memwatch *w);
const memwatch_sample *memwatch_samples(const memwatch *w);
const int64_t *memwatch_child_values(const memwatch *w);

/* ML_OK, or the first error a sample met (ML_ENOMEM when samples were
 * dropped for lack of memory). */
int memwatch_error(const memwatch *w);

void memwatch_free(memwatch *w); /* stops first if needed; accepts NULL */

#endif
