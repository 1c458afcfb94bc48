/* test_ptrtab: the address -> size table behind the allocator hooks: put,
 * get, take, replacement, colliding keys, backward-shift deletion (also
 * across the end of the slot array), a randomized run against a plain
 * reference array, growth, clear, footprint, and out-of-memory at creation
 * and at growth. */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/ptrtab.h"

#include <stdint.h>
#include <stdlib.h>

/* The first capacity and the hash, as ptrtab.c has them.  Only used to pick
 * keys that share a home slot; if the hash changes the tests still check
 * correctness, they just no longer force collisions. */
#define FIRST_CAP 1024

static size_t home_of(uintptr_t key, size_t cap)
{
    uint64_t h = (uint64_t)(key >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

/* Fills out[0..n) with distinct 16-byte-aligned addresses, scanning upward
 * from *cursor, whose home slot at capacity cap is home.  Returns how many
 * were found (n unless the scan ran out, which it does not in practice). */
static size_t keys_with_home(size_t home, size_t cap, uintptr_t *cursor, uintptr_t *out,
                             size_t n)
{
    size_t found = 0;
    for (size_t tries = 0; found < n && tries < 50u * 1000 * 1000; tries++) {
        uintptr_t k = *cursor;
        *cursor += 16;
        if (home_of(k, cap) == home)
            out[found++] = k;
    }
    return found;
}

static const void *addr(uintptr_t k)
{
    return (const void *)k;
}

/* xorshift64*: a fixed sequence, so a failure reproduces. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

TEST(new_table_is_empty)
{
    ptrtab *t = ptrtab_new();
    CHECK(t != NULL);
    if (!t)
        return;
    size_t size = 77;
    CHECK_EQ_INT(ptrtab_count(t), 0);
    CHECK_EQ_INT(ptrtab_get(t, addr(0x1000), &size), 0);
    CHECK_EQ_INT(ptrtab_take(t, addr(0x1000), &size), 0);
    CHECK_EQ_INT(size, 77); /* untouched when absent */
    CHECK_EQ_INT(ptrtab_count(t), 0);
    ptrtab_free(t);
    ptrtab_free(NULL);
}

TEST(put_get_take)
{
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    size_t size = 0;
    CHECK_EQ_INT(ptrtab_put(t, addr(0x7f0000001000), 4096), ML_OK);
    CHECK_EQ_INT(ptrtab_put(t, addr(0x7f0000002000), 100000), ML_OK);
    CHECK_EQ_INT(ptrtab_put(t, addr(0x10), 513), ML_OK);
    CHECK_EQ_INT(ptrtab_count(t), 3);

    CHECK_EQ_INT(ptrtab_get(t, addr(0x7f0000001000), &size), 1);
    CHECK_EQ_INT(size, 4096);
    CHECK_EQ_INT(ptrtab_get(t, addr(0x10), &size), 1);
    CHECK_EQ_INT(size, 513);
    CHECK_EQ_INT(ptrtab_count(t), 3); /* get does not remove */

    CHECK_EQ_INT(ptrtab_take(t, addr(0x7f0000002000), &size), 1);
    CHECK_EQ_INT(size, 100000);
    CHECK_EQ_INT(ptrtab_count(t), 2);
    CHECK_EQ_INT(ptrtab_get(t, addr(0x7f0000002000), &size), 0);
    CHECK_EQ_INT(ptrtab_take(t, addr(0x7f0000002000), &size), 0);
    CHECK_EQ_INT(ptrtab_count(t), 2);

    /* A neighbouring address is a different key. */
    CHECK_EQ_INT(ptrtab_get(t, addr(0x7f0000001010), &size), 0);
    CHECK_EQ_INT(ptrtab_get(t, addr(0x20), &size), 0);

    /* Sizes of any width survive. */
    CHECK_EQ_INT(ptrtab_put(t, addr(0x30), SIZE_MAX), ML_OK);
    CHECK_EQ_INT(ptrtab_take(t, addr(0x30), &size), 1);
    CHECK(size == SIZE_MAX);
    ptrtab_free(t);
}

TEST(put_replaces)
{
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    size_t size = 0;
    CHECK_EQ_INT(ptrtab_put(t, addr(0x5000), 1000), ML_OK);
    CHECK_EQ_INT(ptrtab_put(t, addr(0x5000), 2000), ML_OK);
    CHECK_EQ_INT(ptrtab_count(t), 1);
    CHECK_EQ_INT(ptrtab_get(t, addr(0x5000), &size), 1);
    CHECK_EQ_INT(size, 2000);
    CHECK_EQ_INT(ptrtab_take(t, addr(0x5000), &size), 1);
    CHECK_EQ_INT(size, 2000);
    CHECK_EQ_INT(ptrtab_take(t, addr(0x5000), &size), 0); /* one entry, not two */
    CHECK_EQ_INT(ptrtab_count(t), 0);

    /* Replacing a key deep in a collision run keeps one entry too. */
    uintptr_t cursor = 0x100000, keys[6];
    CHECK_EQ_INT(keys_with_home(17, FIRST_CAP, &cursor, keys, 6), 6);
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(keys[i]), (size_t)i), ML_OK);
    CHECK_EQ_INT(ptrtab_put(t, addr(keys[4]), 444), ML_OK);
    CHECK_EQ_INT(ptrtab_count(t), 6);
    CHECK_EQ_INT(ptrtab_get(t, addr(keys[4]), &size), 1);
    CHECK_EQ_INT(size, 444);
    ptrtab_free(t);
}

