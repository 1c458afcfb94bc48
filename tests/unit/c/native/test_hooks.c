/* test_hooks: the hooks end to end.  This program contains the hooks, so
 * symhook leaves it alone; every counted call goes through libnalloc (or a
 * library dlopen'ed later), and each test checks the exact counter change
 * a call must make, using malloc_usable_size from here to know the sizes.
 *
 * Counters are read only around single calls: this program's own calls
 * into the C library (stdio, fopen for fixtures) allocate inside libc,
 * whose allocation slots are patched, and would count too. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctest.h"
#include "core/memcount.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "nalloc.h"
#include "core/nativehook.h"
#include "core/symhook.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static size_t page;
static char dir[PATH_MAX];

static const nativehook_opts opts_default = {NULL, 0, UNDER_ASAN};

static int64_t cur(void) { return ml_count.cur; }
static int64_t foreign(void) { return memcount_foreign_cur(); }
static int64_t usable(void *p) { return (int64_t)malloc_usable_size(p); }

static const char *in_dir(const char *name)
{
    static char buf[PATH_MAX + 64];
    size_t d = strlen(dir), n = strlen(name);
    if (d + 1 + n + 1 > sizeof buf)
        return name;
    memcpy(buf, dir, d);
    buf[d] = '/';
    memcpy(buf + d + 1, name, n + 1);
    return buf;
}

/* The [lo, hi) range of the object holding addr. */
static void object_range(const void *addr, uintptr_t *lo, uintptr_t *hi)
{
    Dl_info info;
    struct link_map *lm;
    *lo = *hi = 0;
    if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP))
        return;
    const ElfW(Ehdr) *eh = info.dli_fbase;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    uintptr_t l = UINTPTR_MAX, h = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uintptr_t a = lm->l_addr + ph[i].p_vaddr;
        if (a < l)
            l = a;
        if (a + ph[i].p_memsz > h)
            h = a + ph[i].p_memsz;
    }
    *lo = l;
    *hi = h;
}

/* How many redirected slots lie in [lo, hi). */
static size_t slots_in(uintptr_t lo, uintptr_t hi)
{
    void **slots[4096];
    size_t n = nativehook_slots(slots, NULL, NULL, 4096), k = 0;
    for (size_t i = 0; i < n && i < 4096; i++)
        k += (uintptr_t)slots[i] >= lo && (uintptr_t)slots[i] < hi;
    return k;
}

/* The "rwx" letters /proc/self/maps gives the page holding addr ("" if none). */
static const char *prot_of(const void *addr, char out[4])
{
    out[0] = '\0';
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && (uintptr_t)addr >= lo &&
            (uintptr_t)addr < hi) {
            memcpy(out, perms, 3);
            out[3] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
    return out;
}

/* A redirected slot inside libnalloc, or NULL. */
static void **nalloc_slot(void)
{
    uintptr_t lo, hi;
    object_range((const void *)nalloc_malloc, &lo, &hi);
    void **slots[4096];
    size_t n = nativehook_slots(slots, NULL, NULL, 4096);
    for (size_t i = 0; i < n && i < 4096; i++)
        if ((uintptr_t)slots[i] >= lo && (uintptr_t)slots[i] < hi)
            return slots[i];
    return NULL;
}

static void print_skip(const char *path, int reason, const char *text, const char *other, void *ctx)
{
    (void)reason;
    (void)ctx;
    printf("    skipped %-60s %s%s%s\n", path, text, other ? ": " : "", other ? other : "");
}

TEST(test_install)
{
    CHECK(!nativehook_active());
    CHECK_EQ_INT(nativehook_install(&opts_default), ML_OK);
    /* libnalloc is full RELRO: its GOT was made writable for the writes only. */
    void **ns = nalloc_slot();
    char pr[4];
    CHECK(ns != NULL);
    if (ns)
        CHECK_EQ_STR(prot_of(ns, pr), "r--");
    CHECK(nativehook_active());
    CHECK_EQ_INT(nativehook_install(&opts_default), ML_OK); /* again: no-op */
    uintptr_t lo, hi;
    object_range((const void *)nalloc_malloc, &lo, &hi);
    CHECK(slots_in(lo, hi) >= 15); /* every hooked function libnalloc imports, and its data pointer */
    /* Not strdup: in an ASan build that name is ASan's interceptor. */
    object_range((const void *)gnu_get_libc_version, &lo, &hi);
    CHECK(slots_in(lo, hi) >= 4); /* libc: malloc, free, calloc, realloc */
    object_range((const void *)test_install, &lo, &hi);
    CHECK_EQ_INT(slots_in(lo, hi), 0); /* this program: the hooks' own object */
    printf("  slots redirected: %zu\n", nativehook_slots(NULL, NULL, NULL, 0));
    size_t skipped = nativehook_skipped(print_skip, NULL);
    CHECK(skipped >= 3); /* this program, the loader, the vDSO */
}

