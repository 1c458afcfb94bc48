/* outfile: how memline writes an output file: into a new temporary file
 * beside it, then renamed over it, so a reader never sees half a file and
 * a failure (a full disk, a signal) leaves what was there untouched. */
#ifndef ML_OUTFILE_H
#define ML_OUTFILE_H

#include <stddef.h>

/* Replaces path's contents with data[0..n).  The new file gets an existing
 * file's permissions (else 0666 less the umask); a symbolic link is
 * followed, so its target is replaced.  Returns ML_OK, or an error code
 * (ml_err_from_errno of the failing call; errno is left set) with path as
 * it was and no temporary file left behind. */
int outfile_replace(const char *path, const char *data, size_t n);

#endif
