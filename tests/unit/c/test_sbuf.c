/* test_sbuf: the growable string, its growth, and its out-of-memory contract
 * (a failed append leaves the contents as they were). */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/sbuf.h"

#include <stdint.h>

/* Invariant every buffer must keep: NUL-terminated inside its storage. */
static int sbuf_ok(const sbuf *b)
{
    if (!b->data)
        return b->len == 0 && b->cap == 0;
    return b->len < b->cap && b->data[b->len] == '\0';
}

TEST(empty_buffer)
{
    sbuf b = SBUF_INIT;
    CHECK(b.data == NULL);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_STR(sbuf_str(&b), "");
    sbuf_clear(&b); /* no storage yet: must not touch data */
    CHECK(b.data == NULL);
    sbuf_release(&b);
    CHECK(sbuf_ok(&b));
}

TEST(append_and_puts)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_append(&b, "hello world", 5), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "hello");
    CHECK_EQ_INT(b.len, 5);
    CHECK_EQ_INT(sbuf_puts(&b, ", memline"), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "hello, memline");
    CHECK_EQ_INT(b.len, 14);
    CHECK_EQ_INT(sbuf_puts(&b, ""), ML_OK);
    CHECK_EQ_INT(sbuf_append(&b, "xyz", 0), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "hello, memline");
    CHECK_EQ_INT(b.len, 14);
    CHECK(sbuf_ok(&b));
    sbuf_release(&b);
}

TEST(append_zero_to_empty_terminates)
{
    /* "always NUL-terminated once anything was appended", even nothing. */
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_append(&b, "", 0), ML_OK);
    CHECK(b.data != NULL);
    CHECK_EQ_STR(b.data ? b.data : NULL, "");
    CHECK(sbuf_ok(&b));
    sbuf_release(&b);
}

TEST(append_embedded_nul)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_append(&b, "a\0b", 3), ML_OK);
    CHECK_EQ_INT(b.len, 3);
    CHECK(memcmp(b.data, "a\0b", 4) == 0);
    CHECK_EQ_STR(sbuf_str(&b), "a");
    sbuf_release(&b);
}

TEST(pad)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_pad(&b, ' ', 0), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "");
    CHECK_EQ_INT(sbuf_puts(&b, "["), ML_OK);
    CHECK_EQ_INT(sbuf_pad(&b, '=', 5), ML_OK);
    CHECK_EQ_INT(sbuf_puts(&b, "]"), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "[=====]");
    CHECK_EQ_INT(sbuf_pad(&b, '.', 300), ML_OK);
    CHECK_EQ_INT(b.len, 307);
    int dots = 0;
    for (size_t i = 7; i < b.len; i++)
        dots += b.data[i] == '.';
    CHECK_EQ_INT(dots, 300);
    CHECK(sbuf_ok(&b));
    sbuf_release(&b);
}

TEST(printf_formats)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_printf(&b, "%6d|%-4s|%5.1f|%s", 42, "ab", 54.238, ""), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "    42|ab  | 54.2|");
    CHECK_EQ_INT(b.len, 18);
    CHECK_EQ_INT(sbuf_printf(&b, "%s", ""), ML_OK);
    CHECK_EQ_INT(b.len, 18);
    CHECK_EQ_INT(sbuf_printf(&b, "%llu%c", 18446744073709551615ull, '!'), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "    42|ab  | 54.2|18446744073709551615!");
    CHECK(sbuf_ok(&b));
    sbuf_release(&b);
}

TEST(printf_long_output)
{
    /* Longer than the first block and than one doubling. */
    char big[1001];
    memset(big, 'q', 1000);
    big[1000] = '\0';
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_puts(&b, "<"), ML_OK);
    CHECK_EQ_INT(sbuf_printf(&b, "%s>%d", big, 7), ML_OK);
    CHECK_EQ_INT(b.len, 1003);
    CHECK(b.data && b.data[0] == '<' && b.data[1] == 'q' && b.data[1000] == 'q');
    CHECK(b.data && memcmp(b.data + 1001, ">7", 3) == 0);
    CHECK(sbuf_ok(&b));
    sbuf_release(&b);
}

TEST(growth_doubles_from_64)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_pad(&b, 'a', 63), ML_OK);
    CHECK_EQ_INT(b.cap, 64); /* 63 bytes and the NUL fit */
    CHECK_EQ_INT(sbuf_pad(&b, 'a', 1), ML_OK);
    CHECK_EQ_INT(b.cap, 128);
    CHECK_EQ_INT(sbuf_pad(&b, 'a', 1000), ML_OK);
    CHECK_EQ_INT(b.cap, 2048);
    CHECK_EQ_INT(b.len, 1064);
    sbuf_release(&b);
}

TEST(growth_keeps_contents)
{
    /* Many small appends against an independent reference. */
    static char want[20000];
    size_t wlen = 0;
    sbuf b = SBUF_INIT;
    int bad = 0;
    for (int i = 0; i < 2000 && !bad; i++) {
        char piece[16];
        int n = snprintf(piece, sizeof piece, "%d,", i);
        int rc = i % 3 == 0 ? sbuf_append(&b, piece, (size_t)n)
                 : i % 3 == 1 ? sbuf_puts(&b, piece)
                              : sbuf_printf(&b, "%d,", i);
        memcpy(want + wlen, piece, (size_t)n);
        wlen += (size_t)n;
        want[wlen] = '\0';
        bad = rc != ML_OK || b.len != wlen || !sbuf_ok(&b);
    }
    CHECK(!bad);
    CHECK_EQ_STR(sbuf_str(&b), want);
    sbuf_release(&b);
}

