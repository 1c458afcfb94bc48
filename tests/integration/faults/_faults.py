"""The fault layer's helpers: what a user's directory held (snapshot and
assert_kept, to show that nothing there was lost), waiting for a condition
instead of sleeping, processes and their state, a tmpfs too small for the
output, and the two ways memline is run (the standalone binary, and the
command pip installed into the test environment)."""

import os
import pathlib
import stat
import subprocess
import sys
import time

import pytest

# The timeline's own helpers (the binary, its environment, mprof's reader).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "cli"))
from _timeline import env, memline, memline_binary, read_dat  # noqa: E402,F401
from helpers import MP_REFERENCE, assert_one_error, child_env, run  # noqa: E402,F401

PY = sys.executable
# The command pip installed beside this interpreter: what users run.
INSTALLED = os.path.join(os.path.dirname(sys.executable), "memline")
SMALL_DAT = os.path.join(MP_REFERENCE, "small.mprof.dat")


def snapshot(root):
    """Everything under root: {relative path: what it is}, a file by its
    bytes and mode, a link by its target."""
    out = {}
    root = str(root)
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read(), stat.S_IMODE(st.st_mode))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def assert_kept(before, root, may_add=(), may_change=()):
    """Nothing that was under root is lost or changed (except the paths in
    may_change), and nothing appeared but the paths in may_add.  Returns
    the new snapshot."""
    after = snapshot(root)
    for path, what in before.items():
        if path in may_change:
            continue
        assert path in after, "%s was removed" % path
        assert after[path] == what, "%s changed:\n was %r\n now %r" % (path, what, after[path])
    new = set(after) - set(before)
    assert new <= set(may_add), "unexpected new files: %s" % sorted(new - set(may_add))
    return after


def wait_for(cond, what, timeout=30):
    """Polls cond() until it is true; the test fails after timeout s.  No
    fixed sleep: only the condition decides."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.005)
    raise AssertionError("timed out waiting for %s" % what)


def state(pid):
    """The process's state letter (R, S, Z, ...), or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def alive(pid):
    return state(pid) not in (None, "Z", "X")


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def mem_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\nMEM ")
    except FileNotFoundError:
        return 0


def popen(argv, cwd, **kw):
    """A memline process to signal or feed, in its own session (the
    program it starts is then killed with it at the end of the test)."""
    kw.setdefault("env", env())
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([str(a) for a in argv], cwd=str(cwd), text=True,
                            start_new_session=True, **kw)


def reap(p):
    """Kills what is left of p's session (a program memline left behind
    would be there) and closes p's pipes."""
    try:
        os.killpg(p.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    p.wait(timeout=30)
    for stream in (p.stdin, p.stdout, p.stderr):
        try:
            if stream:
                stream.close()
        except OSError:
            pass


def memline_lines(stderr):
    """memline's own lines on stderr (the program's are its business)."""
    return [l for l in stderr.splitlines() if l.startswith("memline: ")]


def small_tmpfs(tmp_path, size="256k"):
    """A tmpfs of size mounted at tmp_path/small for the test (root only);
    returns its path and the function that unmounts it."""
    if os.geteuid() != 0:
        pytest.skip("a tmpfs too small for the output needs root to mount")
    d = tmp_path / "small"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0777" % size, "tmpfs",
                        str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    return d, lambda: subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(d):
    """Fills the file system of d: every free block goes to one filler
    file, so any write that needs a new block fails with ENOSPC."""
    with open(os.path.join(str(d), "filler"), "wb", buffering=0) as f:
        chunk = b"\0" * 4096
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
