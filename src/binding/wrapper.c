/* wrapper: the callable that @profile puts in place of a function.
 *
 * The callable is a small Python function, made from source for each
 * signature (make_callable):
 *
 *     def f(n):
 *         t = enter(state)
 *         try:
 *             r = func(n)
 *         except BaseException:
 *             fail(state, t)
 *             raise
 *         return leave(state, t, r)
 *
 * where state is an MLWrapper (below) and enter, leave, fail are C
 * functions that neither call back nor recurse.  Why Python: a C callable
 * (tp_call) puts C frames between every two levels of a profiled
 * recursion, which 3.11+ then cannot run as Python-to-Python calls, and
 * 50,000 levels overflowed the C stack; this function calls func with the
 * same arguments by a plain call, which 3.11+ inline.  Its frame does not
 * count toward the recursion limit (enter gives the level back), so a
 * profiled recursion reaches the depth plain Python reaches.  Being a
 * function with func's __module__ and __qualname__ (functools.wraps), it
 * pickles by reference, as func would.  Its lines are memline's, not the
 * program's: unprofiled, like those of any decorator around func. */
#include "wrapper.h"

#include "compat.h"
#include "engine.h"
#include "greenlets.h"
#include "hookchain.h"
#include "pyutil.h"
#include "tracer.h"

#include <pythread.h>
#include <stdarg.h>
#include <string.h>

/* Invariant: func is callable (the plain function, or a decorator's
 * callable around it), and exactly one of prof (which has added the
 * function under func) and around (with ctx, which records func's calls as
 * index) is set. */
typedef struct MLWrapper {
    PyObject_HEAD
    PyObject *func;
    MLProfiler *prof;
    const wrapper_around *around;
    PyObject *ctx;
    Py_ssize_t index;
    PyObject *stream; /* where decorator-mode reports go; NULL = stdout */
    int report;       /* decorator mode: print after each outermost call */
    int precision;
    int depth;        /* calls of this wrapper in progress (recursion, threads) */
    int resumable;    /* func makes generators, coroutines or async generators */
    int live;         /* such objects made and not yet collected */
    PyObject *refs;   /* set of the weakrefs watching them */
    PyObject *on_done;/* the weakref callback, bound to this wrapper */
    PyObject *dict;
    /* The check that no call lost its events (check_calls): the profiled
     * function's line table and its def line's row (-1: no check, when a
     * decorator between may not call it); since the outermost call began,
     * the calls that returned, the def line's count then, the shadow
     * stack's depth then, and in which thread. */
    linefunc *fn;
    int def_row;
    unsigned long long returned, occ_start;
    unsigned depth_start;
    unsigned long thread_start;
    int warned;
} MLWrapper;

/* The plain function a memline wrapper wraps (borrowed), or NULL when f
 * is none. */
static PyObject *wrapped_by_us(PyObject *f);

/* getattr(o, name), with 0 and *out NULL when it has none; 1; -1 with an
 * exception set. */
static int optional_attr(PyObject *o, const char *name, PyObject **out)
{
    *out = PyObject_GetAttrString(o, name);
    if (*out)
        return 1;
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    PyErr_Clear();
    return 0;
}

/* What the user passed, without memline's wrappers, bound methods,
 * classmethod and staticmethod objects: the callable a new wrapper calls.
 * New reference, or NULL with an exception set. */
static PyObject *call_target(PyObject *func)
{
    PyObject *inner = wrapped_by_us(func);
    if (inner)
        func = inner;
    if (PyMethod_Check(func))
        func = PyMethod_GET_FUNCTION(func);
    if (PyObject_TypeCheck(func, &PyClassMethod_Type) ||
        PyObject_TypeCheck(func, &PyStaticMethod_Type)) {
        PyObject *under = PyObject_GetAttrString(func, "__func__");
        if (!under)
            return NULL;
        PyObject *r = call_target(under);
        Py_DECREF(under);
        return r;
    }
    return Py_NewRef(func);
}

/* The innermost function under target: through __wrapped__ (what
 * functools.wraps leaves, at any depth) to the function whose source the
 * user sees.  New reference, or NULL with ProfileError set. */
