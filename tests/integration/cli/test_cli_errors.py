"""Bad input to ``python -m memline``: each gets exactly one line on
stderr, ``memline: error: ...``, and exit status 2, before the program runs
when it is about the command line; never a traceback from memline's own
code.  Source that cannot be found is a warning: one line, and the
program runs on to its own exit status."""

import textwrap

import pytest

from helpers import assert_one_error, only_block, parse_report, run_memline, write

RAN = 'print("the program ran")\n'


def test_missing_script(tmp_path):
    proc = run_memline(["nosuch.py", "arg"], cwd=tmp_path)
    line = assert_one_error(proc)
    assert "nosuch.py" in line
    assert proc.stdout == ""


def test_script_is_a_directory(tmp_path):
    (tmp_path / "dir.py").mkdir()
    line = assert_one_error(run_memline(["dir.py"], cwd=tmp_path))
    assert "dir.py" in line


@pytest.mark.parametrize("form", [["-m", "nosuchmod"], ["nosuchmod"], ["-m", "os.nosuchmod"]])
def test_missing_module(tmp_path, form):
    proc = run_memline(form + ["x"], cwd=tmp_path)
    line = assert_one_error(proc)
    assert form[-1] in line
    assert proc.stdout == ""


def test_package_without_main(tmp_path):
    (tmp_path / "pkg").mkdir()
    write(tmp_path / "pkg" / "__init__.py", RAN)
    line = assert_one_error(run_memline(["-m", "pkg"], cwd=tmp_path))
    assert "pkg" in line


@pytest.mark.parametrize("where", ["missing_dir", "a_directory"])
def test_unwritable_outfile(tmp_path, where):
    """-o is opened before the program starts: nothing runs."""
    script = write(tmp_path / "p.py", RAN)
    target = tmp_path / "no" / "such" / "dir" / "r.txt" if where == "missing_dir" else tmp_path
    proc = run_memline(["-o", target, script], cwd=tmp_path)
    line = assert_one_error(proc)
    assert str(target) in line
    assert proc.stdout == ""


@pytest.mark.parametrize("backend", ["nope", "", "psutil-uss"])
def test_unknown_backend(tmp_path, backend):
    script = write(tmp_path / "p.py", RAN)
    proc = run_memline(["--backend", backend, script], cwd=tmp_path)
    line = assert_one_error(proc)
    assert "backend" in line
    assert proc.stdout == ""


BACKENDS = ["rss", "pss", "uss", "heap", "rss-exact", "psutil", "posix", "psutil_pss",
            "psutil_uss", "tracemalloc"]


def test_help_names_every_backend_that_works(tmp_path):
    """--help lists exactly the backends --backend accepts."""
    proc = run_memline(["--help"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = "".join(proc.stdout.split())  # argparse may wrap a name at its hyphen
    for name in BACKENDS:
        assert name in text, name
        script = write(tmp_path / "p.py", RAN)
        ran = run_memline(["--backend", name, script], cwd=tmp_path)
        assert ran.returncode == 0, (name, ran.stderr)


@pytest.mark.parametrize("args", [[], ["--precision", "2"], ["-o", "r.txt"],
                                  ["--include-children"]])
def test_no_program(tmp_path, args):
    proc = run_memline(args, cwd=tmp_path)
    assert_one_error(proc)
    assert proc.stdout == ""
    assert not (tmp_path / "r.txt").exists() or (tmp_path / "r.txt").read_text() == ""


@pytest.mark.parametrize("value", ["x", "1.5", "-1", ""])
def test_bad_precision(tmp_path, value):
    script = write(tmp_path / "p.py", RAN)
    proc = run_memline(["--precision", value, script], cwd=tmp_path)
    line = assert_one_error(proc)
    assert "precision" in line
    assert proc.stdout == ""


def test_option_without_value(tmp_path):
    assert_one_error(run_memline(["--precision"], cwd=tmp_path))
    assert_one_error(run_memline(["-m"], cwd=tmp_path))


@pytest.mark.parametrize("target", ["42", "len", "int", "Klass", "Klass()", "'text'"])
def test_profile_of_a_non_function(tmp_path, target):
    """profile(x) of something without Python code, in a script run under
    the CLI: the program's output so far is kept, then one error line that
    says where, exit 2.  Functions profiled before still report."""
    script = write(tmp_path / "bad.py", textwrap.dedent("""\
        class Klass:
            pass


        @profile
        def ok():
            return 1


        ok()
        print("before")
        profile(%s)
        print("after")
        """ % target))
    proc = run_memline([script], cwd=tmp_path)
    line = assert_one_error(proc)
    assert "bad.py" in line and "line 12" in line, line
    assert proc.stdout.startswith("before\n")
    assert "after" not in proc.stdout
    # What was measured before the error is not lost.
    assert only_block(proc.stdout).row("return 1").occurrences == 1


def test_profile_as_decorator_of_a_class(tmp_path):
    script = write(tmp_path / "cls.py", "@profile\nclass A:\n    pass\n")
    line = assert_one_error(run_memline([script], cwd=tmp_path))
    assert "cls.py" in line


def test_source_not_found_is_a_warning(tmp_path):
    """A function made by exec() of a string has no source file: one warning
    line, the function still runs (unprofiled), exit status is the
    program's own."""
    script = write(tmp_path / "ex.py", textwrap.dedent("""\
        ns = {}
        exec("def g(n):\\n    x = [1] * n\\n    return len(x)\\n", ns)
        g = profile(ns["g"])
        print("result", g(1000))
        raise SystemExit(0)
        """))
    proc = run_memline([script], cwd=tmp_path)
    line = assert_one_error(proc, kind="warning", status=0)
    assert "g" in line
    assert proc.stdout == "result 1000\n"


def test_source_not_found_keeps_other_reports(tmp_path):
    script = write(tmp_path / "ex2.py", textwrap.dedent("""\
        ns = {}
        exec("def g():\\n    return 5\\n", ns)


        @profile
        def real():
            return profile(ns["g"])()


        print("result", real())
        """))
    proc = run_memline([script], cwd=tmp_path)
    assert_one_error(proc, kind="warning", status=0)
    assert proc.stdout.startswith("result 5\n")
    blocks = parse_report(proc.stdout)
    assert len(blocks) == 1 and blocks[0].filename == str(script)
