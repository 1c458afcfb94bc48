/* hookchain: sharing the thread's trace and profile hooks with other tools.
 *
 * CPython 3.8-3.11 keeps one trace hook and one profile hook per thread,
 * each a C function and an object that is passed to it (3.12+ still has
 * them, for the legacy mode).  coverage, pdb, line_profiler and any
 * sys.settrace user want the trace hook; cProfile the profile hook.  When
 * such a tool sets a hook where memline needs one, memline puts its own C
 * function back in the slot's function and leaves the tool's object in the
 * slot's object (so sys.gettrace() returns what the tool set, and CPython's
 * own trampoline for Python-level tracers keeps handling frame.f_trace),
 * remembers the tool's function for this thread, and forwards every event
 * to it with the same arguments, returning what it returns.  This is a
 * "link" of the chain; the hook functions of the tracer modes call
 * chain_forward_* at the end of each event.
 *
 * A slot's object tells whose function is behind it: NULL is memline's
 * own hook (unless a tool that passed NULL was linked last), any other
 * object is a tool's, and the link holding that object names its
 * function.  A tool can also put back a pair it read from the slot while
 * ours was linked in (line_profiler restores what it found): the few
 * latest links are kept for that.  An object with no link left is not
 * forwarded to (its function is unknown); memline says so once.
 *
 * Lock rules: every function here runs with the GIL held and touches the
 * calling thread's state only. */
#ifndef ML_HOOKCHAIN_H
#define ML_HOOKCHAIN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include "heaphook.h"

typedef enum { CHAIN_TRACE, CHAIN_PROFILE, CHAIN_SLOTS } chain_which;

/* One tool's hook that memline's replaced in a slot: its function and
 * object (identity only, never dereferenced: the slot owns it). */
typedef struct chain_link {
    Py_tracefunc func;
    PyObject *obj;
} chain_link;

#define CHAIN_KEEP 4

/* A slot's links, newest first.  Invariant (slot_ok): 0 <= n <=
 * CHAIN_KEEP, each link has a function that is not memline's, and cur is
 * -1 (memline's hook alone, or nothing) or < n, the link forwarded to. */
typedef struct chain_slot {
    chain_link links[CHAIN_KEEP];
    int n;
    int cur;
    /* The hidden frames (chain_sees) whose call event the tool did not
     * get, innermost last; identity only.  Owned array (libc). */
    PyFrameObject **hidden;
    int nhidden, caphidden;
} chain_slot;

typedef struct hook_chain {
    chain_slot slot[CHAIN_SLOTS];
    /* Profiled frames whose line events the tool behind the trace hook
     * turned off (f_trace_lines) and memline turned back on: their lines
     * are not forwarded.  Identity only. */
    PyFrameObject *muted[8];
    int nmuted;
    /* Inside memline's own change of a hook (its audit event is not
     * another tool's). */
    int own_change;
} hook_chain;

extern __thread hook_chain chain_tls __attribute__((tls_model("initial-exec")));

/* The link an event with obj would be forwarded to now, copied (func
 * NULL: none), for a hook whose own work may change the links before it
 * forwards (chain_call). */
static inline chain_link chain_target(chain_which which, PyObject *obj)
{
    chain_slot *s = &chain_tls.slot[which];
    chain_link none = {NULL, NULL};
    if (s->cur >= 0 && s->links[s->cur].obj == obj)
        return s->links[s->cur];
    if (obj == NULL && s->cur < 0)
        return none;
    for (int i = 0; i < s->n; i++)
        if (s->links[i].obj == obj)
            return s->links[i];
    return none;
}

/* Forwards the event to link (from chain_target); 0 when it has none.
 * What the tool's hook keeps of what it allocates (coverage's tables) is
 * not the line's, nor is the peak of its temporaries; what it frees is
 * kept: a Python-level tracer before 3.11 refreshes the frame's f_locals
 * in its hook, which is where a `del` of the program's frees. */
