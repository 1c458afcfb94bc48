"""``python -m memline program [args]`` as a user of ``python -m
memory_profiler`` runs it: the seed example's numbers, memory_profiler's
layout, precision, occurrences, one shared profiler, how the program is run
(script or module, sys.argv, sys.path[0], __file__, __main__), exit status
and output when the program raises or exits, -o, --backend and
--include-children.

Every test runs a real child process and asserts its stdout, stderr and exit
status.  RSS numbers are only compared with tolerances."""

import json
import os
import re
import textwrap

import pytest

import memline

from helpers import (REPO, assert_one_error, check_block, lineno_of, only_block, parse_report, run_memline,
                     run_python, strip_heap_columns, write)

SEED_BIG = os.path.join(REPO, "examples", "seed_big.py")
B_MIB = 2 * 10 ** 7 * 8 / 2 ** 20  # [2] * (2 * 10 ** 7): 2e7 pointers = 152.588 MiB

# memory_profiler 0.61's report of the seed example (its reference output),
# numbers aside: what memline's first five columns must look like.
SEED_BIG_MP = """\
Filename: seed_big.py

Line #    Mem usage    Increment  Occurrences   Line Contents
=============================================================
     9   46.605 MiB   46.605 MiB           1   @profile
    10                                         def my_func():
    11   54.238 MiB    7.633 MiB           1       a = [1] * (10 ** 6)
    12  206.828 MiB  152.590 MiB           1       b = [2] * (2 * 10 ** 7)
    13   54.238 MiB -152.590 MiB           1       del b
    14   54.238 MiB    0.000 MiB           1       return a


"""

# memory_profiler's loop5.py; its reference report counts the `for` line 6
# times, the loop body 5 times, inner()'s body 3 times in nested()'s table.
LOOP5 = """\
@profile
def grow():
    keep = []
    for i in range(5):
        x = [i] * 500000
        keep.append(x)
    del keep
    return 0


@profile
def nested(n):
    def inner(k):
        return [k] * k
    total = 0
    for j in range(n):
        total += len(inner(j * 1000))
    return total


grow()
nested(3)
"""

LAYOUT = '''\
def tag(f):
    return f


@profile
@tag
def walk(n):
    """Docstring."""
    # a comment, then a blank line

    total = 0
    for i in range(n):
        total += i
    if total < 0:
        total = -1
    return total


@profile
def squares(n):
    return sum([x * x for x in range(n)])


print("result", walk(4), squares(10))
'''


def numbers_only(text):
    """text with every MiB cell replaced by a marker, for comparing layouts
    whose numbers differ."""
    return re.sub(r" *-?\d+\.\d+ MiB", " <MiB>", text)


