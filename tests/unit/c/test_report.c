/* test_report: the text of memory_profiler's line report, checked character
 * for character against rows of real memory_profiler 0.61 reports, plus the
 * Heap column variant's alignment and the out-of-memory contract. */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/report.h"

#include <stdint.h>

/* x MiB in whole bytes, rounded to nearest. */
static int64_t mib(double x)
{
    double b = x * 1048576.0;
    return (int64_t)(b < 0 ? b - 0.5 : b + 0.5);
}

static linestat ran(double mem_max, double mem_incr, uint64_t occurrences)
{
    linestat s = {0};
    s.occurrences = occurrences;
    linestat_charge(&s, mib(mem_max), mib(mem_incr), 0, 0);
    return s;
}

/* One row as a string, in a static buffer (tests are single-threaded). */
static const char *row(const report_fmt *fmt, int lineno, const linestat *s, const char *src)
{
    static char text[512];
    sbuf b = SBUF_INIT;
    int rc = report_row(&b, fmt, lineno, s, src, strlen(src));
    snprintf(text, sizeof text, "%s", rc == ML_OK ? sbuf_str(&b) : "(error)");
    sbuf_release(&b);
    return text;
}

static const char *header(const report_fmt *fmt)
{
    static char text[256];
    sbuf b = SBUF_INIT;
    int rc = report_header(&b, fmt);
    snprintf(text, sizeof text, "%s", rc == ML_OK ? sbuf_str(&b) : "(error)");
    sbuf_release(&b);
    return text;
}

static const char *rule(const report_fmt *fmt)
{
    static char text[256];
    sbuf b = SBUF_INIT;
    int rc = report_rule(&b, fmt);
    snprintf(text, sizeof text, "%s", rc == ML_OK ? sbuf_str(&b) : "(error)");
    sbuf_release(&b);
    return text;
}

static const char *mib_text(int64_t bytes, int precision)
{
    static char text[128];
    sbuf b = SBUF_INIT;
    int rc = report_mib(&b, bytes, precision);
    snprintf(text, sizeof text, "%s", rc == ML_OK ? sbuf_str(&b) : "(error)");
    sbuf_release(&b);
    return text;
}

TEST(filename_line)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(report_filename(&b, "loop5.py"), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "Filename: loop5.py\n\n");
    CHECK_EQ_INT(report_filename(&b, "/a b/c.py"), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "Filename: loop5.py\n\nFilename: /a b/c.py\n\n");
    sbuf_release(&b);
}

TEST(header_and_rule_as_memory_profiler)
{
    /* The header does not depend on the precision. */
    for (int p = 0; p <= 5; p++) {
        report_fmt fmt = {p, 0};
        CHECK_EQ_STR(header(&fmt),
                     "Line #    Mem usage    Increment  Occurrences   Line Contents\n");
        CHECK_EQ_STR(rule(&fmt),
                     "=============================================================\n");
    }
}

TEST(rows_precision_3_seed_big)
{
    /* seed_big.txt, memory_profiler 0.61, --precision 3. */
    report_fmt fmt = {3, 0};
    linestat s9 = ran(46.605, 46.605, 1), s11 = ran(54.238, 7.633, 1),
             s12 = ran(206.828, 152.590, 1), s13 = ran(54.238, -152.590, 1),
             s14 = ran(54.238, 0, 1);
    CHECK_EQ_STR(row(&fmt, 9, &s9, "@profile\n"),
                 "     9   46.605 MiB   46.605 MiB           1   @profile\n");
    CHECK_EQ_STR(row(&fmt, 10, NULL, "def my_func():\n"),
                 "    10                                         def my_func():\n");
    CHECK_EQ_STR(row(&fmt, 11, &s11, "    a = [1] * (10 ** 6)\n"),
                 "    11   54.238 MiB    7.633 MiB           1       a = [1] * (10 ** 6)\n");
    CHECK_EQ_STR(row(&fmt, 12, &s12, "    b = [2] * (2 * 10 ** 7)\n"),
                 "    12  206.828 MiB  152.590 MiB           1       b = [2] * (2 * 10 ** 7)\n");
    CHECK_EQ_STR(row(&fmt, 13, &s13, "    del b\n"),
                 "    13   54.238 MiB -152.590 MiB           1       del b\n");
    CHECK_EQ_STR(row(&fmt, 14, &s14, "    return a\n"),
                 "    14   54.238 MiB    0.000 MiB           1       return a\n");
}

