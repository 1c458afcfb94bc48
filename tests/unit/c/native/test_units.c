/* test_units: the pieces that need no hooks installed -- memcount's adds
 * and buckets, anonmap's region arithmetic, symhook's ELF reader against
 * hand-made malformed objects and against every object really loaded, and
 * dlsearch's $ORIGIN expansion. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/anonmap.h"
#include "ctest.h"
#include "core/dlsearch.h"
#include "core/memcount.h"
#include "core/mlerr.h"
#include "core/symhook.h"

/* ---- memcount ---- */

TEST(test_known_thread_counts_own)
{
    memcount saved = ml_count;
    int64_t f = memcount_foreign_cur();
    ml_count = (memcount){.known = 1};
    memcount_add_native(100);
    memcount_add_python(50);
    memcount_add_native(-30);
    CHECK_EQ_INT(ml_count.cur, 120);
    CHECK_EQ_INT(ml_count.native, 70);
    CHECK_EQ_INT(ml_count.max, 150);
    CHECK_EQ_INT(ml_count.native_max, 100);
    CHECK_EQ_INT(ml_count.lazy, 0); /* small blocks are backed at once */
    CHECK(memcount_ok(&ml_count));
    memcount_reset_max();
    CHECK_EQ_INT(ml_count.max, 120);
    CHECK_EQ_INT(ml_count.native_max, 70);
    /* A big block may be backed lazily; a free does not pay it off. */
    memcount_add_native(MEMCOUNT_LAZY_MIN);
    memcount_add_native(-MEMCOUNT_LAZY_MIN);
    CHECK_EQ_INT(ml_count.lazy, MEMCOUNT_LAZY_MIN);
    CHECK_EQ_INT(memcount_foreign_cur(), f);
    ml_count = saved;
}

TEST(test_unknown_thread_goes_to_bucket)
{
    memcount saved = ml_count;
    ml_count = (memcount){.known = 0};
    int64_t f = memcount_foreign_cur();
    memcount_add_native(4096);
    memcount_add_native(-96);
    CHECK_EQ_INT(ml_count.cur, 0);
    CHECK_EQ_INT(memcount_foreign_cur() - f, 4000);
    CHECK(memcount_foreign_max() >= f + 4096);
    memcount_add_native(-4000);
    /* Allocating through Python's allocators makes a thread known. */
    memcount_add_python(16);
    CHECK_EQ_INT(ml_count.known, 1);
    CHECK_EQ_INT(ml_count.cur, 16);
    ml_count = saved;
}

static void *bucket_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        memcount_add_native(64);
        memcount_add_native(-64);
    }
    memcount_add_native(1000);
    return NULL;
}

TEST(test_watch_sees_every_thread)
{
    memcount saved = ml_count;
    ml_count = (memcount){.known = 1};
    memcount_add_python(100); /* before the watch: not in the total */
    int64_t start = memcount_watch_begin();
    memcount_add_python(1000);
    memcount_add_native(5000);
    memcount_add_native(-5000);
    ml_count.known = 0; /* a thread that runs no Python: the bucket, and the total */
    memcount_add_native(300);
    CHECK_EQ_INT(memcount_total_cur() - start, 1300);
    CHECK_EQ_INT(memcount_total_take_max() - start, 6000);
    CHECK_EQ_INT(memcount_total_take_max() - start, 1300); /* lowered to the level */
    memcount_watch_end();
    memcount_add_native(-300);
    ml_count.known = 1;
    memcount_add_python(-1000);
    CHECK_EQ_INT(memcount_total_cur() - start, 1300); /* no longer watched */
    memcount_watch_end(); /* one end too many: harmless */
    ml_count = saved;
}

TEST(test_bucket_concurrent)
{
    int64_t f = memcount_foreign_cur();
    (void)memcount_foreign_take_max();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, bucket_worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(memcount_foreign_cur() - f, 4000);
    int64_t m = memcount_foreign_take_max();
    CHECK(m >= f + 4000);
    CHECK(m <= f + 4000 + 4 * 64);
    CHECK_EQ_INT(memcount_foreign_max(), memcount_foreign_cur());
    ml_count.known = 0;
    memcount_add_native(-4000);
}

