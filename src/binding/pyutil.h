/* pyutil: the few Python objects and helpers every binding file may use.
 * It depends on nothing else of memline's. */
#ifndef ML_PYUTIL_H
#define ML_PYUTIL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* memline.ProfileError (a TypeError): profile() was given something that
 * has no Python code.  Owned by this module; valid after pyutil_init. */
extern PyObject *ml_ProfileError;

/* Creates ProfileError and adds it to module.  Returns 0, or -1 with an
 * exception set. */
int pyutil_init(PyObject *module);

/* functools.partial(callable, **kw); kw may be NULL.  New reference, or
 * NULL with an exception set. */
PyObject *ml_partial(PyObject *callable, PyObject *kw);

/* The calling thread's C stack, for code that nests a C call per Python
 * level where plain Python does not (the 3.11 gate; @profile's wrapper
 * before 3.11, where every Python call nests anyway and the wrapper
 * doubles it): deep recursion is refused with RecursionError before the
 * stack runs out.  ml_stack_floor is this thread's stack's low end plus
 * STACK_MARGIN for the C code that frames call; 0: not looked up yet; 1:
 * unknown, no guard. */
#include <stdint.h>

extern __thread uintptr_t ml_stack_floor __attribute__((tls_model("initial-exec")));

/* Looks the floor up if needed; whether here is below it, with
 * RecursionError set (its message ends with hint) if so. */
int ml_stack_full_slow(uintptr_t here, const char *hint);

/* Whether the stack is nearly full at here (RecursionError set then).
 * One compare in the common case. */
static inline int ml_stack_full(uintptr_t here, const char *hint)
{
    if (__builtin_expect(here >= ml_stack_floor, 1) && __builtin_expect(ml_stack_floor != 0, 1))
        return 0;
    return ml_stack_full_slow(here, hint);
}

/* The floor of the calling thread (looked up on first use); 1 when
 * unknown. */
uintptr_t ml_stack_floor_get(void);

#endif
