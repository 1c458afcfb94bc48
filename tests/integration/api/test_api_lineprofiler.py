"""memline's LineProfiler and the rest of memory_profiler's API, as a
drop-in replacement has them: add_function, wrap_function, runctx,
enable/disable, enable_by_count and disable_by_count, ``with prof:``,
``prof(func)``, code_map, show_results, LogFile, choose_backend,
__version__, and the backends."""

import io
import logging
import os
import re
import sys

import pytest

import memline
from memline import LineProfiler, LogFile, choose_backend, show_results
from helpers import REPO, check_block, fresh_function, lineno_of, only_block, parse_report

HERE = __file__


def _work(n):
    squares = [i * i for i in range(n)]
    total = 0
    for s in squares:
        total += s
    return total


WORK_FIRST = _work.__code__.co_firstlineno
WORK_LAST = lineno_of(HERE, "    return total")

def report(prof, precision=1):
    s = io.StringIO()
    show_results(prof, stream=s, precision=precision)
    return s.getvalue()


def occurrences(prof):
    """{source line stripped: occurrences} of prof's only block."""
    text = report(prof)
    if not text:
        return {}
    return {r.source.strip(): r.occurrences for r in only_block(text).rows if r.seen}


@pytest.fixture
def work():
    """This test's own copy of _work, so that nothing one test's profilers
    register can reach another test."""
    return fresh_function(_work)


@pytest.fixture
def prof(work):
    p = LineProfiler()
    p.add_function(work)
    return p


# ---- enabling ----

def test_nothing_recorded_until_enabled(prof, work):
    assert work(3) == 5
    assert report(prof) == ""
    prof.enable()
    assert work(3) == 5
    prof.disable()
    assert work(3) == 5  # not recorded
    occ = occurrences(prof)
    assert occ["def _work(n):"] == 1
    assert occ["for s in squares:"] == 4
    assert occ["total += s"] == 3


def test_enable_and_disable_are_idempotent(prof, work):
    prof.enable()
    prof.enable()
    work(2)
    prof.disable()
    prof.disable()
    work(2)
    assert occurrences(prof)["return total"] == 1


def test_enable_by_count_nests(prof, work):
    assert prof.enable_count == 0
    prof.enable_by_count()
    prof.enable_by_count()
    assert prof.enable_count == 2
    work(1)
    prof.disable_by_count()
    assert prof.enable_count == 1
    work(1)  # still enabled
    prof.disable_by_count()
    assert prof.enable_count == 0
    work(1)  # disabled
    prof.disable_by_count()  # one too many: stays at zero
    assert prof.enable_count == 0
    work(1)
    assert occurrences(prof)["return total"] == 2


def test_context_manager(prof, work):
    with prof as entered:
        assert entered is prof
        assert prof.enable_count == 1
        with prof:
            assert prof.enable_count == 2
            work(2)
        work(2)
    assert prof.enable_count == 0
    work(2)
    assert occurrences(prof)["return total"] == 2


def test_context_manager_exits_on_exception(prof, work):
    with pytest.raises(ZeroDivisionError):
        with prof:
            work(2)
            1 / 0
    assert prof.enable_count == 0
    work(2)
    assert occurrences(prof)["return total"] == 1


def test_runctx_returns_self_and_records(prof, work):
    g = {"work": work}
    loc = {"n": 4}
    assert prof.runctx("result = work(n)", g, loc) is prof
    assert loc["result"] == 14
    assert prof.enable_count == 0
    assert occurrences(prof)["total += s"] == 4


def test_runctx_propagates_exceptions(prof, work):
    with pytest.raises(NameError):
        prof.runctx("undefined_name", {}, {})
    assert prof.enable_count == 0


def test_wrap_function_enables_around_calls(prof, work):
    wrapped = prof.wrap_function(work)
    assert wrapped(3) == 5
    assert wrapped(3) == 5
    assert prof.enable_count == 0
    work(3)  # the original is not profiled by itself
    assert occurrences(prof)["return total"] == 2


def test_wrap_function_prints_nothing(prof, work, capsys):
    prof.wrap_function(work)(2)
    assert capsys.readouterr().out == ""


def test_calling_the_profiler_adds_and_wraps(work, capsys):
    p = LineProfiler()
    wrapped = p(work)
    assert wrapped(3) == 5
    wrapped_p2 = p(precision=2)(work)
    assert wrapped_p2(3) == 5
    assert capsys.readouterr().out == ""  # the profiler only records
    assert occurrences(p)["return total"] == 2


def test_add_function_twice_keeps_one_table(prof, work):
    prof.add_function(work)
    with prof:
        work(1)
    assert len(parse_report(report(prof))) == 1


