"""The plugin's corner cases: xfail, both markers on one test, tests that
skip or whose setup fails, native counting turned off, and a Python
allocator memline cannot account."""

import pytest

from _plugin import failure, records, run

pytest_plugins = ["pytester"]


def test_xfail_tests_are_left_to_pytest(pytester):
    pytester.makepyfile(test_xf="""
        import pytest

        @pytest.mark.xfail(reason="known")
        @pytest.mark.limit_memory("10 MB")
        def test_xpass_over():
            tmp = bytearray(30_000_000)

        @pytest.mark.xfail(reason="known")
        @pytest.mark.limit_memory("10 MB")
        def test_xfail_over():
            tmp = bytearray(30_000_000)
            assert False
    """)
    result = run(pytester)
    result.assert_outcomes(xpassed=1, xfailed=1)
    assert "above its start" not in result.stdout.str()


def test_both_markers_on_one_test(pytester):
    pytester.makepyfile(test_both="""
        import pytest

        _leak = []

        @pytest.mark.limit_memory("5 MB")
        @pytest.mark.limit_leaks("1 MB", runs=3)
        def test_both():
            _leak.append(bytearray(2_000_000))
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    message, _ = failure(result, "test_both")
    # The peak is over the three runs: 3 x 2,000,057 bytes.
    assert message == [
        "test_both rose 5.7 MiB above its start; limit 4.8 MiB (limit_memory: 5 MB)",
        "test_both still held 3.8 MiB more after run 3 than after run 1; limit 1.0 MiB "
        "(limit_leaks: 1 MB)",
        "held after each run (after gc.collect()), above its start: 1.9 MiB, 3.8 MiB, 5.7 MiB",
    ]


def test_only_measured_call_phases_have_records(pytester):
    pytester.makepyfile(test_rec="""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("setup fails")

        def test_setup_error(broken):
            pass

        @pytest.mark.skip(reason="not today")
        def test_skipped_before():
            pass

        def test_skips_itself():
            tmp = bytearray(1_000_000)
            pytest.skip("after allocating")
    """)
    result = run(pytester, "--memline-json", "rec.jsonl")
    result.assert_outcomes(errors=1, skipped=2)
    recs = records(pytester.path / "rec.jsonl")
    assert [(r["node_id"], r["outcome"]) for r in recs] == [
        ("test_rec.py::test_skips_itself", "skipped")]
    assert 1_000_000 < recs[0]["peak"] < 1_000_000 + 64 * 1024


NATIVE = """
    import mmap
    import pytest

    @pytest.mark.limit_memory("10 MB")
    def test_native():
        m = mmap.mmap(-1, 30_000_000)   # anonymous memory, no Python object of that size
        m.close()
"""


def test_with_native_counting_off_the_limits_see_the_python_heap(pytester, monkeypatch):
    pytester.makepyfile(test_native=NATIVE)
    monkeypatch.setenv("MEMLINE_NATIVE", "0")
    result = run(pytester, "--memline")
    result.assert_outcomes(passed=1)  # the mapping is not seen
    assert [l for l in result.outlines if l.startswith("memline:")] == [
        "memline: measuring every test's call phase: Python heap only (native memory: off, "
        "MEMLINE_NATIVE=0), every thread"]
    monkeypatch.delenv("MEMLINE_NATIVE")
    result = run(pytester, "--memline")
    result.assert_outcomes(failed=1)
    assert [l for l in result.outlines if l.startswith("memline:")] == [
        "memline: measuring every test's call phase: Python and native heap, every thread"]
    message, _ = failure(result, "test_native")
    # 30,000,000 bytes in whole pages.
    assert message == ["test_native rose 28.6 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]


def test_an_allocator_memline_cannot_account_is_a_usage_error(pytester, monkeypatch):
    pytester.makepyfile(test_native=NATIVE)
    monkeypatch.setenv("PYTHONMALLOC", "debug")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0] == (
        "ERROR: memline: cannot measure the heap here: Python's allocator is replaced (debug "
        "hooks, tracemalloc or a custom allocator), so block sizes cannot be known")
    # Unused, it does not mind.
    pytester.makepyfile(test_native="def test_plain():\n    pass\n")
    run(pytester).assert_outcomes(passed=1)
