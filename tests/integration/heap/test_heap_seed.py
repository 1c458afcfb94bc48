"""The seed's experiment at N=100000 (the heap columns' first acceptance
check), run as `make demo` runs it: `python -m memline seed_gen.py` in
examples/.  The list comprehension's temporary list shows in Heap peak, the
generator expression's does not exist, and the plain assignments are
charged nothing."""

import os

import pytest

from helpers import MIB, REPO, only_block, run_memline

EXAMPLES = os.path.join(REPO, "examples")
SEED = os.path.join(EXAMPLES, "seed_gen.py")


@pytest.fixture(scope="module", params=[None, 12], ids=["default-precision", "precision-12"])
def seed_block(request):
    args = [] if request.param is None else ["--precision", str(request.param)]
    proc = run_memline(args + ["seed_gen.py"], cwd=EXAMPLES)
    assert proc.returncode == 0, proc.stderr
    block = only_block(proc.stdout)
    assert block.columns == 7, proc.stdout
    return block


def test_seed_is_the_experiment():
    with open(SEED, encoding="utf-8") as f:
        src = f.read()
    assert "THE_LIMIT = 100000" in src
    assert "sum(x * x for x in range(THE_LIMIT))" in src
    assert "sum([x * x for x in range(THE_LIMIT)])" in src


def test_list_comprehension_peak_shows_the_temporary_list(seed_block):
    row = seed_block.find("NN = sum([x * x for x in range(THE_LIMIT)])")
    assert row.heap_peak >= 3.5, row
    # 100000 list slots (8 bytes each) plus 100000 ints of 32 bytes: the list
    # is dropped by the end of the line, so the line's net is about zero.
    assert row.heap_peak * MIB < 100000 * 48, row
    assert abs(row.heap_incr) * MIB < 64 * 1024, row


def test_generator_expression_peak_is_small(seed_block):
    row = seed_block.find("PP = sum(x * x for x in range(THE_LIMIT))")
    assert row.heap_peak <= 0.1, row
    assert abs(row.heap_incr) <= 0.1, row


@pytest.mark.parametrize("source", ["a = 1", "b = 1"])
def test_plain_assignments_charged_nothing(seed_block, source):
    row = seed_block.find(source)
    assert row.seen and row.occurrences == 1, row
    assert row.heap_incr == 0 and row.heap_peak == 0, row
    assert not str(row.heap_incr).startswith("-"), row  # no "-0.000"