/* ---- anonmap ---- */

TEST(test_anonmap_split_merge)
{
    anonmap_lock();
    anonmap_clear();
    CHECK_EQ_INT(anonmap_add(0x10000, 0x4000), ML_OK);
    CHECK_EQ_INT(anonmap_add(0x14000, 0x2000), ML_OK); /* touches: merged */
    CHECK_EQ_INT(anonmap_count(), 1);
    CHECK_EQ_INT(anonmap_total(), 0x6000);
    CHECK_EQ_INT(anonmap_remove(0x11000, 0x1000), 0x1000); /* split */
    CHECK_EQ_INT(anonmap_count(), 2);
    CHECK_EQ_INT(anonmap_counted(0x10000, 0x6000), 0x5000);
    CHECK_EQ_INT(anonmap_remove(0x11000, 0x1000), 0); /* already gone */
    CHECK_EQ_INT(anonmap_remove(0xf000, 0x2000), 0x1000); /* head */
    CHECK_EQ_INT(anonmap_remove(0x15000, 0x4000), 0x1000); /* tail */
    CHECK_EQ_INT(anonmap_total(), 0x3000);
    CHECK(anonmap_check());
    CHECK_EQ_INT(anonmap_add(0x11000, 0x1000), ML_OK); /* touches the one on its right */
    CHECK_EQ_INT(anonmap_count(), 1);
    CHECK_EQ_INT(anonmap_add(0x16000, 0x1000), ML_OK); /* and a gap of one page */
    CHECK_EQ_INT(anonmap_count(), 2);
    CHECK_EQ_INT(anonmap_add(0x15000, 0x1000), ML_OK); /* fills it: three become one */
    CHECK_EQ_INT(anonmap_count(), 1);
    CHECK_EQ_INT(anonmap_remove(0, 0x100000), 0x6000);
    CHECK_EQ_INT(anonmap_count(), 0);
    CHECK(anonmap_check());
    anonmap_unlock();
}

TEST(test_anonmap_many)
{
    anonmap_lock();
    anonmap_clear();
    /* Beyond the first table size, out of order. */
    for (uintptr_t i = 0; i < 3000; i++) {
        uintptr_t k = (i * 7919) % 3000;
        CHECK_EQ_INT(anonmap_add(0x1000000 + k * 0x3000, 0x1000), ML_OK);
    }
    CHECK_EQ_INT(anonmap_count(), 3000);
    CHECK_EQ_INT(anonmap_total(), 3000 * 0x1000);
    CHECK(anonmap_check());
    /* One range across many regions, cutting the first and last. */
    size_t gone = anonmap_remove(0x1000000 + 0x800, 100 * 0x3000);
    CHECK_EQ_INT(gone, 100 * 0x1000);
    CHECK(anonmap_check());
    CHECK_EQ_INT(anonmap_remove(0, UINTPTR_MAX), 2900 * 0x1000);
    CHECK_EQ_INT(anonmap_total(), 0);
    CHECK(anonmap_check());
    anonmap_unlock();
}

/* ---- symhook's reader ---- */

#if defined(__x86_64__)
#define T_JUMP_SLOT R_X86_64_JUMP_SLOT
#elif defined(__aarch64__)
#define T_JUMP_SLOT R_AARCH64_JUMP_SLOT
#endif

/* A fake object in one buffer: one RW PT_LOAD over it, PT_DYNAMIC at its
 * start, then a symbol table, string table, RELA table and one slot. */
static _Alignas(64) unsigned char img[8192];
static ElfW(Phdr) ph[3];
static struct dl_phdr_info fake;

enum { DYN = 0, SYM = 1024, STR = 2048, REL = 3072, SLOT = 4096 };

static ElfW(Dyn) *dyn(void) { return (ElfW(Dyn) *)(img + DYN); }

