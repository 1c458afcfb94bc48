/* symhook_elf: symhook for ELF objects loaded by glibc's dynamic loader
 * (x86-64 and aarch64; i386's REL tables are read too).
 *
 * A pass walks the loader's object list (dl_iterate_phdr) three times:
 *   1. snapshot: every object's address range, so that the value a slot holds
 *      can be traced to the object it points into;
 *   2. plan: read each new object's PT_DYNAMIC, find the JUMP_SLOT, GLOB_DAT
 *      and absolute-pointer relocations of the hooked symbols, and judge what each slot
 *      holds (the real function, a lazy PLT stub, another tool's hook, ...);
 *   3. apply: make each slot's page writable if it is not (full RELRO), write
 *      with a compare-and-swap, put the page's protection back, and record
 *      (slot, old value).
 * Every read or write of an object's memory happens inside a callback, while
 * the loader holds the lock that keeps objects from being unloaded; between
 * walks the loader's adds/subs counters tell whether the set changed, and if
 * it did the pass starts over.  Every pointer read out of an object is first
 * checked to lie inside one of its loaded segments, so a malformed object is
 * skipped and reported, never followed.
 *
 * Never called from a callback: dlsym, dladdr, dlopen (they take the loader's
 * main lock, which a thread inside dlopen holds while it waits for the lock
 * dl_iterate_phdr holds: a deadlock).  The callbacks allocate only through
 * ml_malloc, never qsort or stdio. */
#include "symhook.h"

#include <assert.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elfdyn.h"
#include "mlalloc.h"
#include "mlerr.h"

/* glibc 2.35+ can tell whether an object has finished loading (see
 * fully_loaded); older headers lack the type, and then we cannot tell. */
#ifdef DLFO_STRUCT_HAS_EH_DBASE
#define SH_HAVE_DLFO 1
typedef int (*sh_find_object_fn)(void *, struct dl_find_object *);
#else
#define SH_HAVE_DLFO 0
#endif

#define SH_MAXSYMS 32
#define SH_RETRIES 16
#define SH_CHANGED (-1) /* internal: the loaded set changed during a pass */

/* An object as pass 1 saw it; valid only while the loader's counters stay
 * as they were.  Invariant: lo < hi, and the array is sorted by lo. */
typedef struct sh_snap {
    uintptr_t base, lo, hi;
    const ElfW(Phdr) *phdr;
    size_t phnum;
    const char *path; /* the loader's string, or the set's exe path */
} sh_snap;

/* A loaded object a pass has decided about.  Invariant: path is owned and
 * not NULL; other is owned and set only for SYMHOOK_SKIP_FOREIGN; ids are
 * unique and never reused, so entries can name their object. */
typedef struct sh_obj {
    uintptr_t base;
    const void *phdr;
    char *path;
    char *other;
    unsigned long id;
    int reason;
    unsigned gen; /* the last pass that saw it loaded */
} sh_obj;

/* A slot we rewrote.  Invariant: obj names an entry of objs; at the time of
 * writing, *slot went from old to hook. */
typedef struct sh_ent {
    uintptr_t slot;
    void *old, *hook;
    unsigned long obj;
} sh_ent;

/* A write pass 2 planned and pass 3 makes.  Invariant: slot is aligned and
 * inside a writable segment of its object; old is what it held in pass 2;
 * hook and real are those of the slot's symbol. */
typedef struct sh_plan {
    uintptr_t slot;
    void *old, *hook, *real;
} sh_plan;

/* A new object pass 2 decided about; pass 3 writes its planned slots and
 * moves it into objs (done).  path and other are owned until moved. */
typedef struct sh_pobj {
    uintptr_t base;
    const void *phdr;
    char *path, *other;
    int reason;
    size_t plan_lo, plan_hi; /* its writes: plan[plan_lo, plan_hi) */
    int done;
} sh_pobj;

/* One line of /proc/self/maps.  Invariant: lo < hi, lines sorted by lo and
 * disjoint (as the kernel writes them). */
typedef struct sh_prot {
    uintptr_t lo, hi;
    int prot;
} sh_prot;

/* Invariants (sh_check): nsyms <= SH_MAXSYMS; every array's count <= its
 * capacity; every entry's obj is an id in objs; after restore() succeeded
 * nents == 0; the scratch arrays (snap, pobj, plan, prot) mean something
 * only during a pass. */
struct symhook_set {
    symhook_sym syms[SH_MAXSYMS];
    size_t nsyms;
    size_t namelen[SH_MAXSYMS];
    symhook_opts opts;
#if SH_HAVE_DLFO
    sh_find_object_fn find_object;
#endif
    char exe[PATH_MAX];
    uintptr_t vdso, ldbase;
    uintptr_t page;
    int restored, scanned, pending;
    unsigned long long adds, subs; /* the loader's counters after the last full pass */
    unsigned gen;
    unsigned long next_id;

    sh_obj *objs;
    size_t nobjs, capobjs;
    sh_ent *ents;
    size_t nents, capents;

    /* Scratch of one pass. */
    sh_snap *snap;
    size_t nsnap, capsnap;
    sh_pobj *pobj;
    size_t npobj, cappobj;
    sh_plan *plan;
    size_t nplan, capplan;
    sh_prot *prot;
    size_t nprot, capprot;
    int prot_ok;
    char *mapsbuf;
    size_t mapscap;
    unsigned long long cx_adds, cx_subs;
    int cx_counters, cx_changed, cx_verify, cx_err;
    ssize_t real_obj[SH_MAXSYMS]; /* snapshot index holding syms[j].real, or -1 */

