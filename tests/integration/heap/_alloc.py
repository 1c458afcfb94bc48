"""What the allocator says about blocks, for the heap tests' expectations.

memline counts a block freed during profiling but allocated before it by
its real size: a pymalloc block by its size class, any other block by
malloc_usable_size().  These helpers compute the same quantities
independently, through ctypes and CPython's object layout."""

import ctypes
import sys

from memline import _memline

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
_libc.malloc_usable_size.restype = ctypes.c_size_t
_libc.malloc_usable_size.argtypes = [ctypes.c_void_p]

_HAVE_GC = 1 << 14  # Py_TPFLAGS_HAVE_GC
_GC_HEAD = 2 * ctypes.sizeof(ctypes.c_void_p)  # PyGC_Head, before a GC object
_PTR = ctypes.sizeof(ctypes.c_void_p)


def malloc_mode():
    """True when every domain is libc malloc (PYTHONMALLOC=malloc): the
    object and raw domains then share their functions."""
    st = _memline._allocator_state()
    return st["obj"][0] == st["raw"][0]


def malloc_usable_size(address):
    return _libc.malloc_usable_size(address)


_usable_cache = {}


def usable(n):
    """malloc_usable_size of a fresh n-byte malloc block."""
    if n not in _usable_cache:
        p = _libc.malloc(n)
        assert p
        _usable_cache[n] = _libc.malloc_usable_size(p)
        _libc.free(p)
    return _usable_cache[n]


def size_class(n):
    """pymalloc's block size for an n-byte request (n <= 512)."""
    return (n + 15) & ~15


def object_block_size(obj):
    """The size memline counts when obj's own block (not its buffers), made
    before profiling, is freed: its size class under pymalloc, its usable
    size under malloc."""
    if malloc_mode():
        start = id(obj) - (_GC_HEAD if type(obj).__flags__ & _HAVE_GC else 0)
        return _libc.malloc_usable_size(start)
    n = sys.getsizeof(obj)
    assert n <= 512, "not a small object: %r" % (type(obj),)
    return size_class(n)


def list_array_usable(lst):
    """malloc_usable_size of a (large) list's slot array, ob_item."""
    ob_item = ctypes.c_void_p.from_address(id(lst) + 3 * _PTR).value
    assert ob_item
    return _libc.malloc_usable_size(ob_item)


def bytearray_usable(obj):
    """malloc_usable_size of a (large) bytearray's buffer."""
    arr = (ctypes.c_char * len(obj)).from_buffer(obj)
    try:
        return _libc.malloc_usable_size(ctypes.addressof(arr))
    finally:
        del arr
