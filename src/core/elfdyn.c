/* elfdyn: reading an object's dynamic section, symbols and relocations. */
#include "elfdyn.h"

#include "mlerr.h"

#include <string.h>

/* Nonzero when [p, p+n) lies inside one PT_LOAD segment whose flags include need. */
int elfdyn_in_seg(const elfdyn *e, uintptr_t p, size_t n, unsigned need)
{
    if (n == 0 || p + n < p)
        return 0;
    for (size_t i = 0; i < e->phnum; i++) {
        const ElfW(Phdr) *ph = &e->phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & need) != need)
            continue;
        uintptr_t lo = e->base + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (hi >= lo && p >= lo && p + n <= hi)
            return 1;
    }
    return 0;
}

/* The address a DT_* pointer entry stands for, checked for n readable bytes;
 * 0 if neither reading fits.  glibc rebases these entries in place at load
 * time on x86-64 and aarch64 but not everywhere (RISC-V, MIPS and the vDSO
 * keep link-time values), so accept whichever reading lands inside the
 * object, the likelier first. */
static uintptr_t dyn_ptr(const elfdyn *e, ElfW(Addr) v, size_t n)
{
    uintptr_t as_is = (uintptr_t)v, rebased = e->base + (uintptr_t)v;
    uintptr_t cand[2];
    int nc = 0, rebased_ok = rebased >= e->base; /* did not wrap around */
    if (e->base != 0 && as_is < e->base) {
        if (rebased_ok)
            cand[nc++] = rebased;
        cand[nc++] = as_is;
    } else {
        cand[nc++] = as_is;
        if (rebased_ok && rebased != as_is)
            cand[nc++] = rebased;
    }
    for (int i = 0; i < nc; i++)
        if (elfdyn_in_seg(e, cand[i], n, PF_R))
            return cand[i];
    return 0;
}

static int add_tab(elfdyn *e, ElfW(Addr) addr, size_t size, int rela)
{
    if (!addr || !size)
        return ML_OK;
    size_t ent = rela ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel));
    if (size % ent)
        return ML_EFORMAT;
    uintptr_t p = dyn_ptr(e, addr, size);
    if (!p)
        return ML_EFORMAT;
    e->tab[e->ntab].p = p;
    e->tab[e->ntab].n = size;
    e->tab[e->ntab].rela = rela;
    e->ntab++;
    return ML_OK;
}

/* Reads an object's PT_DYNAMIC.  Returns ML_OK (an object without one has
 * nothing to patch and ntab == 0) or ML_EFORMAT. */
