/* anonmap: the anonymous memory regions memline has counted, so that
 * munmap and mremap subtract exactly the bytes that were added, and
 * nothing for file mappings or for regions mapped before the hooks went in.
 *
 * One process-wide table behind one mutex: mmap is rare and already a
 * syscall, so a lock is acceptable there (never on the malloc path).  The
 * table's storage comes from mmap itself, called from this object, whose
 * relocations symhook never patches: it can never recurse into the hooks.
 * Addresses are plain integers; callers pass page-rounded lengths. */
#ifndef ML_ANONMAP_H
#define ML_ANONMAP_H

#include <stddef.h>
#include <stdint.h>

/* The lock.  Every function below except anonmap_total() and
 * anonmap_check() needs it held; munmap/mremap hooks hold it across the
 * syscall so that an address freed by one thread and at once mapped by
 * another is never subtracted twice. */
void anonmap_lock(void);
void anonmap_unlock(void);

/* In a fork child: the lock may have been held by a thread that does not
 * exist there, so make it new. */
void anonmap_reinit_lock(void);

/* Records [start, start+len) as counted.  The range must not overlap a
 * recorded one (callers remove overlaps first and count them).  Returns
 * ML_OK, or ML_ENOMEM if the table could not grow: then nothing was
 * recorded and the caller must not count the region either. */
int anonmap_add(uintptr_t start, size_t len);

/* Forgets the recorded parts of [start, start+len) and returns how many
 * bytes that was, splitting a region the range cuts through.  Never fails:
 * if a split cannot get a table slot, the cut region's far side is forgotten
 * too and included in the result, so a later munmap of it subtracts
 * nothing and totals stay exact. */
size_t anonmap_remove(uintptr_t start, size_t len);

/* Bytes of [start, start+len) that are recorded, without changing anything. */
size_t anonmap_counted(uintptr_t start, size_t len);

/* Forgets every region (a new hooks session starts from nothing: regions
 * from an earlier one may have been unmapped while the hooks were out). */
void anonmap_clear(void);

/* Bytes recorded in all; the table's lock is not needed (a racy read). */
size_t anonmap_total(void);

/* Number of regions; for tests.  Needs the lock. */
size_t anonmap_count(void);

/* Invariant checker for assert() and tests; needs the lock.  Nonzero when
 * regions are sorted, non-empty, neither overlapping nor touching, and
 * their sizes add up to the recorded total. */
int anonmap_check(void);

#endif