    char *foreign;
};

/* ---- small helpers -------------------------------------------------- */

static void *sh_grow(void *v, size_t *cap, size_t want, size_t elem, int *rc)
{
    if (want <= *cap)
        return v;
    size_t nc = *cap ? *cap : 16;
    while (nc < want) {
        if (nc > SIZE_MAX / 2 / elem) {
            *rc = ML_ENOMEM;
            return v;
        }
        nc *= 2;
    }
    void *p = ml_realloc(v, nc * elem);
    if (!p) {
        *rc = ML_ENOMEM;
        return v;
    }
    *cap = nc;
    return p;
}

#define SH_RESERVE(arr, cap, want, rc) ((arr) = sh_grow((arr), &(cap), (want), sizeof *(arr), &(rc)))

static const char *sh_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void load_range(uintptr_t base, const ElfW(Phdr) *phdr, size_t phnum, uintptr_t page,
                       uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t l = UINTPTR_MAX, h = 0;
    for (size_t i = 0; i < phnum; i++) {
        if (phdr[i].p_type != PT_LOAD)
            continue;
        uintptr_t a = base + phdr[i].p_vaddr, b = a + phdr[i].p_memsz;
        if (a < l)
            l = a;
        if (b > h)
            h = b;
    }
    if (l > h)
        l = h = 0;
    *lo = l & ~(page - 1);
    *hi = h;
}

/* ---- the loaded set --------------------------------------------------- */

static const char *obj_path(const symhook_set *s, const char *dlpi_name)
{
    if (dlpi_name && dlpi_name[0])
        return dlpi_name;
    return s->exe[0] ? s->exe : "(main program)";
}

static int counters_of(const struct dl_phdr_info *info, size_t size, unsigned long long *adds,
                       unsigned long long *subs)
{
    if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        return 0;
    *adds = info->dlpi_adds;
    *subs = info->dlpi_subs;
    return 1;
}

/* Nonzero when the loaded set differs from the one pass 1 saw. */
static int set_changed(symhook_set *s, const struct dl_phdr_info *info, size_t size)
{
    unsigned long long a, b;
    if (!s->cx_counters || !counters_of(info, size, &a, &b))
        return 0;
    return a != s->cx_adds || b != s->cx_subs;
}

static int snap_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    symhook_set *s = data;
    if (s->nsnap == 0)
        s->cx_counters = counters_of(info, size, &s->cx_adds, &s->cx_subs);
    int rc = ML_OK;
    SH_RESERVE(s->snap, s->capsnap, s->nsnap + 1, rc);
    if (rc != ML_OK) {
        s->cx_err = rc;
        return 1;
    }
    sh_snap *o = &s->snap[s->nsnap];
    o->base = info->dlpi_addr;
    o->phdr = info->dlpi_phdr;
    o->phnum = info->dlpi_phnum;
    o->path = obj_path(s, info->dlpi_name);
    load_range(o->base, o->phdr, o->phnum, s->page, &o->lo, &o->hi);
    if (o->lo < o->hi)
        s->nsnap++;
    return 0;
}

/* Insertion sort: qsort may allocate, and there are only ~100 objects. */
static void sort_snap(symhook_set *s)
{
    for (size_t i = 1; i < s->nsnap; i++) {
        sh_snap x = s->snap[i];
        size_t j = i;
        while (j > 0 && s->snap[j - 1].lo > x.lo) {
            s->snap[j] = s->snap[j - 1];
            j--;
        }
        s->snap[j] = x;
    }
}

