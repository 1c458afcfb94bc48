/* sampler: reads a process's memory at fixed intervals and streams it into
 * a .dat file.
 *
 * Cost model.  A reading of one process is one pread of /proc/PID/statm
 * on a descriptor opened once (memsrc).  Descendants are found by walking
 * the kernel's child lists down from the target (procinfo), a few reads
 * for a small tree; where the kernel has no such lists, by a scan of all of
 * /proc (memsrc), about a millisecond on a busy machine.  Either way the
 * loop times the search in CPU time and waits a hundred times that (at
 * most half a second) before the next, so searching stays under 1% of a
 * core; known descendants are still read at every tick.
 * Lines are batched in memory and written every 0.1 s, whole lines only,
 * so the file never ends in a torn record. */
#include "sampler.h"

#include "datfile.h"
#include "memsrc.h"
#include "mlalloc.h"
#include "mlerr.h"
#include "mlio.h"
#include "procinfo.h"
#include "sbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_PERIOD 0.1
#define FLUSH_BYTES 32768
#define SCAN_COST_FACTOR 100.0
#define SCAN_MAX_PERIOD 0.5
#define GRACE_TERM 3.0 /* seconds after an interrupt before SIGTERM */
#define GRACE_KILL 6.0 /* ... and before SIGKILL */

static double clock_sec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The descendants being followed.  Invariant: pid[i] and src[i] go
 * together; src[i] is NULL once that process was found gone. */
typedef struct kids {
    pid_t *pid;
    memsrc **src;
    size_t count;
    double next_scan; /* monotonic time of the next look for descendants */
    int full_scan;    /* no child lists in this kernel: scan all of /proc */
} kids;

static void kids_release(kids *k)
{
    for (size_t i = 0; i < k->count; i++)
        memsrc_close(k->src[i]);
    ml_free(k->pid);
    ml_free(k->src);
    k->pid = NULL;
    k->src = NULL;
    k->count = 0;
}

/* Replaces the followed set by root's current descendants, keeping the
 * open sources of those already known.  On ML_ENOMEM/ML_EIO k is as it
 * was. */
static int kids_rescan(kids *k, pid_t root)
{
    pid_t *pids;
    size_t n;
    int rc = k->full_scan ? ML_EUNSUPPORTED : procinfo_descendants(root, &pids, &n);
    if (rc == ML_EUNSUPPORTED) {
        k->full_scan = 1;
        rc = memsrc_descendants(root, &pids, &n);
    }
    if (rc != ML_OK)
        return rc;
    memsrc **src = n ? ml_calloc(n, sizeof *src) : NULL;
    if (n && !src) {
        ml_free(pids);
        return ML_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < k->count && !src[i]; j++)
            if (k->pid[j] == pids[i] && k->src[j]) {
                src[i] = k->src[j];
                k->src[j] = NULL;
            }
        if (!src[i] && memsrc_open(&src[i], pids[i], MEMSRC_RSS) != ML_OK)
            src[i] = NULL; /* gone meanwhile, or not ours to read */
    }
    kids_release(k);
    k->pid = pids;
    k->src = src;
    k->count = n;
    return ML_OK;
}

static int flush(int fd, sbuf *out)
{
    int rc = ml_append_lines(fd, out->data, out->len);
    sbuf_clear(out);
    return rc;
}

/* Whether the program has said it started: a byte on the (non-blocking)
 * ready pipe.  EOF or nothing yet: not (yet). */
static int said_ready(int fd)
{
    char c;
    ssize_t n;
    while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {
    }
    return n == 1;
}

/* One reading: MEM (plus descendants with include_children) and, with
 * multiprocess, a CHLD line per live descendant.  Sets *gone when the
 * target no longer exists. */
static int sample(pid_t pid, memsrc *src, kids *k, const sampler_opts *o, sbuf *out, int *gone)
{
    int64_t rss, b;
    int rc = memsrc_read(src, &rss);
    *gone = rc == ML_ENOENT || (rc == ML_OK && rss == 0); /* zombies read 0 */
    if (*gone || rc != ML_OK)
        return *gone ? ML_OK : rc;
    double mono = clock_sec(CLOCK_MONOTONIC);
    if ((o->include_children || o->multiprocess) && mono >= k->next_scan) {
        double cpu = clock_sec(CLOCK_THREAD_CPUTIME_ID);
        rc = kids_rescan(k, pid);
        double wait = (clock_sec(CLOCK_THREAD_CPUTIME_ID) - cpu) * SCAN_COST_FACTOR;
        wait = wait < o->interval ? 0 : wait > SCAN_MAX_PERIOD ? SCAN_MAX_PERIOD : wait;
        k->next_scan = mono + wait;
        if (rc != ML_OK)
            return rc;
    }
    double t = clock_sec(CLOCK_REALTIME);
    size_t mark = out->len;
    int64_t total = rss;
    for (size_t i = 0; i < k->count && o->include_children; i++)
        if (k->src[i] && memsrc_read(k->src[i], &b) == ML_OK)
            total += b;
    rc = datfile_put_mem(out, total, t);
    for (size_t i = 0; rc == ML_OK && i < k->count && o->multiprocess; i++) {
        if (!k->src[i])
            continue;
        if (memsrc_read(k->src[i], &b) != ML_OK || b == 0) {
            memsrc_close(k->src[i]); /* exited (a zombie reads as 0) */
            k->src[i] = NULL;
            continue;
        }
        rc = datfile_put_chld(out, (long)k->pid[i], b, t);
    }
    if (rc != ML_OK)
        out->len = mark; /* never a half-written reading */
    return rc;
}