TEST(colliding_keys)
{
    /* 40 keys with one home slot, and 40 with the next: one long run. */
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    uintptr_t cursor = 0x7f1200000000, a[40], b[40];
    CHECK_EQ_INT(keys_with_home(300, FIRST_CAP, &cursor, a, 40), 40);
    CHECK_EQ_INT(keys_with_home(301, FIRST_CAP, &cursor, b, 40), 40);
    for (int i = 0; i < 40; i++) {
        CHECK_EQ_INT(ptrtab_put(t, addr(a[i]), 1000 + (size_t)i), ML_OK);
        CHECK_EQ_INT(ptrtab_put(t, addr(b[i]), 2000 + (size_t)i), ML_OK);
    }
    CHECK_EQ_INT(ptrtab_count(t), 80);
    int bad = 0;
    size_t size;
    for (int i = 0; i < 40; i++) {
        bad += !ptrtab_get(t, addr(a[i]), &size) || size != 1000 + (size_t)i;
        bad += !ptrtab_get(t, addr(b[i]), &size) || size != 2000 + (size_t)i;
    }
    CHECK_EQ_INT(bad, 0);

    /* Remove every other a-key, from the front of the run: the b-keys
     * behind them must shift back and stay reachable. */
    for (int i = 0; i < 40; i += 2) {
        CHECK_EQ_INT(ptrtab_take(t, addr(a[i]), &size), 1);
        CHECK_EQ_INT(size, 1000 + (size_t)i);
    }
    CHECK_EQ_INT(ptrtab_count(t), 60);
    bad = 0;
    for (int i = 0; i < 40; i++) {
        int got = ptrtab_get(t, addr(a[i]), &size);
        bad += (i % 2 == 0) ? got : (!got || size != 1000 + (size_t)i);
        bad += !ptrtab_get(t, addr(b[i]), &size) || size != 2000 + (size_t)i;
    }
    CHECK_EQ_INT(bad, 0);
    ptrtab_free(t);
}

