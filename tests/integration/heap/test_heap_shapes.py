"""Execution shapes memory_profiler gets wrong, in the heap columns:
generators (every resumption, yield lines counted, one report when done),
coroutines, async generators, recursion folded into one table, methods,
class and static methods, decorated closures, and exceptions leaving the
numbers consistent.

Each profiled line allocates a known number of bytes and keeps it in KEEP,
so its Heap incr is that number plus at most a few KiB of list growth."""

import asyncio
import gc
import io
import threading

import pytest

import memline
from helpers import only_block, parse_report

M = 1 << 20
SLACK = 16 * 1024  # list growth and object headers around an M-sized buffer
KEEP = []


@pytest.fixture(autouse=True)
def _clear_keep():
    KEEP.clear()
    yield
    KEEP.clear()


def near(got, want, slack=SLACK):
    return abs(got - want) <= slack


def decorate(out):
    return memline.profile(stream=out, precision=12)


# ---- generators ----

def make_gen(out):
    @decorate(out)
    def gen(n):
        for i in range(n):
            KEEP.append(bytearray(M))
            yield i
        KEEP.append(bytearray(3 * M))
    return gen


def test_generator_every_resumption_counted_and_reported_once():
    out = io.StringIO()
    gen = make_gen(out)
    g = gen(5)
    caller = []
    for _ in g:
        # The consumer's own allocations between resumptions are not the
        # generator's: they must not land on the yield line.
        caller.append(bytearray(7 * M))
        assert out.getvalue() == "", "report printed before the generator finished"
    del g
    gc.collect()
    block = only_block(out.getvalue())
    append = block.find("KEEP.append(bytearray(M))")
    assert append.occurrences == 5
    assert near(append.bytes("heap_incr"), 5 * M), append
    assert near(append.bytes("heap_peak"), M), append
    yield_row = block.find("yield i")
    assert yield_row.occurrences == 5
    assert near(yield_row.bytes("heap_incr"), 0), yield_row
    assert yield_row.bytes("heap_peak") < SLACK, yield_row
    last = block.find("bytearray(3 * M)")
    assert last.occurrences == 1
    assert near(last.bytes("heap_incr"), 3 * M), last
    assert near(block.total("heap_incr"), 8 * M), block
    assert len(caller) == 5


def test_generator_resumed_in_another_thread():
    """Resumptions run by another thread are traced too."""
    out = io.StringIO()
    gen = make_gen(out)
    g = gen(6)
    assert next(g) == 0
    assert next(g) == 1

    def rest():
        for _ in g:
            pass

    t = threading.Thread(target=rest)
    t.start()
    t.join()
    del g
    gc.collect()
    block = only_block(out.getvalue())
    append = block.find("KEEP.append(bytearray(M))")
    assert append.occurrences == 6
    assert near(append.bytes("heap_incr"), 6 * M), append
    assert block.find("yield i").occurrences == 6
    assert near(block.find("bytearray(3 * M)").bytes("heap_incr"), 3 * M)


def test_generator_closed_early():
    """close() after 3 of 10 items: one report, the 3 allocations counted,
    the finally clause's line counted too."""
    out = io.StringIO()

    @decorate(out)
    def gen(n):
        try:
            for i in range(n):
                KEEP.append(bytearray(M))
                yield i
        finally:
            KEEP.append(bytearray(2 * M))

    g = gen(10)
    assert [next(g) for _ in range(3)] == [0, 1, 2]
    g.close()
    del g
    gc.collect()
    block = only_block(out.getvalue())
    append = block.find("KEEP.append(bytearray(M))")
    assert append.occurrences == 3
    assert near(append.bytes("heap_incr"), 3 * M), append
    assert block.find("yield i").occurrences == 3
    fin = block.find("bytearray(2 * M)")
    assert fin.occurrences == 1
    assert near(fin.bytes("heap_incr"), 2 * M), fin
    assert near(block.total("heap_incr"), 5 * M), block


def test_generator_reports_once_per_generator():
    """Two generators consumed one after the other: two reports, each with
    its own numbers (the counts start over)."""
    out = io.StringIO()
    gen = make_gen(out)
    list(gen(2))
    gc.collect()
    list(gen(4))
    gc.collect()
    blocks = parse_report(out.getvalue())
    assert len(blocks) == 2, out.getvalue()
    for block, n in zip(blocks, (2, 4)):
        append = block.find("KEEP.append(bytearray(M))")
        assert append.occurrences == n
        assert near(append.bytes("heap_incr"), n * M), append