static PyObject *innermost(PyObject *target)
{
    PyObject *f = Py_NewRef(target);
    for (int depth = 0; depth < 100; depth++) {
        PyObject *ours = wrapped_by_us(f);
        if (ours) {
            Py_SETREF(f, Py_NewRef(ours));
            continue;
        }
        PyObject *inner = NULL;
        if (optional_attr(f, "__wrapped__", &inner) < 0) {
            Py_DECREF(f);
            return NULL;
        }
        if (!inner)
            break;
        if (PyMethod_Check(inner))
            Py_SETREF(inner, Py_NewRef(PyMethod_GET_FUNCTION(inner)));
        Py_SETREF(f, inner);
    }
    if (!PyFunction_Check(f)) {
        PyErr_Format(ml_ProfileError,
                     "profile() needs a Python function or method, got %.100s object %R",
                     Py_TYPE(f)->tp_name, f);
        Py_DECREF(f);
        return NULL;
    }
    return f;
}

PyObject *wrapper_unwrap(PyObject *func)
{
    PyObject *target = call_target(func);
    if (!target)
        return NULL;
    PyObject *f = innermost(target);
    Py_DECREF(target);
    return f;
}

/* Prints and clears the report, keeping any exception the call raised. */
static int report_call(MLWrapper *self)
{
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    int rc = profiler_show(self->prof, self->stream, self->precision, -1);
    profiler_clear(self->prof);
    if (et) {
        if (rc < 0)
            PyErr_Clear(); /* the program's own exception matters more */
        PyErr_Restore(et, ev, tb);
    }
    return rc;
}

/* A generator (or coroutine, async generator) keeps its profiler on from
 * its creation until it is collected, so every resumption is traced, in
 * whatever thread; its collection ends the "call" for the report. */
static int watch(MLWrapper *self, PyObject *gen)
{
    PyObject *ref = PyWeakref_NewRef(gen, self->on_done);
    if (!ref)
        return -1;
    int rc = PySet_Add(self->refs, ref);
    Py_DECREF(ref);
    if (rc < 0 || profiler_enable_by_count(self->prof) < 0) {
        if (rc == 0)
            PySet_Discard(self->refs, ref);
        return -1;
    }
    self->live++;
    return 0;
}