def test_add_function_refuses_non_functions():
    p = LineProfiler()
    for bad in (42, len, LineProfiler):
        with pytest.raises(memline.ProfileError):
            p.add_function(bad)
    # A str is a selector (docs/selectors.md): "work" names a module; one
    # that cannot be parsed is a ValueError.
    p.add_function("work")
    with pytest.raises(ValueError, match="cannot parse selector 'wo rk'"):
        p.add_function("wo rk")


def helper_a():
    x = 1
    return x


def helper_b():
    y = 2
    return y


def test_blocks_in_the_order_functions_were_added(work):
    p = LineProfiler()
    p.add_function(helper_b)
    p.add_function(helper_a)
    p.add_function(work)
    with p:
        helper_a()
        helper_b()
    blocks = parse_report(report(p))
    assert [b.rows[0].lineno for b in blocks] == [helper_b.__code__.co_firstlineno,
                                                   helper_a.__code__.co_firstlineno]
    # work never ran: no block for it.


# ---- show_results ----

def test_show_results_default_stream_and_precision(prof, work, capsys):
    with prof:
        work(3)
    show_results(prof)
    out = capsys.readouterr().out
    block = only_block(out)
    assert out == block.text
    assert block.filename == HERE
    check_block(block, 1, path=HERE, first=WORK_FIRST, last=WORK_LAST)


@pytest.mark.parametrize("precision", [0, 1, 3, 7])
def test_show_results_precision(prof, work, precision):
    with prof:
        work(3)
    s = io.StringIO()
    show_results(prof, s, precision)  # positional, as memory_profiler allows
    check_block(only_block(s.getvalue()), precision, path=HERE, first=WORK_FIRST,
                last=WORK_LAST)


def test_show_results_of_an_empty_profiler_prints_nothing(work, capsys):
    show_results(LineProfiler())
    p = LineProfiler()
    p.add_function(work)
    show_results(p)
    assert capsys.readouterr().out == ""


# ---- code_map ----

def test_code_map_items_as_memory_profiler_gives_them(prof, work):
    """memory_profiler's show_results and the tools written against it read
    ``prof.code_map.items()``: (filename, [(lineno, (increment, mem usage,
    occurrences) or None)]) for each function that ran."""
    with prof:
        work(3)
    items = list(prof.code_map.items())
    assert len(items) == 1
    filename, lines = items[0]
    assert filename == HERE
    lines = list(lines)
    assert [l for l, _ in lines] == list(range(WORK_FIRST, WORK_LAST + 1))
    by_line = dict(lines)
    assert by_line[lineno_of(HERE, "    for s in squares:")][2] == 4
    assert by_line[lineno_of(HERE, "        total += s")][2] == 3
    for lineno, measure in lines:
        assert measure is not None  # every line of work ran
        incr, mem, occ = measure
        assert isinstance(incr, float) and isinstance(mem, float) and occ >= 1
        assert mem > 1


def test_code_map_agrees_with_the_report(prof, work):
    with prof:
        work(5)
    block = only_block(report(prof, precision=6))
    (_, lines), = list(prof.code_map.items())
    for (lineno, measure), row in zip(lines, block.rows):
        assert lineno == row.lineno
        incr, mem, occ = measure
        assert occ == row.occurrences
        assert round(mem, 6) == pytest.approx(row.mem, abs=2e-6)
        assert round(incr, 6) == pytest.approx(row.incr, abs=2e-6)


def test_code_map_is_empty_before_anything_ran(prof, work):
    assert list(prof.code_map.items()) == []


def test_memory_profilers_show_results_reads_a_memline_profiler(prof, work):
    """Drop-in: memory_profiler's own show_results prints a memline
    LineProfiler, in its five columns."""
    mp = pytest.importorskip("memory_profiler")
    with prof:
        work(3)
    s = io.StringIO()
    mp.show_results(prof, stream=s, precision=2)
    block = only_block(s.getvalue())
    assert block.columns == 5
    check_block(block, 2, path=HERE, first=WORK_FIRST, last=WORK_LAST)


# ---- LogFile ----

class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self.flushed = 0

    def emit(self, record):
        self.records.append(record)

    def flush(self):
        self.flushed += 1


@pytest.fixture
def logger():
    name = "memline.test.%d" % id(object())
    log = logging.getLogger(name)
    handler = Records()
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield name, handler
    log.removeHandler(handler)


# Blocks above glibc's largest mmap threshold (32 MiB) are always fresh pages,
# so a line allocating one grows RSS whatever the tests before freed.
BIG = 40 << 20


def grows():
    kept = bytearray(BIG)
    same = len(kept)
    return kept, same


