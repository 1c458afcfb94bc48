"""Profiled recursion goes as deep as plain Python goes under the same
recursion limit, or stops with the RecursionError plain Python gives
there, and never crashes.  @profile's wrapper is a Python function whose
frame is not counted toward the limit and which calls the function by a
plain call (no C frame per level where 3.11+ have none)."""

import re
import signal

import pytest

from helpers import run_memline, run_python, write
from _common import PROFILE_OR_NOT, PY

DEEP = PROFILE_OR_NOT + '''\
import sys
import threading

sys.setrecursionlimit(100000)


@profile
def down(n):
    if n == 0:
        return 0
    return down(n - 1) + 1


def main():
    print("depth", down(50000))


if sys.argv[1:] == ["thread"]:
    # A C stack that plain 3.8-3.10 need for 50,000 levels (their 8 MiB
    # main thread stack holds about 25,000).
    threading.stack_size(512 << 20)
    t = threading.Thread(target=main)
    t.start()
    t.join()
else:
    main()
'''


def test_50000_levels_with_the_limit_raised(tmp_path):
    script = write(tmp_path / "deep.py", DEEP)
    proc = run_memline([script, "thread"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "depth 50000" in proc.stdout
    rows = {r.source.strip(): r for r in __import__("helpers").only_block(proc.stdout).rows}
    assert rows["if n == 0:"].occurrences == 50001
    assert rows["return down(n - 1) + 1"].occurrences == 50000


def test_50000_levels_on_the_main_thread_never_crash(tmp_path):
    """On the main thread's 8 MiB stack: where plain Python reaches 50,000
    levels (3.11+), memline does too; where plain Python crashes (3.8-3.10:
    every Python call nests C frames), memline stops with RecursionError
    instead, and the program ends with its traceback and the report."""
    script = write(tmp_path / "deep.py", DEEP)
    plain = run_python([script], tmp_path, timeout=300)
    proc = run_memline([script], tmp_path, timeout=300)
    assert proc.returncode != -signal.SIGSEGV and proc.returncode >= 0, proc.stderr[-2000:]
    if plain.returncode == 0:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "depth 50000" in proc.stdout
    else:
        assert plain.returncode == -signal.SIGSEGV  # what memline must not do
        assert proc.returncode == 1
        assert proc.stderr.rstrip().splitlines()[-1].startswith("RecursionError: "), \
            proc.stderr[-2000:]
        assert "Filename: " in proc.stdout


DEFAULT_LIMIT = PROFILE_OR_NOT + '''\


@profile
def profiled(n):
    if n == 0:
        return 0
    return profiled(n - 1) + 1


def plain(n):
    if n == 0:
        return 0
    return plain(n - 1) + 1


def deepest(fn):
    lo, hi = 1, 5000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            fn(mid)
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


print("deepest", deepest(plain), deepest(profiled))
'''


def test_default_limit_same_depth(tmp_path):
    """Under the default limit a profiled recursion fails where the same
    function unprofiled fails, with RecursionError.  (3.11 runs traced
    code, which profiled code is, one level short of untraced code: that
    is CPython's tracing mode, not the wrapper.)"""
    script = write(tmp_path / "limit.py", DEFAULT_LIMIT)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    plain, profiled = map(int, re.search(r"^deepest (\d+) (\d+)$", proc.stdout, re.M).groups())
    assert plain > 900
    if PY == (3, 11):
        assert plain - 1 <= profiled <= plain
    else:
        assert profiled == plain
