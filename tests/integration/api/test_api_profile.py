"""``from memline import profile`` in place of memory_profiler's: bare and
with (precision=, stream=, backend=), a report after every call (the
outermost one for recursion, and also when the call raised), the wrapped
function's attributes, methods, class and static methods, and what it
refuses."""

import functools
import inspect
import io
import textwrap

import pytest

import memline
from memline import profile
from helpers import (check_block, fresh_function, lineno_of, only_block, parse_report,
                     run_python, write)

HERE = __file__


def first_line(func):
    """The first line of func's block: its first decorator's."""
    return inspect.unwrap(func).__code__.co_firstlineno


# ---- bare ----

@profile
def bare(n):
    """Bare decorator."""
    data = [0] * n
    return len(data)


def test_bare_prints_after_every_call(capsys):
    assert bare(1000) == 1000
    first = capsys.readouterr()
    assert bare(10) == 10
    second = capsys.readouterr()
    for out in (first, second):
        assert out.err == ""
        block = only_block(out.out)
        assert out.out == block.text
        assert block.filename == HERE
        # Default precision 1; rows from the decorator to the last line.
        check_block(block, 1, path=HERE, first=first_line(bare),
                    last=lineno_of(HERE, "return len(data)"))
        # A fresh table per call: each line once.
        assert block.row("data = [0] * n").occurrences == 1
        assert block.row("@profile").occurrences == 1
        assert not block.row('"""Bare decorator."""').seen


def test_bare_passes_arguments_and_results():
    @profile(stream=io.StringIO())
    def f(a, b=2, *args, c, **kw):
        return a, b, args, c, kw

    assert f(1, c=3) == (1, 2, (), 3, {})
    assert f(1, 5, 6, 7, c=8, d=9) == (1, 5, (6, 7), 8, {"d": 9})


# ---- with options ----

def test_precision_option(capsys):
    @profile(precision=4)
    def f():
        x = 1
        return x

    f()
    out = capsys.readouterr().out
    check_block(only_block(out), 4, path=HERE)


def allocates():
    x = [1] * 10000
    return len(x)


@pytest.mark.parametrize("precision", [0, 2, 3, 6])
def test_precision_values(precision):
    s = io.StringIO()
    # Each parameter profiles its own copy (see test_decorating_in_a_loop).
    f = profile(stream=s, precision=precision)(fresh_function(allocates))
    assert f() == 10000
    check_block(only_block(s.getvalue()), precision, path=HERE,
                first=lineno_of(HERE, "def allocates():"))


def test_stream_receives_the_report(capsys):
    s = io.StringIO()

    @profile(stream=s)
    def f():
        return 3

    assert f() == 3
    assert capsys.readouterr().out == ""
    block = only_block(s.getvalue())
    assert s.getvalue() == block.text
    check_block(block, 1, path=HERE, first=first_line(f))
    f()
    assert len(parse_report(s.getvalue())) == 2


def test_called_with_the_function_and_options():
    s = io.StringIO()

    def f():
        return 4

    g = profile(f, stream=s, precision=2)
    assert g() == 4
    check_block(only_block(s.getvalue()), 2, path=HERE)


@pytest.mark.parametrize("backend", ["rss", "pss", "uss", "psutil", "psutil_pss",
                                     "psutil_uss", "posix"])
def test_backend_option(backend):
    s = io.StringIO()
    f = profile(stream=s, backend=backend)(fresh_function(allocates))
    assert f() == 10000
    block = only_block(s.getvalue())
    check_block(block, 1, path=HERE)
    assert block.row("x = [1] * 10000").mem > 1


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        profile(backend="nope")
    with pytest.raises(ValueError):
        profile(lambda: 1, backend="nope")


def test_allocation_is_measured():
    """A line that allocates and touches 40 MiB shows about +40 MiB."""
    s = io.StringIO()

    @profile(stream=s, precision=3)
    def f():
        b = bytearray(40 << 20)
        b[::4096] = b"\x01" * len(range(0, 40 << 20, 4096))
        return b

    keep = f()
    block = only_block(s.getvalue())
    grown = block.row("b = bytearray").incr + block.row("b[::4096]").incr
    assert grown == pytest.approx(40, rel=0.05), block
    del keep


# ---- the wrapped function ----

def documented(a, b):
    """Adds a and b."""
    return a + b


def test_wraps_attributes():
    wrapped = profile(stream=io.StringIO())(documented)
    assert wrapped.__name__ == "documented"
    assert wrapped.__qualname__ == "documented"
    assert wrapped.__doc__ == "Adds a and b."
    assert wrapped.__module__ == documented.__module__
    assert wrapped.__wrapped__ is documented
    assert inspect.signature(wrapped) == inspect.signature(documented)
    assert wrapped(2, 3) == 5


def test_wraps_attributes_of_a_method():
    class K:
        @profile(stream=io.StringIO())
        def method(self):
            """Method doc."""
            return self

    assert K.method.__name__ == "method"
    assert K.method.__qualname__.endswith("K.method")
    assert K.method.__doc__ == "Method doc."
    k = K()
    assert k.method() is k


# ---- methods ----

class Shapes:
    out = io.StringIO()

    def __init__(self, n):
        self.n = n

    @profile(stream=out)
    def method(self, k):
        total = self.n * k
        return total

    @classmethod
    @profile(stream=out)
    def class_inner(cls, k):
        name = cls.__name__
        return name, k

    @profile(stream=out)
    @classmethod
    def class_outer(cls, k):
        name = cls.__name__
        return name, k + 1

    @staticmethod
    @profile(stream=out)
    def static_inner(k):
        doubled = k * 2
        return doubled

    @profile(stream=out)
    @staticmethod
    def static_outer(k):
        tripled = k * 3
        return tripled


