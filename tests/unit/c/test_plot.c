/* test_plot: the SVG and HTML documents: what they draw (axes with units,
 * curves, calls, the maximum, legend), that every file string comes out
 * escaped, options (window, flame, slope, several files), errors, and the
 * out-of-memory contract. */
#include "ctest.h"

#include "core/datfile.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/plot.h"
#include "core/sbuf.h"

#include <string.h>

static const char dat[] =
    "CMDLINE python3 evil.py <script>alert(1)</script>\n"
    "MEM 1.0 1000.0\n"
    "MEM 30.0 1000.1\n"
    "MEM 84.5 1000.8\n"
    "MEM 10.0 1001.0\n"
    "CHLD 77 5.0 1000.1\n"
    "CHLD 77 6.0 1000.5\n"
    "FUNC __main__.<script>x</script> 30.0 1000.1 84.5 1000.8 0\n"
    "FUNC __main__.inner 30.0 1000.2 40.0 1000.4 1\n";

static datfile *load(const char *text)
{
    datfile *df = NULL;
    CHECK_EQ_INT(datfile_parse(text, strlen(text), &df), ML_OK);
    return df;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static int render(const datfile *df, const plot_opts *o, sbuf *out)
{
    const datfile *files[] = {df};
    const char *names[] = {"a.dat"};
    return plot_render(files, names, 1, o, out);
}

TEST(svg_draws_everything)
{
    datfile *df = load(dat);
    sbuf b = SBUF_INIT;
    plot_opts o = {0};
    CHECK_EQ_INT(render(df, &o, &b), ML_OK);
    const char *s = sbuf_str(&b);
    CHECK(strncmp(s, "<?xml", 5) == 0);
    CHECK(strstr(s, "time (in seconds)") != NULL);
    CHECK(strstr(s, "memory used (in MiB)") != NULL);
    CHECK_EQ_INT(count(s, "<polyline class=\"curve main\""), 1);
    CHECK_EQ_INT(count(s, "<polyline class=\"curve child\""), 1);
    CHECK(strstr(s, "child 77") != NULL);
    CHECK_EQ_INT(count(s, "<g class=\"call\">"), 2);
    CHECK(strstr(s, "inner 0.200s") != NULL);
    CHECK(strstr(s, "max 84.500 MiB at 0.800 s") != NULL);
    CHECK(strstr(s, "</svg>") != NULL);
    datfile_free(df);
    sbuf_release(&b);
}

TEST(strings_escaped)
{
    datfile *df = load(dat);
    sbuf b = SBUF_INIT;
    plot_opts o = {0};
    CHECK_EQ_INT(render(df, &o, &b), ML_OK);
    CHECK(strstr(sbuf_str(&b), "<script") == NULL);
    CHECK(strstr(sbuf_str(&b), "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(sbuf_str(&b), "&lt;script&gt;x&lt;/script&gt;") != NULL);
    sbuf_clear(&b);
    o.html = 1;
    CHECK_EQ_INT(render(df, &o, &b), ML_OK);
    const char *s = sbuf_str(&b);
    CHECK(strncmp(s, "<!DOCTYPE html>", 15) == 0);
    CHECK_EQ_INT(count(s, "<script"), 2); /* ours: the data and the code */
    CHECK_EQ_INT(count(s, "</script>"), 2);
    CHECK(strstr(s, "\\u003cscript\\u003ex\\u003c/script\\u003e") != NULL);
    CHECK(strstr(s, "<title>python3 evil.py &lt;script&gt;") != NULL);
    datfile_free(df);
    sbuf_release(&b);
}

TEST(bad_utf8_repaired)
{
    datfile *df = load("CMDLINE caf\xc3\xa9 \xff\xfe\nMEM 1 1\n");
    sbuf b = SBUF_INIT;
    plot_opts o = {0};
    CHECK_EQ_INT(render(df, &o, &b), ML_OK);
    CHECK(strstr(sbuf_str(&b), "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd") != NULL);
    CHECK(strchr(sbuf_str(&b), '\xff') == NULL);
    datfile_free(df);
    sbuf_release(&b);
}

TEST(options)
{
    datfile *df = load(dat);
    sbuf b = SBUF_INIT;
    plot_opts o = {0};
    o.no_funcs = 1;
    o.title = "My & title";
    CHECK_EQ_INT(render(df, &o, &b), ML_OK);
    CHECK_EQ_INT(count(sbuf_str(&b), "<g class=\"call\">"), 0);
    CHECK(strstr(sbuf_str(&b), "My &amp; title") != NULL);
    sbuf_clear(&b);
    plot_opts f = {0};
    f.flame = 1;
    f.slope = 1;
    CHECK_EQ_INT(render(df, &f, &b), ML_OK);
    CHECK(strstr(sbuf_str(&b), ">calls</text>") != NULL);
    CHECK(strstr(sbuf_str(&b), "MiB/s") != NULL);
    CHECK(strstr(sbuf_str(&b), "class=\"trend\"") != NULL);
    sbuf_clear(&b);
    plot_opts w = {0};
    w.have_window = 1;
    w.win_lo = 0.5;
    w.win_hi = 0.25;
    CHECK_EQ_INT(render(df, &w, &b), ML_EINVAL);
    CHECK_EQ_INT(b.len, 0);
    w.win_hi = 1.0;
    CHECK_EQ_INT(render(df, &w, &b), ML_OK);
    CHECK(strstr(sbuf_str(&b), ">0.5</text>") != NULL);
    datfile_free(df);
    sbuf_release(&b);
}

TEST(several_files)
{
    datfile *a = load(dat), *c = load("MEM 2 50\nMEM 3 51\n");
    const datfile *files[] = {a, c};
    const char *names[] = {"first.dat", "<b>second.dat"};
    sbuf b = SBUF_INIT;
    plot_opts o = {0};
    CHECK_EQ_INT(plot_render(files, names, 2, &o, &b), ML_OK);
    CHECK_EQ_INT(count(sbuf_str(&b), "<polyline class=\"curve main\""), 2);
    CHECK(strstr(sbuf_str(&b), "&lt;b&gt;second.dat") != NULL);
    CHECK_EQ_INT(count(sbuf_str(&b), "<g class=\"call\">"), 0); /* as mprof: none */
    datfile_free(a);
    datfile_free(c);
    sbuf_release(&b);
}

TEST(errors)
{
    datfile *df = load("CMDLINE x\n");
    sbuf b = SBUF_INIT;
    plot_opts o = {0};
    CHECK_EQ_INT(render(df, &o, &b), ML_EINVAL);
    CHECK_EQ_INT(plot_render(NULL, NULL, 0, &o, &b), ML_EINVAL);
    datfile_free(df);
    sbuf_release(&b);
}

TEST(long_curve_decimated)
{
    sbuf text = SBUF_INIT;
    for (int i = 0; i < 50000; i++)
        sbuf_printf(&text, "MEM %d.0 %d.%03d\n", i == 31337 ? 999 : i % 100, 1000 + i / 1000,
                    i % 1000);
    datfile *df = NULL;
    CHECK_EQ_INT(datfile_parse(text.data, text.len, &df), ML_OK);
    sbuf b = SBUF_INIT;
    plot_opts o = {0};
    CHECK_EQ_INT(render(df, &o, &b), ML_OK);
    CHECK(b.len < 200000);
    CHECK(strstr(sbuf_str(&b), "max 999.000 MiB") != NULL);
    datfile_free(df);
    sbuf_release(&b);
    sbuf_release(&text);
}

TEST(out_of_memory)
{
    datfile *df = load(dat);
    int ok = 0;
    for (long n = 1; n < 400 && !ok; n++) {
        sbuf b = SBUF_INIT;
        plot_opts o = {0};
        o.html = n % 2;
        ml_alloc_fail_nth(n);
        int rc = render(df, &o, &b);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || (rc == ML_ENOMEM && b.len == 0));
        ok = rc == ML_OK && o.html == 0;
        sbuf_release(&b);
    }
    CHECK(ok);
    datfile_free(df);
}

int main(void)
{
    RUN(svg_draws_everything);
    RUN(strings_escaped);
    RUN(bad_utf8_repaired);
    RUN(options);
    RUN(several_files);
    RUN(errors);
    RUN(long_curve_decimated);
    RUN(out_of_memory);
    return CTEST_END();
}
