/* test_nopie: a non-PIE executable that takes malloc's address.  The
 * symbol's canonical address is then this program's PLT stub, and
 * dlsym(RTLD_DEFAULT, "malloc") returns that stub; a hook that called it
 * as "the real malloc" would jump through this program's own (patched)
 * slot straight back into the hook, forever.  The hooks live in a separate
 * library here, as in memline, so this program's slots are patched. */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctest.h"
#include "nalloc.h"

/* Taking the address in non-PIC code (an absolute immediate) makes the
 * PLT stub malloc's canonical address; a pointer initialized in data would
 * only be an absolute relocation. */
__attribute__((noinline)) static void *(*address_of_malloc(void))(size_t) { return malloc; }
static void *(*take_address)(size_t);
void *(*data_pointer)(size_t) = malloc;

static char lib[4096];
static int (*install)(int);
static int (*remove_)(void);
static long long (*cur)(void);

TEST(test_canonical_plt_stub)
{
    take_address = address_of_malloc();
    /* The canonical address is a stub in this program, and dlsym says so. */
    Dl_info stub;
    CHECK(dladdr((void *)take_address, &stub) && strstr(stub.dli_fname, "nopie"));
    CHECK(dlsym(RTLD_DEFAULT, "malloc") == (void *)take_address);
    void *h = dlopen(lib, RTLD_NOW);
    CHECK(h != NULL);
    if (!h)
        return;
    install = (int (*)(int))dlsym(h, "nht_install");
    remove_ = (int (*)(void))dlsym(h, "nht_remove");
    cur = (long long (*)(void))dlsym(h, "nht_cur");
#if defined(__SANITIZE_ADDRESS__)
    CHECK_EQ_INT(install(1), 0);
#else
    CHECK_EQ_INT(install(0), 0);
#endif
    long long b = cur();
    void *p = take_address(1000); /* stub -> our slot -> hook -> the real malloc */
    CHECK_EQ_INT(cur() - b, (long long)malloc_usable_size(p));
    b = cur();
    void *q = nalloc_malloc_ptr()(500); /* libnalloc's GLOB_DAT held the stub */
    CHECK_EQ_INT(cur() - b, (long long)malloc_usable_size(q));
    b = cur();
    void *r = data_pointer(700); /* an absolute relocation in this program */
    CHECK_EQ_INT(cur() - b, (long long)malloc_usable_size(r));
    b = cur();
    long long u = (long long)(malloc_usable_size(p) + malloc_usable_size(q) + malloc_usable_size(r));
    nalloc_free(p);
    nalloc_free(q);
    nalloc_free(r);
    CHECK_EQ_INT(cur() - b, -u);
    CHECK_EQ_INT(remove_(), 0);
}

int main(void)
{
    ssize_t n = readlink("/proc/self/exe", lib, sizeof lib - 40);
    lib[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(lib, '/');
    strcpy(slash ? slash + 1 : lib, "libnativehook_test.so");
    RUN(test_canonical_plt_stub);
    return CTEST_END();
}