static ssize_t snap_find(const symhook_set *s, uintptr_t v)
{
    size_t lo = 0, hi = s->nsnap;
    while (lo < hi) { /* first object with lo > v */
        size_t mid = lo + (hi - lo) / 2;
        if (s->snap[mid].lo <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || v >= s->snap[lo - 1].hi)
        return -1;
    return (ssize_t)(lo - 1);
}

static int snapshot(symhook_set *s)
{
    s->nsnap = 0;
    s->cx_counters = 0;
    s->cx_err = ML_OK;
    dl_iterate_phdr(snap_cb, s);
    if (s->cx_err != ML_OK)
        return s->cx_err;
    sort_snap(s);
    for (size_t j = 0; j < s->nsyms; j++)
        s->real_obj[j] = snap_find(s, (uintptr_t)s->syms[j].real);
    return ML_OK;
}

static ssize_t find_obj(const symhook_set *s, uintptr_t base, const void *phdr, const char *path)
{
    /* Base and phdr alone can repeat: a library unloaded and another loaded
     * at the same address have their headers at the same place. */
    for (size_t k = 0; k < s->nobjs; k++)
        if (s->objs[k].base == base && s->objs[k].phdr == phdr && strcmp(s->objs[k].path, path) == 0)
            return (ssize_t)k;
    return -1;
}

/* Drops objs[k] and its entries (the object is gone, or its record stale). */
static void forget(symhook_set *s, size_t k)
{
    unsigned long id = s->objs[k].id;
    size_t w = 0;
    for (size_t r = 0; r < s->nents; r++)
        if (s->ents[r].obj != id)
            s->ents[w++] = s->ents[r];
    s->nents = w;
    ml_free(s->objs[k].path);
    ml_free(s->objs[k].other);
    memmove(&s->objs[k], &s->objs[k + 1], (s->nobjs - k - 1) * sizeof *s->objs);
    s->nobjs--;
}

/* After objects went away, a recorded object with the same key may be a new
 * copy of the same library: its slots then no longer hold our hooks. */
static int still_ours(const symhook_set *s, size_t k, const struct dl_phdr_info *info)
{
    elfdyn e;
    memset(&e, 0, sizeof e);
    e.base = info->dlpi_addr;
    e.phdr = info->dlpi_phdr;
    e.phnum = info->dlpi_phnum;
    for (size_t r = 0; r < s->nents; r++) {
        const sh_ent *x = &s->ents[r];
        if (x->obj != s->objs[k].id)
            continue;
        if (!elfdyn_in_seg(&e, x->slot, sizeof(void *), PF_W) ||
            __atomic_load_n((void **)x->slot, __ATOMIC_RELAXED) != x->hook)
            return 0;
    }
    return 1;
}

int symhook_is_sanitizer(const char *path)
{
    static const char *const rt[] = {"libasan", "libhwasan", "libtsan", "liblsan",
                                     "libubsan", "libmsan", "libclang_rt.", NULL};
    const char *b = sh_basename(path);
    for (size_t i = 0; rt[i]; i++)
        if (starts_with(b, rt[i]))
            return 1;
    return 0;
}

static int is_loader(const symhook_set *s, const struct dl_phdr_info *info, const char *path)
{
    if (s->ldbase && info->dlpi_addr == s->ldbase)
        return 1;
    const char *b = sh_basename(path);
    return starts_with(b, "ld-linux") || starts_with(b, "ld64.so") || starts_with(b, "ld-musl") ||
           starts_with(b, "ld.so");
}

static int is_libc(const elfdyn *e, const char *path)
{
    if (e->soname)
        return starts_with(e->soname, "libc.so");
    const char *b = sh_basename(path);
    return starts_with(b, "libc.so") || starts_with(b, "libc-2.");
}

/* Nonzero when the object has finished loading.  The loader lists an object
 * as soon as it is mapped, before it is relocated: patching it then would
 * race with the loader's own writes and its final mprotect of RELRO.
 * glibc >= 2.35 makes an object known to _dl_find_object only after
 * relocation, which is exactly the line we need; it is lock-free, so it may
 * be called here.  Without it (older glibc) we cannot tell: see NOTES.md. */
static int fully_loaded(const symhook_set *s, uintptr_t lo)
{
#if SH_HAVE_DLFO
    if (!s->find_object)
        return 1;
    struct dl_find_object r;
    if (s->find_object((void *)lo, &r) != 0)
        return 0;
    return (uintptr_t)r.dlfo_map_start <= lo && lo < (uintptr_t)r.dlfo_map_end;
#else
    (void)s;
    (void)lo;
    return 1;
#endif
}

/* ---- pass 2: plan -------------------------------------------------- */

enum { SH_LEAVE, SH_PATCH, SH_OTHERDEF, SH_FOREIGN };

/* The object pass 2 is planning.  Invariant: e is that object, parsed;
 * [lo, hi) its address range; other is set (to a string valid during the
 * callback) whenever foreign is. */
typedef struct sh_plan_cx {
    symhook_set *s;
    const elfdyn *e;
    uintptr_t lo, hi;
    int libc;
    int otherdef, foreign;
    const char *other;
} sh_plan_cx;

static ssize_t match_sym(const symhook_set *s, const char *name)
{
    for (size_t j = 0; j < s->nsyms; j++)
        if (name[0] == s->syms[j].name[0] && strncmp(name, s->syms[j].name, s->namelen[j] + 1) == 0)
            return (ssize_t)j;
    return -1;
}

/* What to do with a slot of symbol j that now holds v. */
static int judge(sh_plan_cx *cx, size_t j, uintptr_t v)
{
    symhook_set *s = cx->s;
    const char *name = s->syms[j].name;
    if (v == 0)
        return SH_LEAVE; /* an unresolved weak reference: it must stay NULL */
    if (v == (uintptr_t)s->syms[j].hook)
        return SH_LEAVE; /* already ours */
    if (v == (uintptr_t)s->syms[j].real)
        return SH_PATCH;
    elfdyn_def d;
    if (v >= cx->lo && v < cx->hi) {
        /* Its own lazy PLT stub, which the loader would bind to the real
         * function (even in libc, which defines calloc but reaches it through
         * a stub like anyone), unless the slot holds the object's own
         * definition: then it binds to itself (-Bsymbolic, RTLD_DEEPBIND, an
         * allocator of its own), and that is not ours to redirect. */
        elfdyn_find(cx->e, name, v, &d);
        return d.at_v || d.ifunc ? SH_OTHERDEF : SH_PATCH;
    }
    ssize_t k = snap_find(s, v);
    if (k < 0) {
        cx->other = "(anonymous memory)";
        return SH_FOREIGN;
    }
    elfdyn o;
    if (elfdyn_parse(&o, s->snap[k].base, s->snap[k].phdr, s->snap[k].phnum) == ML_OK) {
        elfdyn_find(&o, name, v, &d);
        if (d.undef_at_v)
            return SH_PATCH; /* an executable's canonical PLT stub: calls reach the real one */
        if (d.at_v || d.ifunc)
            /* A definition of name elsewhere: another version or alias in the
             * object that defines the real one is the same function; anything
             * else is a deliberate binding (RTLD_DEEPBIND, local scope). */
            return k == s->real_obj[j] ? SH_PATCH : SH_OTHERDEF;
    }
    cx->other = s->snap[k].path;
    return SH_FOREIGN;
}

/* Nonzero when a relocation's slot may be written; ML_EFORMAT-worthy when a
 * GOT slot is not.  An absolute relocation outside writable data is a text
 * relocation (or an odd placement): not ours, and no reason to distrust the
 * object. */
static int slot_ok(const elfdyn *e, uintptr_t slot, int abs, int *bad)
{
    *bad = 0;
    if (slot % sizeof(void *) == 0 && elfdyn_in_seg(e, slot, sizeof(void *), PF_W))
        return 1;
    *bad = !abs;
    return 0;
}

static int plan_slot(void *ctx, const elfdyn *e, uintptr_t slot, const char *name, int abs)
{
    sh_plan_cx *cx = ctx;
    symhook_set *s = cx->s;
    ssize_t j = match_sym(s, name);
    if (j < 0)
        return 0;
    if (cx->libc && !(s->syms[j].flags & SYMHOOK_ALLOC))
        return 0;
    int bad;
    if (!slot_ok(e, slot, abs, &bad))
        return bad ? ML_EFORMAT : 0;
    void *v = __atomic_load_n((void **)slot, __ATOMIC_RELAXED);
    int verdict = judge(cx, (size_t)j, (uintptr_t)v);
    /* A pointer in data (`xmlMalloc = malloc`) is the program's variable:
     * holding something else means the program set it so (CPython's
     * _decimal points libmpdec's at PyMem_Malloc), not that another tool is
     * in.  Only a GOT slot bound elsewhere says that. */
    if (abs && verdict == SH_FOREIGN)
        verdict = SH_LEAVE;
    switch (verdict) {
    case SH_PATCH: {
        int rc = ML_OK;
        SH_RESERVE(s->plan, s->capplan, s->nplan + 1, rc);
        if (rc != ML_OK)
            return rc;
        sh_plan *p = &s->plan[s->nplan++];
        p->slot = slot;
        p->old = v;
        p->hook = s->syms[j].hook;
        p->real = s->syms[j].real;
        return 0;
    }
    case SH_OTHERDEF:
        cx->otherdef = 1;
        return 0;
    case SH_FOREIGN:
        cx->foreign = 1;
        return 0;
    default:
        return 0;
    }
}

/* Decides about one new object: a by-design skip, or its planned writes. */
static int plan_object(symhook_set *s, const struct dl_phdr_info *info, const char *path,
                       sh_pobj *po)
{
    uintptr_t lo, hi;
    load_range(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, s->page, &lo, &hi);
    const char *b = sh_basename(path);
    if ((s->vdso && lo == s->vdso) || starts_with(b, "linux-vdso") || starts_with(b, "linux-gate")) {
        po->reason = SYMHOOK_SKIP_VDSO;
        return ML_OK;
    }
    if (is_loader(s, info, path)) {
        po->reason = SYMHOOK_SKIP_LOADER;
        return ML_OK;
    }
    uintptr_t self = (uintptr_t)s->opts.self;
    if (self >= lo && self < hi) {
        po->reason = SYMHOOK_SKIP_SELF;
        return ML_OK;
    }
    if (symhook_is_sanitizer(path)) {
        po->reason = SYMHOOK_SKIP_SANITIZER;
        return ML_OK;
    }
    for (const char *const *sk = s->opts.skip; sk && *sk; sk++) {
        if (**sk && strstr(path, *sk)) {
            po->reason = SYMHOOK_SKIP_USER;
            return ML_OK;
        }
    }
    if (!fully_loaded(s, lo)) {
        po->reason = SYMHOOK_SKIP_LOADING;
        return ML_OK;
    }
    elfdyn e;
    if (elfdyn_parse(&e, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum) != ML_OK) {
        po->reason = SYMHOOK_SKIP_MALFORMED;
        return ML_OK;
    }
    sh_plan_cx cx = {s, &e, lo, hi, is_libc(&e, path), 0, 0, NULL};
    if (cx.libc && s->opts.leave_libc) {
        po->reason = SYMHOOK_SKIP_LIBC;
        return ML_OK;
    }
    if (!cx.libc) {
        for (size_t j = 0; j < s->nsyms; j++) {
            uintptr_t r = (uintptr_t)s->syms[j].real;
            if ((s->syms[j].flags & SYMHOOK_ALLOC) && r >= lo && r < hi) {
                po->reason = SYMHOOK_SKIP_ALLOCATOR;
                return ML_OK;
            }
        }
    }
    int rc = elfdyn_walk(&e, plan_slot, &cx);
    if (rc == ML_EFORMAT) {
        s->nplan = po->plan_lo;
        po->reason = SYMHOOK_SKIP_MALFORMED;
        return ML_OK;
    }
    if (rc != ML_OK)
        return rc;
    if (cx.foreign) {
        /* Never share an object with another tool: each would save the other's
         * hook as "the original" and restore it after it is gone. */
        s->nplan = po->plan_lo;
        po->reason = SYMHOOK_SKIP_FOREIGN;
        po->other = ml_strdup(cx.other);
        if (!po->other)
            return ML_ENOMEM;
    } else if (cx.otherdef) {
        po->reason = SYMHOOK_SKIP_OTHERDEF;
    }
    return ML_OK;
}

static int plan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    symhook_set *s = data;
    if (set_changed(s, info, size)) {
        s->cx_changed = 1;
        return 1;
    }
    const char *path = obj_path(s, info->dlpi_name);
    ssize_t k = find_obj(s, info->dlpi_addr, info->dlpi_phdr, path);
    if (k >= 0) {
        if (!s->cx_verify || still_ours(s, (size_t)k, info)) {
            s->objs[k].gen = s->gen;
            return 0;
        }
        forget(s, (size_t)k);
    }
    int rc = ML_OK;
    SH_RESERVE(s->pobj, s->cappobj, s->npobj + 1, rc);
    if (rc != ML_OK) {
        s->cx_err = rc;
        return 1;
    }
    sh_pobj *po = &s->pobj[s->npobj];
    memset(po, 0, sizeof *po);
    po->base = info->dlpi_addr;
    po->phdr = info->dlpi_phdr;
    po->plan_lo = s->nplan;
    rc = plan_object(s, info, path, po);
    po->plan_hi = s->nplan;
    if (rc == ML_OK && po->reason == SYMHOOK_SKIP_LOADING) {
        /* Not recorded: the next pass looks at it again. */
        s->pending = 1;
        ml_free(po->other);
        return 0;
    }
    if (rc == ML_OK && !(po->path = ml_strdup(path)))
        rc = ML_ENOMEM;
    if (rc != ML_OK) {
        ml_free(po->other);
        s->nplan = po->plan_lo;
        s->cx_err = rc;
        return 1;
    }
    s->npobj++;
    return 0;
}

