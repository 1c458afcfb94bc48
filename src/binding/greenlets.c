/* greenlets: each greenlet its own shadow stack and heap counters, as each
 * thread has.
 *
 * Why: greenlets (and gevent, built on them) run many Python stacks on one
 * thread, switching between them at any call.  With the thread's one
 * shadow stack, the lines after a switch were charged to the frame that
 * switched in (or lost, once its frames unwound elsewhere), and what the
 * other greenlets allocated meanwhile was charged to the switch line.
 * greenlet calls the function given to greenlet.settrace() at every
 * switch, with the greenlet leaving and the one resuming (Memray keeps its
 * per-greenlet stacks the same way), just after the switch, in the
 * resuming one: the callback here sets the leaving greenlet's shadow stack
 * and heap counters aside (the thread still holds them) and puts the
 * resuming one's in.
 *
 * greenlet is never imported by memline: the callback goes in when a
 * profiled call finds greenlet in sys.modules, in each thread (greenlet's
 * trace function is per thread), and calls the one it replaced.
 *
 * Lock rules: greenlet calls the callback with the GIL held, in the thread
 * that switches; everything here touches that thread's state only. */
#include "greenlets.h"

#include "compat.h"
#include "engine.h"
#include "heaphook.h"
#include "tracer.h"

/* A greenlet's while it does not run (and a scratch copy while it does).
 * Invariant: stack is not NULL. */
typedef struct gstate {
    engine_stack *stack;
    memcount heap;
} gstate;

static PyObject *state_key;  /* owned: the key of a greenlet's state in its __dict__ */
static PyObject *on_switch;  /* owned: the callback given to greenlet.settrace */
static __thread int installed __attribute__((tls_model("initial-exec")));
static __thread PyObject *previous; /* owned: the callback ours replaced, or NULL */

static void gstate_free(PyObject *capsule)
{
    gstate *g = PyCapsule_GetPointer(capsule, "memline.gstate");
    if (!g)
        return;
    engine_stack_free(g->stack);
    PyMem_RawFree(g);
}

/* g's state, made on first use; NULL (no exception set) when it cannot be
 * had.  Borrowed: g's __dict__ keeps it. */
static gstate *state_of(PyObject *g)
{
    PyObject *dict = PyObject_GetAttrString(g, "__dict__");
    gstate *st = NULL;
    if (!dict || !PyDict_Check(dict))
        goto done;
    PyObject *capsule = PyDict_GetItemWithError(dict, state_key); /* borrowed */
    if (capsule) {
        st = PyCapsule_GetPointer(capsule, "memline.gstate");
        goto done;
    }
    if (PyErr_Occurred())
        goto done;
    gstate *fresh = PyMem_RawCalloc(1, sizeof *fresh);
    engine_stack *stack = fresh ? engine_stack_new() : NULL;
    capsule = stack ? PyCapsule_New(fresh, "memline.gstate", gstate_free) : NULL;
    if (!capsule) {
        engine_stack_free(stack);
        PyMem_RawFree(fresh);
        goto done;
    }
    fresh->stack = stack;
    if (PyDict_SetItem(dict, state_key, capsule) == 0)
        st = fresh;
    Py_DECREF(capsule);
done:
    Py_XDECREF(dict);
    PyErr_Clear();
    return st;
}

/* greenlet's trace callback: (event, (origin, target)). */
static PyObject *switch_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs == 2 && PyTuple_Check(args[1]) && PyTuple_GET_SIZE(args[1]) == 2) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        /* A state made now (a greenlet's __dict__, a capsule) is memline's,
         * not the line's. */
        memcount entry;
        heaphook_save(&entry);
        gstate *from = state_of(PyTuple_GET_ITEM(args[1], 0));
        gstate *to = from ? state_of(PyTuple_GET_ITEM(args[1], 1)) : NULL;
        heaphook_restore(&entry);
        if (from && to && from != to) {
            engine_stack_save(from->stack);
            heaphook_save(&from->heap);
            heaphook_restore(&to->heap);
            engine_stack_load(to->stack);
            /* greenlet calls this after the switch, in the target: its
             * frame is the thread's current one. */
            tracer_switched((PyObject *)PyEval_GetFrame());
        }
        PyErr_Restore(et, ev, tb);
    }
    if (previous)
        return nargs == 2 ? PyObject_CallFunctionObjArgs(previous, args[0], args[1], NULL)
                          : PyObject_CallFunctionObjArgs(previous, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef switch_def = {
    "_greenlet_switch", (PyCFunction)(void (*)(void))switch_call, METH_FASTCALL,
    "Called by greenlet at each switch: memline's shadow stacks and heap counters follow."};

int greenlets_init(void)
{
    state_key = PyUnicode_FromString("__memline_state__");
    on_switch = state_key ? PyCFunction_NewEx(&switch_def, NULL, NULL) : NULL;
    return on_switch ? 0 : -1;
}

void greenlets_notice(void)
{
    if (installed)
        return;
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *greenlet = modules ? PyDict_GetItemString(modules, "greenlet") : NULL;
    if (!greenlet)
        return;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyObject *prev = PyObject_CallMethod(greenlet, "gettrace", NULL);
    PyObject *r = prev ? PyObject_CallMethod(greenlet, "settrace", "O", on_switch) : NULL;
    if (r) {
        installed = 1;
        Py_XSETREF(previous, prev != Py_None && prev != on_switch ? Py_NewRef(prev) : NULL);
    } else {
        /* Not greenlet's module after all, or a version without settrace:
         * say so once per thread, and keep the thread's one stack. */
        installed = 1;
        PySys_WriteStderr("memline: warning: greenlet.settrace is not usable here; lines "
                          "after a greenlet switch may be charged to the wrong greenlet\n");
    }
    Py_XDECREF(r);
    Py_XDECREF(prev);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
}