def test_seed_big_example(tmp_path):
    """The drop-in's first acceptance check: +152.6 MiB and -152.6 MiB (±2%)
    on the seed's lines, one block, memory_profiler's layout, nothing on stderr."""
    proc = run_memline([SEED_BIG], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    block = only_block(proc.stdout)
    assert proc.stdout == block.text  # nothing but the report
    assert block.filename == SEED_BIG
    check_block(block, 3, path=SEED_BIG, first=9, last=14)
    big = block.row("b = [2] * (2 * 10 ** 7)")
    assert big.occurrences == 1
    assert big.incr == pytest.approx(B_MIB, rel=0.02), big
    freed = block.row("del b")
    assert freed.incr == pytest.approx(-B_MIB, rel=0.02), freed
    # Mem usage falls back by the same amount after del b.
    assert big.mem - freed.mem == pytest.approx(B_MIB, rel=0.02)
    assert not block.line(10).seen


def test_seed_big_matches_memory_profilers_layout(tmp_path):
    """With memline's own columns cut out, the report is memory_profiler's
    reference report line for line (numbers aside; Filename: is the code's
    filename, absolute as Python makes it, where memory_profiler printed the
    path as typed)."""
    proc = run_memline([SEED_BIG], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = strip_heap_columns(proc.stdout)
    assert got.startswith("Filename: " + SEED_BIG + "\n")
    want = SEED_BIG_MP.replace("Filename: seed_big.py", "Filename: " + SEED_BIG)
    assert numbers_only(got) == numbers_only(want)
    # And the numbers that do not depend on the process's size agree.
    got_rows = {r.lineno: r for r in parse_report(got)[0].rows}
    for lineno, incr in ((11, 7.633), (12, 152.590), (13, -152.590), (14, 0.0)):
        assert got_rows[lineno].incr == pytest.approx(incr, abs=max(0.02 * abs(incr), 0.2))


def test_layout_rows_blocks_and_default_precision(tmp_path):
    """Exact rows at the CLI's default precision 3: the decorator lines, the
    docstring, the comment, the blank line and the branch not taken are
    number-and-text rows; one block per function in the order they were
    decorated, each followed by two blank lines."""
    script = write(tmp_path / "layout.py", LAYOUT)
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("result 6 285\nFilename: ")
    walk, squares = parse_report(proc.stdout)
    assert proc.stdout == "result 6 285\n" + walk.text + squares.text
    for block in (walk, squares):
        assert block.filename == str(script)
    first = lineno_of(script, "@profile")
    check_block(walk, 3, path=script, first=first, last=lineno_of(script, "return total"))
    check_block(squares, 3, path=script, first=lineno_of(script, "@profile", 2),
                last=lineno_of(script, "return sum("))
    never = [r.source.strip() for r in walk.rows if not r.seen]
    assert never == ["@tag", "def walk(n):", '"""Docstring."""',
                     "# a comment, then a blank line", "", "total = -1"]
    assert walk.row("@profile").occurrences == 1
    assert walk.row("for i in range(n):").occurrences == 5
    assert walk.row("total += i").occurrences == 4


@pytest.mark.parametrize("precision", [0, 1, 2, 5])
def test_precision_option(tmp_path, precision):
    script = write(tmp_path / "layout.py", LAYOUT)
    proc = run_memline(["--precision", str(precision), script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    blocks = parse_report(proc.stdout)
    assert len(blocks) == 2
    for block in blocks:
        check_block(block, precision, path=script)


def test_occurrences_loop5(tmp_path):
    """memory_profiler's loop5.py: the for line 6 times for 5 iterations, the
    body 5 times; inner()'s body is charged to nested()'s table (3 calls),
    and no table of its own is printed."""
    script = write(tmp_path / "loop5.py", LOOP5)
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    grow, nested = parse_report(proc.stdout)
    check_block(grow, 3, path=script, first=1, last=8)
    check_block(nested, 3, path=script, first=11, last=18)
    occ = {r.lineno: r.occurrences for r in grow.rows if r.seen}
    assert occ == {1: 1, 3: 1, 4: 6, 5: 5, 6: 5, 7: 1, 8: 1}
    occ = {r.lineno: r.occurrences for r in nested.rows if r.seen}
    assert occ[11] == 1
    assert occ[14] == 3  # inner's body, in nested's table
    assert occ[15] == 1
    assert occ[16] == 4
    assert occ[17] == 3
    assert occ[18] == 1
    # grow() keeps five lists of 500000 pointers: about 19.1 MiB.
    assert grow.row("x = [i] * 500000").incr == pytest.approx(5 * 500000 * 8 / 2 ** 20, rel=0.1)


def test_comprehension_lines_are_in_the_same_table(tmp_path):
    script = write(tmp_path / "comp.py", textwrap.dedent("""\
        @profile
        def f(n):
            squares = [x * x for x in range(n)]
            total = sum(x for x in range(n))
            return len(squares) + total


        f(1000)
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    block = only_block(proc.stdout)
    check_block(block, 3, path=script, first=1, last=5)
    # Charged once per item (at least), not once per line.
    assert 1000 < block.row("squares = ").occurrences <= 2 * 1000 + 3
    assert 1000 < block.row("total = ").occurrences <= 2 * 1000 + 3


def test_one_shared_profiler_adds_up_calls(tmp_path):
    """Under the CLI one profiler accumulates every call and prints once at
    exit; functions never called print nothing; blocks come in the order the
    functions were decorated."""
    script = write(tmp_path / "shared.py", textwrap.dedent("""\
        @profile
        def first(n):
            total = 0
            for i in range(n):
                total += i
            return total


        @profile
        def never():
            return 1


        @profile
        def second():
            return 2


        print(second(), first(3), first(3))
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("2 3 3\n")
    first, second = parse_report(proc.stdout)
    assert "def first(n):" in first.text and "def second():" in second.text
    assert "def never" not in proc.stdout
    occ = {r.source.strip(): r.occurrences for r in first.rows if r.seen}
    assert occ == {"@profile": 2, "total = 0": 2, "for i in range(n):": 8,
                   "total += i": 6, "return total": 2}
    assert second.row("return 2").occurrences == 1


def test_profile_is_injected_into_builtins(tmp_path):
    script = write(tmp_path / "inj.py", textwrap.dedent("""\
        import builtins
        print("builtin", "profile" in vars(builtins), builtins.profile is profile)
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "builtin True True\n"
    assert proc.stderr == ""


# ---- how the program is run: as Python itself runs it ----

INFO = '''\
"""Module docstring."""
import json
import sys

try:
    profile
except NameError:
    def profile(f):
        return f


@profile
def describe():
    main = sys.modules["__main__"]
    spec = globals()["__spec__"]
    return {
        "argv": sys.argv,
        "path0": sys.path[0],
        "path": sys.path,
        "file": __file__,
        "name": __name__,
        "doc": __doc__,
        "package": __package__,
        "spec": None if spec is None else [spec.name, spec.origin, spec.parent],
        "cached": globals().get("__cached__"),
        "loader": type(globals().get("__loader__")).__name__,
        "main_is_this_module": main.__dict__ is globals(),
        "main_file": getattr(main, "__file__", None),
    }


print("INFO " + json.dumps(describe()))
'''


def info_of(proc):
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith("INFO ")]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0][5:])


@pytest.fixture
def tree(tmp_path):
    """tmp_path/work (the cwd), with sub/info.py and the package pkg
    (pkg/info.py, pkg/__main__.py)."""
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "pkg").mkdir()
    write(work / "sub" / "info.py", INFO)
    write(work / "pkg" / "__init__.py", "")
    write(work / "pkg" / "info.py", INFO)
    write(work / "pkg" / "__main__.py", INFO)
    return work


@pytest.mark.parametrize("path", ["sub/info.py", "ABSOLUTE"])
def test_script_sees_what_python_sets(tree, path):
    """sys.argv, sys.path, __file__, __name__ and the __main__ module as
    `python script.py args` has them."""
    if path == "ABSOLUTE":
        path = str(tree / "sub" / "info.py")
    args = [path, "one", "--two", "-o", "x"]
    plain = info_of(run_python(args, cwd=tree))
    profiled = info_of(run_memline(args, cwd=tree))
    assert profiled == plain
    assert profiled["argv"] == args
    assert profiled["path0"] == str(tree / "sub")
    assert profiled["name"] == "__main__"
    assert profiled["main_is_this_module"] is True


@pytest.mark.parametrize("form", [["-m", "pkg.info"], ["pkg.info"], ["-m", "pkg"], ["pkg"]])
def test_module_sees_what_python_sets(tree, form):
    """`-m module` and a program not ending in .py run as `python -m module`
    does: argv[0] the module's file, sys.path[0] the cwd, __spec__ set."""
    plain = info_of(run_python(["-m", form[-1], "a", "b"], cwd=tree))
    proc = run_memline(form + ["a", "b"], cwd=tree)
    profiled = info_of(proc)
    assert profiled == plain
    assert profiled["path0"] == str(tree)
    assert profiled["spec"][0] in ("pkg.info", "pkg.__main__")
    # The profiled function is reported from the module's file.
    block = only_block(proc.stdout)
    assert block.filename == profiled["file"]
    check_block(block, 3, path=profiled["file"])


@pytest.mark.parametrize("before,after", [
    ([], ["--precision", "2", "-o", "out.txt", "--backend", "uss", "a"]),
    (["--precision", "1"], ["x", "-o", "out.txt"]),
    (["--prec", "1", "--backend=rss"], ["--include-children", "-m", "y"]),
])
def test_module_gets_all_its_arguments(tree, before, after):
    """As with python -m, everything after -m MODULE is the module's, also
    what looks like one of memline's options; memline's own options go
    before -m."""
    plain = info_of(run_python(["-m", "pkg.info"] + after, cwd=tree))
    proc = run_memline(before + ["-m", "pkg.info"] + after, cwd=tree)
    assert info_of(proc) == plain
    assert plain["argv"][1:] == after
    assert not (tree / "out.txt").exists()
    precision = 1 if before else 3
    check_block(only_block(proc.stdout), precision, path=plain["file"])


def test_pickling_classes_of_the_script(tmp_path):
    """__main__ is the script's own module, so classes and functions defined
    in it pickle by reference (under memory_profiler they do not: its runner
    executes the script in a namespace that is not sys.modules["__main__"],
    so pickle cannot look them up)."""
    script = write(tmp_path / "pick.py", textwrap.dedent("""\
        import pickle
        import sys


        class Point:
            def __init__(self, x):
                self.x = x


        def square(p):
            return p.x * p.x


        @profile
        def roundtrip():
            p = pickle.loads(pickle.dumps(Point(7)))
            f = pickle.loads(pickle.dumps(square))
            return type(p) is Point, f is square, f(p)


        print(roundtrip(), sys.modules["__main__"].Point is Point)
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("(True, True, 49) True\n")
    assert only_block(proc.stdout).row("p = pickle").occurrences == 1


MP_SCRIPT = """\
import multiprocessing
import sys


class Job:
    def __init__(self, n):
        self.n = n


def work(job, queue):
    queue.put(Job(job.n * job.n))


@profile
def run(method):
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    procs = [ctx.Process(target=work, args=(Job(i), queue)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    codes = [p.exitcode for p in procs]
    results = sorted(queue.get(timeout=5).n for _ in procs) if codes == [0, 0, 0] else None
    return codes, results


if __name__ == "__main__":
    print("RESULT", run(sys.argv[1]))
"""


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing(tmp_path, method):
    """Processes started from a profiled function, with a target and
    arguments defined in the script: under spawn and forkserver the children
    import the script again as __mp_main__, and it uses the builtin
    `profile` as any script run under memline does."""
    script = write(tmp_path / "mp.py", MP_SCRIPT)
    proc = run_memline([script, method], cwd=tmp_path, timeout=120)
    assert "RESULT ([0, 0, 0], [0, 1, 4])" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    block = only_block(proc.stdout)
    assert [r.occurrences for r in block.rows if r.source.strip() == "for p in procs:"] == [4, 4]


def test_multiprocessing_spawn_with_fallback_profile(tmp_path):
    """The same under spawn when the script defines its own fallback for
    `profile`, as the seed's examples do: pickling through __main__ works."""
    script = write(tmp_path / "mp.py", "try:\n    profile\nexcept NameError:\n"
                   "    def profile(f):\n        return f\n\n\n" + MP_SCRIPT)
    proc = run_memline([script, "spawn"], cwd=tmp_path, timeout=120)
    assert "RESULT ([0, 0, 0], [0, 1, 4])" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stderr
    only_block(proc.stdout)


# ---- exit status, exceptions, output ----

RAISES = """\
try:
    profile
except NameError:
    def profile(f):
        return f


def helper(d):
    return d["missing"]


@profile
def f():
    d = {}
    print("in f")
    return helper(d)


def main():
    f()


main()
"""


def test_program_raises(tmp_path):
    """The traceback is the program's, exactly as plain python prints it
    (no memline frames), exit status 1, and the report still prints."""
    script = write(tmp_path / "raises.py", RAISES)
    plain = run_python([script], cwd=tmp_path)
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == plain.returncode == 1
    assert proc.stderr == plain.stderr
    assert proc.stderr.startswith("Traceback (most recent call last):\n")
    assert proc.stderr.endswith("KeyError: 'missing'\n")
    assert os.path.dirname(memline.__file__) not in proc.stderr
    assert "runpy" not in proc.stderr
    assert proc.stdout.startswith("in f\n")
    block = only_block(proc.stdout)
    check_block(block, 3, path=script)
    assert block.row("return helper(d)").occurrences == 1


def test_module_raises(tree):
    write(tree / "pkg" / "boom.py", "@profile\ndef f():\n    raise OSError('boom')\n\n\nf()\n")
    proc = run_memline(["-m", "pkg.boom"], cwd=tree)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback (most recent call last):\n")
    assert proc.stderr.endswith("OSError: boom\n")
    assert os.path.dirname(memline.__file__) not in proc.stderr
    assert "runpy" not in proc.stderr
    assert only_block(proc.stdout).row("raise OSError").occurrences == 1


def test_syntax_error_in_program(tmp_path):
    script = write(tmp_path / "syn.py", "x = 1\ndef f(:\n    pass\n")
    plain = run_python([script], cwd=tmp_path)
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == plain.returncode == 1
    assert proc.stderr == plain.stderr
    assert "SyntaxError" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("code,status,err", [
    ("sys.exit(3)", 3, ""),
    ("sys.exit(0)", 0, ""),
    ("sys.exit()", 0, ""),
    ("sys.exit(None)", 0, ""),
    ("sys.exit('bye now')", 1, "bye now\n"),
    ("raise SystemExit(7)", 7, ""),
])
def test_program_exits(tmp_path, code, status, err):
    """sys.exit inside a profiled function: the status (or the message and
    1) is kept, as python gives it, and the report prints."""
    script = write(tmp_path / "exits.py", textwrap.dedent("""\
        import sys


        @profile
        def f():
            print("before exit")
            %s


        f()
        print("not reached")
        """ % code))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == status
    assert proc.stderr == err
    assert proc.stdout.startswith("before exit\nFilename: ")
    assert "not reached" not in proc.stdout
    block = only_block(proc.stdout)
    assert block.row(code).occurrences == 1


def test_program_output_is_not_lost(tmp_path):
    """Buffered output, a last line without newline, then an exception: all
    of it reaches the pipe, before the report."""
    script = write(tmp_path / "out.py", textwrap.dedent("""\
        import sys


        @profile
        def f():
            for i in range(2000):
                print("line", i)
            sys.stdout.write("tail without newline")
            sys.stderr.write("to stderr\\n")
            raise RuntimeError("end")


        f()
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 1
    want = "".join("line %d\n" % i for i in range(2000)) + "tail without newline"
    assert proc.stdout.startswith(want + "Filename: ")
    assert proc.stderr.startswith("to stderr\nTraceback")
    assert proc.stderr.endswith("RuntimeError: end\n")
    only_block(proc.stdout[len(want):])


def test_report_when_program_closes_stdout(tmp_path):
    """A program that closes sys.stdout: its output is there, and the report
    that cannot be written is one error line (status 1), not a traceback of
    memline's own."""
    script = write(tmp_path / "close.py", textwrap.dedent("""\
        import sys


        @profile
        def f():
            return 1


        f()
        print("hello")
        sys.stdout.close()
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.stdout == "hello\n"
    line = assert_one_error(proc, status=1)
    assert "cannot write the report" in line


def test_stdin_and_source_encoding(tmp_path):
    """The program reads memline's stdin; a latin-1 source (coding cookie)
    runs and its text shows decoded in the report."""
    script = tmp_path / "lat.py"
    script.write_bytes(b"# -*- coding: latin-1 -*-\nimport sys\n\n\n@profile\ndef f():\n"
                       b"    s = 'caf\xe9 ' + sys.stdin.readline()\n    return s.upper()\n\n\n"
                       b"print(f(), end='')\n")
    proc = run_memline([script], cwd=tmp_path, stdin="au lait\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("CAF\u00c9 AU LAIT\n")
    block = only_block(proc.stdout)
    assert block.row("s = ").source == "    s = 'caf\u00e9 ' + sys.stdin.readline()"
    check_block(block, 3, first=5, last=8)


def test_threads_finish_before_the_report(tmp_path):
    """Non-daemon threads are waited for, as at interpreter exit, so their
    profiled lines are in the report."""
    script = write(tmp_path / "thr.py", textwrap.dedent("""\
        import threading
        import time


        @profile
        def work():
            time.sleep(0.2)
            return 1


        threading.Thread(target=work).start()
        print("main done")
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("main done\n")
    assert only_block(proc.stdout).row("return 1").occurrences == 1


# ---- -o ----

def test_outfile_appends(tmp_path):
    script = write(tmp_path / "seedcopy.py", open(SEED_BIG).read())
    out = write(tmp_path / "report.txt", "existing content\n")
    for _ in range(2):
        proc = run_memline(["-o", out, "--precision", "2", script], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "" and proc.stderr == ""
    text = out.read_text()
    assert text.startswith("existing content\nFilename: ")
    blocks = parse_report(text)
    assert len(blocks) == 2
    assert text == "existing content\n" + blocks[0].text + blocks[1].text
    for block in blocks:
        check_block(block, 2, path=script, first=9, last=14)


def test_outfile_keeps_program_output_on_stdout(tmp_path):
    script = write(tmp_path / "p.py", "@profile\ndef f():\n    print('from f')\n\n\nf()\n"
                   "raise SystemExit(4)\n")
    out = tmp_path / "new" / "r.txt"
    out.parent.mkdir()
    proc = run_memline(["--outfile", out, script], cwd=tmp_path)
    assert proc.returncode == 4
    assert proc.stdout == "from f\n"
    assert only_block(out.read_text()).row("print('from f')").occurrences == 1


# ---- backends, children, numbers ----

BYTEARRAY = """\
@profile
def f():
    b = bytearray(50 * 2**20)
    for i in range(0, len(b), 4096):
        b[i] = 1
    del b
    return 0


f()
"""


@pytest.mark.parametrize("backend", [None, "rss", "pss", "uss", "psutil", "psutil_pss",
                                     "psutil_uss", "posix"])
def test_bytearray_increments(tmp_path, backend):
    """50 MiB allocated and touched, then deleted: the lines that allocate
    and touch it add up to +50 MiB, del to -50 MiB, within 5%, with every
    backend name the CLI accepts."""
    script = write(tmp_path / "ba.py", BYTEARRAY)
    args = ([] if backend is None else ["--backend", backend]) + [script]
    proc = run_memline(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    block = only_block(proc.stdout)
    check_block(block, 3, path=script, first=1, last=7)
    grown = sum(r.incr for r in block.rows[2:5])
    assert grown == pytest.approx(50, rel=0.05), block
    assert block.row("del b").incr == pytest.approx(-50, rel=0.05), block
    assert block.row("b = bytearray").mem - block.row("del b").mem == pytest.approx(50, rel=0.05)
    assert block.row("for i in range").occurrences == 50 * 256 + 1


def test_backends_are_plausible(tmp_path):
    """USS and PSS never exceed RSS (the same program, measured each way)."""
    script = write(tmp_path / "ba.py", BYTEARRAY)
    mem = {}
    for backend in ("rss", "pss", "uss"):
        proc = run_memline(["--backend", backend, script], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        mem[backend] = only_block(proc.stdout).row("b = bytearray").mem
    slack = 1.0  # separate processes: their RSS differs by a little
    assert mem["uss"] <= mem["rss"] + slack, mem
    assert mem["pss"] <= mem["rss"] + slack, mem
    assert mem["uss"] <= mem["pss"] + slack, mem
    for v in mem.values():
        assert 50 < v < 50 + 500, mem


KIDS = """\
import subprocess
import sys
import time

CHILD = ("import sys; x = bytearray(60 << 20); sys.stdout.write('ready\\\\n'); "
         "sys.stdout.flush(); sys.stdin.read()")


@profile
def f():
    p = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    ready = p.stdout.readline()
    time.sleep(0.05)
    p.stdin.close()
    p.wait()
    return ready


print(f())
"""


@pytest.mark.parametrize("children", [False, True])
def test_include_children(tmp_path, children):
    """With --include-children the 60 MiB a child holds is in Mem usage
    while it runs; without, it is not."""
    script = write(tmp_path / "kids.py", KIDS)
    args = (["--include-children"] if children else []) + [script]
    proc = run_memline(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("b'ready\\n'\n")
    block = only_block(proc.stdout)
    base = block.row("@profile").mem
    top = max(r.mem for r in block.rows if r.seen)
    if children:
        assert top - base >= 55, block
    else:
        assert top - base < 20, block
