"""What a run keeps: the JSON Lines file (--memline-json), the summary of
the highest peaks (--memline-top), both with pytest-xdist too, and
--memline-fail-on-increase across runs through pytest's cache."""

import re

import pytest

from _plugin import failure, records, run, summary

pytest_plugins = ["pytester"]

SUITE = """
    import pytest

    @pytest.mark.limit_memory("10 MB")
    def test_over():
        tmp = bytearray(30_000_000)

    @pytest.mark.parametrize("n", [1_000_000, 5_000_000])
    def test_alloc(n):
        tmp = bytearray(n)

    def test_nothing():
        pass

    @pytest.mark.limit_leaks("1 MB", runs=2)
    def test_leak_free():
        tmp = bytearray(2_000_000)
"""

# Every thread counts: under xdist the worker's thread that talks to the
# controller allocates during tests too, and a garbage collection inside a
# test frees what earlier code left.  Figures are checked to this much.
SLACK = 1 << 20

# The JSON schema: every record has exactly these keys.
KEYS = {"schema", "session", "node_id", "outcome", "duration", "peak", "net", "limit",
        "leak_limit", "leaked", "runs", "last_peak", "failures", "line", "worker"}


def check_records(recs, workers):
    by_id = {r["node_id"]: r for r in recs}
    assert sorted(by_id) == ["test_suite.py::test_alloc[1000000]",
                             "test_suite.py::test_alloc[5000000]",
                             "test_suite.py::test_leak_free", "test_suite.py::test_nothing",
                             "test_suite.py::test_over"]
    assert len(recs) == 5
    for r in recs:
        assert set(r) == KEYS, r
        assert r["schema"] == 1
        assert isinstance(r["duration"], float) and r["duration"] >= 0
        assert r["worker"] in workers
    assert len({r["session"] for r in recs}) == 1
    over = by_id["test_suite.py::test_over"]
    assert over["outcome"] == "failed" and over["failures"] == ["memory"]
    assert over["limit"] == 10_000_000 and over["leak_limit"] is None and over["leaked"] is None
    # bytearray(30_000_000): 30,000,001 bytes of buffer and its object.
    assert 30_000_000 < over["peak"] < 30_000_000 + SLACK
    assert abs(over["net"]) < SLACK
    assert over["runs"] == 1 and over["last_peak"] is None
    assert over["line"]["file"] == "test_suite.py"
    assert over["line"]["lineno"] == 5
    assert over["line"]["source"] == "tmp = bytearray(30_000_000)"
    assert 30_000_000 < over["line"]["heap_peak"] <= over["peak"]
    assert over["line"]["heap_incr"] == over["line"]["heap_peak"]
    small = by_id["test_suite.py::test_alloc[1000000]"]
    assert small["outcome"] == "passed" and small["failures"] == [] and small["limit"] is None
    assert 1_000_000 < small["peak"] < 1_000_000 + SLACK
    assert small["line"]["source"] == "tmp = bytearray(n)"
    nothing = by_id["test_suite.py::test_nothing"]
    assert nothing["outcome"] == "passed" and nothing["line"] is None
    assert 0 <= nothing["peak"] < SLACK
    leak = by_id["test_suite.py::test_leak_free"]
    assert leak["runs"] == 2 and leak["leak_limit"] == 1_000_000
    assert abs(leak["leaked"]) < SLACK and leak["outcome"] == "passed"


SUMMARY = [
    "================== memline: the 3 tests with the highest peak ==================",
    "    28.6 MiB  test_suite.py::test_over",
    "              test_suite.py:5: tmp = bytearray(30_000_000)",
    "     4.8 MiB  test_suite.py::test_alloc[5000000]",
    "              test_suite.py:9: tmp = bytearray(n)",
    "     1.9 MiB  test_suite.py::test_leak_free",
    "              test_suite.py:16: tmp = bytearray(2_000_000)",
]


def test_json_records_and_the_summary(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = run(pytester, "--memline-json", "out/mem.jsonl", "--memline-top", "3",
                 "-p", "no:cacheprovider")
    # The folder does not exist: a usage error, and nothing ran.
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0].startswith("ERROR: memline: --memline-json: cannot open ")
    assert result.errlines[0].endswith("out/mem.jsonl: No such file or directory")
    pytester.mkdir("out")
    out = pytester.path / "out" / "mem.jsonl"
    out.write_text('{"kept": "a line from before"}\n')
    result = run(pytester, "--memline-json", "out/mem.jsonl", "--memline-top", "3")
    result.assert_outcomes(failed=1, passed=4)
    assert summary(result) == SUMMARY
    recs = records(out)
    assert recs[0] == {"kept": "a line from before"}  # appended, never truncated
    check_records(recs[1:], {None})
    # A second run appends its own records, with its own session; no summary.
    result = run(pytester, "--memline-json", "out/mem.jsonl", "--memline-top", "0")
    result.assert_outcomes(failed=1, passed=4)
    assert summary(result) == []
    recs = records(out)
    assert len(recs) == 11
    check_records(recs[6:], {None})
    assert recs[1]["session"] != recs[6]["session"]


