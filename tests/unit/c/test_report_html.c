/* test_report_html: the HTML line report's markup: bars scaled to the
 * largest figure, the worst lines marked, the summary ordered by peak, the
 * native columns only when there is something in them, no heap columns
 * when the run had none, the process counts and incomplete tables, the
 * fragment form, escaping of everything from
 * the program, and out-of-memory at every allocation. */
#include "ctest.h"

#include "core/escape.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/report_html.h"

static linetab *tab;
static repfunc funcs[2];
static const char *const src_a[] = {"@profile", "def a():", "    x = [0] * n", "    return 1"};
static const char *const src_b[] = {"def <b>(\"x\"):", "    y = '</style>' & \x01\x1b"};
static const char *const argv1[] = {"run", "<script>alert(1)</script>", "it's"};

static void ran(linefunc *fn, int row, int64_t incr, int64_t peak)
{
    fn->rows[row].occurrences = 1;
    linestat_charge(&fn->rows[row], 100 << 20, incr, incr, peak);
}

static repview setup(int heap)
{
    linetab_free(tab);
    tab = linetab_new();
    linefunc *a, *b;
    linetab_add(tab, "/src/a.py", "a", 1, 4, &a);
    linetab_add(tab, "/src/<i>\"q\".py", "<img src=x onerror=alert(1)>", 7, 2, &b);
    ran(a, 0, 0, 0);
    ran(a, 2, 1 << 20, 4 << 20);   /* the largest peak: full bars */
    ran(a, 3, -(1 << 19), 1 << 19); /* over a tenth of the largest: marked too */
    ran(b, 0, 0, 0);
    ran(b, 1, 2 << 20, 8 << 20);   /* b's peak is larger: b is first in the summary */
    funcs[0] = (repfunc){a, src_a};
    funcs[1] = (repfunc){b, src_b};
    repview v = {{"0.2.0", "3.11.7", "rss", "2026-12-01T10:30:51Z", argv1, 3, 1, 0, heap},
                 funcs, 2};
    return v;
}

