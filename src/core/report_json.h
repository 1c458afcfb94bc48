/* report_json: the line report as JSON for machines (docs/json.md holds
 * the schema, version REPDOC_SCHEMA_VERSION).  Every memory figure is an
 * integer number of bytes; strings are escaped so the document can also
 * sit inside an HTML <script> element. */
#ifndef ML_REPORT_JSON_H
#define ML_REPORT_JSON_H

#include "repdoc.h"
#include "sbuf.h"

#include <stdint.h>

/* Appends the document for v (every function of v, in order).  Returns
 * ML_OK, or ML_ENOMEM with out as it was. */
int report_json(sbuf *out, const repview *v);

/* Formats secs since the epoch as ISO 8601 UTC ("2026-12-01T10:30:51Z")
 * into buf, which holds at least 32 bytes.  Returns buf. */
char *report_json_timestamp(char *buf, int64_t secs);

#endif
