"""Signals at fixed points of a run, each point and signal its own case.
"Random" points are chosen once, with a fixed seed, so CI runs the same
cases every time; each point is reached by waiting for a condition (a
file, a line of output, N records), never by sleeping.

Points:
- memline run, before start: the interpreter has started but memline in it
  has not (the interpreter is a wrapper that waits on a FIFO);
- memline run, while sampling, after N records;
- python -m memline, before start: memline is reading the script (a FIFO);
- python -m memline, while the program runs, after N lines of its output;
- python -m memline, during the report (written to a FIFO the test reads).

TERM, INT and HUP end the run with its result complete: under memline run
the program gets the signal and its FUNC lines survive, memline exits
128 + N; python -m memline prints the report and dies of the signal
(Ctrl-C: exit 130).  KILL loses only what was not written yet: the program
dies with memline, whole records stay readable, nothing the user had is
changed."""

import os
import random
import signal
import textwrap

import pytest

from _faults import (PY, alive, assert_kept, children, mem_lines, memline, memline_binary,
                     memline_lines, popen, read_dat, reap, snapshot, wait_for)
from helpers import parse_report

SIGNALS = ["TERM", "INT", "HUP", "KILL"]
# The N of each "after N records" case, drawn once from a fixed seed.
_rng = random.Random(13)
AFTER = {name: _rng.randint(5, 40) for name in SIGNALS}
EARLIER = "an earlier report\n"

LOOP = textwrap.dedent("""\
    import sys, time

    @profile
    def step(i):
        time.sleep(0.005)
        return i

    i = 0
    while True:
        step(i)
        print("tick", i, flush=True)
        i += 1
""")


def signum(name):
    return getattr(signal, "SIG" + name)


def expect_death(p, name):
    """memline's exit status for signal name under python -m memline."""
    return 130 if name == "INT" else -signum(name)


# ---------------------------------------------------------------- memline run

@pytest.mark.parametrize("name", SIGNALS)
def test_run_signal_before_start(tmp_path, name):
    """The interpreter runs, memline in it has not started: the signal
    ends the start; nothing is recorded and the existing file is kept."""
    (tmp_path / "prog.py").write_text(LOOP)
    (tmp_path / "keep.dat").write_text("CMDLINE earlier\nMEM 1.000000 1.0000\n")
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text('#!/bin/sh\n: > "%s/started"\nread go < "%s"\nexec "%s" "$@"\n'
                       % (tmp_path, gate, PY))
    wrapper.chmod(0o755)
    before = snapshot(tmp_path)
    p = popen([memline_binary(), "run", "--python=%s" % wrapper, "-T", "0.01", "-o",
               "keep.dat", "prog.py"], tmp_path)
    try:
        wait_for(lambda: (tmp_path / "started").exists(), "the interpreter to start")
        (wrapper_pid,) = children(p.pid)
        p.send_signal(signum(name))
        out, err = p.communicate(timeout=60)
    finally:
        reap(p)
    wait_for(lambda: not alive(wrapper_pid), "the interpreter to end")
    if name == "KILL":
        assert p.returncode == -9
    else:
        assert p.returncode == 128 + signum(name), err
        assert memline_lines(err) == ["memline: warning: interrupted before the program "
                                      "started; nothing was recorded in 'keep.dat'"]
    assert_kept(before, tmp_path, may_add={"started"})


@pytest.mark.parametrize("name", SIGNALS)
def test_run_signal_while_sampling(tmp_path, name):
    (tmp_path / "prog.py").write_text(LOOP)
    dat = tmp_path / "t.dat"
    p = popen([memline_binary(), "run", "-T", "0.005", "-o", dat, "prog.py"], tmp_path)
    try:
        for line in p.stdout:  # the program runs: its calls have FUNC records to give
            if line == "tick 2\n":
                break
        wait_for(lambda: mem_lines(dat) >= AFTER[name], "%d records" % AFTER[name])
        (target,) = children(p.pid)
        p.send_signal(signum(name))
        out, err = p.communicate(timeout=60)
    finally:
        reap(p)
    wait_for(lambda: not alive(target), "the program to end with memline")
    cmd, mem, _, funcs = read_dat(dat) if name != "KILL" else (None, [], {}, [])
    if name == "KILL":
        assert p.returncode == -9
        # whole records, or a torn last one that the reader drops and says so
        r = memline("peak", dat)
        assert r.returncode == 0, r.stderr
        assert r.stderr in ("", "memline: warning: '%s': skipped the last line, %d, cut off "
                                "before its end (the writer was stopped mid-line)\n"
                            % (dat, dat.read_bytes().count(b"\n") + 1)), r.stderr
        return
    assert p.returncode == 128 + signum(name), err
    assert memline_lines(err) == ["memline: warning: interrupted; the timeline in '%s' is "
                                  "complete up to now" % dat]
    assert len(mem) >= AFTER[name]
    # the program got the signal, unwound, and its FUNC lines survive
    assert funcs and all(f[0] == "__main__.step" for f in funcs)
    assert memline("peak", dat).stderr == ""


