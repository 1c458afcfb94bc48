/* test_datfile: the .dat parser and writers against mprof's real format
 * (lines from memory_profiler 0.61's reference files), its leniency
 * (malformed lines counted, never fatal), peaks as mprof computes them,
 * round trips, and the out-of-memory contract (the Nth allocation fails:
 * ML_ENOMEM, *out NULL, nothing leaked). */
#include "ctest.h"

#include "core/datfile.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/sbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The head of the reference small.mprof.dat: FUNC lines first, as mprof's
 * buffered writes leave them. */
static const char small_dat[] =
    "FUNC __main__.alloc 46.3477 1795520860.2389 46.3477 1795520860.5439 1\n"
    "FUNC __main__.alloc 46.3477 1795520860.7444 46.3477 1795520861.0691 1\n"
    "FUNC __main__.outer 46.3438 1795520860.2388 46.3477 1795520861.0692 0\n"
    "CMDLINE /usr/bin/python3 small.py\n"
    "MEM 0.218750 1795520860.0365\n"
    "MEM 31.914062 1795520860.1369\n"
    "MEM 53.980469 1795520860.3375\n"
    "MEM 46.347656 1795520860.6387\n"
    "MEM 84.496094 1795520860.8396\n"
    "MEM 84.496094 1795520861.0404\n";

static const char pool_dat[] =
    "CMDLINE /usr/bin/python3 pool.py\n"
    "MEM 0.089844 1795520869.9312\n"
    "MEM 87.750000 1795520870.0342\n"
    "CHLD 31133 26.078125 1795520870.0352\n"
    "CHLD 31134 48.964844 1795520870.0352\n"
    "MEM 87.750000 1795520870.1369\n"
    "CHLD 31133 26.078125 1795520870.1379\n"
    "CHLD 31134 48.964844 1795520870.1379\n";

static datfile *parse(const char *text)
{
    datfile *df = NULL;
    int rc = datfile_parse(text, strlen(text), &df);
    CHECK_EQ_INT(rc, ML_OK);
    return df;
}

TEST(parses_reference_small)
{
    datfile *df = parse(small_dat);
    if (!df)
        return;
    CHECK_EQ_STR(df->cmdline, "/usr/bin/python3 small.py");
    CHECK_EQ_INT(df->n_mem, 6);
    CHECK_EQ_INT(df->n_func, 3);
    CHECK_EQ_INT(df->n_names, 2);
    CHECK_EQ_STR(df->names[0], "__main__.alloc");
    CHECK_EQ_STR(df->names[1], "__main__.outer");
    CHECK_EQ_INT(df->func[2].name, 1);
    CHECK_EQ_INT(df->func[0].depth, 1);
    CHECK_EQ_INT(df->func[2].depth, 0);
    CHECK(fabs(df->mem[1].mib - 31.914062) < 1e-9);
    CHECK(fabs(df->mem[1].t - 1795520860.1369) < 1e-6);
    CHECK_EQ_INT(df->n_malformed, 0);
    CHECK_EQ_INT(df->first_malformed, 0);
    datfile_free(df);
}

TEST(peaks_as_mprof)
{
    datfile *df = parse(small_dat);
    double mib = 0;
    char buf[32];
    CHECK_EQ_INT(datfile_peak(df, NULL, &mib), ML_OK);
    snprintf(buf, sizeof buf, "%.3f", mib);
    CHECK_EQ_STR(buf, "84.496");
    /* --func: only MEM readings taken while alloc ran (0.3375 and 0.8396 ... 1.0404) */
    CHECK_EQ_INT(datfile_peak(df, "__main__.alloc", &mib), ML_OK);
    snprintf(buf, sizeof buf, "%.3f", mib);
    CHECK_EQ_STR(buf, "84.496");
    CHECK_EQ_INT(datfile_peak(df, "nope", &mib), ML_ENOENT);
    datfile_free(df);

    df = parse("FUNC m.f 1 10 1 11 0\nMEM 5 9\nMEM 7 10.5\nMEM 9 12\n");
    CHECK_EQ_INT(datfile_peak(df, "m.f", &mib), ML_OK);
    CHECK(mib == 7);
    datfile_free(df);

    df = parse("FUNC m.f 1 10 1 11 0\nMEM 9 12\n");
    CHECK_EQ_INT(datfile_peak(df, "m.f", &mib), ML_ENOENT); /* called, but no reading inside */
    datfile_free(df);
}

