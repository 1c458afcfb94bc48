"""The tracer's backends, which the speed targets rest on: on 3.11 the PEP
523 gate, which turns line events on for profiled frames only; on 3.12+
sys.monitoring with local events on profiled code; and the legacy profile
hook, used on 3.8-3.10, when the others cannot go in, or with
MEMLINE_TRACER=legacy.  They must give the same report, leave other tools'
trace hooks alone, and not crash a deep recursion."""

import sys

import pytest

from helpers import child_env, parse_report, run_memline, write

GATE = sys.version_info[:2] == (3, 11)
MONITORING = sys.version_info >= (3, 12)
BACKENDS = ["gate", "legacy"]  # "gate": whatever this version does by default


def env_for(backend):
    """The child's environment asking for backend, whatever this run set."""
    return child_env({"MEMLINE_TRACER": backend})


def expected_backend(asked):
    if asked == "legacy":
        return "legacy"
    return "gate" if GATE else "monitoring" if MONITORING else "legacy"


MIXED = '''\
import threading
from memline import _memline

seen = []


def helper(n):
    return [0] * n


def squares(n):
    for i in range(n):
        yield i * i


@profile
def inner(x):
    seen.append(_memline._tracer_mode())
    block = [x] * 131072
    return len(block)


def via_helper(x):
    return inner(x)


@profile
def outer():
    a = helper(1 << 17)
    b = sum(map(inner, range(3)))
    c = via_helper(5)
    d = sum(squares(1000))
    t = threading.Thread(target=inner, args=(7,))
    t.start()
    t.join()
    del a
    return b + c + d


outer()
print("backends", sorted(set(seen)), len(seen))
print("after", _memline._tracer_mode())
'''


def run_mixed(tmp_path, backend):
    script = write(tmp_path / "mixed.py", MIXED)
    proc = run_memline(["--precision", "3", script], tmp_path, env=env_for(backend))
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_in_use_while_profiling_and_none_after(tmp_path, backend):
    out = run_mixed(tmp_path, backend).stdout
    # inner ran 5 times: 3 from map (C calling back), 1 under an unprofiled
    # helper, 1 in a thread; each time the named backend was delivering.
    assert "backends ['%s'] 5" % expected_backend(backend) in out
    assert "after None" in out


def test_both_backends_give_the_same_report(tmp_path):
    gate = parse_report(run_mixed(tmp_path, "gate").stdout)
    legacy = parse_report(run_mixed(tmp_path, "legacy").stdout)
    assert len(gate) == len(legacy) == 2
    for g, l in zip(gate, legacy):
        got = {r.lineno: (r.occurrences, r.heap_incr, r.heap_peak) for r in g.rows}
        want = {r.lineno: (r.occurrences, r.heap_incr, r.heap_peak) for r in l.rows}
        assert got.keys() == want.keys()
        for lineno in got:
            go, gi, gp = got[lineno]
            lo, li, lp = want[lineno]
            assert go == lo, (lineno, got[lineno], want[lineno])
            if gi is not None:
                # Frame objects the legacy hook makes for helper calls are a
                # few hundred bytes: far below the 1 MiB blocks measured.
                assert abs(gi - li) <= 0.01 and abs(gp - lp) <= 0.01, (lineno, got, want)
    inner_rows = {r.lineno: r for r in gate[0].rows if r.occurrences}
    assert max(r.occurrences for r in inner_rows.values()) == 5
    assert any(abs(r.heap_peak - 1.0) < 0.01 for r in inner_rows.values())


FOREIGN = '''\
import sys

lines = []


def tracer(frame, event, arg):
    if event == "line":
        lines.append(frame.f_code.co_name)
    return tracer


def helper():
    a = 1
    b = 2
    return a + b


def other():
    return 3


@profile
def outer():
    x = 1
    sys.settrace(tracer)
    y = helper()
    sys.settrace(None)
    z = other()
    w = x + y + z
    return w


outer()
print("traced", lines.count("helper"))
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_tools_trace_hook_is_left_alone(tmp_path, backend):
    script = write(tmp_path / "foreign.py", FOREIGN)
    proc = run_memline([script], tmp_path, env=env_for(backend))
    assert proc.returncode == 0, proc.stderr
    # The user's tracer saw every line of the unprofiled helper.
    assert "traced 3" in proc.stdout
    rows = {r.lineno: r for r in parse_report(proc.stdout)[0].rows}
    assert rows[24].occurrences == 1  # x = 1
    if expected_backend(backend) in ("gate", "monitoring"):
        # The gate gives the lines back once the user's hook let go and a
        # call returned; sys.monitoring never lost them.  (3.11's legacy
        # backend keeps one hook at a time, and sys.settrace takes its
        # place: it does not see them again.)
        assert rows[29].occurrences == 1  # w = x + y + z
        assert rows[30].occurrences == 1  # return w


DEEP = '''\
import sys
from memline import _memline

sys.setrecursionlimit(200000)


def down(n):
    return 0 if n == 0 else 1 + down(n - 1)


@profile
def main(depth):
    print("backend", _memline._tracer_mode())
    x = down(depth)
    return x


