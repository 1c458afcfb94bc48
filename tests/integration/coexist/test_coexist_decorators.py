"""@profile on what other decorators made: a functools.wraps wrapper, at
any depth, in the same module or another, profiles the function whose
source the user sees (the innermost) and reports its lines; the wrappers'
own lines are the call, unprofiled.  A profiled function pickles by
reference, as the plain function does, so Pool.map takes it."""

import pytest

from helpers import only_block, parse_report, run_memline, run_python, write
from _common import PROFILE_OR_NOT, assert_complete

DECOS = '''\
import functools


def logged(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        note = [0] * 1000          # the decorator's own line
        return f(*args, **kwargs)
    return wrapper


def twice(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        f(*args, **kwargs)
        return f(*args, **kwargs)
    return wrapper
'''

SAME_MODULE = PROFILE_OR_NOT + DECOS + '''

@profile
@logged
def work(n):
    a = [1] * n
    return len(a)


@profile
@twice
@logged
def deep(n):
    b = [2] * n
    return len(b)


print("results", work(100000), deep(1000))
'''


def test_wraps_in_the_same_module(tmp_path):
    script = write(tmp_path / "same.py", SAME_MODULE)
    plain = run_python([script], tmp_path)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == plain.returncode == 0, proc.stderr
    assert "results 100000 1000" in proc.stdout
    blocks = parse_report(proc.stdout)
    assert [b.filename for b in blocks] == [str(script)] * 2
    work, deep = blocks
    assert_complete(work, ("a = [1]", "return len(a)"), 1)
    assert abs(work.row("a = [1]").heap_incr - 0.763) < 0.01
    assert_complete(deep, ("b = [2]", "return len(b)"), 2)
    # The wrappers' lines are not the profiled function's.
    assert not any("note = " in r.source or "f(*args" in r.source for b in blocks for r in b.rows)


def test_wraps_from_another_module(tmp_path):
    write(tmp_path / "decos.py", DECOS)
    script = write(tmp_path / "other.py", PROFILE_OR_NOT + '''\
from decos import logged, twice


@profile
@twice
@logged
def work(n):
    a = [1] * n
    return len(a)


print("result", work(100000))
''')
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    block = only_block(proc.stdout)
    assert block.filename == str(script)
    assert_complete(block, ("a = [1]", "return len(a)"), 2)


def test_imported_decorator_on_a_wraps_wrapper(tmp_path):
    script = write(tmp_path / "imp.py", DECOS + '''
from memline import profile


@profile
@logged
def work(n):
    a = [1] * n
    return len(a)


print("result", work(100000))
''')
    proc = run_python([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    block = only_block(proc.stdout)
    assert block.filename == str(script)
    assert_complete(block, ("a = [1]", "return len(a)"), 1)


def test_lru_cache_under_profile(tmp_path):
    """A C callable with __wrapped__ (functools.lru_cache) is called as it
    is, and the function under it reported."""
    script = write(tmp_path / "lru.py", PROFILE_OR_NOT + '''\
import functools


@profile
@functools.lru_cache(maxsize=None)
def square(n):
    r = n * n
    return r


print("results", [square(i % 3) for i in range(6)])
''')
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "results [0, 1, 4, 0, 1, 4]" in proc.stdout
    assert_complete(only_block(proc.stdout), ("r = n * n", "return r"), 3)


POOL = PROFILE_OR_NOT + '''\
import multiprocessing
import pickle


@profile
def square(x):
    y = x * x
    return y


if __name__ == "__main__":
    assert pickle.loads(pickle.dumps(square)) is square
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print("squares", pool.map(square, range(5)))
    print("local", square(3))
'''


def test_profiled_function_pickles_by_reference(tmp_path):
    script = write(tmp_path / "pool.py", POOL)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "squares [0, 1, 4, 9, 16]" in proc.stdout
    assert "local 9" in proc.stdout
    assert only_block(proc.stdout).row("y = x * x").occurrences >= 1


def test_signature_and_defaults_kept(tmp_path):
    """The wrapper takes the arguments the function takes, as it takes
    them: positional-only, defaults, keyword-only, *args, **kwargs."""
    script = write(tmp_path / "sig.py", '''\
import inspect
from memline import profile
import io


@profile(stream=io.StringIO())
def f(a, b=2, /, c=3, *rest, d, e=5, **kw):
    return (a, b, c, rest, d, e, kw)


print(f(1, d=4))
print(f(1, 20, 30, 40, d=4, e=50, z=6))
print(inspect.signature(f))
print(f(1, b=2, d=4))
''')
    proc = run_python([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "(1, 2, 3, (), 4, 5, {})",
        "(1, 20, 30, (40,), 4, 50, {'z': 6})",
        "(a, b=2, /, c=3, *rest, d, e=5, **kw)",
        "(1, 2, 3, (), 4, 5, {'b': 2})",
    ]
