/* mlsize: parsing sizes.  The number is read digit by digit (no strtod:
 * it would follow the process's locale, and a program being profiled may
 * have set one). */
#include "mlsize.h"

#include "mlerr.h"

#include <string.h>
#include <strings.h>

int ml_parse_size(const char *s, int64_t *bytes)
{
    static const struct { const char *name; double mult; } units[] = {
        {"", 1}, {"b", 1}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
        {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}};
    const char *p = s;
    double v = 0, scale = 1;
    int digits = 0;
    while (*p == ' ')
        p++;
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        if ((v = v * 10 + (*p - '0')) > 1e30)
            return ML_EINVAL;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            v += (*p - '0') * (scale /= 10);
    if (!digits)
        return ML_EINVAL;
    while (*p == ' ')
        p++;
    const char *unit = p;
    while (*p && *p != ' ')
        p++;
    const char *rest = p;
    while (*rest == ' ')
        rest++;
    if (*rest)
        return ML_EINVAL;
    size_t n = (size_t)(p - unit);
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (n == strlen(units[i].name) && strncasecmp(unit, units[i].name, n) == 0) {
            double b = v * units[i].mult + 0.5;
            if (!(b < 9223372036854775807.0))
                return ML_EINVAL;
            *bytes = (int64_t)b;
            return ML_OK;
        }
    }
    return ML_EINVAL;
}
