/* fuzz_json: libFuzzer target for the JSON reader and the report loader
 * (`make fuzz`), the input of memline diff.
 *
 * Any input must parse or be refused without crashing, leaking or
 * undefined behaviour, with a position inside the input; a report that
 * loads must write back to JSON that loads to the same text again; and it
 * must render as HTML, and (once written, so that its strings are
 * repaired UTF-8 on both sides) compare with itself without a single
 * changed line, in text and HTML. */
#include "core/json.h"
#include "core/mlerr.h"
#include "core/repdiff.h"
#include "core/repdoc.h"
#include "core/report_html.h"
#include "core/report_json.h"
#include "core/sbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(x)      \
    do {                \
        if (!(x))       \
            abort();    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_value *v = NULL;
    json_err jerr;
    int rc = json_parse(text, size, &v, &jerr);
    REQUIRE(rc == ML_OK || rc == ML_EFORMAT);
    REQUIRE(rc == ML_OK ? v != NULL : v == NULL && jerr.msg && jerr.line >= 1);
    json_free(v);

    repdoc *doc = NULL, *again = NULL, *third = NULL;
    repdoc_err err;
    rc = repdoc_load(text, size, &doc, &err);
    REQUIRE(rc == ML_OK || (rc == ML_EFORMAT && err.msg[0] && doc == NULL));
    if (rc != ML_OK)
        return 0;
    sbuf a = SBUF_INIT, b = SBUF_INIT, page = SBUF_INIT;
    const repview *view = repdoc_view(doc);
    REQUIRE(report_json(&a, view) == ML_OK);
    REQUIRE(repdoc_load(sbuf_str(&a), a.len, &again, &err) == ML_OK);
    REQUIRE(report_json(&b, repdoc_view(again)) == ML_OK);
    REQUIRE(a.len == b.len && memcmp(sbuf_str(&a), sbuf_str(&b), a.len) == 0);
    REQUIRE(repdoc_load(sbuf_str(&b), b.len, &third, &err) == ML_OK);
    report_html_opts o = {(int)(size % 13), (int)(size & 1), NULL};
    REQUIRE(report_html(&page, view, &o) == ML_OK);
    repdiff *d = NULL;
    REQUIRE(repdiff_compute(repdoc_view(again), repdoc_view(third), 0, &d) == ML_OK);
    for (size_t k = 0; k < d->count; k++)
        REQUIRE(d->funcs[k].old && d->funcs[k].new && d->funcs[k].count == 0);
    REQUIRE(repdiff_worst(d, NULL) == NULL);
    sbuf_clear(&page);
    REQUIRE(repdiff_text(&page, d, "a", "b", 3) == ML_OK);
    REQUIRE(repdiff_html(&page, d, "a", "b", 3, 0) == ML_OK);
    repdiff_free(d);
    sbuf_release(&a);
    sbuf_release(&b);
    sbuf_release(&page);
    repdoc_free(third);
    repdoc_free(again);
    repdoc_free(doc);
    return 0;
}
