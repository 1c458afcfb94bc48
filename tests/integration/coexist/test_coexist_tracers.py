"""memline beside the tools that trace Python too: coverage (its C tracer
and its Python tracer, from the command line, started by the program, and
under pytest-cov), pdb, a Python-level and a C-level sys.settrace,
threading.settrace, line_profiler and cProfile.

Each runs as a user runs it, from a temporary directory.  Two things are
checked every time: memline's report is complete (every line that ran is
there, as often as it ran, with the same heap figures as without the other
tool), and the other tool's own results are what they are without memline
(coverage's percentage, pdb's stops, the tracer's events, line_profiler's
hits, cProfile's call counts).  On 3.8-3.11 the tools share the thread's
trace hook with memline (docs/performance.md, "Other tools' hooks"); on
3.12+ memline uses a sys.monitoring tool id of its own."""

import os
import re
import sys

import pytest

from helpers import run, run_memline, run_python, write
from _common import PROFILE_OR_NOT, PY, assert_complete, assert_heap_close, block_of, heap, shape

WORK = PROFILE_OR_NOT + '''\


def helper(n):
    return [0] * n


@profile
def work(n):
    a = helper(n)
    b = [1] * (2 * n)
    if n < 0:
        unreachable = 1
    del b
    c = len(a)
    return c


print("result", work(100000))
'''
# The decorator line and every body line that runs.
WORK_LINES = ("@profile", "a = helper", "b = [1]", "if n < 0", "del b", "c = len", "return c")


def _cov_env(tmp_path, name, extra=None):
    env = {"COVERAGE_FILE": str(tmp_path / (".coverage." + name))}
    env.update(extra or {})
    return env


def _coverage_total(tmp_path, name, script):
    """coverage's percentage of script in data file name, as it reports it."""
    from helpers import child_env
    proc = run([sys.executable, "-m", "coverage", "report", "--include=" + str(script),
                "--format=total"], tmp_path, env=child_env(_cov_env(tmp_path, name)))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _run_env(args, tmp_path, env, stdin=None):
    from helpers import child_env
    return run([sys.executable] + args, tmp_path, env=child_env(env), stdin=stdin)


@pytest.mark.parametrize("core", ["ctrace", "pytrace"])
def test_coverage_run_m_memline(tmp_path, core):
    """`coverage run -m memline script.py` prints the report plain
    `python -m memline` prints, and coverage measures the percentage it
    measures without memline, with no warning (coverage's Python tracer
    warns when sys.gettrace() is not its own at stop)."""
    script = write(tmp_path / "work.py", WORK)
    timid = ["--timid"] if core == "pytrace" else []
    plain = run_memline([script], tmp_path)
    assert plain.returncode == 0, plain.stderr
    with_cov = _run_env(["-m", "coverage", "run"] + timid + ["-m", "memline", str(script)],
                        tmp_path, _cov_env(tmp_path, "with"))
    assert with_cov.returncode == 0, with_cov.stderr
    assert with_cov.stderr == "", with_cov.stderr
    alone = _run_env(["-m", "coverage", "run"] + timid + [str(script)], tmp_path,
                     _cov_env(tmp_path, "alone"))
    assert alone.returncode == 0, alone.stderr
    a, b = block_of(plain.stdout), block_of(with_cov.stdout)
    assert_complete(b, WORK_LINES)
    assert shape(b) == shape(a)
    if core == "pytrace" and PY < (3, 11):
        # A Python-level tracer before 3.11 copies the frame's locals into
        # f_locals at every event, so `del b` frees b only at the next
        # event, in the tracer's hook: the next line.  So it does without
        # memline; memline reports where the memory went back.
        assert heap(b)[15] == pytest.approx(heap(a)[14], abs=0.005)
        assert sum(heap(b).values()) == pytest.approx(sum(heap(a).values()), abs=0.005)
    else:
        assert_heap_close(b, a)
    assert _coverage_total(tmp_path, "with", script) == _coverage_total(tmp_path, "alone", script)
    assert int(_coverage_total(tmp_path, "with", script)) < 100  # `unreachable = 1` never ran