static void make_fake(void)
{
    memset(img, 0, sizeof img);
    memset(ph, 0, sizeof ph);
    ph[0].p_type = PT_LOAD;
    ph[0].p_flags = PF_R | PF_W;
    ph[0].p_vaddr = (uintptr_t)img;
    ph[0].p_memsz = sizeof img;
    ph[1].p_type = PT_DYNAMIC;
    ph[1].p_flags = PF_R | PF_W;
    ph[1].p_vaddr = (uintptr_t)img + DYN;
    ph[1].p_memsz = 16 * sizeof(ElfW(Dyn));
    fake.dlpi_addr = 0;
    fake.dlpi_name = "fake";
    fake.dlpi_phdr = ph;
    fake.dlpi_phnum = 2;
    memcpy(img + STR, "\0malloc\0", 8);
    ElfW(Sym) *s = (ElfW(Sym) *)(img + SYM);
    s[1].st_name = 1;
    s[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
    ElfW(Rela) *r = (ElfW(Rela) *)(img + REL);
    r[0].r_offset = (uintptr_t)img + SLOT;
    r[0].r_info = ELF64_R_INFO(1, T_JUMP_SLOT);
    ElfW(Dyn) *d = dyn();
    int i = 0;
    d[i].d_tag = DT_SYMTAB, d[i++].d_un.d_ptr = (uintptr_t)img + SYM;
    d[i].d_tag = DT_STRTAB, d[i++].d_un.d_ptr = (uintptr_t)img + STR;
    d[i].d_tag = DT_STRSZ, d[i++].d_un.d_val = 8;
    d[i].d_tag = DT_JMPREL, d[i++].d_un.d_ptr = (uintptr_t)img + REL;
    d[i].d_tag = DT_PLTRELSZ, d[i++].d_un.d_val = sizeof(ElfW(Rela));
    d[i].d_tag = DT_PLTREL, d[i++].d_un.d_val = DT_RELA;
    d[i].d_tag = DT_NULL;
}

static ElfW(Dyn) *tag(ElfW(Sxword) t)
{
    for (ElfW(Dyn) *d = dyn(); d->d_tag != DT_NULL; d++)
        if (d->d_tag == t)
            return d;
    return NULL;
}

static int probe(void)
{
    size_t n = 99;
    int rc = symhook_probe(&fake, &n);
    return rc == ML_OK ? (int)n : -rc;
}

TEST(test_probe_fake_objects)
{
    make_fake();
    CHECK_EQ_INT(probe(), 1); /* well-formed: one slot */

    make_fake();
    tag(DT_JMPREL)->d_un.d_ptr = (uintptr_t)img + sizeof img; /* outside */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    tag(DT_PLTRELSZ)->d_un.d_val = (size_t)1 << 40; /* far too big */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    tag(DT_PLTRELSZ)->d_un.d_val = sizeof(ElfW(Rela)) + 1; /* not a multiple */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    for (int i = 0; i < 16; i++) /* no DT_NULL within PT_DYNAMIC */
        if (dyn()[i].d_tag == DT_NULL)
            dyn()[i].d_tag = DT_DEBUG;
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    ((ElfW(Rela) *)(img + REL))[0].r_info = ELF64_R_INFO(1u << 30, T_JUMP_SLOT);
    CHECK_EQ_INT(probe(), -ML_EFORMAT); /* symbol index far outside */

    make_fake();
    ((ElfW(Sym) *)(img + SYM))[1].st_name = 4000; /* name outside the string table */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    img[STR + 7] = 'x'; /* string table not NUL-terminated */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    ((ElfW(Rela) *)(img + REL))[0].r_offset = 8; /* slot outside the object */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    ((ElfW(Rela) *)(img + REL))[0].r_offset = (uintptr_t)img + SLOT + 1; /* misaligned */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    ph[0].p_flags = PF_R; /* the slot is in a read-only segment */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    tag(DT_SYMTAB)->d_tag = DT_DEBUG; /* relocations but no symbol table */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    tag(DT_PLTREL)->d_un.d_val = 12345; /* neither REL nor RELA */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    ph[2] = ph[1]; /* two PT_DYNAMIC */
    fake.dlpi_phnum = 3;
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    ph[1].p_vaddr = 64; /* PT_DYNAMIC outside every PT_LOAD */
    CHECK_EQ_INT(probe(), -ML_EFORMAT);

    make_fake();
    ph[1].p_type = PT_NOTE; /* no PT_DYNAMIC at all: nothing to patch */
    CHECK_EQ_INT(probe(), 0);

    /* Loaded at a base: glibc rebases DT_* pointers in place on x86-64 and
     * aarch64, others keep link-time values; both readings must work. */
    for (int rebased = 0; rebased < 2; rebased++) {
        make_fake();
        uintptr_t base = (uintptr_t)img, add = rebased ? base : 0;
        fake.dlpi_addr = base;
        ph[0].p_vaddr = 0;
        ph[1].p_vaddr = DYN;
        ((ElfW(Rela) *)(img + REL))[0].r_offset = SLOT;
        tag(DT_SYMTAB)->d_un.d_ptr = SYM + add;
        tag(DT_STRTAB)->d_un.d_ptr = STR + add;
        tag(DT_JMPREL)->d_un.d_ptr = REL + add;
        CHECK_EQ_INT(probe(), 1);
    }
}

static int probe_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    size_t n;
    int *bad = data;
    if (symhook_probe(info, &n) != ML_OK) {
        fprintf(stderr, "  cannot read %s\n", info->dlpi_name);
        (*bad)++;
    }
    return 0;
}

