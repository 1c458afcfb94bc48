"""Blocks allocated before profiling began and freed (or resized) during it
(issue 3): a real decrease of live memory, shown as a negative Heap incr of
the block's real size, never a guess, never double counted.

Sizes memline uses for such frees: large blocks, malloc_usable_size(); small
ones, their pymalloc size class (or, with PYTHONMALLOC=malloc, again
malloc_usable_size()).  The expectations here are computed the same way,
independently, through ctypes."""

import ctypes
import io
import sys

import pytest

import memline
from memline import _memline
from _report import only_block

KIB = 1024
_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
_libc.malloc_usable_size.restype = ctypes.c_size_t
_libc.malloc_usable_size.argtypes = [ctypes.c_void_p]


def malloc_mode():
    """True when every domain is libc malloc (PYTHONMALLOC=malloc): then the
    object and raw domains share their functions."""
    st = _memline._allocator_state()
    return st["obj"][0] == st["raw"][0]


_usable_cache = {}


def usable(n):
    """What malloc_usable_size reports for a fresh n-byte malloc block."""
    if n not in _usable_cache:
        p = _libc.malloc(n)
        assert p
        _usable_cache[n] = _libc.malloc_usable_size(p)
        _libc.free(p)
    return _usable_cache[n]


def small_block_size(n):
    """The size memline counts for an old small block of an n-byte request."""
    if malloc_mode():
        return usable(n)
    return (n + 15) & ~15 if n <= 512 else None


def buffer_usable_size(obj):
    """malloc_usable_size of a bytearray's buffer."""
    arr = (ctypes.c_char * len(obj)).from_buffer(obj)
    try:
        return _libc.malloc_usable_size(ctypes.addressof(arr))
    finally:
        del arr


def heap_row(out, needle):
    return only_block(out.getvalue()).row(needle)


def profiled(out):
    return memline.profile(stream=out, precision=12)


@pytest.fixture(autouse=True)
def _no_profiling_left():
    assert not _memline._heap_info()["active"]
    yield
    assert not _memline._heap_info()["active"]


def test_old_large_bytearray_freed_inside():
    """A 50 MB bytearray made outside, dropped inside: -its usable size
    (exact up to the object header, well within 4 KiB)."""
    box = [bytearray(50 * 10 ** 6)]
    want = -buffer_usable_size(box[0])
    out = io.StringIO()

    @profiled(out)
    def release(box):
        box.clear()
        return len(box)

    release(box)
    row = heap_row(out, "box.clear()")
    assert abs(row.bytes("heap_incr") - want) <= 4 * KIB, (want, row)


def test_old_large_list_freed_inside():
    """A list of 10**6 slots made outside, deleted inside: -8 MB and the
    list object."""
    holder = {"big": [None] * 10 ** 6}
    want = -usable(8 * 10 ** 6)
    out = io.StringIO()

    @profiled(out)
    def release(holder):
        del holder["big"]
        return 0

    release(holder)
    row = heap_row(out, 'del holder["big"]')
    assert abs(row.bytes("heap_incr") - want) <= 4 * KIB, (want, row)


def test_old_large_list_grown_inside():
    """An old 8 MB list array resized by an append (realloc of a block the
    hooks never saw): the increment is the new size minus the old usable
    size, not the whole new block."""
    big = [None] * 10 ** 6
    out = io.StringIO()

    @profiled(out)
    def grow(lst):
        lst.append(0)
        return len(lst)

    grow(big)
    # CPython's growth rule: new allocated = (n + n/8 + 6) & ~3 slots.
    n = 10 ** 6 + 1
    new_slots = (n + (n >> 3) + 6) & ~3
    want = 8 * new_slots - usable(8 * 10 ** 6)
    row = heap_row(out, "lst.append(0)")
    assert abs(row.bytes("heap_incr") - want) <= 4 * KIB, (want, row)
    assert row.bytes("heap_incr") < 2 * 10 ** 6, row  # not the whole 9 MB block


def test_old_small_objects_freed_inside():
    """100k small tuples (each with two ints) made outside, freed inside:
    about -(their size classes), within 5%."""
    n = 100000
    box = [[(i * 3 + 1000, i * 3 + 1001) for i in range(n)]]
    lst = box[0]
    tuple_block = small_block_size(sys.getsizeof(lst[0]))
    int_block = small_block_size(sys.getsizeof(lst[0][0]))
    want = n * (tuple_block + 2 * int_block) + usable(sys.getsizeof(lst) - sys.getsizeof([]))
    del lst
    out = io.StringIO()

    @profiled(out)
    def release(box):
        box.clear()
        return 0

    release(box)
    row = heap_row(out, "box.clear()")
    got = -row.bytes("heap_incr")
    # A few thousand tuples go to the tuple free list instead of being freed.
    assert abs(got - want) <= 0.05 * want, (want, row)


def test_old_small_bytes_freed_inside():
    """100k bytes objects of one size class (and their list's slot array),
    made outside, freed inside."""
    n = 100000
    box = [[b"%031d" % i for i in range(n)]]
    size = sys.getsizeof(box[0][0])
    array = sys.getsizeof(box[0]) - sys.getsizeof([])  # the list's slot array
    want = n * small_block_size(size) + usable(array)
    out = io.StringIO()

    @profiled(out)
    def release(box):
        box[0].clear()
        return 0

    release(box)
    row = heap_row(out, "box[0].clear()")
    got = -row.bytes("heap_incr")
    assert abs(got - want) <= 0.05 * want, (want, row)


def test_block_from_an_earlier_session_freed_in_a_later_one():
    """Allocated while profiled once, freed while profiled again: the table
    starts empty at each installation, so the free falls back to the block's
    usable size; counted once, as a decrease of about its size."""
    box = []
    out = io.StringIO()

    @profiled(out)
    def make(box):
        box.append(bytearray(30 * 10 ** 6))
        return 0

    @profiled(out)
    def release(box):
        box.clear()
        return 0

    make(box)
    want = -buffer_usable_size(box[0])
    out.seek(0)
    out.truncate()
    release(box)
    row = heap_row(out, "box.clear()")
    assert abs(row.bytes("heap_incr") - want) <= 4 * KIB, (want, row)


def test_old_and_new_blocks_together_net_out():
    """Old blocks freed and new ones allocated on one line: the net is the
    new minus the old, never an underflow or a double count."""
    box = [bytearray(20 * 10 ** 6)]
    old = buffer_usable_size(box[0])
    out = io.StringIO()

    @profiled(out)
    def swap(box):
        box[0] = bytearray(5 * 10 ** 6)
        tmp = bytearray(7 * 10 ** 6)
        del tmp
        return 0

    swap(box)
    block = only_block(out.getvalue())
    row = block.row("box[0] = bytearray")
    assert abs(row.bytes("heap_incr") - (5 * 10 ** 6 - old)) <= 4 * KIB, row
    assert abs(row.bytes("heap_peak") - 5 * 10 ** 6) <= 4 * KIB, row
    tmp_row = block.row("tmp = bytearray")
    assert abs(tmp_row.bytes("heap_incr") - 7 * 10 ** 6) <= 4 * KIB, tmp_row
    del_row = block.row("del tmp")
    assert abs(del_row.bytes("heap_incr") + 7 * 10 ** 6) <= 4 * KIB, del_row
    assert abs(block.total("heap_incr") - (5 * 10 ** 6 - old)) <= 8 * KIB, block
