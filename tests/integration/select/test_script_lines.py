"""``--script`` and ``--script-lines``: the program's own functions, and
its top-level code as a table of its own (named <module>), for a
notebook-like script of module-level statements.

The seed's two examples, written without functions, must give the figures
their decorated versions (examples/) give for the same statements: the same
occurrences, and heap figures equal within a few KiB (the module's globals
dict is not a function's locals)."""

import json
import os
import textwrap

import pytest

from helpers import (REPO, assert_one_error, check_block, parse_report, run_memline, write)

SEED_BIG_FLAT = textwrap.dedent("""\
    # The seed's first example as a notebook would have it: no function.
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b
    """)

SEED_GEN_FLAT = textwrap.dedent("""\
    # The seed's experiment, at module level.
    THE_LIMIT = 100000
    PP = sum(x * x for x in range(THE_LIMIT))
    a = 1
    NN = sum([x * x for x in range(THE_LIMIT)])
    b = 1
    """)

B_MIB = 2 * 10 ** 7 * 8 / 2 ** 20  # [2] * (2 * 10 ** 7): 152.588 MiB of pointers
A_MIB = 10 ** 6 * 8 / 2 ** 20


def blocks_of(proc):
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return parse_report(proc.stdout)


def by_source(block):
    return {r.source.strip(): r for r in block.rows if r.seen}


def test_seed_big_without_functions(tmp_path):
    prog = write(tmp_path / "seed_big_flat.py", SEED_BIG_FLAT)
    proc = run_memline(["--script-lines", prog], cwd=tmp_path)
    blocks = blocks_of(proc)
    assert len(blocks) == 1
    block = blocks[0]
    assert block.filename == str(prog)
    check_block(block, 3, path=prog, first=1, last=4)
    assert not block.line(1).seen  # a comment never runs
    rows = by_source(block)
    assert [r.occurrences for r in rows.values()] == [1, 1, 1]
    assert rows["a = [1] * (10 ** 6)"].heap_incr == pytest.approx(A_MIB, abs=0.002)
    assert rows["b = [2] * (2 * 10 ** 7)"].heap_incr == pytest.approx(B_MIB, abs=0.002)
    assert rows["del b"].heap_incr == pytest.approx(-B_MIB, abs=0.002)
    # RSS: the pages of b are touched by its line and given back by del.
    assert rows["b = [2] * (2 * 10 ** 7)"].incr == pytest.approx(B_MIB, abs=1.0)
    assert rows["del b"].incr == pytest.approx(-B_MIB, abs=1.0)


def test_seed_big_flat_matches_the_decorated_example(tmp_path):
    flat = blocks_of(run_memline(["--script-lines", write(tmp_path / "f.py", SEED_BIG_FLAT)],
                                 cwd=tmp_path))[0]
    deco = blocks_of(run_memline([os.path.join(REPO, "examples", "seed_big.py")],
                                 cwd=tmp_path))[0]
    for stmt in ("a = [1] * (10 ** 6)", "b = [2] * (2 * 10 ** 7)", "del b"):
        f, d = by_source(flat)[stmt], by_source(deco)[stmt]
        assert f.occurrences == d.occurrences
        assert f.heap_incr == pytest.approx(d.heap_incr, abs=0.01)
        assert f.heap_peak == pytest.approx(d.heap_peak, abs=0.01)


def test_seed_gen_without_functions_matches_the_decorated_example(tmp_path):
    prog = write(tmp_path / "seed_gen_flat.py", SEED_GEN_FLAT)
    flat = blocks_of(run_memline(["--script-lines", prog], cwd=tmp_path))
    assert len(flat) == 1
    check_block(flat[0], 3, path=prog, first=1, last=6)
    deco = blocks_of(run_memline([os.path.join(REPO, "examples", "seed_gen.py")],
                                 cwd=tmp_path))[0]
    f, d = by_source(flat[0]), by_source(deco)
    for stmt in ("PP = sum(x * x for x in range(THE_LIMIT))", "a = 1",
                 "NN = sum([x * x for x in range(THE_LIMIT)])", "b = 1"):
        assert f[stmt].occurrences == d[stmt].occurrences, stmt
        assert f[stmt].heap_peak == pytest.approx(d[stmt].heap_peak, abs=0.01), stmt
    # The list comprehension's temporary list is its line's Heap peak; the
    # generator expression holds one item at a time; b = 1 is charged nothing.
    nn = f["NN = sum([x * x for x in range(THE_LIMIT)])"]
    # 100,000 ints and the list's array: 3.815 MiB under pymalloc (less under
    # PYTHONMALLOC=malloc, as the sanitizer run has it).
    assert nn.heap_peak > 2.9
    assert f["PP = sum(x * x for x in range(THE_LIMIT))"].heap_peak < 0.01
    assert f["b = 1"].heap_incr == 0.0 and f["b = 1"].heap_peak == 0.0
    assert f["THE_LIMIT = 100000"].occurrences == 1


