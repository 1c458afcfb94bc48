"""The plugin loaded but unused, kept out with -p no:memline, and beside
pytest-memray, which has the same markers: one plugin measures, and a
header line says which."""

import pytest

from _plugin import failure, run

pytest_plugins = ["pytester"]

# A conftest that reports, from inside the run, what memline did: whether
# its measuring plugin is registered, whether the native allocator hooks
# count and a tracer delivers events (during the test's call, inside
# memline's wrapper, and after it), whether pytest-memray's manager is there.
PROBE = """
    import json, os, sys
    import pytest

    SEEN = {}

    def state(config):
        from memline import _memline
        pm = config.pluginmanager
        return {
            "memline_module": "memline.pytest" in sys.modules,
            "measuring": pm.get_plugin("memline-measure") is not None,
            "memray_manager": pm.get_plugin("memray_manager") is not None,
            "native_hooks": _memline._native_info()["counting"],
            "tracer": _memline._tracer_mode(),
        }

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(pyfuncitem):
        yield
        SEEN[pyfuncitem.name + " during"] = state(pyfuncitem.config)

    def pytest_runtest_teardown(item):
        SEEN[item.name] = state(item.config)

    def pytest_unconfigure(config):
        with open(os.path.join(str(config.rootpath), "probe.json"), "w") as f:
            json.dump(SEEN, f)
"""


def probe(pytester):
    import json
    return json.loads((pytester.path / "probe.json").read_text())


def test_loaded_but_unused_it_registers_nothing_that_measures(pytester):
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_plain="""
        def test_plain():
            tmp = bytearray(30_000_000)
    """)
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "memline" not in "\n".join(l for l in result.outlines if not l.startswith("plugins:"))
    nothing = {"memline_module": True, "measuring": False, "memray_manager": False,
               "native_hooks": False, "tracer": None}
    seen = probe(pytester)
    assert seen == {"test_plain during": nothing, "test_plain": nothing}
    # -p no:memline: not even imported.
    run(pytester, "-p", "no:memline").assert_outcomes(passed=1)
    assert probe(pytester)["test_plain"]["memline_module"] is False


def test_a_marker_turns_it_on_for_that_test(pytester):
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.limit_memory("40 MB")
        def test_marked():
            tmp = bytearray(30_000_000)
    """)
    run(pytester).assert_outcomes(passed=1)
    seen = probe(pytester)
    assert seen["test_marked"]["measuring"] is True
    # The session was on during the call (native hooks counting, a tracer
    # delivering events), and is off after it.
    assert seen["test_marked during"]["native_hooks"] is True
    assert seen["test_marked during"]["tracer"] is not None
    assert seen["test_marked"]["native_hooks"] is False and seen["test_marked"]["tracer"] is None


MEMRAY_SUITE = """
    import pytest

    @pytest.mark.limit_memory("10 MB")
    def test_over():
        tmp = bytearray(30_000_000)

    @pytest.mark.limit_memory("40 MB")
    def test_under():
        tmp = bytearray(30_000_000)
"""


def test_with_pytest_memray_and_no_memline_option_pytest_memray_has_the_markers(pytester):
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_both=MEMRAY_SUITE)
    result = run(pytester, memray=True)
    result.assert_outcomes(failed=1, passed=1)
    header = [l for l in result.outlines if l.startswith("memline:")]
    assert header == ["memline: pytest-memray is loaded: it checks limit_memory and "
                      "limit_leaks, memline measures nothing (--memline, or -p no:memray, "
                      "hands them to memline)"]
    text = "\n".join(section_of(result, "test_over"))
    assert "Test was limited to 10.0MiB but allocated 28.6MiB" in text  # pytest-memray's own
    assert "above its start" not in result.stdout.str()
    seen = probe(pytester)
    assert seen["test_over"]["measuring"] is False and seen["test_over"]["memray_manager"]


def section_of(result, title):
    from _plugin import section
    return section(result, title)


@pytest.mark.parametrize("extra", [(), ("--memray",)])
def test_with_pytest_memray_and_a_memline_option_memline_measures_alone(pytester, extra):
    pytester.makeconftest(PROBE)
    pytester.makepyfile(test_both=MEMRAY_SUITE)
    result = run(pytester, "--memline", *extra, memray=True)
    result.assert_outcomes(failed=1, passed=1)
    header = [l for l in result.outlines if l.startswith("memline:")]
    assert header == [
        "memline: pytest-memray is loaded too, and is off for this run: memline checks "
        "limit_memory and limit_leaks (--memline)",
        "memline: measuring every test's call phase: Python and native heap, every thread"]
    message, blocks = failure(result, "test_over")
    assert message == ["test_over rose 28.6 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
    assert len(blocks) == 1
    out = result.stdout.str()
    assert "Test was limited" not in out and "MEMRAY REPORT" not in out
    seen = probe(pytester)
    assert seen["test_over"]["measuring"] and not seen["test_over"]["memray_manager"]


def test_pytest_memray_blocked_by_the_user_hands_the_markers_to_memline(pytester):
    pytester.makepyfile(test_both=MEMRAY_SUITE)
    result = run(pytester, memray=False)  # -p no:memray
    result.assert_outcomes(failed=1, passed=1)
    message, _ = failure(result, "test_over")
    assert message == ["test_over rose 28.6 MiB above its start; limit 9.5 MiB "
                       "(limit_memory: 10 MB)"]
