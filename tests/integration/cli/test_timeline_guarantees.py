"""What the timeline promises a user whatever goes wrong (docs/timeline.md,
"What memline keeps"), one test per defect found by probing it as a
careful user and as an attacker would.  The fault layer
(tests/integration/faults/) covers the rest: failed starts, planted links,
signals, full disks and /dev/full.

- Python programs run under memline's own interpreter, so a memline
  called from a virtual environment that is not activated still records
  the program's calls, and no output name can read as an option;
- names and command lines are data in a .dat, never records of their own,
  and real mprof reads them back;
- reading is linear in the file: 200k distinct functions take seconds;
- file names that are not UTF-8 work through the installed command;
- clean removes every file it can; attach parses the options after the
  PID and refuses a zombie; memory_usage does not wrap a PID to 32 bits;
  the report's Filename header stays one line."""

import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from _timeline import env, memline, memline_binary, read_dat
from helpers import assert_one_error, child_env, only_block, run

PY = sys.executable
INSTALLED = os.path.join(os.path.dirname(sys.executable), "memline")
MPROF = os.path.join(os.path.dirname(sys.executable), "mprof")

PROFILED = textwrap.dedent("""\
    import time

    @profile
    def grow():
        x = bytearray(8 * 2**20)
        x[::4096] = b'y' * len(x[::4096])
        time.sleep(0.1)
        return len(x)

    grow()
""")


def func_names(path):
    return sorted({f[0] for f in read_dat(path)[3]})


# ---------------------------------------------------------------- the interpreter

def test_run_uses_memlines_own_interpreter(tmp_path):
    """The installed command, its virtual environment not activated: the
    python3 first in PATH has no memline, the program still runs under the
    interpreter whose memline was called, and its calls are recorded."""
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    (fakebin / "python3").write_text('#!/bin/sh\nexec "%s" -S "$@"\n' % PY)  # no site-packages
    (fakebin / "python3").chmod(0o755)
    (tmp_path / "prog.py").write_text(PROFILED)
    e = child_env({"PATH": "%s:/usr/bin:/bin" % fakebin})
    e.pop("MEMLINE_PYTHON", None)
    r = run([INSTALLED, "run", "-T", "0.02", "-o", "a.dat", "prog.py"], cwd=tmp_path, env=e)
    assert r.returncode == 0, r.stderr
    assert func_names(tmp_path / "a.dat") == ["__main__.grow"]
    interpreter, script = read_dat(tmp_path / "a.dat")[0].split(" ")
    assert os.path.samefile(interpreter, PY) and script == "prog.py"


@pytest.mark.parametrize("form", ["--python=PATH", "--python PATH"])
def test_run_with_a_chosen_interpreter(tmp_path, form):
    interp = tmp_path / "py3"  # a name that does not start with python
    interp.write_text('#!/bin/sh\nexec "%s" "$@"\n' % PY)
    interp.chmod(0o755)
    (tmp_path / "prog.py").write_text(PROFILED)
    flag = ["--python=%s" % interp] if form == "--python=PATH" else ["--python", interp]
    e = child_env()
    e.pop("MEMLINE_PYTHON", None)
    r = run([memline_binary(), "run", "-T", "0.02", "-o", "a.dat", *flag, "prog.py"],
            cwd=tmp_path, env=e)
    assert r.returncode == 0, r.stderr
    assert read_dat(tmp_path / "a.dat")[0] == "%s prog.py" % interp
    assert func_names(tmp_path / "a.dat") == ["__main__.grow"]


