"""Native memory beside everything else a process may have: Python's own
allocator replaced (PYTHONMALLOC=malloc), fork, the switches that turn it
off, tracemalloc before and after, Memray, another tool that already hooks
malloc, a library that cannot be patched, and libraries skipped on
request.  Each keeps its one line of warning where one is due, exit status
0, and a report whose numbers are right for what was counted."""

import os
import sys
import textwrap

import pytest

from conftest import NUMPY_NATIVE
from helpers import FLOATS_100K, MIB, SANITIZED, child_env, only_block, parse_report, run, run_memline, write

ARRAY = 1000 * 1000 * 8 / MIB


def near(value, want, rel=0.01, slack=0.02):
    return abs(value - want) <= rel * abs(want) + slack


NUMPY = '''\
    import numpy as np

    @profile
    def f():
        a = np.ones((1000, 1000))
        e = [float(x) for x in range(100000)]
        del a
        return e

    f()
'''


def memline(tmp_path, source, *args, env=None, extra_args=()):
    script = write(tmp_path / "prog.py", textwrap.dedent(source))
    return run_memline(["--precision", "6", *extra_args, script, *args], cwd=tmp_path,
                       env=env or child_env())


def test_pythonmalloc_malloc_counts_every_object_once(tmp_path):
    """Every Python object comes from malloc then, through Python's RAW
    hooks: counted as Python, not a second time as native."""
    proc = memline(tmp_path, NUMPY, env=child_env({"PYTHONMALLOC": "malloc"}),
                   extra_args=["--native-columns"])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    block = only_block(proc.stdout)
    a = block.row("a = np.ones")
    assert near(a.native_incr, ARRAY if NUMPY_NATIVE else 0) and near(a.heap_incr, ARRAY)
    e = block.row("e = [float(x)")
    assert near(e.native_incr, 0, slack=0.05)
    # 100,000 floats of 24 bytes and the list's 0.8 MB: 3.05 MiB, once (twice
    # would be 6.1).
    assert near(e.heap_incr, 3.05, rel=0.02), e


@pytest.mark.parametrize("how", ["--no-native", "MEMLINE_NATIVE=0"])
def test_native_counting_can_be_turned_off(tmp_path, how):
    env = child_env({"MEMLINE_NATIVE": "0"} if how.startswith("MEMLINE") else None)
    args = [how] if how.startswith("--") else []
    proc = memline(tmp_path, NUMPY, env=env, extra_args=args + ["--native-columns"])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    block = only_block(proc.stdout)
    assert block.columns == 7  # nothing native was counted: no native columns
    # The heap columns count the Python heap only (numpy 2.5+ takes its
    # arrays from it).  RSS still moves, but the RSS rule then sees only
    # Python heap moves (docs/columns.md).
    assert near(block.row("a = np.ones").heap_incr, 0 if NUMPY_NATIVE else ARRAY)
    assert near(block.row("e = [float(x)").heap_incr, FLOATS_100K, rel=0.02)


def test_fork_child_counts_and_parent_keeps_its_counts(tmp_path):
    """The imported decorator prints after each call.  The forked child's
    hooks work (its array is on its line) and the parent's report, after
    the child, is its own."""
    script = write(tmp_path / "fork.py", textwrap.dedent('''\
        import os
        import numpy as np
        from memline import profile

        @profile(precision=6, native=True)
        def work(n):
            a = np.ones((n, 1000))
            return a.sum()

        pid = os.fork()
        if pid == 0:
            work(2000)
            os._exit(0)
        os.waitpid(pid, 0)
        work(1000)
    '''))
    proc = run([sys.executable, script], cwd=tmp_path, env=child_env())
    assert proc.returncode == 0, proc.stderr
    child, parent = parse_report(proc.stdout)
    assert near(child.row("a = np.ones").heap_incr, 2 * ARRAY)
    assert near(parent.row("a = np.ones").heap_incr, ARRAY)