TEST(test_malloc_family)
{
    int64_t b;
    void *p, *q;

    ml_count.known = 1;
    b = cur();
    p = nalloc_malloc(1000);
    CHECK_EQ_INT(cur() - b, usable(p));
    CHECK_EQ_INT(ml_count.native - b, usable(p));
    CHECK(ml_count.max >= cur());

    b = cur();
    int64_t old = usable(p);
    q = nalloc_realloc(p, 20000); /* grow */
    CHECK_EQ_INT(cur() - b, usable(q) - old);
    b = cur();
    old = usable(q);
    p = nalloc_realloc(q, 100); /* shrink */
    CHECK_EQ_INT(cur() - b, usable(p) - old);
    b = cur();
    old = usable(p);
    q = nalloc_reallocarray(p, 50, 40);
    CHECK_EQ_INT(cur() - b, usable(q) - old);
    b = cur();
    old = usable(q);
    nalloc_free(q);
    CHECK_EQ_INT(cur() - b, -old);

    b = cur();
    p = nalloc_calloc(10, 100);
    CHECK_EQ_INT(cur() - b, usable(p));
    b = cur();
    old = usable(p);
    nalloc_free(p);
    CHECK_EQ_INT(cur() - b, -old);

    b = cur();
    p = nalloc_realloc(NULL, 300); /* = malloc */
    CHECK_EQ_INT(cur() - b, usable(p));
    b = cur();
    old = usable(p);
    q = nalloc_realloc(p, 0); /* glibc: frees, returns NULL */
    if (!q)
        CHECK_EQ_INT(cur() - b, -old);
    else
        nalloc_free(q);

    b = cur();
    p = NULL;
    CHECK_EQ_INT(nalloc_posix_memalign(&p, 64, 3000), 0);
    CHECK((uintptr_t)p % 64 == 0);
    CHECK_EQ_INT(cur() - b, usable(p));
    b = cur();
    old = usable(p);
    nalloc_free(p);
    CHECK_EQ_INT(cur() - b, -old);

    struct {
        const char *what;
        void *p;
    } blocks[] = {
        {"aligned_alloc", nalloc_aligned_alloc(128, 4096)},
        {"memalign", nalloc_memalign(256, 2000)},
        {"valloc", nalloc_valloc(3000)},
        {"pvalloc", nalloc_pvalloc(3000)},
    };
    /* Each allocated above; check one at a time by redoing it measured. */
    for (size_t i = 0; i < 4; i++)
        nalloc_free(blocks[i].p);
    b = cur();
    p = nalloc_aligned_alloc(128, 4096);
    CHECK_EQ_INT(cur() - b, usable(p));
    b = cur();
    q = nalloc_memalign(256, 2000);
    CHECK_EQ_INT(cur() - b, usable(q));
    b = cur();
    void *v = nalloc_valloc(3000);
    CHECK_EQ_INT(cur() - b, usable(v));
    CHECK((uintptr_t)v % page == 0);
    b = cur();
    void *pv = nalloc_pvalloc(3000);
    CHECK_EQ_INT(cur() - b, usable(pv));
    CHECK(usable(pv) >= (int64_t)page);
    b = cur();
    int64_t all = usable(p) + usable(q) + usable(v) + usable(pv);
    nalloc_free(p);
    nalloc_free(q);
    nalloc_free(v);
    nalloc_free(pv);
    CHECK_EQ_INT(cur() - b, -all);

    b = cur();
    nalloc_free(NULL);
    CHECK_EQ_INT(cur() - b, 0);
    b = cur();
    CHECK(nalloc_reallocarray(NULL, SIZE_MAX / 2, 4) == NULL); /* overflow */
    CHECK_EQ_INT(cur() - b, 0);
}

