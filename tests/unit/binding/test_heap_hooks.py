"""The allocator hooks (the heap columns' source) are in exactly while
something is profiled, and the original allocator functions are back once
profiling ends: after a profile-decorated function returns (or raises),
after prof.disable(), after a `with prof:` block, after a profiled
generator is collected."""

import gc
import io
import json
import os
import textwrap

import pytest

import memline
from memline import _memline
import helpers


def state():
    return _memline._allocator_state()


def active():
    return _memline._heap_info()["active"]


@pytest.fixture
def before():
    assert _memline._heap_info()["available"], _memline._heap_info()
    gc.collect()  # a profiled generator left over elsewhere would keep the hooks in
    s = state()
    assert not active()
    yield s
    assert state() == s
    assert not active()


def work():
    x = bytearray(10 ** 6)
    return len(x)


def test_state_describes_every_domain(before):
    assert set(before) == {"raw", "mem", "obj", "arena"}
    assert all(f != 0 for f in before["raw"][:4])
    assert all(f != 0 for f in before["obj"][:4])


def test_decorated_function_restores(before):
    seen = {}

    @memline.profile(stream=io.StringIO())
    def f():
        seen["state"] = state()
        seen["active"] = active()
        return work()

    assert f() == 10 ** 6
    assert seen["active"] is True
    for domain in ("raw", "mem", "obj"):
        assert seen["state"][domain] != before[domain], domain
    assert state() == before
    assert not active()


def test_decorated_function_restores_after_exception(before):
    @memline.profile(stream=io.StringIO())
    def f():
        assert active()
        raise OSError("x")

    with pytest.raises(OSError):
        f()
    assert state() == before
    assert not active()


def test_enable_disable_restores(before):
    prof = memline.LineProfiler()
    prof.add_function(work)
    prof.enable()
    try:
        during = state()
        assert active()
        work()
    finally:
        prof.disable()
    assert during != before
    assert state() == before
    assert not active()
    # Again: the second installation is as clean as the first.
    prof.enable()
    assert state() == during
    prof.disable()
    assert state() == before


def test_with_block_restores(before):
    prof = memline.LineProfiler()
    prof.add_function(work)
    with prof:
        assert active()
        assert state() != before
        work()
    assert state() == before
    assert not active()


def test_nested_profilers_restore_when_the_last_ends(before):
    a, b = memline.LineProfiler(), memline.LineProfiler()
    a.add_function(work)
    b.add_function(work)
    a.enable()
    during = state()
    b.enable()
    assert state() == during  # not hooked twice
    a.disable()
    assert active() and state() == during
    b.disable()
    assert state() == before
    assert not active()


def test_enable_by_count_restores(before):
    prof = memline.LineProfiler()
    prof.enable_by_count()
    prof.enable_by_count()
    prof.disable_by_count()
    assert active()
    prof.disable_by_count()
    assert state() == before


def test_generator_keeps_hooks_until_collected(before):
    @memline.profile(stream=io.StringIO())
    def gen():
        yield work()
        yield work()

    g = gen()
    assert active()  # created: profiled until collected
    assert next(g) == 10 ** 6
    assert active()
    assert list(g) == [10 ** 6]
    del g
    gc.collect()
    assert state() == before
    assert not active()


def test_heap_counted_after_restore(before):
    """After a full install/remove cycle the next session counts again."""
    for _ in range(3):
        out = io.StringIO()
        memline.profile(work, stream=out, precision=12)()
        row = helpers.only_block(out.getvalue()).find("bytearray(10 ** 6)")
        assert abs(row.bytes("heap_incr") - 10 ** 6) <= 1024, row
        assert state() == before


def test_footprint_reported(before):
    prof = memline.LineProfiler()
    with prof:
        assert _memline._heap_info()["footprint"] > 0


# Run in a child: if this goes wrong it leaves the process's hooks stuck,
# which would break every later heap test.
TRACEMALLOC_CHILD = textwrap.dedent('''\
    import io, json, tracemalloc
    import memline
    from memline import _memline

    def work():
        x = bytearray(10 ** 6)
        return len(x)

    before = _memline._allocator_state()
    prof = memline.LineProfiler()
    prof.enable()
    # Under PYTHONMALLOC=malloc there is no pymalloc, and no arena hook.
    arena_hooked = _memline._allocator_state()["arena"] != before["arena"]
    tracemalloc.start()  # wraps memline's hooks
    prof.disable()       # cannot restore the domains: tracemalloc is on top
    # memline's object hooks still run under tracemalloc's, and read pool
    # headers at each free: its arena hook must stay to copy a header
    # before pymalloc unmaps the arena.
    arena_kept = _memline._allocator_state()["arena"] != before["arena"]
    tracemalloc.stop()   # memline's hooks are current again
    incrs = []
    for _ in range(3):   # the first call removes the leftovers, later ones reinstall
        out = io.StringIO()
        memline.profile(work, stream=out, precision=12)()
        incrs.append(out.getvalue())
    print(json.dumps({"reports": incrs, "arena_hooked": arena_hooked, "arena_kept": arena_kept,
                      "restored": _memline._allocator_state() == before,
                      "active": _memline._heap_info()["active"]}))
    ''')


def test_hooks_recover_after_tracemalloc_wrapped_them(tmp_path):
    """tracemalloc wraps memline's hooks while profiling, so disable cannot
    restore them; once tracemalloc stops, the next sessions must remove the
    leftovers, install afresh and count (they once stayed marked installed
    forever, with no hooks in, and the heap columns read 0)."""
    child = tmp_path / "child.py"
    child.write_text(TRACEMALLOC_CHILD)
    proc = helpers.run_python([child], tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    for text in res["reports"]:
        row = helpers.only_block(text).find("bytearray(10 ** 6)")
        assert abs(row.bytes("heap_incr") - 10 ** 6) <= 1024, row
    assert res["arena_hooked"] == (os.environ.get("PYTHONMALLOC") != "malloc")
    assert res["arena_kept"] == res["arena_hooked"]
    assert res["restored"]
    assert not res["active"]


# A profiler kept alive only by a reference cycle dies inside the cyclic
# collector, which may clear its list of registered code objects before it
# is deallocated.  Its registrations must still go, or the next profiled
# call reads the dead profiler (ASan: heap-use-after-free in active_sink).
CYCLE_CHILD = textwrap.dedent('''\
    import gc, io
    import memline

    def f(n):
        x = bytearray(n)
        return len(x)

    prof = memline.LineProfiler()
    prof.add_function(f)
    gc.collect()           # prof and its code list are old now
    holder = [prof]
    holder.append(holder)  # only a young cycle keeps prof alive
    del prof, holder
    gc.collect()           # the older code list is cleared before prof dies

    prof2 = memline.LineProfiler()
    prof2.add_function(f)
    with prof2:
        f(10 ** 6)
    out = io.StringIO()
    memline.show_results(prof2, stream=out, precision=12)
    print(out.getvalue())
    ''')


def test_profiler_collected_in_a_cycle_leaves_no_registration(tmp_path):
    child = tmp_path / "cycle.py"
    child.write_text(CYCLE_CHILD)
    proc = helpers.run_python([child], tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr[-4000:]
    row = helpers.only_block(proc.stdout).find("x = bytearray(n)")
    assert abs(row.bytes("heap_incr") - 10 ** 6) <= 1024, row