# ---------------------------------------------------------------- python -m memline

def start_report(tmp_path, script_text, extra=()):
    """python -m memline -o report.txt on a script; returns the process."""
    (tmp_path / "prog.py").write_text(script_text)
    (tmp_path / "report.txt").write_text(EARLIER)
    return popen([PY, "-m", "memline", "-o", "report.txt", *extra, "prog.py"], tmp_path)


@pytest.mark.parametrize("name", SIGNALS)
def test_python_signal_before_start(tmp_path, name):
    """memline reads the script from a FIFO; the signal comes while it
    waits: nothing has run, the report file is untouched, no traceback."""
    fifo = tmp_path / "prog.py"
    os.mkfifo(fifo)
    (tmp_path / "report.txt").write_text(EARLIER)
    before = snapshot(tmp_path)
    p = popen([PY, "-m", "memline", "-o", "report.txt", "prog.py"], tmp_path)
    try:
        with open(fifo, "w") as f:  # returns once memline has opened it to read
            p.send_signal(signum(name))
            out, err = p.communicate(timeout=60)
    finally:
        reap(p)
    assert p.returncode == expect_death(p, name), err
    assert "Traceback" not in err and out == ""
    assert_kept(before, tmp_path)


@pytest.mark.parametrize("name", SIGNALS)
def test_python_signal_while_running(tmp_path, name):
    p = start_report(tmp_path, LOOP)
    try:
        for line in p.stdout:
            if line == "tick %d\n" % AFTER[name]:
                break
        p.send_signal(signum(name))
        out, err = p.communicate(timeout=60)
    finally:
        reap(p)
    text = (tmp_path / "report.txt").read_text()
    assert text.startswith(EARLIER)
    if name == "KILL":
        assert p.returncode == -9 and text == EARLIER
        return
    assert p.returncode == expect_death(p, name), err
    assert "memline/__main__.py" not in err  # no traceback through memline
    if name == "INT":
        assert err.rstrip().endswith("KeyboardInterrupt")  # the program's, as Python shows it
    else:
        assert err == ""
    (block,) = parse_report(text[len(EARLIER):])
    assert block.row("time.sleep").occurrences >= AFTER[name]


def test_python_signal_while_running_with_own_handler(tmp_path):
    """A program with its own SIGTERM handler decides: here it exits with
    sys.exit(3), and the report is written as for any exit."""
    script = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(3))\n" + LOOP
    p = start_report(tmp_path, script)
    try:
        for line in p.stdout:
            if line == "tick 5\n":
                break
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        reap(p)
    assert p.returncode == 3 and err == ""
    assert parse_report((tmp_path / "report.txt").read_text()[len(EARLIER):])


BIG = "@profile\ndef big():\n" + "".join("    x%d = %d\n" % (i, i) for i in range(2500)) + \
      "\nbig()\n"


@pytest.mark.parametrize("name", SIGNALS)
def test_python_signal_during_the_report(tmp_path, name):
    """The report goes to a FIFO, larger than the pipe holds; the signal
    comes once it has begun: the report still comes out whole."""
    (tmp_path / "prog.py").write_text(BIG)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    p = popen([PY, "-m", "memline", "-o", fifo, "prog.py"], tmp_path)
    try:
        with open(fifo) as f:
            first = f.read(4096)  # the report has started
            assert first.startswith("Filename: ")
            p.send_signal(signum(name))
            rest = f.read()
        out, err = p.communicate(timeout=60)
    finally:
        reap(p)
    if name == "KILL":
        assert p.returncode == -9
        return
    assert p.returncode == expect_death(p, name), err
    assert err == "" and out == ""
    (block,) = parse_report(first + rest)
    assert block.row("x2499 = 2499").occurrences == 1