def test_logfile_forwards_the_whole_report(logger):
    name, handler = logger
    p = LineProfiler()
    p.add_function(grows)
    with p:
        grows()
    log = LogFile(name)
    show_results(p, stream=log, precision=2)
    text = "".join(r.getMessage() for r in handler.records)
    assert text == report(p, precision=2)
    assert all(r.levelno == logging.INFO for r in handler.records)
    assert all(r.name == name for r in handler.records)
    log.flush()
    assert handler.flushed >= 1


def test_logfile_report_increment_flag(logger):
    """reportIncrementFlag=True: only the Filename and header lines and the
    rows whose increment is positive are logged."""
    name, handler = logger
    p = LineProfiler()
    p.add_function(grows)
    with p:
        kept = grows()
    show_results(p, stream=LogFile(name, reportIncrementFlag=True), precision=3)
    messages = [r.getMessage() for r in handler.records]
    full = only_block(report(p, precision=3))
    assert messages[0].startswith("Filename: " + HERE)
    assert any(m.startswith("Line #") for m in messages)
    rows = [m for m in messages if re.match(r"^ *\d+ ", m)]
    positive = [r.text for r in full.rows if r.seen and r.incr > 0]
    assert [m.rstrip("\n") for m in rows] == positive
    # Rows that did not grow are left out.  (Whether the allocation's row
    # grew depends on whether the allocator reused pages still resident
    # from earlier tests, so only the filter is asserted, not RSS.)
    zero = [r.text for r in full.rows if r.seen and r.incr <= 0]
    assert zero and not any(z in [m.rstrip("\n") for m in rows] for z in zero)
    assert not any(set(m.strip()) == {"="} for m in messages)
    del kept


# ---- backends ----

@pytest.mark.parametrize("name,canonical", [
    ("rss", "rss"), ("pss", "pss"), ("uss", "uss"),
    ("psutil", "rss"), ("posix", "rss"), ("psutil_pss", "pss"), ("psutil_uss", "uss"),
])
def test_choose_backend(name, canonical):
    assert choose_backend(name) == canonical
    assert choose_backend(new_backend=name) == canonical
    assert LineProfiler(backend=name).backend == canonical


def test_default_backend_is_rss():
    assert choose_backend() == "rss"
    assert LineProfiler().backend == "rss"


@pytest.mark.parametrize("bad", ["nope", "", "psutil-uss", 42])
def test_unknown_backend(bad):
    with pytest.raises(ValueError):
        choose_backend(bad)
    with pytest.raises(ValueError):
        LineProfiler(backend=bad)


def probe():
    block = bytearray(BIG)
    return len(block)


def test_backends_are_plausible():
    """Each backend sees a 40 MiB allocation, and in one process USS <= PSS
    <= RSS.  The order is checked on readings taken back to back, with
    nothing allocated between them: a profiled run of each would leave
    time for the process to give memory back between them (the sanitizer
    build returns a big freed block at once), and the order of two runs
    is no property of the backends."""
    for backend in ("uss", "pss", "rss"):
        p = LineProfiler(backend=backend)
        p.add_function(probe)
        with p:
            probe()
        row = only_block(report(p, precision=3)).row("block = bytearray")
        # PSS and USS also count clean private pages of mapped files, which
        # the kernel may drop at any moment: a little more slack for them.
        assert row.incr == pytest.approx(40, rel=0.05 if backend == "rss" else 0.1), (backend, row)
    block = bytearray(BIG)  # noqa: F841 (held: the readings see it)
    mem = {b: memline.memory_usage(-1, interval=0.001, max_iterations=1, backend=b)[0]
           for b in ("uss", "pss", "rss")}
    slack = 0.25  # pages the kernel drops or the process touches within 20 ms
    assert mem["uss"] <= mem["pss"] + slack, mem
    assert mem["pss"] <= mem["rss"] + slack, mem
    assert mem["uss"] >= 40, mem


def test_include_children_attribute():
    assert LineProfiler().include_children is False
    assert LineProfiler(include_children=True).include_children is True


# ---- the package ----

def test_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", memline.__version__)
    # The version is written once, in build.cfg, and compiled in.
    with open(os.path.join(REPO, "build.cfg"), encoding="utf-8") as f:
        declared = re.search(r'^VERSION\s*=\s*(\S+)', f.read(), re.M)
    assert declared and memline.__version__ == declared.group(1)


def test_public_names():
    for name in ("profile", "LineProfiler", "show_results", "LogFile", "choose_backend",
                 "ProfileError", "__version__"):
        assert hasattr(memline, name), name
    assert issubclass(memline.ProfileError, TypeError)
    assert sys.modules["memline"] is memline