TEST(rows_precision_3_seed_gen)
{
    /* seed_gen.txt: wide occurrence counts, a negative increment. */
    report_fmt fmt = {3, 0};
    linestat s12 = ran(46.453, 0, 200003), s14 = ran(50.949, 1.762, 100003),
             s15 = ran(48.215, -2.734, 1);
    CHECK_EQ_STR(row(&fmt, 12, &s12, "    PP = sum(x * x for x in range(THE_LIMIT))\n"),
                 "    12   46.453 MiB    0.000 MiB      200003       PP = sum(x * x for x in "
                 "range(THE_LIMIT))\n");
    CHECK_EQ_STR(row(&fmt, 14, &s14, "    NN = sum([x * x for x in range(THE_LIMIT)])\n"),
                 "    14   50.949 MiB    1.762 MiB      100003       NN = sum([x * x for x in "
                 "range(THE_LIMIT)])\n");
    CHECK_EQ_STR(row(&fmt, 15, &s15, "    b = 1\n"),
                 "    15   48.215 MiB   -2.734 MiB           1       b = 1\n");
}

TEST(rows_precision_1_loop5)
{
    /* loop5.txt: memory_profiler's default precision. */
    report_fmt fmt = {1, 0};
    linestat s1 = ran(46.4, 46.4, 1), s4 = ran(65.5, 0, 6), s5 = ran(65.5, 19.1, 5),
             s7 = ran(50.3, -15.3, 1);
    CHECK_EQ_STR(row(&fmt, 1, &s1, "@profile\n"),
                 "     1     46.4 MiB     46.4 MiB           1   @profile\n");
    CHECK_EQ_STR(row(&fmt, 2, NULL, "def grow():\n"),
                 "     2                                         def grow():\n");
    CHECK_EQ_STR(row(&fmt, 4, &s4, "    for i in range(5):\n"),
                 "     4     65.5 MiB      0.0 MiB           6       for i in range(5):\n");
    CHECK_EQ_STR(row(&fmt, 5, &s5, "        x = [i] * 500000\n"),
                 "     5     65.5 MiB     19.1 MiB           5           x = [i] * 500000\n");
    CHECK_EQ_STR(row(&fmt, 7, &s7, "    del keep\n"),
                 "     7     50.3 MiB    -15.3 MiB           1       del keep\n");
}

TEST(rows_precision_4_and_extremes)
{
    /* Expected strings made with memory_profiler's own template in Python. */
    report_fmt p4 = {4, 0};
    linestat a = ran(1.5, -0.25, 4);
    CHECK_EQ_STR(row(&p4, 3, &a, "x = 1"), "     3   1.5000 MiB  -0.2500 MiB           4   x = 1\n");
    /* Too wide for its cell: it pushes the rest right, as in Python.  A
     * decrease below the precision prints as -0.0000, as Python does. */
    linestat b = {0};
    b.occurrences = 4;
    linestat_charge(&b, mib(1234.5678), -1, 0, 0);
    CHECK_EQ_STR(row(&p4, 3, &b, "x = 1"), "     3 1234.5678 MiB  -0.0000 MiB           4   x = 1\n");

    report_fmt p0 = {0, 0};
    linestat c = {0};
    c.occurrences = 4;
    linestat_charge(&c, mib(54.238), -1, 0, 0);
    CHECK_EQ_STR(row(&p0, 3, &c, "x = 1"), "     3       54 MiB       -0 MiB           4   x = 1\n");

    report_fmt p12 = {12, 0};
    linestat d = {0};
    d.occurrences = 4;
    linestat_charge(&d, mib(54.238), 1, 0, 0);
    CHECK_EQ_STR(row(&p12, 3, &d, "x = 1"),
                 "     3  54.237999916077 MiB   0.000000953674 MiB           4   x = 1\n");
    /* Precision is clamped to 0..REPORT_MAX_PRECISION. */
    report_fmt big = {99, 0}, neg = {-3, 0};
    CHECK_EQ_STR(row(&big, 3, &d, "x = 1"), row(&p12, 3, &d, "x = 1"));
    CHECK_EQ_STR(row(&neg, 3, &c, "x = 1"), "     3       54 MiB       -0 MiB           4   x = 1\n");
}

