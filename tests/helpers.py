"""Shared helpers for every Python test: reading line reports (memline's
and memory_profiler's own), the one formatter of expected rows, and
running Python or ``python -m memline`` in a child process as a user would.

The report is memory_profiler's:

    Filename: /path/to/script.py
    <blank>
    Line #    Mem usage    Increment  Occurrences   Line Contents
    =============================================================
         9   13.402 MiB    0.000 MiB           1   @profile
        10                                         def my_func():
    <blank>
    <blank>

Rows follow ``'{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}'`` with values
``'{:{p+4}.{p}f} MiB'``.  memline adds ``Heap incr`` and ``Heap peak`` (the
heap columns) after Occurrences and before Line Contents: ``' {:>12} {:>12}'``
more per row that ran, 26 spaces more per row that never ran.  With
``--native-columns`` two more follow, ``Native incr`` and ``Native peak``,
in the same form (9 columns).  Every layout check goes through
``format_row`` and ``check_block``, which accept every form; the form is
read from the header line.

memory_profiler 0.61's own report has the same framing (checked against its
real output: each row ends with its source line's newline, which linecache
adds also to a last line that has none), so one parser reads both.  The one
difference is %mprun, in memory_profiler and memline alike: it strips the
report before paging it and writing it to ``-T`` file, so the last block
loses its blank lines (``parse_report(text, stripped=True)``).
"""

import io
import os
import pathlib
import re
import signal
import subprocess
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
# memory_profiler 0.61's own inputs and outputs (tests/data/.../README.md).
MP_REFERENCE = pathlib.Path(REPO, "tests", "data", "memory_profiler-0.61")
# The sanitizer run (`make test-asan`) preloads libasan into the tests' Python.
SANITIZED = "asan" in os.environ.get("LD_PRELOAD", "")
# What [float(x) for x in range(100000)] holds, in MiB: the floats at
# pymalloc's 32-byte class and the list's array, or at malloc's 24 usable
# bytes under PYTHONMALLOC=malloc (the sanitizer run sets it).
FLOATS_100K = 3.052 if os.environ.get("PYTHONMALLOC") == "malloc" else 3.815

HEADER5 = "Line #    Mem usage    Increment  Occurrences   Line Contents"
HEADER7 = ("Line #    Mem usage    Increment  Occurrences   Heap incr    Heap peak   "
           "Line Contents")
HEADER9 = ("Line #    Mem usage    Increment  Occurrences   Heap incr    Heap peak  "
           "Native incr  Native peak   Line Contents")
HEADERS = {HEADER5: 5, HEADER7: 7, HEADER9: 9}
# memory_profiler 0.61's row template, and memline's two extra cells.
TEMPLATE5 = "{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}"
HEAP_CELLS = " {0:>12} {1:>12}"

_VALUE = r"(-?\d+(?:\.\d*)?) MiB"
_ROW5 = re.compile(r"^ *(\d+) +" + _VALUE + r" +" + _VALUE + r" +(\d+)")
_ROW7 = re.compile(r"^ *(\d+) +" + _VALUE + r" +" + _VALUE + r" +(\d+) +" + _VALUE
                   + r" +" + _VALUE)
_ROW9 = re.compile(r"^ *(\d+) +" + _VALUE + r" +" + _VALUE + r" +(\d+) +" + _VALUE
                   + r" +" + _VALUE + r" +" + _VALUE + r" +" + _VALUE)
_ROWS = {5: _ROW5, 7: _ROW7, 9: _ROW9}
# A MiB cell, with the digits after its point (none at precision 0).
_CELL = re.compile(r"-?\d+(?:\.(\d*))? MiB")
# The line number a row starts with, whether the line ran or not.
ROW_START = re.compile(r"^ *(\d+)(?= |$)")


def mib(value, precision):
    """One MiB cell's text, as memory_profiler writes it: '{:{p+4}.{p}f} MiB'."""
    return "{0:{1}.{2}f} MiB".format(value, precision + 4, precision)