TEST(children_in_order)
{
    datfile *df = parse(pool_dat);
    CHECK_EQ_INT(df->n_chld, 2);
    CHECK_EQ_INT(df->chld[0].pid, 31133);
    CHECK_EQ_INT(df->chld[1].pid, 31134);
    CHECK_EQ_INT(df->chld[1].nsamples, 2);
    char buf[32];
    snprintf(buf, sizeof buf, "%.3f", datfile_child_peak(&df->chld[1]));
    CHECK_EQ_STR(buf, "48.965");
    datfile_free(df);
}

TEST(malformed_lines_counted)
{
    const char *text = "CMDLINE x\n"
                       "MEM 1.0 100.0\n"
                       "MEM abc 101\n"          /* 3: bad number */
                       "MEM 2.0\n"              /* 4: missing field */
                       "garbage\n"              /* 5: no keyword */
                       "\n"                     /* blank: ignored */
                       "FUTURE 1 2 3\n"         /* unknown keyword: ignored */
                       "lower case line\n"      /* 8: not a keyword */
                       "MEM nan 1\n"            /* 9: not finite */
                       "CHLD x 1 2\n"           /* 10: bad pid */
                       "FUNC f 1 2 3\n"         /* 11: too few */
                       "FUNC f 1 2 3 4 -1\n"    /* 12: negative depth */
                       "MEM 3.0 102.0 extra\n"  /* extra fields ignored */
                       "MEM 4.0 103.0\r\n"      /* CRLF */
                       "MEM 5.0 104.0\n";
    datfile *df = parse(text);
    CHECK_EQ_INT(df->n_mem, 4);
    CHECK_EQ_INT(df->n_malformed, 8);
    CHECK_EQ_INT(df->first_malformed, 3);
    CHECK_EQ_INT(df->torn_line, 0);
    CHECK(df->mem[3].mib == 5.0);
    datfile_free(df);
}

TEST(embedded_nul_is_malformed)
{
    const char text[] = "MEM 1 2\nMEM 3\0 4\nMEM 5 6\n";
    datfile *df = NULL;
    CHECK_EQ_INT(datfile_parse(text, sizeof text - 1, &df), ML_OK);
    CHECK_EQ_INT(df->n_mem, 2);
    CHECK_EQ_INT(df->n_malformed, 1);
    CHECK_EQ_INT(df->first_malformed, 2);
    datfile_free(df);
}

TEST(empty_and_cmdline_only)
{
    datfile *df = NULL;
    CHECK_EQ_INT(datfile_parse("", 0, &df), ML_OK);
    CHECK_EQ_INT(df->n_mem, 0);
    CHECK(df->cmdline == NULL);
    double mib;
    CHECK_EQ_INT(datfile_peak(df, NULL, &mib), ML_ENOENT);
    datfile_free(df);
    df = parse("CMDLINE a\nCMDLINE b c\n");
    CHECK_EQ_STR(df->cmdline, "b c"); /* the last wins, as in mprof */
    datfile_free(df);
    datfile_free(NULL);
}

TEST(writers_format_as_mprof)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(datfile_put_mem(&b, 88600576, 1795520860.83961), ML_OK);
    CHECK_EQ_INT(datfile_put_chld(&b, 42, 1048576, 12.5), ML_OK);
    datfile_func f = {0, 46.34771, 1795520860.2389, 46.3477, 1795520860.5439, 1};
    CHECK_EQ_INT(datfile_put_func(&b, "__main__.alloc", &f), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "MEM 84.496094 1795520860.8396\n"
                               "CHLD 42 1.000000 12.5000\n"
                               "FUNC __main__.alloc 46.3477 1795520860.2389 46.3477 "
                               "1795520860.5439 1\n");
    sbuf_clear(&b);
    char *argv[] = {"python3", "my script.py", "a\nb", "<script>"};
    CHECK_EQ_INT(datfile_put_cmdline(&b, argv, 4), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "CMDLINE python3 'my script.py' a b <script>\n");
    sbuf_clear(&b);
    CHECK_EQ_INT(datfile_put_cmdline_text(&b, "x\ry"), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "CMDLINE x y\n");
    sbuf_release(&b);
}

TEST(round_trip)
{
    datfile *df = parse(small_dat), *again = NULL;
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(datfile_write(df, &b), ML_OK);
    CHECK_EQ_INT(datfile_parse(b.data, b.len, &again), ML_OK);
    CHECK_EQ_STR(again->cmdline, df->cmdline);
    CHECK_EQ_INT(again->n_mem, df->n_mem);
    CHECK_EQ_INT(again->n_func, df->n_func);
    for (size_t i = 0; i < df->n_mem; i++)
        CHECK(fabs(again->mem[i].mib - df->mem[i].mib) < 1e-6);
    CHECK_EQ_INT(again->n_malformed, 0);
    datfile_free(again);
    datfile_free(df);
    sbuf_release(&b);
}

