/* test_json: the JSON reader: every kind of value, string escapes and
 * their repair, integer bounds, the errors with their positions, the depth
 * bound, and out-of-memory at every allocation. */
#include "ctest.h"

#include "core/json.h"
#include "core/mlalloc.h"
#include "core/mlerr.h"

#include <stdint.h>

static json_value *parse(const char *s)
{
    json_value *v = NULL;
    json_err e;
    CHECK_EQ_INT(json_parse(s, strlen(s), &v, &e), ML_OK);
    return v;
}

static json_err parse_err(const char *s)
{
    json_value *v = (json_value *)1;
    json_err e;
    CHECK_EQ_INT(json_parse(s, strlen(s), &v, &e), ML_EFORMAT);
    CHECK(v == NULL);
    return e;
}

TEST(values_of_every_kind)
{
    json_value *v = parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null, \"s\"], \"b\": {}, "
                          "\"c\": [], \"a\": 0}\n");
    CHECK_EQ_INT(v->type, JSON_OBJECT);
    CHECK_EQ_INT(v->count, 4);
    const json_value *a = json_get(v, "a"); /* the first of two */
    CHECK_EQ_INT(a->type, JSON_ARRAY);
    CHECK_EQ_INT(a->count, 8);
    CHECK(a->items[0].is_int && a->items[0].i == 1);
    CHECK(a->items[1].is_int && a->items[1].i == -2);
    CHECK(a->items[2].type == JSON_NUMBER && !a->items[2].is_int);
    CHECK(a->items[3].type == JSON_NUMBER && !a->items[3].is_int);
    CHECK_EQ_INT(a->items[4].type, JSON_TRUE);
    CHECK_EQ_INT(a->items[5].type, JSON_FALSE);
    CHECK_EQ_INT(a->items[6].type, JSON_NULL);
    CHECK_EQ_STR(a->items[7].str, "s");
    CHECK_EQ_INT(json_get(v, "b")->type, JSON_OBJECT);
    CHECK_EQ_INT(json_get(v, "b")->count, 0);
    CHECK_EQ_INT(json_get(v, "c")->count, 0);
    CHECK(json_get(v, "zz") == NULL && json_get(a, "a") == NULL && json_get(NULL, "a") == NULL);
    json_free(v);
    json_free(NULL);
}

TEST(integer_bounds)
{
    json_value *v = parse("[9223372036854775807, -9223372036854775808, 9223372036854775808, "
                          "-9223372036854775809, 123456789012345678901234, -0, 0]");
    CHECK(v->items[0].is_int && v->items[0].i == INT64_MAX);
    CHECK(v->items[1].is_int && v->items[1].i == INT64_MIN);
    CHECK(!v->items[2].is_int && !v->items[3].is_int && !v->items[4].is_int);
    CHECK(v->items[5].is_int && v->items[5].i == 0 && v->items[6].is_int);
    json_free(v);
}

TEST(string_escapes_and_repair)
{
    json_value *v = parse("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\", "
                          "\"\\ud83d\\ude00\", \"x\\u0000y\", \"\\ud800z\", \"\\udc00\", "
                          "\"\\u003cscript\\u003e\", \"raw \xc3\xa9 \xff\"]");
    CHECK_EQ_STR(v->items[0].str, "a\"b\\c/d\b\f\n\r\t");
    CHECK_EQ_STR(v->items[1].str, "\xc3\xa9\xe2\x82\xac");
    CHECK_EQ_STR(v->items[2].str, "\xf0\x9f\x98\x80"); /* a surrogate pair: U+1F600 */
    CHECK_EQ_STR(v->items[3].str, "x\xef\xbf\xbdy");   /* NUL: U+FFFD, still a C string */
    CHECK_EQ_INT(v->items[3].len, 5);
    CHECK_EQ_STR(v->items[4].str, "\xef\xbf\xbdz");    /* lone high surrogate */
    CHECK_EQ_STR(v->items[5].str, "\xef\xbf\xbd");     /* lone low surrogate */
    CHECK_EQ_STR(v->items[6].str, "<script>");
    CHECK_EQ_STR(v->items[7].str, "raw \xc3\xa9 \xff"); /* copied as they are */
    json_free(v);
}

