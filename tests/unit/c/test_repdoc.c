/* test_repdoc: the JSON report writer's exact text, and the reader that
 * brings it back (memline diff's input): a round trip keeps every figure,
 * what is not a report of schema 1 is refused with a message that says
 * why, and out-of-memory is handled at every allocation of both. */
#include "ctest.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/repdoc.h"
#include "core/report_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const argv2[] = {"python", "-m", "memline", "<x>"};

/* A table with one function of three lines: ran, did not run, ran. */
static linetab *table(void)
{
    linetab *tab = linetab_new();
    linefunc *fn;
    CHECK_EQ_INT(linetab_add(tab, "/a/\"b\".py", "C.f", 9, 3, &fn), ML_OK);
    fn->rows[0].occurrences = 1;
    linestat_charge(&fn->rows[0], 1000, 0, 0, 0);
    fn->rows[2].occurrences = 100002;
    linestat_charge(&fn->rows[2], 20000000, -4096, 32, 4000920);
    fn->rows[2].native_incr = 16;
    fn->rows[2].native_peak = 48;
    return tab;
}

static const char *const src3[] = {"@profile", "def f():", "    x = \"<\\u>\"\t"};

static repview view_of(linetab *tab, repfunc *f, int heap)
{
    f->fn = linetab_get(tab, 0);
    f->src = src3;
    repview v = {{"0.2.0", "3.11.7", "rss", "2026-12-01T10:30:51Z", argv2, 4, 1, 0, heap}, f, 1};
    return v;
}

static const char expected[] =
    "{\n"
    "  \"schema_version\": 1,\n"
    "  \"tool\": \"memline\",\n"
    "  \"memline_version\": \"0.2.0\",\n"
    "  \"python_version\": \"3.11.7\",\n"
    "  \"backend\": \"rss\",\n"
    "  \"command_line\": [\"python\", \"-m\", \"memline\", \"\\u003cx\\u003e\"],\n"
    "  \"process_count\": 1,\n"
    "  \"include_children\": false,\n"
    "  \"heap_columns\": true,\n"
    "  \"timestamp\": \"2026-12-01T10:30:51Z\",\n"
    "  \"processes\": 1,\n"
    "  \"processes_lost\": 0,\n"
    "  \"processes_still_running\": 0,\n"
    "  \"functions\": [\n"
    "    {\n"
    "      \"filename\": \"/a/\\\"b\\\".py\",\n"
    "      \"name\": \"C.f\",\n"
    "      \"first_line\": 9,\n"
    "      \"processes\": 1,\n"
    "      \"incomplete\": false,\n"
    "      \"lines\": [\n"
    "        {\"line\": 9, \"source\": \"@profile\", \"ran\": true, \"occurrences\": 1, "
    "\"mem_usage\": 1000, \"increment\": 0, \"heap_incr\": 0, \"heap_peak\": 0, "
    "\"native_incr\": 0, \"native_peak\": 0},\n"
    "        {\"line\": 10, \"source\": \"def f():\", \"ran\": false, \"occurrences\": 0, "
    "\"mem_usage\": null, \"increment\": null, \"heap_incr\": null, \"heap_peak\": null, "
    "\"native_incr\": null, \"native_peak\": null},\n"
    "        {\"line\": 11, \"source\": \"    x = \\\"\\u003c\\\\u\\u003e\\\"\\t\", \"ran\": true, "
    "\"occurrences\": 100002, \"mem_usage\": 20000000, \"increment\": -4096, "
    "\"heap_incr\": 32, \"heap_peak\": 4000920, \"native_incr\": 16, \"native_peak\": 48}\n"
    "      ]\n"
    "    }\n"
    "  ]\n"
    "}\n";

TEST(writer_exact_text)
{
    linetab *tab = table();
    repfunc f;
    repview v = view_of(tab, &f, 1);
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(report_json(&b, &v), ML_OK);
    CHECK_EQ_STR(sbuf_str(&b), expected);
    /* Without heap columns the heap figures are null even where the line ran. */
    sbuf_clear(&b);
    v.meta.heap = 0;
    CHECK_EQ_INT(report_json(&b, &v), ML_OK);
    CHECK(strstr(sbuf_str(&b), "\"heap_columns\": false") != NULL);
    CHECK(strstr(sbuf_str(&b), "\"mem_usage\": 20000000, \"increment\": -4096, \"heap_incr\": "
                               "null, \"heap_peak\": null, \"native_incr\": null, "
                               "\"native_peak\": null}") != NULL);
    sbuf_release(&b);
    linetab_free(tab);
}

