"""Report reading for the heap tests, on top of tests/helpers.py.

helpers.parse_report reads (and checks the framing of) memline's report;
this module adds what the heap tests need on top: values as whole bytes
(exact at precision >= 7, and the tests print at 12), a row found by any
part of its source, a block's total over the lines that ran, and the report
of a LineProfiler as text."""

import io

import helpers

MIB = helpers.MIB
REPO = helpers.REPO


class Row(helpers.Row):
    """helpers.Row with ``bytes(field)``."""

    def __init__(self, base):
        self.__dict__.update(vars(base))

    def bytes(self, field):
        """A MiB field as whole bytes."""
        v = getattr(self, field)
        if v is None:
            raise AssertionError("row %d has no %s value: %r" % (self.lineno, field, self.text))
        return int(round(v * MIB))


class Block(helpers.Block):
    """helpers.Block whose ``row`` matches any part of the source line."""

    def __init__(self, base):
        self.__dict__.update(vars(base))
        self.rows = [Row(r) for r in base.rows]

    @property
    def has_heap(self):
        return self.header == helpers.HEADER7

    def row(self, needle):
        """The one row whose source line contains needle."""
        hits = [r for r in self.rows if needle in r.source]
        if len(hits) != 1:
            raise AssertionError("%d rows contain %r in\n%s" % (len(hits), needle, self.text))
        return hits[0]

    def total(self, field):
        """Sum of a field over the rows that ran, in bytes."""
        return sum(r.bytes(field) for r in self.rows if r.seen)

    def __repr__(self):
        return "<Block %s\n%s>" % (self.filename, self.text)


def parse(text):
    """Every block of a report, in order."""
    return [Block(b) for b in helpers.parse_report(text)]


def only_block(text):
    """The one block of a report that must hold exactly one."""
    blocks = parse(text)
    if len(blocks) != 1:
        raise AssertionError("expected one report block, got %d:\n%s" % (len(blocks), text))
    return blocks[0]


def report_of(prof, precision=12):
    """prof's report as text (show_results into a string)."""
    import memline
    out = io.StringIO()
    memline.show_results(prof, stream=out, precision=precision)
    return out.getvalue()


def run_cli(args, cwd, timeout=120):
    """``python -m memline ARGS`` as a user runs it (helpers.run_memline)."""
    return helpers.run_memline(args, cwd, timeout=timeout)