def test_coverage_run_m_memline_seed_example(tmp_path):
    """The issue's own case: the seed example under coverage reports what
    it reports without."""
    from helpers import REPO
    script = os.path.join(REPO, "examples", "seed_gen.py")
    plain = run_memline([script], tmp_path)
    with_cov = _run_env(["-m", "coverage", "run", "-m", "memline", script], tmp_path,
                        _cov_env(tmp_path, "seed"))
    assert with_cov.returncode == plain.returncode == 0, with_cov.stderr
    a, b = block_of(plain.stdout), block_of(with_cov.stdout)
    assert shape(b) == shape(a) and len(shape(a)) == 6
    assert_heap_close(b, a)


STARTS_COVERAGE = PROFILE_OR_NOT + '''\
import coverage, io, os, sys


def helper(n):
    return [0] * n


@profile
def work(n):
    a = helper(n)
    b = [1] * (2 * n)
    if n < 0:
        unreachable = 1
    del b
    return len(a)


def measured():
    return work(100000)


cov = coverage.Coverage(data_file=os.environ["COVERAGE_FILE"], include=[__file__],
                        timid=os.environ.get("TIMID") == "1")
cov.start()
measured()
cov.stop()
cov.save()
print("percent %.1f" % cov.report(file=io.StringIO()))
'''


@pytest.mark.parametrize("timid", ["0", "1"])
def test_coverage_started_by_the_program(tmp_path, timid):
    script = write(tmp_path / "starts.py", STARTS_COVERAGE)
    with_memline = _run_env(["-m", "memline", str(script)], tmp_path,
                            _cov_env(tmp_path, "m", {"TIMID": timid}))
    alone = _run_env([str(script)], tmp_path, _cov_env(tmp_path, "a", {"TIMID": timid}))
    assert with_memline.returncode == alone.returncode == 0, with_memline.stderr
    assert with_memline.stderr == alone.stderr == ""
    percent = re.findall(r"^percent .*$", with_memline.stdout, re.M)
    assert percent == re.findall(r"^percent .*$", alone.stdout, re.M) and percent
    block = block_of(with_memline.stdout)
    assert_complete(block, ("@profile", "a = helper", "b = [1]", "if n < 0", "del b", "return"), 1)


PYTEST_MODULE = '''\
import os

import memline

profile = (lambda f: f) if os.environ.get("NO_MEMLINE") else memline.profile


def helper(n):
    return [0] * n


@profile
def work(n):
    a = helper(n)
    b = [1] * (2 * n)
    if n < 0:
        unreachable = 1
    del b
    return len(a)
'''

PYTEST_TEST = '''\
from profiled_mod import work


def test_work():
    assert work(100000) == 100000
'''


def test_pytest_cov_over_a_profiled_function(tmp_path):
    """pytest --cov over a test that calls an imported @profile function
    prints the report plain pytest prints, and coverage's figure for the
    module is the one it has without memline."""
    write(tmp_path / "profiled_mod.py", PYTEST_MODULE)
    write(tmp_path / "test_it.py", PYTEST_TEST)
    base = ["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_it.py"]
    cov = ["--cov=profiled_mod", "--cov-report=term"]
    plain = _run_env(base, tmp_path, _cov_env(tmp_path, "p"))
    with_cov = _run_env(base + cov, tmp_path, _cov_env(tmp_path, "c"))
    without_memline = _run_env(base + cov, tmp_path, _cov_env(tmp_path, "n", {"NO_MEMLINE": "1"}))
    for proc in (plain, with_cov, without_memline):
        assert proc.returncode == 0, proc.stdout + proc.stderr
    a, b = block_of(plain.stdout), block_of(with_cov.stdout)
    assert_complete(b, ("@profile", "a = helper", "b = [1]", "if n < 0", "del b", "return"), 1)
    assert shape(b) == shape(a)
    assert_heap_close(b, a, tol=0.05)  # pytest's precision is 1 digit
    line = re.compile(r"^profiled_mod\.py\s.*$", re.M)
    assert line.findall(with_cov.stdout) == line.findall(without_memline.stdout)
    assert line.findall(with_cov.stdout)
    assert "CoverageWarning" not in with_cov.stdout + with_cov.stderr