TEST(timestamp_format)
{
    char buf[32];
    CHECK_EQ_STR(report_json_timestamp(buf, 0), "1970-01-01T00:00:00Z");
    CHECK_EQ_STR(report_json_timestamp(buf, 1796121051), "2026-12-01T10:30:51Z");
}

TEST(round_trip_keeps_every_figure)
{
    linetab *tab = table();
    repfunc f;
    repview v = view_of(tab, &f, 1);
    v.meta.processes = 3;
    v.meta.processes_lost = 1;
    v.meta.processes_running = 2;
    linetab_get(tab, 0)->processes = 2;
    linetab_get(tab, 0)->incomplete = 1;
    sbuf b = SBUF_INIT, again = SBUF_INIT;
    CHECK_EQ_INT(report_json(&b, &v), ML_OK);
    repdoc *doc;
    repdoc_err err;
    CHECK_EQ_INT(repdoc_load(b.data, b.len, &doc, &err), ML_OK);
    const repview *back = repdoc_view(doc);
    CHECK_EQ_INT(back->nfuncs, 1);
    CHECK_EQ_STR(back->funcs[0].src[2], src3[2]);
    CHECK_EQ_STR(back->meta.argv[3], "<x>");
    CHECK_EQ_INT(back->meta.heap, 1);
    CHECK(back->meta.processes == 3 && back->meta.processes_lost == 1 &&
          back->meta.processes_running == 2);
    CHECK(back->funcs[0].fn->processes == 2 && back->funcs[0].fn->incomplete);
    const linestat *r = &back->funcs[0].fn->rows[2];
    CHECK(r->seen && r->occurrences == 100002 && r->mem_max == 20000000 &&
          r->mem_incr == -4096 && r->heap_incr == 32 && r->heap_peak == 4000920 &&
          r->native_incr == 16 && r->native_peak == 48);
    CHECK(!back->funcs[0].fn->rows[1].seen);
    CHECK_EQ_INT(report_json(&again, back), ML_OK);
    CHECK_EQ_STR(sbuf_str(&again), sbuf_str(&b));
    int line;
    CHECK_EQ_INT(repfunc_peak(&back->funcs[0], 1, &line), 4000920);
    CHECK_EQ_INT(line, 11);
    CHECK_EQ_INT(repfunc_peak(&back->funcs[0], 0, &line), 20000000);
    repdoc_free(doc);
    repdoc_free(NULL);
    sbuf_release(&b);
    sbuf_release(&again);
    linetab_free(tab);
}

static const char *load_err(const char *text)
{
    static repdoc_err err;
    repdoc *doc = (repdoc *)1;
    CHECK_EQ_INT(repdoc_load(text, strlen(text), &doc, &err), ML_EFORMAT);
    CHECK(doc == NULL);
    return err.msg;
}

#define HEAD "{\"schema_version\": 1, \"heap_columns\": true, \"functions\": "
#define FN "{\"filename\": \"f.py\", \"name\": \"f\", \"first_line\": 3, \"lines\": "
#define LINE(n, ran, peak) "{\"line\": " #n ", \"source\": \"x\", \"ran\": " #ran ", " \
    "\"occurrences\": 1, \"mem_usage\": 5, \"increment\": 0, \"heap_incr\": 0, " \
    "\"heap_peak\": " #peak ", \"native_incr\": 0, \"native_peak\": 0}"

