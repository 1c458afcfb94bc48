/* mlio: writing files the way the timeline needs, so that nothing the user
 * had is ever lost to a failure: whole buffers through short writes and
 * signals; records appended whole or not at all; files created only where
 * nothing is, never through a symbolic link; files replaced only by
 * renaming a complete new one over them.  Every function returns an ml_err
 * code and leaves errno set by the call that failed, for the message. */
#ifndef ML_MLIO_H
#define ML_MLIO_H

#include <stddef.h>

/* Writes n bytes of p to fd, retrying short writes and EINTR.  Returns
 * ML_OK, or ML_EIO with errno set by the failed write. */
int ml_write_all(int fd, const char *p, size_t n);

/* Appends n bytes of p, whole lines ending in '\n', to fd (a regular file
 * opened O_APPEND that other writers may share).  When the write stops
 * short (a full disk, a file size limit), the line it cut is taken back
 * (ftruncate) if nothing was appended after it, so the file never ends in
 * a torn record; the complete lines before it stay.  Returns ML_OK, or
 * ML_EIO with errno set by the failed write. */
int ml_append_lines(int fd, const char *p, size_t n);

/* Opens path for appending (O_APPEND, close-on-exec): an existing regular
 * file, or a new one made with mode 0666 less the umask.  Never through a
 * symbolic link, never a FIFO, device or directory (opening one can block
 * or have effects).  *created says whether this call made the file (the
 * only case in which a failure may remove it again).  Returns ML_OK;
 * ML_EINVAL when path is a symbolic link (errno ELOOP) or not a regular
 * file (errno EISDIR for a directory, else EINVAL); ML_ENOENT, ML_EACCES
 * or ML_EIO as open(2) failed. */
int ml_open_append(const char *path, int *fd, int *created);

/* Creates path, which must not exist in any form (O_EXCL: a dangling
 * symbolic link counts as existing), for appending.  Returns ML_OK with *fd
 * set; ML_EINVAL with errno EEXIST when something is there; otherwise as
 * ml_open_append. */
int ml_create_new(const char *path, int *fd);

/* Removes path if it is still the file fd refers to (same device and
 * inode), so that a file memline made is taken back without ever removing
 * one that replaced it meanwhile.  Returns ML_OK, or ML_ENOENT when path
 * is no longer that file (nothing is removed). */
int ml_unlink_same(const char *path, int fd);

/* Replaces the file at path by n bytes of p: they go to a new file beside
 * it (O_EXCL, in the same directory), which is synced and renamed over
 * path, so path holds either its old content or all of the new one and a
 * symbolic link there is replaced, never written through.  An existing
 * regular file's permission bits are kept, and one the caller may not
 * write is left alone (ML_EACCES), as open(2) would leave it.  Where path is a FIFO or a
 * device, the bytes are written to it instead (there is nothing there to
 * lose).  On failure the new file is removed and path is as it was.
 * Returns ML_OK; ML_EINVAL (errno EISDIR) for a directory; ML_ENOENT,
 * ML_EACCES, ML_EIO with errno set. */
int ml_replace_file(const char *path, const char *p, size_t n);

#endif