TEST(clear_keeps_storage)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_pad(&b, 'x', 200), ML_OK);
    char *data = b.data;
    size_t cap = b.cap;
    sbuf_clear(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_STR(sbuf_str(&b), "");
    CHECK(b.data == data);
    CHECK_EQ_INT(b.cap, cap);
    /* Refilling up to the old size does not allocate. */
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(sbuf_pad(&b, 'y', 200), ML_OK);
    void *probe = ml_malloc(1); /* the armed failure is still pending */
    CHECK(probe == NULL);
    ml_free(probe);
    CHECK(b.data == data);
    CHECK(sbuf_ok(&b));
    sbuf_release(&b);
}

TEST(release_and_reuse)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_puts(&b, "first"), ML_OK);
    sbuf_release(&b);
    CHECK(b.data == NULL);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(b.cap, 0);
    CHECK_EQ_STR(sbuf_str(&b), "");
    sbuf_release(&b); /* twice is fine */
    CHECK_EQ_INT(sbuf_puts(&b, "second"), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "second");
    sbuf_release(&b);
}

/* Fault injection.  Each operation is tried with the 1st, 2nd, ...
 * allocation failing until it succeeds; every failure must return ML_ENOMEM
 * and leave the text as it was, and the buffer must stay usable. */
enum { OP_APPEND, OP_PUTS, OP_PAD, OP_PRINTF, OP_COUNT };

static int run_op(sbuf *b, int op)
{
    switch (op) {
    case OP_APPEND: return sbuf_append(b, "0123456789abcdef", 16);
    case OP_PUTS: return sbuf_puts(b, "0123456789abcdef");
    case OP_PAD: return sbuf_pad(b, '#', 16);
    default: return sbuf_printf(b, "%s-%04d", "0123456789", 42);
    }
}

static const char *op_text(int op)
{
    switch (op) {
    case OP_APPEND: case OP_PUTS: return "0123456789abcdef";
    case OP_PAD: return "################";
    default: return "0123456789-0042";
    }
}

TEST(oom_leaves_contents)
{
    /* Start lengths: empty, just fits, one past a block boundary. */
    static const size_t starts[] = {0, 40, 50, 63, 120};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        for (int op = 0; op < OP_COUNT; op++) {
            sbuf b = SBUF_INIT;
            char before[256], want[512];
            if (starts[s] > 0)
                CHECK_EQ_INT(sbuf_pad(&b, 'p', starts[s]), ML_OK);
            snprintf(before, sizeof before, "%s", sbuf_str(&b));
            snprintf(want, sizeof want, "%s%s", before, op_text(op));
            int must_grow = strlen(want) + 1 > b.cap;
            int rc = ML_ENOMEM, failures = 0;
            for (long n = 1; n < 10 && rc != ML_OK; n++) {
                ml_alloc_fail_nth(n);
                rc = run_op(&b, op);
                ml_alloc_fail_nth(0);
                if (rc != ML_OK) {
                    failures++;
                    CHECK_EQ_INT(rc, ML_ENOMEM);
                    CHECK_EQ_STR(sbuf_str(&b), before);
                    CHECK_EQ_INT(b.len, starts[s]);
                    CHECK(sbuf_ok(&b));
                }
            }
            CHECK_EQ_INT(rc, ML_OK);
            CHECK_EQ_STR(sbuf_str(&b), want);
            /* It allocates only when it must grow, and then only once. */
            CHECK_EQ_INT(failures, must_grow ? 1 : 0);
            /* Still usable after the failures. */
            CHECK_EQ_INT(sbuf_puts(&b, "!"), ML_OK);
            CHECK_EQ_INT(b.len, strlen(want) + 1);
            sbuf_release(&b);
        }
    }
}

TEST(oom_on_first_append)
{
    sbuf b = SBUF_INIT;
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(sbuf_puts(&b, "x"), ML_ENOMEM);
    CHECK(b.data == NULL);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(b.cap, 0);
    CHECK_EQ_STR(sbuf_str(&b), "");
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(sbuf_printf(&b, "%d", 12345), ML_ENOMEM);
    CHECK(b.data == NULL);
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(sbuf_pad(&b, ' ', 3), ML_ENOMEM);
    CHECK(b.data == NULL);
    ml_alloc_fail_nth(0);
    CHECK_EQ_INT(sbuf_printf(&b, "%d", 12345), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "12345");
    sbuf_release(&b);
}

TEST(huge_sizes_fail_cleanly)
{
    /* Sizes whose capacity would overflow size_t must fail with ML_ENOMEM,
     * not wrap around and write past the block (or loop forever). */
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_puts(&b, "keep"), ML_OK);
    CHECK_EQ_INT(sbuf_pad(&b, 'x', SIZE_MAX), ML_ENOMEM);
    CHECK_EQ_INT(sbuf_pad(&b, 'x', SIZE_MAX - 4), ML_ENOMEM);
    CHECK_EQ_INT(sbuf_pad(&b, 'x', SIZE_MAX / 2 + 1), ML_ENOMEM);
    CHECK_EQ_INT(sbuf_append(&b, "x", SIZE_MAX - 1), ML_ENOMEM);
    CHECK_EQ_STR(sbuf_str(&b), "keep");
    CHECK_EQ_INT(b.len, 4);
    CHECK(sbuf_ok(&b));
    sbuf_release(&b);
}

int main(void)
{
    RUN(empty_buffer);
    RUN(append_and_puts);
    RUN(append_zero_to_empty_terminates);
    RUN(append_embedded_nul);
    RUN(pad);
    RUN(printf_formats);
    RUN(printf_long_output);
    RUN(growth_doubles_from_64);
    RUN(growth_keeps_contents);
    RUN(clear_keeps_storage);
    RUN(release_and_reuse);
    RUN(oom_leaves_contents);
    RUN(oom_on_first_append);
    RUN(huge_sizes_fail_cleanly);
    return CTEST_END();
}