def test_with_xdist_the_workers_measure_and_the_controller_reports(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = run(pytester, "-n", "2", "--memline-json", "mem.jsonl", "--memline-top", "3")
    result.assert_outcomes(failed=1, passed=4)
    assert summary(result) == SUMMARY
    assert result.stdout.str().count("memline: the 3 tests") == 1
    message, blocks = failure(result, "test_over")
    assert message == ["test_over rose 28.6 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    assert [r.source.strip() for r in blocks[0].rows] == [
        '@pytest.mark.limit_memory("10 MB")', "def test_over():",
        "tmp = bytearray(30_000_000)"]
    recs = records(pytester.path / "mem.jsonl")
    check_records(recs, {"gw0", "gw1"})
    assert {r["worker"] for r in recs} == {"gw0", "gw1"}  # both measured


def test_only_markers_measure_only_the_marked_tests(pytester):
    # No option: the marked tests are checked, nothing is summed up.
    pytester.makepyfile(test_suite=SUITE)
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=4)
    assert summary(result) == []
    assert "memline: measuring" not in result.stdout.str()


INCREASE = """
    import os

    def test_grows():
        tmp = bytearray(int(os.environ["TEST_SIZE"]))

    def test_steady():
        tmp = bytearray(4_000_000)
"""


def check_increase(message, pct, last):
    """The increase message; its percentage within 0.2 of pct (a few KiB of
    noise on either peak moves its last digit)."""
    assert len(message) == 1
    m = re.match(r"^test_grows peaked 28\.6 MiB, (\d+\.\d)% above the last run's (.*); "
                 r"the most allowed is 50% \(--memline-fail-on-increase\)$", message[0])
    assert m, message
    assert abs(float(m.group(1)) - pct) <= 0.2 and m.group(2) == last, message


def test_fail_on_increase_compares_with_the_last_passing_run(pytester, monkeypatch):
    pytester.makepyfile(test_inc=INCREASE)

    def go(size, *args):
        monkeypatch.setenv("TEST_SIZE", str(size))
        return run(pytester, "--memline-fail-on-increase", "50", *args)

    go(10_000_000).assert_outcomes(passed=2)   # no last run: nothing to compare
    go(14_000_000).assert_outcomes(passed=2)   # +40%: within 50%; the cache now has 14 MB
    result = go(30_000_000, "--memline-json", "inc.jsonl")  # +114%
    result.assert_outcomes(failed=1, passed=1)
    message, blocks = failure(result, "test_grows")
    check_increase(message, 114.3, "13.4 MiB")
    assert blocks[0].rows[-1].source.strip() == 'tmp = bytearray(int(os.environ["TEST_SIZE"]))'
    grows = [r for r in records(pytester.path / "inc.jsonl")
             if r["node_id"] == "test_inc.py::test_grows"][0]
    assert grows["failures"] == ["increase"]
    assert 14_000_000 < grows["last_peak"] < 14_000_000 + SLACK
    # That run failed, so the cache still has 14 MB: the same size fails again.
    go(30_000_000).assert_outcomes(failed=1, passed=1)
    # A run that passes (without the check) keeps its peaks for the next.
    monkeypatch.setenv("TEST_SIZE", "30000000")
    run(pytester, "--memline").assert_outcomes(passed=2)
    go(30_000_000).assert_outcomes(passed=2)
    # Without pytest's cache there is nothing to compare with.
    result = go(30_000_000, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0] == ("ERROR: memline: --memline-fail-on-increase needs pytest's "
                                  "cache, which -p no:cacheprovider turns off")


def test_fail_on_increase_under_xdist(pytester, monkeypatch):
    # The workers compare with the cache; the controller writes it.
    pytester.makepyfile(test_inc=INCREASE)
    monkeypatch.setenv("TEST_SIZE", "10000000")
    run(pytester, "-n", "2", "--memline").assert_outcomes(passed=2)
    monkeypatch.setenv("TEST_SIZE", "30000000")
    result = run(pytester, "-n", "2", "--memline-fail-on-increase", "50")
    result.assert_outcomes(failed=1, passed=1)
    message, _ = failure(result, "test_grows")
    check_increase(message, 200.0, "9.5 MiB")
