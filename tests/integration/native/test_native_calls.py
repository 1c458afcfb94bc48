"""Every hooked function, called with known sizes by a C library the test
setup builds, is charged to the line that called it, exactly: malloc-family
blocks at malloc_usable_size(), anonymous mappings at their page-rounded
length, file mappings not at all.  One copy of the library is loaded before
profiling starts, another with ctypes.CDLL while it runs (the dlopen hook's
path).  Run as a user runs it: python -m memline --native-columns."""

import ctypes
import mmap
import os
import textwrap

import pytest

from helpers import SANITIZED, child_env, only_block, run_memline, write

PAGE = mmap.PAGESIZE
MIB = 1 << 20

SCRIPT = textwrap.dedent('''\
    import ctypes, mmap, os, sys
    V, S, I = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    SIGS = {"malloc": (V, [S]), "calloc": (V, [S, S]), "realloc": (V, [V, S]),
            "reallocarray": (V, [V, S, S]), "free": (None, [V]),
            "posix_memalign": (I, [ctypes.POINTER(V), S, S]), "aligned_alloc": (V, [S, S]),
            "memalign": (V, [S, S]), "valloc": (V, [S]), "pvalloc": (V, [S]),
            "mmap": (V, [V, S, I, I, I, ctypes.c_long]), "munmap": (I, [V, S]),
            "mremap": (V, [V, S, S, I])}

    def load(path):
        lib = ctypes.CDLL(path)
        for name, (res, args) in SIGS.items():
            fn = getattr(lib, "nalloc_" + name)
            fn.restype, fn.argtypes = res, args
        return lib

    lib = load(sys.argv[1])
    box = V()
    RW, ANON = mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    fd = os.open(sys.argv[3], os.O_RDONLY)

    @profile
    def f():
        p = lib.nalloc_malloc(1000)
        p = lib.nalloc_realloc(p, 5000)
        lib.nalloc_free(p)
        q = lib.nalloc_calloc(100, 10)
        lib.nalloc_free(q)
        r = lib.nalloc_reallocarray(None, 300, 10)
        lib.nalloc_free(r)
        rc = lib.nalloc_posix_memalign(ctypes.byref(box), 64, 2000)
        lib.nalloc_free(box)
        a = lib.nalloc_aligned_alloc(64, 4096)
        lib.nalloc_free(a)
        m = lib.nalloc_memalign(256, 3000)
        lib.nalloc_free(m)
        v = lib.nalloc_valloc(5000)
        lib.nalloc_free(v)
        pv = lib.nalloc_pvalloc(5000)
        lib.nalloc_free(pv)
        mp = lib.nalloc_mmap(None, 1 << 20, RW, ANON, -1, 0)
        lib.nalloc_munmap(mp + (1 << 19), 1 << 19)
        mp = lib.nalloc_mremap(mp, 1 << 19, 2 << 20, 1)
        lib.nalloc_munmap(mp, 2 << 20)
        fm = lib.nalloc_mmap(None, 1 << 20, mmap.PROT_READ, mmap.MAP_PRIVATE, fd, 0)
        lib.nalloc_munmap(fm, 1 << 20)
        late = load(sys.argv[2])
        t = late.nalloc_malloc(7000)
        late.nalloc_free(t)
        return rc

    f()
''')


def usable(*request):
    """malloc_usable_size of a block this process's allocator gives for
    request: the same allocator the child uses (with libasan preloaded
    under the sanitizer run, ASan's), so the same answer."""
    libc = ctypes.CDLL(None)
    libc.malloc_usable_size.restype = ctypes.c_size_t
    libc.malloc_usable_size.argtypes = [ctypes.c_void_p]
    alloc, args = request[0], request[1:]
    box = ctypes.c_void_p()
    if alloc == "posix_memalign":
        assert libc.posix_memalign(ctypes.byref(box), *args) == 0
        p = box.value
    else:
        fn = getattr(libc, alloc)
        fn.restype = ctypes.c_void_p
        p = fn(*args)
    n = libc.malloc_usable_size(ctypes.c_void_p(p))
    libc.free(ctypes.c_void_p(p))
    return n


def page_round(n):
    return (n + PAGE - 1) // PAGE * PAGE


