/* json: a small, bounded JSON reader (RFC 8259) for the reports memline
 * writes.  One pass over the text, linear in its length: every value is
 * copied once, into its parent, when the parent closes.  Nesting is
 * limited to JSON_MAX_DEPTH.  Numbers are kept only when they are
 * integers in int64_t's range (the reports hold nothing else); others are
 * valid JSON but marked not integral.  Strings are decoded to UTF-8
 * (\u0000 and lone surrogates become U+FFFD, so every string is a C
 * string); other bytes are copied as they are. */
#ifndef ML_JSON_H
#define ML_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

typedef enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json_value json_value;
typedef struct json_member json_member;

/* Invariant: by type, str holds a NUL-terminated string of len bytes;
 * items count values (an array); members count key/value pairs (an
 * object, in document order).  A number has is_int set when it is an
 * integer that fits int64_t, and then i is its value. */
struct json_value {
    json_type type;
    int is_int;
    int64_t i;
    char *str;
    size_t len;
    json_value *items;
    json_member *members;
    size_t count;
};

/* Invariant: key is a NUL-terminated string, owned with value by the object. */
struct json_member {
    char *key;
    json_value value;
};

/* Where and why a parse failed (line and column 1-based, column in bytes). */
typedef struct json_err {
    size_t line, column;
    const char *msg; /* static */
} json_err;

/* Parses text[0..len) as one JSON value.  Returns ML_OK with *out the
 * root, owned by the caller (json_free), or ML_EFORMAT (err says where and
 * why) or ML_ENOMEM, with *out NULL. */
int json_parse(const char *text, size_t len, json_value **out, json_err *err);
void json_free(json_value *v); /* accepts NULL */

/* The value of the first member called key in obj, or NULL (also when obj
 * is NULL or not an object). */
const json_value *json_get(const json_value *obj, const char *key);

#endif
