/* ndl: a library dlopen'ed only after the hooks are in.  Built with lazy
 * binding and partial RELRO (its PLT slots start out pointing at its own
 * PLT stubs) and with an old-style DT_RPATH of $ORIGIN/rp2. */
#include <dlfcn.h>
#include <stdlib.h>

/* A constructor allocation: it runs inside dlopen, before the hook can
 * patch this library, so it is one of the things not seen (NOTES.md). */
static void *ctor_block;
__attribute__((constructor)) static void ndl_init(void) { ctor_block = malloc(4321); }
__attribute__((destructor)) static void ndl_fini(void) { free(ctor_block); }

void *ndl_malloc(size_t n) { return malloc(n); }
void ndl_free(void *p) { free(p); }
void *ndl_ctor_block(void) { return ctor_block; }
void ndl_free_ctor_block(void) { free(ctor_block); ctor_block = NULL; }
/* A bare name found only through this library's DT_RPATH. */
void *ndl_dlopen_bare(void) { void *h = dlopen("libnrp2.so", RTLD_NOW); return h; }
