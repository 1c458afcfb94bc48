"""memline in programs that switch greenlets (greenlet itself, and gevent
on top of it): each greenlet has its own shadow stack and heap counters,
so the lines after a switch are charged to their own greenlet, and what
other greenlets allocate in between is not charged to the switch line.
greenlet and gevent come from PyPI (requirements/test.txt)."""

import pytest

from helpers import run_memline, run_python, write
from _common import PROFILE_OR_NOT, assert_complete, block_of

GREENLET = PROFILE_OR_NOT + '''\
import greenlet


def other():
    junk = [0] * 3000000        # 22.9 MiB, made in the other greenlet
    main.switch()
    del junk
    main.switch()


@profile
def work():
    a = [1] * 100000
    g.switch()
    b = [2] * 200000
    g.switch()
    c = 3
    return len(a)


main = greenlet.getcurrent()
g = greenlet.greenlet(other)
print("result", work())
'''


def test_lines_after_a_greenlet_switch(tmp_path):
    script = write(tmp_path / "gl.py", GREENLET)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "result 100000" in proc.stdout
    block = block_of(proc.stdout)
    assert_complete(block, ("@profile", "a = [1]", "b = [2]", "c = 3", "return"), 1)
    # The other greenlet's 22.9 MiB, made and freed while work() was
    # switched out, is on neither switch line: not in the heap columns
    # (which are per greenlet), nor in Increment (the switched-out line's
    # interval ends at the switch and starts again after it).
    switches = [r for r in block.rows if r.source.strip() == "g.switch()"]
    assert len(switches) == 2
    for r in switches:
        assert abs(r.heap_incr) < 0.01 and r.heap_peak < 0.01, block.text
        assert abs(r.incr) < 1, block.text
    assert abs(block.row("b = [2]").heap_incr - 1.526) < 0.01
    assert abs(block.row("a = [1]").heap_incr - 0.763) < 0.01


GEVENT = PROFILE_OR_NOT + '''\
import gevent


@profile
def worker(n):
    a = [n] * 100000
    gevent.sleep(0.01)
    b = [n] * 200000
    gevent.sleep(0.01)
    del b
    return len(a)


jobs = [gevent.spawn(worker, i) for i in range(3)]
gevent.joinall(jobs)
print("values", [j.value for j in jobs])
'''


def test_gevent_workers_that_sleep(tmp_path):
    """Three gevent workers run a profiled function that sleeps: every line
    after the first gevent.sleep is there, three times, with each worker's
    own allocations."""
    script = write(tmp_path / "gv.py", GEVENT)
    plain = run_python([script], tmp_path)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == plain.returncode == 0, proc.stderr
    assert "values [100000, 100000, 100000]" in proc.stdout
    block = block_of(proc.stdout)
    assert_complete(block, ("@profile", "a = [n]", "b = [n]", "del b", "return"), 3)
    sleeps = [r for r in block.rows if r.source.strip() == "gevent.sleep(0.01)"]
    assert [r.occurrences for r in sleeps] == [3, 3]
    assert abs(block.row("b = [n]").heap_incr - 3 * 1.526) < 0.02
    assert abs(block.row("del b").heap_incr + 3 * 1.526) < 0.02
    for r in sleeps:
        assert abs(r.heap_incr) < 0.05, block.text


def test_greenlet_not_imported_by_memline(tmp_path):
    """A program that does not use greenlet does not get it imported."""
    script = write(tmp_path / "plain.py", PROFILE_OR_NOT + '''\
import sys


@profile
def work():
    return 1


work()
print("greenlet" in sys.modules, "gevent" in sys.modules)
''')
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "False False" in proc.stdout
