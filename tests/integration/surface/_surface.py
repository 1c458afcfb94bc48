"""Helpers for the surface tests: running memline (or memory_profiler) as a
program, reading line reports and FUNC lines, counting native threads."""

import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import child_env

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "memory_profiler-0.61"

# memory_profiler's row: '{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}' -- the first
# five columns of memline's rows must have the same layout.
ROW_HEAD = re.compile(r"^(?P<line>[ \d]{5}\d) (?P<mem>.{12}) (?P<inc>.{12})  (?P<occ>.{10})(?= )")
MIB = re.compile(r"^ *-?\d+(?:\.(?P<frac>\d+))? MiB$")
FUNC = re.compile(r"^FUNC (?P<name>\S*) (?P<mem_in>\d+\.\d{4}) (?P<t_in>\d+\.\d{4}) "
                  r"(?P<mem_out>\d+\.\d{4}) (?P<t_out>\d+\.\d{4}) (?P<depth>\d+)$")
MEM = re.compile(r"^MEM (?P<mem>\d+\.\d{6}) (?P<t>\d+\.\d{4})$")
MEMIT = re.compile(r"peak memory: (?P<peak>-?\d+\.\d\d) MiB, increment: (?P<inc>-?\d+\.\d\d) MiB")
MP_HEADER = "Line #    Mem usage    Increment  Occurrences   Line Contents"
ML_HEADER = ("Line #    Mem usage    Increment  Occurrences   Heap incr    Heap peak   "
             "Line Contents")


# Under `make test-asan` libasan is preloaded and its shadow memory adds an
# eighth to the RSS of each allocation.  Its quarantine keeps freed blocks
# resident and lets go of them at any moment, so the RSS of this process
# (pytest's) proves nothing then: the *_here checks pass, and the numbers are
# checked by the normal run.  Child processes get the quarantine turned off
# by helpers.child_env, and their numbers are checked in both runs.
SANITIZED = "asan" in os.environ.get("LD_PRELOAD", "")


def near(value, mib, tol=3.0):
    """value (MiB of RSS of a child process) shows an allocation of mib MiB."""
    return mib - tol <= value <= mib * (1.15 if SANITIZED else 1.0) + tol


def near_here(value, mib, tol=3.0):
    """near() for the RSS of this process."""
    return SANITIZED or near(value, mib, tol)


def at_least_here(value, bound):
    """value >= bound, for the RSS of this process."""
    return SANITIZED or value >= bound


def freed(value, mib, tol=3.0):
    """value (MiB of RSS of this process, <= 0) shows mib MiB given back."""
    return SANITIZED or near(-value, mib, tol)


def env():
    """The environment for a child Python (the installed memline)."""
    return child_env()


def run_python(args, cwd, stdin=None, timeout=60):
    """Runs this interpreter with args in cwd; returns the CompletedProcess."""
    return subprocess.run([sys.executable, *args], cwd=str(cwd), env=env(), input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def run_memline(args, cwd, stdin=None, timeout=60):
    return run_python(["-m", "memline", *args], cwd, stdin=stdin, timeout=timeout)


class Row:
    """One row of a line report."""

    def __init__(self, text, contents_col):
        self.text = text
        m = ROW_HEAD.match(text)
        if not m:
            raise AssertionError("row does not have memory_profiler's layout: %r" % text)
        self.lineno = int(m["line"])
        self.mem = m["mem"].strip()
        self.inc = m["inc"].strip()
        self.occ = m["occ"].strip()
        self.contents = text[contents_col:]
        # the source starts after three spaces (memline: after its own columns)
        assert text[contents_col - 3:contents_col] == "   ", text
        self.blank = not (self.mem or self.inc or self.occ)
        if not self.blank:
            for field in (m["mem"], m["inc"]):
                if not MIB.match(field):
                    raise AssertionError("bad MiB field %r in %r" % (field, text))
            if not self.occ.isdigit():
                raise AssertionError("bad occurrence count in %r" % text)

    def mib(self, field):
        return float(getattr(self, field).split()[0])

    def extra(self):
        """memline's Heap incr and Heap peak, in MiB."""
        fields = re.findall(r"-?\d+\.\d+ MiB", self.text[44:])
        return [float(f.split()[0]) for f in fields]


class Block:
    """One function's table: Filename line, header, rule, rows."""

    def __init__(self, filename, header, rule, rows):
        self.filename = filename
        self.header = header
        self.rule = rule
        self.rows = rows

    def row(self, contents):
        """The row whose source text, stripped, is contents."""
        for r in self.rows:
            if r.contents.strip() == contents:
                return r
        raise AssertionError("no row %r in %r" % (contents, [r.contents for r in self.rows]))


def parse_report(text):
    """The blocks of a line report in text; other lines are ignored.

    Raises AssertionError when a block is malformed."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("Filename: "):
            i += 1
            continue
        filename = lines[i][len("Filename: "):]
        assert lines[i + 1] == "", "no blank line after %r" % lines[i]
        header, rule = lines[i + 2], lines[i + 3]
        assert header in (MP_HEADER, ML_HEADER), "unexpected header %r" % header
        assert rule == "=" * len(header), "rule %r does not match header" % rule
        # memory_profiler's header puts "Line Contents" one column right of
        # where its rows put the source; memline's two columns are 26 wide.
        col = 47 if header == MP_HEADER else 73
        rows = []
        i += 4
        while i < len(lines) and lines[i].strip() and ROW_HEAD.match(lines[i]):
            rows.append(Row(lines[i], col))
            i += 1
        blocks.append(Block(filename, header, rule, rows))
    return blocks


def func_lines(text):
    """The FUNC lines of text, as match objects, in order."""
    return [FUNC.match(l) for l in text.splitlines() if l.startswith("FUNC ")]


def task_ids():
    """The ids of this process's native threads, as the kernel lists them."""
    return set(os.listdir("/proc/self/task"))


def rss_mib():
    """This process's resident set size in MiB, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 1048576.0