TEST(errors_say_where_and_why)
{
    json_err e = parse_err("{\"a\": 1,\n  \"b\" 2}");
    CHECK_EQ_INT(e.line, 2);
    CHECK_EQ_INT(e.column, 7);
    CHECK_EQ_STR(e.msg, "expected ':' after a member name");
    CHECK_EQ_STR(parse_err("").msg, "unexpected end of input");
    CHECK_EQ_STR(parse_err("[1, 2").msg, "expected ',' or ']'");
    CHECK_EQ_STR(parse_err("{\"a\": 1").msg, "expected ',' or '}'");
    CHECK_EQ_STR(parse_err("{1: 2}").msg, "expected a member name in quotes");
    CHECK_EQ_STR(parse_err("[1,]").msg, "expected a value");
    CHECK_EQ_STR(parse_err("[01]").msg, "expected ',' or ']'");
    CHECK_EQ_STR(parse_err("[1.]").msg, "bad number: digits must follow the point");
    CHECK_EQ_STR(parse_err("[1e]").msg, "bad number: digits must follow the exponent");
    CHECK_EQ_STR(parse_err("[-]").msg, "bad number");
    CHECK_EQ_STR(parse_err("\"abc").msg, "unterminated string");
    CHECK_EQ_STR(parse_err("\"a\nb\"").msg, "control character in a string (write it as \\u00XX)");
    CHECK_EQ_STR(parse_err("\"\\x\"").msg, "unknown escape in a string");
    CHECK_EQ_STR(parse_err("\"\\u12\"").msg, "\\u needs four hex digits");
    CHECK_EQ_STR(parse_err("tru").msg, "expected a value");
    CHECK_EQ_STR(parse_err("{} {}").msg, "text after the end of the value");
    e = parse_err("[1, 2] x");
    CHECK_EQ_INT(e.line, 1);
    CHECK_EQ_INT(e.column, 8);
}

TEST(nesting_is_bounded)
{
    char deep[2 * JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    json_value *v = parse(deep);
    json_free(v);
    char deeper[2 * JSON_MAX_DEPTH + 8];
    n = 0;
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        deeper[n++] = '[';
    deeper[n] = '\0';
    CHECK_EQ_STR(parse_err(deeper).msg, "nested too deeply");
}

TEST(byte_order_mark_and_length)
{
    json_value *v = parse("\xef\xbb\xbf[true]");
    CHECK_EQ_INT(v->items[0].type, JSON_TRUE);
    json_free(v);
    /* Only len bytes are read: what follows is not looked at. */
    const char *s = "[1] garbage";
    CHECK_EQ_INT(json_parse(s, 3, &v, NULL), ML_OK);
    json_free(v);
}

TEST(out_of_memory_at_every_allocation)
{
    const char *s = "{\"functions\": [{\"name\": \"f\", \"lines\": [1, 2, {\"x\": \"\\u00e9\"}]},"
                    " [[], {}, \"long string that grows the buffer more than once...........\"]]}";
    int ok = 0;
    for (long n = 1; n < 200 && !ok; n++) {
        json_value *v = NULL;
        ml_alloc_fail_nth(n);
        int rc = json_parse(s, strlen(s), &v, NULL);
        ml_alloc_fail_nth(0);
        CHECK(rc == ML_OK || (rc == ML_ENOMEM && v == NULL));
        ok = rc == ML_OK;
        json_free(v);
    }
    CHECK(ok);
}

int main(void)
{
    RUN(values_of_every_kind);
    RUN(integer_bounds);
    RUN(string_escapes_and_repair);
    RUN(errors_say_where_and_why);
    RUN(nesting_is_bounded);
    RUN(byte_order_mark_and_length);
    RUN(out_of_memory_at_every_allocation);
    return CTEST_END();
}
