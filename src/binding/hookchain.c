/* hookchain: links other tools' trace and profile hooks behind memline's
 * (hookchain.h). */
#include "hookchain.h"

#include "compat.h"
#include "core/mlalloc.h"

#include <assert.h>

__thread hook_chain chain_tls __attribute__((tls_model("initial-exec"))) = {
    .slot = {{.cur = -1}, {.cur = -1}},
};

static int warned_lost;
static Py_ssize_t hidden_index = -1; /* the co_extra slot that marks hidden code */

int chain_init(void)
{
    hidden_index = compat_request_code_extra(NULL);
    if (hidden_index < 0) {
        PyErr_SetString(PyExc_RuntimeError, "memline: no code extra slot left");
        return -1;
    }
    return 0;
}

void chain_hide(PyCodeObject *code)
{
    if (compat_code_set_extra(code, hidden_index, (void *)code) < 0)
        PyErr_Clear();
}

static int hidden_code(PyFrameObject *frame)
{
    PyCodeObject *code = compat_frame_code(frame);
    void *mark = NULL;
    if (compat_code_has_extra(code) && compat_code_get_extra(code, hidden_index, &mark) < 0)
        PyErr_Clear();
    Py_DECREF(code);
    return mark != NULL;
}

int chain_sees(chain_which which, PyFrameObject *frame, int what)
{
    chain_slot *s = &chain_tls.slot[which];
    if (what != PyTrace_CALL) {
        /* A hidden frame's other events: it is on the hidden stack (and on
         * top: it runs), which needs no look at its code. */
        if (s->nhidden == 0 || s->hidden[s->nhidden - 1] != frame)
            return 1;
        if (what == PyTrace_RETURN)
            s->nhidden--;
        return 0;
    }
    if (!hidden_code(frame))
        return 1;
    if (s->nhidden == s->caphidden) {
        int cap = s->caphidden ? 2 * s->caphidden : 64;
        PyFrameObject **grown = ml_realloc(s->hidden, (size_t)cap * sizeof *grown);
        if (!grown)
            return 1; /* it sees this frame whole */
        s->hidden = grown;
        s->caphidden = cap;
    }
    s->hidden[s->nhidden++] = frame;
    return 0;
}

/* The invariant of chain_slot, for assert(). */
static inline int slot_ok(const chain_slot *s)
{
    if (s->n < 0 || s->n > CHAIN_KEEP || s->cur < -1 || s->cur >= s->n)
        return 0;
    for (int i = 0; i < s->n; i++)
        if (!s->links[i].func)
            return 0;
    return 1;
}

static Py_tracefunc slot_func(PyThreadState *ts, chain_which which)
{
    return which == CHAIN_TRACE ? compat_trace_hook(ts) : compat_profile_hook(ts);
}

static PyObject *slot_obj(PyThreadState *ts, chain_which which)
{
    return which == CHAIN_TRACE ? compat_trace_obj(ts) : compat_profile_obj(ts);
}

static void set_slot_func(PyThreadState *ts, chain_which which, Py_tracefunc fn)
{
    if (which == CHAIN_TRACE)
        compat_replace_trace_func(ts, fn);
    else
        compat_replace_profile_func(ts, fn);
}

/* The link holding obj, made current; -1 when none does. */
static int find(chain_slot *s, PyObject *obj)
{
    for (int i = 0; i < s->n; i++) {
        if (s->links[i].obj == obj) {
            s->cur = i;
            return i;
        }
    }
    return -1;
}

int chain_forward_slow(chain_which which, PyObject *obj, PyFrameObject *frame, int what,
                       PyObject *arg)
{
    chain_slot *s = &chain_tls.slot[which];
    /* Another object than the current link's: a tool put back a pair it
     * had read from the slot while ours was in it, or memline's own hook
     * (NULL) came back after a tool let go. */
    if (find(s, obj) < 0) {
        s->cur = -1;
        if (obj != NULL && !warned_lost) {
            warned_lost = 1;
            PySys_FormatStderr("memline: warning: a %s hook that another tool set (object %R) "
                               "can no longer be reached through memline's; that tool misses "
                               "events from here on\n",
                               which == CHAIN_TRACE ? "trace" : "profile", obj);
            PyErr_Clear();
        }
        return 0;
    }
    return chain_forward(which, obj, frame, what, arg);
}

int chain_adopt(PyThreadState *ts, chain_which which, Py_tracefunc ours)
{
    chain_slot *s = &chain_tls.slot[which];
    Py_tracefunc f = slot_func(ts, which);
    PyObject *obj = slot_obj(ts, which);
    int linked;
    if (f == NULL) {
        s->cur = -1;
        linked = 0;
    } else if (f == ours) {
        linked = obj != NULL || s->cur >= 0;
    } else {
        /* Newest first; a pair linked before moves to the front. */
        int i = 0;
        while (i < s->n && !(s->links[i].func == f && s->links[i].obj == obj))
            i++;
        if (i == s->n && s->n < CHAIN_KEEP)
            s->n++;
        if (i == s->n)
            i = s->n - 1;
        for (; i > 0; i--)
            s->links[i] = s->links[i - 1];
        s->links[0].func = f;
        s->links[0].obj = obj;
        s->cur = 0;
        set_slot_func(ts, which, ours);
        linked = 1;
    }
    assert(slot_ok(s));
    return linked;
}

int chain_linked(PyThreadState *ts, chain_which which, Py_tracefunc ours)
{
    return slot_func(ts, which) == ours &&
           (slot_obj(ts, which) != NULL || chain_tls.slot[which].cur >= 0);
}

void chain_own(chain_which which)
{
    chain_tls.slot[which].cur = -1;
}

int chain_release(PyThreadState *ts, chain_which which, Py_tracefunc ours)
{
    chain_slot *s = &chain_tls.slot[which];
    if (!chain_linked(ts, which, ours))
        return 0;
    PyObject *obj = slot_obj(ts, which);
    if (!(s->cur >= 0 && s->links[s->cur].obj == obj) && find(s, obj) < 0)
        return 1; /* a tool's object whose function is unknown: ours stays */
    set_slot_func(ts, which, s->links[s->cur].func);
    s->cur = -1;
    assert(slot_ok(s));
    return 1;
}

int chain_mute(PyFrameObject *frame)
{
    hook_chain *c = &chain_tls;
    if (chain_muted(frame))
        return 0;
    if (c->nmuted == (int)(sizeof c->muted / sizeof c->muted[0]))
        return -1;
    c->muted[c->nmuted++] = frame;
    return 0;
}

void chain_unmute(PyFrameObject *frame)
{
    hook_chain *c = &chain_tls;
    for (int i = 0; i < c->nmuted; i++) {
        if (c->muted[i] == frame) {
            c->muted[i] = c->muted[--c->nmuted];
            return;
        }
    }
}