/* ---- pass 3: apply ------------------------------------------------- */

static int parse_hex(const char **p, uintptr_t *out)
{
    uintptr_t v = 0;
    int n = 0;
    for (;; (*p)++, n++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            break;
        v = v * 16 + (uintptr_t)d;
    }
    *out = v;
    return n > 0;
}

/* Reads the page protections from /proc/self/maps: the real ones, not
 * what the headers suggest, since the RELRO end is rounded down and
 * other tools may have changed them.  Leaves prot_ok 0 if unavailable. */
static void load_prot(symhook_set *s)
{
    s->prot_ok = 0;
    s->nprot = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t len = 0;
    int rc = ML_OK;
    for (;;) {
        SH_RESERVE(s->mapsbuf, s->mapscap, len + 65536, rc);
        if (rc != ML_OK)
            break;
        ssize_t r = read(fd, s->mapsbuf + len, s->mapscap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                rc = ML_EIO;
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    if (rc != ML_OK)
        return;
    s->mapsbuf[len] = '\0';
    for (const char *p = s->mapsbuf; *p;) {
        uintptr_t lo, hi;
        const char *line = p;
        if (parse_hex(&p, &lo) && *p == '-' && (p++, parse_hex(&p, &hi)) && *p == ' ' &&
            p[1] && p[2] && p[3]) {
            int prot = (p[1] == 'r' ? PROT_READ : 0) | (p[2] == 'w' ? PROT_WRITE : 0) |
                       (p[3] == 'x' ? PROT_EXEC : 0);
            SH_RESERVE(s->prot, s->capprot, s->nprot + 1, rc);
            if (rc != ML_OK)
                return;
            s->prot[s->nprot].lo = lo;
            s->prot[s->nprot].hi = hi;
            s->prot[s->nprot].prot = prot;
            s->nprot++;
        }
        p = strchr(line, '\n');
        if (!p)
            break;
        p++;
    }
    s->prot_ok = s->nprot > 0;
}

/* The protection of one page of the object, or -1 if unknown. */
static int page_prot(const symhook_set *s, const struct dl_phdr_info *info, uintptr_t page)
{
    if (s->prot_ok) {
        size_t lo = 0, hi = s->nprot;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->prot[mid].hi <= page)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < s->nprot && s->prot[lo].lo <= page)
            return s->prot[lo].prot;
        return -1;
    }
    /* No /proc: what glibc leaves, i.e. PT_GNU_RELRO rounded down to pages
     * is read-only and the rest of a segment has its header's flags. */
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_GNU_RELRO)
            continue;
        uintptr_t a = (info->dlpi_addr + ph->p_vaddr) & ~(s->page - 1);
        uintptr_t b = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(s->page - 1);
        if (page >= a && page < b)
            return PROT_READ;
    }
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        if (ph->p_type == PT_LOAD && page + s->page > a && page < b)
            return (ph->p_flags & PF_R ? PROT_READ : 0) | (ph->p_flags & PF_W ? PROT_WRITE : 0) |
                   (ph->p_flags & PF_X ? PROT_EXEC : 0);
    }
    return -1;
}

