/* sampler: the timeline's sampling loop.  It starts the program, reads its
 * resident memory (and its descendants') from outside, at a fixed
 * interval, and appends MEM and CHLD lines to a .dat file as it goes.  It
 * never prints; interrupts reach it through a sampler_signal the caller's
 * signal handler fills in.  Starting the program is in sampler_spawn.c. */
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
    int wait_ready;       /* hold every line back until a byte arrives on
                             ready_fd (the program's "I have started"); a
                             program that ends without one leaves nothing */
    int ready_fd;         /* with wait_ready: the read end of that pipe */
    const char *head;     /* NULL, or lines to write before the first reading
                             (the CMDLINE record) */
} sampler_opts;

#define SAMPLER_MIN_INTERVAL 0.001

/* Filled in by the caller's signal handler, read by the loop.  count grows
 * by one per interrupt; forward holds the signal to pass on to the target
 * when it did not get it itself (e.g. it was sent to memline alone, not by
 * the terminal to the whole process group); the loop resets it to 0.
 * first is the first interrupt's signal number (the handler sets it once),
 * for the exit status 128 + N. */
typedef struct sampler_signal {
    volatile sig_atomic_t count;
    volatile sig_atomic_t forward;
    volatile sig_atomic_t first; /* the first interrupt's signal number */
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
    int started;      /* the program said it had started (always 1 without
                         wait_ready); when 0 nothing was written */
    int write_errno;  /* with ML_EIO: why fd could not be written */
    size_t samples;   /* MEM lines taken */
} sampler_result;

/* Starts argv[0] (searched in PATH as execvp does, no shell) with argv.  In
 * the program the signals a host may ignore or block (SIGINT, SIGPIPE, ...)
 * and every signal the caller handles are back to their defaults, the
 * signal mask is empty, the descriptors in inherit[0..ninherit) stay open
 * (all others the caller marked close-on-exec are closed), and the kernel
 * kills it with SIGKILL should the calling thread die first
 * (PR_SET_PDEATHSIG): the program never outlives its sampler.  The
 * program is known to be running when this returns.  Returns ML_OK with
 * *pid set; ML_ENOENT when the program is not found; ML_EACCES when it may
 * not be executed (or is not an executable format), with errno set to
 * exec's reason; ML_EIO/ML_ENOMEM otherwise. */
int sampler_spawn(char *const argv[], const int *inherit, size_t ninherit, pid_t *pid);

/* Samples pid until it ends, the timeout elapses, or an interrupt comes,
 * appending lines to fd (opened O_APPEND, so other writers, such as a
 * profiled Python program writing FUNC lines, can share it), whole lines
 * only (ml_append_lines).  Lines reach fd at least every 0.1 s, so a killed
 * target keeps its timeline.  sig may be NULL.  Returns ML_OK with *res
 * filled in; ML_ENOENT when pid is gone (or a zombie) before its first
 * reading; ML_EIO when fd cannot be written (res->write_errno says why;
 * sampling stops at once and an own child is left running: sampler_wait
 * it); ML_ENOMEM; ML_EINVAL for bad
 * opts.  The caller keeps fd and ready_fd. */
int sampler_run(pid_t pid, int fd, const sampler_opts *o, sampler_signal *sig,
                sampler_result *res);

/* Waits, without sampling, for an own child that sampler_run left running
 * (after a timeout or a write error), reacting to interrupts in sig as
 * sampler_run does: passing them on, then SIGTERM, then SIGKILL.  Sets
 * res->status, have_status, and end to SAMPLER_INTERRUPTED when an
 * interrupt came.  Returns ML_OK, or ML_ENOENT when pid is not our child. */
int sampler_wait(pid_t pid, sampler_signal *sig, sampler_result *res);

#endif