TEST(backward_shift_keeps_later_runs_reachable)
{
    /* Slots: h: A1 A2 A3, h+1 home of B (sits after A3), h+3 home of C.
     * Taking A1 must move A2, A3 and B back, and leave C (already home)
     * where it is; every survivor stays reachable. */
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    uintptr_t cursor = 0x200000, A[3], B[1], C[1];
    CHECK_EQ_INT(keys_with_home(500, FIRST_CAP, &cursor, A, 3), 3);
    CHECK_EQ_INT(keys_with_home(501, FIRST_CAP, &cursor, B, 1), 1);
    CHECK_EQ_INT(keys_with_home(504, FIRST_CAP, &cursor, C, 1), 1);
    size_t size;
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(A[i]), 10 + (size_t)i), ML_OK);
    CHECK_EQ_INT(ptrtab_put(t, addr(B[0]), 20), ML_OK);
    CHECK_EQ_INT(ptrtab_put(t, addr(C[0]), 30), ML_OK);

    CHECK_EQ_INT(ptrtab_take(t, addr(A[0]), &size), 1);
    CHECK_EQ_INT(size, 10);
    CHECK_EQ_INT(ptrtab_get(t, addr(A[1]), &size), 1);
    CHECK_EQ_INT(size, 11);
    CHECK_EQ_INT(ptrtab_get(t, addr(A[2]), &size), 1);
    CHECK_EQ_INT(size, 12);
    CHECK_EQ_INT(ptrtab_get(t, addr(B[0]), &size), 1);
    CHECK_EQ_INT(size, 20);
    CHECK_EQ_INT(ptrtab_get(t, addr(C[0]), &size), 1);
    CHECK_EQ_INT(size, 30);

    /* Now remove from the middle and the end of the run. */
    CHECK_EQ_INT(ptrtab_take(t, addr(A[2]), &size), 1);
    CHECK_EQ_INT(ptrtab_get(t, addr(B[0]), &size), 1);
    CHECK_EQ_INT(size, 20);
    CHECK_EQ_INT(ptrtab_take(t, addr(B[0]), &size), 1);
    CHECK_EQ_INT(ptrtab_get(t, addr(A[1]), &size), 1);
    CHECK_EQ_INT(ptrtab_get(t, addr(C[0]), &size), 1);
    CHECK_EQ_INT(ptrtab_count(t), 2);
    ptrtab_free(t);
}

TEST(runs_wrap_around_the_end)
{
    /* Keys homed at the last two slots spill over to slot 0 and on; a
     * deletion near the end must pull wrapped keys back across the edge. */
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    uintptr_t cursor = 0x300000, last[5], before[3], first[2];
    CHECK_EQ_INT(keys_with_home(FIRST_CAP - 1, FIRST_CAP, &cursor, last, 5), 5);
    CHECK_EQ_INT(keys_with_home(FIRST_CAP - 2, FIRST_CAP, &cursor, before, 3), 3);
    CHECK_EQ_INT(keys_with_home(0, FIRST_CAP, &cursor, first, 2), 2);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(before[i]), 100 + (size_t)i), ML_OK);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(last[i]), 200 + (size_t)i), ML_OK);
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(first[i]), 300 + (size_t)i), ML_OK);
    CHECK_EQ_INT(ptrtab_count(t), 10);

    size_t size;
    /* Remove the keys in an order that opens holes on both sides. */
    CHECK_EQ_INT(ptrtab_take(t, addr(before[0]), &size), 1);
    CHECK_EQ_INT(ptrtab_take(t, addr(last[1]), &size), 1);
    CHECK_EQ_INT(size, 201);
    int bad = 0;
    for (int i = 1; i < 3; i++)
        bad += !ptrtab_get(t, addr(before[i]), &size) || size != 100 + (size_t)i;
    for (int i = 0; i < 5; i++) {
        int got = ptrtab_get(t, addr(last[i]), &size);
        bad += i == 1 ? got : (!got || size != 200 + (size_t)i);
    }
    for (int i = 0; i < 2; i++)
        bad += !ptrtab_get(t, addr(first[i]), &size) || size != 300 + (size_t)i;
    CHECK_EQ_INT(bad, 0);

    /* Drain everything; the table must end empty and reusable. */
    for (int i = 1; i < 3; i++)
        CHECK_EQ_INT(ptrtab_take(t, addr(before[i]), &size), 1);
    for (int i = 0; i < 5; i++)
        if (i != 1)
            CHECK_EQ_INT(ptrtab_take(t, addr(last[i]), &size), 1);
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(ptrtab_take(t, addr(first[i]), &size), 1);
    CHECK_EQ_INT(ptrtab_count(t), 0);
    CHECK_EQ_INT(ptrtab_put(t, addr(last[3]), 5), ML_OK);
    CHECK_EQ_INT(ptrtab_get(t, addr(last[3]), &size), 1);
    CHECK_EQ_INT(size, 5);
    ptrtab_free(t);
}

