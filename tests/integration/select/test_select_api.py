"""The same selection from the API: ``LineProfiler.add_function("selector")``,
``LineProfiler.add_module(module or name)``, memline._select.Selection (the
interface the child processes use), and ``%mprun -m`` in IPython.

Each test writes its own modules under a fresh name into a temporary folder
on sys.path, so that no test sees code another one registered."""

import importlib
import itertools
import sys
import textwrap

import pytest

import memline
from memline._select import Selection

from helpers import parse_report, report_of

_count = itertools.count()

SOURCE = textwrap.dedent("""\
    def grow(n):
        data = [0] * n
        return len(data)


    class K:
        def meth(self, n):
            return grow(n)
    """)


@pytest.fixture
def modname(tmp_path, monkeypatch):
    """The name of a fresh module (SOURCE) importable from tmp_path, not
    yet imported."""
    name = "selmod_%d_%d" % (id(tmp_path) % 10000, next(_count))
    (tmp_path / (name + ".py")).write_text(SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield name
    sys.modules.pop(name, None)


def names(prof):
    return [f["name"] for f in prof.to_dict()["functions"]]


def grow_rows(prof):
    func = [f for f in prof.to_dict()["functions"] if f["name"] == "grow"][0]
    return {ln["line"]: ln for ln in func["lines"] if ln["ran"]}


def test_add_function_with_a_selector_before_the_import(modname):
    prof = memline.LineProfiler()
    prof.add_function(modname + ":grow")
    with prof:
        mod = importlib.import_module(modname)
        from_import = getattr(mod, "grow")
        from_import(1_000_000)
    assert names(prof) == ["grow"]
    rows = grow_rows(prof)
    assert rows[2]["occurrences"] == 1
    assert abs(rows[2]["heap_incr"] - 8_000_000) < 4096


def test_add_module_after_the_import(modname):
    mod = importlib.import_module(modname)
    prof = memline.LineProfiler()
    prof.add_module(mod)
    with prof:
        mod.K().meth(10)
        mod.grow(10)
    assert names(prof) == ["grow", "K.meth"]
    assert grow_rows(prof)[1]["occurrences"] == 2


def test_add_module_by_name_for_a_later_import(modname):
    prof = memline.LineProfiler()
    prof.add_module(modname)
    with prof:
        importlib.import_module(modname).K().meth(5)
    assert names(prof) == ["grow", "K.meth"]  # in the order of their source
    text = report_of(prof, precision=3)
    assert [b.filename.endswith(modname + ".py") for b in parse_report(text)] == [True, True]


def test_a_selected_module_runs_unprofiled_outside_the_profiler(modname):
    prof = memline.LineProfiler()
    prof.add_function(modname)
    mod = importlib.import_module(modname)
    mod.grow(10)  # the profiler is off: nothing charged
    assert names(prof) == []


def test_malformed_selectors_raise_value_error_naming_them():
    prof = memline.LineProfiler()
    with pytest.raises(ValueError, match=r"^cannot parse selector 'a\.\.b': expected "):
        prof.add_function("a..b")
    with pytest.raises(ValueError, match=r"^cannot parse selector 'm:': "):
        prof.add_module("m:")
    with pytest.raises(TypeError, match="add_module takes a module or a selector string"):
        prof.add_module(42)


def test_add_function_still_takes_functions_and_refuses_other_things():
    prof = memline.LineProfiler()

    def f():
        return [1] * 10

    prof.add_function(f)
    with prof:
        f()
    assert names(prof) == ["test_add_function_still_takes_functions_and_refuses_other_things"
                           ".<locals>.f"]
    with pytest.raises(memline.ProfileError):
        prof.add_function(42)


def test_selection_interface(modname, tmp_path):
    sel = Selection([modname + ":K.meth", "no_such_mod", str(tmp_path / (modname + ".py"))
                     + ":grow"])
    assert sel.unmatched() == [modname + ":K.meth", "no_such_mod",
                               str(tmp_path / (modname + ".py")) + ":grow"]
    prof = memline.LineProfiler()
    sel.attach(prof)
    with prof:
        importlib.import_module(modname).K().meth(3)
    assert names(prof) == ["grow", "K.meth"]
    assert sel.unmatched() == ["no_such_mod"]
    # File selectors come back absolute, for a child with another cwd.
    assert sel.spec()[2].startswith("/")
    with pytest.raises(ValueError, match="'x y'"):
        Selection(["x y"])


def test_two_profilers_on_one_selection(modname):
    sel = Selection([modname + ":grow"])
    one, two = memline.LineProfiler(), memline.LineProfiler()
    sel.attach(one)
    sel.attach(two)
    mod = importlib.import_module(modname)
    with one:
        mod.grow(1)
    with two:
        mod.grow(2)
        mod.grow(3)
    assert grow_rows(one)[2]["occurrences"] == 1
    assert grow_rows(two)[2]["occurrences"] == 2


def test_a_dead_profiler_leaves_the_import_hook_harmless(modname):
    prof = memline.LineProfiler()
    prof.add_module(modname)
    del prof
    import gc
    gc.collect()
    mod = importlib.import_module(modname)
    assert mod.grow(4) == 4
    assert "exec_module" not in vars(mod.__loader__)


MPRUN = textwrap.dedent("""\
    import sys
    from IPython.testing.globalipapp import start_ipython
    from IPython.core.error import UsageError
    shell = start_ipython()
    shell.run_line_magic("load_ext", "memline")
    shell.run_cell("import {mod}")
    prof = shell.run_line_magic("mprun", "-r -m {mod} {mod}.K().meth(7)")
    print()
    print("NAMES", [f["name"] for f in prof.to_dict()["functions"]])
    try:
        shell.run_line_magic("mprun", "-m bad..name {mod}.grow(1)")
    except UsageError as e:
        print("USAGE", e)
    """)


def test_mprun_m_profiles_a_module(modname, tmp_path):
    """In its own IPython (a child process: the suite's shared test shell
    belongs to the surface tests)."""
    pytest.importorskip("IPython")
    from helpers import run_python
    script = tmp_path / "mprun_m.py"
    script.write_text(MPRUN.format(mod=modname), encoding="utf-8")
    proc = run_python([script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert "NAMES ['grow', 'K.meth']" in out
    report = proc.stdout[:proc.stdout.index("NAMES")].rstrip("\n")
    assert [b.filename for b in parse_report(report, stripped=True)] == [
        str(tmp_path / (modname + ".py"))] * 2
    assert ("USAGE cannot parse selector 'bad..name': expected pkg.module, pkg.module:func, "
            "pkg.module:Class.method, path/to/file.py or path/to/file.py:func") in out


ODD = textwrap.dedent("""\
    import functools


    class Weird:
        def __getattr__(self, name):
            raise RuntimeError("no attribute is safe here: " + name)


    WEIRD = Weird()


    def deco(f):
        @functools.wraps(f)
        def wrapper(*args):
            return f(*args)
        return wrapper


    @deco
    def wrapped(n):
        return [0] * n


    class Lazy:
        @functools.cached_property
        def value(self):
            return [1] * 10
    """)


def test_a_namespace_with_odd_objects(tmp_path, monkeypatch):
    """A module that already ran is read through its namespace: an object
    whose __getattr__ raises is left alone, functools.wraps chains and
    cached_property are followed."""
    name = "selodd_%d" % next(_count)
    (tmp_path / (name + ".py")).write_text(ODD, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module(name)
    try:
        prof = memline.LineProfiler()
        prof.add_module(mod)
        with prof:
            mod.wrapped(3)
            mod.Lazy().value
        # wrapper is nested in deco: its lines are in deco's table, as under @profile.
        assert names(prof) == ["deco", "wrapped", "Lazy.value"]
    finally:
        sys.modules.pop(name, None)
