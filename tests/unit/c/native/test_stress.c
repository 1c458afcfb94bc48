/* test_stress: four threads malloc, calloc, realloc and free random sizes
 * through libnalloc while the main thread installs and removes the hooks
 * over and over.  Nothing may crash, and the counts must balance:
 *
 * The workers are not "known" threads, so everything they do lands in the
 * process-wide bucket.  The main thread publishes an epoch around each
 * transition (odd while changing; even and = 2 mod 4 once installed, = 0
 * mod 4 once removed).  A worker reads it before and after each call: a
 * call that saw the same even epoch on both sides ran entirely while the
 * hooks were in (it must have counted exactly) or out (it must not have).
 * Calls that straddled a transition may have counted or not; their sizes
 * bound the slack.  So the bucket's change must equal the sum over the
 * certain calls, give or take the straddlers -- and, in a last phase with
 * the hooks steady, balanced pairs must move it by exactly zero.
 *
 * Half the workers are made "known" instead: each then reads its own
 * counter around every call and checks the call itself -- it counted
 * exactly its size or exactly nothing (never a double or partial count),
 * and exactly its size, or nothing, when the epoch says the hooks were in,
 * or out, for the whole call. */
#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "core/memcount.h"
#include "core/mlerr.h"
#include "nalloc.h"
#include "core/nativehook.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

#define NTHREADS 4
#define WSET 64
#define ROUNDS 150

static const nativehook_opts opts = {NULL, 0, UNDER_ASAN};

static _Atomic unsigned long epoch; /* see the top comment */
static _Atomic int storm_over, steady_go, freed_all;

typedef struct worker {
    pthread_t t;
    unsigned seed;
    int known;      /* counts on its own ml_count and checks every call */
    long bad_calls; /* known workers: calls that counted something else */
    int64_t sure;   /* net bytes the certain calls must have counted */
    int64_t unsure; /* sum of |bytes| of the calls that straddled a transition */
    long ops, unsure_ops;
    void *blk[WSET];
} worker;

static unsigned long now_epoch(void)
{
    /* Orders the calls between the two reads with respect to them. */
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load(&epoch);
}

/* counted: what the call added to this thread's own counter (known
 * workers), or 0 and ignored. */
static void account(worker *w, unsigned long e1, unsigned long e2, int64_t delta,
                    int64_t counted)
{
    w->ops++;
    int certain = e1 == e2 && !(e1 & 1), in = e1 % 4 == 2;
    if (certain) {
        if (in)
            w->sure += delta;
    } else {
        w->unsure += delta < 0 ? -delta : delta;
        w->unsure_ops++;
    }
    if (!w->known)
        return;
    if (certain ? counted != (in ? delta : 0) : counted != 0 && counted != delta)
        w->bad_calls++;
}

static size_t random_size(worker *w)
{
    unsigned r = (unsigned)rand_r(&w->seed);
    if (r % 50 == 0)
        return 200 * 1024 + r % 100000; /* above glibc's mmap threshold */
    return 1 + r % 65536;
}