TEST(refusals_say_why)
{
    CHECK_EQ_STR(load_err("{\"a\": }"), "not JSON: line 1, column 7: expected a value");
    CHECK_EQ_STR(load_err("[]"), "not a memline report (no schema_version)");
    CHECK_EQ_STR(load_err("{\"schema_version\": \"1\"}"), "schema_version is not an integer");
    CHECK_EQ_STR(load_err("{\"schema_version\": 2}"),
                 "schema version 2 is not supported (this memline reads version 1)");
    CHECK_EQ_STR(load_err("{\"schema_version\": 1}"), "functions is not an array");
    CHECK_EQ_STR(load_err("{\"schema_version\": 1, \"functions\": []}"),
                 "heap_columns is not true or false");
    CHECK_EQ_STR(load_err(HEAD "[1]}"), "functions[0] is not an object");
    CHECK_EQ_STR(load_err(HEAD "[{\"name\": \"f\"}]}"),
                 "functions[0] has no filename or name string");
    CHECK_EQ_STR(load_err(HEAD "[" FN "[]}]}"), "functions[0].lines is not a non-empty array");
    CHECK_EQ_STR(load_err(HEAD "[" FN "[" LINE(4, true, 0) "]}]}"),
                 "functions[0].lines[0].line is not 3 (lines are consecutive)");
    CHECK_EQ_STR(load_err(HEAD "[" FN "[" LINE(3, true, 0) ", " LINE(4, true, 1.5) "]}]}"),
                 "functions[0].lines[1].heap_peak is not an integer");
    CHECK_EQ_STR(load_err(HEAD "[" FN "[" LINE(3, true, null) "]}]}"),
                 "functions[0].lines[0].heap_peak is null for a line that ran");
    CHECK_EQ_STR(load_err(HEAD "[" FN "[" LINE(3, maybe, 0) "]}]}"),
                 "not JSON: line 1, column 154: expected a value");
}

TEST(lenient_where_it_costs_nothing)
{
    /* Unknown fields are ignored, metadata may be missing, a line that did
     * not run may carry numbers (they are dropped). */
    const char *text = HEAD "[" FN "[" LINE(3, false, 7) "]}], \"extra\": {\"x\": [1]}}";
    repdoc *doc;
    CHECK_EQ_INT(repdoc_load(text, strlen(text), &doc, NULL), ML_OK);
    const repview *v = repdoc_view(doc);
    CHECK(v->meta.backend == NULL && v->meta.argc == 0 && v->meta.process_count == 1);
    /* a report from before the process counts: one process, nothing missing */
    CHECK(v->meta.processes == 1 && v->meta.processes_lost == 0 &&
          v->meta.processes_running == 0);
    CHECK(v->funcs[0].fn->processes == 1 && !v->funcs[0].fn->incomplete);
    CHECK(!v->funcs[0].fn->rows[0].seen && v->funcs[0].fn->rows[0].heap_peak == 0);
    CHECK_EQ_INT(v->funcs[0].fn->rows[0].occurrences, 1);
    repdoc_free(doc);
}

TEST(load_file)
{
    char path[] = "/tmp/test_repdoc_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = HEAD "[]}";
    CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    repdoc *doc;
    repdoc_err err;
    CHECK_EQ_INT(repdoc_load_file(path, &doc, &err), ML_OK);
    CHECK_EQ_INT(repdoc_view(doc)->nfuncs, 0);
    repdoc_free(doc);
    unlink(path);
    CHECK_EQ_INT(repdoc_load_file(path, &doc, &err), ML_ENOENT);
    CHECK_EQ_STR(err.msg, "No such file or directory");
    CHECK_EQ_INT(repdoc_load_file("/tmp", &doc, &err), ML_EINVAL);
    CHECK_EQ_STR(err.msg, "is a directory");
}

TEST(out_of_memory_at_every_allocation)
{
    linetab *tab = table();
    repfunc f;
    repview v = view_of(tab, &f, 1);
    sbuf full = SBUF_INIT;
    CHECK_EQ_INT(report_json(&full, &v), ML_OK);
    int wrote = 0, loaded = 0;
    for (long n = 1; n < 300 && !(wrote && loaded); n++) {
        sbuf b = SBUF_INIT;
        ml_alloc_fail_nth(n);
        int rc = report_json(&b, &v);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || (rc == ML_ENOMEM && b.len == 0));
        wrote |= rc == ML_OK;
        sbuf_release(&b);
        repdoc *doc = NULL;
        repdoc_err err;
        ml_alloc_fail_nth(n);
        rc = repdoc_load(full.data, full.len, &doc, &err);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || (rc == ML_ENOMEM && doc == NULL));
        if (rc == ML_ENOMEM)
            CHECK_EQ_STR(err.msg, "out of memory");
        loaded |= rc == ML_OK;
        repdoc_free(doc);
    }
    CHECK(wrote && loaded);
    sbuf_release(&full);
    linetab_free(tab);
}

int main(void)
{
    RUN(writer_exact_text);
    RUN(timestamp_format);
    RUN(round_trip_keeps_every_figure);
    RUN(refusals_say_why);
    RUN(lenient_where_it_costs_nothing);
    RUN(load_file);
    RUN(out_of_memory_at_every_allocation);
    return CTEST_END();
}
