/* test_mlalloc: the core allocator, its fault injection, and the error codes
 * of mlerr. */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

TEST(malloc_returns_usable_memory)
{
    unsigned char *p = ml_malloc(100);
    CHECK(p != NULL);
    if (p) {
        memset(p, 0xab, 100);
        CHECK_EQ_INT(p[0], 0xab);
        CHECK_EQ_INT(p[99], 0xab);
    }
    ml_free(p);
}

TEST(zero_sizes_give_distinct_blocks)
{
    /* Zero-byte requests must not look like failures (NULL). */
    void *a = ml_malloc(0), *b = ml_calloc(0, 8), *c = ml_calloc(8, 0);
    CHECK(a != NULL);
    CHECK(b != NULL);
    CHECK(c != NULL);
    CHECK(a != b && b != c && a != c);
    void *d = ml_realloc(a, 0);
    CHECK(d != NULL);
    ml_free(d);
    ml_free(b);
    ml_free(c);
}

TEST(calloc_zeroes)
{
    unsigned char *p = ml_calloc(64, 16);
    CHECK(p != NULL);
    int nonzero = 0;
    for (size_t i = 0; p && i < 64 * 16; i++)
        nonzero += p[i] != 0;
    CHECK_EQ_INT(nonzero, 0);
    ml_free(p);
}

TEST(realloc_keeps_contents)
{
    char *p = ml_malloc(4);
    CHECK(p != NULL);
    if (!p)
        return;
    memcpy(p, "abc", 4);
    char *q = ml_realloc(p, 1 << 16);
    CHECK(q != NULL);
    if (q) {
        CHECK_EQ_STR(q, "abc");
        p = q;
    }
    ml_free(p);
    /* realloc(NULL, n) allocates, as in libc. */
    char *r = ml_realloc(NULL, 10);
    CHECK(r != NULL);
    ml_free(r);
}

TEST(free_accepts_null)
{
    ml_free(NULL);
    CHECK(1);
}

TEST(strdup_copies)
{
    char src[] = "hello, memline";
    char *copy = ml_strdup(src);
    CHECK(copy != NULL);
    CHECK(copy != src);
    CHECK_EQ_STR(copy, "hello, memline");
    src[0] = 'J';
    CHECK_EQ_STR(copy, "hello, memline");
    ml_free(copy);
    char *empty = ml_strdup("");
    CHECK(empty != NULL);
    CHECK_EQ_STR(empty, "");
    ml_free(empty);
}

TEST(fail_first_then_recover)
{
    ml_alloc_fail_nth(1);
    void *a = ml_malloc(16);
    void *b = ml_malloc(16);
    void *c = ml_malloc(16);
    CHECK(a == NULL);
    CHECK(b != NULL);
    CHECK(c != NULL);
    ml_free(a);
    ml_free(b);
    ml_free(c);
}

TEST(fail_nth_counts_every_kind)
{
    /* malloc, calloc, realloc and strdup all count; free does not. */
    ml_alloc_fail_nth(4);
    void *a = ml_malloc(8);      /* 1 */
    ml_free(ml_malloc(8));       /* 2, and a free that must not count */
    void *b = ml_calloc(2, 8);   /* 3 */
    char *s = ml_strdup("four"); /* 4: fails */
    char *t = ml_strdup("five"); /* 5 */
    CHECK(a != NULL);
    CHECK(b != NULL);
    CHECK(s == NULL);
    CHECK(t != NULL);
    CHECK_EQ_STR(t, "five");
    ml_free(a);
    ml_free(b);
    ml_free(s);
    ml_free(t);

    ml_alloc_fail_nth(2);
    void *c = ml_calloc(1, 1);
    void *d = ml_calloc(1, 1);
    CHECK(c != NULL);
    CHECK(d == NULL);
    ml_free(c);
}

TEST(failed_realloc_leaves_block)
{
    char *p = ml_strdup("keep me");
    CHECK(p != NULL);
    if (!p)
        return;
    ml_alloc_fail_nth(1);
    char *q = ml_realloc(p, 1 << 20);
    CHECK(q == NULL);
    CHECK_EQ_STR(p, "keep me");
    q = ml_realloc(p, 1 << 20);
    CHECK(q != NULL);
    if (q)
        p = q;
    CHECK_EQ_STR(p, "keep me");
    ml_free(p);
}

TEST(fail_off_values)
{
    /* 0 and negative turn injection off, and cancel a pending failure. */
    ml_alloc_fail_nth(2);
    ml_alloc_fail_nth(0);
    int nulls = 0;
    for (int i = 0; i < 10; i++) {
        void *p = ml_malloc(8);
        nulls += p == NULL;
        ml_free(p);
    }
    CHECK_EQ_INT(nulls, 0);

    ml_alloc_fail_nth(1);
    ml_alloc_fail_nth(-5);
    void *p = ml_malloc(8);
    CHECK(p != NULL);
    ml_free(p);
}

