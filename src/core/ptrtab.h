/* ptrtab: a hash table from block address to block size.
 *
 * The allocator hooks keep the requested size of each large block here, so a
 * free subtracts exactly what the allocation added.  Open addressing with
 * linear probing and backward-shift deletion: no tombstones, so lookups stay
 * short however many blocks come and go.  Not locked: the caller serialises
 * access.  Its own memory comes from ml_malloc (libc), never from a Python
 * allocator, so it is safe to use inside Python's allocator hooks. */
#ifndef ML_PTRTAB_H
#define ML_PTRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct ptrtab ptrtab;

/* A new empty table, or NULL when out of memory. */
ptrtab *ptrtab_new(void);
void ptrtab_free(ptrtab *t); /* accepts NULL */

/* Records size for addr (replacing any previous entry).  Returns ML_OK, or
 * ML_ENOMEM when the table could not grow, in which case it is unchanged. */
int ptrtab_put(ptrtab *t, const void *addr, size_t size);

/* Removes addr's entry.  Returns 1 and its size in *size, or 0 if absent. */
int ptrtab_take(ptrtab *t, const void *addr, size_t *size);

/* Looks addr up without removing it; as ptrtab_take. */
int ptrtab_get(const ptrtab *t, const void *addr, size_t *size);

size_t ptrtab_count(const ptrtab *t);
void ptrtab_clear(ptrtab *t); /* removes every entry, keeps the storage */

/* Bytes the table itself occupies. */
size_t ptrtab_footprint(const ptrtab *t);

/* Whether t keeps its invariants (see struct ptrtab).  For assert() and
 * tests; costs a pass over the whole table. */
int ptrtab_ok(const ptrtab *t);

#endif