TEST(test_probe_every_loaded_object)
{
    int bad = 0;
    dlopen("libm.so.6", RTLD_NOW);
    dl_iterate_phdr(probe_cb, &bad);
    CHECK_EQ_INT(bad, 0);
}

TEST(test_resolve)
{
    void *p = NULL;
    CHECK_EQ_INT(symhook_resolve("malloc", &p), ML_OK);
    CHECK(p == dlsym(RTLD_DEFAULT, "malloc"));
    CHECK_EQ_INT(symhook_resolve("no_such_function_anywhere", &p), ML_ENOENT);
    CHECK(symhook_is_sanitizer("/usr/lib/x86_64-linux-gnu/libasan.so.8"));
    CHECK(symhook_is_sanitizer("libclang_rt.asan-x86_64.so"));
    CHECK(!symhook_is_sanitizer("/usr/lib/libasound.so.2"));
}

/* ---- dlsearch ---- */

TEST(test_expand_origin)
{
    dlsearch s;
    memset(&s, 0, sizeof s);
    strcpy(s.origin, "/opt/x");
    char buf[64];
    CHECK_EQ_INT(dlsearch_expand(&s, "$ORIGIN/lib/a.so", buf, sizeof buf), ML_OK);
    CHECK_EQ_STR(buf, "/opt/x/lib/a.so");
    CHECK_EQ_INT(dlsearch_expand(&s, "${ORIGIN}/../b.so", buf, sizeof buf), ML_OK);
    CHECK_EQ_STR(buf, "/opt/x/../b.so");
    CHECK_EQ_INT(dlsearch_expand(&s, "$ORIGINAL/c.so", buf, sizeof buf), ML_EUNSUPPORTED);
    CHECK_EQ_INT(dlsearch_expand(&s, "$LIB/c.so", buf, sizeof buf), ML_EUNSUPPORTED);
    CHECK_EQ_INT(dlsearch_expand(&s, "plain.so", buf, sizeof buf), ML_ENOENT);
    CHECK_EQ_INT(dlsearch_expand(&s, "$ORIGIN/a/very/long/name/that/does/not/fit.so", buf, 16),
                 ML_EINVAL);
    s.origin[0] = '\0';
    CHECK_EQ_INT(dlsearch_expand(&s, "$ORIGIN/a.so", buf, sizeof buf), ML_ENOENT);
}

int main(void)
{
    RUN(test_known_thread_counts_own);
    RUN(test_unknown_thread_goes_to_bucket);
    RUN(test_watch_sees_every_thread);
    RUN(test_bucket_concurrent);
    RUN(test_anonmap_split_merge);
    RUN(test_anonmap_many);
    RUN(test_probe_fake_objects);
    RUN(test_probe_every_loaded_object);
    RUN(test_resolve);
    RUN(test_expand_origin);
    return CTEST_END();
}