TEST(load_errors)
{
    datfile *df = (datfile *)1;
    CHECK_EQ_INT(datfile_load("/nonexistent/x.dat", &df), ML_ENOENT);
    CHECK(df == NULL);
    CHECK_EQ_INT(datfile_load("/", &df), ML_EINVAL);
    char path[] = "/tmp/memline-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, pool_dat, strlen(pool_dat)) == (ssize_t)strlen(pool_dat));
    close(fd);
    CHECK_EQ_INT(datfile_load(path, &df), ML_OK);
    CHECK_EQ_INT(df ? df->n_mem : 0, 3);
    datfile_free(df);
    unlink(path);
}

/* Every allocation the parse makes, failed in turn: ML_ENOMEM and no
 * result, or (past the last) success with the full result. */
TEST(parse_out_of_memory)
{
    int succeeded = 0;
    for (long n = 1; n < 200 && !succeeded; n++) {
        datfile *df = (datfile *)1;
        ml_alloc_fail_nth(n);
        int rc = datfile_parse(pool_dat, strlen(pool_dat), &df);
        ml_alloc_fail_nth(0);
        if (rc == ML_OK) {
            succeeded = 1;
            CHECK_EQ_INT(df->n_mem, 3);
            CHECK_EQ_INT(df->n_chld, 2);
        } else {
            CHECK_EQ_INT(rc, ML_ENOMEM);
            CHECK(df == NULL);
        }
        datfile_free(rc == ML_OK ? df : NULL);
    }
    CHECK(succeeded);
    for (long n = 1; n < 200; n++) {
        datfile *df = NULL;
        ml_alloc_fail_nth(n);
        int rc = datfile_parse(small_dat, strlen(small_dat), &df);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || (rc == ML_ENOMEM && df == NULL));
        datfile_free(df);
    }
}

TEST(writers_out_of_memory)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_puts(&b, "keep"), ML_OK);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *argv[] = {big};
    ml_alloc_fail_nth(1);
    int rc = datfile_put_cmdline(&b, argv, 1);
    ml_alloc_fail_nth(0);
    CHECK_EQ_INT(rc, ML_ENOMEM);
    CHECK_EQ_STR(sbuf_str(&b), "keep");
    sbuf_release(&b);
}

/* A record cut off mid-write (no newline) is dropped, never read as the
 * shorter number it now looks like. */
TEST(torn_last_line_dropped)
{
    datfile *df = parse("CMDLINE x\nMEM 1.0 100.0\nMEM 2.0 100.1\nMEM 3.5 17");
    CHECK_EQ_INT(df->n_mem, 2);
    CHECK_EQ_INT(df->torn_line, 4);
    CHECK_EQ_INT(df->n_malformed, 0);
    datfile_free(df);
    df = parse("MEM 1.0 100.0\n");
    CHECK_EQ_INT(df->torn_line, 0);
    datfile_free(df);
    df = parse("MEM 1.0 100.0\nFUNC m.f 1 2");
    CHECK_EQ_INT(df->n_func, 0);
    CHECK_EQ_INT(df->torn_line, 2);
    datfile_free(df);
}

/* Names and command lines are data: whatever they hold, the writers give
 * one record that reads back as itself (issue: a function name with a
 * newline wrote its own MEM and CMDLINE records). */
TEST(hostile_names_stay_data)
{
    sbuf b = SBUF_INIT;
    datfile_func f = {0, 1.0, 100.0, 2.0, 101.0, 0};
    static const char evil[] = "m.f\nMEM 99999 100.5\nCMDLINE pwned\x00 a b\tc\xff\xc3(\x7f";
    CHECK_EQ_INT(datfile_put_func_n(&b, evil, sizeof evil - 1, &f), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "FUNC m.f_MEM_99999_100.5_CMDLINE_pwned__a_b_c\xef\xbf\xbd"
                               "\xef\xbf\xbd(_ 1.0000 100.0000 2.0000 101.0000 0\n");
    CHECK_EQ_INT(datfile_put_func(&b, "", &f), ML_OK);
    CHECK_EQ_INT(datfile_put_mem(&b, 1 << 20, 100.2), ML_OK);
    char *argv[] = {"prog", "x\ny", "\xff", "MEM 5 5"};
    CHECK_EQ_INT(datfile_put_cmdline(&b, argv, 4), ML_OK);
    datfile *df = NULL;
    CHECK_EQ_INT(datfile_parse(b.data, b.len, &df), ML_OK);
    CHECK_EQ_INT(df->n_malformed, 0);
    CHECK_EQ_INT(df->n_mem, 1);
    CHECK_EQ_INT(df->n_func, 2);
    CHECK_EQ_INT(df->n_names, 2);
    CHECK_EQ_STR(df->names[0], "m.f_MEM_99999_100.5_CMDLINE_pwned__a_b_c\xef\xbf\xbd"
                               "\xef\xbf\xbd(_");
    CHECK_EQ_STR(df->names[1], "_");
    CHECK_EQ_STR(df->cmdline, "prog x y \xef\xbf\xbd 'MEM 5 5'");
    double mib;
    CHECK_EQ_INT(datfile_peak(df, NULL, &mib), ML_OK);
    CHECK(mib == 1.0);
    datfile_free(df);
    sbuf_release(&b);
}