TEST(fail_nth_rearms)
{
    /* A new call replaces the pending countdown. */
    ml_alloc_fail_nth(100);
    ml_alloc_fail_nth(1);
    void *p = ml_malloc(8);
    CHECK(p == NULL);
    /* Exactly one failure per arming. */
    int nulls = 0;
    for (int i = 0; i < 200; i++) {
        void *q = ml_malloc(8);
        nulls += q == NULL;
        ml_free(q);
    }
    CHECK_EQ_INT(nulls, 0);
}

TEST(fail_nth_large_n)
{
    ml_alloc_fail_nth(1000);
    int first_null = -1;
    for (int i = 1; i <= 1100; i++) {
        void *q = ml_malloc(1);
        if (!q && first_null < 0)
            first_null = i;
        ml_free(q);
    }
    CHECK_EQ_INT(first_null, 1000);
}

enum { THREADS = 4, PER_THREAD = 500 };

static void *alloc_many(void *arg)
{
    int *nulls = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        void *p = ml_malloc(32);
        *nulls += p == NULL;
        ml_free(p);
    }
    return NULL;
}

TEST(fail_nth_is_exact_across_threads)
{
    /* Several threads racing on the countdown still see exactly one failure. */
    for (int round = 0; round < 20; round++) {
        int nulls[THREADS] = {0};
        pthread_t th[THREADS];
        ml_alloc_fail_nth(1 + round * 37);
        for (int i = 0; i < THREADS; i++)
            CHECK_EQ_INT(pthread_create(&th[i], NULL, alloc_many, &nulls[i]), 0);
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        int total = 0;
        for (int i = 0; i < THREADS; i++)
            total += nulls[i];
        CHECK_EQ_INT(total, 1);
    }
    ml_alloc_fail_nth(0);
}

TEST(strerror_messages)
{
    CHECK_EQ_STR(ml_strerror(ML_OK), "success");
    CHECK_EQ_STR(ml_strerror(ML_ENOMEM), "out of memory");
    CHECK_EQ_STR(ml_strerror(ML_ENOENT), "no such file or process");
    CHECK_EQ_STR(ml_strerror(ML_EACCES), "permission denied");
    CHECK_EQ_STR(ml_strerror(ML_EIO), "input/output error");
    CHECK_EQ_STR(ml_strerror(ML_EFORMAT), "malformed input");
    CHECK_EQ_STR(ml_strerror(ML_EINVAL), "invalid argument");
    CHECK_EQ_STR(ml_strerror(ML_EUNSUPPORTED), "not supported on this platform");
    CHECK_EQ_STR(ml_strerror(ML_EBUSY), "another tool already holds it");
    CHECK_EQ_STR(ml_strerror(ML_EBUSY + 1), "unknown error");
    CHECK_EQ_STR(ml_strerror(-1), "unknown error");
    CHECK_EQ_STR(ml_strerror(1 << 30), "unknown error");
}

TEST(strerror_messages_distinct)
{
    for (int a = ML_OK; a <= ML_EUNSUPPORTED; a++) {
        CHECK(ml_strerror(a) != NULL);
        CHECK(strcmp(ml_strerror(a), "unknown error") != 0);
        for (int b = a + 1; b <= ML_EUNSUPPORTED; b++)
            CHECK(strcmp(ml_strerror(a), ml_strerror(b)) != 0);
    }
}

TEST(err_from_errno)
{
    CHECK_EQ_INT(ml_err_from_errno(ENOMEM), ML_ENOMEM);
    CHECK_EQ_INT(ml_err_from_errno(ENOENT), ML_ENOENT);
    CHECK_EQ_INT(ml_err_from_errno(ESRCH), ML_ENOENT);
    CHECK_EQ_INT(ml_err_from_errno(ENOTDIR), ML_ENOENT);
    CHECK_EQ_INT(ml_err_from_errno(EACCES), ML_EACCES);
    CHECK_EQ_INT(ml_err_from_errno(EPERM), ML_EACCES);
    CHECK_EQ_INT(ml_err_from_errno(EINVAL), ML_EINVAL);
    CHECK_EQ_INT(ml_err_from_errno(EIO), ML_EIO);
    CHECK_EQ_INT(ml_err_from_errno(EBADF), ML_EIO);
    CHECK_EQ_INT(ml_err_from_errno(EISDIR), ML_EIO);
    CHECK_EQ_INT(ml_err_from_errno(-1), ML_EIO);
}

int main(void)
{
    RUN(malloc_returns_usable_memory);
    RUN(zero_sizes_give_distinct_blocks);
    RUN(calloc_zeroes);
    RUN(realloc_keeps_contents);
    RUN(free_accepts_null);
    RUN(strdup_copies);
    RUN(fail_first_then_recover);
    RUN(fail_nth_counts_every_kind);
    RUN(failed_realloc_leaves_block);
    RUN(fail_off_values);
    RUN(fail_nth_rearms);
    RUN(fail_nth_large_n);
    RUN(fail_nth_is_exact_across_threads);
    RUN(strerror_messages);
    RUN(strerror_messages_distinct);
    RUN(err_from_errno);
    return CTEST_END();
}