def format_row(lineno, source, precision=1, columns=5, mem=None, incr=None,
               occurrences=None, heap_incr=None, heap_peak=None, native_incr=None,
               native_peak=None):
    """The exact text (without newline) of one row: memory_profiler's template
    for the first five columns, memline's two heap cells inserted before the
    source when columns >= 7, and the two native cells after them when
    columns == 9.  mem None means the line never ran."""
    if columns not in (5, 7, 9):
        raise ValueError("columns must be 5, 7 or 9")
    if mem is None:
        head = TEMPLATE5.format(lineno, "", "", "", "")[:-3]
        extra = HEAP_CELLS.format("", "") * ((columns - 5) // 2)
    else:
        head = TEMPLATE5.format(lineno, mib(mem, precision), mib(incr, precision),
                                occurrences, "")[:-3]
        extra = ""
        if columns >= 7:
            extra += HEAP_CELLS.format(mib(heap_incr, precision), mib(heap_peak, precision))
        if columns == 9:
            extra += HEAP_CELLS.format(mib(native_incr, precision), mib(native_peak, precision))
    return head + extra + "   " + source


class Row:
    """One row of a block.  Values are MiB floats as printed; ``seen`` is False
    for a line that never ran (then the values are None)."""

    def __init__(self, text, lineno, source, seen, mem=None, incr=None, occurrences=None,
                 heap_incr=None, heap_peak=None, native_incr=None, native_peak=None):
        self.text = text
        self.lineno = lineno
        self.source = source
        self.seen = seen
        self.mem = mem
        self.incr = incr
        self.occurrences = occurrences
        self.heap_incr = heap_incr
        self.heap_peak = heap_peak
        self.native_incr = native_incr
        self.native_peak = native_peak

    def bytes(self, field):
        """A MiB field ("mem", "incr", "heap_incr", "heap_peak",
        "native_incr", "native_peak") as whole bytes: exact at precision >= 7
        (report_of prints at 12)."""
        v = getattr(self, field)
        if v is None:
            raise AssertionError("row %d has no %s value: %r" % (self.lineno, field, self.text))
        return int(round(v * MIB))

    def __repr__(self):
        return "<Row %r>" % self.text


class Block:
    """One function's table, with its exact text (``text``) from the
    ``Filename:`` line through the two blank lines that end it (or through
    its last row, in a stripped report)."""

    def __init__(self, filename, header, rule, rows, text, note=None):
        self.note = note  # the line under Filename: of a run of several processes
        self.filename = filename
        self.header = header
        self.rule = rule
        self.rows = rows
        self.text = text

    @property
    def columns(self):
        """7 with memline's heap columns, 9 with the native ones too, 5
        without (memory_profiler's form)."""
        return HEADERS[self.header]

    @property
    def precision(self):
        """The number of digits after the point of every MiB cell of the
        rows that ran (AssertionError when they differ)."""
        digits = {len(d) for r in self.rows if r.seen
                  for d in _CELL.findall(r.text[:len(r.text) - len(r.source)])}
        if len(digits) != 1:
            raise AssertionError("MiB cells with %r digits in\n%s" % (sorted(digits), self.text))
        return digits.pop()

    def _one(self, hits, what, needle):
        if len(hits) != 1:
            raise AssertionError("%d rows %s %r in\n%s" % (len(hits), what, needle, self.text))
        return hits[0]

    def row(self, needle):
        """The one row whose source, stripped, starts with needle."""
        return self._one([r for r in self.rows if r.source.strip().startswith(needle)],
                         "start with", needle)

    def find(self, needle):
        """The one row whose source contains needle anywhere."""
        return self._one([r for r in self.rows if needle in r.source], "contain", needle)

    def line(self, lineno):
        """The row of line lineno."""
        for r in self.rows:
            if r.lineno == lineno:
                return r
        raise AssertionError("no row %d in\n%s" % (lineno, self.text))

    def total(self, field):
        """The sum of a MiB field over the rows that ran, in bytes."""
        return sum(r.bytes(field) for r in self.rows if r.seen)

    def __repr__(self):
        return "<Block %s\n%s>" % (self.filename, self.text)


def _parse_row(line, columns):
    m = _ROWS[columns].match(line)
    if m and line[m.end():m.end() + 3] == "   ":
        g = m.groups()
        source = line[m.end() + 3:]
        extra = [float(v) for v in g[4:]]
        extra += [None] * (4 - len(extra))
        return Row(line, int(g[0]), source, True, float(g[1]), float(g[2]), int(g[3]), *extra)
    # A line that never ran: its number, then nothing up to the source.
    m = ROW_START.match(line)
    width = 47 + 26 * ((columns - 5) // 2)
    if not m or line[m.end():width].strip():
        raise AssertionError("not a report row: %r" % line)
    return Row(line, int(m.group(1)), line[width:], False)


def parse_report(text, stripped=False):
    """Every block of text (memline's report or memory_profiler's), in
    order.  Lines outside blocks (the program's own output) are skipped; a
    malformed block raises AssertionError.  The framing is checked here:
    blank line after ``Filename:`` (or after its Processes:/Process: line
    in a run of several processes, kept as ``note``), a known header, a rule of '=' as long as
    the header, rows, then exactly two blank lines.  With stripped (text is
    a report with its end stripped, as %mprun shows and writes it) the last
    block may end with its last row instead."""
    # The lines with their newlines, so that the end of text is read exactly
    # ("row\n\n" ends with one blank line, not two).  Split at "\n" only:
    # str.splitlines would also split a source line at a form feed.
    lines = re.findall(r"[^\n]*\n|[^\n]+$", text)
    blocks = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("Filename: "):
            i += 1
            continue
        start = i
        filename = lines[i].rstrip("\n")[len("Filename: "):]
        assert i + 3 < len(lines), "truncated block at the end of\n%s" % text
        note = None
        if lines[i + 1].startswith(("Processes: ", "Process: ")):
            # several processes' run (docs/processes.md): whose table it is
            note = lines[i + 1].rstrip("\n")
            i += 1
        assert lines[i + 1] == "\n", "no blank line after %r" % lines[i]
        header, rule = lines[i + 2].rstrip("\n"), lines[i + 3].rstrip("\n")
        assert header in HEADERS, "unknown header %r" % header
        assert rule == "=" * len(header), "rule %r is not '=' * len(header)" % rule
        columns = HEADERS[header]
        rows = []
        i += 4
        while i < len(lines) and lines[i] != "\n":
            rows.append(_parse_row(lines[i].rstrip("\n"), columns))
            i += 1
        if not (stripped and i == len(lines)):
            assert lines[i:i + 2] == ["\n", "\n"], (
                "block of %s does not end with two blank lines:\n%s" % (filename, text))
            i += 2
        blocks.append(Block(filename, header, rule, rows, "".join(lines[start:i]), note))
    return blocks


def only_block(text):
    """The one block of a report that must hold exactly one."""
    blocks = parse_report(text)
    assert len(blocks) == 1, "expected one block, got %d in\n%s" % (len(blocks), text)
    return blocks[0]


def check_block(block, precision, path=None, first=None, last=None):
    """The layout check: every row is exactly what format_row gives for its
    values at this precision (so the widths, spacing and digits are
    memory_profiler's), numbers are consecutive, and with path the source
    column is the file's text and the rows run from first to last."""
    for r in block.rows:
        want = format_row(r.lineno, r.source, precision, block.columns, r.mem, r.incr,
                          r.occurrences, r.heap_incr, r.heap_peak, r.native_incr, r.native_peak)
        assert r.text == want, "row layout differs:\n got  %r\n want %r" % (r.text, want)
    numbers = [r.lineno for r in block.rows]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
    if path is not None:
        with open(path, encoding="utf-8") as f:
            src = f.read().split("\n")
        for r in block.rows:
            assert r.source == src[r.lineno - 1], (r, src[r.lineno - 1])
    if first is not None:
        assert numbers[0] == first, (numbers, block)
    if last is not None:
        assert numbers[-1] == last, (numbers, block)


def strip_heap_columns(text):
    """text with memline's two heap columns cut out of every block: what
    memory_profiler would print for the same values (valid while no cell
    overflows its 12 characters)."""
    out = []
    cut = False
    for line in text.split("\n"):
        if line == HEADER7:
            cut = True
            out.append(HEADER5)
        elif line == HEADER5:
            cut = False
            out.append(line)
        elif cut and line and set(line) == {"="}:
            out.append("=" * len(HEADER5))
        elif cut and ROW_START.match(line) and len(line) >= 70:
            out.append(line[:44] + line[70:])
        else:
            if line.startswith("Filename: "):
                cut = False
            out.append(line)
    return "\n".join(out)


def report_of(prof, precision=12, native_columns=False):
    """prof's report as text: show_results into a string, by default at 12
    digits, where Row.bytes is exact."""
    import memline  # here, so that importing helpers does not load the extension
    out = io.StringIO()
    memline.show_results(prof, stream=out, precision=precision, native_columns=native_columns)
    return out.getvalue()


def _copy_code(code):
    consts = tuple(_copy_code(c) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_consts=consts)


def fresh_function(func):
    """A copy of func whose code objects (nested ones included) are its own,
    with the same source lines, so that what one test's profilers register
    on them cannot reach another test that profiles the same source."""
    return types.FunctionType(_copy_code(func.__code__), func.__globals__, func.__name__,
                              func.__defaults__, func.__closure__)


def lineno_of(path, needle, nth=1):
    """The number of the nth line of path that contains needle."""
    with open(path, encoding="utf-8") as f:
        hits = [i for i, line in enumerate(f, 1) if needle in line]
    assert len(hits) >= nth, "%r not in %s" % (needle, path)
    return hits[nth - 1]


# ---- running programs ----

def child_env(extra=None):
    """The environment for a child Python: the one running the tests, whose
    memline is the installed package (nothing puts this checkout on
    PYTHONPATH).  Under the sanitizer run (libasan preloaded), ASan's
    quarantine is turned off so freed memory goes back to the system and RSS
    numbers mean what they mean in a normal build."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if SANITIZED:
        opts = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=0"
    env.pop("PYTHONSTARTUP", None)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    if extra:
        env.update(extra)
    return env


def run(argv, cwd=None, timeout=120, env=None, stdin=None):
    """Runs argv in cwd (None: this one) in its own session, with child_env()
    unless env is given and stdin (text) as its input, if any; on timeout the
    whole process group (pool workers included) is killed and the test
    fails.  Returns the CompletedProcess, text mode."""
    p = subprocess.Popen([str(a) for a in argv], cwd=None if cwd is None else str(cwd),
                         env=env if env is not None else child_env(),
                         stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        raise AssertionError("%s timed out after %ss\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, argv)), timeout, out, err[-4000:]))
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def run_python(args, cwd=None, **kw):
    """``python ARGS`` with the interpreter running the tests, through run
    (the same keywords); returns its CompletedProcess."""
    return run([sys.executable] + list(args), cwd, **kw)


def run_memline(args, cwd=None, **kw):
    """``python -m memline ARGS`` as run_python runs it; returns its
    CompletedProcess."""
    return run_python(["-m", "memline"] + list(args), cwd, **kw)


def write(path, text):
    """Writes text to path (a pathlib.Path); returns path."""
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_error(proc, kind="error", status=2):
    """proc failed as memline fails on bad input: the given exit status and
    exactly one stderr line, starting 'memline: <kind>: ', no traceback.
    Returns that line."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert len(lines) == 1, "expected one stderr line, got:\n%s" % proc.stderr
    assert lines[0].startswith("memline: %s: " % kind), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]