static void one_op(worker *w)
{
    int i = rand_r(&w->seed) % WSET, kind = rand_r(&w->seed) % 4;
    unsigned long e1, e2;
    if (w->blk[i] && kind != 3) {
        int64_t u = (int64_t)malloc_usable_size(w->blk[i]), c0 = ml_count.cur;
        e1 = now_epoch();
        nalloc_free(w->blk[i]);
        e2 = now_epoch();
        w->blk[i] = NULL;
        account(w, e1, e2, -u, ml_count.cur - c0);
    } else if (w->blk[i]) {
        int64_t u = (int64_t)malloc_usable_size(w->blk[i]), c0 = ml_count.cur;
        size_t n = random_size(w);
        e1 = now_epoch();
        void *q = nalloc_realloc(w->blk[i], n);
        e2 = now_epoch();
        if (q) {
            w->blk[i] = q;
            account(w, e1, e2, (int64_t)malloc_usable_size(q) - u, ml_count.cur - c0);
        }
    } else {
        size_t n = random_size(w);
        int64_t c0 = ml_count.cur;
        e1 = now_epoch();
        void *p = kind == 0 ? nalloc_calloc(1, n) : nalloc_malloc(n);
        e2 = now_epoch();
        w->blk[i] = p;
        if (p)
            account(w, e1, e2, (int64_t)malloc_usable_size(p), ml_count.cur - c0);
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    ml_count.known = (unsigned)w->known;
    while (!atomic_load(&storm_over))
        one_op(w);
    /* Hooks steady and in from here: free what is left, all certain. */
    for (int i = 0; i < WSET; i++) {
        if (!w->blk[i])
            continue;
        int64_t u = (int64_t)malloc_usable_size(w->blk[i]), c0 = ml_count.cur;
        unsigned long e1 = now_epoch();
        nalloc_free(w->blk[i]);
        unsigned long e2 = now_epoch();
        w->blk[i] = NULL;
        account(w, e1, e2, -u, ml_count.cur - c0);
    }
    atomic_fetch_add(&freed_all, 1);
    while (!atomic_load(&steady_go))
        sched_yield();
    int64_t c0 = ml_count.cur;
    for (int i = 0; i < 100000; i++) {
        void *p = nalloc_malloc(random_size(w));
        nalloc_free(p);
    }
    if (w->known && ml_count.cur != c0)
        w->bad_calls++;
    return NULL;
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

TEST(test_install_remove_storm)
{
    worker w[NTHREADS] = {0};
    ml_count.known = 1; /* the main thread's own counter must stay at zero */
    int64_t main0 = ml_count.cur, f0 = memcount_foreign_cur();
    for (int i = 0; i < NTHREADS; i++) {
        w[i].seed = 1234u + (unsigned)i;
        w[i].known = i % 2;
        pthread_create(&w[i].t, NULL, work, &w[i]);
    }
    int failures = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < ROUNDS; r++) {
        atomic_fetch_add(&epoch, 1); /* odd: changing */
        failures += nativehook_install(&opts) != ML_OK;
        atomic_fetch_add(&epoch, 1); /* installed */
        sleep_us(3000);
        atomic_fetch_add(&epoch, 1);
        failures += nativehook_remove() != ML_OK;
        atomic_fetch_add(&epoch, 1); /* removed */
        sleep_us(1000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    atomic_fetch_add(&epoch, 1);
    failures += nativehook_install(&opts) != ML_OK;
    atomic_fetch_add(&epoch, 1);
    atomic_store(&storm_over, 1);
    while (atomic_load(&freed_all) < NTHREADS)
        sleep_us(1000);
    int64_t got = memcount_foreign_cur() - f0;
    atomic_store(&steady_go, 1);
    int64_t f1 = memcount_foreign_cur();
    int64_t sure = 0, unsure = 0;
    long ops = 0, unsure_ops = 0, bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(w[i].t, NULL);
        if (w[i].known) {
            bad += w[i].bad_calls;
            continue;
        }
        sure += w[i].sure;
        unsure += w[i].unsure;
        ops += w[i].ops;
        unsure_ops += w[i].unsure_ops;
    }
    int64_t steady = memcount_foreign_cur() - f1;
    int64_t main_moved = ml_count.cur - main0; /* read before printf allocates */
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("  %d install/remove rounds in %.0f ms, 2 known + 2 foreign workers\n", ROUNDS, ms);
    printf("  known workers: %lld calls checked one by one, %ld counted wrongly\n",
           (long long)(w[1].ops + w[3].ops), bad);
    printf("  foreign workers: %ld calls, %ld straddled a transition (slack %lld bytes)\n", ops,
           unsure_ops, (long long)unsure);
    printf("  bucket moved %lld, certain calls say %lld (difference %lld)\n", (long long)got,
           (long long)sure, (long long)(got - sure));
    printf("  steady phase, 400000 balanced pairs: bucket moved %lld\n", (long long)steady);
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(bad, 0);
    int64_t diff = got - sure;
    CHECK(diff <= unsure && diff >= -unsure);
    CHECK_EQ_INT(steady, 0);
    CHECK_EQ_INT(main_moved, 0);

    /* And the last remove restores every slot. */
    void **slots[4096], *olds[4096];
    size_t n = nativehook_slots(slots, olds, NULL, 4096);
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    size_t back = 0;
    for (size_t i = 0; i < n && i < 4096; i++)
        back += *slots[i] == olds[i];
    CHECK_EQ_INT(back, n);
}

static char dir[PATH_MAX];
static _Atomic int churn_stop;
static _Atomic long churn_loads, churn_calls_wrong;

static void lib_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%.*s/%s", (int)(size - strlen(name) - 2), dir, name);
}

/* Loads and unloads libndl through the dlopen hook, calling it each time. */
static void *churn_hooked(void *arg)
{
    (void)arg;
    char path[PATH_MAX];
    lib_path(path, sizeof path, "libndl.so");
    ml_count.known = 1;
    while (!atomic_load(&churn_stop)) {
        void *h = nalloc_dlopen(path, RTLD_LAZY);
        if (!h)
            continue;
        void *(*m)(size_t) = (void *(*)(size_t))dlsym(h, "ndl_malloc");
        void (*f)(void *) = (void (*)(void *))dlsym(h, "ndl_free");
        int64_t c0 = ml_count.cur;
        void *p = m(1000);
        int64_t d = ml_count.cur - c0, u = (int64_t)malloc_usable_size(p);
        f(p);
        /* Whatever the install state, never anything but all or nothing. */
        if (d != 0 && d != u)
            atomic_fetch_add(&churn_calls_wrong, 1);
        nalloc_dlclose(h);
        atomic_fetch_add(&churn_loads, 1);
    }
    return NULL;
}

/* Loads and unloads a library behind the hooks' back (this program's own
 * dlopen is not hooked), so passes meet objects half loaded or unloaded. */
static void *churn_unhooked(void *arg)
{
    (void)arg;
    char path[PATH_MAX];
    lib_path(path, sizeof path, "rp2/libnrp2.so");
    while (!atomic_load(&churn_stop)) {
        void *h = dlopen(path, RTLD_NOW);
        if (h)
            dlclose(h);
        atomic_fetch_add(&churn_loads, 1);
    }
    return NULL;
}

TEST(test_install_remove_with_dlopen_churn)
{
    pthread_t a, b;
    pthread_create(&a, NULL, churn_hooked, NULL);
    pthread_create(&b, NULL, churn_unhooked, NULL);
    int failures = 0;
    for (int r = 0; r < 100; r++) {
        int rc[3];
        rc[0] = nativehook_install(&opts);
        sleep_us(2000);
        rc[1] = nativehook_refresh();
        rc[2] = nativehook_remove();
        for (int k = 0; k < 3; k++) {
            if (rc[k] != ML_OK) {
                failures++;
                printf("  round %d: %s returned %s\n", r,
                       k == 0 ? "install" : k == 1 ? "refresh" : "remove", ml_strerror(rc[k]));
            }
        }
        sleep_us(500);
    }
    atomic_store(&churn_stop, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("  100 install/refresh/remove rounds against %ld loads and unloads\n",
           atomic_load(&churn_loads));
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(atomic_load(&churn_calls_wrong), 0);
    CHECK(!nativehook_active());
    CHECK_EQ_INT(nativehook_slots(NULL, NULL, NULL, 0), 0);
    CHECK((void *)nalloc_malloc_ptr() == dlsym(RTLD_DEFAULT, "malloc"));
}

int main(void)
{
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    dir[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    RUN(test_install_remove_storm);
    RUN(test_install_remove_with_dlopen_churn);
    return CTEST_END();
}
