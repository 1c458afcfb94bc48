/* ptrtab: address -> size hash table with backward-shift deletion. */
#include "ptrtab.h"

#include "mlalloc.h"
#include "mlerr.h"

#include <assert.h>
#include <string.h>

typedef struct slot {
    uintptr_t key; /* 0 = empty; no block lives at address 0 */
    size_t size;
} slot;

/* Invariant: cap is a power of two; count < cap / 2 after every put, so a
 * probe always meets an empty slot; every key sits in the run of occupied
 * slots that starts at its home slot (no gap between home and key). */
struct ptrtab {
    slot *slots;
    size_t cap, count;
};

#define INITIAL_CAP 1024

static size_t home(const ptrtab *t, uintptr_t key)
{
    /* Blocks are 16-byte aligned: drop those bits, then mix (Fibonacci). */
    uint64_t h = (uint64_t)(key >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (t->cap - 1);
}

int ptrtab_ok(const ptrtab *t)
{
    if (t->cap == 0 || (t->cap & (t->cap - 1)) != 0 || t->count >= t->cap / 2 + 1)
        return 0;
    size_t used = 0;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].key)
            continue;
        used++;
        /* No empty slot between the key's home and where it sits. */
        for (size_t j = home(t, t->slots[i].key); j != i; j = (j + 1) & (t->cap - 1))
            if (!t->slots[j].key)
                return 0;
    }
    return used == t->count;
}

ptrtab *ptrtab_new(void)
{
    ptrtab *t = ml_malloc(sizeof *t);
    if (!t)
        return NULL;
    t->slots = ml_calloc(INITIAL_CAP, sizeof *t->slots);
    if (!t->slots) {
        ml_free(t);
        return NULL;
    }
    t->cap = INITIAL_CAP;
    t->count = 0;
    return t;
}

void ptrtab_free(ptrtab *t)
{
    if (!t)
        return;
    ml_free(t->slots);
    ml_free(t);
}

static void insert(ptrtab *t, uintptr_t key, size_t size)
{
    size_t i = home(t, key);
    while (t->slots[i].key && t->slots[i].key != key)
        i = (i + 1) & (t->cap - 1);
    if (!t->slots[i].key)
        t->count++;
    t->slots[i].key = key;
    t->slots[i].size = size;
}

static int grow(ptrtab *t)
{
    slot *old = t->slots;
    size_t old_cap = t->cap;
    slot *slots = ml_calloc(old_cap * 2, sizeof *slots);
    if (!slots)
        return ML_ENOMEM;
    t->slots = slots;
    t->cap = old_cap * 2;
    t->count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            insert(t, old[i].key, old[i].size);
    ml_free(old);
    assert(ptrtab_ok(t));
    return ML_OK;
}

int ptrtab_put(ptrtab *t, const void *addr, size_t size)
{
    if ((t->count + 1) * 2 > t->cap && grow(t) != ML_OK)
        return ML_ENOMEM;
    insert(t, (uintptr_t)addr, size);
    return ML_OK;
}

static size_t find(const ptrtab *t, uintptr_t key)
{
    size_t i = home(t, key);
    while (t->slots[i].key) {
        if (t->slots[i].key == key)
            return i;
        i = (i + 1) & (t->cap - 1);
    }
    return (size_t)-1;
}

int ptrtab_get(const ptrtab *t, const void *addr, size_t *size)
{
    size_t i = find(t, (uintptr_t)addr);
    if (i == (size_t)-1)
        return 0;
    *size = t->slots[i].size;
    return 1;
}

int ptrtab_take(ptrtab *t, const void *addr, size_t *size)
{
    size_t i = find(t, (uintptr_t)addr);
    if (i == (size_t)-1)
        return 0;
    *size = t->slots[i].size;
    /* Backward shift: pull later members of the run into the hole when the
     * hole lies between their home and their slot. */
    size_t mask = t->cap - 1, hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!t->slots[j].key)
            break;
        size_t h = home(t, t->slots[j].key);
        if (((j - h) & mask) >= ((j - hole) & mask)) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole].key = 0;
    t->slots[hole].size = 0;
    t->count--;
    return 1;
}

size_t ptrtab_count(const ptrtab *t)
{
    return t->count;
}

void ptrtab_clear(ptrtab *t)
{
    memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->count = 0;
}

size_t ptrtab_footprint(const ptrtab *t)
{
    return sizeof *t + t->cap * sizeof *t->slots;
}