class MoreShapes(Shapes):
    pass


@pytest.mark.parametrize("call,result,line", [
    (lambda: Shapes(3).method(2), 6, "total = self.n * k"),
    (lambda: Shapes.class_inner(1), ("Shapes", 1), "name = cls.__name__"),
    (lambda: Shapes(0).class_inner(1), ("Shapes", 1), "name = cls.__name__"),
    (lambda: MoreShapes.class_inner(1), ("MoreShapes", 1), "name = cls.__name__"),
    (lambda: Shapes.class_outer(1), ("Shapes", 2), "name = cls.__name__"),
    (lambda: MoreShapes(0).class_outer(1), ("MoreShapes", 2), "name = cls.__name__"),
    (lambda: Shapes.static_inner(4), 8, "doubled = k * 2"),
    (lambda: Shapes(0).static_inner(4), 8, "doubled = k * 2"),
    (lambda: Shapes.static_outer(4), 12, "tripled = k * 3"),
    (lambda: Shapes(0).static_outer(4), 12, "tripled = k * 3"),
])
def test_methods(call, result, line):
    """Each kind of method still works through the decorator (in either
    order with classmethod/staticmethod) and is profiled."""
    Shapes.out.seek(0)
    Shapes.out.truncate()
    assert call() == result
    block = only_block(Shapes.out.getvalue())
    check_block(block, 1, path=HERE)
    assert block.row(line).occurrences == 1


def test_decorated_class_and_static_methods_keep_their_kind():
    assert isinstance(Shapes.__dict__["class_outer"], classmethod)
    assert isinstance(Shapes.__dict__["static_outer"], staticmethod)


# ---- recursion, exceptions, nesting ----

def test_recursion_reports_once_for_the_outermost_call():
    s = io.StringIO()

    @profile(stream=s)
    def depth(n):
        if n == 0:
            return 0
        return 1 + depth(n - 1)

    assert depth(5) == 5
    block = only_block(s.getvalue())
    check_block(block, 1, path=HERE)
    assert block.row("@profile").occurrences == 6
    assert block.row("if n == 0:").occurrences == 6
    assert block.row("return 0").occurrences == 1
    assert block.row("return 1 + depth").occurrences == 5


class Boom(Exception):
    pass


def test_report_also_when_the_call_raises():
    """memline's choice: the report prints, then the exception propagates
    unchanged."""
    s = io.StringIO()
    err = Boom("bang")

    @profile(stream=s)
    def fails():
        x = [1] * 100
        raise err

    with pytest.raises(Boom) as info:
        fails()
    assert info.value is err
    # The traceback ends in the function's own frame.
    assert info.traceback[-1].name == "fails"
    block = only_block(s.getvalue())
    check_block(block, 1, path=HERE)
    assert block.row("x = [1] * 100").occurrences == 1
    assert block.row("raise err").occurrences == 1
    # And the next call reports afresh.
    with pytest.raises(Boom):
        fails()
    assert [b.row("raise err").occurrences for b in parse_report(s.getvalue())] == [1, 1]


def test_nested_code_is_charged_to_the_same_table():
    s = io.StringIO()

    @profile(stream=s)
    def outer(n):
        def inner(k):
            return [k] * k
        squares = [x * x for x in range(n)]
        lengths = sum(len(inner(j)) for j in range(3))
        return len(squares), lengths

    assert outer(100) == (100, 3)
    block = only_block(s.getvalue())
    check_block(block, 1, path=HERE)
    assert block.row("return [k] * k").occurrences == 3
    assert 100 < block.row("squares = ").occurrences <= 2 * 100 + 3
    assert 3 < block.row("lengths = ").occurrences


def test_profiling_twice_reports_each_wrapper():
    s1, s2 = io.StringIO(), io.StringIO()

    def f():
        return 1

    g = profile(stream=s1)(f)
    h = profile(stream=s2)(g)
    assert h() == 1
    assert f() == 1
    assert only_block(s2.getvalue()).row("return 1").occurrences == 1


# ---- refusals ----

class NotAFunction:
    pass


@pytest.mark.parametrize("target", [42, len, NotAFunction, NotAFunction(), "text", None.__class__,
                                    functools.partial(documented, 1), print])
def test_profile_of_a_non_function_raises(target):
    assert issubclass(memline.ProfileError, TypeError)
    with pytest.raises(memline.ProfileError):
        profile(target)
    with pytest.raises(TypeError):
        profile(stream=io.StringIO())(target)


def test_source_not_found_warns_and_runs(capsys):
    ns = {}
    exec("def made(n):\n    return [0] * n\n", ns)
    f = profile(ns["made"])
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memline: warning: "), err
    assert "made" in lines[0]
    assert f(3) == [0, 0, 0]
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


LOOP = textwrap.dedent("""\
    import io

    from memline import profile


    def make():
        def inner(n):
            data = [0] * n
            return len(data)
        return inner


    out = io.StringIO()
    for i in range(3000):
        f = profile(stream=out)(make())  # a new function, the same code object
        assert f(10) == 10
    print("reports", out.getvalue().count("Filename: "))
    """)


def test_decorating_in_a_loop(tmp_path):
    """A function defined inside another and decorated at each call, as
    factories and closures do: every call reports, nothing crashes.  (Each
    profile() makes a profiler that only its wrapper keeps, in a reference
    cycle; one freed by the cyclic GC must leave no registration on inner's
    code behind, or the next call reads freed memory.)"""
    proc = run_python([write(tmp_path / "loop.py", LOOP)], tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout == "reports 3000\n"
