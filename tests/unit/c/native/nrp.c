/* nrp: a library that lives where only a caller's RUNPATH or RPATH finds
 * it (built twice, as libnrp.so and libnrp2.so, in two directories). */
#include <stdlib.h>

void *nrp_malloc(size_t n) { return malloc(n); }
void nrp_free(void *p) { free(p); }