static PyObject *gen_done(PyObject *wself, PyObject *ref)
{
    MLWrapper *self = (MLWrapper *)wself;
    if (PySet_Discard(self->refs, ref) != 1)
        Py_RETURN_NONE;
    self->live--;
    profiler_disable_by_count(self->prof);
    if (self->report && self->depth == 0 && self->live == 0 && report_call(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef gen_done_def = {"_generator_done", gen_done, METH_O, NULL};

/* ---- enter, leave, fail: what the callable calls around func ---- */

/* Before func: the profiler on (or the around-hook's enter), and the
 * wrapper's frame given back to the recursion limit.  Returns the token
 * for leave or fail (a stamp's index, or None), or NULL with an exception
 * set, and then nothing is to be undone. */
static PyObject *wrapper_enter(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 1 || Py_TYPE(args[0]) != &MLWrapper_Type)
        return PyErr_Format(PyExc_TypeError, "memline: enter(state)");
    MLWrapper *self = (MLWrapper *)args[0];
    /* Before 3.11 each Python level nests C calls, and this wrapper
     * doubles them: refuse where the stack would not hold the next
     * levels, rather than crash. */
    if (ml_stack_full((uintptr_t)__builtin_frame_address(0), ""))
        return NULL;
    PyObject *token;
    if (self->around) {
        Py_ssize_t t = self->around->enter(self->ctx, self->index);
        if (t < 0)
            return NULL;
        token = PyLong_FromSsize_t(t);
        if (!token) {
            self->around->exit(self->ctx, t);
            return NULL;
        }
    } else {
        /* A tool that set or cleared a hook since memline last looked is
         * linked now, at the call. */
        tracer_adopt();
        greenlets_notice();
        if (profiler_enable_by_count(self->prof) < 0)
            return NULL;
        if (self->depth++ == 0 && self->def_row >= 0) {
            self->returned = 0;
            self->occ_start = self->fn->rows[self->def_row].occurrences;
            self->depth_start = engine_depth();
            self->thread_start = PyThread_get_thread_ident();
        }
        token = Py_NewRef(Py_None);
    }
    compat_recursion_credit(PyThreadState_Get(), 1);
    return token;
}

/* At the end of an outermost call: did every call deliver its events?  A
 * call that returned but whose call event never came, or whose return
 * never came, lost them to another tool that took the hook away.  Then
 * the frames left on the shadow stack are charged and popped, the
 * function is marked (its report says so) and a warning names the hook
 * that holds the slot now. */
static void check_calls(MLWrapper *self)
{
    if (self->def_row < 0 || self->resumable)
        return;
    unsigned long long seen = self->fn->rows[self->def_row].occurrences - self->occ_start;
    unsigned stale = self->thread_start == PyThread_get_thread_ident()
                         ? engine_unwind(self->depth_start)
                         : 0;
    if (seen >= self->returned && stale == 0)
        return;
    self->fn->incomplete = 1;
    if (self->warned)
        return;
    self->warned = 1;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyObject *holder = PySys_GetObject("gettrace"); /* borrowed */
    PyObject *now = holder ? PyObject_CallNoArgs(holder) : NULL;
    PySys_FormatStderr("memline: warning: %s (%s) lost the events of some calls: another tool "
                       "took the trace hook (it holds %R now); its report is marked "
                       "incomplete\n",
                       self->fn->name, self->fn->filename, now ? now : Py_None);
    Py_XDECREF(now);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
}

/* After func, whether it returned or raised (r NULL): undoes enter.
 * Returns 0, or -1 with an exception set (the report could not be
 * written, or a generator not watched), which replaces what func
 * returned. */
static int after_call(MLWrapper *self, PyObject *token, PyObject *r)
{
    compat_recursion_credit(PyThreadState_Get(), -1);
    if (self->around) {
        self->around->exit(self->ctx, PyLong_AsSsize_t(token));
        return 0;
    }
    if (r)
        self->returned++;
    if (--self->depth == 0)
        check_calls(self);
    int rc = 0;
    if (r && self->resumable && (PyGen_Check(r) || PyCoro_CheckExact(r) || PyAsyncGen_CheckExact(r)) &&
        watch(self, r) < 0)
        rc = -1;
    profiler_disable_by_count(self->prof);
    if (self->report && self->depth == 0 && self->live == 0 && report_call(self) < 0)
        rc = -1;
    return rc;
}

/* leave(state, token, result): returns result. */
static PyObject *wrapper_leave(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || Py_TYPE(args[0]) != &MLWrapper_Type)
        return PyErr_Format(PyExc_TypeError, "memline: leave(state, token, result)");
    return after_call((MLWrapper *)args[0], args[1], args[2]) < 0 ? NULL : Py_NewRef(args[2]);
}

/* fail(state, token): func raised; the exception goes on unchanged (an
 * error of memline's own here is dropped: the program's matters more). */
static PyObject *wrapper_fail(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || Py_TYPE(args[0]) != &MLWrapper_Type)
        return PyErr_Format(PyExc_TypeError, "memline: fail(state, token)");
    if (after_call((MLWrapper *)args[0], args[1], NULL) < 0)
        PyErr_Clear();
    Py_RETURN_NONE;
}

static PyMethodDef hook_defs[] = {
    /* METH_FASTCALL: 3.11 counts METH_O calls toward the recursion limit,
     * which would cost the deepest profiled level its last frame. */
    {"_wrapper_enter", (PyCFunction)(void (*)(void))wrapper_enter, METH_FASTCALL, NULL},
    {"_wrapper_leave", (PyCFunction)(void (*)(void))wrapper_leave, METH_FASTCALL, NULL},
    {"_wrapper_fail", (PyCFunction)(void (*)(void))wrapper_fail, METH_FASTCALL, NULL},
};

static PyObject *hooks[3]; /* owned: enter, leave, fail, made at init */

static PyObject *wrapper_repr(MLWrapper *self)
{
    return PyUnicode_FromFormat("<memline wrapper state of %R>", self->func);
}

static int wrapper_traverse(MLWrapper *self, visitproc visit, void *arg)
{
    Py_VISIT(self->func);
    Py_VISIT(self->prof);
    Py_VISIT(self->ctx);
    Py_VISIT(self->stream);
    Py_VISIT(self->refs);
    Py_VISIT(self->on_done);
    Py_VISIT(self->dict);
    return 0;
}

static int wrapper_clear(MLWrapper *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->prof);
    Py_CLEAR(self->ctx);
    Py_CLEAR(self->stream);
    Py_CLEAR(self->refs);
    Py_CLEAR(self->on_done);
    Py_CLEAR(self->dict);
    return 0;
}

