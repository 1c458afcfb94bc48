/* procinfo: what the timeline needs to know about other processes besides
 * their memory: whether one exists, finding one by name, its command line.
 * One interface; the platform implements it in its own file
 * (procinfo_linux.c, from /proc). */
#ifndef ML_PROCINFO_H
#define ML_PROCINFO_H

#include "sbuf.h"

#include <sys/types.h>

/* ML_OK when process pid exists (zombies included), ML_ENOENT when not,
 * ML_EACCES when it exists but may not be signalled. */
int procinfo_exists(pid_t pid);

/* Finds the lowest-numbered process other than the caller whose name
 * contains name (the kernel's short name, or the last part of its first
 * argument, as psutil names processes).  Returns ML_OK with *pid set,
 * ML_ENOENT when none matches, ML_EIO when /proc cannot be read. */
int procinfo_find(const char *name, pid_t *pid);

/* Appends pid's arguments, joined by spaces, to out.  Returns ML_OK,
 * ML_ENOENT (gone, or a kernel thread with no arguments), ML_EACCES,
 * ML_ENOMEM; on error out is as it was. */
int procinfo_cmdline(pid_t pid, sbuf *out);

#endif