TEST(mib_values)
{
    CHECK_EQ_STR(mib_text(0, 1), "  0.0 MiB");
    CHECK_EQ_STR(mib_text(-1, 1), " -0.0 MiB");
    CHECK_EQ_STR(mib_text(1048576, 1), "  1.0 MiB");
    CHECK_EQ_STR(mib_text(-1048576 * 3 / 2, 3), " -1.500 MiB");
    CHECK_EQ_STR(mib_text(mib(54.238), 3), " 54.238 MiB");
    CHECK_EQ_STR(mib_text(INT64_C(1) << 40, 1), "1048576.0 MiB");
    CHECK_EQ_STR(mib_text(1048576, 0), "   1 MiB");
    CHECK_EQ_STR(mib_text(1048576, -1), "   1 MiB");
    CHECK_EQ_STR(mib_text(1, 12), "  0.000000953674 MiB");
    CHECK_EQ_STR(mib_text(1, 13), "  0.000000953674 MiB");
    /* Appends, does not replace. */
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_puts(&b, "["), ML_OK);
    CHECK_EQ_INT(report_mib(&b, 2097152, 2), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "[  2.00 MiB");
    sbuf_release(&b);
}

TEST(never_run_rows)
{
    report_fmt fmt = {1, 0};
    /* NULL, all-zero, and running-but-not-ended rows all print blank. */
    linestat running = {0};
    running.occurrences = 3;
    const char *want = "    12                                         def f():\n";
    CHECK_EQ_STR(row(&fmt, 12, NULL, "def f():\n"), want);
    linestat zero = {0};
    CHECK_EQ_STR(row(&fmt, 12, &zero, "def f():\n"), want);
    CHECK_EQ_STR(row(&fmt, 12, &running, "def f():\n"), want);
    /* The blank is the same width whatever the precision. */
    report_fmt p4 = {4, 0};
    CHECK_EQ_STR(row(&p4, 12, NULL, "def f():\n"), want);
}

TEST(source_newlines)
{
    report_fmt fmt = {1, 0};
    linestat s = ran(1, 1, 1);
    const char *want = "     1      1.0 MiB      1.0 MiB           1   pass\n";
    CHECK_EQ_STR(row(&fmt, 1, &s, "pass\n"), want);
    CHECK_EQ_STR(row(&fmt, 1, &s, "pass"), want);
    /* Past the end of the file: empty source, a newline still ends the row. */
    CHECK_EQ_STR(row(&fmt, 1, &s, ""), "     1      1.0 MiB      1.0 MiB           1   \n");
    CHECK_EQ_STR(row(&fmt, 1, &s, "\n"), "     1      1.0 MiB      1.0 MiB           1   \n");
    CHECK_EQ_STR(row(&fmt, 1, NULL, ""), "     1                                         \n");
    CHECK_EQ_STR(row(&fmt, 1, &s, "a\r\n"), "     1      1.0 MiB      1.0 MiB           1   a\r\n");
    /* Only srclen bytes of src are used. */
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(report_row(&b, &fmt, 1, NULL, "abc\ndef\n", 4), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "     1                                         abc\n");
    sbuf_release(&b);
    /* Wide line numbers push the row right, as '{0:>6}' does. */
    CHECK_EQ_STR(row(&fmt, 1234567, NULL, "x"), "1234567                                         x\n");
}

TEST(rows_append)
{
    report_fmt fmt = {1, 0};
    linestat s = ran(2, 1, 1);
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(report_row(&b, &fmt, 1, &s, "a", 1), ML_OK);
    CHECK_EQ_INT(report_row(&b, &fmt, 2, NULL, "b\n", 2), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "     1      2.0 MiB      1.0 MiB           1   a\n"
                               "     2                                         b\n");
    sbuf_release(&b);
}

/* Column where needle ends in hay (index one past its last character). */
static long end_of(const char *hay, const char *needle, int nth)
{
    const char *p = hay;
    for (int i = 0; p && i <= nth; i++) {
        p = strstr(p, needle);
        if (p && i < nth)
            p += strlen(needle);
    }
    return p ? (long)(p - hay) + (long)strlen(needle) : -1;
}

static long start_of(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? (long)(p - hay) : -1;
}

