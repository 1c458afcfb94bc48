"""Native memory of real libraries, charged to its lines by default: numpy
arrays (an allocation, a temporary inside one line, a lazily touched
np.zeros, a del, an array made in one thread and freed in another), a
pandas DataFrame against tracemalloc's own count, and SQLite's pages."""

import textwrap

import pytest

from conftest import NUMPY_NATIVE
from helpers import FLOATS_100K, MIB, SANITIZED, child_env, only_block, parse_report, run_memline, write

ARRAY = 1000 * 1000 * 8  # np.ones((1000, 1000)): 7.63 MiB of float64
ZEROS = 1250 * 1000 * 8  # np.zeros((1250, 1000)): 9.54 MiB


def near(value, want, rel=0.01, slack=0.02):
    """value (MiB) within rel of want (MiB), plus slack MiB."""
    return abs(value - want) <= rel * abs(want) + slack


def report(tmp_path, source, *args, env=None):
    script = write(tmp_path / "prog.py", textwrap.dedent(source))
    proc = run_memline(["--precision", "6", "--native-columns", script, *args], cwd=tmp_path,
                       env=env or child_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    return proc.stdout


NUMPY_EXAMPLE = '''\
    import numpy as np

    @profile
    def f():
        a = np.ones((1000, 1000))
        b = a * 2
        c = (a + b).sum()
        d = np.zeros((1250, 1000))
        d[:] = 1
        del a
        e = [float(x) for x in range(100000)]
        return b, c, d, e

    f()
'''


def test_the_numpy_example_charges_every_array_to_its_line(tmp_path):
    """The example of the native-memory issue, as a new user runs it."""
    block = only_block(report(tmp_path, NUMPY_EXAMPLE))
    arr, zeros = ARRAY / MIB, ZEROS / MIB
    # The native part: the arrays where numpy uses malloc, none where it
    # uses Python's raw allocator (numpy 2.5+).
    narr = arr if NUMPY_NATIVE else 0.0
    a = block.row("a = np.ones")
    assert near(a.heap_incr, arr) and near(a.native_incr, narr)
    # RSS under the sanitizer run also moves with ASan's shadow memory and
    # quarantine: its RSS figures are checked by the normal run only.
    rss = not SANITIZED
    assert not rss or near(a.incr, arr, slack=0.5)  # np.ones writes its pages at once
    b = block.row("b = a * 2")
    assert near(b.heap_incr, arr) and near(b.native_incr, narr)
    # The temporary a + b lives and dies inside the line: only the peak shows it.
    c = block.row("c = (a + b).sum()")
    assert near(c.heap_incr, 0) and near(c.heap_peak, arr) and near(c.native_peak, narr)
    # np.zeros asks for zeroed pages: counted when allocated, resident when
    # written, so Heap incr is on its line and the RSS Increment on the next.
    d = block.row("d = np.zeros")
    assert near(d.heap_incr, zeros) and (not rss or near(d.incr, 0, slack=0.1))
    touch = block.row("d[:] = 1")
    assert (not rss or near(touch.incr, zeros, rel=0.02)) and near(touch.heap_incr, 0)
    gone = block.row("del a")
    assert near(gone.heap_incr, -arr) and near(gone.native_incr, -narr)
    # The list comprehension is charged its own 3.8 MiB, no array's.
    e = block.row("e = [float(x)")
    assert near(e.heap_incr, FLOATS_100K, rel=0.02) and near(e.native_incr, 0)
    assert not rss or near(e.incr, FLOATS_100K, rel=0.05, slack=0.3)


def test_an_array_made_in_one_thread_and_freed_in_another(tmp_path):
    out = report(tmp_path, '''\
        import threading
        import numpy as np

        box = []

        @profile
        def make():
            box.append(np.ones((1000, 1000)))

        @profile
        def drop():
            box.pop()

        t = threading.Thread(target=make)
        t.start(); t.join()
        t = threading.Thread(target=drop)
        t.start(); t.join()
    ''')
    blocks = parse_report(out)
    assert len(blocks) == 2, out
    made = blocks[0].row("box.append(np.ones")
    freed = blocks[1].row("box.pop()")
    assert near(made.heap_incr, ARRAY / MIB)
    assert near(freed.heap_incr, -ARRAY / MIB)


def test_c_threads_are_charged_to_no_line(tmp_path, libs):
    """8 MiB malloc'd by a C thread that Python never started (as a BLAS
    pool's buffers are) is not charged to the line the main thread was on,
    and the report says how much there was."""
    out = report(tmp_path, '''\
        import ctypes, sys
        lib = ctypes.CDLL(sys.argv[1])
        lib.cthread_alloc.restype = ctypes.c_void_p
        lib.cthread_alloc.argtypes = [ctypes.c_size_t]
        lib.cthread_free.argtypes = [ctypes.c_void_p]

        @profile
        def f():
            p = lib.cthread_alloc(8 << 20)
            x = bytearray(1 << 20)
            lib.cthread_free(p)
            return x

        f()
    ''', libs["cthread"])
    block = only_block(out.replace(libs["cthread"], ""))
    row = block.row("p = lib.cthread_alloc")
    assert near(row.native_incr, 0) and near(row.heap_incr, 0)
    assert near(block.row("lib.cthread_free(p)").native_incr, 0)
    tail = [l for l in out.splitlines() if l.startswith("Native memory of threads")]
    assert len(tail) == 1, out
    peak = float(tail[0].split("peak ")[1].split(" MiB")[0])
    net = float(tail[0].split("net ")[1].split(" MiB")[0])
    assert near(peak, 8, rel=0.01) and near(net, 0)


@pytest.mark.skipif(SANITIZED, reason="pandas' import under libasan takes minutes; "
                    "the normal run checks the numbers")
def test_pandas_heap_agrees_with_tracemalloc(tmp_path):
    """A DataFrame built, grouped and dropped: memline's Heap incr over the
    building line is within 5% of what tracemalloc counts for the same line
    (the Python heap plus numpy's data, which numpy reports to it)."""
    src = '''\
        import sys
        import tracemalloc
        import numpy as np
        import pandas as pd

        def build():
            df = pd.DataFrame({"k": np.arange(400000) % 97,
                               "v": np.random.default_rng(0).random(400000),
                               "s": np.arange(400000, dtype=np.int64)})
            return df

        def group(df):
            return df.groupby("k")["v"].sum()

        if sys.argv[1] == "tracemalloc":
            build(); group(build())  # warm caches and imports, as memline's run does
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            df = build()
            built = tracemalloc.get_traced_memory()[0] - before
            g = group(df)
            del df, g
            print("built", built)
        else:
            build(); group(build())

            @profile
            def run():
                df = build()
                g = group(df)
                del df, g

            run()
    '''
    script = write(tmp_path / "frame.py", textwrap.dedent(src))
    traced = run_memline([script, "tracemalloc"], cwd=tmp_path)  # under memline: same imports
    assert traced.returncode == 0, traced.stderr
    built = int([l for l in traced.stdout.splitlines() if l.startswith("built")][0].split()[1])
    proc = run_memline(["--precision", "6", script, "memline"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    block = only_block(proc.stdout)
    ours = block.row("df = build()").bytes("heap_incr")
    assert abs(ours - built) <= 0.05 * built, (ours, built)
    dropped = block.row("del df, g").bytes("heap_incr")
    assert dropped < 0 and abs(dropped + ours) <= 0.05 * built, (dropped, ours)


def test_sqlite_pages_are_counted_and_given_back_at_close(tmp_path):
    block = only_block(report(tmp_path, '''\
        import sqlite3

        @profile
        def f():
            con = sqlite3.connect(":memory:")
            con.execute("create table t (b blob)")
            con.executemany("insert into t values (?)", ((b"x" * 20000,) for _ in range(1000)))
            con.commit()
            con.close()

        f()
    '''))
    stored = block.row("con.executemany(")
    blobs = 20000 * 1000 / MIB  # 19.1 MiB of blobs, plus SQLite's page overhead
    assert blobs <= stored.native_incr <= blobs * 1.15, stored
    closed = block.row("con.close()")
    assert near(closed.native_incr, -stored.native_incr - block.row("con = sqlite3").native_incr
                - block.row("con.execute(").native_incr - block.row("con.commit()").native_incr,
                rel=0.001)
    if not SANITIZED:  # ASan's allocator keeps freed pages
        assert closed.incr < -0.9 * blobs  # the pages go back to the OS too
