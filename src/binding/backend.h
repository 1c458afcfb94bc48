/* backend: the names users give memory backends, and what each measures. */
#ifndef ML_BACKEND_H
#define ML_BACKEND_H

#include "core/memsrc.h"

enum {
    ML_BACKEND_RSS = 0,
    ML_BACKEND_PSS,
    ML_BACKEND_USS,
    ML_BACKEND_HEAP, /* the Python heap, from memline's allocator hooks */
    ML_BACKEND_RSS_EXACT, /* RSS read at every event, to check the default rule */
    ML_BACKEND_COUNT
};

/* The backend named name (canonical or memory_profiler alias), or -1. */
int backend_lookup(const char *name);

/* The canonical name of a backend. */
const char *backend_name(int backend);

/* The memory source kind a backend reads. */
memsrc_kind backend_kind(int backend);

/* Comma-separated list of the accepted names, for error messages. */
const char *backend_choices(void);

#endif