def test_tracemalloc_started_before_leaves_heap_columns_out_with_a_warning(tmp_path):
    script = write(tmp_path / "prog.py", textwrap.dedent(NUMPY))
    proc = run([sys.executable, "-X", "tracemalloc", "-m", "memline", script], cwd=tmp_path,
               env=child_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("\n") == 1 and "no heap columns" in proc.stderr, proc.stderr
    assert only_block(proc.stdout).columns == 5


def test_tracemalloc_started_inside_the_profiled_code_sees_its_numbers(tmp_path):
    proc = memline(tmp_path, '''\
        import tracemalloc
        import numpy as np

        @profile
        def f():
            tracemalloc.start()
            a = np.ones((1000, 1000))
            traced = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            print("traced", traced)
            return a

        f()
    ''')
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    traced = int(proc.stdout.split("traced ")[1].split()[0])
    assert traced >= ARRAY * MIB  # numpy reports its data to tracemalloc
    block = only_block(proc.stdout)
    assert near(block.row("a = np.ones").heap_incr, ARRAY)


def test_another_tool_hooking_malloc_first_makes_memline_step_aside(tmp_path, libs):
    """A tool that already redirected malloc's slots (as Memray does) keeps
    them: memline installs nothing, says so in one line naming the tool, and
    reports the Python heap; the tool still sees every call."""
    proc = memline(tmp_path, '''\
        import ctypes, sys
        tool = ctypes.CDLL(sys.argv[1])
        assert tool.faketool_install() == 0
        lib = ctypes.CDLL(sys.argv[2])
        lib.nalloc_malloc.restype = ctypes.c_void_p
        lib.nalloc_free.argtypes = [ctypes.c_void_p]
        before = tool.faketool_calls()

        @profile
        def f():
            p = lib.nalloc_malloc(1 << 20)
            lib.nalloc_free(p)
            return p

        f()
        print("tool calls", tool.faketool_calls() - before)
    ''', libs["faketool"], libs["nalloc"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("memline: warning: native memory is not counted: another tool "
                               "hooks the allocator (") and "libfaketool.so" in lines[0]
    assert int(proc.stdout.split("tool calls ")[1].split()[0]) >= 1
    block = only_block(proc.stdout)
    assert near(block.row("p = lib.nalloc_malloc").heap_incr, 0)


def test_a_library_another_tool_patched_is_named_once_and_left_alone(tmp_path, libs):
    """A library loaded while profiling runs whose malloc slot another tool
    had rewritten: memline leaves it alone, warns once naming it (loaded
    twice, still one line), and counts everything else."""
    proc = memline(tmp_path, '''\
        import ctypes, sys
        ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)  # the other tool's code
        nalloc = ctypes.CDLL(sys.argv[3])
        nalloc.nalloc_malloc.restype = ctypes.c_void_p
        nalloc.nalloc_free.argtypes = [ctypes.c_void_p]

        @profile
        def f():
            pp = ctypes.CDLL(sys.argv[2])
            pp.pp_malloc.restype = ctypes.c_void_p
            q = nalloc.nalloc_malloc(1 << 20)
            nalloc.nalloc_free(q)
            return pp

        f()
        f()
    ''', libs["cthread"], libs["prepatched"], libs["nalloc"], extra_args=["--native-columns"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0] == ("memline: warning: native memory of %s is not counted: already hooked "
                        "by another tool (%s)" % (libs["prepatched"], libs["cthread"])), lines[0]
    block = only_block(proc.stdout)
    assert near(block.row("q = nalloc.nalloc_malloc").native_incr, 2.0, rel=0.001)  # two calls


def test_libraries_skipped_on_request(tmp_path, libs):
    """MEMLINE_NATIVE_SKIP names parts of library paths the hooks leave
    alone, without a warning: their memory is not counted."""
    env = child_env({"MEMLINE_NATIVE_SKIP": "/nowhere:libnalloc"})
    proc = memline(tmp_path, '''\
        import ctypes, sys
        import numpy as np
        lib = ctypes.CDLL(sys.argv[1])
        lib.nalloc_malloc.restype = ctypes.c_void_p
        lib.nalloc_free.argtypes = [ctypes.c_void_p]

        @profile
        def f():
            p = lib.nalloc_malloc(1 << 20)
            lib.nalloc_free(p)
            a = np.ones((1000, 1000))
            return a

        f()
    ''', libs["nalloc"], env=env, extra_args=["--native-columns"])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    block = only_block(proc.stdout)
    assert near(block.row("p = lib.nalloc_malloc").native_incr, 0)
    assert near(block.row("a = np.ones").heap_incr, ARRAY)


@pytest.mark.skipif(SANITIZED, reason="Memray does not run under a libasan preload")
def test_memray_run_of_a_profiled_script(tmp_path):
    """memray run of a script that uses memline's decorator: Memray keeps
    its hooks and its capture; memline steps aside from native memory with
    one warning line and still prints its report."""
    script = write(tmp_path / "prog.py", textwrap.dedent('''\
        import numpy as np
        from memline import profile

        @profile(precision=6)
        def f():
            a = np.ones((1000, 1000))
            e = [float(x) for x in range(100000)]
            return a, e

        f()
    '''))
    out = tmp_path / "capture.bin"
    proc = run([sys.executable, "-m", "memray", "run", "-q", "-o", out, script], cwd=tmp_path,
               env=child_env())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "native memory is not counted: another tool hooks the " \
        "allocator" in lines[0] and "memray" in lines[0], proc.stderr
    block = only_block(proc.stdout)
    assert near(block.row("e = [float(x)").heap_incr, FLOATS_100K, rel=0.02)
    stats = run([sys.executable, "-m", "memray", "stats", "--json", "-o", tmp_path / "s.json",
                 "-f", out], cwd=tmp_path, env=child_env())
    assert stats.returncode == 0, stats.stderr
    import json
    with open(tmp_path / "s.json") as f:
        data = json.load(f)
    assert data["total_bytes_allocated"] >= 8 * 1000 * 1000  # Memray saw the array


ALLOCATORS = {"jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
              "mimalloc": "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"}


@pytest.mark.parametrize("name", sorted(ALLOCATORS))
@pytest.mark.skipif(SANITIZED, reason="libasan must be the first preload")
def test_an_interposed_allocator_is_measured_at_its_own_sizes(tmp_path, name):
    """jemalloc or mimalloc replacing malloc for the whole process (as
    LD_PRELOAD does; .ci/run installs both from Debian): the hooks call the
    allocator that is in, and count its blocks at its usable sizes, the same
    on allocation and on free."""
    lib = ALLOCATORS[name]
    if not os.path.exists(lib):
        pytest.skip("%s is not installed (Debian's lib%s package)" % (lib, name))
    env = child_env({"LD_PRELOAD": lib})
    proc = memline(tmp_path, NUMPY, env=env, extra_args=["--native-columns"])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    block = only_block(proc.stdout)
    made, freed = block.row("a = np.ones").heap_incr, block.row("del a").heap_incr
    assert ARRAY <= made <= ARRAY * 1.1  # its size class for 8,000,000 bytes
    assert near(freed, -made, rel=0, slack=0.001)
