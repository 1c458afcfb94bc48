"""``pip install .`` into a fresh virtual environment gives a working
``memline`` command: the PEP 517 build compiles the extension, and the
installed command profiles the seed example with nothing from this checkout
on the path.  Slow (a real build): marked ``slow``, runs by
default."""

import os
import shutil
import sys

import pytest

from helpers import REPO, check_block, child_env, only_block, run

B_MIB = 2 * 10 ** 7 * 8 / 2 ** 20


def clean_env():
    """No checkout on PYTHONPATH and no sanitizer runtime: the installed
    package is built with the platform's normal flags."""
    env = child_env()
    for name in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC",
                 "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    return env


@pytest.mark.slow
def test_pip_install_gives_a_working_memline_command(tmp_path):
    # Build from a copy of the source tree, so the build never writes into
    # the checkout (others may be building there) and nothing built in place
    # (memline/*.so, build/) can stand in for what pip builds.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "out", "dist", "*.so", "*.o", "__pycache__", ".pytest_cache",
        "*.egg-info"))
    venv = tmp_path / "venv"
    env = clean_env()
    proc = run([sys.executable, "-m", "venv", venv], tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    py = venv / "bin" / "python"
    proc = run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", src],
               tmp_path, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # The package imports from the venv, not from the checkout, also when
    # the checkout is the current directory (the package lives under src/,
    # so nothing in the checkout's top folder can shadow it).
    for cwd in (tmp_path, src):
        proc = run([py, "-c", "import memline, sys; print(memline.__file__); "
                    "print(memline.__version__)"], cwd, env=env)
        assert proc.returncode == 0, proc.stderr
        where, version = proc.stdout.split("\n")[:2]
        assert where.startswith(str(venv)), where
        assert not where.startswith(REPO)

    # python -m memline on the checkout's example, from inside the checkout.
    proc = run([py, "-m", "memline", "--precision", "1", os.path.join("examples", "seed_big.py")],
               src, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    inside = only_block(proc.stdout)
    assert inside.row("b = [2] * (2 * 10 ** 7)").incr == pytest.approx(B_MIB, rel=0.02)

    # The command, as a user runs it, on the seed example.
    work = tmp_path / "work"
    work.mkdir()
    script = work / "seed_big.py"
    shutil.copy(os.path.join(REPO, "examples", "seed_big.py"), script)
    memline = venv / "bin" / "memline"
    assert memline.exists()
    proc = run([memline, "seed_big.py"], work, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    block = only_block(proc.stdout)
    # Python makes a script's filename absolute from 3.9; 3.8 keeps it as typed.
    assert block.filename == (str(script) if sys.version_info >= (3, 9) else "seed_big.py")
    check_block(block, 3, path=script, first=9, last=14)
    assert block.row("b = [2] * (2 * 10 ** 7)").incr == pytest.approx(B_MIB, rel=0.02)
    assert block.row("del b").incr == pytest.approx(-B_MIB, rel=0.02)

    # --version and bad input through the installed command.
    proc = run([memline, "--version"], work, env=env)
    assert proc.returncode == 0 and version in proc.stdout, proc
    proc = run([memline, "missing.py"], work, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("memline: error: ") and proc.stderr.count("\n") == 1
