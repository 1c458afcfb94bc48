/* mlsize: sizes as users write them on a command line ("3.5MiB", "200 kb",
 * "1GB", "4096"): a non-negative decimal number and an optional unit, B,
 * KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), in any
 * case, with or without a space between.  No unit means bytes. */
#ifndef ML_MLSIZE_H
#define ML_MLSIZE_H

#include <stdint.h>

/* Parses s into *bytes (rounded to the nearest byte).  Returns ML_OK, or
 * ML_EINVAL (not a size, or beyond INT64_MAX bytes) with *bytes untouched. */
int ml_parse_size(const char *s, int64_t *bytes);

#endif
