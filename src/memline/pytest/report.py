"""report: the text under a failing test, and the line a test's peak is on.

The line report is show_results' text, unchanged (memory_profiler's
layout, memline's two heap columns).  At -q it keeps only the worst lines:
those with the highest Heap peak, under their file's header as usual.
"""

import linecache
import os
import re

# The number a report row starts with, whether the line ran or not.
_ROW = re.compile(r"^ *(\d+)(?= |$)")
WORST = 3


def worst_rows(rows, n=WORST):
    """Up to n rows (filename, lineno, occurrences, heap incr, heap peak)
    with the highest Heap peak, then Heap incr, earlier rows first on ties;
    only rows whose Heap peak is above 0, unless none is."""
    order = sorted(range(len(rows)), key=lambda i: (-rows[i][4], -rows[i][3], i))
    best = [rows[i] for i in order[:n]]
    return [r for r in best if r[4] > 0] or best[:1]


def shorten(text, keep):
    """text (a show_results report) with only the rows of the lines in keep,
    a set of (filename, lineno); blocks left empty are dropped, and so is
    the note on threads that run no Python."""
    out = []
    head, rows, filename, in_head = [], [], None, False

    def flush():
        if rows:
            out.extend(head)
            out.extend(rows)
            out.append("\n")

    for line in text.splitlines(True):
        if line.startswith("Filename: "):
            flush()
            filename = line[len("Filename: "):].rstrip("\n")
            head, rows, in_head = [line], [], True
        elif in_head:
            head.append(line)
            in_head = not line.startswith("=")
        elif filename is not None:
            m = _ROW.match(line)
            if m and (filename, int(m.group(1))) in keep:
                rows.append(line)
    flush()
    return "".join(out)


def display_path(filename, rootdir):
    """filename relative to the rootdir when it is under it."""
    try:
        rel = os.path.relpath(filename, str(rootdir))
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def top_line(rows, rootdir):
    """The line the test's Heap peak is on, as a JSON-ready dict, or None
    when no line allocated."""
    best = worst_rows(rows, 1)
    if not best or best[0][4] <= 0:
        return None
    filename, lineno, _occ, incr, peak = best[0]
    return {
        "file": display_path(filename, rootdir),
        "lineno": lineno,
        "source": linecache.getline(filename, lineno).strip(),
        "heap_peak": peak,
        "heap_incr": incr,
    }
