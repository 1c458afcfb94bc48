"""--timestamp and profile.timestamp("name"): FUNC lines as memory_profiler
writes them for mprof (the rest of memory_profiler's surface)."""

import io
import shutil
import time

from _surface import FUNC, at_least_here, freed, func_lines, near
from helpers import MP_REFERENCE, run_memline, run_python
from memline import TimeStamper

# small.py and the FUNC lines memory_profiler 0.61 wrote for it.
REFERENCE = (MP_REFERENCE / "small.mprof.dat").read_text()


def shape(funcs):
    return [(m["name"], int(m["depth"])) for m in funcs]


def check_plausible(funcs, t0, t1):
    for m in funcs:
        t_in, t_out = float(m["t_in"]), float(m["t_out"])
        assert t0 - 0.01 <= t_in <= t_out <= t1 + 0.01, m.group(0)
        assert 1 < float(m["mem_in"]) < 10000 and 1 < float(m["mem_out"]) < 10000


def test_timestamp_small_matches_memory_profiler_reference(tmp_path):
    shutil.copy(MP_REFERENCE / "small.py", tmp_path)
    t0 = time.time()
    r = run_memline(["--timestamp", "small.py"], tmp_path)
    t1 = time.time()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines and all(FUNC.match(l) for l in lines), r.stdout  # FUNC lines only
    funcs = func_lines(r.stdout)
    assert shape(funcs) == shape(func_lines(REFERENCE)) == [
        ("__main__.alloc", 1), ("__main__.alloc", 1), ("__main__.outer", 0)]
    check_plausible(funcs, t0, t1)
    first, second, outer = funcs
    # each alloc() sleeps 0.3 s; outer() holds both and 0.2 s more
    for m in (first, second):
        assert 0.28 <= float(m["t_out"]) - float(m["t_in"]) < 2
        assert float(outer["t_in"]) <= float(m["t_in"]) and \
            float(m["t_out"]) <= float(outer["t_out"])
    assert float(second["t_in"]) - float(first["t_out"]) >= 0.18
    assert "Filename:" not in r.stdout  # no line report with --timestamp


BLOCKS = '''\
import time


@profile
def alloc(n):
    data = [0] * n
    time.sleep(0.02)
    return len(data)


@profile
def outer():
    alloc(10 ** 4)
    with profile.timestamp("inside"):
        alloc(10 ** 5)
    return 1


with profile.timestamp("setup"):
    outer()
with profile.timestamp("setup"):
    big = b"1" * (30 << 20)
    time.sleep(0.02)
outer()
'''


def test_timestamp_blocks_match_memory_profiler(tmp_path):
    (tmp_path / "blocks.py").write_text(BLOCKS)
    mine = run_memline(["--timestamp", "blocks.py"], tmp_path)
    theirs = run_python(["-m", "memory_profiler", "--timestamp", "blocks.py"], tmp_path)
    assert mine.returncode == 0, mine.stderr
    assert theirs.returncode == 0, theirs.stderr
    assert shape(func_lines(mine.stdout)) == shape(func_lines(theirs.stdout))
    assert shape(func_lines(mine.stdout)) == [
        ("__main__.alloc", 2), ("__main__.alloc", 3), ("__main__.alloc", 1),
        ("__main__.alloc", 2), ("__main__.outer", 1), ("__main__.outer", 0),
        (".setup", 0), (".inside", 2), (".setup", 0), (".inside", 1)]
    # the second "setup" block holds the 30 MiB it allocated
    setup2 = [m for m in func_lines(mine.stdout) if m["name"] == ".setup"][1]
    assert near(float(setup2["mem_out"]) - float(setup2["mem_in"]), 30)


def test_timestamp_o_appends(tmp_path):
    (tmp_path / "quick.py").write_text("@profile\ndef f():\n    return 1\n\n\nf()\nf()\n")
    out = tmp_path / "out.dat"
    before = "CMDLINE python quick.py\nMEM 1.000000 1795520860.0365\n"
    out.write_text(before)
    for _ in range(2):
        r = run_memline(["--timestamp", "-o", "out.dat", "quick.py"], tmp_path)
        assert r.returncode == 0, r.stderr
        assert "FUNC" not in r.stdout
    text = out.read_text()
    assert text.startswith(before)
    assert len(text[len(before):].splitlines()) == 4
    assert shape(func_lines(text[len(before):])) == [("__main__.f", 0)] * 4


def test_timestamp_context_manager_in_process():
    ts = TimeStamper()
    t0 = time.time()
    with ts.timestamp("outer_block"):
        held = b"1" * (50 << 20)
        with ts.timestamp("inner_block"):
            time.sleep(0.05)
        del held
    with ts.timestamp():
        pass
    t1 = time.time()
    out = io.StringIO()
    ts.show_results(stream=out)
    funcs = func_lines(out.getvalue())
    assert len(out.getvalue().splitlines()) == len(funcs) == 3
    assert shape(funcs) == [(".outer_block", 0), (".inner_block", 1), (".<block>", 0)]
    check_plausible(funcs, t0, t1)
    inner = funcs[1]
    assert float(inner["t_out"]) - float(inner["t_in"]) >= 0.045
    # the inner block ran while the 50 MiB were held
    outer = funcs[0]
    assert at_least_here(float(inner["mem_in"]) - float(outer["mem_in"]), 45)
    assert freed(float(outer["mem_out"]) - float(outer["mem_in"]), 0, tol=5)


def test_timestamper_decorator_in_process():
    ts = TimeStamper()

    @ts
    def work(n):
        return sum(range(n))

    assert work(10) == 45 and work(5) == 10
    out = io.StringIO()
    ts.show_results(stream=out)
    funcs = func_lines(out.getvalue())
    assert shape(funcs) == [(__name__ + ".work", 0)] * 2