# ---- coroutines and async generators ----

async def _other_task(n):
    """Unprofiled task that allocates between the profiled one's awaits."""
    for _ in range(n):
        KEEP.append(bytearray(5 * M))
        await asyncio.sleep(0)


def test_coroutine():
    out = io.StringIO()

    @decorate(out)
    async def co(n):
        for i in range(n):
            KEEP.append(bytearray(M))
            await asyncio.sleep(0)
        return n

    async def main():
        other = asyncio.ensure_future(_other_task(4))
        r = await co(4)
        await other
        return r

    assert asyncio.iscoroutinefunction(co)
    assert asyncio.run(main()) == 4
    gc.collect()
    block = only_block(out.getvalue())
    append = block.find("KEEP.append(bytearray(M))")
    assert append.occurrences == 4
    assert near(append.bytes("heap_incr"), 4 * M), append
    await_row = block.find("await asyncio.sleep(0)")
    assert await_row.occurrences == 4
    # The other task's 20 MiB ran while this coroutine was suspended.
    assert near(await_row.bytes("heap_incr"), 0), await_row
    assert near(block.total("heap_incr"), 4 * M), block


def test_async_generator():
    out = io.StringIO()

    @decorate(out)
    async def agen(n):
        for i in range(n):
            KEEP.append(bytearray(M))
            yield i
            await asyncio.sleep(0)

    async def main():
        other = asyncio.ensure_future(_other_task(3))
        got = [i async for i in agen(3)]
        await other
        return got

    assert asyncio.run(main()) == [0, 1, 2]
    gc.collect()
    block = only_block(out.getvalue())
    append = block.find("KEEP.append(bytearray(M))")
    assert append.occurrences == 3
    assert near(append.bytes("heap_incr"), 3 * M), append
    assert block.find("yield i").occurrences == 3
    assert near(block.find("yield i").bytes("heap_incr"), 0)
    assert near(block.total("heap_incr"), 3 * M), block


# ---- recursion ----

def test_recursion_folds_into_one_table():
    out = io.StringIO()

    @decorate(out)
    def fact(n):
        KEEP.append(bytearray(M))
        if n <= 1:
            return 1
        return n * fact(n - 1)

    assert fact(5) == 120
    block = only_block(out.getvalue())
    append = block.find("KEEP.append(bytearray(M))")
    assert append.occurrences == 5
    assert near(append.bytes("heap_incr"), 5 * M), append
    assert near(append.bytes("heap_peak"), M), append
    recurse = block.find("return n * fact(n - 1)")
    assert recurse.occurrences == 4
    # One execution of the outermost recursive line spans the 4 levels below.
    assert near(recurse.bytes("heap_peak"), 4 * M, 4 * SLACK), recurse
    assert near(block.total("heap_incr"), 5 * M), block


def test_mutual_recursion_with_profiler_object():
    """Two functions of one LineProfiler calling each other: one table each,
    every level folded."""
    def ping(n):
        KEEP.append(bytearray(M))
        return pong(n - 1) if n > 0 else 0

    def pong(n):
        KEEP.append(bytearray(2 * M))
        return ping(n - 1) if n > 0 else 0

    prof = memline.LineProfiler()
    prof.add_function(ping)
    prof.add_function(pong)
    with prof:
        ping(5)  # ping at 5, 3, 1; pong at 4, 2, 0
    out = io.StringIO()
    memline.show_results(prof, stream=out, precision=12)
    blocks = parse_report(out.getvalue())
    assert len(blocks) == 2
    ping_row = blocks[0].find("bytearray(M)")
    pong_row = blocks[1].find("bytearray(2 * M)")
    assert ping_row.occurrences == 3 and pong_row.occurrences == 3
    assert near(ping_row.bytes("heap_incr"), 3 * M), ping_row
    assert near(pong_row.bytes("heap_incr"), 6 * M), pong_row


# ---- methods ----

