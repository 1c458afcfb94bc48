/* memsrc_script: a memory source whose readings the caller chooses, so
 * tests can feed the engine exact values and count how often it asks. */
#include "memsrc_int.h"

#include "mlalloc.h"
#include "mlerr.h"

int memsrc_open_script(memsrc **out, int64_t initial)
{
    memsrc *src = ml_calloc(1, sizeof *src);
    *out = src;
    if (!src)
        return ML_ENOMEM;
    src->fd = -1;
    src->kind = MEMSRC_RSS;
    src->scripted = 1;
    atomic_store(&src->value, initial);
    return ML_OK;
}

void memsrc_script_set(memsrc *src, int64_t bytes)
{
    atomic_store(&src->value, bytes);
}

uint64_t memsrc_script_reads(memsrc *src)
{
    return atomic_load(&src->reads);
}

int memsrc_script_read(memsrc *src, int64_t *bytes)
{
    atomic_fetch_add(&src->reads, 1);
    *bytes = atomic_load(&src->value);
    return ML_OK;
}