static void wrapper_dealloc(MLWrapper *self)
{
    PyObject_GC_UnTrack(self);
    wrapper_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyGetSetDef wrapper_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject MLWrapper_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "memline._WrapperState",
    .tp_basicsize = sizeof(MLWrapper),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "What the wrapper of a function profiled by memline keeps between calls.",
    .tp_repr = (reprfunc)wrapper_repr,
    .tp_traverse = (traverseproc)wrapper_traverse,
    .tp_clear = (inquiry)wrapper_clear,
    .tp_dealloc = (destructor)wrapper_dealloc,
    .tp_getset = wrapper_getset,
    .tp_dictoffset = offsetof(MLWrapper, dict),
};

/* Makes inspect and asyncio see the wrapper of an async def as a coroutine
 * function, as they see the function itself. */
/* The name of the callable's code, which tracebacks show. */
#define WRAPPER_FILENAME "<memline>"

static PyObject *makers; /* owned dict: source -> the function that makes such callables */

/* Appends a formatted piece to *text (a str, or NULL after a failure). */
static void add_text(PyObject **text, const char *fmt, ...)
{
    if (!*text)
        return;
    va_list va;
    va_start(va, fmt);
    PyObject *piece = PyUnicode_FromFormatV(fmt, va);
    va_end(va);
    PyObject *r = piece ? PyUnicode_Concat(*text, piece) : NULL;
    Py_XDECREF(piece);
    Py_SETREF(*text, r);
}

/* Whether name can stand for one of func's parameters in the made source. */
static int usable_name(PyObject *name)
{
    if (!PyUnicode_Check(name) || !PyUnicode_IsIdentifier(name))
        return 0;
    const char *text = PyUnicode_AsUTF8(name);
    if (!text) {
        PyErr_Clear();
        return 0;
    }
    return strncmp(text, "__ml_", 5) != 0;
}

/* The source of the maker of target's callable: with target's own
 * parameters when it is a Python function whose parameter names can be
 * written (so the call of target is a plain call), else (*args, **kw).
 * New reference, or NULL with an exception set. */
static PyObject *maker_source(PyObject *target)
{
    PyObject *params = PyUnicode_FromString(""), *call = PyUnicode_FromString("");
    PyObject *name = NULL, *src = NULL, *names = NULL;
    int generic = 1;
    if (!params || !call)
        goto done;
    if (PyFunction_Check(target)) {
        PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(target);
        names = PyObject_GetAttrString((PyObject *)code, "co_varnames");
        if (!names || !PyTuple_Check(names))
            goto done;
        int argc = code->co_argcount, posonly = code->co_posonlyargcount;
        int kwonly = code->co_kwonlyargcount;
        int star = (code->co_flags & CO_VARARGS) != 0, dstar = (code->co_flags & CO_VARKEYWORDS) != 0;
        int n = argc + kwonly + star + dstar;
        generic = PyTuple_GET_SIZE(names) < n;
        for (int i = 0; i < n && !generic; i++)
            generic = !usable_name(PyTuple_GET_ITEM(names, i));
        if (!generic) {
            for (int i = 0; i < argc; i++) {
                PyObject *v = PyTuple_GET_ITEM(names, i);
                add_text(&params, "%U, ", v);
                add_text(&call, "%U, ", v);
                if (i + 1 == posonly)
                    add_text(&params, "/, ");
            }
            if (star) {
                PyObject *v = PyTuple_GET_ITEM(names, argc + kwonly);
                add_text(&params, "*%U, ", v);
                add_text(&call, "*%U, ", v);
            } else if (kwonly > 0) {
                add_text(&params, "*, ");
            }
            for (int i = argc; i < argc + kwonly; i++) {
                PyObject *v = PyTuple_GET_ITEM(names, i);
                add_text(&params, "%U, ", v);
                add_text(&call, "%U=%U, ", v, v);
            }
            if (dstar) {
                PyObject *v = PyTuple_GET_ITEM(names, argc + kwonly + star);
                add_text(&params, "**%U", v);
                add_text(&call, "**%U", v);
            }
            name = PyUnicode_IsIdentifier(code->co_name) ? Py_NewRef(code->co_name) : NULL;
        }
    }
    if (generic) {
        Py_SETREF(params, PyUnicode_FromString("*__ml_args, **__ml_kw"));
        Py_SETREF(call, PyUnicode_FromString("*__ml_args, **__ml_kw"));
    }
    if (!name)
        name = PyUnicode_FromString("wrapper");
    if (!params || !call || !name)
        goto done;
    src = PyUnicode_FromFormat(
        "def __ml_make(__ml_enter, __ml_leave, __ml_fail, __ml_state, __ml_func):\n"
        "    def %U(%U):\n"
        "        __ml_t = __ml_enter(__ml_state)\n"
        "        try:\n"
        "            __ml_r = __ml_func(%U)\n"
        "        except BaseException:\n"
        "            __ml_fail(__ml_state, __ml_t)\n"
        "            raise\n"
        "        return __ml_leave(__ml_state, __ml_t, __ml_r)\n"
        "    return %U\n",
        name, params, call, name);
done:
    Py_XDECREF(params);
    Py_XDECREF(call);
    Py_XDECREF(name);
    Py_XDECREF(names);
    return src;
}

