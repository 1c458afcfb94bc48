/* dlsearch_glibc: dlsearch for glibc.  The loader itself lists an object's
 * search path (dlinfo RTLD_DI_SERINFO: RPATH of the object and its loaders,
 * LD_LIBRARY_PATH, RUNPATH, system directories, every $ORIGIN expanded and
 * secure-mode rules applied), so we never parse DT_RPATH ourselves: we ask
 * for the caller's list and for our own, and the caller's entries before the
 * tail both share are the ones the plain call from here would miss.  The
 * shared tail (system directories and whatever else both search) is left
 * to the plain call, which also consults ld.so.cache at the right point. */
#include "dlsearch.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "mlalloc.h"
#include "mlerr.h"

/* The search path of one object, owned by the caller; NULL if unavailable. */
static Dl_serinfo *search_path(struct link_map *lm)
{
    Dl_serinfo size;
    if (dlinfo(lm, RTLD_DI_SERINFOSIZE, &size) != 0 || size.dls_size < sizeof size)
        return NULL;
    Dl_serinfo *p = ml_malloc(size.dls_size);
    if (!p)
        return NULL;
    /* The loader wants the buffer prepared by SERINFOSIZE before SERINFO. */
    if (dlinfo(lm, RTLD_DI_SERINFOSIZE, p) != 0 || dlinfo(lm, RTLD_DI_SERINFO, p) != 0) {
        ml_free(p);
        return NULL;
    }
    return p;
}

static struct link_map *object_of(const void *addr)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP))
        return NULL;
    return lm;
}

static const char *dir_name(const Dl_serinfo *p, unsigned i)
{
    const char *d = p->dls_serpath[i].dls_name;
    return d ? d : "";
}

int dlsearch_begin(dlsearch *s, const void *caller, const char *name)
{
    memset(s, 0, sizeof *s);
    struct link_map *lm = object_of(caller);
    struct link_map *self = object_of((const void *)dlsearch_begin);
    if (!lm || lm == self)
        return ML_ENOENT;
    s->caller_found = 1;
    Lmid_t ns;
    if (dlinfo(lm, RTLD_DI_LMID, &ns) == 0 && ns != LM_ID_BASE) {
        s->other_ns = 1;
        s->ns = (long)ns;
    }
    if (name && strchr(name, '$')) {
        /* RTLD_DI_ORIGIN writes up to PATH_MAX bytes, as the manual says. */
        if (dlinfo(lm, RTLD_DI_ORIGIN, s->origin) != 0)
            s->origin[0] = '\0';
    }
    if (!name || strchr(name, '/'))
        return ML_OK; /* a path: no search at all */
    Dl_serinfo *mine = search_path(lm);
    if (!mine)
        return ML_OK; /* nothing more than the plain call then */
    Dl_serinfo *ours = self ? search_path(self) : NULL;
    unsigned end = mine->dls_cnt;
    if (ours) {
        unsigned j = ours->dls_cnt;
        while (end > 0 && j > 0 && strcmp(dir_name(mine, end - 1), dir_name(ours, j - 1)) == 0) {
            end--;
            j--;
        }
        ml_free(ours);
    }
    s->dirs = mine;
    s->end = end;
    return ML_OK;
}

const char *dlsearch_next(dlsearch *s, const char *name, char *buf, size_t size)
{
    const Dl_serinfo *p = s->dirs;
    size_t nlen = strlen(name);
    while (p && s->next < s->end) {
        const char *dir = dir_name(p, s->next++);
        size_t dlen = strlen(dir);
        if (dlen == 0)
            continue;
        int slash = dir[dlen - 1] != '/';
        if (dlen + slash + nlen + 1 > size)
            continue;
        memcpy(buf, dir, dlen);
        if (slash)
            buf[dlen] = '/';
        memcpy(buf + dlen + slash, name, nlen + 1);
        /* The loader opens each candidate in turn; checking that it exists
         * first spares a failing dlopen (and its error message) per
         * directory. */
        if (access(buf, F_OK) == 0)
            return buf;
    }
    return NULL;
}

int dlsearch_expand(const dlsearch *s, const char *name, char *buf, size_t size)
{
    if (!strchr(name, '$'))
        return ML_ENOENT;
    if (getauxval(AT_SECURE))
        return ML_EUNSUPPORTED;
    if (!s->origin[0])
        return ML_ENOENT;
    size_t olen = strlen(s->origin), w = 0;
    for (const char *p = name; *p;) {
        size_t skip = 0;
        if (strncmp(p, "$ORIGIN", 7) == 0 &&
            !((p[7] >= 'A' && p[7] <= 'Z') || (p[7] >= 'a' && p[7] <= 'z') || p[7] == '_' ||
              (p[7] >= '0' && p[7] <= '9')))
            skip = 7;
        else if (strncmp(p, "${ORIGIN}", 9) == 0)
            skip = 9;
        else if (*p == '$')
            return ML_EUNSUPPORTED;
        if (skip) {
            if (w + olen >= size)
                return ML_EINVAL;
            memcpy(buf + w, s->origin, olen);
            w += olen;
            p += skip;
        } else {
            if (w + 1 >= size)
                return ML_EINVAL;
            buf[w++] = *p++;
        }
    }
    buf[w] = '\0';
    return ML_OK;
}

void dlsearch_end(dlsearch *s)
{
    ml_free(s->dirs);
    s->dirs = NULL;
}
