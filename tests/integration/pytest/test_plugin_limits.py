"""limit_memory, --memline-limit, per-parameter limits and malformed sizes,
in real pytest runs: which tests fail, with which message, and the line
report under it (memline's layout, every line of the test's body)."""

import pytest

from helpers import check_block
from _plugin import failure, rows_by_source, run

pytest_plugins = ["pytester"]

OVER = """
    import pytest

    @pytest.mark.limit_memory("10 MB")
    def test_over():
        keep = [0] * 1_000_000
        tmp = bytearray(30_000_000)
        del tmp
        assert keep

    @pytest.mark.limit_memory("40 MB")
    def test_under():
        tmp = bytearray(30_000_000)
        del tmp
"""


def test_limit_memory_fails_the_test_with_the_message_and_its_line_report(pytester):
    path = pytester.makepyfile(test_over=OVER)
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=1)  # failed, not an error
    assert result.ret == 1
    message, blocks = failure(result, "test_over")
    # 8,000,056 + 30,000,058 bytes: 36.24 MiB; 10 MB is 9.54 MiB.
    assert message == ["test_over rose 36.2 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    assert len(blocks) == 1
    block = blocks[0]
    assert block.filename == str(path)
    assert block.columns == 7  # Mem usage .. Occurrences, Heap incr, Heap peak
    # Every line, from the decorator to the end of the body, in the layout
    # show_results prints.
    check_block(block, 3, path=str(path), first=3, last=8)
    rows = rows_by_source(block)
    assert rows["keep = [0] * 1_000_000"].heap_peak == pytest.approx(7.629, abs=0.005)
    assert rows["tmp = bytearray(30_000_000)"].heap_peak == pytest.approx(28.610, abs=0.005)
    assert rows["del tmp"].heap_incr == pytest.approx(-28.610, abs=0.005)
    assert all(r.occurrences == 1 for r in block.rows if r.seen)
    result.stdout.fnmatch_lines(["FAILED test_over.py::test_over*"])


def test_fixture_setup_and_teardown_are_not_counted(pytester):
    pytester.makepyfile(test_fix="""
        import pytest

        @pytest.fixture
        def big():
            data = bytearray(50_000_000)
            yield data
            del data
            garbage = bytearray(50_000_000)

        @pytest.mark.limit_memory("5 MB")
        def test_uses_big(big):
            assert len(big) == 50_000_000
            small = bytearray(1_000_000)
    """)
    run(pytester).assert_outcomes(passed=1)


def test_default_limit_applies_to_tests_without_a_marker(pytester):
    pytester.makepyfile(test_default="""
        import pytest

        def test_big():
            tmp = bytearray(30_000_000)

        def test_small():
            tmp = bytearray(1_000_000)

        @pytest.mark.limit_memory("40 MB")
        def test_big_with_its_own_limit():
            tmp = bytearray(30_000_000)
    """)
    result = run(pytester, "--memline-limit", "20MB")
    result.assert_outcomes(failed=1, passed=2)
    message, blocks = failure(result, "test_big")
    assert message == ["test_big rose 28.6 MiB above its start; limit 19.1 MiB "
                       "(--memline-limit: 20MB)"]
    assert [r.source.strip() for r in blocks[0].rows] == ["def test_big():",
                                                          "tmp = bytearray(30_000_000)"]


def test_each_parameter_has_its_own_limit(pytester):
    pytester.makepyfile(test_params="""
        import pytest

        @pytest.mark.parametrize("n", [
            pytest.param(30_000_000, id="roomy", marks=pytest.mark.limit_memory("40 MiB")),
            pytest.param(30_000_000, id="tight", marks=pytest.mark.limit_memory("20 MiB")),
            pytest.param(1_000_000, id="default"),
        ])
        @pytest.mark.limit_memory("2 MiB")
        def test_alloc(n):
            tmp = bytearray(n)
    """)
    result = run(pytester, "-rA")
    result.assert_outcomes(failed=1, passed=2)
    message, _ = failure(result, "test_alloc[tight]")
    assert message == ["test_alloc[tight] rose 28.6 MiB above its start; limit 20.0 MiB "
                       "(limit_memory: 20 MiB)"]
    result.stdout.fnmatch_lines(["PASSED test_params.py::test_alloc[roomy]",
                                 "PASSED test_params.py::test_alloc[default]"])


@pytest.mark.parametrize("marker, error", [
    ('limit_memory("12 XB")',
     "limit_memory: '12 XB' has an unknown unit 'XB' (B, KB, MB, GB, KiB, MiB, GiB)"),
    ('limit_memory("lots")',
     "limit_memory: 'lots' is not a size (a number and one of B, KB, MB, GB, KiB, MiB, GiB)"),
    ("limit_memory()", 'limit_memory: needs a size, such as limit_memory("24 MB")'),
    ('limit_leaks("1 MB", runs=1)',
     "limit_leaks: runs must be a whole number, at least 2 (the first run warms caches), "
     "not 1"),
    ('limit_memory("1 MB", per_thread=True)',
     "limit_memory: unknown argument per_thread (it takes limit, current_thread_only)"),
])
def test_a_malformed_marker_is_a_usage_error_naming_the_test(pytester, marker, error):
    pytester.makepyfile(test_bad="""
        import pytest

        @pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.%s)])
        def test_p(n):
            pass
    """ % marker)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines == ["ERROR: memline: test_bad.py::test_p[2]: " + error, ""]
    assert "passed" not in result.stdout.str()  # nothing ran


def test_under_xdist_a_malformed_marker_is_a_collection_error_of_the_test(pytester):
    pytester.makepyfile(test_bad="""
        import pytest

        @pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.limit_memory("9 Q"))])
        def test_p(n):
            pass
    """)
    result = run(pytester, "-n", "2")
    result.assert_outcomes(errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines([
        "memline: test_bad.py::test_p[2]: limit_memory: '9 Q' has an unknown unit 'Q' "
        "(B, KB, MB, GB, KiB, MiB, GiB)",
        "ERROR test_bad.py::test_p?2?*"])  # [2] would be a glob class; pytest 8.3 gives no reason
    assert "passed" not in result.stdout.str()


def test_a_malformed_default_limit_is_a_usage_error(pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = run(pytester, "--memline-limit", "50 mega")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines == ["ERROR: memline: --memline-limit: '50 mega' has an unknown "
                               "unit 'mega' (B, KB, MB, GB, KiB, MiB, GiB)", ""]


def test_a_numpy_test_over_its_limit(pytester):
    # numpy's array data: native memory with numpy 1.x and 2.4, through Python's
    # allocator with numpy 2.5 (the heap columns count both).
    pytester.makepyfile(test_np="""
        import numpy as np
        import pytest

        @pytest.mark.limit_memory("10 MB")
        def test_numpy():
            a = np.ones((2000, 1000))
            total = a.sum()
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    message, blocks = failure(result, "test_numpy")
    # 16,000,000 bytes of array data (malloc's usable size: a page more at most).
    assert message == ["test_numpy rose 15.3 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    rows = rows_by_source(blocks[0])
    assert rows["a = np.ones((2000, 1000))"].heap_peak == pytest.approx(15.259, abs=0.005)


def test_every_thread_of_the_test_counts(pytester):
    pytester.makepyfile(test_threads="""
        import threading
        import pytest

        def work(box):  # not the test's code: not profiled, still counted
            box.append(bytearray(30_000_000))
            box.clear()

        @pytest.mark.limit_memory("10 MB")
        def test_thread():
            box = []
            t = threading.Thread(target=work, args=(box,))
            t.start()
            t.join()
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    message, blocks = failure(result, "test_thread")
    assert message == ["test_thread rose 28.6 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    # The thread's bytes are on no line of the test (work is not profiled).
    assert all(r.heap_peak < 0.1 for r in blocks[0].rows if r.seen)


def test_async_tests_are_measured(pytester):
    pytester.makepyfile(test_async="""
        import asyncio
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.limit_memory("10 MB")
        async def test_coro():
            await asyncio.sleep(0)
            data = bytearray(30_000_000)
            await asyncio.sleep(0)
            del data

        @pytest.mark.asyncio
        @pytest.mark.limit_memory("40 MB")
        async def test_coro_under():
            data = bytearray(30_000_000)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=1)
    message, blocks = failure(result, "test_coro")
    assert message == ["test_coro rose 28.6 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    # The coroutine's own lines, across its resumptions.
    assert [(r.lineno, r.source.strip()) for r in blocks[0].rows if r.seen] == [
        (4, '@pytest.mark.asyncio'), (7, "await asyncio.sleep(0)"),
        (8, "data = bytearray(30_000_000)"), (9, "await asyncio.sleep(0)"), (10, "del data")]
    assert blocks[0].rows[4].heap_peak == pytest.approx(28.610, abs=0.005)


def test_a_test_that_fails_by_itself_keeps_its_own_failure(pytester):
    pytester.makepyfile(test_own="""
        import pytest

        @pytest.mark.limit_memory("10 MB")
        def test_assert():
            tmp = bytearray(30_000_000)
            assert 1 == 2
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "assert 1 == 2" in out
    assert "above its start" not in out


REPORT = """
    import pytest

    @pytest.mark.limit_memory("10 MB")
    def test_lines():
        a = bytearray(1_000_000)
        b = bytearray(2_000_000)
        c = bytearray(3_000_000)
        d = bytearray(4_000_000)
        e = bytearray(5_000_000)
        if a is None:
            never = 1
"""


def test_quiet_keeps_the_worst_three_lines_and_verbose_shows_everything(pytester):
    path = pytester.makepyfile(test_report=REPORT)
    for flags in ((), ("-v",)):
        result = run(pytester, *flags)
        result.assert_outcomes(failed=1)
        message, blocks = failure(result, "test_lines")
        assert message == ["test_lines rose 14.3 MiB above its start; limit 9.5 MiB "
                           "(limit_memory: 10 MB)"]
        check_block(blocks[0], 3, path=str(path), first=3, last=11)  # never-run lines too
    result = run(pytester, "-q")
    result.assert_outcomes(failed=1)
    message, blocks = failure(result, "test_lines")
    assert message == ["test_lines rose 14.3 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    assert len(blocks) == 1
    assert [r.source.strip() for r in blocks[0].rows] == [
        "c = bytearray(3_000_000)", "d = bytearray(4_000_000)", "e = bytearray(5_000_000)"]
    assert [r.lineno for r in blocks[0].rows] == [7, 8, 9]


def test_the_line_report_is_the_same_under_the_legacy_tracer(pytester, monkeypatch):
    path = pytester.makepyfile(test_over=OVER)
    monkeypatch.setenv("MEMLINE_TRACER", "legacy")
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=1)
    message, blocks = failure(result, "test_over")
    assert message == ["test_over rose 36.2 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    check_block(blocks[0], 3, path=str(path), first=3, last=8)
    rows = rows_by_source(blocks[0])
    assert rows["tmp = bytearray(30_000_000)"].heap_peak == pytest.approx(28.610, abs=0.005)


def test_the_profile_option_adds_the_code_under_test(pytester):
    pytester.makepyfile(mylib="""
        def build(n):
            parts = [bytearray(n) for _ in range(3)]
            return len(parts)

        class Maker:
            def make(self):
                return bytearray(2_000_000)
    """)
    pytester.makepyfile(test_lib="""
        import pytest
        import mylib

        @pytest.mark.limit_memory("10 MB")
        def test_build():
            n = mylib.build(10_000_000)
            m = mylib.Maker().make()
    """)
    result = run(pytester, "--memline-profile", "mylib")
    result.assert_outcomes(failed=1)
    message, blocks = failure(result, "test_build")
    assert message == ["test_build rose 28.6 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    # One block per function that ran: the test, then mylib's two.
    assert [b.filename.rsplit("/", 1)[-1] for b in blocks] == ["test_lib.py", "mylib.py",
                                                               "mylib.py"]
    lib = rows_by_source(blocks[1])
    lib.update(rows_by_source(blocks[2]))
    assert lib["parts = [bytearray(n) for _ in range(3)]"].heap_peak == pytest.approx(
        28.610, abs=0.005)
    assert lib["return bytearray(2_000_000)"].heap_incr == pytest.approx(1.907, abs=0.005)
    # The selector syntax of python -m memline -p: one method of a class.
    result = run(pytester, "--memline-profile", "mylib:Maker.make")
    result.assert_outcomes(failed=1)
    message, blocks = failure(result, "test_build")
    assert [b.filename.rsplit("/", 1)[-1] for b in blocks] == ["test_lib.py", "mylib.py"]
    assert rows_by_source(blocks[1])["return bytearray(2_000_000)"].heap_incr == pytest.approx(
        1.907, abs=0.005)
    result = run(pytester, "--memline-profile", "mylib:")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0].startswith("ERROR: memline: --memline-profile: cannot parse "
                                         "selector 'mylib:'")
    result = run(pytester, "--memline-profile", "nosuchmodule")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0] == ("ERROR: memline: --memline-profile nosuchmodule: cannot "
                                  "import it: ModuleNotFoundError: No module named "
                                  "'nosuchmodule'")
