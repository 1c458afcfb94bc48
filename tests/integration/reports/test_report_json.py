"""The JSON report: `python -m memline --json FILE`, `-o FILE.json`,
`LineProfiler.to_dict()` and `show_results(format="json")`.  Real output is
validated against the schema documented in docs/json.md, and its figures
are the text report's, exactly, in bytes."""

import io
import json
import os
import sys
import textwrap

import pytest

import memline

from _browser import chromium  # noqa: F401
from _reports import (LISTCOMP, LISTCOMP_PEAK_MIB, SEED_GEN, documented_fields,
                      documented_schema, profile_to, validate)
from helpers import MIB, assert_one_error, only_block, parse_report, run_memline, write


def test_documented_schema_is_a_valid_schema_and_every_field_is_described():
    import jsonschema
    schema = documented_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    fields = set(schema["properties"]) | set(schema["$defs"]["function"]["properties"]) \
        | set(schema["$defs"]["line"]["properties"])
    assert fields == documented_fields()


def test_cli_json_validates_and_equals_the_text_report(tmp_path):
    out = tmp_path / "seed.json"
    r, doc = profile_to(out, SEED_GEN, "--precision", "12")
    validate(doc)
    assert doc["schema_version"] == 1 and doc["tool"] == "memline"
    assert doc["memline_version"] == memline.__version__
    assert doc["python_version"] == "%d.%d.%d" % sys.version_info[:3]
    assert doc["backend"] == "rss" and doc["heap_columns"] is True
    assert doc["process_count"] == 1 and doc["include_children"] is False
    cmd = doc["command_line"]
    assert cmd[-5:] == ["--precision", "12", "--json", str(out), SEED_GEN]
    assert cmd[-7:-5] == ["-m", "memline"]
    # The text report is still printed, and says the same numbers.
    block = only_block(r.stdout)
    [fn] = doc["functions"]
    assert fn["filename"] == block.filename
    assert fn["name"] == "my_test_function" and fn["first_line"] == 9
    assert [l["line"] for l in fn["lines"]] == [row.lineno for row in block.rows]
    for line, row in zip(fn["lines"], block.rows):
        assert line["source"] == row.source
        assert line["ran"] == row.seen
        if not row.seen:
            assert all(line[k] is None for k in ("mem_usage", "increment", "heap_incr",
                                                 "heap_peak", "native_incr", "native_peak"))
            continue
        assert line["occurrences"] == row.occurrences
        assert line["mem_usage"] == row.bytes("mem")
        assert line["increment"] == row.bytes("incr")
        assert line["heap_incr"] == row.bytes("heap_incr")
        assert line["heap_peak"] == row.bytes("heap_peak")
        assert line["native_incr"] == 0 and line["native_peak"] == 0
    comp = [l for l in fn["lines"] if l["source"] == LISTCOMP][0]
    assert abs(comp["heap_peak"] / MIB - LISTCOMP_PEAK_MIB) < 0.05


def test_o_file_json_replaces_the_text_report(tmp_path):
    out = tmp_path / "r.JSON"
    out.write_text("old contents that must go\n")
    r = run_memline(["-o", str(out), SEED_GEN])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    doc = json.loads(out.read_text())
    validate(doc)
    assert [f["name"] for f in doc["functions"]] == ["my_test_function"]
    assert [p for p in os.listdir(tmp_path)] == ["r.JSON"]  # no temporary file left