/* Runs nops random put/get/take operations on keys drawn from pool[0..npool)
 * and checks every result against ref (ref[i] = size of pool[i] + 1, or 0
 * when absent).  Returns the number of mismatches. */
static long random_ops(ptrtab *t, const uintptr_t *pool, size_t *ref, size_t npool, long nops)
{
    long bad = 0;
    size_t live = 0;
    for (size_t i = 0; i < npool; i++)
        live += ref[i] != 0;
    for (long op = 0; op < nops; op++) {
        uint64_t r = rng();
        size_t i = (size_t)(r % npool);
        unsigned kind = (unsigned)((r >> 32) % 10);
        size_t size = 0;
        if (kind < 5) { /* put (new or replacement) */
            size_t want = (size_t)(r >> 40) + 513;
            if (ptrtab_put(t, addr(pool[i]), want) != ML_OK) {
                bad++;
                continue;
            }
            live += ref[i] == 0;
            ref[i] = want + 1;
        } else if (kind < 8) { /* take */
            int got = ptrtab_take(t, addr(pool[i]), &size);
            if (got != (ref[i] != 0) || (got && size + 1 != ref[i]))
                bad++;
            live -= ref[i] != 0;
            ref[i] = 0;
        } else { /* get */
            int got = ptrtab_get(t, addr(pool[i]), &size);
            if (got != (ref[i] != 0) || (got && size + 1 != ref[i]))
                bad++;
        }
        if (ptrtab_count(t) != live)
            bad++;
        if (op % 5000 == 4999) { /* full sweep: nothing lost, nothing extra */
            for (size_t k = 0; k < npool; k++) {
                int got = ptrtab_get(t, addr(pool[k]), &size);
                if (got != (ref[k] != 0) || (got && size + 1 != ref[k]))
                    bad++;
            }
        }
    }
    return bad;
}

TEST(randomized_against_reference)
{
    enum { NPOOL = 4000 };
    uintptr_t *pool = malloc(NPOOL * sizeof *pool);
    size_t *ref = calloc(NPOOL, sizeof *ref);
    ptrtab *t = ptrtab_new();
    CHECK(pool && ref && t);
    if (!pool || !ref || !t)
        goto done;

    /* Scattered addresses, as the heap hands them out over a long run. */
    for (size_t i = 0; i < NPOOL; i++) {
        uintptr_t k;
        int dup;
        do {
            k = (uintptr_t)((rng() >> 16) & ~(uint64_t)15) | 16;
            dup = 0;
            for (size_t j = 0; j < i && !dup; j++)
                dup = pool[j] == k;
        } while (dup);
        pool[i] = k;
    }
    CHECK_EQ_INT(random_ops(t, pool, ref, NPOOL, 50000), 0);
    CHECK(ptrtab_ok(t));

    /* Consecutive addresses 16 bytes apart: the clustered case, where runs
     * meet and deletions shift across other keys' homes. */
    ptrtab_clear(t);
    memset(ref, 0, NPOOL * sizeof *ref);
    for (size_t i = 0; i < NPOOL; i++)
        pool[i] = 0x7f0000000000 + 16 * i;
    CHECK_EQ_INT(random_ops(t, pool, ref, NPOOL, 50000), 0);
    CHECK(ptrtab_ok(t));

    /* Keys of few home slots: long collision runs everywhere. */
    ptrtab_clear(t);
    memset(ref, 0, NPOOL * sizeof *ref);
    uintptr_t cursor = 0x400000;
    size_t n = 0;
    for (size_t h = 0; h < 8 && n < 400; h++)
        n += keys_with_home((h * 131) % FIRST_CAP, FIRST_CAP, &cursor, pool + n, 50);
    CHECK_EQ_INT(n, 400);
    CHECK_EQ_INT(random_ops(t, pool, ref, n, 20000), 0);
    CHECK(ptrtab_ok(t));
done:
    ptrtab_free(t);
    free(pool);
    free(ref);
}

