/* test_mlsize: sizes as users write them for --fail-over and --min-change. */
#include "ctest.h"

#include "core/mlerr.h"
#include "core/mlsize.h"

#include <stdint.h>

static int64_t size(const char *s)
{
    int64_t b = -1;
    CHECK_EQ_INT(ml_parse_size(s, &b), ML_OK);
    return b;
}

static int bad(const char *s)
{
    int64_t b = 77;
    return ml_parse_size(s, &b) == ML_EINVAL && b == 77;
}

TEST(units_cases_and_spaces)
{
    CHECK_EQ_INT(size("4096"), 4096);
    CHECK_EQ_INT(size("10B"), 10);
    CHECK_EQ_INT(size("1KB"), 1000);
    CHECK_EQ_INT(size("1kb"), 1000);
    CHECK_EQ_INT(size("2 MB"), 2000000);
    CHECK_EQ_INT(size("1GB"), 1000000000);
    CHECK_EQ_INT(size("1KiB"), 1024);
    CHECK_EQ_INT(size("1.5 mib"), 1572864);
    CHECK_EQ_INT(size("3.8MiB"), 3984589); /* 3.8 * 1048576 = 3984588.8, rounded */
    CHECK_EQ_INT(size("2GiB"), 2147483648LL);
    CHECK_EQ_INT(size(" 0.5 KB "), 500);
    CHECK_EQ_INT(size(".5KiB"), 512);
    CHECK_EQ_INT(size("0"), 0);
    CHECK_EQ_INT(size("8000000000 GiB"), 8589934592000000000LL);
}

TEST(refused)
{
    CHECK(bad(""));
    CHECK(bad("MiB"));
    CHECK(bad("-1"));
    CHECK(bad("1 TB"));
    CHECK(bad("1 TiB"));
    CHECK(bad("1.2.3"));
    CHECK(bad("1e6"));
    CHECK(bad("1 M iB"));
    CHECK(bad("1MiB x"));
    CHECK(bad("9000000000 GiB")); /* beyond int64 bytes */
    CHECK(bad("."));
}

int main(void)
{
    RUN(units_cases_and_spaces);
    RUN(refused);
    return CTEST_END();
}