SCRIPT = textwrap.dedent("""\
    import sys

    def grow(n):
        return [0] * n

    class Box:
        def fill(self):
            self.data = bytearray(4 << 20)
            return self

    keep = grow(1_000_000)
    box = Box().fill()
    print(len(keep), len(box.data))
    """)


def test_script_profiles_the_programs_functions(tmp_path):
    prog = write(tmp_path / "s.py", SCRIPT)
    out = tmp_path / "o.json"
    proc = run_memline(["--script", "--json", out, prog], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("1000000 4194304\n")
    funcs = json.loads(out.read_text())["functions"]
    assert [(f["name"], f["first_line"], len(f["lines"])) for f in funcs] == [
        ("grow", 3, 2), ("Box.fill", 7, 3)]


def test_script_lines_adds_the_top_level_code_first(tmp_path):
    prog = write(tmp_path / "s.py", SCRIPT)
    out = tmp_path / "o.json"
    proc = run_memline(["--script-lines", "--json", out, prog], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    funcs = json.loads(out.read_text())["functions"]
    assert [(f["name"], f["first_line"], len(f["lines"])) for f in funcs] == [
        ("<module>", 1, 13), ("grow", 3, 2), ("Box.fill", 7, 3)]
    module = {ln["line"]: ln for ln in funcs[0]["lines"]}
    # The functions' bodies are in their own tables, not in <module>'s.
    assert not module[4]["ran"] and not module[8]["ran"]
    assert module[3]["ran"] and module[3]["occurrences"] == 1  # the def statement
    assert module[11]["ran"] and module[11]["occurrences"] == 1
    # grow's list is allocated in grow's table; line 11 only keeps it.
    assert abs(funcs[1]["lines"][1]["heap_incr"] - 8_000_000) < 4096
    assert module[12]["heap_peak"] >= 4 << 20
    text = parse_report(proc.stdout)
    assert [len(b.rows) for b in text] == [13, 2, 3]


def test_script_lines_under_dash_m(tmp_path):
    write(tmp_path / "flatmod.py", SEED_BIG_FLAT)
    proc = run_memline(["--script-lines", "-m", "flatmod"], cwd=tmp_path)
    blocks = blocks_of(proc)
    assert [b.filename for b in blocks] == [str(tmp_path / "flatmod.py")]
    assert by_source(blocks[0])["del b"].heap_incr == pytest.approx(-B_MIB, abs=0.002)


def test_script_lines_with_a_program_that_raises(tmp_path):
    prog = write(tmp_path / "r.py", "x = [0] * 1000\nraise SystemExit(4)\n")
    proc = run_memline(["--script-lines", prog], cwd=tmp_path)
    assert proc.returncode == 4
    block = parse_report(proc.stdout)[0]
    assert block.line(1).occurrences == 1 and block.line(2).occurrences == 1


def test_script_lines_and_timestamp_do_not_mix(tmp_path):
    prog = write(tmp_path / "p.py", "print('ran')\n")
    proc = run_memline(["--timestamp", "--script-lines", prog], cwd=tmp_path)
    assert_one_error(proc)
    assert proc.stdout == ""


def test_the_module_table_name_is_escaped_in_html_and_json(tmp_path):
    prog = write(tmp_path / "s.py", SEED_BIG_FLAT)
    proc = run_memline(["--script-lines", "--html", tmp_path / "o.html", "--json",
                        tmp_path / "o.json", prog], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "o.html").read_text(encoding="utf-8")
    assert "&lt;module&gt;" in html and "<module>" not in html
    raw = (tmp_path / "o.json").read_text(encoding="utf-8")
    assert "\\u003cmodule\\u003e" in raw and "<module>" not in raw
    assert json.loads(raw)["functions"][0]["name"] == "<module>"
