"""Parsing memline's line report for the heap tests.

A report is a sequence of blocks, one per profiled function:

    Filename: /path/to/file.py

    Line #    Mem usage    Increment  Occurrences   Heap incr    Heap peak   Line Contents
    ==================================================================================
         9   13.430 MiB    0.000 MiB           1    0.000 MiB    0.000 MiB   @profile

Values are MiB with the report's precision; at precision 12 they convert back
to whole bytes exactly (``Row.bytes``).  Cells widen past their 12 columns at
high precision, so rows are read by pattern, not by column position.
"""

import io
import os
import re
import subprocess
import sys

MIB = 1048576
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_NUM = r"(-?\d+(?:\.\d*)?) MiB"
_ROW_HEAP = re.compile(
    r"^\s*(\d+)\s+" + _NUM + r"\s+" + _NUM + r"\s+(\d+)\s+" + _NUM + r"\s+" + _NUM
    + r"(?:   (.*))?$")
_ROW_PLAIN = re.compile(
    r"^\s*(\d+)\s+" + _NUM + r"\s+" + _NUM + r"\s+(\d+)(?:   (.*))?$")
_ROW_EMPTY = re.compile(r"^\s*(\d+)(?:\s{3,}(.*))?$")


class Row:
    """One numbered row.  MiB values as floats; ``None`` heap values when the
    report has no heap columns; ``seen`` False for lines that never ran."""

    def __init__(self, lineno, source, seen, mem=None, incr=None, occurrences=0,
                 heap_incr=None, heap_peak=None):
        self.lineno = lineno
        self.source = source
        self.seen = seen
        self.mem = mem
        self.incr = incr
        self.occurrences = occurrences
        self.heap_incr = heap_incr
        self.heap_peak = heap_peak

    def bytes(self, field):
        """A MiB field as whole bytes (exact at precision >= 7)."""
        v = getattr(self, field)
        if v is None:
            raise AssertionError("row %d has no %s value: %r" % (self.lineno, field, self))
        return int(round(v * MIB))

    def __repr__(self):
        if not self.seen:
            return "<Row %d never ran: %r>" % (self.lineno, self.source)
        return ("<Row %d mem=%r incr=%r occ=%d heap_incr=%r heap_peak=%r: %r>"
                % (self.lineno, self.mem, self.incr, self.occurrences, self.heap_incr,
                   self.heap_peak, self.source))


class Block:
    """One function's table."""

    def __init__(self, filename):
        self.filename = filename
        self.header = ""
        self.rows = []

    @property
    def has_heap(self):
        return "Heap incr" in self.header

    def row(self, needle):
        """The single row whose source contains needle (stripped match)."""
        hits = [r for r in self.rows if needle in r.source]
        if len(hits) != 1:
            raise AssertionError("%d rows contain %r in:\n%s"
                                 % (len(hits), needle, "\n".join(map(repr, self.rows))))
        return hits[0]

    def line(self, lineno):
        for r in self.rows:
            if r.lineno == lineno:
                return r
        raise AssertionError("no row %d" % lineno)

    def total(self, field):
        """Sum of a field over the rows that ran, in bytes."""
        return sum(r.bytes(field) for r in self.rows if r.seen)

    def __repr__(self):
        return "<Block %s\n  %s>" % (self.filename, "\n  ".join(map(repr, self.rows)))


def parse(text):
    """Every block of a report, in order."""
    blocks = []
    cur = None
    for line in text.splitlines():
        if line.startswith("Filename: "):
            cur = Block(line[len("Filename: "):])
            blocks.append(cur)
            continue
        if cur is None or not line.strip():
            continue
        if line.startswith("Line #"):
            cur.header = line
            continue
        if set(line) == {"="}:
            continue
        m = (_ROW_HEAP if cur.has_heap else _ROW_PLAIN).match(line)
        if m:
            g = m.groups()
            if cur.has_heap:
                cur.rows.append(Row(int(g[0]), g[6] or "", True, float(g[1]), float(g[2]),
                                    int(g[3]), float(g[4]), float(g[5])))
            else:
                cur.rows.append(Row(int(g[0]), g[4] or "", True, float(g[1]), float(g[2]),
                                    int(g[3])))
            continue
        m = _ROW_EMPTY.match(line)
        if m:
            cur.rows.append(Row(int(m.group(1)), m.group(2) or "", False))
    return blocks


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


def run_cli(args, cwd=None, timeout=120, env_extra=None):
    """``python -m memline ARGS`` with this interpreter and this checkout on
    the path; returns the CompletedProcess (text mode)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if env_extra:
        env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "memline"] + list(args), cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)
