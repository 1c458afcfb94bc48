"""The engine's charging and its RSS rule, tested exactly with the scripted
memory source: every OS reading the engine takes comes from a value the
test sets, and the rule's clock is the test's too, so which line is charged
what, and how often the OS is asked, are exact numbers, not tolerances.

The rule (docs/performance.md): RSS is read again when the thread's heap
(its high-water mark included) has risen or fallen 16 KiB since the last
reading, or when that reading is 50 ms old, the clock being looked at once
every 64 events; rss-exact reads at every event."""

import pytest

from memline import LineProfiler
from memline import _memline

MIB = 1 << 20
S = _memline._script_set


@pytest.fixture
def script():
    _memline._script_begin(100 * MIB)
    yield
    _memline._script_end()


def rows(prof, func):
    """{line offset from the def: (increment MiB, mem usage MiB, occurrences)}."""
    code = func.__code__
    first = code.co_firstlineno
    return {lineno - first: v for lineno, v in prof.code_map[code].items()}


def profiled(prof, func):
    prof.add_function(func)
    return prof.wrap_function(func)


def test_exact_backend_charges_each_interval_to_the_line_that_ran(script):
    def f():
        S(bytes=101 * MIB)
        S(bytes=104 * MIB)
        S(bytes=102 * MIB)

    prof = LineProfiler(backend="rss-exact")
    profiled(prof, f)()
    r = rows(prof, f)
    # The def line: the call's own interval, read at the call and at the
    # first line, both 100 MiB.
    assert r[0] == (0.0, 100.0, 1)
    assert r[1] == (1.0, 101.0, 1)
    assert r[2] == (3.0, 104.0, 1)
    assert r[3] == (-2.0, 102.0, 1)
    # rss-exact reads at every event: the call, three lines, the return.
    assert _memline._script_reads() == 5


def test_default_rule_rereads_only_when_the_heap_moves(script):
    def f():
        S(bytes=200 * MIB)
        a = 1
        b = bytearray(64 * 1024)
        c = 2
        return a, b, c

    prof = LineProfiler()
    profiled(prof, f)()
    r = rows(prof, f)
    # RSS moved on line 1 but the heap did not: the cached reading stands
    # until line 3's 64 KiB moves the heap past the 16 KiB window, and the
    # reading at line 4's start charges the whole move to line 3.
    assert r[1] == (0.0, 100.0, 1)
    assert r[2] == (0.0, 100.0, 1)
    assert r[3] == (100.0, 200.0, 1)
    assert r[4] == (0.0, 200.0, 1)
    # One reading at the call, one after line 3: nothing else asked the OS.
    assert _memline._script_reads() == 2


def test_a_peak_inside_one_line_triggers_a_reading(script):
    def f():
        S(bytes=150 * MIB)
        n = len(bytearray(64 * 1024))
        return n

    prof = LineProfiler()
    profiled(prof, f)()
    r = rows(prof, f)
    # Line 2 allocates and frees 64 KiB: the net heap is back where it was,
    # but its high-water mark left the window, so the next event reads.
    assert r[2] == (50.0, 150.0, 1)
    assert _memline._script_reads() == 2


def test_a_fall_of_the_heap_triggers_a_reading(script):
    big = [bytearray(64 * 1024)]

    def f():
        S(bytes=90 * MIB)
        big.pop()
        return None

    prof = LineProfiler()
    profiled(prof, f)()
    r = rows(prof, f)
    assert r[2] == (-10.0, 90.0, 1)
    assert _memline._script_reads() == 2


def test_without_heap_moves_a_long_loop_asks_the_os_once(script):
    def f():
        total = 0
        for i in range(1000):
            total += i
        return total

    prof = LineProfiler()
    profiled(prof, f)()
    # The clock never moves, so the age rule never fires: 2000 line events,
    # one reading.
    assert rows(prof, f)[3][2] == 1000
    assert _memline._script_reads() == 1


def test_the_age_rule_rereads_a_stale_reading_every_64_events(script):
    def f():
        S(bytes=300 * MIB, clock_ns=60 * 1000 * 1000)
        for i in range(100):
            pass
        return None

    prof = LineProfiler()
    profiled(prof, f)()
    r = rows(prof, f)
    # The first reading (at the call, time 0) is 60 ms old once line 1 has
    # run.  The clock is looked at on the 64th event after that reading:
    # line 1's event is the 1st, then the loop's line events alternate
    # "for" (line 2, even events) and "pass" (line 3, odd ones), so the 64th
    # is a "for" event, and it ends a "pass" execution: line 3 is charged.
    total = sum(v[0] for v in r.values())
    assert total == 200.0
    assert r[3][0] == 200.0 and r[3][1] == 300.0
    assert r[2] == (0.0, 300.0, 101)  # its later executions end after the re-read
    assert r[1] == (0.0, 100.0, 1)
    # After the re-read the clock stays at 60 ms: the reading is fresh.
    assert _memline._script_reads() == 2


def test_the_source_cannot_change_while_profiling(script):
    prof = LineProfiler()
    prof.enable()
    try:
        with pytest.raises(RuntimeError):
            _memline._script_begin(1)
        with pytest.raises(RuntimeError):
            _memline._script_end()
    finally:
        prof.disable()


def test_lazy_pages_of_an_earlier_session_do_not_force_readings(script):
    """A large block may be backed lazily, so RSS is read at every event
    until its pages show up.  A session that never reads RSS (the heap
    backend) cannot pay that off; the next session must not inherit it."""
    def big():
        x = bytearray(1 << 20)
        return len(x)

    heap = LineProfiler(backend="heap")
    profiled(heap, big)()

    def f():
        a = 1
        b = 2
        return a + b

    prof = LineProfiler()
    profiled(prof, f)()
    assert _memline._script_reads() == 1