/* Many distinct names and children: every lookup finds its own, through
 * the index's growth (the reader is linear; it was quadratic). */
TEST(many_names_and_children)
{
    enum { N = 50000 };
    sbuf b = SBUF_INIT;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "mod.f%d", i);
        datfile_func f = {0, 1.0, 10.0 + i, 2.0, 10.5 + i, 0};
        CHECK_EQ_INT(datfile_put_func(&b, name, &f), ML_OK);
        CHECK_EQ_INT(datfile_put_chld(&b, 1000 + i % 5000, 1 << 20, 10.0 + i), ML_OK);
        CHECK_EQ_INT(datfile_put_mem(&b, (int64_t)(i + 1) << 10, 10.25 + i), ML_OK);
    }
    /* a second call of every tenth function */
    for (int i = 0; i < N; i += 10) {
        char name[32];
        snprintf(name, sizeof name, "mod.f%d", i);
        datfile_func f = {0, 1.0, 10.0 + i, 2.0, 10.5 + i, 1};
        CHECK_EQ_INT(datfile_put_func(&b, name, &f), ML_OK);
    }
    datfile *df = NULL;
    CHECK_EQ_INT(datfile_parse(b.data, b.len, &df), ML_OK);
    CHECK_EQ_INT(df->n_names, N);
    CHECK_EQ_INT(df->n_func, N + N / 10);
    CHECK_EQ_INT(df->n_chld, 5000);
    for (int i = 0; i < N; i += 997) {
        char name[32];
        snprintf(name, sizeof name, "mod.f%d", i);
        CHECK_EQ_INT(datfile_find_name(df, name), i);
    }
    CHECK_EQ_INT(datfile_find_name(df, "mod.f-1"), -1);
    for (size_t c = 0; c < df->n_chld; c++)
        CHECK_EQ_INT(df->chld[c].pid, 1000 + (long)c);
    CHECK_EQ_INT(df->chld[7].nsamples, N / 5000);
    double mib;
    CHECK_EQ_INT(datfile_peak(df, "mod.f123", &mib), ML_OK);
    CHECK(fabs(mib - 124.0 / 1024) < 1e-6);
    datfile_free(df);
    sbuf_release(&b);
}

/* peak --func over calls given in any order, overlapping (recursion) or
 * nested: the readings inside any of them, ends included. */
TEST(peak_func_spans)
{
    datfile *df = parse("FUNC m.f 1 30 1 40 0\n"
                        "FUNC m.g 1 5 1 100 0\n"
                        "FUNC m.f 1 10 1 20 0\n"
                        "FUNC m.f 1 12 1 15 1\n"
                        "FUNC m.f 1 39 1 45 1\n"
                        "FUNC m.f 1 60 1 50 0\n" /* ends before it starts: no span */
                        "MEM 50 9.9\nMEM 7 10\nMEM 8 20\nMEM 60 25\nMEM 9 45\nMEM 70 46\n"
                        "MEM 80 55\n");
    double mib;
    CHECK_EQ_INT(datfile_peak(df, "m.f", &mib), ML_OK);
    CHECK(mib == 9);
    CHECK_EQ_INT(datfile_peak(df, "m.g", &mib), ML_OK);
    CHECK(mib == 80);
    datfile_free(df);
}

int main(void)
{
    RUN(parses_reference_small);
    RUN(peaks_as_mprof);
    RUN(children_in_order);
    RUN(malformed_lines_counted);
    RUN(embedded_nul_is_malformed);
    RUN(empty_and_cmdline_only);
    RUN(writers_format_as_mprof);
    RUN(round_trip);
    RUN(load_errors);
    RUN(parse_out_of_memory);
    RUN(writers_out_of_memory);
    RUN(torn_last_line_dropped);
    RUN(hostile_names_stay_data);
    RUN(many_names_and_children);
    RUN(peak_func_spans);
    return CTEST_END();
}