/* A page made writable for a run of writes to slots in it.  Invariant:
 * opened implies ok and that prot lacks PROT_WRITE; page 0 means none. */
typedef struct sh_page {
    uintptr_t page;
    int prot;   /* its protection before, -1 if unknown */
    int opened; /* we added PROT_WRITE and must take it away again */
    int ok;     /* slots in it may be written */
} sh_page;

static void page_close(const symhook_set *s, sh_page *pg)
{
    if (pg->opened) {
        /* If this fails the page stays writable: weaker hardening, but
         * nothing breaks, and there is nobody to tell. */
        (void)mprotect((void *)pg->page, s->page, pg->prot);
    }
    pg->page = 0;
    pg->opened = 0;
    pg->ok = 0;
}

/* Makes the page holding slot writable (closing the previous one). */
static void page_open(const symhook_set *s, const struct dl_phdr_info *info, sh_page *pg,
                      uintptr_t slot)
{
    uintptr_t page = slot & ~(s->page - 1);
    if (pg->page == page)
        return;
    page_close(s, pg);
    pg->page = page;
    pg->prot = page_prot(s, info, page);
    if (pg->prot < 0)
        return;
    if (pg->prot & PROT_WRITE) {
        pg->ok = 1;
        return;
    }
    if (mprotect((void *)page, s->page, pg->prot | PROT_WRITE) == 0)
        pg->ok = pg->opened = 1;
}

static void sort_plan(sh_plan *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        sh_plan x = p[i];
        size_t j = i;
        while (j > 0 && p[j - 1].slot > x.slot) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = x;
    }
}