print("depth", main(int(sys.argv[1])))
'''


def test_raised_recursion_limit_gets_the_legacy_backend(tmp_path):
    """A limit raised before profiling starts beyond what the C stack holds
    through the gate: memline traces without the gate, and the recursion
    runs as it does without memline."""
    script = write(tmp_path / "deep.py", DEEP)
    # Before 3.11 every Python call nests in C, with or without memline.
    depth = "50000" if sys.version_info >= (3, 11) else "5000"
    proc = run_memline([script, depth], tmp_path, env=env_for("gate"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Only the gate costs C stack; the other backends stay as they are.
    want = "legacy" if GATE else expected_backend("gate")
    assert "backend %s" % want in proc.stdout
    assert "depth " + depth in proc.stdout


LATE = '''\
import sys
from memline import _memline


def down(n):
    return 0 if n == 0 else 1 + down(n - 1)


@profile
def main(depth):
    print("backend", _memline._tracer_mode())
    sys.setrecursionlimit(1000000)
    x = down(depth)
    return x


main(int(sys.argv[1]))
'''


def test_recursion_past_the_c_stack_raises_instead_of_crashing(tmp_path):
    """The limit raised while profiling already uses the gate: the recursion
    gets a RecursionError that says what to do, and the report still
    prints.  (Without the gate, 3.11 recurses without C stack.)"""
    script = write(tmp_path / "late.py", LATE)
    depth = "400000" if GATE else "3000"
    proc = run_memline([script, depth], tmp_path, env=env_for("gate"))
    if GATE:
        assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
        assert "backend gate" in proc.stdout
        last = proc.stderr.strip().splitlines()[-1]
        assert last == ("RecursionError: maximum recursion depth exceeded: the C stack is "
                        "nearly full (under memline, deeper recursion needs "
                        "MEMLINE_TRACER=legacy)")
    else:
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "backend %s" % expected_backend("gate") in proc.stdout
    rows = {r.lineno: r for r in parse_report(proc.stdout)[0].rows}
    assert rows[11].occurrences == 1  # print("backend", ...)
    assert rows[13].occurrences == 1  # x = down(depth)


ONE_LINE = '''\
@profile
def f():
    x = 0
    for i in range(5): x += i
    y = [i * i for i in range(7)]
    while x > 0: x -= 3
    return x, y


f()
'''


def test_loops_on_one_line_count_every_pass_with_every_backend(tmp_path):
    """Tracing reports a line again after each backward jump, even within
    one line; sys.monitoring's line event does not, so its backend adds
    them from jump events.  Every backend must count the same."""
    script = write(tmp_path / "one_line.py", ONE_LINE)
    counts = {}
    for backend in BACKENDS:
        proc = run_memline([script], tmp_path, env=env_for(backend))
        assert proc.returncode == 0, proc.stderr
        [block] = parse_report(proc.stdout)
        counts[backend] = {r.lineno: r.occurrences for r in block.rows if r.seen}
    assert counts["gate"] == counts["legacy"]
    assert counts["gate"][4] == 6  # for i in range(5): x += i
    # while x > 0: x -= 3 runs its body for 10, 7, 4, 1; 3.9 compiles the
    # test once more at the loop's top, and traces it.
    assert counts["gate"][6] == (5 if sys.version_info < (3, 10) else 4)


THROWN = '''\
import contextlib


@profile
def gen():
    total = 0
    while True:
        try:
            x = yield total
            total += x
        except ValueError:
            total = -1
            data = [0] * 100000


@contextlib.contextmanager
@profile
def ctx():
    buf = [1] * 50000
    try:
        yield buf
    finally:
        del buf


def main():
    g = gen()
    next(g)
    for i in range(3):
        g.send(i)
    g.throw(ValueError)
    g.send(5)
    g.close()
    try:
        with ctx():
            raise KeyError
    except KeyError:
        pass


main()
'''


def test_exceptions_thrown_into_profiled_generators_count_alike(tmp_path):
    """gen.throw(), gen.close() and an exception raised into a
    contextmanager: resumptions by throw and exits by unwinding reach the
    engine under every backend, with the same numbers."""
    script = write(tmp_path / "thrown.py", THROWN)
    reports = {}
    for backend in BACKENDS:
        proc = run_memline(["--precision", "3", script], tmp_path, env=env_for(backend))
        assert proc.returncode == 0, proc.stderr
        reports[backend] = [{r.lineno: (r.occurrences, r.heap_incr, r.heap_peak)
                             for r in block.rows if r.seen}
                            for block in parse_report(proc.stdout)]
    assert reports["gate"] == reports["legacy"]
    gen_rows, ctx_rows = reports["gate"]
    assert gen_rows[9][0] == 6    # x = yield total: start, 3 sends, throw, send
    assert gen_rows[11][0] == 2   # except ValueError: the throw and the close
    assert gen_rows[13] == (1, 0.763, 0.763)  # data = [0] * 100000, kept
    assert ctx_rows[19][0] == 1   # buf = [1] * 50000
    assert ctx_rows[23][0] == 1   # del buf, on the way out of the exception
