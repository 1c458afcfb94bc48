"""limit_leaks: the test body runs N times; what the heap still holds after
the later runs, after gc.collect(), beyond what it held after the first,
is the leak.  A module-level list that grows is caught; a cache the first
run fills is not."""

import pytest

from _plugin import failure, rows_by_source, run

pytest_plugins = ["pytester"]

LEAKS = """
    import pytest

    _leak = []
    _cache = {}

    @pytest.mark.limit_leaks("1 MB", runs=4)
    def test_grows():
        _leak.append(bytearray(2_000_000))

    @pytest.mark.limit_leaks("1 MB")
    def test_warms_a_cache():
        if "table" not in _cache:
            _cache["table"] = bytearray(5_000_000)
        tmp = bytearray(3_000_000)   # freed each run: not a leak
        return None

    RUNS = []

    @pytest.mark.limit_leaks("1 MB")
    def test_default_runs():
        RUNS.append(1)

    def test_ran_three_times():
        assert len(RUNS) == 3
"""


def test_a_growing_list_is_caught_and_a_warmed_cache_is_not(pytester):
    pytester.makepyfile(test_leaks=LEAKS)
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=3)
    message, blocks = failure(result, "test_grows")
    # 2,000,057 bytes a run (the bytearray and its object) and the list's
    # slot: runs 2-4 add 5.72 MiB to what run 1 left.
    assert message == [
        "test_grows still held 5.7 MiB more after run 4 than after run 1; limit 1.0 MiB "
        "(limit_leaks: 1 MB)",
        "held after each run (after gc.collect()), above its start: 1.9 MiB, 3.8 MiB, "
        "5.7 MiB, 7.6 MiB",
    ]
    row = rows_by_source(blocks[0])["_leak.append(bytearray(2_000_000))"]
    assert row.occurrences == 4
    assert row.heap_incr == pytest.approx(7.630, abs=0.005)


def test_runs_are_the_markers_or_three(pytester):
    pytester.makepyfile(test_runs="""
        import pytest

        CALLS = []

        @pytest.fixture
        def setup_once():
            CALLS.append("fixture")   # fixtures are set up once, not per run

        @pytest.mark.limit_leaks("1 MB", runs=5)
        def test_five(setup_once):
            CALLS.append("five")

        @pytest.mark.limit_leaks("1 MB")
        def test_default():
            CALLS.append("default")

        def test_check():
            assert CALLS == ["fixture"] + ["five"] * 5 + ["default"] * 3
    """)
    run(pytester).assert_outcomes(passed=3)


def test_a_leak_check_of_an_async_test(pytester):
    pytester.makepyfile(test_async_leak="""
        import asyncio
        import pytest

        _leak = []

        @pytest.mark.asyncio
        @pytest.mark.limit_leaks("1 MB", runs=3)
        async def test_grows():
            await asyncio.sleep(0)
            _leak.append(bytearray(2_000_000))
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    message, _ = failure(result, "test_grows")
    assert message[0] == ("test_grows still held 3.8 MiB more after run 3 than after run 1; "
                          "limit 1.0 MiB (limit_leaks: 1 MB)")


def test_a_failing_run_fails_the_test_as_itself(pytester):
    pytester.makepyfile(test_flaky="""
        import pytest

        RUNS = []

        @pytest.mark.limit_leaks("1 MB", runs=3)
        def test_second_run_fails():
            RUNS.append(1)
            assert len(RUNS) < 2, "run %d" % len(RUNS)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: run 2*"])
    assert "still held" not in result.stdout.str()
