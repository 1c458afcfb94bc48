"""``python -m memline -p TARGET program``: code profiled without
decorators, as a user runs it (a child process in a temporary folder).

The targets: a stdlib module (json), a package imported after start
(mypkg, _pkg.py), one class method, a file path (and a function of it); a
selector that matches nothing warns once at exit, a malformed one is one
error line and exit status 2 before the program runs.  Figures are heap
bytes (exact) and occurrences; the layout is memory_profiler's
(check_block)."""

import json
import os

import pytest

from helpers import MIB, assert_one_error, check_block, parse_report, run_memline, write

import _pkg


def report_json(tmp_path, args, cwd=None):
    """Runs memline with --json; returns (process, {qualname: function})."""
    out = tmp_path / "out.json"
    proc = run_memline(["--json", out] + list(args), cwd=cwd or tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    return proc, {f["name"]: f for f in doc["functions"]}


def ran(func):
    """{line: (occurrences, heap_incr)} of the lines of func that ran."""
    return {ln["line"]: (ln["occurrences"], ln["heap_incr"]) for ln in func["lines"] if ln["ran"]}


PROG_OUT = "size 30\ngen 3000\ncoro 7\nhelper 100\n"


def test_a_package_imported_after_start_is_profiled_whole(tmp_path):
    prog = _pkg.make(tmp_path)
    proc, funcs = report_json(tmp_path, ["-p", "mypkg", prog])
    assert proc.stdout.startswith(PROG_OUT)
    assert proc.stderr == ""
    # Every function that ran, of both modules, in the order of their source;
    # untouched() did not run, so it has no table (as with @profile).
    assert list(funcs) == ["build", "Store.__init__", "Store.add", "Store.plain",
                           "Store.make", "Store.size", "gen", "coro", "helper"]
    work = str(tmp_path / "mypkg" / "work.py")
    assert {f["filename"] for n, f in funcs.items() if n != "helper"} == {work}
    build = funcs["build"]
    assert build["first_line"] == 4
    lines = ran(build)
    # The nested function is charged to build, as under @profile.
    assert lines[6] == (1, 8000)
    assert lines[7][0] == 1 and abs(lines[7][1] - 8_000_000) < 4096
    assert ran(funcs["Store.add"])[16] == (2, 0)  # two calls
    assert funcs["Store.plain"]["first_line"] == 21  # its decorator line
    assert ran(funcs["gen"])[36][0] == 3  # resumed three times
    assert ran(funcs["coro"])[41] == (1, ran(funcs["coro"])[41][1])
    assert ran(funcs["Store.size"])[31][0] == 4  # the genexpr's lines are the property's


def test_the_text_report_has_memory_profilers_layout(tmp_path):
    prog = _pkg.make(tmp_path)
    proc = run_memline(["-p", "mypkg.work:build", prog], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    blocks = parse_report(proc.stdout)
    assert len(blocks) == 1
    work = tmp_path / "mypkg" / "work.py"
    assert blocks[0].filename == str(work)
    check_block(blocks[0], 3, path=work, first=4, last=9)
    assert blocks[0].row("keep = [0] * n").heap_incr == pytest.approx(7.629, abs=0.002)


def test_one_class_method(tmp_path):
    prog = _pkg.make(tmp_path)
    proc, funcs = report_json(tmp_path, ["-p", "mypkg.work:Store.add", prog])
    assert list(funcs) == ["Store.add"]
    assert proc.stderr == ""


def test_a_class_selects_its_methods(tmp_path):
    prog = _pkg.make(tmp_path)
    _, funcs = report_json(tmp_path, ["-p", "mypkg.work:Store", prog])
    assert list(funcs) == ["Store.__init__", "Store.add", "Store.plain", "Store.make",
                           "Store.size"]


def test_a_file_path_and_a_function_of_a_file(tmp_path):
    prog = _pkg.make(tmp_path)
    _, funcs = report_json(tmp_path, ["-p", "mypkg/util.py", prog])
    assert list(funcs) == ["helper"]
    _, funcs = report_json(tmp_path, ["-p", os.path.join("mypkg", "work.py") + ":gen",
                                      "-p", "mypkg/util.py:helper", prog])
    assert list(funcs) == ["gen", "helper"]


def test_a_stdlib_module(tmp_path):
    prog = write(tmp_path / "js.py",
                 "import json\n"
                 "data = [{'k': i, 'v': [i] * 10} for i in range(3000)]\n"
                 "text = json.dumps(data)\n"
                 "print(len(json.loads(text)))\n")
    proc, funcs = report_json(tmp_path, ["-p", "json", prog])
    assert proc.stdout.startswith("3000\nFilename: ") and proc.stderr == ""
    for name in ("dumps", "loads", "JSONEncoder.encode", "JSONDecoder.decode"):
        assert name in funcs, sorted(funcs)
    import json as stdlib_json
    assert funcs["dumps"]["filename"] == stdlib_json.__file__
    # encode builds the text: its chunks' join is on one of its lines.
    assert max(ln["heap_peak"] or 0 for ln in funcs["JSONEncoder.encode"]["lines"]) > 100_000


def test_from_import_after_the_module_ran_gets_profiled_code(tmp_path):
    """No import-order trap: the module imported at the top (before the
    program's other code), a function taken from it afterwards, another
    module importing it first."""
    _pkg.make(tmp_path)
    prog = write(tmp_path / "order.py",
                 "import mypkg.util\n"
                 "import mypkg.work as w\n"
                 "from mypkg.work import build\n"
                 "f = w.build\n"
                 "build(10)\n"
                 "f(20)\n")
    _, funcs = report_json(tmp_path, ["-p", "mypkg.work:build", prog])
    assert list(funcs) == ["build"]
    assert ran(funcs["build"])[4] == (2, 0)


def test_calls_made_while_the_module_is_imported_are_profiled(tmp_path):
    mod = write(tmp_path / "early.py", "def grow():\n    return [0] * 1_000_000\n\n"
                "KEEP = grow()\n")
    prog = write(tmp_path / "main.py", "import early\nearly.grow()\n")
    _, funcs = report_json(tmp_path, ["-p", "early", prog])
    assert mod.exists()
    occurrences, heap = ran(funcs["grow"])[2]
    assert occurrences == 2 and abs(heap - 2 * 8_000_000) < 8192


def test_decorated_and_selected_functions_mix(tmp_path):
    _pkg.make(tmp_path)
    prog = write(tmp_path / "mixed.py",
                 "from mypkg.util import helper\n"
                 "@profile\n"
                 "def deco():\n"
                 "    return helper(1000)\n"
                 "deco()\n"
                 "helper(10)\n")
    _, funcs = report_json(tmp_path, ["-p", "mypkg.util", prog])
    assert list(funcs) == ["helper", "deco"]
    assert ran(funcs["helper"])[1][0] == 2  # inside and outside deco
    assert ran(funcs["deco"])[2][0] == 1


def test_a_selector_that_matches_nothing_warns_once_at_exit(tmp_path):
    prog = _pkg.make(tmp_path)
    proc = run_memline(["-p", "mypkg.nothere", "-p", "mypkg.work:nope", "-p", "mypkg.util",
                        prog], cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith(PROG_OUT)
    assert [b.filename for b in parse_report(proc.stdout)] == [str(tmp_path / "mypkg" / "util.py")]
    assert proc.stderr.splitlines() == ["memline: warning: -p mypkg.nothere matched nothing",
                                        "memline: warning: -p mypkg.work:nope matched nothing"]


def test_the_program_exit_status_is_kept_with_a_warning(tmp_path):
    prog = write(tmp_path / "fails.py", "import sys\nsys.exit(3)\n")
    proc = run_memline(["-p", "nosuchmodule", prog], cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert_one_error(proc, kind="warning", status=3)  # no report: nothing ran
    assert proc.stderr == "memline: warning: -p nosuchmodule matched nothing\n"


SYNTAX = ("expected pkg.module, pkg.module:func, pkg.module:Class.method, path/to/file.py "
          "or path/to/file.py:func")


@pytest.mark.parametrize("selector", ["a..b", "mod:", ":func", "mod:f:g", "1mod", "mod:1f",
                                      "data/file.txt", "a b", "", "mod:Class..m", "x.py:"])
def test_a_malformed_selector_is_an_error_before_the_program_runs(tmp_path, selector):
    marker = tmp_path / "ran"
    prog = write(tmp_path / "p.py", "open(%r, 'w').close()\n" % str(marker))
    proc = run_memline(["-p", selector, prog], cwd=tmp_path)
    line = assert_one_error(proc)
    assert line == "memline: error: cannot parse selector %r: %s" % (selector, SYNTAX)
    assert proc.stdout == "" and not marker.exists()


def test_a_file_selector_naming_no_file_is_an_error(tmp_path):
    prog = write(tmp_path / "p.py", "print('ran')\n")
    proc = run_memline(["-p", "lib/missing.py:f", prog], cwd=tmp_path)
    assert assert_one_error(proc) == ("memline: error: selector 'lib/missing.py:f': "
                                      "no such file: 'lib/missing.py'")
    assert proc.stdout == ""


def test_timestamp_does_not_take_selectors(tmp_path):
    prog = write(tmp_path / "p.py", "print('ran')\n")
    proc = run_memline(["--timestamp", "-p", "json", prog], cwd=tmp_path)
    assert "does not go with -p" in assert_one_error(proc)


def test_selectors_with_a_module_program(tmp_path):
    _pkg.make(tmp_path)
    write(tmp_path / "runme.py", "from mypkg.util import helper\nhelper(5)\n")
    _, funcs = report_json(tmp_path, ["-p", "mypkg.util:helper", "-m", "runme"])
    assert list(funcs) == ["helper"]


def test_a_module_imported_before_the_program_starts(tmp_path):
    """argparse is imported by memline itself: its functions are found
    through the module's namespace and classes."""
    prog = write(tmp_path / "ap.py",
                 "import argparse\n"
                 "p = argparse.ArgumentParser(prog='x')\n"
                 "p.add_argument('--n', type=int)\n"
                 "print(p.parse_args(['--n', '3']).n)\n")
    proc, funcs = report_json(tmp_path, ["-p", "argparse:ArgumentParser.parse_args",
                                         "-p", "argparse:_ActionsContainer", prog])
    assert proc.stdout.startswith("3\n") and proc.stderr == ""
    assert "ArgumentParser.parse_args" in funcs and "_ActionsContainer.add_argument" in funcs
    assert set(funcs) <= {"ArgumentParser.parse_args"} | {
        n for n in funcs if n.startswith("_ActionsContainer.")}


def test_selected_code_in_threads(tmp_path):
    _pkg.make(tmp_path)
    prog = write(tmp_path / "th.py",
                 "import threading\n"
                 "from mypkg.util import helper\n"
                 "ts = [threading.Thread(target=helper, args=(1 << 20,)) for _ in range(3)]\n"
                 "for t in ts: t.start()\n"
                 "for t in ts: t.join()\n")
    _, funcs = report_json(tmp_path, ["-p", "mypkg.util", prog])
    lines = ran(funcs["helper"])
    assert lines[2][0] == 3  # every thread's call


def test_the_module_that_dash_m_runs_is_selected_by_its_name(tmp_path):
    _pkg.make(tmp_path)
    (tmp_path / "mypkg" / "cli.py").write_text(
        "def go():\n    return [0] * 1000\n\nif __name__ == '__main__':\n    go()\n",
        encoding="utf-8")
    _, funcs = report_json(tmp_path, ["-p", "mypkg.cli", "-m", "mypkg.cli"])
    assert list(funcs) == ["go"]
    assert funcs["go"]["filename"] == str(tmp_path / "mypkg" / "cli.py")
