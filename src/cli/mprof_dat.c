/* mprof_dat: the .dat file of run and attach, opened so that no failure
 * can cost the user a file (docs/timeline.md, "Which files memline
 * writes").  The default name, mprof's mprofile_YYYYmmddHHMMSS.dat, is
 * predictable: it is only ever created new, never opened where something
 * is.  A name the user gives is appended to only when it is a regular file
 * named itself, never through a symbolic link. */
#include "core/mlerr.h"
#include "core/mlio.h"
#include "mprof.h"
#include "mprof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A default name taken (a run in the same second, or a planted link):
 * the next second's is tried. */
static int open_default(mprof_dat *d)
{
    time_t now = time(NULL);
    for (int k = 0; k < 100; k++) {
        time_t t = now + k;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(d->defname, sizeof d->defname, "mprofile_%Y%m%d%H%M%S.dat", &tm);
        if (ml_create_new(d->defname, &d->fd) == ML_OK) {
            d->path = d->defname;
            d->created = 1;
            return MPROF_OK;
        }
        if (errno != EEXIST)
            return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': %s", d->defname,
                              strerror(errno));
    }
    return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': the 100 default names from now on "
                      "are taken; name the output with -o", d->defname);
}

int mprof_dat_open(mprof_dat *d, const char *path)
{
    d->fd = -1;
    d->created = 0;
    if (!path)
        return open_default(d);
    d->path = path;
    if (ml_open_append(path, &d->fd, &d->created) == ML_OK)
        return MPROF_OK;
    if (errno == ELOOP)
        return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': it is a symbolic link, and the "
                          "timeline is appended only to a regular file (name the file itself)",
                          path);
    if (errno == EISDIR)
        return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': it is a directory", path);
    if (errno == EINVAL)
        return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': not a regular file (the "
                          "timeline is appended only to one)", path);
    return mprof_fail(MPROF_EOUTPUT, "cannot write '%s': %s", path, strerror(errno));
}

int mprof_dat_torn(const mprof_dat *d)
{
    struct stat st, rst;
    char last = '\n';
    if (d->created || fstat(d->fd, &st) != 0 || st.st_size == 0)
        return 0;
    /* fd is write-only: read through a second descriptor of the same file */
    int rfd = open(d->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (rfd >= 0 && fstat(rfd, &rst) == 0 && rst.st_ino == st.st_ino &&
        rst.st_dev == st.st_dev && pread(rfd, &last, 1, st.st_size - 1) != 1)
        last = '\n';
    if (rfd >= 0)
        close(rfd);
    return last != '\n';
}

void mprof_dat_close(mprof_dat *d, int keep)
{
    if (d->fd < 0)
        return;
    if (!keep && d->created)
        ml_unlink_same(d->path, d->fd);
    close(d->fd);
    d->fd = -1;
}