TEST(heap_columns_header_rule_row)
{
    report_fmt fmt = {1, REPORT_COL_HEAP};
    CHECK_EQ_STR(header(&fmt), "Line #    Mem usage    Increment  Occurrences"
                               "   Heap incr    Heap peak   Line Contents\n");
    char want_rule[128];
    memset(want_rule, '=', 86);
    strcpy(want_rule + 86, "\n");
    CHECK_EQ_STR(rule(&fmt), want_rule);

    linestat s = {0};
    s.occurrences = 7;
    linestat_charge(&s, mib(65.5), mib(19.1), mib(-2.5), mib(38.2));
    CHECK_EQ_STR(row(&fmt, 5, &s, "x = [i] * 500000\n"),
                 "     5     65.5 MiB     19.1 MiB           7     -2.5 MiB     38.2 MiB"
                 "   x = [i] * 500000\n");
    CHECK_EQ_STR(row(&fmt, 6, NULL, "pass\n"),
                 "     6                                  " /* 7 + 63 + 3 columns */
                 "                                 pass\n");
}

TEST(heap_columns_align)
{
    /* Checked by position, for the precisions whose values fit: each extra label ends in
     * the column where its values end, "Line Contents" starts where the
     * source starts, in run and never-run rows alike, and the rule is as
     * long as the header. */
    for (int p = 0; p <= 4; p++) { /* wider values overflow 12 columns */
        report_fmt fmt = {p, REPORT_COL_HEAP};
        char hdr[256], ran_row[512], blank_row[512], rl[256];
        snprintf(hdr, sizeof hdr, "%s", header(&fmt));
        snprintf(rl, sizeof rl, "%s", rule(&fmt));
        linestat s = {0};
        s.occurrences = 1;
        linestat_charge(&s, mib(100), mib(10), mib(1), mib(2));
        snprintf(ran_row, sizeof ran_row, "%s", row(&fmt, 1, &s, "SRC\n"));
        snprintf(blank_row, sizeof blank_row, "%s", row(&fmt, 2, NULL, "SRC\n"));

        CHECK_EQ_INT(end_of(hdr, "Mem usage", 0), end_of(ran_row, "MiB", 0));
        CHECK_EQ_INT(end_of(hdr, "Increment", 0), end_of(ran_row, "MiB", 1));
        CHECK_EQ_INT(end_of(hdr, "Heap incr", 0), end_of(ran_row, "MiB", 2));
        CHECK_EQ_INT(end_of(hdr, "Heap peak", 0), end_of(ran_row, "MiB", 3));
        CHECK_EQ_INT(start_of(hdr, "Line Contents"), start_of(ran_row, "SRC"));
        CHECK_EQ_INT(start_of(blank_row, "SRC"), start_of(ran_row, "SRC"));
        CHECK_EQ_INT(strlen(rl), strlen(hdr));
        CHECK_EQ_INT(strspn(rl, "="), strlen(hdr) - 1);
        /* The extra columns only insert text after Occurrences. */
        report_fmt plain = {p, 0};
        CHECK(strncmp(ran_row, row(&plain, 1, &s, "SRC\n"), 44) == 0);
    }
}

TEST(plain_columns_match_memory_profiler_offsets)
{
    /* memory_profiler's "Occurrences" overflows its width-10 field, so its
     * "Line Contents" starts one column right of the source text; memline
     * keeps that, since it is the format people parse. */
    report_fmt fmt = {1, 0};
    linestat s = ran(1, 1, 1);
    char hdr[256];
    snprintf(hdr, sizeof hdr, "%s", header(&fmt));
    CHECK_EQ_INT(start_of(hdr, "Line Contents"), 48);
    CHECK_EQ_INT(start_of(row(&fmt, 1, &s, "SRC"), "SRC"), 47);
    CHECK_EQ_INT(start_of(row(&fmt, 1, NULL, "SRC"), "SRC"), 47);
    CHECK_EQ_INT(end_of(hdr, "Mem usage", 0), end_of(row(&fmt, 1, &s, "SRC"), "MiB", 0));
    CHECK_EQ_INT(end_of(hdr, "Increment", 0), end_of(row(&fmt, 1, &s, "SRC"), "MiB", 1));
}

/* Fault injection: each report function with the 1st, 2nd, ... allocation
 * failing until it succeeds.  Every failure returns ML_ENOMEM and leaves
 * what was already in the buffer exactly as it was (no half row); the
 * buffer stays usable; success gives the same text as without failures. */