PDB_SCRIPT = PROFILE_OR_NOT + '''\


def helper(n):
    x = [0] * n
    return x


@profile
def work():
    a = [1] * 100000
    breakpoint()
    b = [2] * 200000
    c = helper(10)
    del b
    d = 4
    return len(a)


def outer():
    r = work()
    return r


print("result", outer())
'''


def _pdb_view(stdout):
    """pdb's side of a session: its location lines and its answers."""
    lines = []
    for line in stdout.split("\n"):
        if line.startswith("Filename:"):
            break
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("commands", [
    "n\nn\np len(b)\nc\n",          # step over profiled lines, then continue
    "s\ns\ns\nn\nc\n",              # step into a helper and back
    "b helper\nc\np n\nc\n",        # a breakpoint outside profiled code
    "b 17\nc\nn\nc\n",              # a breakpoint on a profiled line, after continue
])
def test_pdb_steps_and_continues(tmp_path, commands):
    """pdb driven through stdin stops, steps and continues as it does
    without memline, and memline's report has every line, also those after
    the breakpoint and after pdb let go."""
    script = write(tmp_path / "dbg.py", PDB_SCRIPT)
    plain = run_python([script], tmp_path, stdin=commands)
    proc = run_memline([script], tmp_path, stdin=commands)
    assert proc.returncode == plain.returncode == 0, proc.stderr
    assert _pdb_view(proc.stdout).strip() == _pdb_view(plain.stdout).strip()
    assert "result 100000" in proc.stdout
    block = block_of(proc.stdout)
    assert_complete(block, ("@profile", "a = [1]", "breakpoint()", "b = [2]", "c = helper",
                            "del b", "d = 4", "return"), 1)
    assert abs(block.row("b = [2]").heap_incr - 1.526) < 0.01


SETTRACE_SCRIPT = PROFILE_OR_NOT + '''\
import sys

seen = []
wrappers = set()


def tracer(frame, event, arg):
    if frame.f_code.co_filename == "<memline>":
        wrappers.add(event)
    elif frame.f_code.co_name in ("work", "helper"):
        seen.append((frame.f_code.co_name, event, frame.f_lineno - frame.f_code.co_firstlineno))
    return tracer


def helper(n):
    return [0] * n


@profile
def work():
    a = helper(100000)
    b = [2] * 200000
    del b
    sys.settrace(tracer)   # from inside: the frames it starts are traced
    c = helper(10)
    return len(a)


sys.settrace(tracer)
work()
sys.settrace(None)
work()
print("events", seen)
print("wrapper events", sorted(wrappers))
'''


def test_python_settrace_before_and_inside(tmp_path):
    """A Python-level sys.settrace, set before a profiled call and again
    inside one: the tracer gets exactly the events it gets without memline
    (frame-local trace functions included), and memline every line."""
    script = write(tmp_path / "st.py", SETTRACE_SCRIPT)
    plain = run_python([script], tmp_path)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == plain.returncode == 0, proc.stderr
    events = re.findall(r"^events .*$", proc.stdout, re.M)
    assert events == re.findall(r"^events .*$", plain.stdout, re.M) and "'line'" in events[0]
    if PY < (3, 12):
        # memline's hook is in front of the tracer's: its wrapper's frames
        # are not forwarded.  (3.12+ delivers them to sys.settrace tools
        # directly: docs/performance.md.)
        assert "wrapper events []" in proc.stdout
    block = block_of(proc.stdout)
    assert_complete(block, ("@profile", "a = helper", "b = [2]", "del b", "sys.settrace",
                            "c = helper", "return"), 2)
    assert abs(block.row("b = [2]").heap_incr - 2 * 1.526) < 0.01


