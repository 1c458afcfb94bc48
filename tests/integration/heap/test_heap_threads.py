"""Heap accounting across threads (the heap columns): every thread's lines
are traced, threads started before and after profiling began alike, and
each allocation is charged to the line its own thread is running, never to
another thread's line."""

import io
import threading

import pytest

import memline
from helpers import only_block, parse_report, report_of

MB = 10 ** 6
KEEP = []  # keeps the test's buffers alive until the report is read


@pytest.fixture(autouse=True)
def _clear_keep():
    KEEP.clear()
    yield
    KEEP.clear()


def close(got, want, rel=0.01):
    """got within rel of want (both bytes)."""
    return abs(got - want) <= rel * want


def work(n):
    data = bytearray(n)
    KEEP.append(data)
    return len(data)


def work4(k):
    if k == 0:
        KEEP.append(bytearray(10 * MB))
    elif k == 1:
        KEEP.append(bytearray(20 * MB))
    elif k == 2:
        KEEP.append(bytearray(30 * MB))
    else:
        KEEP.append(bytearray(40 * MB))
    return k


def _run_threads_around_enable(prof, target, args_before, args_after):
    """Starts one thread per args_before before prof.enable() (they wait to
    be released), enables, starts one per args_after, releases, joins all,
    disables."""
    go = threading.Event()

    def late_start(args):
        go.wait()
        target(*args)

    early = [threading.Thread(target=late_start, args=(a,)) for a in args_before]
    for t in early:
        t.start()
    prof.enable()
    try:
        late = [threading.Thread(target=target, args=a) for a in args_after]
        for t in late:
            t.start()
        go.set()
        for t in early + late:
            t.join()
    finally:
        prof.disable()


def test_one_line_hit_by_four_threads():
    """10, 20, 30 and 40 MB on one line from 4 threads (two started before
    profiling, two after): the line's Heap incr is their sum within 1%."""
    prof = memline.LineProfiler()
    prof.add_function(work)
    _run_threads_around_enable(prof, work, [(10 * MB,), (40 * MB,)],
                               [(20 * MB,), (30 * MB,)])
    block = only_block(report_of(prof))
    row = block.find("data = bytearray(n)")
    assert row.occurrences == 4
    assert close(row.bytes("heap_incr"), 100 * MB), row
    # The peak of one execution is one buffer, never the sum of threads.
    assert close(row.bytes("heap_peak"), 40 * MB), row
    # The other lines allocate (almost) nothing.
    for r in block.rows:
        if r.seen and r is not row:
            assert abs(r.bytes("heap_incr")) < 64 * 1024, r
    assert len(KEEP) == 4


def test_four_lines_four_threads():
    """One line per thread, each with its own amount: each within 1%."""
    prof = memline.LineProfiler()
    prof.add_function(work4)
    _run_threads_around_enable(prof, work4, [(0,), (3,)], [(1,), (2,)])
    block = only_block(report_of(prof))
    for mb in (10, 20, 30, 40):
        row = block.find("bytearray(%d * MB)" % mb)
        assert row.occurrences == 1, row
        assert close(row.bytes("heap_incr"), mb * MB), row
        assert close(row.bytes("heap_peak"), mb * MB), row


def test_decorated_function_from_four_threads_reports_once():
    """@profile'd function called by 4 overlapping threads: one report,
    the line's Heap incr is the sum of what the 4 allocated."""
    out = io.StringIO()
    barrier = threading.Barrier(4)

    @memline.profile(stream=out, precision=12)
    def alloc(n):
        data = bytearray(n)
        barrier.wait()
        KEEP.append(data)

    threads = [threading.Thread(target=alloc, args=(k * MB,)) for k in (10, 20, 30, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    block = only_block(out.getvalue())
    row = block.find("data = bytearray(n)")
    assert row.occurrences == 4
    assert close(row.bytes("heap_incr"), 100 * MB), row


def waiter(ready, go):
    ready.set()
    go.wait()
    return 0


def allocator(n):
    KEEP.append(bytearray(n))
    return n


def test_allocation_charged_to_own_thread_only():
    """Thread A sits in a profiled line that allocates nothing while thread
    B allocates 50 MB in a profiled line: B's line gets the 50 MB, A's lines
    get about nothing, in both heap columns."""
    prof = memline.LineProfiler()
    prof.add_function(waiter)
    prof.add_function(allocator)
    ready, go = threading.Event(), threading.Event()
    prof.enable()
    try:
        a = threading.Thread(target=waiter, args=(ready, go))
        a.start()
        assert ready.wait(10)
        b = threading.Thread(target=allocator, args=(50 * MB,))
        b.start()
        b.join()
        go.set()
        a.join()
    finally:
        prof.disable()
    blocks = {b.rows[0].source.strip(): b for b in parse_report(report_of(prof))}
    wait_block = blocks["def waiter(ready, go):"]
    alloc_block = blocks["def allocator(n):"]
    row = alloc_block.find("KEEP.append(bytearray(n))")
    assert close(row.bytes("heap_incr"), 50 * MB), row
    wait_row = wait_block.find("go.wait()")
    assert wait_row.occurrences == 1
    for r in wait_block.rows:
        if r.seen:
            assert abs(r.bytes("heap_incr")) < 16 * 1024, r
            assert r.bytes("heap_peak") < 16 * 1024, r


def test_main_thread_line_unaffected_by_worker():
    """The main thread's profiled line waits on a worker that allocates in
    unprofiled code: that memory belongs to no profiled line, so the main
    thread's waiting line is not charged it."""
    def worker():
        KEEP.append(bytearray(30 * MB))

    def main_side():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        return 1

    prof = memline.LineProfiler()
    prof.add_function(main_side)
    with prof:
        main_side()
    block = only_block(report_of(prof))
    for r in block.rows:
        if r.seen:
            assert abs(r.bytes("heap_incr")) < 64 * 1024, r
            assert r.bytes("heap_peak") < 64 * 1024, r
    assert len(KEEP[0]) == 30 * MB