def test_methods_classmethods_staticmethods():
    out = io.StringIO()

    class Thing:
        @decorate(out)
        def method(self, n):
            KEEP.append(bytearray(n))
            return n

        @classmethod
        @decorate(out)
        def cmethod(cls, n):
            KEEP.append(bytearray(n))
            return cls

        @decorate(out)
        @classmethod
        def cmethod_outer(cls, n):
            KEEP.append(bytearray(n))
            return cls

        @staticmethod
        @decorate(out)
        def smethod(n):
            KEEP.append(bytearray(n))
            return n

        @decorate(out)
        @staticmethod
        def smethod_outer(n):
            KEEP.append(bytearray(n))
            return n

    t = Thing()
    calls = [
        (lambda: t.method(1 * M), 1 * M),
        (lambda: Thing.cmethod(2 * M), Thing),
        (lambda: t.cmethod_outer(3 * M), Thing),
        (lambda: Thing.smethod(4 * M), 4 * M),
        (lambda: t.smethod_outer(5 * M), 5 * M),
    ]
    for i, (call, want) in enumerate(calls, 1):
        before = len(parse_report(out.getvalue()))
        assert call() == want
        blocks = parse_report(out.getvalue())
        assert len(blocks) == before + 1, "call %d printed %d reports" % (
            i, len(blocks) - before)
        row = blocks[-1].find("KEEP.append(bytearray(n))")
        assert row.occurrences == 1
        assert near(row.bytes("heap_incr"), i * M), row


# ---- decorated closures ----

def test_closure_decorated_inside_function_reports_once_per_call():
    out = io.StringIO()

    def outer(n):
        @decorate(out)
        def inner():
            KEEP.append(bytearray(n))
            return n
        return inner()

    for k in (1, 2, 3):
        assert outer(k * M) == k * M
    blocks = parse_report(out.getvalue())
    assert len(blocks) == 3, out.getvalue()
    linenos = {b.find("KEEP.append(bytearray(n))").lineno for b in blocks}
    assert len(linenos) == 1  # the same table each time
    for block, k in zip(blocks, (1, 2, 3)):
        row = block.find("KEEP.append(bytearray(n))")
        assert row.occurrences == 1
        assert near(row.bytes("heap_incr"), k * M), row


# ---- exceptions ----

def test_exception_propagates_and_report_prints():
    out = io.StringIO()

    @decorate(out)
    def boom(n):
        KEEP.append(bytearray(n))
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        boom(3 * M)
    block = only_block(out.getvalue())
    row = block.find("KEEP.append(bytearray(n))")
    assert near(row.bytes("heap_incr"), 3 * M), row
    assert block.find("raise ValueError").occurrences == 1
    assert near(block.total("heap_incr"), 3 * M), block


def test_exception_from_nested_unprofiled_call():
    """The exception comes out of an unprofiled helper that allocated: the
    allocation is charged to the calling line, and the stack unwinds."""
    out = io.StringIO()

    def helper(n):
        KEEP.append(bytearray(n))
        raise KeyError(n)

    @decorate(out)
    def outer(n):
        KEEP.append(bytearray(M))
        helper(n)
        return n

    with pytest.raises(KeyError):
        outer(4 * M)
    block = only_block(out.getvalue())
    assert near(block.find("KEEP.append(bytearray(M))").bytes("heap_incr"), M)
    assert block.find("helper(n)").seen, out.getvalue()
    assert near(block.find("helper(n)").bytes("heap_incr"), 4 * M)
    assert block.find("return n").seen is False


def test_a_profiler_collected_during_a_profiled_call_costs_it_no_lines():
    """The collector frees a dead LineProfiler in the middle of another
    profiler's function: the live function keeps its shadow frames, so the
    lines after the collection are seen and charged."""
    out = io.StringIO()

    def dead_profiler():
        prof = memline.LineProfiler()
        func = prof(lambda: 1)
        func()
        cycle = [prof, func]
        cycle.append(cycle)

    @decorate(out)
    def outer(n):
        gc.collect()
        KEEP.append(bytearray(n))
        return n

    gc.disable()  # the garbage must live until outer's first line
    try:
        dead_profiler()
        outer(2 * M)
    finally:
        gc.enable()
    block = only_block(out.getvalue())
    assert block.find("gc.collect()").seen, out.getvalue()
    assert near(block.find("KEEP.append(bytearray(n))").bytes("heap_incr"), 2 * M), out.getvalue()
    assert block.find("return n").occurrences == 1, out.getvalue()


def test_exception_caught_inside():
    out = io.StringIO()

    @decorate(out)
    def caught(n):
        try:
            tmp = bytearray(n)
            raise KeyError(n)
        except KeyError:
            del tmp
        KEEP.append(bytearray(n))
        return n

    assert caught(2 * M) == 2 * M
    block = only_block(out.getvalue())
    alloc = block.find("tmp = bytearray(n)")
    assert near(alloc.bytes("heap_incr"), 2 * M), alloc
    assert near(alloc.bytes("heap_peak"), 2 * M), alloc
    freed = block.find("del tmp")
    assert near(freed.bytes("heap_incr"), -2 * M), freed
    kept = block.find("KEEP.append(bytearray(n))")
    assert near(kept.bytes("heap_incr"), 2 * M), kept
    assert near(block.total("heap_incr"), 2 * M), block