def test_output_name_never_reads_as_an_option(tmp_path):
    (tmp_path / "prog.py").write_text(PROFILED)
    r = memline("run", "-T", "0.02", "-o", "-dash.dat", "prog.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert func_names(tmp_path / "-dash.dat") == ["__main__.grow"]
    (tmp_path / "-x.py").write_text(PROFILED)  # nor the script's
    r = memline("run", "-T", "0.02", "-o", "x.dat", "--", "-x.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert func_names(tmp_path / "x.dat") == ["__main__.grow"]


# ---------------------------------------------------------------- records are data

HOSTILE = textwrap.dedent('''\
    import time

    def make(name):
        def f():
            time.sleep(0.01)
        f.__name__ = f.__qualname__ = name
        return profile(f)

    for name in ["evil\\nMEM 99999.000000 1.0000\\nCMDLINE pwned",
                 "with blanks in it", "tab\\there", "cr\\rlf", "nul\\x00byte",
                 "bytes\\udcffnot-utf8", "lone\\ud800surrogate", "fine.name"]:
        make(name)()
    with profile.timestamp("a block name"):
        time.sleep(0.01)
''')
SANITISED = sorted(["__main__.evil_MEM_99999.000000_1.0000_CMDLINE_pwned",
                    "__main__.with_blanks_in_it", "__main__.tab_here", "__main__.cr_lf",
                    "__main__.nul_byte", "__main__.bytes\ufffdnot-utf8",
                    "__main__.lone\ufffd\ufffd\ufffdsurrogate", "__main__.fine.name",
                    ".a_block_name"])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    (d / "prog.py").write_text(HOSTILE)
    r = memline("run", "-T", "0.01", "-o", "h.dat", "prog.py", cwd=d)
    assert r.returncode == 0, r.stderr
    return d / "h.dat"


def test_hostile_names_stay_one_record(hostile):
    text = hostile.read_text(encoding="utf-8")  # valid UTF-8 throughout
    cmdlines = [l for l in text.splitlines() if l.startswith("CMDLINE")]
    assert len(cmdlines) == 1 and cmdlines[0].endswith(" prog.py")
    assert all(re.fullmatch(r"(CMDLINE .*|MEM \S+ \S+|FUNC \S+( \S+){5})", l)
               for l in text.splitlines()), text
    assert func_names(hostile) == SANITISED
    r = memline("peak", hostile)
    assert r.returncode == 0 and r.stderr == ""
    assert float(r.stdout.split("\t")[1].split()[0]) < 1000  # not the injected 99999
    r = memline("peak", "--func", "__main__.with_blanks_in_it", hostile)
    assert r.returncode == 0 and "NaN" not in r.stdout


def test_mprof_reads_hostile_names_back(hostile):
    sys.path.insert(0, os.path.dirname(MPROF))
    import mprof as mprof_module  # the installed script's module
    got = mprof_module.read_mprofile_file(str(hostile))
    assert sorted(got["func_timestamp"]) == SANITISED
    assert got["cmd_line"].strip() == read_dat(hostile)[0]
    assert max(got["mem_usage"]) < 1000
    theirs = subprocess.run([MPROF, "peak", str(hostile)], capture_output=True, text=True)
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout == memline("peak", hostile).stdout


def test_hostile_command_line_stays_one_record(tmp_path):
    args = ["x\nMEM 99999.000000 1.0000", "tab\there", "\udcff", "a b"]
    r = run([memline_binary(), "run", "-o", "c.dat", "sh", "-c", "sleep 0.1", *args],
            cwd=tmp_path, env=env())
    assert r.returncode == 0, r.stderr
    cmd, mem, _, _ = read_dat(tmp_path / "c.dat")
    assert cmd == "sh -c 'sleep 0.1' 'x MEM 99999.000000 1.0000' 'tab here' \ufffd 'a b'"
    assert max(m for m, _ in mem) < 1000


def test_appending_to_a_torn_file_keeps_the_cut_line_apart(tmp_path):
    """A file whose writer was killed mid-line: the reader drops the torn
    line with a warning, and a run appending to it ends that line first,
    so it stays one malformed line, not the start of a wrong record."""
    dat = tmp_path / "t.dat"
    dat.write_bytes(b"CMDLINE old\nMEM 1.000000 100.0000\nMEM 2.000000 100.1000\nMEM 5.5 17")
    r = memline("peak", dat)
    assert r.returncode == 0 and r.stdout == "%s\t2.000 MiB\n" % dat
    assert r.stderr == ("memline: warning: '%s': skipped the last line, 4, cut off before its "
                        "end (the writer was stopped mid-line)\n" % dat)
    for verb in (["run", "-T", "0.01", "-o", dat, "sleep", "0.1"],
                 ["attach", "-T", "0.01", "-t", "0.1", "-o", dat]):
        if verb[0] == "attach":
            p = subprocess.Popen(["sleep", "5"])
            verb.append(str(p.pid))
        r = memline(*verb, cwd=tmp_path)
        if verb[0] == "attach":
            p.kill()
            p.wait()
        assert r.returncode == 0, r.stderr
    lines = dat.read_bytes().split(b"\n")
    assert lines[3] == b"MEM 5.5 17<torn>" and lines[4].startswith(b"CMDLINE sleep ")
    cmd, mem, _, _ = read_dat_lenient(dat)
    assert cmd == "sleep 5" and mem[0] == (1.0, 100.0) and all(t > 1e9 for _, t in mem[2:])
    r = memline("peak", dat)
    assert r.returncode == 0
    assert r.stderr == ("memline: warning: '%s': skipped 1 malformed line (the first is line "
                        "4)\n" % dat)


def read_dat_lenient(path):
    """read_dat, skipping the lines mprof's reader could not read."""
    good = tmp = path.with_suffix(".good")
    with open(path) as src, open(tmp, "w") as out:
        for line in src:
            if "<torn>" not in line:
                out.write(line)
    return read_dat(good)


# ---------------------------------------------------------------- linear readers

def test_reading_is_linear_in_distinct_names(tmp_path):
    """200k distinct FUNC names: quadratic, peak took 96 s and plot more
    than 120 s; linear, a second or two."""
    dat = tmp_path / "names.dat"
    t = 1700000000.0
    with open(dat, "w") as f:
        f.write("CMDLINE python3 big.py\n")
        for i in range(200000):
            f.write("MEM %.6f %.4f\nFUNC pkg.mod%d.f_%d 12.0000 %.4f 13.0000 %.4f %d\n"
                    % (10 + i % 50, t + i * 0.01, i % 97, i, t + i * 0.01, t + i * 0.01 + 0.005,
                       i % 3))
    for args, limit in ((["peak"], 20), (["peak", "--func", "pkg.mod3.f_3"], 20),
                        (["plot", "-o", tmp_path / "n.svg"], 60)):
        start = time.monotonic()
        r = memline(*args, dat, timeout=300)
        took = time.monotonic() - start
        assert r.returncode == 0, r.stderr
        assert took < limit, "%s took %.1fs" % (args[0], took)


# ---------------------------------------------------------------- names not UTF-8

def test_file_names_not_utf8_through_the_installed_command(tmp_path):
    """The installed command passes such names on as the bytes they are
    (it raised UnicodeEncodeError); the standalone binary always did."""
    name = os.fsdecode(b"run-\xff.dat")
    (tmp_path / name).write_text("CMDLINE x\nMEM 1.5 1.0\nMEM 2.5 2.0\n")

    def installed(*args):
        return subprocess.run([INSTALLED, *args], cwd=str(tmp_path), env=child_env(),
                              capture_output=True, timeout=120)

    r = installed("peak", name)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"run-\xff.dat\t2.500 MiB\n"
    r = installed("plot", name)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(tmp_path / os.fsdecode(b"run-\xff.html"))
    r = installed("plot", os.fsdecode(b"missing-\xfe.dat"))
    assert r.returncode == 3 and b"Traceback" not in r.stderr
    assert r.stderr == b"memline: error: 'missing-\xfe.dat': no such file\n"


def test_script_name_not_utf8_and_with_a_newline(tmp_path):
    """The report runs, and its Filename header stays one line."""
    for raw, shown in ((b"s-\xff.py", "s-\\xff.py"), (b"a\nb.py", "a\\nb.py")):
        path = os.path.join(str(tmp_path), os.fsdecode(raw))
        with open(path, "w") as f:
            f.write("@profile\ndef f():\n    return 1\n\nf()\n")
        r = run([PY, "-m", "memline", os.fsdecode(raw)], cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        block = only_block(r.stdout)
        assert block.filename.endswith(shown), block.filename


# ---------------------------------------------------------------- clean, attach, memory_usage

def test_clean_goes_on_past_a_file_it_cannot_remove(tmp_path):
    (tmp_path / "mprofile_20250101000000.dat").mkdir()  # the first: cannot be unlinked
    for stamp in ("20250101000001", "20250101000002"):
        (tmp_path / ("mprofile_%s.dat" % stamp)).write_text("MEM 1 1\n")
    r = memline("clean", cwd=tmp_path)
    line = assert_one_error(r, status=5)
    assert "cannot remove 'mprofile_20250101000000.dat'" in line
    assert os.listdir(tmp_path) == ["mprofile_20250101000000.dat"]


def test_attach_reads_options_after_the_pid(tmp_path):
    p = subprocess.Popen(["sleep", "30"])
    try:
        start = time.monotonic()
        r = memline("attach", str(p.pid), "-T", "0.02", "-t", "0.3", "-o", "a.dat",
                    cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert time.monotonic() - start < 10  # -t was read (the default is an hour)
        assert len(read_dat(tmp_path / "a.dat")[1]) >= 5
        r = memline("attach", str(p.pid), "other", cwd=tmp_path)
        assert "takes one PID or process name" in assert_one_error(r, status=2)
    finally:
        p.kill()
        p.wait()


def test_attach_refuses_a_zombie_and_huge_pids(tmp_path):
    p = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # exited, not yet reaped
        with open("/proc/%d/stat" % p.pid) as f:
            if f.read().rpartition(")")[2].split()[0] == "Z":
                break
    try:
        r = memline("attach", str(p.pid), "-o", "z.dat", cwd=tmp_path)
        assert "has exited" in assert_one_error(r, status=4)
        r = memline("attach", str(p.pid), cwd=tmp_path)  # the default name
        assert_one_error(r, status=4)
        r = memline("attach", str(2**32 + 1), cwd=tmp_path)  # not PID 1
        assert "no process with PID 4294967297" in assert_one_error(r, status=4)
        assert os.listdir(tmp_path) == []
    finally:
        p.wait()


@pytest.mark.parametrize("pid", [2**32, 2**32 + os.getpid(), 2**64, -5])
def test_memory_usage_does_not_wrap_a_pid(pid):
    from memline import memory_usage
    with pytest.raises(ProcessLookupError, match="no process with pid %d" % pid):
        memory_usage(pid)