static void apply_object(symhook_set *s, const struct dl_phdr_info *info, sh_pobj *po,
                         unsigned long id)
{
    sh_plan *p = s->plan + po->plan_lo;
    size_t n = po->plan_hi - po->plan_lo;
    sort_plan(p, n);
    sh_page pg = {0, -1, 0, 0};
    for (size_t i = 0; i < n; i++) {
        /* DT_RELA may overlap DT_JMPREL and list a slot twice. */
        if (i > 0 && p[i].slot == p[i - 1].slot)
            continue;
        page_open(s, info, &pg, p[i].slot);
        if (!pg.ok) {
            po->reason = SYMHOOK_SKIP_PROTECT;
            continue;
        }
        void **slot = (void **)p[i].slot;
        void *old = p[i].old, *expect = old;
        if (!__atomic_compare_exchange_n(slot, &expect, p[i].hook, 0, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST)) {
            /* Changed since pass 2.  The loader's lazy binding may have
             * resolved a stub to the real function meanwhile: that is still
             * ours to redirect.  Anything else belongs to someone else. */
            if (expect != p[i].real)
                continue;
            old = expect;
            if (!__atomic_compare_exchange_n(slot, &expect, p[i].hook, 0, __ATOMIC_SEQ_CST,
                                             __ATOMIC_SEQ_CST))
                continue;
        }
        assert(s->nents < s->capents);
        sh_ent *x = &s->ents[s->nents++];
        x->slot = p[i].slot;
        x->old = old;
        x->hook = p[i].hook;
        x->obj = id;
    }
    page_close(s, &pg);
}

static int apply_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    symhook_set *s = data;
    if (set_changed(s, info, size)) {
        s->cx_changed = 1;
        return 1;
    }
    const char *path = obj_path(s, info->dlpi_name);
    for (size_t i = 0; i < s->npobj; i++) {
        sh_pobj *po = &s->pobj[i];
        if (po->done || po->base != info->dlpi_addr || po->phdr != info->dlpi_phdr ||
            strcmp(po->path, path) != 0)
            continue;
        unsigned long id = s->next_id++;
        apply_object(s, info, po, id);
        assert(s->nobjs < s->capobjs);
        sh_obj *o = &s->objs[s->nobjs++];
        o->base = po->base;
        o->phdr = po->phdr;
        o->path = po->path;
        o->other = po->other;
        o->id = id;
        o->reason = po->reason;
        o->gen = s->gen;
        po->path = po->other = NULL;
        po->done = 1;
        break;
    }
    return 0;
}

/* ---- passes ---------------------------------------------------------- */

static void drop_pobjs(symhook_set *s)
{
    for (size_t i = 0; i < s->npobj; i++) {
        ml_free(s->pobj[i].path);
        ml_free(s->pobj[i].other);
    }
    s->npobj = 0;
    s->nplan = 0;
}

static int first_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    symhook_set *s = data;
    s->cx_counters = counters_of(info, size, &s->cx_adds, &s->cx_subs);
    return 1;
}

static inline int check_set(const symhook_set *s)
{
    if (s->nsyms > SH_MAXSYMS || s->nobjs > s->capobjs || s->nents > s->capents)
        return 0;
    for (size_t r = 0; r < s->nents; r++) {
        size_t k = 0;
        while (k < s->nobjs && s->objs[k].id != s->ents[r].obj)
            k++;
        if (k == s->nobjs)
            return 0;
    }
    for (size_t k = 0; k < s->nobjs; k++)
        if (!s->objs[k].path || (s->objs[k].other && s->objs[k].reason != SYMHOOK_SKIP_FOREIGN))
            return 0;
    return 1;
}

static int pass_once(symhook_set *s, int install)
{
    if (s->scanned && !s->pending) {
        /* The common dlopen of something already loaded: nothing to do. */
        s->cx_counters = 0;
        dl_iterate_phdr(first_cb, s);
        if (s->cx_counters && s->cx_adds == s->adds && s->cx_subs == s->subs)
            return ML_OK;
    }
    int rc = snapshot(s);
    if (rc != ML_OK)
        return rc;
    s->gen++;
    s->cx_changed = 0;
    s->cx_err = ML_OK;
    s->cx_verify = s->scanned && (!s->cx_counters || s->cx_subs != s->subs);
    s->pending = 0;
    drop_pobjs(s);
    dl_iterate_phdr(plan_cb, s);
    if (s->cx_err != ML_OK || s->cx_changed) {
        drop_pobjs(s);
        return s->cx_err != ML_OK ? s->cx_err : SH_CHANGED;
    }
    for (size_t k = s->nobjs; k-- > 0;)
        if (s->objs[k].gen != s->gen)
            forget(s, k); /* unloaded since the last pass */
    if (install) {
        for (size_t i = 0; i < s->npobj; i++) {
            if (s->pobj[i].reason == SYMHOOK_SKIP_FOREIGN) {
                ml_free(s->foreign);
                s->foreign = ml_strdup(s->pobj[i].other);
                drop_pobjs(s);
                return ML_EBUSY;
            }
        }
    }
    /* Pass 3 must not allocate: a failure there would leave written slots
     * without a record to restore them from. */
    SH_RESERVE(s->objs, s->capobjs, s->nobjs + s->npobj, rc);
    SH_RESERVE(s->ents, s->capents, s->nents + s->nplan, rc);
    if (rc != ML_OK) {
        drop_pobjs(s);
        return rc;
    }
    if (s->nplan)
        load_prot(s);
    dl_iterate_phdr(apply_cb, s);
    int incomplete = s->cx_changed;
    for (size_t i = 0; i < s->npobj; i++)
        incomplete |= !s->pobj[i].done;
    drop_pobjs(s);
    assert(check_set(s));
    if (incomplete)
        return SH_CHANGED; /* what was written is recorded; the rest next time */
    s->adds = s->cx_adds;
    s->subs = s->cx_subs;
    s->scanned = s->cx_counters; /* without counters, never trust the fast path */
    return ML_OK;
}

