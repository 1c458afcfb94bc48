/* memwatch: the sampling thread. */
#include "memwatch.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Lock rule: lock guards samples, children, counts, error, stopping and
 * finished; the thread and memwatch_mark take it for each sample, readers
 * after memwatch_stop need not. */
struct memwatch {
    memwatch_opts opts;
    memsrc *src;
    pthread_t thread;
    int started, joined;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping, finished, error;
    double deadline;            /* CLOCK_MONOTONIC seconds; 0 = none */
    memwatch_sample *samples;
    size_t nsamples, cap;
    int64_t *children;
    size_t nchild, child_cap;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int push_child(memwatch *w, int64_t v)
{
    if (w->nchild == w->child_cap) {
        size_t cap = w->child_cap ? w->child_cap * 2 : 64;
        int64_t *c = ml_realloc(w->children, cap * sizeof *c);
        if (!c)
            return ML_ENOMEM;
        w->children = c;
        w->child_cap = cap;
    }
    w->children[w->nchild++] = v;
    return ML_OK;
}

/* Reads the children of the watched process into the children array;
 * returns their sum in *sum. */
static int read_children(memwatch *w, int64_t *sum, size_t *first, size_t *count)
{
    pid_t *pids;
    size_t n;
    *sum = 0;
    *first = w->nchild;
    *count = 0;
    int rc = w->opts.children == MEMWATCH_SPLIT_CHILDREN
                 ? memsrc_children(w->opts.pid, &pids, &n)
                 : memsrc_descendants(w->opts.pid, &pids, &n);
    if (rc != ML_OK)
        return rc;
    for (size_t i = 0; i < n && rc == ML_OK; i++) {
        int64_t b = 0;
        if (w->opts.children == MEMWATCH_SPLIT_CHILDREN) {
            /* A child's value includes its own descendants, as mprof's does. */
            memsrc *src;
            if (memsrc_open(&src, pids[i], w->opts.kind) == ML_OK) {
                if (memsrc_read(src, &b) != ML_OK)
                    b = 0;
                memsrc_close(src);
            }
            int64_t grand;
            if (memsrc_descendants_bytes(pids[i], w->opts.kind, &grand) == ML_OK)
                b += grand;
            rc = push_child(w, b);
            (*count)++;
        } else {
            memsrc *src;
            if (memsrc_open(&src, pids[i], w->opts.kind) == ML_OK) {
                if (memsrc_read(src, &b) == ML_OK)
                    *sum += b;
                memsrc_close(src);
            }
        }
    }
    ml_free(pids);
    return rc;
}

/* Takes one sample; lock held. */
static void sample_locked(memwatch *w)
{
    if (w->finished)
        return;
    if (w->deadline > 0 && mono_now() >= w->deadline) {
        w->finished = 1;
        return;
    }
    int64_t bytes;
    int rc = memsrc_read(w->src, &bytes);
    if (rc != ML_OK) {
        if (rc == ML_ENOENT)
            w->finished = 1; /* the process is gone */
        else if (!w->error)
            w->error = rc;
        return;
    }
    memwatch_sample s = {wall_now(), bytes, w->nchild, 0};
    if (w->opts.children != MEMWATCH_NO_CHILDREN) {
        int64_t sum;
        rc = read_children(w, &sum, &s.child_first, &s.nchildren);
        if (rc != ML_OK && !w->error)
            w->error = rc;
        s.bytes += sum;
    }
    if (w->opts.max_only) {
        if (w->nsamples == 0 || s.bytes > w->samples[0].bytes) {
            w->samples[0] = s;
            w->nsamples = 1;
        }
        return;
    }
    if (w->nsamples == w->cap) {
        size_t cap = w->cap * 2;
        memwatch_sample *p = ml_realloc(w->samples, cap * sizeof *p);
        if (!p) {
            w->error = ML_ENOMEM;
            return;
        }
        w->samples = p;
        w->cap = cap;
    }
    w->samples[w->nsamples++] = s;
}

static void *watch_main(void *arg)
{
    memwatch *w = arg;
    pthread_mutex_lock(&w->lock);
    /* The caller marks the start itself; the thread samples from one
     * interval later on. */
    for (int first = 1; !w->stopping && !w->finished; first = 0) {
        if (!first)
            sample_locked(w);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double next = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + w->opts.interval;
        until.tv_sec = (time_t)next;
        until.tv_nsec = (long)((next - (double)until.tv_sec) * 1e9);
        while (!w->stopping) {
            int rc = pthread_cond_timedwait(&w->wake, &w->lock, &until);
            if (rc == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int memwatch_start(memwatch **out, const memwatch_opts *opts)
{
    *out = NULL;
    if (!(opts->interval > 0))
        return ML_EINVAL;
    memwatch *w = ml_calloc(1, sizeof *w);
    if (!w)
        return ML_ENOMEM;
    w->opts = *opts;
    w->cap = 64;
    w->samples = ml_malloc(w->cap * sizeof *w->samples);
    int rc = w->samples ? memsrc_open(&w->src, opts->pid, opts->kind) : ML_ENOMEM;
    if (rc != ML_OK) {
        ml_free(w->samples);
        ml_free(w);
        return rc;
    }
    if (opts->pid == 0)
        w->opts.pid = getpid();
    w->deadline = opts->timeout > 0 ? mono_now() + opts->timeout : 0;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        memwatch_free(w);
        return ML_ENOMEM;
    }
    w->started = 1;
    *out = w;
    return ML_OK;
}

void memwatch_mark(memwatch *w)
{
    pthread_mutex_lock(&w->lock);
    sample_locked(w);
    pthread_mutex_unlock(&w->lock);
}

void memwatch_stop(memwatch *w)
{
    if (!w->started || w->joined)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->joined = 1;
}

int memwatch_finished(memwatch *w)
{
    pthread_mutex_lock(&w->lock);
    int f = w->finished;
    pthread_mutex_unlock(&w->lock);
    return f;
}

size_t memwatch_count(const memwatch *w) { return w->nsamples; }
const memwatch_sample *memwatch_samples(const memwatch *w) { return w->samples; }
const int64_t *memwatch_child_values(const memwatch *w) { return w->children; }
int memwatch_error(const memwatch *w) { return w->error; }

void memwatch_free(memwatch *w)
{
    if (!w)
        return;
    memwatch_stop(w);
    if (w->started || w->src) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
    }
    memsrc_close(w->src);
    ml_free(w->samples);
    ml_free(w->children);
    ml_free(w);
}
