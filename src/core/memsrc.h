/* memsrc: how much memory a process uses, as the OS counts it.
 *
 * One interface; each platform implements it in its own file
 * (memsrc_linux.c).  A source is opened once and read many times: on Linux
 * it keeps a descriptor to the /proc file open and re-reads it with pread,
 * so a read costs one syscall and no allocation. */
#ifndef ML_MEMSRC_H
#define ML_MEMSRC_H

#include <stdint.h>
#include <sys/types.h>

typedef enum memsrc_kind {
    MEMSRC_RSS = 0, /* resident set size */
    MEMSRC_PSS,     /* proportional set size: shared pages split between sharers */
    MEMSRC_USS,     /* unique set size: pages no other process maps */
    MEMSRC_KIND_COUNT
} memsrc_kind;

typedef struct memsrc memsrc;

/* Opens a source for process pid (0 = this process).  On success *out owns a
 * new source and ML_OK is returned; on error *out is NULL and the code says
 * why (ML_ENOENT: no such process; ML_EUNSUPPORTED: the kernel lacks the
 * file this kind needs). */
int memsrc_open(memsrc **out, pid_t pid, memsrc_kind kind);

/* Same, reading the given file, which must have the layout of /proc/PID/statm
 * (MEMSRC_RSS) or /proc/PID/smaps_rollup (PSS, USS).  Tests use it. */
int memsrc_open_path(memsrc **out, const char *path, memsrc_kind kind);

/* Reads the current value in bytes.  Returns ML_OK, or ML_ENOENT once the
 * process is gone, or ML_EIO/ML_EFORMAT; *bytes is untouched on error.
 * Thread-safe for distinct sources; one source may be read from several
 * threads at once (pread has no shared offset). */
int memsrc_read(memsrc *src, int64_t *bytes);

void memsrc_close(memsrc *src); /* accepts NULL */

/* A scripted source (tests, memsrc_script.c): memsrc_read returns the last
 * value given to memsrc_script_set (initial until then) and counts the
 * reads.  Thread-safe.  Returns ML_OK or ML_ENOMEM; close with
 * memsrc_close. */
int memsrc_open_script(memsrc **out, int64_t initial);
void memsrc_script_set(memsrc *src, int64_t bytes);
uint64_t memsrc_script_reads(memsrc *src);

/* The peak RSS of process pid (0 = this process) since it started or since
 * the last memsrc_peak_reset, from VmHWM in /proc/PID/status.  Returns
 * ML_OK, ML_ENOENT (no such process) or ML_EFORMAT. */
int memsrc_peak(pid_t pid, int64_t *bytes);

/* Resets this process's peak-RSS mark to its current RSS (Linux 4.0+:
 * writes 5 to /proc/self/clear_refs), so memsrc_peak then gives the peak of
 * what follows.  getrusage's ru_maxrss is the same mark and resets too.
 * Returns ML_OK, or an error when the kernel does not allow it. */
int memsrc_peak_reset(void);

/* Lists the descendants of pid (children, grandchildren, ...) into a new
 * array that the caller frees with ml_free.  Returns ML_OK (possibly with
 * *n == 0 and *pids == NULL) or ML_ENOMEM/ML_EIO. */
int memsrc_descendants(pid_t pid, pid_t **pids, size_t *n);

/* Lists the direct children of pid, as memsrc_descendants does. */
int memsrc_children(pid_t pid, pid_t **pids, size_t *n);

/* Sum of kind over all descendants of pid (0 = this process).  Processes
 * that exit while being read are skipped.  Costs a scan of /proc.  Returns
 * ML_OK, or ML_ENOMEM/ML_EIO with *bytes untouched. */
int memsrc_descendants_bytes(pid_t pid, memsrc_kind kind, int64_t *bytes);

#endif
