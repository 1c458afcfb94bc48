"""Fixtures of the native-memory tests: small C libraries compiled by the
test setup, as a user's C extension would be, with the system compiler."""

import os
import shutil
import subprocess

import pytest

from helpers import REPO


def _numpy_data_is_native():
    """Whether numpy takes its array data from malloc (native memory) or,
    as numpy 2.5 and later do, from Python's raw allocator (PyMem_RawMalloc:
    the Python heap).  Either way the heap columns count it once; the split
    between Python and native differs."""
    try:
        import numpy
        from numpy.lib import NumpyVersion
    except ImportError:
        return True
    return NumpyVersion(numpy.__version__) < "2.5.0"


NUMPY_NATIVE = _numpy_data_is_native()

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE_C = os.path.join(REPO, "tests", "unit", "c", "native")
CORE = os.path.join(REPO, "src")


def compile_lib(out_dir, name, sources, extra=()):
    """Builds lib<name>.so from sources into out_dir; returns its path.
    -fno-builtin keeps every malloc and free a real call through the
    library's own relocations."""
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "no C compiler"
    path = os.path.join(str(out_dir), "lib%s.so" % name)
    cmd = [cc, "-std=c11", "-D_GNU_SOURCE", "-O1", "-fPIC", "-shared", "-fno-builtin",
           "-I" + CORE, "-I" + NATIVE_C, *sources, "-o", path, "-ldl", "-lpthread", *extra]
    # A sanitizer preload must not reach the compiler.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return path


@pytest.fixture(scope="session")
def libs(tmp_path_factory):
    """Paths of the test libraries: nalloc (each function makes exactly the
    one call its name says), a copy of it under another name (never loaded
    before a test loads it, for the dlopen path), cthread (allocations of C
    threads), faketool (another tool that patches malloc's slots) and
    prepatched (a library whose malloc slot another tool rewrote)."""
    d = tmp_path_factory.mktemp("native-libs")
    nalloc = compile_lib(d, "nalloc", [os.path.join(NATIVE_C, "nalloc.c")])
    late = os.path.join(str(d), "libnalloc_late.so")
    shutil.copy(nalloc, late)
    cthread = compile_lib(d, "cthread", [os.path.join(HERE, "cthread.c")])
    fake = compile_lib(d, "faketool", [os.path.join(NATIVE_C, "faketool.c"),
                                       os.path.join(CORE, "core", "symhook_elf.c"),
                                       os.path.join(CORE, "core", "elfdyn.c"),
                                       os.path.join(CORE, "core", "mlalloc.c"),
                                       os.path.join(CORE, "core", "mlerr.c")],
                       extra=["-fvisibility=hidden"])
    prepatched = compile_lib(d, "prepatched", [os.path.join(HERE, "prepatched.c")],
                             extra=["-Wl,-z,norelro", "-Wl,-z,lazy"])
    return {"nalloc": nalloc, "late": late, "cthread": cthread, "faketool": fake,
            "prepatched": prepatched, "dir": str(d)}
