"""Helpers for the timeline's black-box tests: the memline binary (built
with make if needed), running it, and reading .dat files the way mprof
does."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REFERENCE = os.path.join(REPO, "tests", "data", "memory_profiler-0.61")

_binary = None


def memline_binary():
    """Path of the standalone binary, built on first use; $MEMLINE_BIN picks
    another build (make sets it: the release or the sanitized binary)."""
    global _binary
    if _binary is None and os.environ.get("MEMLINE_BIN"):
        _binary = os.path.abspath(os.environ["MEMLINE_BIN"])
    if _binary is None:
        subprocess.run(["make", "-s", "bin"], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        out = subprocess.run(["make", "-s", "--no-print-directory", "print-memline"], cwd=REPO,
                             check=True, capture_output=True, text=True).stdout.strip()
        _binary = os.path.join(REPO, out)
        assert os.access(_binary, os.X_OK), _binary
    return _binary


def env():
    """The environment memline runs in: Python mode uses this interpreter,
    whose memline is the installed package."""
    e = dict(os.environ)
    e["MEMLINE_PYTHON"] = sys.executable
    e.pop("PYTHONPATH", None)
    return e


def memline(*args, cwd=None, timeout=60, **kw):
    """Runs memline with args; returns the CompletedProcess (text)."""
    return subprocess.run([memline_binary(), *map(str, args)], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout, **kw)


def read_dat(path):
    """(cmdline, mem, children, funcs) as mprof's reader sees them:
    mem a list of (MiB, t), children {pid: [(MiB, t)]}, funcs a list of
    (name, mem_in, t_in, mem_out, t_out, depth)."""
    cmd, mem, kids, funcs = None, [], {}, []
    with open(path) as f:
        for line in f:
            key, _, rest = line.rstrip("\n").partition(" ")
            v = rest.split(" ")
            if key == "CMDLINE":
                cmd = rest
            elif key == "MEM":
                mem.append((float(v[0]), float(v[1])))
            elif key == "CHLD":
                kids.setdefault(int(v[0]), []).append((float(v[1]), float(v[2])))
            elif key == "FUNC":
                funcs.append((v[0], float(v[1]), float(v[2]), float(v[3]), float(v[4]),
                              int(v[5])))
    return cmd, mem, kids, funcs


def one_error_line(stderr):
    """The single 'memline: error:' line stderr must consist of."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("memline: error: "), stderr
    return lines[0]
