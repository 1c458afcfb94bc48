/* backend: the memory measures a user picks with backend= or --backend
 * (memory_profiler's word for them), their names and what each reads.
 * Not to be confused with the tracer's modes (tracer.h), which say where
 * events come from. */
#ifndef ML_BACKEND_H
#define ML_BACKEND_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

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

/* Parses a backend argument (None or NULL = the default, rss) into
 * *backend.  Returns 0, or -1 with ValueError naming the choices. */
int backend_parse(PyObject *arg, int *backend);

#endif