C_SETTRACE_SCRIPT = PROFILE_OR_NOT + '''\
import ctypes
import sys

# A trace function in C (a ctypes callback) set with PyEval_SetTrace, as a
# C extension sets it: sys.settrace is not involved.
TRACE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                         ctypes.c_void_p)
counts = {}


@TRACE
def c_tracer(obj, frame, what, arg):
    code = ctypes.cast(frame, ctypes.py_object).value.f_code
    name = code.co_name if code.co_filename != "<memline>" else "<memline>"
    if name in ("work", "helper", "<memline>"):
        counts[(name, what)] = counts.get((name, what), 0) + 1
    return 0


set_trace = ctypes.pythonapi.PyEval_SetTrace
set_trace.argtypes = [TRACE, ctypes.c_void_p]
set_trace.restype = None
unset = ctypes.pythonapi.PyEval_SetTrace
unset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
unset.restype = None


def helper(n):
    return [0] * n


@profile
def work():
    a = helper(100000)
    b = [2] * 200000
    del b
    return len(a)


def main():
    set_trace(c_tracer, None)
    work()
    unset(None, None)
    work()


main()
print("counts", sorted(counts.items()))
'''


def test_c_level_settrace(tmp_path):
    """A trace function set from C (PyEval_SetTrace through ctypes, no
    object): it gets the events it gets without memline, and memline
    every line."""
    script = write(tmp_path / "cst.py", C_SETTRACE_SCRIPT)
    plain = run_python([script], tmp_path)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == plain.returncode == 0, proc.stderr
    def counts(stdout, wrappers=False):
        [line] = re.findall(r"^counts (.*)$", stdout, re.M)
        return [c for c in eval(line) if (c[0][0] == "<memline>") == wrappers]
    assert counts(proc.stdout) == counts(plain.stdout)
    assert (("work", 2), 4) in counts(proc.stdout)
    if PY < (3, 12):
        # A hook set from C is linked behind memline's at the first
        # profiled call, whose wrapper frame the tool then sees whole (its
        # call event came first); from then on memline keeps its wrappers
        # from the tool.
        assert ("<memline>", 0) not in dict(counts(proc.stdout, True)) or \
            dict(counts(proc.stdout, True))[("<memline>", 0)] == 1
    assert_complete(block_of(proc.stdout), ("@profile", "a = helper", "b = [2]", "del b",
                                            "return"), 2)


THREAD_SCRIPT = PROFILE_OR_NOT + '''\
import sys
import threading

seen = []


def tracer(frame, event, arg):
    if frame.f_code.co_name == "work":
        seen.append((frame.f_code.co_filename == "<memline>", event,
                     frame.f_lineno - frame.f_code.co_firstlineno))
    return tracer


@profile
def work():
    a = [1] * 100000
    b = [2] * 200000
    del b
    return len(a)


threading.settrace(tracer)
t = threading.Thread(target=work)
t.start()
t.join()
threading.settrace(None)
print("events", seen)
'''


def test_threading_settrace(tmp_path):
    script = write(tmp_path / "ts.py", THREAD_SCRIPT)
    plain = run_python([script], tmp_path)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == plain.returncode == 0, proc.stderr
    def events(stdout):
        [line] = re.findall(r"^events (.*)$", stdout, re.M)
        return [e for e in eval(line) if not e[0] or PY < (3, 12)]
    assert events(proc.stdout) == events(plain.stdout)
    assert (False, "line", 3) in events(proc.stdout)
    assert_complete(block_of(proc.stdout), ("@profile", "a = [1]", "b = [2]", "del b",
                                            "return"), 1)


KERNPROF_SCRIPT = '''\
import os

import memline

mprofile = (lambda f: f) if os.environ.get("NO_MEMLINE") else memline.profile


def helper(n):
    return [0] * n


@mprofile
@profile
def work(n):
    a = helper(n)
    b = [1] * (2 * n)
    del b
    total = 0
    for i in range(100):
        total += i
    return len(a) + total


work(100000)
'''


