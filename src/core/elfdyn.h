/* elfdyn: what the dynamic section of an ELF object loaded in this process
 * says, read safely: its symbols, its hash tables and the relocations that
 * name a function (JUMP_SLOT, GLOB_DAT, and absolute pointers in data).
 * Every pointer read out of the object is first checked to lie inside one of
 * its loaded segments, so a malformed object is reported, never followed.
 * The reader of symhook_elf.c; knows nothing of hooks.  Only called while
 * the loader keeps the object mapped (inside dl_iterate_phdr). */
#ifndef ML_ELFDYN_H
#define ML_ELFDYN_H

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>

/* JUMP_SLOT: PLT calls.  GLOB_DAT: calls and address-taking through the
 * GOT (-fno-plt, function pointers).  ABS: a pointer initialized in data,
 * `xmlMalloc = malloc` or a vtable {malloc, realloc, free} -- libxml2 and
 * GLib allocate through those, and no GOT slot sees their calls. */
#if defined(__x86_64__)
#define ELFDYN_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define ELFDYN_R_GLOB_DAT R_X86_64_GLOB_DAT
#define ELFDYN_R_ABS R_X86_64_64
#elif defined(__aarch64__)
#define ELFDYN_R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define ELFDYN_R_GLOB_DAT R_AARCH64_GLOB_DAT
#define ELFDYN_R_ABS R_AARCH64_ABS64
#elif defined(__i386__)
#define ELFDYN_R_JUMP_SLOT R_386_JMP_SLOT
#define ELFDYN_R_GLOB_DAT R_386_GLOB_DAT
#define ELFDYN_R_ABS R_386_32
#else
#error "symhook_elf: add this architecture's JUMP_SLOT and GLOB_DAT relocation types"
#endif

/* <link.h> gives ElfW() for types but not the class-dependent macros. */
#if __ELF_NATIVE_CLASS == 64
#define ELFDYN_R_TYPE(i) ELF64_R_TYPE(i)
#define ELFDYN_R_SYM(i) ELF64_R_SYM(i)
#define ELFDYN_ST_TYPE(i) ELF64_ST_TYPE(i)
#else
#define ELFDYN_R_TYPE(i) ELF32_R_TYPE(i)
#define ELFDYN_R_SYM(i) ELF32_R_SYM(i)
#define ELFDYN_ST_TYPE(i) ELF32_ST_TYPE(i)
#endif

/* One object's dynamic information.  Invariant once elfdyn_parse() returned
 * ML_OK: every nonzero table address lies inside a readable PT_LOAD segment
 * of the object (for symtab, its first entry; each later one is checked when
 * read), strtab[strsz - 1] == '\0' so every name below strsz ends inside
 * the table, and tab[] entry sizes divide their lengths. */
typedef struct elfdyn {
    uintptr_t base;
    const ElfW(Phdr) *phdr;
    size_t phnum;
    const ElfW(Sym) *symtab;
    const char *strtab;
    size_t strsz;
    struct {
        uintptr_t p;
        size_t n;
        int rela;
    } tab[3];
    size_t ntab;
    uintptr_t gnuhash, hash;
    const char *soname;
} elfdyn;

/* What an object's symbol table says about name, relative to address v.
 * Invariant: each field is 0 or 1; undef_at_v implies at_v. */
typedef struct elfdyn_def {
    int defined;    /* it defines name (any version) */
    int at_v;       /* a symbol named name has exactly the address v */
    int undef_at_v; /* ... and is undefined: the canonical PLT stub of an executable */
    int ifunc;      /* a definition is an IFUNC, whose resolved target is elsewhere in it */
} elfdyn_def;

/* Called for each JUMP_SLOT, GLOB_DAT or (RELA only) absolute relocation of
 * a named symbol without addend; abs tells the last kind.  Nonzero stops the
 * walk and is returned by elfdyn_walk. */
typedef int (*elfdyn_slot_fn)(void *ctx, const elfdyn *e, uintptr_t slot, const char *name, int abs);

/* Nonzero when [p, p+n) lies inside one PT_LOAD segment whose flags include need. */
int elfdyn_in_seg(const elfdyn *e, uintptr_t p, size_t n, unsigned need);

/* Reads an object's PT_DYNAMIC.  Returns ML_OK (an object without one has
 * nothing to patch and ntab == 0) or ML_EFORMAT. */
int elfdyn_parse(elfdyn *e, uintptr_t base, const ElfW(Phdr) *phdr, size_t phnum);

/* The i-th symbol, or NULL if it lies outside the object. */
const ElfW(Sym) *elfdyn_sym(const elfdyn *e, size_t i);

/* Returns ML_OK, ML_EFORMAT at the first unreadable entry, or fn's value. */
int elfdyn_walk(const elfdyn *e, elfdyn_slot_fn fn, void *ctx);

/* Looks name up in the object's hash table (GNU, else SysV).  Never fails:
 * a missing or unreadable table finds nothing. */
void elfdyn_find(const elfdyn *e, const char *name, uintptr_t v, elfdyn_def *d);

#endif
