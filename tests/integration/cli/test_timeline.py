"""Black-box tests of the timeline verbs through the standalone memline
binary, run as a user would: exit codes, stdout as mprof prints it, one
error line on stderr, and the .dat files written."""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET

import pytest

from _timeline import env, memline, memline_binary, read_dat
from helpers import MP_REFERENCE, assert_one_error

PY = sys.executable
ALLOC = ("import time; x = bytearray(60 * 2**20); x[::4096] = b'y' * len(x[::4096]); "
         "time.sleep(0.6)")


# ---------------------------------------------------------------- run

def test_run_program_directly(tmp_path):
    out = tmp_path / "prog.dat"
    r = memline("run", "-T", "0.01", "-o", out, PY, "-c", ALLOC, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Sampling memory every 0.01s" in r.stdout
    assert "running new process" in r.stdout
    cmd, mem, kids, funcs = read_dat(out)
    assert cmd == "%s -c '%s'" % (PY, ALLOC)  # quoted as mprof quotes blanks
    assert len(mem) >= 30
    assert max(m for m, _ in mem) >= 60
    assert all(b[1] >= a[1] for a, b in zip(mem, mem[1:]))
    assert not kids and not funcs


def test_run_default_name_and_peak_of_newest(tmp_path):
    r = memline("run", "-T", "0.02", PY, "-c", ALLOC, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = [n for n in os.listdir(tmp_path) if re.fullmatch(r"mprofile_\d{14}\.dat", n)]
    assert len(names) == 1
    r = memline("peak", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Using last profile data."
    name, value = lines[1].split("\t")
    assert name == names[0]
    assert re.fullmatch(r"\d+\.\d{3} MiB", value) and float(value.split()[0]) >= 60


def test_run_python_mode_writes_func_lines(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import time

        @profile
        def grow():
            x = bytearray(40 * 2**20)
            x[::4096] = b'y' * len(x[::4096])
            time.sleep(0.3)
            return len(x)

        @profile
        def outer():
            time.sleep(0.1)
            grow()

        outer()
    """))
    out = tmp_path / "py.dat"
    r = memline("run", "-T", "0.02", "-o", out, script, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "running as a Python program..." in r.stdout
    cmd, mem, kids, funcs = read_dat(out)
    assert cmd == "%s %s" % (PY, script)
    names = [f[0] for f in funcs]
    assert "__main__.grow" in names and "__main__.outer" in names
    grow = funcs[names.index("__main__.grow")]
    outer = funcs[names.index("__main__.outer")]
    assert grow[5] == 1 and outer[5] == 0
    assert outer[2] <= grow[2] <= grow[4] <= outer[4]
    assert mem[0][1] <= grow[2] and grow[4] - grow[2] >= 0.3
    r = memline("peak", "--func", "__main__.grow", out)
    assert r.returncode == 0 and float(r.stdout.split("\t")[1].split()[0]) >= 40


def test_nopython_execs_script_itself(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("#!%s\nimport time; time.sleep(0.2)\n" % PY)
    script.chmod(0o755)
    out = tmp_path / "n.dat"
    r = memline("run", "--nopython", "-T", "0.02", "-o", out, script, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "running as a Python program" not in r.stdout
    cmd, mem, _, funcs = read_dat(out)
    assert cmd == str(script) and mem and not funcs


def test_exit_code_propagated_only_with_E(tmp_path):
    prog = [PY, "-c", "import sys, time; time.sleep(0.1); sys.exit(7)"]
    r = memline("run", "-o", tmp_path / "a.dat", *prog, cwd=tmp_path)
    assert r.returncode == 0
    r = memline("run", "-E", "-o", tmp_path / "b.dat", *prog, cwd=tmp_path)
    assert r.returncode == 7
    r = memline("run", "--exit-code", "-o", tmp_path / "c.dat", PY, "-c",
                "import os, signal; os.kill(os.getpid(), signal.SIGTERM)", cwd=tmp_path)
    assert r.returncode == 128 + signal.SIGTERM


def test_no_shell_is_involved(tmp_path):
    out = tmp_path / "x.dat"
    r = memline("run", "-o", out, "echo", "$HOME;", "`id`", "a b", cwd=tmp_path)
    assert r.returncode == 0
    assert "$HOME; `id` a b" in r.stdout
    assert read_dat(out)[0] == "echo $HOME; `id` 'a b'"


def test_multiprocess_pool_gives_chld_lines(tmp_path):
    shutil.copy(os.path.join(MP_REFERENCE, "pool.py"), tmp_path / "pool.py")
    out = tmp_path / "pool.dat"
    r = memline("run", "-M", "-C", "-T", "0.02", "-o", out, "pool.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "7000000" in r.stdout
    cmd, mem, kids, funcs = read_dat(out)
    assert cmd == "%s pool.py" % PY
    workers = {pid: v for pid, v in kids.items() if max(m for m, _ in v) > 20}
    assert len(workers) >= 2, kids.keys()
    peaks = sorted(max(m for m, _ in v) for v in workers.values())
    assert peaks[-1] >= 45  # the 5e6-element list
    # -C: the parent's line includes its children
    assert max(m for m, _ in mem) >= peaks[-1] + peaks[-2]
    r = memline("peak", out)
    lines = r.stdout.splitlines()
    assert lines[0].startswith(str(out) + "\t")
    assert sum(1 for l in lines if re.fullmatch(r"  Child \d+\t\t\t\d+\.\d{3} MiB", l)) == len(kids)


def _wait_for_lines(path, n, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and path.read_text().count("\nMEM ") >= n:
            return
        time.sleep(0.02)
    raise AssertionError("no samples in %s" % path)


def _children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def test_sigkill_of_target_keeps_timeline(tmp_path):
    out = tmp_path / "killed.dat"
    p = subprocess.Popen([memline_binary(), "run", "-T", "0.01", "-o", str(out), PY, "-c",
                          ALLOC.replace("0.6", "30")], cwd=tmp_path, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lines(out, 40)
        (target,) = _children(p.pid)
        # the file grows while the program runs: lines are not held back
        before = read_dat(out)[1]
        time.sleep(0.3)
        assert len(read_dat(out)[1]) > len(before)
        os.kill(target, signal.SIGKILL)
        killed_at = time.time()
        stdout, stderr = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0, stderr
    cmd, mem, _, _ = read_dat(out)
    assert out.read_text().endswith("\n")
    assert max(m for m, _ in mem) >= 60
    assert killed_at - 0.2 <= mem[-1][1] <= killed_at + 0.05
    r = memline("run", "-E", "-o", tmp_path / "k2.dat", PY, "-c",
                "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert r.returncode == 128 + signal.SIGKILL


def test_ctrl_c_stops_target_and_leaves_complete_file(tmp_path):
    out = tmp_path / "int.dat"
    prog = "import time\ntry:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    print('target got SIGINT')\n"
    p = subprocess.Popen([memline_binary(), "run", "-T", "0.01", "-o", str(out), PY, "-c", prog],
                         cwd=tmp_path, env=env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lines(out, 20)
        (target,) = _children(p.pid)
        p.send_signal(signal.SIGINT)  # to memline alone: it passes it on
        stdout, stderr = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 130
    assert "target got SIGINT" in stdout
    assert "interrupted" in stderr
    assert not os.path.exists("/proc/%d" % target)
    text = out.read_text()
    assert text.endswith("\n")
    assert all(re.fullmatch(r"(CMDLINE .*|MEM \d+\.\d{6} \d+\.\d{4})", l) for l in text.splitlines())


def test_timeout_stops_sampling_and_waits_for_the_program(tmp_path):
    """-t stops sampling; the program goes on (as with mprof) and memline
    waits for it, so that it never outlives memline."""
    out, go = tmp_path / "t.dat", tmp_path / "go"
    prog = "import os, time\nwhile not os.path.exists(%r): time.sleep(0.01)\n" % str(go)
    p = subprocess.Popen([memline_binary(), "run", "-t", "0.5", "-T", "0.05", "-o", str(out),
                          PY, "-c", prog], cwd=tmp_path, env=env(), stdout=subprocess.PIPE,
                         text=True)
    try:
        for line in p.stdout:
            if line.startswith("memline: stopped sampling after 0.5s"):
                break
        assert p.poll() is None  # waiting for the program
        (target,) = _children(p.pid)
        n = len(read_dat(out)[1])
        assert 5 <= n <= 14
        go.touch()
        assert p.wait(timeout=10) == 0
        assert not os.path.exists("/proc/%d/stat" % target) or _state(target) == "Z"
        assert len(read_dat(out)[1]) == n  # nothing sampled after the timeout
    finally:
        p.kill()
        p.wait()


def _state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rpartition(")")[2].split()[0]


def test_one_millisecond_interval(tmp_path):
    out = tmp_path / "ms.dat"
    r = memline("run", "-T", "0.001", "-o", out, "sleep", "0.5", cwd=tmp_path)
    assert r.returncode == 0
    # timestamps have 0.1 ms resolution; ~500 readings expected
    assert len(read_dat(out)[1]) >= 300


# ---------------------------------------------------------------- attach

def test_attach_by_pid_and_by_name(tmp_path):
    sleeper = tmp_path / "mlsleepyzz"
    shutil.copy(shutil.which("sleep"), sleeper)
    p = subprocess.Popen([str(sleeper), "3"])
    try:
        out = tmp_path / "a.dat"
        r = memline("attach", "-T", "0.05", "-t", "0.4", "-o", out, p.pid, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "attaching to existing process, using hint: %d" % p.pid in r.stdout
        cmd, mem, _, _ = read_dat(out)
        assert cmd == "%s 3" % sleeper
        assert len(mem) >= 4 and all(m > 0 for m, _ in mem)
        out2 = tmp_path / "b.dat"
        r = memline("attach", "-T", "0.05", "-t", "0.3", "-o", out2, "mlsleepyzz", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert read_dat(out2)[0] == "%s 3" % sleeper
        assert p.poll() is None  # attach never stops the process
    finally:
        p.kill()
        p.wait()


def test_attach_ends_with_the_process(tmp_path):
    p = subprocess.Popen(["sleep", "0.4"])
    out = tmp_path / "e.dat"
    start = time.time()
    r = memline("attach", "-T", "0.02", "-o", out, p.pid, cwd=tmp_path)
    p.wait()
    assert r.returncode == 0
    assert time.time() - start < 3
    assert len(read_dat(out)[1]) >= 5


# ---------------------------------------------------------------- peak, list, rm, clean

def test_peak_on_reference_files():
    small = os.path.join(MP_REFERENCE, "small.mprof.dat")
    pool = os.path.join(MP_REFERENCE, "pool.mprof.dat")
    r = memline("peak", small, pool)
    assert r.returncode == 0
    assert r.stdout == ("%s\t84.496 MiB\n%s\t87.750 MiB\n"
                        "  Child 31133\t\t\t26.078 MiB\n  Child 31134\t\t\t48.965 MiB\n"
                        % (small, pool))
    r = memline("peak", "--func", "__main__.alloc", small)
    assert r.stdout == "%s\t84.496 MiB\n" % small
    r = memline("peak", "--func", "nosuch", small)
    assert r.returncode == 0 and r.stdout == "%s\tNaN MiB\n" % small


def _profiles(d, stamps):
    for s in stamps:
        (d / ("mprofile_%s.dat" % s)).write_text("CMDLINE x\nMEM 1.5 %s.0\n" % s[-6:])


def test_list_rm_clean(tmp_path):
    _profiles(tmp_path, ["20260102030405", "20251231235959", "20260102030406"])
    (tmp_path / "other.dat").write_text("MEM 1 2\n")
    r = memline("list", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout == ("0 mprofile_20251231235959.dat 23:59:59 31/12/2025\n"
                        "1 mprofile_20260102030405.dat 03:04:05 02/01/2026\n"
                        "2 mprofile_20260102030406.dat 03:04:06 02/01/2026\n")
    r = memline("rm", "--dry-run", "-1", "0", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout == ("Files to be removed: \nmprofile_20260102030406.dat\n"
                        "mprofile_20251231235959.dat\n")
    assert len(os.listdir(tmp_path)) == 4
    r = memline("rm", "-1", "other.dat", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ""
    assert sorted(os.listdir(tmp_path)) == ["mprofile_20251231235959.dat",
                                            "mprofile_20260102030405.dat"]
    r = memline("peak", "0", cwd=tmp_path)
    assert r.stdout == "mprofile_20251231235959.dat\t1.500 MiB\n"
    r = memline("clean", "--dry-run", cwd=tmp_path)
    assert r.stdout == ("Files to be removed: \nmprofile_20251231235959.dat\n"
                        "mprofile_20260102030405.dat\n")
    assert len(os.listdir(tmp_path)) == 2
    r = memline("clean", cwd=tmp_path)
    assert r.returncode == 0 and os.listdir(tmp_path) == []
    r = memline("list", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ""


# ---------------------------------------------------------------- plot

def test_plot_default_is_html_next_to_dat(tmp_path):
    shutil.copy(os.path.join(MP_REFERENCE, "small.mprof.dat"),
                tmp_path / "mprofile_20260101000000.dat")
    r = memline("plot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Using last profile data.\nmprofile_20260101000000.html\n"
    html = (tmp_path / "mprofile_20260101000000.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(os.path.join(MP_REFERENCE, "pool.mprof.dat"), sub / "pool.dat")
    r = memline("plot", sub / "pool.dat")
    assert r.stdout == "%s\n" % (sub / "pool.html")
    assert "child 31134" in (sub / "pool.html").read_text()


def test_plot_svg_is_well_formed_and_complete(tmp_path):
    out = tmp_path / "small.svg"
    r = memline("plot", "-o", out, os.path.join(MP_REFERENCE, "small.mprof.dat"))
    assert r.returncode == 0 and r.stdout == ""
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join("".join(e.itertext()) for e in root.iter("{http://www.w3.org/2000/svg}text"))
    for want in ("/usr/bin/python3 small.py", "time (in seconds)", "memory used (in MiB)",
                 "alloc 0.305s", "alloc 0.325s", "outer 0.830s", "max 84.496 MiB",
                 "start at"):
        assert want in text, want


@pytest.mark.parametrize("flags", [["-n"], ["-f"], ["-s"], ["-w", "0.2,0.8"],
                                   ["-t", "Custom <b>"], ["--flame", "--slope"]])
def test_plot_options(tmp_path, flags):
    out = tmp_path / "p.svg"
    r = memline("plot", *flags, "-o", out, os.path.join(MP_REFERENCE, "small.mprof.dat"))
    assert r.returncode == 0, r.stderr
    ET.parse(out)
    s = out.read_text()
    if "-n" in flags:
        assert 'class="call"' not in s
    if "-t" in flags:
        assert "Custom &lt;b&gt;" in s and "small.py</text>" not in s
    if "-s" in flags or "--slope" in flags:
        assert "MiB/s" in s


def test_plot_several_files(tmp_path):
    out = tmp_path / "two.html"
    r = memline("plot", "-o", out, os.path.join(MP_REFERENCE, "small.mprof.dat"),
                os.path.join(MP_REFERENCE, "pool.mprof.dat"))
    assert r.returncode == 0
    assert out.read_text().count('class="curve main"') == 2


def test_script_tags_escaped(tmp_path):
    dat = tmp_path / "evil.dat"
    dat.write_text("CMDLINE python3 <script>document.body.dataset.pwned=1</script>.py\n"
                   "MEM 1.0 100.0\nMEM 5.0 100.5\nMEM 2.0 101.0\n"
                   "FUNC m.<script>alert(1)</script> 1.0 100.1 5.0 100.6 0\n")
    r = memline("plot", "-o", tmp_path / "e.html", dat)
    assert r.returncode == 0
    html = (tmp_path / "e.html").read_text()
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert "&lt;script&gt;document.body" in html
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html
    r = memline("plot", "-o", tmp_path / "e.svg", dat)
    svg = (tmp_path / "e.svg").read_text()
    assert "<script" not in svg and "m.&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    ET.parse(tmp_path / "e.svg")


# ---------------------------------------------------------------- bad input

@pytest.fixture
def dats(tmp_path):
    (tmp_path / "empty.dat").write_text("")
    (tmp_path / "nomem.dat").write_text("CMDLINE x\n")
    (tmp_path / "good.dat").write_text("CMDLINE x\nMEM 1 1\n")
    return tmp_path


@pytest.mark.parametrize("args, code, message", [
    ([], 2, None),
    (["frobnicate"], 2, "unknown command 'frobnicate'"),
    (["run"], 2, "a program to run must be given"),
    (["run", "--frob", "ls"], 2, "unknown option '--frob'"),
    (["run", "-X", "ls"], 2, "unknown option '-X'"),
    (["run", "-T", "0", "ls"], 2, "interval '0'"),
    (["run", "-T", "abc", "ls"], 2, "interval 'abc'"),
    (["run", "-t", "-1", "ls"], 2, "timeout '-1'"),
    (["run", "-o", "out.dat", "no-such-program-xyz"], 4, "cannot run 'no-such-program-xyz'"),
    (["run", "-o", "/nonexistent/dir/x.dat", "true"], 5, "cannot write '/nonexistent/dir/x.dat'"),
    (["attach"], 2, "a PID or process name must be given"),
    (["attach", "999999999"], 4, "no process with PID 999999999"),
    (["attach", "no-such-process-name-xyz"], 4, "no process whose name contains"),
    (["peak", "missing.dat"], 3, "'missing.dat': no such file"),
    (["peak", "empty.dat"], 3, "'empty.dat' holds no memory samples"),
    (["peak", "nomem.dat"], 3, "'nomem.dat' holds no memory samples"),
    (["peak"], 3, "no mprofile_*.dat file"),
    (["peak", "5"], 3, "no profile with index 5"),
    (["peak", "."], 3, "is a directory"),
    (["plot", "missing.dat"], 3, "no such file"),
    (["plot", "empty.dat"], 3, "holds no memory samples"),
    (["plot", "-o", "x.png", "good.dat"], 2, "name it .svg or .html"),
    (["plot", "-o", "/nonexistent/dir/x.svg", "good.dat"], 5, "cannot write"),
    (["plot", "-w", "1", "good.dat"], 2, "window '1'"),
    (["plot", "--nope", "good.dat"], 2, "unknown option '--nope'"),
    (["rm"], 2, "a profile to remove must be given"),
    (["rm", "missing.dat"], 3, "'missing.dat': no such file"),
    (["list", "x"], 2, "list: takes no argument"),
    (["clean", "good.dat"], 2, "clean: takes no file argument"),
])
def test_bad_input(dats, args, code, message):
    r = memline(*args, cwd=dats)
    assert r.returncode == code, (r.stdout, r.stderr)
    if message is None:
        assert r.stderr.startswith("Usage: memline")
        return
    line = assert_one_error(r, status=code)
    assert message in line, line
    assert not os.path.exists(dats / "out.dat")  # nothing left behind


def test_malformed_lines_warned_and_counted(tmp_path):
    dat = tmp_path / "m.dat"
    dat.write_text("CMDLINE x\nMEM 1.0 1.0\nMEM abc 2\nnonsense\n\nMEM 3.0 3.0\nCHLD x 1 1\n")
    r = memline("peak", dat)
    assert r.returncode == 0
    assert r.stdout == "%s\t3.000 MiB\n" % dat
    assert r.stderr == ("memline: warning: '%s': skipped 3 malformed lines (the first is "
                        "line 3)\n" % dat)


def test_help():
    for verb in ("run", "attach", "plot", "peak", "list", "rm", "clean"):
        r = memline(verb, "--help")
        assert r.returncode == 0 and r.stdout.startswith("usage: memline"), verb
    r = memline("--help")
    assert r.returncode == 0 and "Available commands" in r.stdout
