"""/dev/full as standard output: every command that prints something must
notice that it could not, say so in one line and exit non-zero (it used to
exit 0 having written nothing)."""

import os
import shutil
import subprocess

import pytest

from _faults import INSTALLED, PY, SMALL_DAT, assert_one_error, child_env, env, memline_binary


def to_full(argv, cwd, environ=None):
    with open("/dev/full", "w") as full:
        return subprocess.run([str(a) for a in argv], cwd=str(cwd), stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120,
                              env=environ or env())


@pytest.fixture
def profiles(tmp_path):
    shutil.copy(SMALL_DAT, tmp_path / "mprofile_20260101000000.dat")
    return tmp_path


@pytest.mark.parametrize("args", [
    ["peak", SMALL_DAT],
    ["peak"],                      # "Using last profile data." too
    ["list"],
    ["--help"],
    ["peak", "--help"],
    ["run", "--help"],
    ["rm", "--dry-run", "0"],
    ["plot"],                      # prints the path it wrote
], ids=["peak", "peak-newest", "list", "help", "peak-help", "run-help", "rm-dry", "plot"])
@pytest.mark.parametrize("command", ["binary", "installed"])
def test_timeline_verbs_fail_on_a_full_stdout(profiles, args, command):
    memline = memline_binary() if command == "binary" else INSTALLED
    if command == "installed" and args == ["--help"]:
        # the installed command's --help is python -m memline's
        r = to_full([memline, "--help"], profiles)
        line = assert_one_error(r, status=1)
    else:
        r = to_full([memline] + args, profiles)
        line = assert_one_error(r, status=5)
    assert "cannot write to standard output: No space left on device" in line


def test_report_to_a_full_stdout(tmp_path):
    script = tmp_path / "p.py"
    script.write_text("@profile\ndef f():\n    return [0] * 1000\n\nf()\n")
    r = to_full([PY, "-m", "memline", script], tmp_path, child_env())
    line = assert_one_error(r, status=1)
    assert "cannot write the report" in line
    r = to_full([PY, "-m", "memline", "--version"], tmp_path, child_env())
    assert "cannot write to standard output" in assert_one_error(r, status=1)


def test_run_prints_to_a_full_stdout_and_still_records(tmp_path):
    """run's own lines cannot be printed: that is its error, the timeline
    is still complete."""
    dat = tmp_path / "r.dat"
    r = to_full([memline_binary(), "run", "-T", "0.01", "-o", dat, "sleep", "0.2"], tmp_path)
    assert "cannot write to standard output" in assert_one_error(r, status=5)
    assert os.path.getsize(dat) > 0 and dat.read_text().count("MEM ") >= 5
