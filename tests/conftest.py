"""Suite-wide pytest configuration: the custom markers, and the tracer modes.

The suites whose results depend on where events come from run once per
tracer mode this interpreter has: the version's default (the 3.11 frame
gate, or sys.monitoring on 3.12+) and the legacy hooks, which every version
falls back to.  A plain ``pytest`` does this; nothing else has to.  Helpers
shared by the tests are in tests/helpers.py (this directory is on sys.path
because this file is here)."""

import gc
import sys

import pytest

# Paths under tests/ whose tests run under every tracer mode.
TRACED = (
    "integration/api/",
    "integration/heap/",
    "integration/cli/test_profile_cli.py",
    "integration/coexist/",
    "integration/procs/",
    "integration/select/",
    "unit/binding/test_heap_hooks.py",
    "unit/binding/test_engine_rule.py",
)


def tracer_modes():
    """'default' and 'legacy' where they differ (3.11+); before 3.11 the
    default is the legacy mode."""
    return ["default", "legacy"] if sys.version_info >= (3, 11) else ["default"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: takes tens of seconds (pip install into a fresh venv); runs by default, "
        "deselect with -m 'not slow'")


def _traced(path):
    text = str(path).replace("\\", "/")
    return any("/tests/" + p in text for p in TRACED)


def pytest_generate_tests(metafunc):
    if _traced(metafunc.definition.path if hasattr(metafunc.definition, "path")
               else metafunc.definition.fspath):
        metafunc.parametrize("tracer_mode", tracer_modes(), indirect=True)


@pytest.fixture(autouse=True)
def tracer_mode(request, monkeypatch):
    """The tracer mode of this test: in this process for the profilers it
    makes, and in MEMLINE_TRACER for the processes it starts."""
    mode = getattr(request, "param", "default")
    from memline import _memline
    if mode == "legacy":
        monkeypatch.setenv("MEMLINE_TRACER", "legacy")
    else:
        monkeypatch.delenv("MEMLINE_TRACER", raising=False)
    _memline._set_tracer_mode(mode)
    # Garbage earlier tests left would otherwise be freed by whichever
    # collection falls inside this test's profiled lines, moving their net
    # heap figures by an amount that depends on test order.
    gc.collect()
    yield mode
    _memline._set_tracer_mode("default")
