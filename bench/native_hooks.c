/* bench: what the hooks cost per call, side by side in one run.  Not a test.
 * Each figure is the best of several runs of n calls made from libnalloc
 * (so through its patched slots), divided by n. */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#include "core/memcount.h"
#include "core/mlerr.h"
#include "nalloc.h"
#include "core/nativehook.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define PAIRS 5000000L
#define REPEAT 3

static double pairs_ns(size_t size)
{
    double best = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        double t = now_ns();
        nalloc_pairs(PAIRS, size);
        t = (now_ns() - t) / (double)PAIRS;
        if (t < best)
            best = t;
    }
    return best;
}

static double mmap_ns(void)
{
    enum { N = 20000 };
    double best = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        double t = now_ns();
        for (int i = 0; i < N; i++) {
            void *p = nalloc_mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            nalloc_munmap(p, 65536);
        }
        t = (now_ns() - t) / N;
        if (t < best)
            best = t;
    }
    return best;
}

static double install_us(void)
{
    double t = now_ns();
    int rc = nativehook_install(NULL);
    t = (now_ns() - t) / 1e3;
    if (rc != ML_OK)
        printf("install failed: %s\n", ml_strerror(rc));
    return t;
}

typedef struct job {
    size_t size;
    double ns;
} job;

static void *foreign_thread(void *arg)
{
    job *j = arg;
    j->ns = pairs_ns(j->size); /* not a known thread: the shared bucket */
    return NULL;
}

static double min2(double a, double b) { return a < b ? a : b; }

int main(void)
{
    static const size_t sizes[] = {16, 64, 1024, 4096};
    enum { NS = 4, ROUNDS = 5 };
    double off[NS], known[NS], foreign[NS], inside[NS];
    double mmap_off = 1e30, mmap_on = 1e30, inst = 1e30, rem = 1e30;
    if (UNDER_ASAN) {
        printf("bench: built with ASan; figures would measure ASan, not the hooks\n");
        return 0;
    }
    ml_count.known = 1;
    for (int i = 0; i < NS; i++)
        off[i] = known[i] = foreign[i] = inside[i] = 1e30;
    nalloc_pairs(PAIRS, 64); /* warm-up */
    /* Interleaved rounds, best of each: drift in the machine's speed then
     * hits every column alike. */
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NS; i++)
            off[i] = min2(off[i], pairs_ns(sizes[i]));
        mmap_off = min2(mmap_off, mmap_ns());
        inst = min2(inst, install_us());
        for (int i = 0; i < NS; i++) {
            known[i] = min2(known[i], pairs_ns(sizes[i]));
            job j = {sizes[i], 0};
            pthread_t t;
            pthread_create(&t, NULL, foreign_thread, &j);
            pthread_join(t, NULL);
            foreign[i] = min2(foreign[i], j.ns);
            ml_count.inside = 1;
            inside[i] = min2(inside[i], pairs_ns(sizes[i]));
            ml_count.inside = 0;
        }
        mmap_on = min2(mmap_on, mmap_ns());
        double t = now_ns();
        nativehook_remove();
        rem = min2(rem, (now_ns() - t) / 1e3);
    }

    printf("ns per malloc+free pair from a patched library (best of %d interleaved rounds of "
           "%d x %ld)\n", ROUNDS, REPEAT, PAIRS);
    printf("  %6s %10s %10s %10s %16s %15s\n", "size", "unhooked", "hooked", "overhead",
           "hooked,untraced", "hooked,inside");
    for (int i = 0; i < NS; i++)
        printf("  %6zu %10.2f %10.2f %10.2f %16.2f %15.2f\n", sizes[i], off[i], known[i],
               known[i] - off[i], foreign[i], inside[i]);
    printf("ns per mmap+munmap pair (64 KiB anonymous): unhooked %.0f, hooked %.0f\n", mmap_off,
           mmap_on);
    printf("install %.0f us, remove %.0f us (this small process)\n", inst, rem);
    return 0;
}