TEST(test_glob_dat_pointer)
{
    /* malloc's address read from libnalloc's GLOB_DAT slot is our hook now:
     * calls through such pointers count as well. */
    nalloc_malloc_fn f = nalloc_malloc_ptr();
    CHECK((void *)f != dlsym(RTLD_DEFAULT, "malloc"));
    int64_t b = cur();
    void *p = f(777);
    CHECK_EQ_INT(cur() - b, usable(p));
    b = cur();
    int64_t u = usable(p);
    nalloc_free(p);
    CHECK_EQ_INT(cur() - b, -u);
}

TEST(test_data_pointer)
{
    /* `nalloc_table_malloc = malloc` is an absolute data relocation: it held
     * the real malloc, now the hook, and remove must put the real one back. */
    CHECK((void *)nalloc_table_malloc != dlsym(RTLD_DEFAULT, "malloc"));
    int64_t b = cur();
    void *p = nalloc_table_malloc(333);
    CHECK_EQ_INT(cur() - b, usable(p));
    nalloc_free(p);
    CHECK_EQ_INT(cur() - b, 0);
}

TEST(test_mmap_family)
{
    int64_t b;
    const size_t MiB = 1 << 20;
    const int RW = PROT_READ | PROT_WRITE, ANON = MAP_PRIVATE | MAP_ANONYMOUS;

    b = cur();
    char *a = nalloc_mmap(NULL, MiB, RW, ANON, -1, 0);
    CHECK(a != MAP_FAILED);
    CHECK_EQ_INT(cur() - b, MiB);
    b = cur();
    CHECK_EQ_INT(nalloc_munmap(a + 256 * 1024, 256 * 1024), 0); /* a hole in the middle */
    CHECK_EQ_INT(cur() - b, -256 * 1024);
    b = cur();
    CHECK_EQ_INT(nalloc_munmap(a, MiB), 0); /* the rest, across the hole */
    CHECK_EQ_INT(cur() - b, -(int64_t)(MiB - 256 * 1024));

    b = cur();
    a = nalloc_mmap(NULL, 1000, RW, ANON, -1, 0); /* page-rounded */
    CHECK_EQ_INT(cur() - b, page);
    b = cur();
    CHECK_EQ_INT(nalloc_munmap(a, 1000), 0);
    CHECK_EQ_INT(cur() - b, -(int64_t)page);

    b = cur();
    a = nalloc_mmap64(NULL, MiB, RW, ANON, -1, 0);
    CHECK_EQ_INT(cur() - b, MiB);
    b = cur();
    char *g = nalloc_mremap(a, MiB, 2 * MiB, MREMAP_MAYMOVE); /* grow */
    CHECK(g != MAP_FAILED);
    CHECK_EQ_INT(cur() - b, MiB);
    b = cur();
    char *s = nalloc_mremap(g, 2 * MiB, MiB / 2, 0); /* shrink in place */
    CHECK(s == g);
    CHECK_EQ_INT(cur() - b, -(int64_t)(3 * MiB / 2));
    b = cur();
    CHECK_EQ_INT(nalloc_munmap(s, MiB / 2), 0);
    CHECK_EQ_INT(cur() - b, -(int64_t)(MiB / 2));

    /* File-backed: not counted, neither way. */
    char path[] = "/tmp/nh_mapXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(ftruncate(fd, 64 * 1024), 0);
    b = cur();
    char *f = nalloc_mmap(NULL, 64 * 1024, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(f != MAP_FAILED);
    CHECK_EQ_INT(cur() - b, 0);
    b = cur();
    char *f2 = nalloc_mremap(f, 64 * 1024, 128 * 1024, MREMAP_MAYMOVE);
    CHECK(f2 != MAP_FAILED);
    CHECK_EQ_INT(cur() - b, 0);
    CHECK_EQ_INT(nalloc_munmap(f2, 128 * 1024), 0);
    CHECK_EQ_INT(cur() - b, 0);

    /* MAP_FIXED over counted memory replaces it: no double count. */
    b = cur();
    a = nalloc_mmap(NULL, MiB, RW, ANON, -1, 0);
    CHECK(nalloc_mmap(a, 256 * 1024, RW, ANON | MAP_FIXED, -1, 0) == a);
    CHECK_EQ_INT(cur() - b, MiB);
    CHECK(nalloc_mmap(a, 64 * 1024, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == a);
    CHECK_EQ_INT(cur() - b, MiB - 64 * 1024);
    CHECK_EQ_INT(nalloc_munmap(a, MiB), 0);
    CHECK_EQ_INT(cur() - b, 0);
    close(fd);
    unlink(path);

    /* PROT_NONE is a reservation, not memory (a deliberate rule, NOTES.md). */
    b = cur();
    a = nalloc_mmap(NULL, 64 * MiB, PROT_NONE, ANON | MAP_NORESERVE, -1, 0);
    CHECK_EQ_INT(cur() - b, 0);
    CHECK_EQ_INT(nalloc_munmap(a, 64 * MiB), 0);
    CHECK_EQ_INT(cur() - b, 0);

    /* A failing call changes nothing and keeps its errno. */
    b = cur();
    errno = 0;
    CHECK(nalloc_mmap(NULL, 4096, RW, MAP_PRIVATE, -1, 0) == MAP_FAILED);
    CHECK_EQ_INT(errno, EBADF);
    CHECK_EQ_INT(nalloc_munmap((void *)1, 4096), -1);
    CHECK_EQ_INT(errno, EINVAL);
    CHECK_EQ_INT(cur() - b, 0);
}

TEST(test_block_from_before_install)
{
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    CHECK(!nativehook_active());
    int64_t b = cur();
    void *p = nalloc_malloc(5000);
    CHECK_EQ_INT(cur() - b, 0); /* not counted: hooks are out */
    CHECK_EQ_INT(nativehook_install(&opts_default), ML_OK);
    b = cur();
    int64_t u = usable(p);
    nalloc_free(p);
    CHECK_EQ_INT(cur() - b, -u); /* a real decrease */
}

static void *thread_body(void *arg)
{
    void **out = arg;
    *out = nalloc_malloc(10000);
    return NULL;
}

static void *thread_free(void *arg)
{
    nalloc_free(arg);
    return NULL;
}

TEST(test_c_thread_goes_to_bucket)
{
    void *p = NULL;
    pthread_t t;
    int64_t b = cur(), f = foreign();
    pthread_create(&t, NULL, thread_body, &p);
    pthread_join(t, NULL);
    CHECK(p != NULL);
    CHECK_EQ_INT(cur() - b, 0);
    CHECK_EQ_INT(foreign() - f, usable(p));
    CHECK(memcount_foreign_max() >= foreign());
    f = foreign();
    int64_t u = usable(p);
    pthread_create(&t, NULL, thread_free, p);
    pthread_join(t, NULL);
    CHECK_EQ_INT(foreign() - f, -u);
    CHECK_EQ_INT(cur() - b, 0);
}

TEST(test_inside_python_hook)
{
    ml_count.inside = 1;
    int64_t b = cur(), f = foreign();
    void *p = nalloc_malloc(1234);
    void *m = nalloc_mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    nalloc_munmap(m, 1 << 20);
    nalloc_free(p);
    CHECK_EQ_INT(cur() - b, 0);
    CHECK_EQ_INT(foreign() - f, 0);
    ml_count.inside = 0;
}

static const char *lines_file(void)
{
    static char path[] = "/tmp/nh_linesXXXXXX";
    int fd = mkstemp(path);
    for (int i = 0; i < 50; i++) {
        char line[200];
        int n = snprintf(line, sizeof line, "line %d of a file getline reads %0*d\n", i, i * 2, 0);
        if (write(fd, line, (size_t)n) != n)
            break;
    }
    close(fd);
    return path;
}

typedef struct loop_result {
    int64_t strdup_, getline_, fopen_, asprintf_, realpath_;
} loop_result;

static loop_result run_loops(const char *file, long n)
{
    loop_result r;
    int64_t b = cur();
    CHECK_EQ_INT(nalloc_strdup_loop(n), n);
    r.strdup_ = cur() - b;
    b = cur();
    CHECK(nalloc_getline_loop(file, n) > 0);
    r.getline_ = cur() - b;
    b = cur();
    CHECK_EQ_INT(nalloc_fopen_loop(file, n), n);
    r.fopen_ = cur() - b;
    b = cur();
    CHECK_EQ_INT(nalloc_asprintf_loop(n), n);
    r.asprintf_ = cur() - b;
    b = cur();
    CHECK_EQ_INT(nalloc_realpath_loop(file, n), n);
    r.realpath_ = cur() - b;
    return r;
}

static void print_loops(const char *what, loop_result r)
{
    printf("  %-28s strdup %9lld  getline %9lld  fopen %9lld  asprintf %9lld  realpath %9lld\n",
           what, (long long)r.strdup_, (long long)r.getline_, (long long)r.fopen_,
           (long long)r.asprintf_, (long long)r.realpath_);
}

TEST(test_libc_internal_allocations)
{
    const char *file = lines_file();
    const long n = 1000;
    (void)run_loops(file, 1); /* first-use allocations (stdio, locale) out of the way */

    loop_result patched = run_loops(file, n);
    print_loops("libc patched (default):", patched);
    /* Exactly zero: every allocation libc makes for these is seen, and so is
     * every free.  Under ASan, strdup is the sanitizer's own interceptor,
     * which allocates where no hook can see (the documented reason ASan
     * makes install step aside by default). */
    if (!UNDER_ASAN)
        CHECK_EQ_INT(patched.strdup_, 0);
    CHECK_EQ_INT(patched.getline_, 0);
    CHECK_EQ_INT(patched.fopen_, 0);
    CHECK_EQ_INT(patched.asprintf_, 0);
    if (!UNDER_ASAN)
        CHECK_EQ_INT(patched.realpath_, 0);

    /* The alternative, measured: leave libc's slots alone. */
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    nativehook_opts o = opts_default;
    o.leave_libc = 1;
    CHECK_EQ_INT(nativehook_install(&o), ML_OK);
    loop_result left = run_loops(file, n);
    print_loops("libc left alone:", left);
    CHECK(left.strdup_ < -(int64_t)n * 24); /* a free per strdup, no malloc */
    CHECK(left.getline_ < 0);
    CHECK(left.asprintf_ < 0);
    CHECK_EQ_INT(left.fopen_, 0); /* fopen and fclose both inside libc: unseen */
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    CHECK_EQ_INT(nativehook_install(&opts_default), ML_OK);
    unlink(file);
}

TEST(test_dlopen_after_install)
{
    /* RTLD_LAZY: RTLD_NOW would bind every slot before we see it. */
    void *h = nalloc_dlopen(in_dir("libndl.so"), RTLD_LAZY);
    CHECK(h != NULL);
    if (!h)
        return;
    void *(*ndl_malloc)(size_t) = (void *(*)(size_t))dlsym(h, "ndl_malloc");
    void (*ndl_free)(void *) = (void (*)(void *))dlsym(h, "ndl_free");
    void *(*ctor_block)(void) = (void *(*)(void))dlsym(h, "ndl_ctor_block");
    void (*free_ctor)(void) = (void (*)(void))dlsym(h, "ndl_free_ctor_block");
    uintptr_t lo, hi;
    object_range((const void *)ndl_malloc, &lo, &hi);
    CHECK(slots_in(lo, hi) >= 2);

    /* Lazily bound: the old value of a slot never called yet is its own PLT
     * stub, inside the library; restore must put exactly that back. */
    void **slots[4096], *olds[4096];
    size_t n = nativehook_slots(slots, olds, NULL, 4096), lazy = 0;
    for (size_t i = 0; i < n && i < 4096; i++)
        if ((uintptr_t)slots[i] >= lo && (uintptr_t)slots[i] < hi)
            lazy += (uintptr_t)olds[i] >= lo && (uintptr_t)olds[i] < hi;
    CHECK(lazy >= 1);

    int64_t b = cur();
    void *p = ndl_malloc(4000);
    CHECK_EQ_INT(cur() - b, usable(p));
    b = cur();
    int64_t u = usable(p);
    ndl_free(p);
    CHECK_EQ_INT(cur() - b, -u);

    /* Its constructor ran inside dlopen, before the hook could patch it: that
     * allocation was not seen, and its free shows as a decrease (NOTES.md,
     * "what cannot be seen"). */
    b = cur();
    u = usable(ctor_block());
    free_ctor();
    CHECK_EQ_INT(cur() - b, -u);

    /* Its bare-name dlopen is found through its DT_RPATH. */
    CHECK(dlopen("libnrp2.so", RTLD_NOW | RTLD_NOLOAD) == NULL);
    void *(*bare)(void) = (void *(*)(void))dlsym(h, "ndl_dlopen_bare");
    void *h2 = bare();
    CHECK(h2 != NULL);
    if (h2) {
        void *(*nrp_malloc)(size_t) = (void *(*)(size_t))dlsym(h2, "nrp_malloc");
        void (*nrp_free)(void *) = (void (*)(void *))dlsym(h2, "nrp_free");
        b = cur();
        p = nrp_malloc(2500);
        CHECK_EQ_INT(cur() - b, usable(p));
        nrp_free(p);
        CHECK_EQ_INT(cur() - b, 0);
        CHECK_EQ_INT(nalloc_dlclose(h2), 0);
    }

    size_t before = nativehook_slots(NULL, NULL, NULL, 0);
    CHECK_EQ_INT(nalloc_dlclose(h), 0);
    CHECK(nativehook_slots(NULL, NULL, NULL, 0) < before); /* its entries forgotten */

    /* Loaded again (likely at the same address): patched again. */
    h = nalloc_dlopen(in_dir("libndl.so"), RTLD_NOW);
    CHECK(h != NULL);
    ndl_malloc = (void *(*)(size_t))dlsym(h, "ndl_malloc");
    ndl_free = (void (*)(void *))dlsym(h, "ndl_free");
    b = cur();
    p = ndl_malloc(4000);
    CHECK_EQ_INT(cur() - b, usable(p));
    ndl_free(p);
    CHECK_EQ_INT(cur() - b, 0);
    CHECK_EQ_INT(nalloc_dlclose(h), 0);
}

TEST(test_dlopen_runpath)
{
    /* This program (the object the real dlopen sees as its caller once
     * dlopen is hooked) cannot find libnrp.so: only libnalloc's RUNPATH can. */
    CHECK(dlopen("libnrp.so", RTLD_NOW) == NULL);
    void *h = nalloc_dlopen("libnrp.so", RTLD_NOW);
    CHECK(h != NULL);
    if (h) {
        void *(*nrp_malloc)(size_t) = (void *(*)(size_t))dlsym(h, "nrp_malloc");
        void (*nrp_free)(void *) = (void (*)(void *))dlsym(h, "nrp_free");
        int64_t b = cur();
        void *p = nrp_malloc(3000);
        CHECK_EQ_INT(cur() - b, usable(p)); /* and it is patched */
        nrp_free(p);
        CHECK_EQ_INT(cur() - b, 0);
        /* Already loaded: a second bare dlopen returns the same object. */
        void *again = nalloc_dlopen("libnrp.so", RTLD_NOW);
        CHECK(again == h);
        nalloc_dlclose(again);
        nalloc_dlclose(h);
    }
    /* $ORIGIN in the name means libnalloc's directory, as without hooks. */
    h = nalloc_dlopen("$ORIGIN/rp/libnrp.so", RTLD_NOW);
    CHECK(h != NULL);
    if (h)
        nalloc_dlclose(h);
    /* System libraries and failures behave as before. */
    h = nalloc_dlopen("libm.so.6", RTLD_NOW);
    CHECK(h != NULL);
    if (h)
        nalloc_dlclose(h);
    CHECK(nalloc_dlopen("libdoes-not-exist.so", RTLD_NOW) == NULL);
    const char *err = dlerror();
    CHECK(err && strstr(err, "libdoes-not-exist.so"));
}

TEST(test_refresh_sees_unhooked_dlopen)
{
    /* dlopen from this program is not hooked (it is the hooks' object), like
     * libc's own dlopen of NSS modules: refresh patches what it loaded. */
    void *h = dlopen(in_dir("libndl.so"), RTLD_NOW);
    CHECK(h != NULL);
    if (!h)
        return;
    void *(*ndl_malloc)(size_t) = (void *(*)(size_t))dlsym(h, "ndl_malloc");
    void (*ndl_free)(void *) = (void (*)(void *))dlsym(h, "ndl_free");
    int64_t b = cur();
    void *p = ndl_malloc(1000);
    CHECK_EQ_INT(cur() - b, 0);
    ndl_free(p);
    CHECK_EQ_INT(nativehook_refresh(), ML_OK);
    b = cur();
    p = ndl_malloc(1000);
    CHECK_EQ_INT(cur() - b, usable(p));
    ndl_free(p);
    CHECK_EQ_INT(cur() - b, 0);
    dlclose(h);
    CHECK_EQ_INT(nativehook_refresh(), ML_OK);
}

TEST(test_skip_list)
{
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    const char *skip[] = {"libnalloc", NULL};
    nativehook_opts o = opts_default;
    o.skip = skip;
    CHECK_EQ_INT(nativehook_install(&o), ML_OK);
    int64_t b = cur();
    void *p = nalloc_malloc(1000);
    nalloc_free(p);
    CHECK_EQ_INT(cur() - b, 0);
    uintptr_t lo, hi;
    object_range((const void *)nalloc_malloc, &lo, &hi);
    CHECK_EQ_INT(slots_in(lo, hi), 0);
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    CHECK_EQ_INT(nativehook_install(&opts_default), ML_OK);
}

static volatile int hammer_stop;

static void *hammer(void *arg)
{
    (void)arg;
    while (!hammer_stop) {
        void *m = nalloc_mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *p = nalloc_malloc(100);
        nalloc_free(p);
        nalloc_munmap(m, 65536);
        /* Holds nh_lock for a moment each time.  No dlopen here: a child
         * forked while another thread is inside dlopen inherits the loader
         * mid-update (glibc asserts on its next dlopen), and POSIX does not
         * promise dlopen after fork anyway. */
        nativehook_refresh();
    }
    return NULL;
}

TEST(test_fork)
{
    pthread_t t;
    hammer_stop = 0;
    pthread_create(&t, NULL, hammer, NULL);
    int ok = 0, forks = 20;
    for (int i = 0; i < forks; i++) {
        int64_t before = cur();
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10); /* a deadlock on an inherited lock kills the child */
            ml_count.cur = ml_count.native = ml_count.max = 0;
            int good = 1;
            void *p = nalloc_malloc(1000);
            good &= cur() == usable(p);
            void *m = nalloc_mmap(NULL, 65536, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            good &= cur() == usable(p) + 65536;
            nalloc_munmap(m, 65536);
            nalloc_free(p);
            good &= cur() == 0;
            void *h = nalloc_dlopen("libm.so.6", RTLD_NOW); /* takes the rescan lock */
            good &= h != NULL;
            good &= nativehook_active();
            _exit(good ? 0 : 1);
        }
        CHECK(pid > 0);
        int st = 0;
        waitpid(pid, &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
        CHECK_EQ_INT(cur() - before, 0); /* the parent's counter is its own */
    }
    hammer_stop = 1;
    pthread_join(t, NULL);
    CHECK_EQ_INT(ok, forks);
}

TEST(test_remove_restores_everything)
{
    void **slots[4096], *olds[4096], *hooks[4096];
    void **ns = nalloc_slot();
    size_t n = nativehook_slots(slots, olds, hooks, 4096);
    CHECK(n > 0 && n <= 4096);
    size_t ours = 0;
    for (size_t i = 0; i < n && i < 4096; i++)
        ours += *slots[i] == hooks[i];
    CHECK_EQ_INT(ours, n);
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    CHECK(!nativehook_active());
    size_t back = 0;
    for (size_t i = 0; i < n && i < 4096; i++)
        back += *slots[i] == olds[i];
    CHECK_EQ_INT(back, n);
    CHECK_EQ_INT(nativehook_slots(NULL, NULL, NULL, 0), 0);
    char pr[4];
    CHECK(ns && strcmp(prot_of(ns, pr), "r--") == 0); /* read-only again */
    /* libnalloc's full-RELRO slot holds the real malloc again, exactly. */
    CHECK((void *)nalloc_malloc_ptr() == dlsym(RTLD_DEFAULT, "malloc"));
    CHECK((void *)nalloc_table_malloc == dlsym(RTLD_DEFAULT, "malloc"));

    int64_t b = cur(), f = foreign();
    void *p = nalloc_malloc(1000);
    p = nalloc_realloc(p, 5000);
    nalloc_free(p);
    void *m = nalloc_mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    nalloc_munmap(m, 1 << 20);
    CHECK_EQ_INT(cur() - b, 0);
    CHECK_EQ_INT(foreign() - f, 0);
    CHECK_EQ_INT(nativehook_remove(), ML_OK); /* again: no-op */
}

TEST(test_another_tool_present)
{
    void *ft = dlopen(in_dir("libfaketool.so"), RTLD_NOW);
    CHECK(ft != NULL);
    if (!ft)
        return;
    int (*ft_install)(void) = (int (*)(void))dlsym(ft, "faketool_install");
    int (*ft_remove)(void) = (int (*)(void))dlsym(ft, "faketool_remove");
    long (*ft_calls)(void) = (long (*)(void))dlsym(ft, "faketool_calls");
    CHECK_EQ_INT(ft_install(), ML_OK);

    int rc = nativehook_install(&opts_default);
    CHECK_EQ_INT(rc, ML_EBUSY);
    const char *who = nativehook_foreign();
    CHECK(who && strstr(who, "libfaketool.so"));
    printf("  another tool detected: %s\n", who ? who : "(none)");
    CHECK(!nativehook_active());
    CHECK_EQ_INT(nativehook_slots(NULL, NULL, NULL, 0), 0); /* installed nothing */
    long c = ft_calls();
    void *p = nalloc_malloc(10);
    CHECK_EQ_INT(ft_calls() - c, 1); /* its hook is untouched */
    nalloc_free(p);

    CHECK_EQ_INT(ft_remove(), ML_OK);
    CHECK_EQ_INT(nativehook_install(&opts_default), ML_OK);
    CHECK(nativehook_foreign() == NULL);
    int64_t b = cur();
    p = nalloc_malloc(10);
    CHECK_EQ_INT(cur() - b, usable(p));
    nalloc_free(p);
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
}

static void *program_alloc(size_t n)
{
    return malloc(n);
}

TEST(test_data_pointer_set_by_the_program)
{
    /* A program may point its own allocator variables elsewhere (CPython's
     * _decimal points libmpdec's mpd_mallocfunc at PyMem_Malloc): that is
     * the program's choice, not another tool's hook, and must neither stop
     * the install nor be redirected. */
    nalloc_malloc_fn saved = nalloc_table_malloc;
    nalloc_table_malloc = program_alloc;
    CHECK_EQ_INT(nativehook_install(&opts_default), ML_OK);
    CHECK(nativehook_foreign() == NULL);
    CHECK(nalloc_table_malloc == program_alloc);
    CHECK_EQ_INT(nativehook_remove(), ML_OK);
    CHECK(nalloc_table_malloc == program_alloc);
    nalloc_table_malloc = saved;
}

TEST(test_out_of_memory_during_install)
{
    /* Fail the n-th of install's own allocations, for every n until install
     * no longer reaches the failure: each failed install must leave nothing
     * redirected and nothing counting. */
    void *real_malloc = dlsym(RTLD_DEFAULT, "malloc");
    int failed = 0, n;
    for (n = 1; n < 10000; n++) {
        ml_alloc_fail_nth(n);
        int rc = nativehook_install(&opts_default);
        ml_alloc_fail_nth(0);
        if (rc == ML_OK) {
            CHECK(nativehook_active());
            CHECK_EQ_INT(nativehook_remove(), ML_OK);
            break;
        }
        failed++;
        CHECK_EQ_INT(rc, ML_ENOMEM);
        CHECK(!nativehook_active());
        CHECK_EQ_INT(nativehook_slots(NULL, NULL, NULL, 0), 0);
        CHECK((void *)nalloc_malloc_ptr() == real_malloc);
    }
    printf("  install failed cleanly at each of its first %d allocations\n", failed);
    CHECK(failed > 5);
    CHECK(n < 10000);
}

TEST(test_sanitizer_steps_aside)
{
    /* Only meaningful where a sanitizer owns malloc. */
    if (!UNDER_ASAN)
        return;
    nativehook_opts o = {NULL, 0, 0};
    CHECK_EQ_INT(nativehook_install(&o), ML_EBUSY);
    const char *who = nativehook_foreign();
    CHECK(who && strstr(who, "asan"));
    printf("  sanitizer runtime detected: %s\n", who ? who : "(none)");
    CHECK(!nativehook_active());
}

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    dir[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    ml_count.known = 1;

    RUN(test_install);
    RUN(test_malloc_family);
    RUN(test_glob_dat_pointer);
    RUN(test_data_pointer);
    RUN(test_mmap_family);
    RUN(test_block_from_before_install);
    RUN(test_c_thread_goes_to_bucket);
    RUN(test_inside_python_hook);
    RUN(test_libc_internal_allocations);
    RUN(test_dlopen_after_install);
    RUN(test_dlopen_runpath);
    RUN(test_refresh_sees_unhooked_dlopen);
    RUN(test_skip_list);
    RUN(test_fork);
    RUN(test_remove_restores_everything);
    RUN(test_another_tool_present);
    RUN(test_data_pointer_set_by_the_program);
    RUN(test_out_of_memory_during_install);
    RUN(test_sanitizer_steps_aside);
    return CTEST_END();
}
