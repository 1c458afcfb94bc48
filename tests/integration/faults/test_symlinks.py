"""A symbolic link planted at every path memline writes to, pointing at a
file the user cares about.  The target is never written, truncated or
removed: a name memline picks is only created new; a file memline replaces
(plots) is replaced, link and all; a file it appends to must be named
itself."""

import datetime
import os
import textwrap

import pytest

from _faults import (PY, SMALL_DAT, assert_kept, assert_one_error, memline, read_dat, run,
                     snapshot)

PRECIOUS = "the user's notes: never to be lost\n"
SCRIPT = textwrap.dedent("""\
    @profile
    def f():
        return [0] * 1000

    f()
""")


@pytest.fixture
def victim(tmp_path):
    """A directory with the user's file, and a place to work beside it."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text(PRECIOUS)
    work = tmp_path / "work"
    work.mkdir()
    (work / "prog.py").write_text(SCRIPT)
    return home / "notes.txt", work


def plant(link, target):
    os.symlink(str(target), str(link))
    return link


def test_run_default_name_is_never_opened_through_a_link(victim):
    """mprofile_<time>.dat is predictable: links planted for the coming
    seconds' names are left alone, and the run takes a name of its own."""
    notes, work = victim
    now = datetime.datetime.now()
    planted = set()
    for k in range(-1, 6):
        name = (now + datetime.timedelta(seconds=k)).strftime("mprofile_%Y%m%d%H%M%S.dat")
        planted.add(plant(work / name, notes).name)
    before = snapshot(work.parent)
    r = memline("run", "-T", "0.01", "sleep", "0.1", cwd=work)
    assert r.returncode == 0, r.stderr
    after = assert_kept(before, work.parent, may_add=set(
        "work/" + n for n in os.listdir(work) if n.startswith("mprofile_")))
    made = [p for p in after if p.startswith("work/mprofile_") and after[p][0] == "file"]
    assert len(made) == 1
    assert read_dat(work.parent / made[0])[0] == "sleep 0.1"


def test_run_output_through_a_link_is_refused(victim):
    notes, work = victim
    plant(work / "t.dat", notes)
    before = snapshot(work.parent)
    r = memline("run", "-o", "t.dat", "sleep", "0.1", cwd=work)
    line = assert_one_error(r, status=5)
    assert "cannot write 't.dat': it is a symbolic link" in line
    assert_kept(before, work.parent)


@pytest.mark.parametrize("out", [None, "p.svg", "p.html"])
def test_plot_replaces_a_planted_link(victim, out):
    notes, work = victim
    dat = work / "run.dat"
    dat.write_bytes(open(SMALL_DAT, "rb").read())
    target = work / (out or "run.html")
    plant(target, notes)
    before = snapshot(work.parent)
    r = memline("plot", *(["-o", target] if out else []), dat, cwd=work)
    assert r.returncode == 0, r.stderr
    assert not os.path.islink(target) and "<svg" in target.read_text()
    assert_kept(before, work.parent, may_change={"work/" + target.name})


def test_report_output_through_a_link_is_refused(victim):
    notes, work = victim
    plant(work / "report.txt", notes)
    before = snapshot(work.parent)
    for extra in ([], ["--timestamp"]):
        r = run([PY, "-m", "memline", "-o", "report.txt"] + extra + ["prog.py"], cwd=work)
        line = assert_one_error(r, status=2)
        assert "cannot write the report to 'report.txt': it is a symbolic link" in line
        assert r.stdout == ""  # refused before the program ran
    assert_kept(before, work.parent)


def test_report_to_a_link_to_a_stream_is_written(victim):
    """-o /dev/stdout, a link to the terminal or pipe, is not a file to
    lose: the report goes there."""
    notes, work = victim
    r = run([PY, "-m", "memline", "-o", "/dev/stdout", "prog.py"], cwd=work)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Filename: ")
