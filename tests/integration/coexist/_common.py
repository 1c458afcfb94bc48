"""What the coexistence tests share: the report of a run, reduced to what
must not change when another tool runs beside memline (which lines ran,
how often, and what the heap columns say), and a way to run Python with a
``profile`` that is memline's or nothing, in the same lines of code."""

import sys

from helpers import only_block, parse_report

# One line that gives a script a profile whether memline runs it or not,
# so a run without memline executes the same lines (coverage compares).
PROFILE_OR_NOT = 'import builtins; profile = getattr(builtins, "profile", lambda f: f)\n'

PY = sys.version_info[:2]


def shape(block):
    """{lineno: occurrences} of the lines that ran."""
    return {r.lineno: r.occurrences for r in block.rows if r.seen}


def heap(block):
    """{lineno: Heap incr in MiB} of the lines that ran."""
    return {r.lineno: r.heap_incr for r in block.rows if r.seen}


def block_of(stdout, filename=None):
    """The one block of a report (of filename's function, when given)."""
    if filename is None:
        return only_block(stdout)
    blocks = [b for b in parse_report(stdout) if b.filename.endswith(filename)]
    assert len(blocks) == 1, stdout
    return blocks[0]


def assert_complete(block, needles, occurrences=None):
    """Each line whose source starts with one of needles ran (as often as
    occurrences says, when given), as the report says."""
    missing = [n for n in needles if not block.row(n).seen]
    assert not missing, "lines %r missing from\n%s" % (missing, block.text)
    if occurrences is not None:
        got = {n: block.row(n).occurrences for n in needles}
        assert got == {n: occurrences for n in needles}, block.text


def assert_heap_close(got, want, tol=0.005):
    """Two reports' Heap incr agree on every line within tol MiB (the
    other tool's own allocations outside its hook, a few hundred bytes)."""
    a, b = heap(got), heap(want)
    assert a.keys() == b.keys(), (got.text, want.text)
    bad = {n: (a[n], b[n]) for n in a if abs(a[n] - b[n]) > tol}
    assert not bad, "heap differs %r:\n%s\n%s" % (bad, got.text, want.text)