/* Reacts to new interrupts: passes on a signal the target did not get, and
 * escalates to SIGTERM, then SIGKILL, on repeated interrupts or when the
 * target outlives the grace periods.  Returns 1 when sampling should stop
 * now (the target is not ours to wait for). */
static int on_interrupt(pid_t pid, const sampler_opts *o, sampler_signal *sig, double now,
                        double *since, int *escalated)
{
    if (!sig || sig->count == 0)
        return 0;
    if (!o->own_child)
        return 1;
    if (*since == 0)
        *since = now;
    if (sig->forward) {
        kill(pid, sig->forward);
        sig->forward = 0;
    }
    int want = sig->count >= 3 || now - *since >= GRACE_KILL  ? 2
             : sig->count >= 2 || now - *since >= GRACE_TERM ? 1 : 0;
    if (want > *escalated) {
        kill(pid, want == 2 ? SIGKILL : SIGTERM);
        *escalated = want;
    }
    return 0;
}

int sampler_run(pid_t pid, int fd, const sampler_opts *o, sampler_signal *sig,
                sampler_result *res)
{
    memset(res, 0, sizeof *res);
    if (!(o->interval >= SAMPLER_MIN_INTERVAL) || pid <= 0 || (o->wait_ready && o->ready_fd < 0))
        return ML_EINVAL;
    memsrc *src = NULL;
    kids k = {NULL, NULL, 0, 0};
    sbuf out = SBUF_INIT;
    int rc = memsrc_open(&src, pid, MEMSRC_RSS);
    if (rc == ML_OK && o->head)
        rc = sbuf_puts(&out, o->head);
    if (rc == ML_OK && o->wait_ready)
        fcntl(o->ready_fd, F_SETFL, fcntl(o->ready_fd, F_GETFL) | O_NONBLOCK);
    res->started = !o->wait_ready;
    double start = clock_sec(CLOCK_MONOTONIC), last_flush = start, since = 0;
    double next = start;
    int escalated = 0;
    while (rc == ML_OK) {
        double now = clock_sec(CLOCK_MONOTONIC);
        if (on_interrupt(pid, o, sig, now, &since, &escalated)) {
            res->end = SAMPLER_INTERRUPTED;
            break;
        }
        if (!res->started)
            res->started = said_ready(o->ready_fd);
        if (o->own_child) {
            pid_t w = waitpid(pid, &res->status, WNOHANG);
            if (w == pid || (w < 0 && errno == ECHILD)) {
                res->have_status = w == pid;
                res->end = since ? SAMPLER_INTERRUPTED : SAMPLER_EXITED;
                break;
            }
        }
        int gone = 0;
        rc = sample(pid, src, &k, o, &out, &gone);
        if (rc != ML_OK)
            break;
        if (gone && !o->own_child) {
            /* a zombie or a process gone before its first reading: nothing
             * to record, and nothing is written */
            if (res->samples == 0)
                rc = ML_ENOENT;
            res->end = since ? SAMPLER_INTERRUPTED : SAMPLER_EXITED;
            break;
        }
        res->samples += !gone;
        if (o->timeout > 0 && now - start >= o->timeout && !since) {
            res->end = SAMPLER_TIMEOUT;
            break;
        }
        if (res->started && (now - last_flush >= FLUSH_PERIOD || out.len >= FLUSH_BYTES)) {
            rc = flush(fd, &out);
            res->write_errno = rc == ML_EIO ? errno : 0;
            last_flush = now;
        }
        next += o->interval;
        if (next < now)
            next = now + o->interval; /* fell behind: skip, never burst */
        struct timespec ts = {(time_t)next, (long)((next - (double)(time_t)next) * 1e9)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            if (sig && sig->count)
                break;
    }
    /* The byte may have come just before the program ended. */
    if (!res->started)
        res->started = said_ready(o->ready_fd);
    if (out.len > 0 && res->started && rc != ML_EIO && rc != ML_ENOENT) {
        int frc = flush(fd, &out);
        if (rc == ML_OK && frc == ML_EIO)
            res->write_errno = errno;
        if (rc == ML_OK)
            rc = frc;
    }
    sbuf_release(&out);
    kids_release(&k);
    memsrc_close(src);
    return rc;
}

int sampler_wait(pid_t pid, sampler_signal *sig, sampler_result *res)
{
    sampler_opts o = {SAMPLER_MIN_INTERVAL, 0, 0, 0, 1, 0, -1, NULL};
    double since = 0;
    int escalated = 0;
    for (;;) {
        on_interrupt(pid, &o, sig, clock_sec(CLOCK_MONOTONIC), &since, &escalated);
        pid_t w = waitpid(pid, &res->status, WNOHANG);
        if (w == pid) {
            res->have_status = 1;
            if (since)
                res->end = SAMPLER_INTERRUPTED;
            return ML_OK;
        }
        if (w < 0 && errno != EINTR)
            return ML_ENOENT;
        /* a signal cuts the nap short, so interrupts are passed on at once */
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