int elfdyn_parse(elfdyn *e, uintptr_t base, const ElfW(Phdr) *phdr, size_t phnum)
{
    memset(e, 0, sizeof *e);
    e->base = base;
    e->phdr = phdr;
    e->phnum = phnum;
    if (!phdr || phnum == 0)
        return ML_EFORMAT;
    const ElfW(Phdr) *dynph = NULL;
    for (size_t i = 0; i < phnum; i++) {
        if (phdr[i].p_type != PT_DYNAMIC)
            continue;
        if (dynph)
            return ML_EFORMAT;
        dynph = &phdr[i];
    }
    if (!dynph)
        return ML_OK;
    uintptr_t dp = base + dynph->p_vaddr;
    size_t nd = dynph->p_memsz / sizeof(ElfW(Dyn));
    if (nd == 0 || !elfdyn_in_seg(e, dp, nd * sizeof(ElfW(Dyn)), PF_R))
        return ML_EFORMAT;
    const ElfW(Dyn) *d = (const ElfW(Dyn) *)dp;

    ElfW(Addr) symtab = 0, strtab = 0, jmprel = 0, rela = 0, rel = 0, hash = 0, gnuhash = 0;
    size_t strsz = 0, pltrelsz = 0, relasz = 0, relsz = 0, soname = SIZE_MAX;
    size_t relaent = sizeof(ElfW(Rela)), relent = sizeof(ElfW(Rel));
    long pltrel = -1;
    size_t i;
    for (i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
        switch (d[i].d_tag) {
        case DT_SYMTAB: symtab = d[i].d_un.d_ptr; break;
        case DT_STRTAB: strtab = d[i].d_un.d_ptr; break;
        case DT_STRSZ: strsz = d[i].d_un.d_val; break;
        case DT_JMPREL: jmprel = d[i].d_un.d_ptr; break;
        case DT_PLTRELSZ: pltrelsz = d[i].d_un.d_val; break;
        case DT_PLTREL: pltrel = (long)d[i].d_un.d_val; break;
        case DT_RELA: rela = d[i].d_un.d_ptr; break;
        case DT_RELASZ: relasz = d[i].d_un.d_val; break;
        case DT_RELAENT: relaent = d[i].d_un.d_val; break;
        case DT_REL: rel = d[i].d_un.d_ptr; break;
        case DT_RELSZ: relsz = d[i].d_un.d_val; break;
        case DT_RELENT: relent = d[i].d_un.d_val; break;
        case DT_HASH: hash = d[i].d_un.d_ptr; break;
        case DT_GNU_HASH: gnuhash = d[i].d_un.d_ptr; break;
        case DT_SONAME: soname = d[i].d_un.d_val; break;
        default: break;
        }
    }
    if (i == nd)
        return ML_EFORMAT; /* no DT_NULL inside the segment */
    if (relaent != sizeof(ElfW(Rela)) || relent != sizeof(ElfW(Rel)))
        return ML_EFORMAT;

    if (strtab && strsz) {
        e->strtab = (const char *)dyn_ptr(e, strtab, strsz);
        if (!e->strtab || e->strtab[strsz - 1] != '\0')
            return ML_EFORMAT;
        e->strsz = strsz;
    }
    if (symtab) {
        e->symtab = (const ElfW(Sym) *)dyn_ptr(e, symtab, sizeof(ElfW(Sym)));
        if (!e->symtab)
            return ML_EFORMAT;
    }
    if (jmprel && pltrelsz && pltrel != DT_RELA && pltrel != DT_REL)
        return ML_EFORMAT;
    if (add_tab(e, jmprel, pltrelsz, pltrel == DT_RELA) != ML_OK ||
        add_tab(e, rela, relasz, 1) != ML_OK || add_tab(e, rel, relsz, 0) != ML_OK)
        return ML_EFORMAT;
    if (e->ntab && (!e->symtab || !e->strtab))
        return ML_EFORMAT;
    /* A broken hash table only costs lookups (they then find nothing). */
    if (gnuhash)
        e->gnuhash = dyn_ptr(e, gnuhash, 4 * sizeof(uint32_t));
    if (hash)
        e->hash = dyn_ptr(e, hash, 2 * sizeof(ElfW(Word)));
    if (soname < e->strsz)
        e->soname = e->strtab + soname;
    return ML_OK;
}

/* The i-th symbol, or NULL if it lies outside the object. */
const ElfW(Sym) *elfdyn_sym(const elfdyn *e, size_t i)
{
    if (!e->symtab || i > SIZE_MAX / sizeof(ElfW(Sym)))
        return NULL;
    uintptr_t p = (uintptr_t)e->symtab + i * sizeof(ElfW(Sym));
    if (p < (uintptr_t)e->symtab || !elfdyn_in_seg(e, p, sizeof(ElfW(Sym)), PF_R))
        return NULL;
    const ElfW(Sym) *s = (const ElfW(Sym) *)p;
    return s->st_name < e->strsz ? s : NULL;
}


/* Returns ML_OK, ML_EFORMAT at the first unreadable entry, or fn's value. */
int elfdyn_walk(const elfdyn *e, elfdyn_slot_fn fn, void *ctx)
{
    for (size_t t = 0; t < e->ntab; t++) {
        size_t ent = e->tab[t].rela ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel));
        for (size_t off = 0; off + ent <= e->tab[t].n; off += ent) {
            uintptr_t rp = e->tab[t].p + off;
            ElfW(Addr) offset;
            ElfW(Xword) info;
            long long addend = 0;
            if (e->tab[t].rela) {
                const ElfW(Rela) *r = (const ElfW(Rela) *)rp;
                offset = r->r_offset;
                info = r->r_info;
                addend = (long long)r->r_addend;
            } else {
                const ElfW(Rel) *r = (const ElfW(Rel) *)rp;
                offset = r->r_offset;
                info = r->r_info;
            }
            unsigned long type = (unsigned long)ELFDYN_R_TYPE(info);
            /* REL tables keep an absolute relocation's addend in the slot
             * itself: no telling a plain pointer, so only RELA ones count. */
            int abs = type == ELFDYN_R_ABS && e->tab[t].rela;
            if (type != ELFDYN_R_JUMP_SLOT && type != ELFDYN_R_GLOB_DAT && !abs)
                continue;
            size_t si = (size_t)ELFDYN_R_SYM(info);
            /* With an addend the slot holds sym+addend, not a function. */
            if (si == 0 || addend != 0)
                continue;
            const ElfW(Sym) *s = elfdyn_sym(e, si);
            if (!s)
                return ML_EFORMAT;
            int rc = fn(ctx, e, e->base + offset, e->strtab + s->st_name, abs);
            if (rc)
                return rc;
        }
    }
    return ML_OK;
}


