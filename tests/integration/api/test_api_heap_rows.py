"""LineProfiler._heap_rows(): each line's heap figures in bytes, for code
that ranks lines (the pytest plugin's worst lines and top line).  They are
the Heap incr and Heap peak columns before they are turned into MiB."""

import io

from memline import LineProfiler, show_results
from helpers import MIB, fresh_function, lineno_of, only_block

HERE = __file__


def _work():
    keep = bytearray(3_000_000)
    tmp = bytearray(5_000_000)
    del tmp
    return keep


def test_heap_rows_are_the_report_in_bytes():
    work = fresh_function(_work)
    prof = LineProfiler()
    prof.add_function(work)
    assert prof._heap_rows() == []  # nothing ran yet
    prof.enable()
    kept = work()
    prof.disable()
    rows = prof._heap_rows()
    first = work.__code__.co_firstlineno
    assert [r[1] for r in rows] == list(range(first, first + 5))
    assert {r[0] for r in rows} == {HERE}
    by_line = {r[1]: r for r in rows}
    keep = by_line[lineno_of(HERE, "    keep = bytearray")]
    tmp = by_line[lineno_of(HERE, "    tmp = bytearray")]
    gone = by_line[lineno_of(HERE, "    del tmp")]
    # bytearray(n) holds n + 1 bytes and its object: within 200 bytes.
    assert 3_000_000 < keep[3] < 3_000_200 and keep[4] == keep[3]
    assert 5_000_000 < tmp[4] < 5_000_200
    assert -5_000_200 < gone[3] < -5_000_000 and gone[4] == 0
    assert all(r[2] == 1 for r in rows)
    # The same numbers as the report's columns, to its precision.
    out = io.StringIO()
    show_results(prof, out, precision=7)
    for row in only_block(out.getvalue()).rows:
        if row.seen:
            r = by_line[row.lineno]
            assert abs(row.heap_incr - r[3] / MIB) < 1e-6
            assert abs(row.heap_peak - r[4] / MIB) < 1e-6
    del kept
