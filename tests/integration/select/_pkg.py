"""The package the selector tests select from: mypkg, written into a
temporary folder, imported by the program after memline started.

mypkg/work.py holds one of each kind of code @profile handles (a function
with a nested function, methods, a static and a class method, a property,
a generator, a coroutine), allocating known sizes: 1_000_000 list slots are
7.629 MiB of heap."""

import textwrap

WORK = textwrap.dedent('''\
    import asyncio


    def build(n):
        def inner(k):
            return [k] * k
        keep = [0] * n
        extra = inner(1000)
        return len(keep) + len(extra)


    class Store:
        def __init__(self):
            self.items = []

        def add(self, n):
            block = [1] * n
            self.items.append(block)
            return len(block)

        @staticmethod
        def plain(n):
            return len([2] * n)

        @classmethod
        def make(cls):
            return cls()

        @property
        def size(self):
            return sum(len(b) for b in self.items)


    def gen(n):
        for i in range(n):
            yield [i] * 1000


    async def coro(n):
        await asyncio.sleep(0)
        return len([3] * n)


    def untouched():
        return 0
    ''')

UTIL = textwrap.dedent('''\
    def helper(n):
        data = bytearray(n)
        return len(data)
    ''')

PROGRAM = textwrap.dedent('''\
    import asyncio
    import sys


    def main():
        import mypkg.work
        from mypkg.work import build, Store, gen, coro
        from mypkg.util import helper
        build(1_000_000)
        s = Store.make()
        s.add(10)
        s.add(20)
        Store.plain(5)
        print("size", s.size)
        print("gen", sum(len(x) for x in gen(3)))
        print("coro", asyncio.run(coro(7)))
        print("helper", helper(100))


    main()
    ''')

# Every function of mypkg.work that the program runs, by qualified name.
WORK_RAN = ["build", "Store.make", "Store.__init__", "Store.add", "Store.plain",
            "Store.size", "gen", "coro"]


def make(tmp_path):
    """Writes mypkg and prog.py into tmp_path; returns prog.py's path."""
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "work.py").write_text(WORK, encoding="utf-8")
    (pkg / "util.py").write_text(UTIL, encoding="utf-8")
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM, encoding="utf-8")
    return prog
