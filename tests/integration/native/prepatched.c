/* prepatched: a library whose malloc slot another tool rewrote before
 * memline could see it: its constructor points its own PLT slot for malloc
 * at a function of another library (cthread_malloc, which does not define
 * malloc), as a GOT-patching tool of its own would.  memline must leave it
 * alone and name it once.  Built with lazy binding and no RELRO, so the
 * slot is plain writable data. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

void *pp_malloc(size_t n)
{
    return malloc(n);
}

static int rewrite(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    void *target = data;
    Dl_info self;
    if (!dladdr((void *)pp_malloc, &self) || (uintptr_t)self.dli_fbase != info->dlpi_addr)
        return 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    const ElfW(Rela) *rel = NULL;
    size_t relsz = 0;
    const ElfW(Sym) *sym = NULL;
    const char *str = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_JMPREL)
            rel = (const ElfW(Rela) *)dyn->d_un.d_ptr;
        else if (dyn->d_tag == DT_PLTRELSZ)
            relsz = dyn->d_un.d_val;
        else if (dyn->d_tag == DT_SYMTAB)
            sym = (const ElfW(Sym) *)dyn->d_un.d_ptr;
        else if (dyn->d_tag == DT_STRTAB)
            str = (const char *)dyn->d_un.d_ptr;
    }
    for (size_t i = 0; rel && sym && str && i < relsz / sizeof *rel; i++)
        if (strcmp(str + sym[ELF64_R_SYM(rel[i].r_info)].st_name, "malloc") == 0)
            *(void **)(info->dlpi_addr + rel[i].r_offset) = target;
    return 1;
}

__attribute__((constructor)) static void prepatch(void)
{
    void *target = dlsym(RTLD_DEFAULT, "cthread_malloc");
    if (target)
        dl_iterate_phdr(rewrite, target);
}