def test_numbers_stay_right_after_an_exception():
    """A call that raised leaves no stale frame behind: the next calls of the
    same and of another profiled function are measured as usual."""
    out = io.StringIO()

    @decorate(out)
    def maybe_fail(n, fail):
        KEEP.append(bytearray(n))
        if fail:
            raise RuntimeError("fail")
        return n

    @decorate(out)
    def plain(n):
        KEEP.append(bytearray(n))
        return n

    with pytest.raises(RuntimeError):
        maybe_fail(M, True)
    assert maybe_fail(2 * M, False) == 2 * M
    assert plain(3 * M) == 3 * M
    blocks = parse_report(out.getvalue())
    assert len(blocks) == 3
    for block, n in zip(blocks, (M, 2 * M, 3 * M)):
        row = block.find("KEEP.append(bytearray(n))")
        assert row.occurrences == 1
        assert near(row.bytes("heap_incr"), n), row
        assert near(block.total("heap_incr"), n), block


def test_exception_escaping_a_generator():
    out = io.StringIO()

    @decorate(out)
    def gen():
        KEEP.append(bytearray(M))
        yield 1
        KEEP.append(bytearray(2 * M))
        raise LookupError("gen")

    g = gen()
    assert next(g) == 1
    with pytest.raises(LookupError):
        next(g)
    del g
    gc.collect()
    block = only_block(out.getvalue())
    assert near(block.total("heap_incr"), 3 * M), block
    assert near(block.find("bytearray(2 * M)").bytes("heap_incr"), 2 * M)


# ---- Heap peak spans nested calls ----

def test_peak_includes_temporaries_of_nested_profiled_calls():
    """The callee (profiled too) allocates a temporary and frees it before
    returning: the calling line's Heap incr is ~0, its Heap peak the
    temporary."""
    def inner(n):
        tmp = bytearray(n)
        size = len(tmp)
        del tmp
        return size

    def outer(n):
        got = inner(n)
        return got

    prof = memline.LineProfiler()
    prof.add_function(inner)
    prof.add_function(outer)
    with prof:
        assert outer(8 * M) == 8 * M
    out = io.StringIO()
    memline.show_results(prof, stream=out, precision=12)
    blocks = {b.rows[0].source.strip(): b for b in parse_report(out.getvalue())}
    call = blocks["def outer(n):"].find("got = inner(n)")
    assert near(call.bytes("heap_incr"), 0), call
    assert near(call.bytes("heap_peak"), 8 * M), call
    alloc = blocks["def inner(n):"].find("tmp = bytearray(n)")
    assert near(alloc.bytes("heap_peak"), 8 * M), alloc


def test_peak_of_recursive_line_spans_the_levels_below():
    """Each level holds a temporary while it recurses and frees it after:
    the outermost recursive line's peak is the levels below it together."""
    out = io.StringIO()

    @decorate(out)
    def deep(n):
        tmp = bytearray(M)
        if n > 1:
            deep(n - 1)
        del tmp
        return n

    assert deep(4) == 4
    block = only_block(out.getvalue())
    recurse = block.find("deep(n - 1)")
    assert recurse.occurrences == 3
    assert near(recurse.bytes("heap_peak"), 3 * M, 4 * SLACK), recurse
    assert near(recurse.bytes("heap_incr"), 0), recurse
    assert near(block.find("tmp = bytearray(M)").bytes("heap_incr"), 4 * M)
    assert near(block.find("del tmp").bytes("heap_incr"), -4 * M)
    assert near(block.total("heap_incr"), 0), block


def test_peak_includes_unprofiled_callees():
    """An unprofiled helper's temporary counts for the line that called it."""
    out = io.StringIO()

    def helper(n):
        return len(bytearray(n))

    @decorate(out)
    def caller(n):
        size = helper(n)
        return size

    assert caller(6 * M) == 6 * M
    row = only_block(out.getvalue()).find("size = helper(n)")
    assert near(row.bytes("heap_incr"), 0), row
    assert near(row.bytes("heap_peak"), 6 * M), row
