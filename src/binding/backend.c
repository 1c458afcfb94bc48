/* backend: the memory backends' names and what they read. */
#include "backend.h"

#include <string.h>

static const struct {
    const char *name;
    int backend;
} names[] = {
    {"rss", ML_BACKEND_RSS},
    {"psutil", ML_BACKEND_RSS},
    {"posix", ML_BACKEND_RSS},
    {"pss", ML_BACKEND_PSS},
    {"psutil_pss", ML_BACKEND_PSS},
    {"uss", ML_BACKEND_USS},
    {"psutil_uss", ML_BACKEND_USS},
    {"rss-exact", ML_BACKEND_RSS_EXACT},
    {"heap", ML_BACKEND_HEAP},
    {"tracemalloc", ML_BACKEND_HEAP},
};

int backend_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].backend;
    return -1;
}

const char *backend_name(int backend)
{
    switch (backend) {
    case ML_BACKEND_PSS: return "pss";
    case ML_BACKEND_USS: return "uss";
    case ML_BACKEND_HEAP: return "heap";
    case ML_BACKEND_RSS_EXACT: return "rss-exact";
    default: return "rss";
    }
}

memsrc_kind backend_kind(int backend)
{
    switch (backend) {
    case ML_BACKEND_PSS: return MEMSRC_PSS;
    case ML_BACKEND_USS: return MEMSRC_USS;
    default: return MEMSRC_RSS;
    }
}

const char *backend_choices(void)
{
    return "rss, rss-exact, pss, uss, heap (aliases: psutil, posix, psutil_pss, psutil_uss, "
           "tracemalloc)";
}

int backend_parse(PyObject *arg, int *backend)
{
    if (!arg || arg == Py_None) {
        *backend = ML_BACKEND_RSS;
        return 0;
    }
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    int b = name ? backend_lookup(name) : -1;
    if (b < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "unknown memory backend %R; choose one of %s", arg,
                     backend_choices());
        return -1;
    }
    *backend = b;
    return 0;
}