/* The maker for target's signature, compiled once per source.  Borrowed,
 * or NULL with an exception set. */
static PyObject *maker_for(PyObject *target)
{
    PyObject *src = maker_source(target), *maker = NULL;
    if (!src)
        return NULL;
    maker = PyDict_GetItemWithError(makers, src);
    if (maker || PyErr_Occurred())
        goto done;
    const char *text = PyUnicode_AsUTF8(src);
    PyObject *code = text ? Py_CompileString(text, WRAPPER_FILENAME, Py_file_input) : NULL;
    PyObject *ns = code ? PyDict_New() : NULL;
    PyObject *builtins = ns ? PyEval_GetBuiltins() : NULL; /* borrowed */
    PyObject *r = builtins && PyDict_SetItemString(ns, "__builtins__", builtins) == 0
                      ? PyEval_EvalCode(code, ns, ns)
                      : NULL;
    maker = r ? PyDict_GetItemString(ns, "__ml_make") : NULL;
    if (maker && PyDict_SetItem(makers, src, maker) < 0)
        maker = NULL;
    Py_XDECREF(r);
    Py_XDECREF(ns);
    Py_XDECREF(code);
done:
    Py_DECREF(src);
    return maker;
}

static PyObject *wrapped_by_us(PyObject *f)
{
    if (!PyFunction_Check(f))
        return NULL;
    PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(f);
    PyObject *cells = PyFunction_GET_CLOSURE(f);
    if (!cells || !PyUnicode_Check(code->co_filename) ||
        PyUnicode_CompareWithASCIIString(code->co_filename, WRAPPER_FILENAME) != 0)
        return NULL;
    /* The maker's closure: enter, fail, func, leave, state, in the order of
     * co_freevars (sorted by name). */
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(cells); i++) {
        PyObject *v = PyCell_GET(PyTuple_GET_ITEM(cells, i));
        if (v && Py_TYPE(v) == &MLWrapper_Type)
            return ((MLWrapper *)v)->func;
    }
    return NULL;
}