static int pass(symhook_set *s, int install)
{
    if (s->restored)
        return ML_EINVAL;
    for (int attempt = 0; attempt < SH_RETRIES; attempt++) {
        /* All or nothing only while nothing is written yet. */
        int rc = pass_once(s, install && s->nents == 0);
        if (rc != SH_CHANGED)
            return rc;
    }
    /* The loaded set keeps changing under us: what was done is recorded,
     * and the next update goes on from there. */
    s->pending = 1;
    return ML_OK;
}

int symhook_install(symhook_set *s)
{
    if (!s || s->scanned || s->nents)
        return ML_EINVAL;
    return pass(s, 1);
}

int symhook_update(symhook_set *s)
{
    if (!s)
        return ML_EINVAL;
    return pass(s, 0);
}

/* ---- restore -------------------------------------------------------- */

static int restore_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    symhook_set *s = data;
    (void)size;
    ssize_t k = find_obj(s, info->dlpi_addr, info->dlpi_phdr, obj_path(s, info->dlpi_name));
    if (k < 0)
        return 0;
    s->objs[k].gen = s->gen;
    unsigned long id = s->objs[k].id;
    sh_page pg = {0, -1, 0, 0};
    for (size_t r = 0; r < s->nents; r++) {
        sh_ent *x = &s->ents[r];
        if (x->obj != id || x->slot == 0)
            continue;
        page_open(s, info, &pg, x->slot);
        if (!pg.ok && pg.prot < 0) {
            /* The page is newer than our reading of the maps: the object
             * was unloaded and loaded again at the same place meanwhile.
             * If the slot does not hold our hook, that copy was never ours
             * and the entry is stale; if it does, read the maps again. */
            if (__atomic_load_n((void **)x->slot, __ATOMIC_RELAXED) != x->hook) {
                x->slot = 0;
                continue;
            }
            load_prot(s);
            pg.page = 0;
            page_open(s, info, &pg, x->slot);
        }
        if (!pg.ok) {
            s->cx_err = ML_EACCES; /* keep it: a later call may succeed */
            continue;
        }
        void *expect = x->hook;
        /* Only if it still holds our hook: a slot another tool rewrote after
         * us is theirs now, and writing our old value there would pull the
         * ground from under them. */
        (void)__atomic_compare_exchange_n((void **)x->slot, &expect, x->old, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST);
        x->slot = 0;
    }
    page_close(s, &pg);
    return 0;
}

int symhook_restore(symhook_set *s)
{
    if (!s)
        return ML_EINVAL;
    s->restored = 1;
    if (s->nents == 0)
        return ML_OK;
    load_prot(s);
    s->gen++;
    s->cx_err = ML_OK;
    dl_iterate_phdr(restore_cb, s);
    /* Entries done (slot 0) or of objects not loaded any more go. */
    size_t w = 0;
    for (size_t r = 0; r < s->nents; r++) {
        sh_ent *x = &s->ents[r];
        if (x->slot == 0)
            continue;
        size_t k = 0;
        while (k < s->nobjs && s->objs[k].id != x->obj)
            k++;
        if (k < s->nobjs && s->objs[k].gen == s->gen)
            s->ents[w++] = *x;
    }
    s->nents = w;
    assert(check_set(s));
    return w ? ML_EACCES : ML_OK;
}

/* ---- the rest of the interface ---------------------------------------- */

/* symhook_resolve's search.  Invariant: target is set only if stub is, and
 * then lies outside [lo, hi), the range of the object holding the stub. */
typedef struct sh_resolve_cx {
    const char *name;
    uintptr_t p, target;
    uintptr_t lo, hi;
    int stub;
    uintptr_t page;
} sh_resolve_cx;

static int resolve_slot(void *ctx, const elfdyn *e, uintptr_t slot, const char *name, int abs)
{
    sh_resolve_cx *c = ctx;
    if (abs || strcmp(name, c->name) != 0 || slot % sizeof(void *) ||
        !elfdyn_in_seg(e, slot, sizeof(void *), PF_R))
        return 0;
    uintptr_t w = (uintptr_t)__atomic_load_n((void **)slot, __ATOMIC_RELAXED);
    if (w && (w < c->lo || w >= c->hi)) {
        c->target = w;
        return 1;
    }
    return 0;
}

static int resolve_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    sh_resolve_cx *c = data;
    (void)size;
    load_range(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, c->page, &c->lo, &c->hi);
    if (c->p < c->lo || c->p >= c->hi)
        return 0;
    elfdyn e;
    if (elfdyn_parse(&e, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum) != ML_OK)
        return 1;
    elfdyn_def d;
    elfdyn_find(&e, c->name, c->p, &d);
    if (d.undef_at_v) {
        /* A non-PIE executable took the function's address, so the symbol's
         * canonical address is its PLT stub, which jumps through its own
         * GOT slot: calling the stub from a hook would loop back into the
         * hook once that slot is patched.  The slot's value is the target. */
        c->stub = 1;
        (void)elfdyn_walk(&e, resolve_slot, c);
    }
    return 1;
}