static inline int chain_call(chain_link link, PyObject *obj, PyFrameObject *frame, int what,
                             PyObject *arg)
{
    if (!link.func)
        return 0;
    memcount before, after;
    heaphook_save(&before);
    int r = link.func(obj, frame, what, arg);
    heaphook_save(&after);
    /* Keep the frees, of each part (Python, native), drop the rest. */
    int64_t native = after.native - before.native;
    int64_t python = (after.cur - after.native) - (before.cur - before.native);
    native = native < 0 ? native : 0;
    python = python < 0 ? python : 0;
    after.native = before.native + native;
    after.cur = before.cur + python + native;
    after.max = before.max > after.cur ? before.max : after.cur;
    after.native_max = before.native_max > after.native ? before.native_max : after.native;
    after.lazy = before.lazy;
    heaphook_restore(&after);
    return r;
}

int chain_forward_slow(chain_which which, PyObject *obj, PyFrameObject *frame, int what,
                       PyObject *arg);

/* The event, forwarded to the tool behind memline's hook in slot which;
 * 0 (no tool) or what the tool returned. */
static inline int chain_forward(chain_which which, PyObject *obj, PyFrameObject *frame,
                                int what, PyObject *arg)
{
    chain_slot *s = &chain_tls.slot[which];
    if (s->cur >= 0 && s->links[s->cur].obj == obj)
        return chain_call(s->links[s->cur], obj, frame, what, arg);
    if (obj == NULL && s->cur < 0)
        return 0; /* memline's hook alone: the common case */
    return chain_forward_slow(which, obj, frame, what, arg);
}

/* If slot which of ts holds another tool's function, puts ours there and
 * links the tool's behind it.  Returns 1 when a tool is linked behind ours
 * now, 0 when the slot is empty or ours alone.  Cannot fail. */
int chain_adopt(PyThreadState *ts, chain_which which, Py_tracefunc ours);

/* Whether slot which of ts holds ours with a tool linked behind it. */
int chain_linked(PyThreadState *ts, chain_which which, Py_tracefunc ours);

/* The same for a trace slot known to hold ours: two loads, for the gate's
 * path of every frame start. */
static inline int chain_trace_linked(PyObject *slot_obj)
{
    return slot_obj != NULL || chain_tls.slot[CHAIN_TRACE].cur >= 0;
}

/* memline put its own hook in slot which (the slot was empty): no tool
 * behind it. */
void chain_own(chain_which which);

/* memline no longer needs slot which of ts: if a tool is linked behind
 * ours, the tool's function goes back in the slot and 1 is returned (also
 * when the tool's function is unknown: ours stays, forwarding nothing);
 * else 0, and the slot is left as it is (the caller clears it). */
int chain_release(PyThreadState *ts, chain_which which, Py_tracefunc ours);

/* frame (profiled) has lines on again although the tool behind the trace
 * hook turned them off: its line events are not forwarded until
 * chain_unmute.  Returns 0, or -1 when too many frames are muted (then
 * the frame keeps the tool's setting). */
int chain_mute(PyFrameObject *frame);
void chain_unmute(PyFrameObject *frame);

/* Sets up the marker of hidden code.  Returns 0, or -1 with an exception
 * set.  Called once, from module init. */
int chain_init(void);

/* code is memline's own (@profile's wrapper): the tools linked behind
 * memline's hooks never see its frames, so they see the program as it runs
 * without memline.  Cannot fail (a code that cannot be marked stays
 * visible). */
void chain_hide(PyCodeObject *code);

/* Whether the tool behind slot which gets this event of frame.  A frame
 * of hidden code is kept from it from its call event on; one whose call
 * event it got before memline's hook was in front (the first call of a
 * session) it gets whole, so that its calls and returns pair up. */
int chain_sees(chain_which which, PyFrameObject *frame, int what);

static inline int chain_muted(PyFrameObject *frame)
{
    for (int i = 0; i < chain_tls.nmuted; i++)
        if (chain_tls.muted[i] == frame)
            return 1;
    return 0;
}

#endif