@pytest.fixture(scope="module")
def block(libs, tmp_path_factory):
    d = tmp_path_factory.mktemp("calls")
    script = write(d / "calls.py", SCRIPT)
    data = d / "data.bin"
    data.write_bytes(b"\0" * (1 << 20))
    proc = run_memline(["--precision", "12", "--native-columns", script, libs["nalloc"],
                        libs["late"], data], cwd=d, env=child_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return only_block(proc.stdout)


def native(block, needle):
    return block.row(needle).bytes("native_incr")


def test_malloc_realloc_free(block):
    assert native(block, "p = lib.nalloc_malloc(1000)") == usable("malloc", 1000)
    assert native(block, "p = lib.nalloc_realloc(p, 5000)") == (usable("malloc", 5000)
                                                               - usable("malloc", 1000))
    assert native(block, "lib.nalloc_free(p)") == -usable("malloc", 5000)


def test_calloc_and_reallocarray(block):
    assert native(block, "q = lib.nalloc_calloc(100, 10)") == usable("calloc", 100, 10)
    assert native(block, "lib.nalloc_free(q)") == -usable("calloc", 100, 10)
    assert native(block, "r = lib.nalloc_reallocarray(None, 300, 10)") == usable("malloc", 3000)
    assert native(block, "lib.nalloc_free(r)") == -usable("malloc", 3000)


def test_aligned_allocators(block):
    cases = [("rc = lib.nalloc_posix_memalign(", "lib.nalloc_free(box)",
              ("posix_memalign", 64, 2000)),
             ("a = lib.nalloc_aligned_alloc(64, 4096)", "lib.nalloc_free(a)",
              ("aligned_alloc", 64, 4096)),
             ("m = lib.nalloc_memalign(256, 3000)", "lib.nalloc_free(m)", ("memalign", 256, 3000)),
             ("v = lib.nalloc_valloc(5000)", "lib.nalloc_free(v)", ("valloc", 5000)),
             ("pv = lib.nalloc_pvalloc(5000)", "lib.nalloc_free(pv)", ("pvalloc", 5000))]
    for alloc_line, free_line, request in cases:
        # An aligned block's usable size depends on where it falls (the
        # slack before the aligned address), so not on the request alone.
        align, n = (request[1], request[2]) if len(request) == 3 else (PAGE, request[1])
        got = native(block, alloc_line)
        least = page_round(n) if request[0] == "pvalloc" else n
        assert least <= got, (alloc_line, got)
        assert got <= page_round(n) + align + 64, (alloc_line, got)
        assert native(block, free_line) == -got, free_line


def test_anonymous_mappings_count_their_pages(block):
    assert native(block, "mp = lib.nalloc_mmap(None, 1 << 20") == MIB
    assert native(block, "lib.nalloc_munmap(mp + (1 << 19)") == -MIB // 2
    assert native(block, "mp = lib.nalloc_mremap(mp") == 2 * MIB - MIB // 2
    assert native(block, "lib.nalloc_munmap(mp, 2 << 20)") == -2 * MIB


def test_file_mappings_do_not_count(block):
    assert native(block, "fm = lib.nalloc_mmap(None") == 0
    assert native(block, "lib.nalloc_munmap(fm") == 0


def test_a_library_loaded_while_profiling_is_hooked(block):
    assert native(block, "t = late.nalloc_malloc(7000)") == usable("malloc", 7000)
    assert native(block, "late.nalloc_free(t)") == -usable("malloc", 7000)


def test_native_bytes_are_in_the_heap_columns_too(block):
    """The heap columns count Python and native memory together; the
    native ones are their native part."""
    row = block.row("p = lib.nalloc_malloc(1000)")
    assert row.bytes("native_incr") == usable("malloc", 1000)
    # The rest is the line's own Python objects (an int made, a few freed).
    assert abs(row.bytes("heap_incr") - row.bytes("native_incr")) < 256
    assert row.bytes("native_peak") >= usable("malloc", 1000)
    assert block.total("native_incr") == 0  # everything was given back


@pytest.mark.skipif(not SANITIZED, reason="checks the sanitizer run's libasan preload")
def test_under_asan_the_hooks_step_aside_with_one_warning(libs, tmp_path):
    """Without MEMLINE_NATIVE_ALLOW_SANITIZER (which the sanitizer run sets,
    so the hooks run there too), the hooks leave ASan's allocator alone: its
    interceptors (strdup, ...) allocate where no hook sees, so counts would
    drift.  One warning line says so, and the heap columns count the
    Python heap only."""
    script = write(tmp_path / "calls.py", SCRIPT)
    data = tmp_path / "data.bin"
    data.write_bytes(b"\0" * 4096)
    env = child_env()
    env.pop("MEMLINE_NATIVE_ALLOW_SANITIZER", None)
    proc = run_memline(["--native-columns", script, libs["nalloc"], libs["late"], data],
                       cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "memline: warning: native memory is not counted: a sanitizer runtime hooks the "
        "allocator"), proc.stderr
    block = only_block(proc.stdout)
    assert block.columns == 7  # no native columns: nothing native was counted
