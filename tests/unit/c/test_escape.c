/* test_escape: markup and JSON escaping, and the UTF-8 repair that keeps
 * any .dat string from breaking an SVG or HTML document. */
#include "ctest.h"

#include "core/escape.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/sbuf.h"

static const char *xml(const char *s)
{
    static sbuf b = SBUF_INIT;
    sbuf_clear(&b);
    CHECK_EQ_INT(escape_xml(&b, s), ML_OK);
    return sbuf_str(&b);
}

static const char *json(const char *s)
{
    static sbuf b = SBUF_INIT;
    sbuf_clear(&b);
    CHECK_EQ_INT(escape_json(&b, s), ML_OK);
    return sbuf_str(&b);
}

TEST(xml_specials)
{
    CHECK_EQ_STR(xml("<script>alert('x') & \"y\"</script>"),
                 "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    CHECK_EQ_STR(xml("plain text"), "plain text");
    CHECK_EQ_STR(xml(""), "");
    CHECK_EQ_STR(xml("a\x01" "b\x7f" "c\td"), "a b c d");
}

TEST(json_specials)
{
    CHECK_EQ_STR(json("</script><b>&"), "\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\"");
    CHECK_EQ_STR(json("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
    CHECK_EQ_STR(json(""), "\"\"");
}

TEST(utf8_kept_and_repaired)
{
    CHECK_EQ_STR(xml("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK_EQ_STR(xml("a\xff" "b"), "a\xef\xbf\xbd" "b");          /* bad lead byte */
    CHECK_EQ_STR(xml("a\xc3"), "a\xef\xbf\xbd");                  /* cut sequence */
    CHECK_EQ_STR(xml("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");    /* overlong '/' */
    CHECK_EQ_STR(xml("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
    CHECK_EQ_STR(json("\xfe<"), "\"\xef\xbf\xbd\\u003c\"");
}

TEST(out_of_memory_leaves_buffer)
{
    sbuf b = SBUF_INIT;
    CHECK_EQ_INT(sbuf_puts(&b, "x"), ML_OK);
    char big[200];
    memset(big, '<', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(escape_xml(&b, big), ML_ENOMEM);
    ml_alloc_fail_nth(1);
    CHECK_EQ_INT(escape_json(&b, big), ML_ENOMEM);
    ml_alloc_fail_nth(0);
    CHECK_EQ_STR(sbuf_str(&b), "x");
    sbuf_release(&b);
}

int main(void)
{
    RUN(xml_specials);
    RUN(json_specials);
    RUN(utf8_kept_and_repaired);
    RUN(out_of_memory_leaves_buffer);
    return CTEST_END();
}
