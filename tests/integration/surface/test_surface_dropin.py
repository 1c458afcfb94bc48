"""The drop-in test: a program written for memory_profiler runs unchanged
with its import line changed to memline, and its reports have the same
shape (the rest of memory_profiler's surface: memory_usage, LineProfiler,
show_results, LogFile)."""

import pytest

from helpers import HEADER5, HEADER7, check_block, parse_report, run_python

pytest.importorskip("memory_profiler")

IMPORT = "from memory_profiler import LineProfiler, LogFile, memory_usage, profile, show_results"

PROGRAM = '''\
"""A program written for memory_profiler 0.61."""
import logging
import sys

''' + IMPORT + '''

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="LOG|%(message)s")


@profile(precision=3)
def build(n):
    a = [1] * n
    b = [2] * (2 * n)
    del b
    return len(a)


def fill(n):
    data = b"x" * n
    total = len(data)
    return total


def looped(k):
    out = []
    for i in range(k):
        out.append(i)
    return len(out)


@profile(stream=LogFile("dropin"))
def logged(n):
    block = bytearray(n)
    size = len(block)
    del block
    return size


def main():
    print("build", build(10 ** 5))
    usage = memory_usage((fill, (8 << 20,)), interval=0.01)
    print("usage", type(usage).__name__, len(usage) >= 1,
          all(isinstance(u, float) and u > 0 for u in usage))
    peak = memory_usage((fill, (8 << 20,), {}), interval=0.01, max_usage=True)
    print("peak", type(peak).__name__, peak > 0)
    mem, ret = memory_usage((fill, (1 << 20,)), interval=0.01, retval=True)
    print("retval", type(mem).__name__, ret)
    print("self", type(memory_usage(-1)).__name__, len(memory_usage(-1)))

    prof = LineProfiler()
    prof.add_function(fill)
    prof.enable()
    fill(4 << 20)
    prof.disable()
    prof.add_function(looped)
    prof.runctx("looped(5)", globals(), locals())
    show_results(prof, stream=sys.stdout, precision=2)
    print("logged", logged(1 << 20))


if __name__ == "__main__":
    main()
'''

# Source lines of each function, and whether each row is blank (never ran).
EXPECTED_BLOCKS = [
    [(10, "@profile(precision=3)"), (11, "def build(n):"), (12, "a = [1] * n"),
     (13, "b = [2] * (2 * n)"), (14, "del b"), (15, "return len(a)")],
    [(18, "def fill(n):"), (19, 'data = b"x" * n'), (20, "total = len(data)"),
     (21, "return total")],
    [(24, "def looped(k):"), (25, "out = []"), (26, "for i in range(k):"),
     (27, "out.append(i)"), (28, "return len(out)")],
]
EXPECTED_LOG_BLOCK = [(31, '@profile(stream=LogFile("dropin"))'), (32, "def logged(n):"),
                      (33, "block = bytearray(n)"), (34, "size = len(block)"),
                      (35, "del block"), (36, "return size")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(memory_profiler's run, memline's run) of the same program."""
    assert PROGRAM.count(IMPORT) == 1
    out = []
    for name, text in (("mp", PROGRAM),
                       ("ml", PROGRAM.replace(IMPORT, IMPORT.replace("memory_profiler",
                                                                     "memline")))):
        where = tmp_path_factory.mktemp(name)
        (where / "prog.py").write_text(text)
        r = run_python(["prog.py"], where)
        assert r.returncode == 0, (name, r.stdout, r.stderr)
        out.append(r)
    return out


def plain_lines(stdout):
    """What the program itself printed."""
    return [l for l in stdout.splitlines()
            if l.split(" ")[0] in ("build", "usage", "peak", "retval", "self", "logged")]


def log_messages(stderr):
    """The logging records' messages: each is written as "LOG|<message>\\n"."""
    assert stderr.startswith("LOG|"), stderr
    assert stderr.endswith("\n")
    return stderr[len("LOG|"):-1].split("\nLOG|")


def compare_blocks(theirs, mine, expected):
    assert len(theirs) == len(mine) == len(expected)
    for t, m, exp in zip(theirs, mine, expected):
        assert t.filename.endswith("prog.py") and m.filename.endswith("prog.py")
        assert t.header == HEADER5 and m.header == HEADER7
        # memline adds Heap incr and Heap peak before Line Contents
        assert m.header.replace("Heap incr    Heap peak   ", "") == t.header
        assert t.rule == "=" * len(t.header) and m.rule == "=" * len(m.header)
        assert [(r.lineno, r.source.strip()) for r in t.rows] == exp
        assert [(r.lineno, r.source) for r in m.rows] == \
            [(r.lineno, r.source) for r in t.rows]
        assert [r.seen for r in m.rows] == [r.seen for r in t.rows]
        assert [r.occurrences for r in m.rows] == [r.occurrences for r in t.rows]
        assert m.precision == t.precision
        # every row is memory_profiler's template filled in (memline's with
        # its two heap cells), and the heap cells are there when the line ran
        check_block(t, t.precision)
        check_block(m, m.precision)
        for r in m.rows:
            assert (r.heap_incr is not None, r.heap_peak is not None) == (r.seen, r.seen)


def test_program_runs_unchanged_and_prints_the_same(runs):
    theirs, mine = runs
    assert plain_lines(mine.stdout) == plain_lines(theirs.stdout)
    assert plain_lines(mine.stdout) == [
        "build 100000", "usage list True True", "peak float True",
        "retval list 1048576", "self list 1", "logged 1048576"]


def test_reports_have_memory_profilers_shape(runs):
    theirs, mine = runs
    compare_blocks(parse_report(theirs.stdout), parse_report(mine.stdout), EXPECTED_BLOCKS)
    # two blank lines after each block, as memory_profiler prints them
    for r in (theirs, mine):
        for block in parse_report(r.stdout):
            last = block.rows[-1].text + "\n"
            end = r.stdout.index(last) + len(last)
            assert r.stdout[end:end + 2] == "\n\n"


def test_logfile_report_has_memory_profilers_shape(runs):
    theirs, mine = runs
    compare_blocks(parse_report("".join(log_messages(theirs.stderr))),
                   parse_report("".join(log_messages(mine.stderr))), [EXPECTED_LOG_BLOCK])
    # one logging record per line of the report, as memory_profiler sends them
    assert len(log_messages(mine.stderr)) == len(log_messages(theirs.stderr))
