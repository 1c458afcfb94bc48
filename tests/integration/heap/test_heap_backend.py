"""The heap backend (the heap columns' accounting behind Mem usage): with
--backend heap (alias tracemalloc), Mem usage and Increment report the
Python heap, and a line `x = bytearray(n)` shows an increment of n bytes
within 1e-4 MiB for n from 100 to 10**8, through the CLI and through the
API."""

import io
import textwrap

import pytest

import memline
from helpers import MIB, only_block, run_memline

SIZES = [100, 1000, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7, 10 ** 8]
TOL_MIB = 1e-4

SCRIPT = textwrap.dedent('''\
    @profile
    def sizes():
        x0 = bytearray(100)
        x1 = bytearray(1000)
        x2 = bytearray(10000)
        x3 = bytearray(100000)
        x4 = bytearray(1000000)
        x5 = bytearray(10000000)
        x6 = bytearray(100000000)
        del x0, x1, x2, x3, x4, x5, x6
        return 0


    sizes()
    ''')


def _check_block(block, field):
    for i, n in enumerate(SIZES):
        row = block.find("x%d = bytearray(%d)" % (i, n))
        got = getattr(row, field)
        assert abs(got - n / MIB) <= TOL_MIB, (n, field, row)
    # Seven objects freed at once: seven objects' worth of header slack.
    freed = block.find("del x0")
    assert abs(getattr(freed, field) + sum(SIZES) / MIB) <= len(SIZES) * TOL_MIB, freed


@pytest.mark.parametrize("backend", ["heap", "tracemalloc"])
def test_cli_heap_backend_bytearray_sizes(tmp_path, backend):
    script = tmp_path / "sizes.py"
    script.write_text(SCRIPT)
    proc = run_memline(["--backend", backend, "--precision", "6", str(script)], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    block = only_block(proc.stdout)
    _check_block(block, "incr")
    _check_block(block, "heap_incr")
    # Mem usage is the heap level: it rises by the sizes, then falls back.
    top = block.find("x6 = bytearray(100000000)").mem
    base = block.find("x0 = bytearray(100)").mem
    assert abs(top - base - sum(SIZES[1:]) / MIB) <= 10 * TOL_MIB, block


def test_cli_rejects_unknown_backend(tmp_path):
    script = tmp_path / "sizes.py"
    script.write_text(SCRIPT)
    proc = run_memline(["--backend", "no-such-backend", str(script)], cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "backend" in proc.stderr


def sizes_api():
    x0 = bytearray(100)
    x1 = bytearray(1000)
    x2 = bytearray(10000)
    x3 = bytearray(100000)
    x4 = bytearray(1000000)
    x5 = bytearray(10000000)
    x6 = bytearray(100000000)
    del x0, x1, x2, x3, x4, x5, x6
    return 0


def _code_map_rows(prof):
    """{lineno: (incr MiB, mem MiB, occurrences)} of prof's single function."""
    (filename, rows), = prof.code_map.items()
    return {lineno: v for lineno, v in rows if v is not None}


@pytest.mark.parametrize("backend", ["heap", "tracemalloc"])
def test_api_heap_backend_bytearray_sizes(backend):
    prof = memline.LineProfiler(backend=backend)
    assert prof.backend == "heap"
    prof.add_function(sizes_api)
    with prof:
        sizes_api()
    first = sizes_api.__code__.co_firstlineno
    rows = _code_map_rows(prof)
    for i, n in enumerate(SIZES):
        incr, _, occ = rows[first + 1 + i]
        assert occ == 1
        assert abs(incr - n / MIB) <= TOL_MIB, (n, incr)
    # The report's Increment and Heap incr are the same measure here.
    out = io.StringIO()
    memline.show_results(prof, stream=out, precision=12)
    block = only_block(out.getvalue())
    for i, n in enumerate(SIZES):
        row = block.find("x%d = bytearray(%d)" % (i, n))
        assert row.bytes("incr") == row.bytes("heap_incr"), row
        assert abs(row.bytes("incr") - rows[row.lineno][0] * MIB) < 1, row


def test_profile_decorator_heap_backend():
    out = io.StringIO()
    fn = memline.profile(sizes_api, stream=out, precision=6, backend="heap")
    assert fn() == 0
    block = only_block(out.getvalue())
    _check_block(block, "incr")


def test_default_backend_still_has_exact_heap_columns():
    """The heap columns do not depend on the backend: with RSS in Mem usage,
    Heap incr still shows n bytes."""
    prof = memline.LineProfiler()
    prof.add_function(sizes_api)
    with prof:
        sizes_api()
    out = io.StringIO()
    memline.show_results(prof, stream=out, precision=6)
    _check_block(only_block(out.getvalue()), "heap_incr")