static int is_resumable(PyObject *func)
{
    return (((PyCodeObject *)PyFunction_GET_CODE(func))->co_flags &
            (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) != 0;
}

/* The callable around target (which calls it) for state; func is the
 * innermost function.  New reference, or NULL with an exception set. */
static PyObject *make_callable(MLWrapper *state, PyObject *target, PyObject *func)
{
    PyObject *maker = maker_for(target); /* borrowed */
    PyObject *w = maker ? PyObject_CallFunctionObjArgs(maker, hooks[0], hooks[1], hooks[2],
                                                       (PyObject *)state, target, NULL)
                        : NULL;
    if (!w)
        return NULL;
    if (PyFunction_Check(w))
        chain_hide((PyCodeObject *)PyFunction_GET_CODE(w));
    if (PyFunction_Check(target) && PyFunction_Check(w)) {
        PyObject *defaults = PyFunction_GET_DEFAULTS(target);
        PyObject *kwdefaults = PyFunction_GET_KW_DEFAULTS(target);
        if ((defaults && PyFunction_SetDefaults(w, defaults) < 0) ||
            (kwdefaults && PyFunction_SetKwDefaults(w, kwdefaults) < 0)) {
            Py_DECREF(w);
            return NULL;
        }
    }
    /* functools.update_wrapper gives exactly the attributes users expect:
     * __module__, __name__, __qualname__, __doc__, __dict__, __wrapped__. */
    PyObject *functools = PyImport_ImportModule("functools");
    PyObject *r = functools ? PyObject_CallMethod(functools, "update_wrapper", "OO", w, target)
                            : NULL;
    Py_XDECREF(functools);
    if (!r) {
        Py_DECREF(w);
        return NULL;
    }
    Py_DECREF(r);
    /* Inspect and asyncio see the wrapper of an async def as a coroutine
     * function, as they see the function itself. */
    if ((((PyCodeObject *)PyFunction_GET_CODE(func))->co_flags & CO_COROUTINE) &&
        compat_mark_coroutine_function(w) < 0) {
        Py_DECREF(w);
        return NULL;
    }
    return w;
}

/* A new callable for orig, which is what the user passed. */
static PyObject *make_wrapper(PyObject *orig, MLProfiler *prof, const wrapper_around *around,
                              PyObject *ctx, Py_ssize_t index, int report, PyObject *stream,
                              int precision)
{
    tracer_link_tools();
    PyObject *target = call_target(orig);
    PyObject *func = target ? innermost(target) : NULL;
    MLWrapper *self = func ? PyObject_GC_New(MLWrapper, &MLWrapper_Type) : NULL;
    PyObject *w = NULL;
    if (!self)
        goto done;
    self->func = Py_NewRef(target);
    self->prof = prof ? (MLProfiler *)Py_NewRef((PyObject *)prof) : NULL;
    self->around = around;
    self->ctx = ctx ? Py_NewRef(ctx) : NULL;
    self->index = index;
    self->stream = stream && stream != Py_None ? Py_NewRef(stream) : NULL;
    self->report = report;
    self->precision = precision;
    self->depth = 0;
    self->live = 0;
    self->resumable = prof && is_resumable(func);
    self->fn = NULL;
    self->def_row = -1;
    self->warned = 0;
    if (prof && target == func) {
        PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(func);
        PyObject *index = PyDict_GetItemWithError(prof->funcs, (PyObject *)code); /* borrowed */
        linefunc *fn = index ? linetab_get(prof->tab, PyLong_AsSize_t(index)) : NULL;
        PyErr_Clear();
        if (fn && code->co_firstlineno >= fn->first &&
            code->co_firstlineno < fn->first + fn->nlines) {
            self->fn = fn;
            self->def_row = code->co_firstlineno - fn->first;
        }
    }
    self->refs = NULL;
    self->on_done = NULL;
    self->dict = NULL;
    PyObject_GC_Track(self);
    self->refs = PySet_New(NULL);
    self->on_done = self->refs ? PyCFunction_NewEx(&gen_done_def, (PyObject *)self, NULL) : NULL;
    if (self->on_done)
        w = make_callable(self, target, func);
done:
    Py_XDECREF((PyObject *)self);
    Py_XDECREF(func);
    Py_XDECREF(target);
    return w;
}

PyObject *wrapper_new(PyObject *func, MLProfiler *prof, int report, PyObject *stream,
                      int precision)
{
    return make_wrapper(func, prof, NULL, NULL, 0, report, stream, precision);
}

PyObject *wrapper_new_around(PyObject *orig, const wrapper_around *around, PyObject *ctx,
                             Py_ssize_t index)
{
    return make_wrapper(orig, NULL, around, ctx, index, 0, NULL, 1);
}

PyObject *wrapper_new_like(PyObject *orig, MLProfiler *prof, int report, PyObject *stream,
                           int precision)
{
    PyObject *w = wrapper_new(orig, prof, report, stream, precision);
    if (!w)
        return NULL;
    PyTypeObject *kind = NULL;
    if (PyObject_TypeCheck(orig, &PyClassMethod_Type))
        kind = &PyClassMethod_Type;
    else if (PyObject_TypeCheck(orig, &PyStaticMethod_Type))
        kind = &PyStaticMethod_Type;
    if (!kind)
        return w;
    PyObject *r = PyObject_CallOneArg((PyObject *)kind, w);
    Py_DECREF(w);
    return r;
}

int wrapper_init_type(PyObject *module)
{
    (void)module;
    makers = PyDict_New();
    if (!makers)
        return -1;
    for (int i = 0; i < 3; i++) {
        hooks[i] = PyCFunction_NewEx(&hook_defs[i], NULL, NULL);
        if (!hooks[i])
            return -1;
    }
    return PyType_Ready(&MLWrapper_Type);
}
