"""8 threads hammer the allocator hooks while profiling is switched on and
off: the heap columns must keep the sanitizer run clean, with the hooks
hammered from 8 threads too.  The program is _hammer.py, run in a child
process so a crash fails this test with its output instead of killing the
suite; under `make test-asan` the child inherits the sanitizer preload and
PYTHONMALLOC=malloc."""

import json
import os
import sys

import pytest

import helpers

HERE = os.path.dirname(os.path.abspath(__file__))
N_THREADS = 8
BALANCED_CALLS = 20
# One execution of a churn line allocates or frees at most three 200 kB
# blocks, one handed-over block and some small ones.
ONE_EXECUTION = 1024 * 1024
# The legacy tracer backend on 3.12+ gets its events through sys.monitoring's
# own shims, whose int arguments (offsets past 256 bytes) are allocated and
# freed around each callback, and it cannot tell them from the program's:
# up to 32 bytes a call land on the return line (docs/performance.md).  The
# default backends keep them out.
LEGACY_312_PER_CALL = (32 if sys.version_info >= (3, 12)
                       and os.environ.get("MEMLINE_TRACER") == "legacy" else 0)


@pytest.fixture(scope="module")
def hammer():
    env = helpers.child_env()
    # Keep ASan's quarantine (helpers turns it off for RSS numbers): it is
    # what catches a hook touching a block after its free.
    env.pop("ASAN_OPTIONS", None)
    if "ASAN_OPTIONS" in os.environ:
        env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"]
    proc = helpers.run_python([os.path.join(HERE, "_hammer.py"), "1.5", str(BALANCED_CALLS)],
                              HERE, timeout=300, env=env)
    assert proc.returncode == 0, "hammer exited with %d\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout[-3000:], proc.stderr[-6000:])
    return json.loads(proc.stdout)


def test_no_errors_and_hooks_restored(hammer):
    assert hammer["errors"] == []
    assert hammer["threads_alive"] == 0
    assert hammer["phase2_finished"]
    assert hammer["restored_after_phase1"] and not hammer["active_after_phase1"]
    assert hammer["restored"] and not hammer["active"]
    # The hammer really hammered: many switches, every thread busy.
    assert hammer["toggles"] >= 20, hammer["toggles"]
    assert min(hammer["iterations_phase1"]) >= 10, hammer["iterations_phase1"]


def test_phase1_counts_are_sane(hammer):
    """Switched on and off mid-line, the numbers are still bounded by what
    the lines can do: no underflow, no garbage, peaks within one
    execution's allocations."""
    blocks = helpers.parse_report(hammer["report1"])
    assert len(blocks) == 1, hammer["report1"]
    block = blocks[0]
    assert block.columns == 7
    ran = [r for r in block.rows if r.seen]
    assert ran, block
    assert block.find("def churn_profiled(rng):").occurrences > 0
    for r in ran:
        assert 0 <= r.bytes("heap_peak") <= ONE_EXECUTION, r
        assert abs(r.bytes("heap_incr")) <= max(r.occurrences, 1) * ONE_EXECUTION, r
    big = block.find("big = [bytearray(")
    assert big.bytes("heap_incr") > 0, big
    assert big.bytes("heap_peak") >= 600, big


def test_phase2_balanced_function_nets_to_zero(hammer):
    """A function that frees all it allocates (small and large blocks, list
    growth, bytes concatenation), run 20 times by each of 8 threads while
    the others churn: its lines sum to zero within a few KiB, and every call
    is counted."""
    blocks = helpers.parse_report(hammer["report2"])
    assert len(blocks) == 1, hammer["report2"]
    block = blocks[0]
    calls = N_THREADS * BALANCED_CALLS
    assert block.find("return k").occurrences == calls, block
    assert block.find("blocks.append(bytearray(").occurrences == calls * 50
    total = block.total("heap_incr")
    assert abs(total) <= 4 * 1024 + LEGACY_312_PER_CALL * calls, (total, block)
    # The big allocations and the frees both show: the zero is a balance,
    # not an absence of counting.
    alloc = block.find("blocks.append(bytearray(").bytes("heap_incr")
    freed = block.find("blocks.clear()").bytes("heap_incr")
    assert alloc > calls * 50 * 20000, alloc
    assert abs(alloc + freed) <= 0.01 * alloc, (alloc, freed)