static void check_sym(const elfdyn *e, size_t idx, const char *name, uintptr_t v, elfdyn_def *d)
{
    const ElfW(Sym) *s = elfdyn_sym(e, idx);
    if (!s || strcmp(e->strtab + s->st_name, name) != 0)
        return;
    int undef = s->st_shndx == SHN_UNDEF;
    if (s->st_value != 0 && e->base + s->st_value == v) {
        d->at_v = 1;
        d->undef_at_v |= undef;
    }
    if (!undef && s->st_value != 0)
        d->defined = 1;
    if (!undef && ELFDYN_ST_TYPE(s->st_info) == STT_GNU_IFUNC)
        d->ifunc = 1;
}

static int elf_readable_u32(const elfdyn *e, uintptr_t p, uint32_t *out)
{
    if (!elfdyn_in_seg(e, p, sizeof(uint32_t), PF_R))
        return 0;
    *out = *(const uint32_t *)p;
    return 1;
}

/* Looks name up in the object's hash table (GNU, else SysV).  Never fails:
 * a missing or unreadable table finds nothing. */
void elfdyn_find(const elfdyn *e, const char *name, uintptr_t v, elfdyn_def *d)
{
    memset(d, 0, sizeof *d);
    if (e->gnuhash) {
        const uint32_t *h = (const uint32_t *)e->gnuhash;
        uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
        if (nbuckets == 0)
            return;
        uint32_t hv = 5381;
        for (const unsigned char *c = (const unsigned char *)name; *c; c++)
            hv = hv * 33 + *c;
        uintptr_t buckets = e->gnuhash + 4 * sizeof(uint32_t) +
                            (uintptr_t)bloom_size * sizeof(ElfW(Addr));
        uintptr_t chain = buckets + (uintptr_t)nbuckets * sizeof(uint32_t);
        uint32_t idx;
        if (chain < buckets || !elf_readable_u32(e, buckets + (hv % nbuckets) * 4, &idx))
            return;
        if (idx < symoffset)
            return;
        /* Bounded: a chain ends with an odd word, but a corrupt one need not. */
        for (uint32_t n = 0; n < (1u << 24); n++, idx++) {
            uint32_t ch;
            if (!elf_readable_u32(e, chain + (uintptr_t)(idx - symoffset) * 4, &ch))
                return;
            if ((ch | 1) == (hv | 1))
                check_sym(e, idx, name, v, d);
            if (ch & 1)
                return;
        }
        return;
    }
    if (e->hash) {
        const ElfW(Word) *h = (const ElfW(Word) *)e->hash;
        size_t nbucket = h[0], nchain = h[1];
        if (nbucket == 0 || !elfdyn_in_seg(e, e->hash, (2 + nbucket + nchain) * sizeof(ElfW(Word)), PF_R))
            return;
        const ElfW(Word) *bucket = h + 2, *chainv = bucket + nbucket;
        unsigned long hv = 0;
        for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
            hv = (hv << 4) + *c;
            unsigned long g = hv & 0xf0000000ul;
            if (g)
                hv ^= g >> 24;
            hv &= ~g;
        }
        size_t idx = bucket[hv % nbucket];
        for (size_t n = 0; idx != STN_UNDEF && idx < nchain && n < nchain; n++) {
            check_sym(e, idx, name, v, d);
            idx = chainv[idx];
        }
    }
}
