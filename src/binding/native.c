/* native: the binding's side of the native allocator hooks: options from
 * the environment, reference-counted use, and the warnings.
 *
 * Lock rules: everything here runs with the GIL held (profilers are enabled
 * and disabled from Python), which serialises these statics. */
#include "native.h"

#include "core/mlalloc.h"
#include "core/mlerr.h"
#include "core/nativehook.h"
#include "core/symhook.h"
#include "heaphook.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int default_on = 1;
static char **skip;            /* owned, NULL-terminated, from MEMLINE_NATIVE_SKIP */
static int wants;              /* enabled profilers that want native memory */
static int tried;              /* an install was tried */
static const char *why_not;    /* static text, or unavailable_buf */
static char unavailable_buf[512];

/* Paths already warned about, so each problem library is named once. */
static char **warned;
static size_t nwarned;

static int falsy(const char *v)
{
    return v && (strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0 ||
                 strcasecmp(v, "off") == 0 || strcasecmp(v, "false") == 0);
}

/* Splits MEMLINE_NATIVE_SKIP on ':' into skip.  Out of memory: no list. */
static void read_skip_list(const char *v)
{
    size_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == ':';
    skip = ml_calloc(n + 1, sizeof *skip);
    size_t k = 0;
    for (const char *p = v; skip && *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && (skip[k] = ml_malloc(len + 1)) != NULL) {
            memcpy(skip[k], p, len);
            skip[k++][len] = '\0';
        }
        p += len + (end != NULL);
    }
}

static void at_exit(void)
{
    native_remove();
}

int native_init(void)
{
    default_on = !falsy(getenv("MEMLINE_NATIVE"));
    const char *v = getenv("MEMLINE_NATIVE_SKIP");
    if (v && *v)
        read_skip_list(v);
    /* After finalisation no profiler runs; the hooks go with the process
     * either way, but removal keeps install and remove symmetric. */
    Py_AtExit(at_exit);
    return 0;
}

int native_default(void)
{
    return default_on;
}

static int warned_before(const char *path)
{
    for (size_t i = 0; i < nwarned; i++)
        if (strcmp(warned[i], path) == 0)
            return 1;
    char **grown = ml_realloc(warned, (nwarned + 1) * sizeof *warned);
    char *copy = grown ? ml_strdup(path) : NULL;
    if (grown)
        warned = grown;
    if (copy)
        warned[nwarned++] = copy;
    return 0;
}

/* One line per library the hooks had to leave alone for a reason worth
 * knowing (unreadable, unwritable, another tool's hooks in it): its native
 * memory is not in the heap columns. */
static void warn_skipped(const char *path, int reason, const char *text, const char *other,
                         void *ctx)
{
    (void)ctx;
    if (reason <= SYMHOOK_SKIP_LOADING || warned_before(path))
        return;
    if (other)
        PySys_WriteStderr("memline: warning: native memory of %.300s is not counted: %s (%.300s)\n",
                          path, text, other);
    else
        PySys_WriteStderr("memline: warning: native memory of %.300s is not counted: %s\n", path,
                          text);
}

static void install(void)
{
    tried = 1;
    if (heaphook_unavailable()) {
        why_not = "the Python heap cannot be accounted here, so neither can native memory";
        return;
    }
    /* Under a sanitizer (our own test-asan run) the hooks may run anyway,
     * to be checked there; ASan's interceptors then allocate unseen. */
    const char *san = getenv("MEMLINE_NATIVE_ALLOW_SANITIZER");
    nativehook_opts opts = {(const char *const *)skip, 0, san && strcmp(san, "1") == 0};
    int rc = nativehook_install(&opts);
    if (rc == ML_EBUSY) {
        const char *other = nativehook_foreign();
        const char *tool = other && strstr(other, "san") ? "a sanitizer runtime" : "another tool";
        PyOS_snprintf(unavailable_buf, sizeof unavailable_buf,
                      "%s hooks the allocator (%.300s)", tool, other ? other : "unknown");
        why_not = unavailable_buf;
    } else if (rc != ML_OK) {
        PyOS_snprintf(unavailable_buf, sizeof unavailable_buf, "the native hooks cannot go in: %s",
                      ml_strerror(rc));
        why_not = unavailable_buf;
    }
    if (why_not)
        PySys_WriteStderr("memline: warning: native memory is not counted: %s; the heap "
                          "columns show the Python heap only\n", why_not);
}

int native_want(void)
{
    if (!tried)
        install();
    if (why_not)
        return 0;
    if (wants++ == 0) {
        nativehook_refresh(); /* libraries loaded by paths the dlopen hook cannot see */
        nativehook_pause(0);
    }
    nativehook_skipped(warn_skipped, NULL);
    return 1;
}

void native_unwant(void)
{
    if (why_not || wants <= 0)
        return;
    if (--wants == 0)
        nativehook_pause(1);
}

const char *native_unavailable(void)
{
    return why_not;
}

int native_counting(void)
{
    return wants > 0 && !why_not && nativehook_active();
}

void native_remove(void)
{
    nativehook_remove();
    tried = 0;
    why_not = NULL;
    wants = 0;
}
