/* procinfo: what the timeline needs to know about other processes besides
 * their memory: whether one exists, finding one by name, its command line.
 * One interface; the platform implements it in its own file
 * (procinfo_linux.c, from /proc). */
#ifndef ML_PROCINFO_H
#define ML_PROCINFO_H

#include "sbuf.h"

#include <stddef.h>
#include <sys/types.h>

/* ML_OK when process pid exists (zombies included), ML_ENOENT when not,
 * ML_EACCES when it exists but may not be signalled. */
int procinfo_exists(pid_t pid);

/* ML_OK when process pid runs (it exists and is not a zombie, one that has
 * exited but was not reaped yet); ML_ENOENT when not. */
int procinfo_alive(pid_t pid);

/* Finds the lowest-numbered live process other than the caller whose name
 * contains name (the kernel's short name, or the last part of its first
 * argument, as psutil names processes).  Returns ML_OK with *pid set,
 * ML_ENOENT when none matches, ML_EIO when /proc cannot be read. */
int procinfo_find(const char *name, pid_t *pid);

/* Lists pid's descendants by walking down from pid through the kernel's
 * per-thread child lists, which costs reads of the tree only, not a scan
 * of every process.  Returns ML_OK with a new array the caller frees with
 * ml_free (NULL when *n == 0); ML_EUNSUPPORTED when the kernel keeps no
 * such lists (then memsrc_descendants scans /proc instead); ML_ENOENT when
 * pid is gone; ML_ENOMEM. */
int procinfo_descendants(pid_t pid, pid_t **pids, size_t *n);

/* Appends pid's arguments, joined by spaces, to out.  Returns ML_OK,
 * ML_ENOENT (gone, or a kernel thread with no arguments), ML_EACCES,
 * ML_ENOMEM; on error out is as it was. */
int procinfo_cmdline(pid_t pid, sbuf *out);

#endif
