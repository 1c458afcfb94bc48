"""Helpers for the timeline's black-box tests: the memline binary (built
with make if needed), running it, and reading .dat files the way mprof
does."""

import os
import subprocess
import sys

from helpers import REPO, child_env, run

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
    """The environment memline runs in: helpers.child_env, and Python mode
    uses this interpreter, whose memline is the installed package."""
    return child_env({"MEMLINE_PYTHON": sys.executable})


def memline(*args, cwd=None, timeout=60):
    """Runs memline with args as helpers.run runs a program; returns the
    CompletedProcess (text)."""
    return run([memline_binary(), *args], cwd, timeout=timeout, env=env())


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