enum { R_FILENAME, R_HEADER, R_RULE, R_MIB, R_ROW, R_ROW_BLANK, R_ROW_NOLF, R_COUNT };

static int call(sbuf *b, int what, const report_fmt *fmt, const linestat *s)
{
    switch (what) {
    case R_FILENAME: return report_filename(b, "some/longish/path/to/a/module_file.py");
    case R_HEADER: return report_header(b, fmt);
    case R_RULE: return report_rule(b, fmt);
    case R_MIB: return report_mib(b, -123456789, fmt->precision);
    case R_ROW: return report_row(b, fmt, 42, s, "        x = [i] * 500000\n", 25);
    case R_ROW_BLANK: return report_row(b, fmt, 42, NULL, "def f():\n", 9);
    default: return report_row(b, fmt, 42, s, "        x = [i] * 500000", 24);
    }
}

TEST(oom_every_function)
{
    static const size_t prefixes[] = {0, 10, 40, 60, 63, 100, 127};
    linestat s = {0};
    s.occurrences = 123456;
    linestat_charge(&s, mib(206.828), mib(-152.59), mib(12.5), mib(99.75));
    int bad_code = 0, bad_text = 0, never_failed = 0, not_done = 0;
    for (unsigned cols = 0; cols <= REPORT_COL_HEAP; cols++) {
        for (int p = 1; p <= 4; p += 3) {
            report_fmt fmt = {p, cols};
            for (int what = 0; what < R_COUNT; what++) {
                sbuf want = SBUF_INIT;
                CHECK_EQ_INT(call(&want, what, &fmt, &s), ML_OK);
                for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
                    sbuf b = SBUF_INIT;
                    char before[200];
                    memset(before, 'p', prefixes[k]);
                    before[prefixes[k]] = '\0';
                    if (prefixes[k] > 0) /* 0: no storage at all */
                        CHECK_EQ_INT(sbuf_puts(&b, before), ML_OK);
                    int rc = ML_ENOMEM, failures = 0;
                    for (long n = 1; n < 50 && rc != ML_OK; n++) {
                        ml_alloc_fail_nth(n);
                        rc = call(&b, what, &fmt, &s);
                        ml_alloc_fail_nth(0);
                        if (rc != ML_OK) {
                            failures++;
                            bad_code += rc != ML_ENOMEM;
                            if (strcmp(sbuf_str(&b), before) != 0 || b.len != prefixes[k]) {
                                if (!bad_text)
                                    fprintf(stderr, "  what=%d cols=%u p=%d prefix=%zu n=%ld "
                                                    "left \"%s\"\n",
                                            what, cols, p, prefixes[k], n,
                                            sbuf_str(&b) + prefixes[k]);
                                bad_text++;
                            }
                        }
                    }
                    not_done += rc != ML_OK;
                    never_failed += failures == 0 && prefixes[k] == 0;
                    /* The same text as without failures, and still usable. */
                    CHECK(strncmp(sbuf_str(&b), before, prefixes[k]) == 0);
                    CHECK_EQ_STR(sbuf_str(&b) + prefixes[k], sbuf_str(&want));
                    CHECK_EQ_INT(sbuf_puts(&b, "."), ML_OK);
                    sbuf_release(&b);
                }
                sbuf_release(&want);
            }
        }
    }
    CHECK_EQ_INT(bad_code, 0);
    CHECK_EQ_INT(bad_text, 0);
    CHECK_EQ_INT(not_done, 0);
    CHECK_EQ_INT(never_failed, 0); /* every function allocates into an empty buffer */
}

int main(void)
{
    RUN(filename_line);
    RUN(header_and_rule_as_memory_profiler);
    RUN(rows_precision_3_seed_big);
    RUN(rows_precision_3_seed_gen);
    RUN(rows_precision_1_loop5);
    RUN(rows_precision_4_and_extremes);
    RUN(mib_values);
    RUN(never_run_rows);
    RUN(source_newlines);
    RUN(rows_append);
    RUN(heap_columns_header_rule_row);
    RUN(heap_columns_align);
    RUN(plain_columns_match_memory_profiler_offsets);
    RUN(oom_every_function);
    return CTEST_END();
}
