"""When Python's allocator cannot be accounted (debug hooks), the report
keeps memory_profiler's five columns, one warning line says why, and RSS is
read at every line so the numbers stay right."""

import os

from helpers import REPO, child_env, only_block, run_memline


def test_debug_allocator_gives_five_columns_and_one_warning(tmp_path):
    env = child_env({"PYTHONMALLOC": "debug"})
    proc = run_memline([os.path.join(REPO, "examples", "seed_big.py")], tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memline: warning: no heap columns: "), lines
    block = only_block(proc.stdout)
    assert block.columns == 5
    row = block.row("b = [2] * (2 * 10 ** 7)")
    assert abs(row.incr - 152.6) < 152.6 * 0.02, row
    assert abs(block.row("del b").incr + 152.6) < 152.6 * 0.02
