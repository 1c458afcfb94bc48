"""LogFile(name, reportIncrementFlag=False): the report goes to logging, and
with the flag only the Filename/header lines and rows that grew
(the rest of memory_profiler's surface)."""

import logging

import pytest

from _surface import freed, near_here
from helpers import HEADER7, ROW_START, parse_report
from memline import LogFile, profile


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def logged(request):
    """A fresh logger named after the test, and what it received."""
    name = "memline.surface." + request.node.name
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    handler = Collect()
    logger.addHandler(handler)
    yield name, handler.records
    logger.removeHandler(handler)


def profiled(stream):
    @profile(stream=stream)
    def grows_and_shrinks():
        kept = b"1" * (50 << 20)
        same = len(kept)
        del kept
        return same

    return grows_and_shrinks


def test_logfile_sends_the_whole_report_to_logging(logged):
    name, records = logged
    assert profiled(LogFile(name))() == 50 << 20
    assert records and all(r.levelno == logging.INFO and r.name == name for r in records)
    text = "".join(r.getMessage() for r in records)
    [block] = parse_report(text)
    assert block.header == HEADER7
    assert [r.source.strip() for r in block.rows] == [
        "@profile(stream=stream)", "def grows_and_shrinks():", 'kept = b"1" * (50 << 20)',
        "same = len(kept)", "del kept", "return same"]
    assert near_here(block.row('kept = b"1" * (50 << 20)').incr, 50)
    assert freed(block.row("del kept").incr, 50)


class Tee:
    """A stream that records what it is written and passes it on to log."""

    def __init__(self, log):
        self.log = log
        self.written = []

    def write(self, msg):
        self.written.append(msg)
        self.log.write(msg)


def test_logfile_with_flag_keeps_only_rows_that_grew(logged):
    name, records = logged
    tee = Tee(LogFile(name, reportIncrementFlag=True))
    profiled(tee)()
    messages = [r.getMessage() for r in records]
    assert all(r.levelno == logging.INFO for r in records)
    assert messages[0].startswith("Filename: ") and messages[0].rstrip().endswith(".py")
    assert messages[1].rstrip("\n") == HEADER7
    rows = [m for m in tee.written if ROW_START.match(m)]
    grew = [m for m in rows if "MiB" in m and float(m.split("MiB")[1]) > 0]
    assert messages[2:] == grew
    assert any(m.rstrip().endswith('kept = b"1" * (50 << 20)') for m in grew)
    # the rule, the rows that did not grow and the blank lines are left out
    assert len(rows) == 6 and len(grew) < len(rows)
    assert not any(m.startswith("=") or not m.strip() for m in messages)


def test_logfile_flag_filters_what_it_is_written(logged):
    # the filter itself, as memory_profiler's: on the Increment column
    name, records = logged
    log = LogFile(name, reportIncrementFlag=True)
    grew = "     3     47.1 MiB      0.5 MiB           1      0.5 MiB      0.5 MiB   a\n"
    for msg in ["Filename: x.py\n\n", HEADER7 + "\n", "=" * 86 + "\n", grew,
                "     4     47.1 MiB      0.0 MiB           1      1.0 MiB      1.0 MiB   b\n",
                "     5     47.1 MiB     -2.0 MiB           1      3.0 MiB      3.0 MiB   c\n",
                "     6                                                                   d\n",
                "\n\n"]:
        log.write(msg)
    log.flush()
    assert [r.getMessage() for r in records] == ["Filename: x.py\n\n", HEADER7 + "\n", grew]
