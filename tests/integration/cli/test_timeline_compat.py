"""Compatibility of the timeline with real mprof (memory_profiler 0.61 from
PyPI, installed in the test environment), both ways: mprof reads the files
memline writes (peak, plot to PNG, its own file reader), and memline reads
mprof's reference files with the same peaks."""

import os
import shutil
import subprocess
import sys

import pytest

from _timeline import memline, read_dat
from helpers import MP_REFERENCE

MPROF = os.path.join(os.path.dirname(sys.executable), "mprof")


def mprof(*args, cwd=None):
    return subprocess.run([MPROF, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def our_files(tmp_path_factory):
    """Files from memline run: Python mode (FUNC lines) and -M -C (CHLD)."""
    d = tmp_path_factory.mktemp("ours")
    for name in ("small.py", "pool.py"):
        shutil.copy(os.path.join(MP_REFERENCE, name), d / name)
    r = memline("run", "-T", "0.05", "-o", d / "small.dat", "small.py", cwd=d)
    assert r.returncode == 0, r.stderr
    r = memline("run", "-M", "-C", "-T", "0.05", "-o", d / "pool.dat", "pool.py", cwd=d)
    assert r.returncode == 0, r.stderr
    return d


def test_mprof_installed():
    assert os.access(MPROF, os.X_OK), "memory_profiler's mprof is missing from the test venv"


@pytest.mark.parametrize("name", ["small.dat", "pool.dat"])
def test_mprof_peak_reads_our_files(our_files, name):
    theirs = mprof("peak", name, cwd=our_files)
    assert theirs.returncode == 0, theirs.stderr
    ours = memline("peak", name, cwd=our_files)
    assert ours.returncode == 0
    assert theirs.stdout == ours.stdout
    if name == "pool.dat":
        assert ours.stdout.count("  Child ") >= 2


def test_mprof_peak_func_on_our_file(our_files):
    theirs = mprof("peak", "--func", "__main__.alloc", "small.dat", cwd=our_files)
    ours = memline("peak", "--func", "__main__.alloc", "small.dat", cwd=our_files)
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout == ours.stdout
    assert "NaN" not in ours.stdout


def test_mprof_reader_sees_our_records(our_files):
    sys.path.insert(0, os.path.dirname(MPROF))
    import mprof as mprof_module  # noqa: E402  (the installed script's module)
    for name in ("small.dat", "pool.dat"):
        got = mprof_module.read_mprofile_file(str(our_files / name))
        cmd, mem, kids, funcs = read_dat(our_files / name)
        assert got["mem_usage"] == [m for m, _ in mem]
        assert got["timestamp"] == [t for _, t in mem]
        assert got["cmd_line"].strip() == cmd
        assert sorted(int(k) for k in got["children"]) == sorted(kids)
        assert sum(len(v) for v in got["func_timestamp"].values()) == len(funcs)
    assert {"__main__.alloc", "__main__.outer"} <= set(
        mprof_module.read_mprofile_file(str(our_files / "small.dat"))["func_timestamp"])


@pytest.mark.parametrize("name, flags", [("small.dat", []), ("pool.dat", []),
                                         ("small.dat", ["--flame"]), ("small.dat", ["-s"])])
def test_mprof_plot_renders_our_files(our_files, name, flags):
    png = our_files / ("%s-%d.png" % (name, len(flags)))
    # mprof is not ours: under the sanitizer run it must not inherit the
    # preloaded ASan runtime (matplotlib's C++ code cannot throw under it).
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    env["MPLBACKEND"] = "Agg"
    r = subprocess.run([MPROF, "plot", *flags, "-o", str(png), name], cwd=our_files, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    from PIL import Image
    with Image.open(png) as im:
        assert im.size[0] > 500 and im.size[1] > 300
        assert len(im.convert("RGB").getcolors(1 << 20)) > 10  # something was drawn


@pytest.mark.parametrize("name", ["small.mprof.dat", "pool.mprof.dat"])
def test_our_peak_on_reference_matches_mprof(tmp_path, name):
    shutil.copy(os.path.join(MP_REFERENCE, name), tmp_path / name)
    theirs = mprof("peak", name, cwd=tmp_path)
    ours = memline("peak", name, cwd=tmp_path)
    assert theirs.returncode == 0 and ours.returncode == 0
    assert ours.stdout == theirs.stdout


def test_our_peak_func_on_reference_matches_mprof(tmp_path):
    shutil.copy(os.path.join(MP_REFERENCE, "small.mprof.dat"), tmp_path / "s.dat")
    for func in ("__main__.alloc", "__main__.outer"):
        theirs = mprof("peak", "--func", func, "s.dat", cwd=tmp_path)
        ours = memline("peak", "--func", func, "s.dat", cwd=tmp_path)
        assert ours.stdout == theirs.stdout


def test_our_plot_on_reference_marks_mprofs_maximum(tmp_path):
    for name, peak in (("small.mprof.dat", "84.496"), ("pool.mprof.dat", "87.750")):
        out = tmp_path / (name + ".svg")
        r = memline("plot", "-o", out, os.path.join(MP_REFERENCE, name))
        assert r.returncode == 0, r.stderr
        assert "max %s MiB" % peak in out.read_text()