int symhook_resolve(const char *name, void **out)
{
    if (!name || !out)
        return ML_EINVAL;
    void *p = dlsym(RTLD_DEFAULT, name);
    if (!p)
        return ML_ENOENT;
    sh_resolve_cx c = {name, (uintptr_t)p, 0, 0, 0, 0, (uintptr_t)sysconf(_SC_PAGESIZE)};
    dl_iterate_phdr(resolve_cb, &c);
    if (c.stub) {
        if (!c.target)
            return ML_EUNSUPPORTED;
        p = (void *)c.target;
    }
    *out = p;
    return ML_OK;
}

int symhook_create(const symhook_sym *syms, size_t nsyms, const symhook_opts *opts,
                   symhook_set **out)
{
    if (!syms || !opts || !out || nsyms == 0 || nsyms > SH_MAXSYMS || !opts->self)
        return ML_EINVAL;
    for (size_t j = 0; j < nsyms; j++)
        if (!syms[j].name || !syms[j].name[0] || !syms[j].hook || !syms[j].real)
            return ML_EINVAL;
    symhook_set *s = ml_calloc(1, sizeof *s);
    if (!s)
        return ML_ENOMEM;
    memcpy(s->syms, syms, nsyms * sizeof *syms);
    s->nsyms = nsyms;
    for (size_t j = 0; j < nsyms; j++)
        s->namelen[j] = strlen(syms[j].name);
    s->opts = *opts;
    s->page = (uintptr_t)sysconf(_SC_PAGESIZE);
    s->vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    s->ldbase = (uintptr_t)getauxval(AT_BASE);
    s->next_id = 1;
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
    s->exe[n > 0 ? n : 0] = '\0';
#if SH_HAVE_DLFO
    /* Looked up, not linked: a binary built here must still load on a glibc
     * older than 2.35, where it simply is not there. */
    void *f = dlsym(RTLD_DEFAULT, "_dl_find_object");
    memcpy(&s->find_object, &f, sizeof f);
#endif
    *out = s;
    return ML_OK;
}

void symhook_destroy(symhook_set *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->nobjs; k++) {
        ml_free(s->objs[k].path);
        ml_free(s->objs[k].other);
    }
    drop_pobjs(s);
    ml_free(s->objs);
    ml_free(s->ents);
    ml_free(s->snap);
    ml_free(s->pobj);
    ml_free(s->plan);
    ml_free(s->prot);
    ml_free(s->mapsbuf);
    ml_free(s->foreign);
    ml_free(s);
}

const char *symhook_foreign(const symhook_set *s)
{
    return s ? s->foreign : NULL;
}

size_t symhook_nskipped(const symhook_set *s)
{
    size_t n = 0;
    for (size_t k = 0; s && k < s->nobjs; k++)
        n += s->objs[k].reason != SYMHOOK_PATCHED;
    return n;
}

const char *symhook_skipped(const symhook_set *s, size_t i, int *reason, const char **other)
{
    for (size_t k = 0; s && k < s->nobjs; k++) {
        if (s->objs[k].reason == SYMHOOK_PATCHED)
            continue;
        if (i-- == 0) {
            if (reason)
                *reason = s->objs[k].reason;
            if (other)
                *other = s->objs[k].other;
            return s->objs[k].path;
        }
    }
    return NULL;
}

size_t symhook_nslots(const symhook_set *s)
{
    return s ? s->nents : 0;
}

void symhook_slot(const symhook_set *s, size_t i, void ***slot, void **old, void **hook)
{
    assert(s && i < s->nents);
    *slot = (void **)s->ents[i].slot;
    *old = s->ents[i].old;
    *hook = s->ents[i].hook;
}

const char *symhook_reason_str(int reason)
{
    switch (reason) {
    case SYMHOOK_PATCHED: return "patched";
    case SYMHOOK_SKIP_LOADER: return "dynamic loader";
    case SYMHOOK_SKIP_VDSO: return "vDSO";
    case SYMHOOK_SKIP_SELF: return "contains the hooks";
    case SYMHOOK_SKIP_SANITIZER: return "sanitizer runtime";
    case SYMHOOK_SKIP_ALLOCATOR: return "defines the process's allocator";
    case SYMHOOK_SKIP_LIBC: return "C library left alone by request";
    case SYMHOOK_SKIP_USER: return "in the caller's skip list";
    case SYMHOOK_SKIP_OTHERDEF: return "some slots bind to a non-global definition";
    case SYMHOOK_SKIP_LOADING: return "still being loaded";
    case SYMHOOK_SKIP_MALFORMED: return "malformed dynamic section or relocations";
    case SYMHOOK_SKIP_PROTECT: return "relocation pages could not be made writable";
    case SYMHOOK_SKIP_FOREIGN: return "already hooked by another tool";
    }
    return "unknown reason";
}

static int count_slot(void *ctx, const elfdyn *e, uintptr_t slot, const char *name, int abs)
{
    (void)name;
    int bad;
    if (!slot_ok(e, slot, abs, &bad))
        return bad ? ML_EFORMAT : 0;
    (*(size_t *)ctx)++;
    return 0;
}

int symhook_probe(const void *desc, size_t *nslots)
{
    const struct dl_phdr_info *info = desc;
    if (!info || !nslots)
        return ML_EINVAL;
    *nslots = 0;
    elfdyn e;
    if (elfdyn_parse(&e, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum) != ML_OK)
        return ML_EFORMAT;
    int rc = elfdyn_walk(&e, count_slot, nslots);
    return rc == ML_OK ? ML_OK : ML_EFORMAT;
}
