"""Helpers of the pytest plugin's tests: running a real pytest in a child
process (pytester) with the plugin loaded from the installed package, as a
user has it, and reading what that run printed.

Sizes in the test files are far from every limit and from the rounding of
the messages (30,000,000 bytes is 28.61 MiB: "28.6 MiB" with 40 KiB to
spare), so the exact text is asserted."""

import json
import re

from helpers import parse_report

# pytest-asyncio warns on every run unless this is set.
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
# pytest's section lines ("____ test_x ____", "==== FAILURES ===="), not a
# report's rule (all '=').
_SECTION = re.compile(r"^[_=]+ .* [_=]+$")


def run(pytester, *args, memray=False):
    """pytest *args in a child process.  pytest-memray stays out unless
    memray (it takes 0.2 s to import, and only the coexistence tests want
    it)."""
    pytester.makeini(INI)
    if not memray:
        args = ("-p", "no:memray") + args
    return pytester.runpytest_subprocess(*args)


def section(result, title):
    """The lines of the failure section titled title (a test's name)."""
    lines = result.outlines
    for i, line in enumerate(lines):
        if _SECTION.match(line) and line.strip("_ ") == title:
            end = i + 1
            while end < len(lines) and not _SECTION.match(lines[end]):
                end += 1
            return lines[i + 1:end]
    raise AssertionError("no section %r in\n%s" % (title, "\n".join(lines)))


def failure(result, title):
    """(message lines, report blocks) of a failed test's section: the text
    before the first 'Filename:' line, and the line report after it."""
    lines = section(result, title)
    starts = [i for i, line in enumerate(lines) if line.startswith("Filename: ")]
    cut = starts[0] if starts else len(lines)
    # Under xdist a section starts with the worker's platform line.
    message = [line for line in lines[:cut] if line and not re.match(r"\[gw\d+\] ", line)]
    report = "\n".join(lines[cut:]).rstrip("\n") + "\n"
    return message, parse_report(report, stripped=True) if starts else []


def rows_by_source(block):
    """{source line stripped: Row} of the lines that ran."""
    return {r.source.strip(): r for r in block.rows if r.seen}


def records(path):
    """The JSON Lines file's records; every line must be one whole record."""
    with open(str(path), encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n"), text[-200:]
    return [json.loads(line) for line in text.splitlines()]


def summary(result):
    """The lines of memline's end-of-run summary (after its header)."""
    lines = result.outlines
    for i, line in enumerate(lines):
        if "memline: the " in line and "highest peak" in line:
            end = i + 1
            while end < len(lines) and not _SECTION.match(lines[end]):
                end += 1
            return [line] + lines[i + 1:end]
    return []