static const char *render(const repview *v, int fragment, const char *prefix)
{
    static sbuf b = SBUF_INIT;
    sbuf_clear(&b);
    report_html_opts o = {3, fragment, prefix};
    CHECK_EQ_INT(report_html(&b, v, &o), ML_OK);
    return sbuf_str(&b);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

TEST(bars_marks_and_summary)
{
    repview v = setup(1);
    const char *page = render(&v, 0, NULL);
    CHECK(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    CHECK_EQ_INT(count(page, "<script"), 1);
    /* Bars are scaled to the report's largest Heap peak (b's 8 MiB) and
     * largest |Increment| (2 MiB). */
    CHECK(strstr(page, "<td class=\"mlr-bar\" data-v=\"4194304\"><span class=\"mlr-track\">"
                       "<span class=\"mlr-fill mlr-peak\" style=\"width:50.0%\"></span></span>"
                       "<span class=\"mlr-v\">4.000</span></td>") != NULL);
    CHECK(strstr(page, "<span class=\"mlr-fill mlr-incr mlr-neg\" style=\"width:25.0%\">") !=
          NULL);
    /* In a: line 3 (4 MiB) and line 4 (0.5 MiB, over a tenth of 4) are
     * marked; line 1 (0) is not. */
    CHECK(strstr(page, "<tr id=\"mlr-f1-l3\" class=\"mlr-worst\"") != NULL);
    CHECK(strstr(page, "<tr id=\"mlr-f1-l4\" class=\"mlr-worst\"") != NULL);
    CHECK(strstr(page, "<tr id=\"mlr-f1-l1\" data-tip") != NULL);
    CHECK(strstr(page, "<tr id=\"mlr-f1-l2\" class=\"mlr-idle\"><td data-v=\"2\">2</td>") != NULL);
    /* The summary lists b first (8 MiB at line 8), then a. */
    const char *sb = strstr(page, "<a href=\"#mlr-f2\">"), *sa = strstr(page, "<a href=\"#mlr-f1\">");
    CHECK(sb && sa && sb < sa);
    CHECK(strstr(page, "<a href=\"#mlr-f2-l8\">8</a>") != NULL);
    /* The tooltip carries every figure, one per line. */
    CHECK(strstr(page, "data-tip=\"Line 3:     x = [0] * n&#10;Mem usage    100.000 MiB "
                       "(104857600 bytes)&#10;Increment    +1.000 MiB (1048576 bytes)&#10;"
                       "Occurrences  1&#10;Heap incr    +1.000 MiB (1048576 bytes)&#10;"
                       "Heap peak    4.000 MiB (4194304 bytes)\"") != NULL);
    /* No native column while every native figure is 0. */
    CHECK(strstr(page, "Native") == NULL);
    funcs[0].fn->rows[2].native_peak = 4096;
    page = render(&v, 0, NULL);
    CHECK(strstr(page, "<th data-sort=\"num\">Native peak (MiB)</th>") != NULL);
    CHECK(strstr(page, "Native peak  0.004 MiB (4096 bytes)") != NULL);
}

TEST(everything_from_the_program_is_escaped)
{
    repview v = setup(1);
    const char *page = render(&v, 0, NULL);
    CHECK(strstr(page, "<img") == NULL && strstr(page, "<b>") == NULL &&
          strstr(page, "alert(1)</script>") == NULL && strstr(page, "</style>'") == NULL);
    CHECK(strstr(page, "&lt;img src=x onerror=alert(1)&gt;") != NULL);
    CHECK(strstr(page, "/src/&lt;i&gt;&quot;q&quot;.py") != NULL);
    /* Source text as written, control characters as Control Pictures. */
    CHECK(strstr(page, "<td class=\"mlr-src\">    y = &#39;&lt;/style&gt;&#39; &amp; "
                       "\xe2\x90\x81\xe2\x90\x9b</td>") != NULL);
    CHECK(strstr(page, "def &lt;b&gt;(&quot;x&quot;):") != NULL);
    /* The command line, quoted as a shell would need it. */
    CHECK(strstr(page, "<code>run &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; "
                       "&#39;it&#39;\\&#39;&#39;s&#39;</code>") != NULL);
}

TEST(without_heap_columns)
{
    repview v = setup(0);
    const char *page = render(&v, 0, NULL);
    CHECK(strstr(page, "Heap peak (MiB)") == NULL && strstr(page, "Heap incr") == NULL);
    CHECK(strstr(page, "<h2>Functions by Mem usage</h2>") != NULL);
    CHECK(strstr(page, "no heap columns") != NULL);
    /* Marked by Increment: a's line 3 (+1 MiB); line 4 gave memory back. */
    CHECK(strstr(page, "<tr id=\"mlr-f1-l3\" class=\"mlr-worst\"") != NULL);
    CHECK(strstr(page, "<tr id=\"mlr-f1-l4\" data-tip") != NULL);
}

TEST(processes_and_incomplete_tables_are_said)
{
    repview v = setup(1);
    const char *page = render(&v, 0, NULL);
    /* one process, nothing lost: nothing more than before */
    CHECK(strstr(page, "Processes") == NULL && strstr(page, "mlr-warn\"") == NULL);
    v.meta.processes = 3;
    v.meta.processes_lost = 1;
    v.meta.processes_running = 2;
    linetab_get(tab, 0)->processes = 2;
    linetab_get(tab, 1)->incomplete = 1;
    page = render(&v, 0, NULL);
    CHECK(strstr(page, " &middot; profiled code ran in 3 processes</p>") != NULL);
    CHECK(strstr(page, "<p class=\"mlr-warn\">Processes lost: 1 (ended before sending their "
                       "tables; killed by a signal?)</p>") != NULL);
    CHECK(strstr(page, "<p class=\"mlr-warn\">Processes still running at the report: 2 "
                       "(their tables are not in it)</p>") != NULL);
    /* under each function's heading: a ran in 2 of 3, b (never merged) in 1 */
    CHECK(strstr(page, "line 1</span></h2>\n<p class=\"mlr-meta\">Processes: 2 of 3</p>") !=
          NULL);
    CHECK(strstr(page, "line 7</span></h2>\n<p class=\"mlr-warn\">incomplete: some calls "
                       "lost their events to another tool; the table below lacks lines</p>\n"
                       "<p class=\"mlr-meta\">Processes: 1 of 3</p>") != NULL);
}

TEST(fragment_and_prefix)
{
    repview v = setup(1);
    const char *frag = render(&v, 1, "mlr7");
    CHECK(strncmp(frag, "<div class=\"mlr\" data-precision=\"3\">\n<style>", 44) == 0);
    CHECK(strstr(frag, "<html") == NULL && strstr(frag, "<body") == NULL);
    CHECK(strstr(frag, "id=\"mlr7-f1-l3\"") != NULL && strstr(frag, "href=\"#mlr7-f2\"") != NULL);
    CHECK(strstr(frag, "id=\"mlr-f") == NULL);
    sbuf b = SBUF_INIT;
    report_html_opts bad = {3, 1, "x\" onload=\""};
    CHECK_EQ_INT(report_html(&b, &v, &bad), ML_EINVAL);
    bad.id_prefix = "";
    CHECK_EQ_INT(report_html(&b, &v, &bad), ML_EINVAL);
    CHECK_EQ_INT(b.len, 0);
    repview none = v;
    none.nfuncs = 0;
    CHECK(strstr(render(&none, 0, NULL), "No profiled function ran.") != NULL);
    sbuf_release(&b);
}

TEST(escape_html_text)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(escape_html(&b, "a\tb<&>\"'\x01\x1f\x7f\xff"), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), "a\tb&lt;&amp;&gt;&quot;&#39;\xe2\x90\x81\xe2\x90\x9f\xe2\x90\xa1"
                               "\xef\xbf\xbd");
    sbuf_release(&b);
}

TEST(out_of_memory_at_every_allocation)
{
    repview v = setup(1);
    int ok = 0;
    for (long n = 1; n < 400 && !ok; n++) {
        sbuf b = SBUF_INIT;
        report_html_opts o = {3, 0, NULL};
        ml_alloc_fail_nth(n);
        int rc = report_html(&b, &v, &o);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || (rc == ML_ENOMEM && b.len == 0));
        ok = rc == ML_OK;
        sbuf_release(&b);
    }
    CHECK(ok);
}

int main(void)
{
    RUN(bars_marks_and_summary);
    RUN(everything_from_the_program_is_escaped);
    RUN(without_heap_columns);
    RUN(processes_and_incomplete_tables_are_said);
    RUN(fragment_and_prefix);
    RUN(escape_html_text);
    RUN(out_of_memory_at_every_allocation);
    linetab_free(tab);
    return CTEST_END();
}