def _hits(text):
    """line_profiler's {line: hits} of its one function."""
    hits = {}
    for m in re.finditer(r"^\s*(\d+)\s+(\d+)\s+[\d.e+-]+\s+[\d.e+-]+\s+[\d.]+\s", text, re.M):
        hits[int(m.group(1))] = int(m.group(2))
    return hits


def test_kernprof_and_memline_on_one_function(tmp_path):
    """kernprof -l on a function memline profiles too: line_profiler reports
    the hits it reports without memline, and memline reports the same
    function's lines (not line_profiler's wrapper)."""
    script = write(tmp_path / "kp.py", KERNPROF_SCRIPT)
    kernprof = [sys.executable, "-m", "kernprof", "-l", "-v", "-o", str(tmp_path / "out.lprof"),
                str(script)]
    from helpers import child_env
    proc = run(kernprof, tmp_path)
    alone = run(kernprof, tmp_path, env=child_env({"NO_MEMLINE": "1"}))
    assert proc.returncode == alone.returncode == 0, proc.stderr
    lp = proc.stdout[proc.stdout.index("Timer unit"):]
    lp_alone = alone.stdout[alone.stdout.index("Timer unit"):]
    assert _hits(lp) == _hits(lp_alone) and 101 in _hits(lp).values()
    block = block_of(proc.stdout[:proc.stdout.index("Timer unit")])
    assert block.filename.endswith("kp.py")
    assert_complete(block, ("a = helper", "b = [1]", "del b", "total = 0", "return"), 1)
    assert block.row("total += i").occurrences == 100


CPROFILE_SCRIPT = PROFILE_OR_NOT + '''\
import cProfile
import io
import pstats


def helper(n):
    return [0] * n


@profile
def work():
    prof = cProfile.Profile()
    prof.enable()
    for i in range(5):
        helper(10)
    prof.disable()
    a = [1] * 100000
    out = io.StringIO()
    pstats.Stats(prof, stream=out).print_stats("helper")
    calls = [l.split()[0] for l in out.getvalue().splitlines() if "(helper)" in l]
    print("helper calls", calls)
    return len(a)


work()
'''


def test_cprofile_inside_a_profiled_function(tmp_path):
    """cProfile.Profile().enable() inside a profiled function works (on
    3.12+ it raised ValueError: memline held the profilers' tool id) and
    counts the calls it counts alone; memline reports every line."""
    script = write(tmp_path / "cp.py", CPROFILE_SCRIPT)
    plain = run_python([script], tmp_path)
    proc = run_memline([script], tmp_path)
    assert proc.returncode == plain.returncode == 0, proc.stderr
    calls = re.findall(r"^helper calls .*$", proc.stdout, re.M)
    assert calls == re.findall(r"^helper calls .*$", plain.stdout, re.M) == ["helper calls ['5']"]
    block = block_of(proc.stdout)
    assert_complete(block, ("prof = cProfile", "prof.enable", "prof.disable", "a = [1]",
                            "out = io", "pstats", "print(", "return"), 1)
    assert block.row("helper(10)").occurrences == 5


@pytest.mark.skipif(PY < (3, 12), reason="sys.monitoring is 3.12+")
def test_no_free_tool_id_falls_back_with_one_warning(tmp_path, tracer_mode):
    """Every tool id memline may take (3, 4 and 2) is held by another tool:
    memline says so in one line naming them, and traces with the legacy
    hooks, with a complete report."""
    if tracer_mode == "legacy":
        pytest.skip("the legacy mode takes no tool id")
    script = write(tmp_path / "ids.py", '''\
import sys
for i, name in ((2, "profiler-x"), (3, "tool-y"), (4, "tool-z")):
    sys.monitoring.use_tool_id(i, name)


@profile
def work():
    a = [1] * 100000
    return len(a)


work()
''')
    proc = run_memline([script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memline: warning: "), proc.stderr
    assert "'tool-y'" in lines[0] and "'tool-z'" in lines[0] and "'profiler-x'" in lines[0]
    assert_complete(block_of(proc.stdout), ("@profile", "a = [1]", "return"), 1)