def test_json_and_html_together_with_o_text(tmp_path):
    text = tmp_path / "report.txt"
    r = run_memline(["--json", str(tmp_path / "a.json"), "--html", str(tmp_path / "a.html"),
                     "-o", str(text), SEED_GEN])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    only_block(text.read_text())
    validate(json.loads((tmp_path / "a.json").read_text()))
    assert (tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")


def test_output_folder_must_exist_before_the_program_runs(tmp_path):
    marker = tmp_path / "ran"
    prog = write(tmp_path / "p.py", "open(%r, 'w').close()\n" % str(marker))
    r = run_memline(["--json", str(tmp_path / "no" / "such" / "r.json"), str(prog)])
    line = assert_one_error(r)
    assert "no such directory" in line
    assert not marker.exists()
    r = run_memline(["--html", str(tmp_path), str(prog)])
    assert "it is a directory" in assert_one_error(r)


def test_timestamp_does_not_go_with_json(tmp_path):
    r = run_memline(["--timestamp", "--json", str(tmp_path / "x.json"), SEED_GEN])
    assert "--timestamp" in assert_one_error(r)


PROGRAM = textwrap.dedent('''\
    import threading

    class Parser:
        @profile
        def feed(self, n):
            data = [b"<script>x</script>" * 10 for _ in range(n)]
            return len(data)

    def outer():
        @profile
        def inner():
            s = "\\u00e9\\t\\x01"
            return s
        return inner()

    @profile
    def never():
        return 1

    Parser().feed(1000)
    outer()
''')


def test_qualified_names_escapes_and_functions_that_ran(tmp_path):
    prog = write(tmp_path / "prog.py", PROGRAM)
    out = tmp_path / "prog.json"
    r, doc = profile_to(out, prog)
    validate(doc)
    names = [f["name"] for f in doc["functions"]]
    assert names == ["Parser.feed", "outer.<locals>.inner"]  # never() did not run
    raw = out.read_text()
    assert "<" not in raw and ">" not in raw and "&" not in raw  # \u003c, \u003e, \u0026
    [src] = [l["source"] for l in doc["functions"][1]["lines"] if "s = " in l["source"]]
    assert src == '        s = "\\u00e9\\t\\x01"'


def fresh_profiler():
    def work(n):
        a = [0] * n
        b = bytearray(n)
        del a
        return len(b)

    prof = memline.LineProfiler()
    wrapped = prof(work)
    wrapped(200000)
    return prof


def test_api_to_dict_and_show_results_json_agree():
    prof = fresh_profiler()
    d = prof.to_dict(command_line=["my", "tool"])
    validate(d)
    assert d["command_line"] == ["my", "tool"]
    [fn] = d["functions"]
    assert fn["name"].endswith("fresh_profiler.<locals>.work")
    out = io.StringIO()
    memline.show_results(prof, out, format="json")
    shown = json.loads(out.getvalue())
    validate(shown)
    shown.pop("timestamp"), d.pop("timestamp")
    shown.pop("command_line"), d.pop("command_line")
    assert shown == d
    a = [l for l in fn["lines"] if l["source"].strip() == "a = [0] * n"][0]
    # the list's array of 200,000 pointers, and its object unless a free list had one
    assert 200000 * 8 <= a["heap_incr"] <= 200000 * 8 + 64
    assert a["heap_incr"] <= a["heap_peak"] <= a["heap_incr"] + 64
    # text stays the default and memory_profiler's
    text = io.StringIO()
    memline.show_results(prof, text)
    assert parse_report(text.getvalue())
    with pytest.raises(ValueError, match="format must be"):
        memline.show_results(prof, text, format="xml")


def test_to_dict_of_a_profiler_that_saw_nothing():
    d = memline.LineProfiler().to_dict()
    validate(d)
    assert d["functions"] == []


def test_heap_backend_is_recorded(tmp_path):
    _, doc = profile_to(tmp_path / "h.json", SEED_GEN, "--backend", "tracemalloc")
    validate(doc)
    assert doc["backend"] == "heap" and doc["include_children"] is False
    assert doc["process_count"] == 1


CHILDREN = textwrap.dedent("""\
    import subprocess, sys

    # Two children that live until this process's end closes their stdin:
    # alive while the report is written.
    kids = [subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE) for _ in range(2)]

    @profile
    def f():
        return [0] * 1000

    f()
""")


def test_process_count_with_children(tmp_path):
    prog = write(tmp_path / "kids.py", CHILDREN)
    _, doc = profile_to(tmp_path / "k.json", prog, "--include-children")
    validate(doc)
    assert doc["include_children"] is True and doc["process_count"] == 3
    _, doc = profile_to(tmp_path / "k1.json", prog)
    assert doc["include_children"] is False and doc["process_count"] == 1


def test_closed_stdout_does_not_cost_the_json(tmp_path):
    """The files are written before the text report, so a program that
    closed stdout still gets them; the lost text is one error line."""
    script = write(tmp_path / "close.py", textwrap.dedent("""\
        import sys


        @profile
        def f():
            return 1


        f()
        sys.stdout.close()
        """))
    out = tmp_path / "r.json"
    r = run_memline(["--json", str(out), str(script)])
    assert "cannot write the report" in assert_one_error(r, status=1)
    doc = json.loads(out.read_text())
    validate(doc)
    assert [f["name"] for f in doc["functions"]] == ["f"]


def test_without_heap_columns_heap_figures_are_null(tmp_path, chromium):
    """PYTHONMALLOC=debug: no heap accounting.  The JSON says so and has
    null heap figures (valid against the schema); the HTML has no heap
    columns and its bars are Increment's."""
    from _browser import dump_dom
    from helpers import child_env
    env = child_env({"PYTHONMALLOC": "debug"})
    out, page = tmp_path / "h.json", tmp_path / "h.html"
    r = run_memline(["--json", str(out), "--html", str(page), SEED_GEN], env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["heap_columns"] is False
    ran = [l for l in doc["functions"][0]["lines"] if l["ran"]]
    assert ran and all(l["heap_peak"] is None and l["heap_incr"] is None and
                       isinstance(l["mem_usage"], int) for l in ran)
    dom = dump_dom(chromium, page)
    assert "Heap peak (MiB)" not in dom and "Increment (MiB)" in dom
    assert "no heap columns" in dom and 'data-ready="1"' in dom
