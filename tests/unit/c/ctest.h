/* ctest: a minimal unit-test harness for the C core.
 *
 * Each test file defines test functions with TEST(name), lists them in
 * main() with RUN(name), and ends with CTEST_END(), which prints
 * "<file>: N passed, N failed" and returns non-zero on any failure.  A
 * failed CHECK reports file:line and the expression, and the test goes on. */
#ifndef ML_CTEST_H
#define ML_CTEST_H

#include <stdio.h>
#include <string.h>

static int ctest_failed_checks;
static int ctest_passed, ctest_failed;

#define TEST(name) static void name(void)

#define CHECK(expr)                                                          \
    do {                                                                     \
        if (!(expr)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #expr);                                                  \
            ctest_failed_checks++;                                           \
        }                                                                    \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long ctest_a = (long long)(a), ctest_b = (long long)(b);          \
        if (ctest_a != ctest_b) {                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",  \
                    __FILE__, __LINE__, #a, #b, ctest_a, ctest_b);             \
            ctest_failed_checks++;                                             \
        }                                                                      \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
    do {                                                                       \
        const char *ctest_a = (a), *ctest_b = (b);                             \
        if (!ctest_a || !ctest_b || strcmp(ctest_a, ctest_b) != 0) {           \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s\n  got:  \"%s\"\n"  \
                    "  want: \"%s\"\n", __FILE__, __LINE__, #a, #b,            \
                    ctest_a ? ctest_a : "(null)", ctest_b ? ctest_b : "(null)"); \
            ctest_failed_checks++;                                             \
        }                                                                      \
    } while (0)

#define RUN(name)                                                 \
    do {                                                          \
        int ctest_before = ctest_failed_checks;                   \
        name();                                                   \
        if (ctest_failed_checks == ctest_before) {                \
            ctest_passed++;                                       \
        } else {                                                  \
            ctest_failed++;                                       \
            fprintf(stderr, "FAILED: %s\n", #name);               \
        }                                                         \
    } while (0)

#define CTEST_END()                                                          \
    (printf("%s: %d passed, %d failed\n", __FILE__, ctest_passed, ctest_failed), \
     ctest_failed ? 1 : 0)

#endif
