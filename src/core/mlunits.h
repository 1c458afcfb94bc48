/* mlunits: memline counts memory in integer bytes everywhere and turns it
 * into MiB only where it is shown or read from a user; this is the one
 * conversion. */
#ifndef ML_MLUNITS_H
#define ML_MLUNITS_H

#include <stdint.h>

#define ML_BYTES_PER_MIB 1048576.0

static inline double ml_mib(int64_t bytes)
{
    return (double)bytes / ML_BYTES_PER_MIB;
}

/* MiB from a user (a limit, a .dat reading) as bytes, truncated. */
static inline int64_t ml_bytes_of_mib(double mib)
{
    return (int64_t)(mib * ML_BYTES_PER_MIB);
}

#endif
