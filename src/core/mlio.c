/* mlio: complete writes, whole records, safe creation and replacement. */
#include "mlio.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ml_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return ML_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return ML_OK;
}

/* After a write stopped short with done bytes of p out, the last of them
 * (last bytes, from the last write(2)) contiguous at the end of the file:
 * cuts the line they leave unfinished, when no other writer appended
 * after it.  Keeps errno. */
static void take_back_torn(int fd, const char *p, size_t done, size_t last)
{
    int err = errno;
    size_t keep = done;
    while (keep > 0 && p[keep - 1] != '\n')
        keep--;
    size_t torn = done - keep;
    struct stat st;
    off_t end = lseek(fd, 0, SEEK_CUR);
    if (torn > 0 && torn <= last && end >= (off_t)torn && fstat(fd, &st) == 0 &&
        S_ISREG(st.st_mode) && st.st_size == end)
        (void)!ftruncate(fd, end - (off_t)torn);
    errno = err;
}

int ml_append_lines(int fd, const char *p, size_t n)
{
    size_t done = 0, last = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            take_back_torn(fd, p, done, last);
            return ML_EIO;
        }
        last = (size_t)w;
        done += last;
    }
    return ML_OK;
}

/* The ml_err for a failed open(2) of a file to write, errno kept. */
static int open_error(void)
{
    return errno == ELOOP ? ML_EINVAL : ml_err_from_errno(errno);
}

int ml_open_append(const char *path, int *fd, int *created)
{
    *fd = -1;
    *created = 0;
    /* A few rounds, in case another process creates or removes path
     * between the look and the open. */
    for (int round = 0; round < 8; round++) {
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (!S_ISREG(st.st_mode)) {
                errno = S_ISLNK(st.st_mode) ? ELOOP : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
                return ML_EINVAL;
            }
            /* O_NONBLOCK: should a FIFO have taken its place, never wait
             * for a reader; the fstat below refuses it. */
            int f = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                                   O_CLOEXEC);
            if (f < 0 && errno == ENOENT)
                continue;
            if (f < 0)
                return open_error();
            if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) ||
                fcntl(f, F_SETFL, O_APPEND) != 0) {
                close(f);
                errno = EINVAL;
                return ML_EINVAL;
            }
            *fd = f;
            return ML_OK;
        }
        if (errno != ENOENT)
            return ml_err_from_errno(errno);
        int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (f >= 0) {
            *fd = f;
            *created = 1;
            return ML_OK;
        }
        if (errno != EEXIST)
            return open_error();
    }
    errno = EAGAIN;
    return ML_EIO;
}

int ml_create_new(const char *path, int *fd)
{
    *fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (*fd >= 0)
        return ML_OK;
    return errno == EEXIST ? ML_EINVAL : open_error();
}

int ml_unlink_same(const char *path, int fd)
{
    struct stat a, b;
    if (fstat(fd, &a) != 0 || lstat(path, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino)
        return ML_ENOENT;
    return unlink(path) == 0 ? ML_OK : ml_err_from_errno(errno);
}

/* Writes all of p to an open FIFO or device (there is nothing to replace). */
static int write_special(const char *path, const char *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return open_error();
    int rc = ml_write_all(fd, p, n);
    int err = errno;
    if (close(fd) != 0 && rc == ML_OK) {
        rc = ML_EIO;
        err = errno;
    }
    errno = err;
    return rc;
}

/* A name for the new file beside path: "<dir>/.memline-<hex>.tmp", short
 * so that it fits wherever path's own name does.  Caller frees. */
static char *temp_name(const char *path)
{
    static unsigned counter;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t h = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)++counter * 0x9e3779b97f4a7c15u);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 29;
    char *name = ml_malloc(dirlen + 32);
    if (name)
        snprintf(name, dirlen + 32, "%.*s.memline-%012llx.tmp", (int)dirlen, path,
                 (unsigned long long)(h & 0xffffffffffffu));
    return name;
}

int ml_replace_file(const char *path, const char *p, size_t n)
{
    struct stat st;
    int exists = lstat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        return ml_err_from_errno(errno);
    if (exists && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return ML_EINVAL;
    }
    if (exists && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return write_special(path, p, n);
    /* A file the user made read-only stays, as open(2) would keep it. */
    if (exists && S_ISREG(st.st_mode) && access(path, W_OK) != 0)
        return ml_err_from_errno(errno);
    char *tmp = NULL;
    int fd = -1, rc = ML_OK;
    for (int round = 0; round < 100 && fd < 0; round++) {
        ml_free(tmp);
        if (!(tmp = temp_name(path))) {
            errno = ENOMEM;
            rc = ML_ENOMEM;
            break;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) {
            rc = open_error();
            break;
        }
    }
    if (rc == ML_OK && fd < 0)
        rc = ML_EIO; /* errno is EEXIST */
    if (rc == ML_OK)
        rc = ml_write_all(fd, p, n);
    if (rc == ML_OK && fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        rc = ML_EIO; /* EINVAL: a file system that cannot sync */
    if (rc == ML_OK && exists && S_ISREG(st.st_mode))
        (void)fchmod(fd, st.st_mode & 07777);
    int err = errno;
    if (fd >= 0 && close(fd) != 0 && rc == ML_OK) {
        rc = ML_EIO;
        err = errno;
    }
    if (rc == ML_OK && rename(tmp, path) != 0) {
        rc = ml_err_from_errno(errno);
        err = errno;
    }
    if (rc != ML_OK && fd >= 0)
        unlink(tmp);
    ml_free(tmp);
    errno = err;
    return rc;
}