TEST(growth_keeps_every_entry)
{
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    size_t fp0 = ptrtab_footprint(t), grew_at = 0;
    enum { N = 20000 };
    for (size_t i = 0; i < N; i++) {
        size_t before = ptrtab_footprint(t);
        CHECK_EQ_INT(ptrtab_put(t, addr(0x7e0000000000 + 4096 * i), i + 1), ML_OK);
        if (!grew_at && ptrtab_footprint(t) > before)
            grew_at = i + 1;
    }
    CHECK_EQ_INT(ptrtab_count(t), N);
    /* The first growth comes when the table would be more than half full. */
    CHECK_EQ_INT(grew_at, FIRST_CAP / 2 + 1);
    /* At most half full: footprint covers two 16-byte slots per entry. */
    CHECK(ptrtab_footprint(t) >= fp0);
    CHECK(ptrtab_footprint(t) >= (size_t)N * 2 * 2 * sizeof(size_t));
    int bad = 0;
    size_t size;
    for (size_t i = 0; i < N; i++)
        bad += !ptrtab_get(t, addr(0x7e0000000000 + 4096 * i), &size) || size != i + 1;
    CHECK_EQ_INT(bad, 0);
    /* Taking everything leaves an empty table that keeps its storage. */
    size_t fp_full = ptrtab_footprint(t);
    for (size_t i = 0; i < N; i++)
        bad += !ptrtab_take(t, addr(0x7e0000000000 + 4096 * i), &size) || size != i + 1;
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(ptrtab_count(t), 0);
    CHECK_EQ_INT(ptrtab_footprint(t), fp_full);
    ptrtab_free(t);
}

TEST(clear_empties_and_keeps_storage)
{
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    for (size_t i = 0; i < 3000; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(0x10000 + 64 * i), i), ML_OK);
    size_t fp = ptrtab_footprint(t), size;
    ptrtab_clear(t);
    CHECK_EQ_INT(ptrtab_count(t), 0);
    CHECK_EQ_INT(ptrtab_footprint(t), fp);
    int found = 0;
    for (size_t i = 0; i < 3000; i++)
        found += ptrtab_get(t, addr(0x10000 + 64 * i), &size);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(ptrtab_take(t, addr(0x10000), &size), 0);
    CHECK_EQ_INT(ptrtab_count(t), 0);
    /* Usable again, with no growth needed for as many entries. */
    for (size_t i = 0; i < 3000; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(0x90000 + 64 * i), i + 7), ML_OK);
    CHECK_EQ_INT(ptrtab_count(t), 3000);
    CHECK_EQ_INT(ptrtab_footprint(t), fp);
    CHECK_EQ_INT(ptrtab_get(t, addr(0x90000 + 64 * 2999), &size), 1);
    CHECK_EQ_INT(size, 2999 + 7);
    ptrtab_clear(t);
    ptrtab_clear(t); /* clearing an empty table is harmless */
    CHECK_EQ_INT(ptrtab_count(t), 0);
    ptrtab_free(t);
}

TEST(footprint_counts_the_slots)
{
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    size_t fp1 = ptrtab_footprint(t);
    /* Fill to the first growth: the slot array doubles, the header stays. */
    for (size_t i = 0; i <= FIRST_CAP / 2; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(0x20000 + 16 * i), i), ML_OK);
    size_t fp2 = ptrtab_footprint(t);
    CHECK(fp2 > fp1);
    size_t header = 2 * fp1 - fp2; /* fp = header + cap * slot */
    CHECK(header > 0 && header <= 256);
    CHECK_EQ_INT((fp1 - header) % FIRST_CAP, 0);
    CHECK((fp1 - header) / FIRST_CAP >= sizeof(void *) + sizeof(size_t));
    ptrtab_free(t);
}

TEST(new_fails_cleanly)
{
    /* Either of its two allocations may fail; nothing leaks (ASan's leak
     * check runs at exit in the sanitized build). */
    for (long n = 1; n <= 2; n++) {
        ml_alloc_fail_nth(n);
        ptrtab *t = ptrtab_new();
        ml_alloc_fail_nth(0);
        CHECK(t == NULL);
        ptrtab_free(t);
    }
    ml_alloc_fail_nth(3); /* past its allocations: succeeds */
    ptrtab *t = ptrtab_new();
    ml_alloc_fail_nth(0);
    CHECK(t != NULL);
    ptrtab_free(t);
}

