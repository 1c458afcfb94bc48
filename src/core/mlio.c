/* mlio: complete writes. */
#include "mlio.h"

#include "mlerr.h"

#include <errno.h>
#include <unistd.h>

int ml_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ML_EIO;
        p += w;
        n -= (size_t)w;
    }
    return ML_OK;
}
