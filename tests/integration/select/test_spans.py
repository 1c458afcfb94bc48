"""The source block a selected function's table covers is the one @profile
gives it (inspect.getsourcelines): on 3.11+ memline reads undecorated
functions' blocks from their code's positions, which must agree with
inspect on real code (the stdlib's modules and pytest's), and on the odd
shapes: docstring-only bodies, pass, multi-line signatures closed at the
def's indentation, trailing comments, nested functions, decorators."""

import inspect
import sys
import textwrap

import pytest

from memline import _select


def inspect_span(code):
    try:
        block, first = inspect.getsourcelines(code)
    except (OSError, TypeError):
        return None
    return (first, len(block)) if first >= 1 and block else None


def functions_of(path):
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    return list(_select._code_functions(code))


SHAPES = textwrap.dedent('''\
    def doc_only():
        """Only a docstring,
        over two lines."""


    def just_pass():
        pass


    def signature(
        a,
        b,
    ) -> int:
        return a + b


    def trailing_comment(x):
        y = x + 1
        return y
        # a comment at the body's indentation


    def nested(n):
        def inner(k):
            return [k] * k
        return inner(n)


    @staticmethod
    def decorated(x):
        return x


    async def coro():
        """doc"""
        return 1


    @property
    @abc.abstractmethod
    def abstract(self):
        """Only a docstring, under two decorators."""


    @pytest.mark.parametrize(
        "n",
        [1, 2],
    )
    def multiline_decorator(n):
        """And a body without instructions."""


    class C:
        def m(self):
            return (1,
                    2)

        @property
        def p(self):
            ...
    ''')


def test_odd_shapes(tmp_path):
    path = tmp_path / "shapes_mod.py"
    path.write_text(SHAPES, encoding="utf-8")
    funcs = functions_of(str(path))
    assert [q for q, _ in funcs] == ["doc_only", "just_pass", "signature", "trailing_comment",
                                     "nested", "decorated", "coro", "abstract",
                                     "multiline_decorator", "C.m", "C.p"]
    for qualname, code in funcs:
        assert _select._span(code) == inspect_span(code), qualname


@pytest.mark.parametrize("module", ["json.decoder", "email.message", "argparse", "asyncio.tasks",
                                    "importlib.resources.abc", "_pytest.fixtures",
                                    "_pytest.hookspec", "numpy.lib._function_base_impl",
                                    "pandas.core.frame", "pandas.core.generic"])
def test_real_modules(module):
    try:
        mod = __import__(module, fromlist=["_"])
    except ImportError:
        pytest.skip("%s is not importable here" % module)
    funcs = functions_of(mod.__file__)
    assert len(funcs) >= 9
    differ = [q for q, c in funcs if _select._span(c) != inspect_span(c)]
    assert differ == []
