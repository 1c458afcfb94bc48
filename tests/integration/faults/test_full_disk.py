"""A disk that fills up: a tmpfs too small for the output, mounted by the
test (as root; skipped with the reason otherwise).  Whatever is written
when it fills, the user's existing content stays, no record is left torn,
no half-written file replaces a complete one, the program is neither
killed nor orphaned, and memline says so in one line."""

import subprocess

import pytest

from _faults import (PY, SMALL_DAT, alive, assert_kept, assert_one_error, children, fill, memline,
                     memline_binary, memline_lines, popen, read_dat, reap, run, small_tmpfs,
                     snapshot)

ORIGINAL = b"CMDLINE an earlier run\nMEM 1.000000 100.0000\nMEM 2.000000 100.1000\n"


@pytest.fixture
def full(tmp_path):
    d, unmount = small_tmpfs(tmp_path)
    yield d
    unmount()


def test_run_on_a_full_disk_keeps_the_file_and_waits_for_the_program(full):
    """The sampler's appends fail: the file keeps what it had plus whole
    records only, memline says so at once, waits for the program (which it
    neither kills nor leaves orphaned) and exits 5."""
    dat = full / "keep.dat"
    dat.write_bytes(ORIGINAL)
    fill(full)
    prog = "import sys; sys.stdin.read(); print('program ended normally')"
    p = popen([memline_binary(), "run", "-T", "0.001", "-o", dat, PY, "-c", prog], full,
              stdin=subprocess.PIPE)
    try:
        line = p.stderr.readline()  # blocks until memline reports the failure
        assert line.startswith("memline: error: cannot write '%s': No space left on device; "
                               "sampling stopped" % dat), line
        (target,) = children(p.pid)
        assert alive(target) and p.poll() is None  # the program runs on, memline waits
        p.stdin.write("go\n")
        p.stdin.close()
        out, err = p.stdout.read(), p.stderr.read()
        p.wait(timeout=60)
    finally:
        reap(p)
    assert p.returncode == 5
    assert memline_lines(err) == []  # the one line was the first
    assert "program ended normally" in out
    assert not alive(target)
    data = dat.read_bytes()
    assert data.startswith(ORIGINAL) and data.endswith(b"\n")
    r = memline("peak", dat)
    assert r.returncode == 0 and r.stderr == "", r.stderr  # nothing torn, nothing malformed


def test_plot_on_a_full_disk_keeps_the_old_plot(full):
    old = b"<svg>the plot of last week</svg>\n"
    (full / "p.svg").write_bytes(old)
    (full / "run.dat").write_bytes(open(SMALL_DAT, "rb").read())
    fill(full)
    before = snapshot(full)
    r = memline("plot", "-o", full / "p.svg", full / "run.dat")
    line = assert_one_error(r, status=5)
    assert "cannot write '%s': No space left on device" % (full / "p.svg") in line
    # and the default name: no empty run.html is left behind
    r = memline("plot", full / "run.dat")
    assert "No space left on device" in assert_one_error(r, status=5)
    assert_kept(before, full)


def test_report_on_a_full_disk_keeps_what_the_file_had(full, tmp_path):
    script = tmp_path / "p.py"
    script.write_text("@profile\ndef f():\n    return [0] * 1000\n\nf()\n")
    report = full / "report.txt"
    report.write_bytes(b"an earlier report\n" * 200)
    original = report.read_bytes()
    fill(full)
    r = run([PY, "-m", "memline", "-o", report, script], cwd=tmp_path)
    line = assert_one_error(r, status=1)
    assert "cannot write the report" in line and "No space left" in line
    assert report.read_bytes().startswith(original)


def test_func_lines_on_a_full_disk_stay_whole(full, tmp_path):
    """The Python side appends its FUNC lines whole too: a write cut by
    the full disk takes back the line it tore."""
    script = tmp_path / "many.py"
    script.write_text("@profile\ndef f():\n    pass\n\nfor _ in range(20000):\n    f()\n")
    dat = full / "t.dat"
    dat.write_bytes(ORIGINAL)
    fill(full)
    r = run([PY, "-m", "memline", "--timestamp", "-o", dat, script], cwd=tmp_path)
    assert "cannot write the report" in assert_one_error(r, status=1)
    data = dat.read_bytes()
    assert data.startswith(ORIGINAL) and data.endswith(b"\n")
    cmd, mem, _, funcs = read_dat(dat)
    assert len(mem) == 2 and all(f[0] == "__main__.f" for f in funcs)
