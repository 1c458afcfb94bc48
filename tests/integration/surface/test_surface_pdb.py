"""python -m memline --pdb-mmem MAXMEM: one message, pdb at the profiled
code, driven through stdin, then the run completes with its report
(the rest of memory_profiler's surface)."""

import re

import pytest

from helpers import parse_report, run_memline

# Line numbers matter: the 60 MiB allocation is line 7.
SCRIPT = '''\
import sys


@profile
def hog():
    small = [0] * 1000
    big_chunk = b"x" * (60 << 20)
    marker = "after the big allocation"
    size = len(big_chunk)
    return size


def main():
    print("result", hog())


main()
'''
ALLOC_LINE = 7

# The same, but nothing after the allocation calls anything.
SHORT_SCRIPT = '''\
@profile
def hog():
    big_chunk = b"x" * (60 << 20)
    marker = 1
    return len(big_chunk)


def main():
    print("result", hog())


main()
'''
SHORT_ALLOC_LINE = 3

# What pdb is told: where it is, a variable of the frame, then continue.
COMMANDS = "where\np len(big_chunk)\nc\n"

EXCEEDED = re.compile(r"^Current memory (\d+\.\d\d) MiB exceeded the maximum of (\d+\.\d\d) MiB$",
                      re.M)


def baseline_rss(tmp_path):
    """The RSS of a memline run of an empty script, in MiB."""
    (tmp_path / "empty.py").write_text("@profile\ndef f():\n    return 0\n\n\nf()\n")
    r = run_memline(["empty.py"], tmp_path)
    assert r.returncode == 0, r.stderr
    [block] = parse_report(r.stdout)
    return block.rows[0].mem


@pytest.fixture
def script(tmp_path):
    (tmp_path / "script.py").write_text(SCRIPT)
    return tmp_path


def run_pdb(script, limit):
    return run_memline(["--pdb-mmem", str(limit), "script.py"], script, stdin=COMMANDS,
                       timeout=60)


def test_pdb_mmem_stops_once_and_completes(script):
    limit = baseline_rss(script) + 30
    r = run_pdb(script, limit)
    assert r.returncode == 0, r.stderr
    found = EXCEEDED.findall(r.stdout)
    assert len(found) == 1, r.stdout
    current, maximum = map(float, found[0])
    assert abs(maximum - limit) < 0.01
    assert current >= limit
    assert "Stepping into the debugger" in r.stdout
    assert "(Pdb) " in r.stdout
    # pdb ran the commands in the program: 60 MiB were allocated by then
    assert str(60 << 20) in r.stdout
    # the program went on to its end, and the report followed
    assert "result %d" % (60 << 20) in r.stdout
    blocks = parse_report(r.stdout)
    assert len(blocks) == 1
    assert blocks[0].filename.endswith("script.py")
    assert blocks[0].row('big_chunk = b"x" * (60 << 20)').incr >= 55
    assert r.stdout.index("exceeded the maximum") < r.stdout.index("Filename:")


@pytest.mark.parametrize("text, alloc_line", [(SCRIPT, ALLOC_LINE),
                                              (SHORT_SCRIPT, SHORT_ALLOC_LINE)],
                         ids=["calls-after", "no-calls-after"])
def test_pdb_mmem_stops_at_the_line_that_crossed(tmp_path, text, alloc_line):
    (tmp_path / "script.py").write_text(text)
    r = run_pdb(tmp_path, baseline_rss(tmp_path) + 30)
    assert r.returncode == 0, r.stderr
    # the first location pdb shows is in hog(), at the allocation or the line after it
    stops = re.findall(r"^> (.*)\((\d+)\)(\w+)\(\)(?:->.*)?$", r.stdout, re.M)
    assert stops, r.stdout
    path, line, func = stops[0]
    assert path.endswith("script.py") and func == "hog", stops[0]
    assert int(line) in (alloc_line, alloc_line + 1), stops[0]


def test_pdb_mmem_not_reached_means_no_debugger(script):
    r = run_pdb(script, 100000)
    assert r.returncode == 0, r.stderr
    assert "exceeded the maximum" not in r.stdout
    assert "(Pdb)" not in r.stdout
    assert "result %d" % (60 << 20) in r.stdout
    assert len(parse_report(r.stdout)) == 1


# Called twice; the limit is crossed in the first call, which goes on after
# pdb's "c" through a loop.
TWICE = '''\
@profile
def hog(n):
    big_chunk = b"x" * (60 << 20)
    after = n
    for i in range(3):
        after += i
    return after


print("first", hog(1))
print("second", hog(2))
'''


def test_pdb_mmem_continue_keeps_profiling(tmp_path):
    (tmp_path / "script.py").write_text(TWICE)
    plain = run_memline(["script.py"], tmp_path)
    debugged = run_memline(["--pdb-mmem", str(baseline_rss(tmp_path) + 30), "script.py"],
                           tmp_path, stdin="c\n")
    for r in (plain, debugged):
        assert r.returncode == 0, r.stderr
        assert "first 4" in r.stdout and "second 5" in r.stdout
    assert "exceeded the maximum" in debugged.stdout
    [plain_block] = parse_report(plain.stdout)
    [debugged_block] = parse_report(debugged.stdout)
    # both calls ran every line: the same occurrences with or without pdb
    assert [r.occurrences for r in plain_block.rows] == [2, None, 2, 2, 8, 6, 2]
    assert [r.occurrences for r in debugged_block.rows] == \
        [r.occurrences for r in plain_block.rows]
