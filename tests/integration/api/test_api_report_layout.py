"""The report's first five columns are memory_profiler's, checked against
memory_profiler 0.61 itself: its show_results, given the values memline
printed, writes memline's report exactly, once memline's two heap columns
are cut out.  Also checks the shared layout helper (tests/helpers.py) on
memory_profiler's five-column form, which memline prints when the heap
columns are off, so the layout tests read both forms."""

import io

import pytest

from memline import LineProfiler, show_results
from helpers import (HEADER5, HEADER7, check_block, format_row, fresh_function, only_block,
                     parse_report, strip_heap_columns)

HERE = __file__


def _sample(n):
    """Docstring: a row that never runs."""
    # A comment, then a blank line.

    text = "héllo ✓"  # non-ASCII source
    rows = [[i] * 1000 for i in range(n)]
    if n < 0:
        rows = None
    return len(rows), text


class FakeProfiler:
    """What memory_profiler's show_results reads: code_map.items() giving
    (filename, [(lineno, (increment, mem usage, occurrences) or None)])."""

    def __init__(self, blocks):
        self._items = [(b.filename,
                        [(r.lineno, (r.incr, r.mem, r.occurrences) if r.seen else None)
                         for r in b.rows])
                       for b in blocks]

    @property
    def code_map(self):
        return self

    def items(self):
        return iter(self._items)


def memline_report(precision):
    f = fresh_function(_sample)
    p = LineProfiler()
    p.add_function(f)
    with p:
        f(50)
        f(3)
    s = io.StringIO()
    show_results(p, stream=s, precision=precision)
    return s.getvalue()


@pytest.mark.parametrize("precision", [0, 1, 2, 3, 4])
def test_first_five_columns_are_memory_profilers(precision):
    mp = pytest.importorskip("memory_profiler")
    text = memline_report(precision)
    blocks = parse_report(text)
    assert len(blocks) == 1
    check_block(blocks[0], precision, path=HERE)
    out = io.StringIO()
    mp.show_results(FakeProfiler(blocks), stream=out, precision=precision)
    assert strip_heap_columns(text) == out.getvalue()


def test_helper_reads_memory_profilers_own_report():
    """memory_profiler's report (five columns) parses, and its rows are what
    format_row makes of their values."""
    mp = pytest.importorskip("memory_profiler")
    blocks = parse_report(memline_report(2))
    out = io.StringIO()
    mp.show_results(FakeProfiler(blocks), stream=out, precision=2)
    block = only_block(out.getvalue())
    assert block.header == HEADER5 and block.columns == 5
    assert block.rule == "=" * 61
    check_block(block, 2, path=HERE)
    assert [(r.lineno, r.seen, r.occurrences) for r in block.rows] == \
        [(r.lineno, r.seen, r.occurrences) for r in blocks[0].rows]


def test_format_row_forms():
    """The two forms the layout tests accept, written out by hand."""
    assert format_row(9, "@profile", 3, 5, 46.605, 46.605, 1) == \
        "     9   46.605 MiB   46.605 MiB           1   @profile"
    assert format_row(10, "def my_func():", 3, 5) == \
        "    10" + " " * 41 + "def my_func():"
    assert format_row(13, "    del b", 3, 7, 21.035, -152.59, 1, -152.588, 0.0) == \
        ("    13   21.035 MiB -152.590 MiB           1 -152.588 MiB    0.000 MiB       del b")
    assert format_row(10, "def my_func():", 3, 7) == \
        "    10" + " " * 67 + "def my_func():"
    assert len(HEADER7) - len(HEADER5) == 25
