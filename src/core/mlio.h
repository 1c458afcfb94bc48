/* mlio: writing to file descriptors the way the timeline needs: all of a
 * buffer, through short writes and signals. */
#ifndef ML_MLIO_H
#define ML_MLIO_H

#include <stddef.h>

/* Writes n bytes of p to fd, retrying short writes and EINTR.  Returns
 * ML_OK, or ML_EIO with errno set by the failed write. */
int ml_write_all(int fd, const char *p, size_t n);

#endif
