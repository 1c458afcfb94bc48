"""Blocks allocated before profiling began and freed (or resized) during it
(the heap columns): a real decrease of live memory, shown as a negative
Heap incr of the block's real size, never a guess, never double counted.

Sizes memline uses for such frees: large blocks, malloc_usable_size(); small
ones, their pymalloc size class (or, with PYTHONMALLOC=malloc, again
malloc_usable_size()).  The expectations here are computed the same way,
independently, through ctypes (_alloc.py)."""

import gc
import io

import pytest

import memline
from memline import _memline
from _alloc import bytearray_usable, list_array_usable, object_block_size
from helpers import only_block

KIB = 1024


def heap_row(out, needle):
    return only_block(out.getvalue()).find(needle)


def profiled(out):
    return memline.profile(stream=out, precision=12)


@pytest.fixture(autouse=True)
def _no_profiling_left():
    gc.collect()  # a profiled generator left over elsewhere would keep the hooks in
    assert not _memline._heap_info()["active"]
    yield
    assert not _memline._heap_info()["active"]


def test_old_large_bytearray_freed_inside():
    """A 50 MB bytearray made outside, dropped inside: -its usable size
    (exact up to the object header, well within 4 KiB)."""
    box = [bytearray(50 * 10 ** 6)]
    want = -bytearray_usable(box[0])
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
    want = -list_array_usable(holder["big"])
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
    old = list_array_usable(big)
    out = io.StringIO()

    @profiled(out)
    def grow(lst):
        lst.append(0)
        return len(lst)

    grow(big)
    # CPython's growth rule: new allocated = (n + n/8 + 6) & ~3 slots.
    n = 10 ** 6 + 1
    new_slots = (n + (n >> 3) + 6) & ~3
    want = 8 * new_slots - old
    row = heap_row(out, "lst.append(0)")
    assert abs(row.bytes("heap_incr") - want) <= 4 * KIB, (want, row)
    assert row.bytes("heap_incr") < 2 * 10 ** 6, row  # not the whole 9 MB block


def test_old_small_objects_freed_inside():
    """100k small tuples (each with two ints) made outside, freed inside:
    about -(their size classes), within 5%."""
    n = 100000
    box = [[(i * 3 + 1000, i * 3 + 1001) for i in range(n)]]
    want = list_array_usable(box[0]) + sum(
        object_block_size(t) + object_block_size(t[0]) + object_block_size(t[1])
        for t in box[0])
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
    want = list_array_usable(box[0]) + sum(object_block_size(b) for b in box[0])
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
    want = -bytearray_usable(box[0])
    out.seek(0)
    out.truncate()
    release(box)
    row = heap_row(out, "box.clear()")
    assert abs(row.bytes("heap_incr") - want) <= 4 * KIB, (want, row)


def test_old_and_new_blocks_together_net_out():
    """Old blocks freed and new ones allocated on one line: the net is the
    new minus the old, never an underflow or a double count."""
    box = [bytearray(20 * 10 ** 6)]
    old = bytearray_usable(box[0])
    out = io.StringIO()

    @profiled(out)
    def swap(box):
        box[0] = bytearray(5 * 10 ** 6)
        tmp = bytearray(7 * 10 ** 6)
        del tmp
        return 0

    swap(box)
    block = only_block(out.getvalue())
    row = block.find("box[0] = bytearray")
    assert abs(row.bytes("heap_incr") - (5 * 10 ** 6 - old)) <= 4 * KIB, row
    assert abs(row.bytes("heap_peak") - 5 * 10 ** 6) <= 4 * KIB, row
    tmp_row = block.find("tmp = bytearray")
    assert abs(tmp_row.bytes("heap_incr") - 7 * 10 ** 6) <= 4 * KIB, tmp_row
    del_row = block.find("del tmp")
    assert abs(del_row.bytes("heap_incr") + 7 * 10 ** 6) <= 4 * KIB, del_row
    assert abs(block.total("heap_incr") - (5 * 10 ** 6 - old)) <= 8 * KIB, block
