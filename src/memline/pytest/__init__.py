"""memline's pytest plugin: memory limits per test, with the failing test's
line report.  docs/pytest.md is its documentation.

pytest loads this module through memline's ``pytest11`` entry point
(``-p no:memline`` keeps it out).  Loaded but unused it costs nothing: it
adds its options and markers, and looks once at the collected tests for its
markers.  It has no hook on any test, starts no tracer and installs no
allocator hook until an option (``--memline``, ``--memline-limit``, ...)
or a marked test asks for it; then it registers the plugin that measures
(plugin.py).

Coexistence with pytest-memray, which has the same markers: when an option
asks for memline, memline measures and pytest-memray is blocked for the run;
otherwise, when pytest-memray is loaded, the markers are its own and memline
stays off.  Either way one header line says so, and no test is measured
twice.
"""

import pytest

_STATE = pytest.StashKey()
_MEMRAY_BLOCKED = pytest.StashKey()
_NAME = "memline-measure"

# The options, as attributes of config.option; any of them turns memline on.
_OPTIONS = ("memline", "memline_limit", "memline_profile", "memline_top", "memline_json",
            "memline_fail_on_increase")


def pytest_addoption(parser):
    group = parser.getgroup("memline", "memory limits per test, with memline's line report")
    group.addoption("--memline", action="store_true", default=False,
                    help="measure every test's call phase (heap peak and net, every thread)")
    group.addoption("--memline-limit", metavar="SIZE", default=None,
                    help="a default limit_memory for every test without one, e.g. 50MB "
                         "(KB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024)")
    group.addoption("--memline-profile", metavar="TARGET", action="append", default=None,
                    help="also profile TARGET (pkg.module, pkg.module:func, "
                         "pkg.module:Class.method, path/file.py[:func], as python -m "
                         "memline -p takes), so the report of a failing test covers the "
                         "code under test (repeatable)")
    group.addoption("--memline-top", metavar="N", type=int, default=None,
                    help="at the end, the N tests with the highest peak and the line "
                         "responsible (default 5, 0 for none)")
    group.addoption("--memline-json", metavar="FILE", default=None,
                    help="append one JSON record per test to FILE (JSON Lines), as tests finish")
    group.addoption("--memline-fail-on-increase", metavar="PCT", type=float, default=None,
                    help="fail tests whose peak grew more than PCT percent over the last "
                         "passing run's (kept in pytest's cache)")


def _asked(config):
    """The memline options given, as they were typed."""
    opt = config.option
    return [name for name in _OPTIONS if getattr(opt, name, None) not in (None, False, [])]


def _state(config):
    """'on' (an option asked for memline), 'markers' (only marked tests
    are measured) or 'memray' (pytest-memray has the markers)."""
    state = config.stash.get(_STATE, None)
    if state is None:
        if _asked(config):
            state = "on"
        elif config.pluginmanager.get_plugin("memray") is not None:
            state = "memray"
        else:
            state = "markers"
        config.stash[_STATE] = state
    return state


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    # Before any plugin is configured: pytest-memray, blocked now, never
    # starts its tracker.
    if _state(config) == "on" and config.pluginmanager.get_plugin("memray") is not None:
        config.pluginmanager.set_blocked("memray")
        config.stash[_MEMRAY_BLOCKED] = True


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    from memline.pytest.marks import MARKERS
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    if _state(config) == "on":
        from memline.pytest.plugin import MemlinePlugin
        config.pluginmanager.register(MemlinePlugin(config, every_test=True), _NAME)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    state = _state(config)
    if state == "memray":
        return
    plugin = config.pluginmanager.get_plugin(_NAME)
    if plugin is not None:
        plugin.read_specs(items)
        return
    # Only markers can turn memline on now: a quick look first, so that a
    # suite without them imports nothing more.
    if not any(item.get_closest_marker("limit_memory") is not None
               or item.get_closest_marker("limit_leaks") is not None for item in items):
        return
    from memline.pytest.plugin import MemlinePlugin
    plugin = MemlinePlugin(config, every_test=False)
    plugin.read_specs(items)
    config.pluginmanager.register(plugin, _NAME)


def pytest_report_header(config):
    state = _state(config)
    if state == "memray":
        return ["memline: pytest-memray is loaded: it checks limit_memory and limit_leaks, "
                "memline measures nothing (--memline, or -p no:memray, hands them to memline)"]
    if config.stash.get(_MEMRAY_BLOCKED, False):
        return ["memline: pytest-memray is loaded too, and is off for this run: memline "
                "checks limit_memory and limit_leaks (%s)" % ", ".join(
                    "--" + name.replace("_", "-") for name in _asked(config))]
    return None
