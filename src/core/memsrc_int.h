/* memsrc_int: the memsrc struct, shared by the platform file that reads
 * the OS (memsrc_linux.c) and the scripted source for tests
 * (memsrc_script.c).  Not part of the core's interface. */
#ifndef ML_MEMSRC_INT_H
#define ML_MEMSRC_INT_H

#include "memsrc.h"

#include <stdatomic.h>

/* Invariant: a scripted source has fd == -1 and reads value; any other
 * has fd open on the file its kind is read from, and page_size is the
 * system page size, fixed at open. */
struct memsrc {
    int fd;
    memsrc_kind kind;
    int64_t page_size;
    int scripted;
    _Atomic int64_t value;   /* scripted: what the next read returns */
    _Atomic uint64_t reads;  /* scripted: reads so far */
};

/* memsrc_read of a scripted source. */
int memsrc_script_read(memsrc *src, int64_t *bytes);

#endif
