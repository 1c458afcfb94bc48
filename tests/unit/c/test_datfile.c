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
                       "MEM 5.0 104.0";         /* no final newline */
    datfile *df = parse(text);
    CHECK_EQ_INT(df->n_mem, 4);
    CHECK_EQ_INT(df->n_malformed, 8);
    CHECK_EQ_INT(df->first_malformed, 3);
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
    return CTEST_END();
}