TEST(failed_growth_leaves_table_unchanged)
{
    ptrtab *t = ptrtab_new();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    enum { FULL = FIRST_CAP / 2 };
    for (size_t i = 0; i < FULL; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(0x30000 + 48 * i), i + 1), ML_OK);
    size_t fp = ptrtab_footprint(t), size;
    CHECK_EQ_INT(ptrtab_count(t), FULL);

    /* The next new key needs growth; make it fail. */
    ml_alloc_fail_nth(1);
    int rc = ptrtab_put(t, addr(0xdead0), 99);
    ml_alloc_fail_nth(0);
    CHECK_EQ_INT(rc, ML_ENOMEM);
    CHECK_EQ_INT(ptrtab_count(t), FULL);
    CHECK_EQ_INT(ptrtab_footprint(t), fp);
    CHECK_EQ_INT(ptrtab_get(t, addr(0xdead0), &size), 0);
    int bad = 0;
    for (size_t i = 0; i < FULL; i++)
        bad += !ptrtab_get(t, addr(0x30000 + 48 * i), &size) || size != i + 1;
    CHECK_EQ_INT(bad, 0);

    /* A replacement at the threshold: either it succeeds, or it fails and
     * the old size stays; never a half-done state. */
    ml_alloc_fail_nth(1);
    rc = ptrtab_put(t, addr(0x30000), 1234);
    ml_alloc_fail_nth(0);
    CHECK(rc == ML_OK || rc == ML_ENOMEM);
    CHECK_EQ_INT(ptrtab_get(t, addr(0x30000), &size), 1);
    CHECK_EQ_INT(size, rc == ML_OK ? 1234 : 1);
    CHECK_EQ_INT(ptrtab_count(t), FULL);
    if (rc == ML_OK) {
        CHECK_EQ_INT(ptrtab_put(t, addr(0x30000), 1), ML_OK);
    }

    /* Still usable while growth keeps failing: take makes room, put fits. */
    CHECK_EQ_INT(ptrtab_take(t, addr(0x30000 + 48 * 7), &size), 1);
    CHECK_EQ_INT(size, 8);
    ml_alloc_fail_nth(1);
    rc = ptrtab_put(t, addr(0xbeef0), 77); /* fits without growing */
    ml_alloc_fail_nth(0);
    CHECK_EQ_INT(rc, ML_OK);
    CHECK_EQ_INT(ptrtab_get(t, addr(0xbeef0), &size), 1);
    CHECK_EQ_INT(size, 77);

    /* And it grows once memory is back. */
    for (size_t i = 0; i < 2000; i++)
        CHECK_EQ_INT(ptrtab_put(t, addr(0x900000 + 32 * i), i), ML_OK);
    CHECK(ptrtab_footprint(t) > fp);
    CHECK_EQ_INT(ptrtab_count(t), FULL + 2000);
    bad = 0;
    for (size_t i = 0; i < FULL; i++)
        if (i != 7)
            bad += !ptrtab_get(t, addr(0x30000 + 48 * i), &size) || size != i + 1;
    for (size_t i = 0; i < 2000; i++)
        bad += !ptrtab_get(t, addr(0x900000 + 32 * i), &size) || size != i;
    CHECK_EQ_INT(bad, 0);
    ptrtab_free(t);
}

int main(void)
{
    RUN(new_table_is_empty);
    RUN(put_get_take);
    RUN(put_replaces);
    RUN(colliding_keys);
    RUN(backward_shift_keeps_later_runs_reachable);
    RUN(runs_wrap_around_the_end);
    RUN(randomized_against_reference);
    RUN(growth_keeps_every_entry);
    RUN(clear_empties_and_keeps_storage);
    RUN(footprint_counts_the_slots);
    RUN(new_fails_cleanly);
    RUN(failed_growth_leaves_table_unchanged);
    return CTEST_END();
}
