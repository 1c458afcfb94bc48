/* sampler: the timeline's sampling loop.  It reads a process's resident
 * memory (and its descendants') from outside, at a fixed interval, and
 * appends MEM and CHLD lines to a .dat file as it goes.  It never prints;
 * interrupts reach it through a sampler_signal the caller's signal handler
 * fills in. */
#ifndef ML_SAMPLER_H
#define ML_SAMPLER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct sampler_opts {
    double interval;      /* seconds between readings, >= SAMPLER_MIN_INTERVAL */
    double timeout;       /* stop sampling after this many seconds; <= 0: never */
    int include_children; /* MEM counts every descendant too */
    int multiprocess;     /* a CHLD line per live descendant at every reading */
    int own_child;        /* pid was started by us: reap it, and on an
                             interrupt wait for it to end */
} sampler_opts;

#define SAMPLER_MIN_INTERVAL 0.001

/* Filled in by the caller's signal handler, read by the loop.  count grows
 * by one per interrupt; forward holds the signal to pass on to the target
 * when it did not get it itself (e.g. it was sent to memline alone, not by
 * the terminal to the whole process group); the loop resets it to 0. */
typedef struct sampler_signal {
    volatile sig_atomic_t count;
    volatile sig_atomic_t forward;
} sampler_signal;

typedef enum sampler_end {
    SAMPLER_EXITED = 0,  /* the process ended */
    SAMPLER_TIMEOUT,     /* opts.timeout elapsed; the process was left running */
    SAMPLER_INTERRUPTED  /* an interrupt came (an own child was then waited for) */
} sampler_end;

typedef struct sampler_result {
    sampler_end end;
    int status;       /* waitpid status when an own child ended, else 0 */
    int have_status;  /* status is valid */
    size_t samples;   /* MEM lines written */
} sampler_result;

/* Starts argv[0] (searched in PATH, no shell) with argv, the signals a
 * host may ignore or block (SIGINT, SIGPIPE, ...) set back to default.
 * Returns ML_OK with *pid set; ML_ENOENT when the program is not found;
 * ML_EACCES when it may not be executed; ML_EIO/ML_ENOMEM otherwise. */
int sampler_spawn(char *const argv[], pid_t *pid);

/* Samples pid until it ends, the timeout elapses, or an interrupt comes,
 * appending lines to fd (opened O_APPEND, so other writers, such as a
 * profiled Python program writing FUNC lines, can share it).  Lines reach
 * fd at least every 0.1 s, so a killed target keeps its timeline.  sig may
 * be NULL.  Returns ML_OK with *res filled in; ML_ENOENT when pid is gone
 * at the start; ML_EIO when fd cannot be written (sampling stops, the
 * process is left alone); ML_ENOMEM; ML_EINVAL for bad opts.  The caller
 * keeps fd. */
int sampler_run(pid_t pid, int fd, const sampler_opts *o, sampler_signal *sig,
                sampler_result *res);

#endif
