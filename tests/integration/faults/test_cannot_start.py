"""A program that cannot start.  memline says why in one line and exits
non-zero; the output named with -o is left exactly as it was, and a file
memline would have made is not left behind."""

import os

import pytest

from _faults import (INSTALLED, PY, assert_kept, assert_one_error, child_env, env,
                     memline_binary, memline_lines, run, snapshot)

OLD = "CMDLINE an earlier run\nMEM 1.000000 100.0000\n"


@pytest.fixture
def work(tmp_path):
    (tmp_path / "keep.dat").write_text(OLD)
    (tmp_path / "notes.txt").write_text("notes\n")
    (tmp_path / "noexec").write_text("echo hi\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "badshebang").write_text("#!/no/such/interpreter\n")
    (tmp_path / "badshebang").chmod(0o755)
    (tmp_path / "ok.py").write_text("@profile\ndef f():\n    pass\n\nf()\n")
    nomemline = tmp_path / "python-without-memline"
    nomemline.write_text('#!/bin/sh\nexec "%s" -S "$@"\n' % PY)  # -S: no site-packages
    nomemline.chmod(0o755)
    return tmp_path


CASES = [
    (["no-such-program-xyz"], 4, "cannot run 'no-such-program-xyz': no such program"),
    (["./noexec"], 4, "cannot run './noexec': Permission denied"),
    (["./adir"], 4, "cannot run './adir'"),
    (["./badshebang"], 4, "cannot run './badshebang': the interpreter on its #! line was not "
                          "found"),
    (["missing.py"], 4, "cannot run 'missing.py': No such file or directory"),
    (["--python=./python-without-memline", "ok.py"], 4,
     "run: './python-without-memline' exited with status 1 before memline started in it"),
    (["--python=/no/such/python", "ok.py"], 4, "cannot run '/no/such/python'"),
]


@pytest.mark.parametrize("args, status, message", CASES, ids=[c[0][-1] for c in CASES])
@pytest.mark.parametrize("output", ["-o keep.dat", "-o notes.txt", "default name"])
def test_run_that_cannot_start_loses_nothing(work, args, status, message, output):
    before = snapshot(work)
    o = [] if output == "default name" else output.split()
    r = run([memline_binary(), "run"] + o + args, cwd=work, env=env())
    # an interpreter that starts but lacks memline says so itself first
    lines = memline_lines(r.stderr)
    assert r.returncode == status and len(lines) == 1, r.stderr
    assert lines[0].startswith("memline: error: ") and "Traceback" not in r.stderr
    assert message in lines[0], lines[0]
    assert_kept(before, work)


def test_installed_command_reports_a_bad_interpreter(work):
    """The same through the command pip installed: one line, nothing lost."""
    before = snapshot(work)
    r = run([INSTALLED, "run", "--python=./python-without-memline", "-o", "keep.dat", "ok.py"],
            cwd=work, env=child_env())
    lines = memline_lines(r.stderr)
    assert r.returncode == 4 and len(lines) == 1, r.stderr
    assert "before memline started in it" in lines[0]
    assert "Traceback" not in r.stderr
    assert_kept(before, work)


@pytest.mark.parametrize("prog", ["missing.py", "adir"])
def test_python_program_that_cannot_start_loses_nothing(work, prog):
    if prog == "adir":
        os.rename(work / "adir", work / "adir.py")
        prog = "adir.py"
    before = snapshot(work)
    r = run([PY, "-m", "memline", "-o", "notes.txt", prog], cwd=work)
    assert prog in assert_one_error(r, status=2)
    assert_kept(before, work)
