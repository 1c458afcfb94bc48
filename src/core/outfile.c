/* outfile: write-then-rename. */
#include "outfile.h"

#include "mlalloc.h"
#include "mlerr.h"
#include "mlio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A new file "<target>.tmp<pid>-<n>" opened exclusively (so 0666 less the
 * umask applies, as for any new file).  Returns the descriptor, or -1 with
 * errno set. */
static int open_temp(const char *target, char *name, size_t size)
{
    static unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(name, size, "%s.tmp%ld-%u", target, (long)getpid(),
                 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int outfile_replace(const char *path, const char *data, size_t n)
{
    char *resolved = NULL, *tmp = NULL;
    int fd = -1, rc = ML_OK, err = 0;
    struct stat st;
    int have_st = 0;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        resolved = realpath(path, NULL); /* malloc'd by libc */
        if (!resolved && errno != ENOENT) {
            err = errno;
            goto done;
        }
    }
    const char *target = resolved ? resolved : path;
    if (stat(target, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            err = EISDIR;
            goto done;
        }
        have_st = S_ISREG(st.st_mode);
    }
    size_t size = strlen(target) + 48;
    if (!(tmp = ml_malloc(size))) {
        err = ENOMEM;
        goto done;
    }
    if ((fd = open_temp(target, tmp, size)) < 0) {
        err = errno;
        goto done;
    }
    if ((have_st && fchmod(fd, st.st_mode & 07777) != 0) || ml_write_all(fd, data, n) != ML_OK ||
        fsync(fd) != 0) {
        err = errno ? errno : EIO;
        goto done;
    }
    int c = close(fd);
    fd = -1;
    if (c != 0 || rename(tmp, target) != 0) {
        err = errno;
        goto done;
    }
    ml_free(tmp);
    tmp = NULL;
done:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        ml_free(tmp);
    }
    free(resolved);
    if (err) {
        rc = ml_err_from_errno(err);
        errno = err;
    }
    return rc;
}
